"""Supernet training with the sandwich rule, and the supernet file format, for any space with a
registered supernet family (:mod:`mednas.models.supernets`)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mednas.data.slices import SliceSet
from mednas.errors import DataError
from mednas.models.supernets import supernet_family
from mednas.space.base import SearchSpace
from mednas.train.bn import recalibrate_bn
from mednas.train.loop import TrainSettings, fit
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes

__all__ = ["sandwich", "calibration_batches", "evaluate_genotype", "train_supernet",
           "save_supernet", "load_supernet"]


def sandwich(space: SearchSpace, rng: random.Random, n_random: int) -> list[Any]:
    """One sandwich-rule step's genotypes of ``space`` (its family's rule: largest first)."""
    return supernet_family(space.name).sandwich(space, rng, n_random)


def calibration_batches(data: SliceSet, device: str, batch_size: int, n_batches: int, seed: int) -> list[torch.Tensor]:
    """A fixed, seeded set of un-augmented training batches for BN recalibration."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).numpy()
    return [torch.from_numpy(data.image[order[i * batch_size:(i + 1) * batch_size]]).to(device)
            for i in range(min(n_batches, max(1, len(data) // batch_size)))]


def evaluate_genotype(model: nn.Module, genotype: Any, calib: list[torch.Tensor], val: SliceSet, device: str,
                      batch_size: int) -> dict[str, float]:
    """Recalibrate BN for ``genotype`` on ``calib``, then Dice / HD95 on the validation volumes."""
    recalibrate_bn(model, calib, lambda x: model(x, genotype))
    model.eval()
    return evaluate_volumes(lambda x: model(x, genotype), val, device, batch_size)


def train_supernet(train: SliceSet, val: SliceSet, space: SearchSpace, arch: Any, settings: TrainSettings,
                   sandwich_random: int, bn_recal_batches: int, device: str, seed: int, checkpoint: str | Path,
                   fingerprint: str, distill: bool = True) -> tuple[nn.Module, list[dict[str, Any]]]:
    """Train the supernet of ``space`` (``arch``: its family's network settings); validation tracks
    the family's reference genotype (the largest) after BN recalibration.

    With ``distill`` the largest network of each sandwich learns from the labels and the others
    from its soft predictions (in-place distillation, BigNAS / OFA). The last weights are kept:
    a supernet's best round for one genotype is no better a choice for the others.
    """
    family = supernet_family(space.name)
    seed_everything(seed)
    model = family.build(space, arch)
    calib = calibration_batches(train, device, settings.batch_size, bn_recal_batches, seed)
    reference = family.reference(space)
    rows = fit(
        model, train, settings, device, seed,
        archs_per_step=lambda rng: family.sandwich(space, rng, sandwich_random),
        validate=lambda m: evaluate_genotype(m, reference, calib, val, device, settings.val_batch_size),
        checkpoint=checkpoint, fingerprint=fingerprint, distill=distill,
    ).rows
    for row in rows:
        row["val_genotype"] = reference.key()
    return model, rows


def save_supernet(path: str | Path, model: nn.Module, space: SearchSpace, arch: Any, meta: dict[str, Any]) -> None:
    """Weights plus everything needed to rebuild the supernet: the space's name and its family's record."""
    family = supernet_family(space.name)
    torch.save({"state_dict": model.state_dict(), "space_name": space.name, "family": family.describe(space, arch),
                "meta": meta}, path)


def load_supernet(path: str | Path, device: str = "cpu") -> tuple[nn.Module, SearchSpace, Any, dict]:
    """Rebuild a supernet saved by :func:`save_supernet`: the model, its space, its network settings, metadata."""
    blob = torch.load(path, map_location=device, weights_only=False)
    if "space_name" not in blob:
        raise DataError(f"{path}: a supernet file without its space's name (written before supernets were "
                        "registered per space); retrain the supernet with this version")
    family = supernet_family(blob["space_name"], key=f"{path}: space_name")
    space, arch = family.rebuild(blob["family"])
    model = family.build(space, arch)
    model.load_state_dict(blob["state_dict"])
    return model.to(device), space, arch, blob["meta"]
