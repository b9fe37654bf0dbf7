"""Supernet training with the sandwich rule, and the supernet file format."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from mednas.data.slices import SliceSet
from mednas.models.cardiac_net import ArchSettings, CardiacNet, build_supernet
from mednas.space.cardiac import CardiacSpace, Genotype
from mednas.train.bn import recalibrate_bn
from mednas.train.loop import TrainSettings, fit
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes


def has_supernet(space: Any) -> bool:
    """Whether ``space`` has a weight-sharing supernet: the one trained here is built by
    :func:`mednas.models.cardiac_net.build_supernet` and samples :class:`CardiacSpace` genotypes."""
    return isinstance(space, CardiacSpace)


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


def calibration_batches(data: SliceSet, device: str, batch_size: int, n_batches: int, seed: int) -> list[torch.Tensor]:
    """A fixed, seeded set of un-augmented training batches for BN recalibration."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).numpy()
    return [torch.from_numpy(data.image[order[i * batch_size:(i + 1) * batch_size]]).to(device)
            for i in range(min(n_batches, max(1, len(data) // batch_size)))]


def evaluate_genotype(model: CardiacNet, genotype: Genotype, calib: list[torch.Tensor], val: SliceSet, device: str,
                      batch_size: int) -> dict[str, float]:
    """Recalibrate BN for ``genotype`` on ``calib``, then Dice / HD95 on the validation volumes."""
    recalibrate_bn(model, calib, lambda x: model(x, genotype))
    model.eval()
    return evaluate_volumes(lambda x: model(x, genotype), val, device, batch_size)


def train_supernet(train: SliceSet, val: SliceSet, space: CardiacSpace, arch: ArchSettings, settings: TrainSettings,
                   sandwich_random: int, bn_recal_batches: int, device: str, seed: int, checkpoint: str | Path,
                   fingerprint: str, distill: bool = True) -> tuple[CardiacNet, list[dict[str, Any]]]:
    """Train a supernet over ``space``; validation tracks the largest genotype after BN recalibration.

    With ``distill`` the largest network of each sandwich learns from the labels and the others
    from its soft predictions (in-place distillation, BigNAS / OFA). The last weights are kept:
    a supernet's best round for one genotype is no better a choice for the others.
    """
    seed_everything(seed)
    model = build_supernet(space, arch)
    calib = calibration_batches(train, device, settings.batch_size, bn_recal_batches, seed)
    reference = space.largest()
    rows = fit(
        model, train, settings, device, seed,
        archs_per_step=lambda rng: sandwich(space, rng, sandwich_random),
        validate=lambda m: evaluate_genotype(m, reference, calib, val, device, settings.val_batch_size),
        checkpoint=checkpoint, fingerprint=fingerprint, distill=distill,
    ).rows
    for row in rows:
        row["val_genotype"] = reference.key()
    return model, rows


def save_supernet(path: str | Path, model: CardiacNet, space: CardiacSpace, arch: ArchSettings,
                  meta: dict[str, Any]) -> None:
    """Weights plus everything needed to rebuild the supernet."""
    torch.save({"state_dict": model.state_dict(), "space": asdict(space), "arch": asdict(arch), "meta": meta}, path)


def load_supernet(path: str | Path, device: str = "cpu") -> tuple[CardiacNet, CardiacSpace, ArchSettings, dict]:
    """Rebuild a supernet saved by :func:`save_supernet`."""
    blob = torch.load(path, map_location=device, weights_only=False)
    space = CardiacSpace(**{k: tuple(v) for k, v in blob["space"].items()})
    arch = ArchSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in blob["arch"].items()})
    model = build_supernet(space, arch)
    model.load_state_dict(blob["state_dict"])
    return model.to(device), space, arch, blob["meta"]
