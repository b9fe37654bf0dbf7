"""The cardiac space's supernet family: CardiacNet holds every genotype of a CardiacSpace."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from mednas.models.cardiac_net import ArchSettings, build_supernet
from mednas.models.supernets import SupernetFamily, register_supernet
from mednas.space.cardiac import CardiacSpace, Genotype


def sandwich(space: CardiacSpace, rng: random.Random, n_random: int) -> list[Genotype]:
    """Largest, smallest and ``n_random`` random genotypes (Yu et al.'s sandwich rule).

    The categorical genes of the largest and smallest are drawn at random, so every
    attention and fusion module is trained at full and minimal width.
    """
    # Draw order (attention, fusion of each, then activations) is part of a run's reproducibility.
    picks = [(rng.choice(space.attentions), rng.choice(space.fusions)) for _ in range(2)]
    acts = [rng.choice(space.activations) for _ in range(2)]
    big, small = (replace(g, attention=att, fusion=fusion, activation=act)
                  for g, (att, fusion), act in zip((space.largest(), space.smallest()), picks, acts))
    return [big, small, *(space.sample(rng) for _ in range(n_random))]


def describe(space: CardiacSpace, arch: ArchSettings) -> dict[str, Any]:
    return {"space": asdict(space), "arch": asdict(arch)}


def rebuild(record: Mapping[str, Any]) -> tuple[CardiacSpace, ArchSettings]:
    space = CardiacSpace(**{k: tuple(v) for k, v in record["space"].items()})
    arch = ArchSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in record["arch"].items()})
    return space, arch


CARDIAC = register_supernet("cardiac", SupernetFamily(
    settings=ArchSettings.from_config, build=build_supernet, sandwich=sandwich,
    reference=lambda space: space.largest(), describe=describe, rebuild=rebuild,
    channels=lambda arch: (arch.in_channels, arch.num_classes)))
