"""Weight-sharing supernets: what a space offers the ``inherit`` evaluator, and the registry naming them.

A supernet family belongs to one search space (by its registered name) and says how to build
the network that holds every genotype of that space (``forward(x, genotype)`` runs any of them
on the shared weights), which genotypes one sandwich-rule step trains, which genotype validation
tracks, and how to describe the space and network settings in ``supernet.pt`` so that a search
can rebuild it. The training loop (``mednas.train.supernet``) and the inherit evaluator see
spaces only through this; a new space gets a supernet by registering a family, no caller
changes. Registry in the manner of :func:`mednas.space.base.register_space`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from mednas.errors import ConfigError


@dataclass(frozen=True)
class SupernetFamily:
    """How one space's supernet is built, trained and stored.

    ``settings(arch_cfg, in_channels, num_classes)`` reads the fixed network settings (config
    section ``arch``) for a data set; ``build(space, settings)`` allocates the supernet;
    ``sandwich(space, rng, n_random)`` lists one step's genotypes, the largest first (the
    teacher of in-place distillation); ``reference(space)`` is the genotype validation tracks;
    ``describe(space, settings)`` is a JSON-able record that ``rebuild`` turns back into both;
    ``channels(settings)`` is the (input channels, classes) pair the network was built for.
    """

    settings: Callable[[Mapping[str, Any], int, int], Any]
    build: Callable[[Any, Any], nn.Module]
    sandwich: Callable[[Any, random.Random, int], list[Any]]
    reference: Callable[[Any], Any]
    describe: Callable[[Any, Any], dict[str, Any]]
    rebuild: Callable[[Mapping[str, Any]], tuple[Any, Any]]
    channels: Callable[[Any], tuple[int, int]]


SUPERNETS: dict[str, SupernetFamily] = {}


def register_supernet(space_name: str, family: SupernetFamily) -> SupernetFamily:
    """Make ``family`` the supernet of the space registered as ``space_name``."""
    if space_name in SUPERNETS:
        raise ValueError(f"a supernet for space '{space_name}' is registered twice")
    SUPERNETS[space_name] = family
    return family


def _load_builtin_supernets() -> None:
    # importing a family's module registers it (imported on first use: it imports its space)
    from mednas.models import cardiac_supernet  # noqa: F401


def supernet_spaces() -> list[str]:
    """Names of the spaces that have a weight-sharing supernet."""
    _load_builtin_supernets()
    return sorted(SUPERNETS)


def has_supernet(space: Any) -> bool:
    """Whether ``space`` (a space object) has a registered weight-sharing supernet."""
    return getattr(space, "name", None) in supernet_spaces()


def supernet_family(space_name: str, key: str = "space.name") -> SupernetFamily:
    """The family registered for ``space_name``; a clear error naming ``key`` where there is none."""
    _load_builtin_supernets()
    try:
        return SUPERNETS[space_name]
    except KeyError:
        raise ConfigError(f"{key}: space '{space_name}' has no weight-sharing supernet (spaces with one: "
                          f"{sorted(SUPERNETS)}); search it with search.evaluator proxy or zerocost") from None
