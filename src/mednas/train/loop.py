"""The training loop shared by supernet training and retraining.

Per epoch: a seeded shuffle and augmentation (generator seeded by run seed and epoch, so a
resumed run draws exactly what an uninterrupted one would), one optimiser step per batch
over the architectures the caller asks for on that step (one for a plain network; the
sandwich for a supernet), validation, a ``curve`` row, and an atomic checkpoint.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from mednas.data.slices import SliceSet
from mednas.train.augment import AugmentSettings, augment_batch
from mednas.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from mednas.train.losses import make_loss, segmentation_loss
from mednas.train.schedule import make_scheduler

log = logging.getLogger("mednas")


@dataclass(frozen=True)
class TrainSettings:
    """Config section ``train`` (optimiser, schedule, batches) plus the stage's epochs."""

    epochs: int
    batch_size: int = 16
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    schedule: str = "poly"
    amp: bool = True
    steps_per_epoch: int | None = None  # cap on batches per epoch (CPU budgets); None: all
    val_batch_size: int = 32
    threads: int = 2  # CPU threads of the job (set by the rule; recorded here with the settings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], epochs: int, steps_per_epoch: int | None = None) -> TrainSettings:
        kwargs = {k: v for k, v in cfg.items() if k != "augment"}
        return cls(epochs=epochs, steps_per_epoch=steps_per_epoch,
                   augment=AugmentSettings.from_config(cfg.get("augment")), **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slices_to_tensors(data: SliceSet, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, H, W) float32 and labels (N, H, W) int64; kept on ``device`` (the sets are small)."""
    return (torch.from_numpy(data.image)[:, None].to(device),
            torch.from_numpy(data.label.astype("int64")).to(device))


def fit(
    model: nn.Module,
    train: SliceSet,
    settings: TrainSettings,
    device: str,
    seed: int,
    archs_per_step: Callable[[random.Random], Sequence[Any]],
    validate: Callable[[nn.Module], dict[str, float]],
    checkpoint: str | Path,
    fingerprint: str,
) -> list[dict[str, Any]]:
    """Train ``model`` for ``settings.epochs``, resuming from ``checkpoint`` if it matches.

    ``archs_per_step(rng)`` names what to run on each batch: ``[None]`` calls ``model(x)``;
    genotypes call ``model(x, genotype)``, and their gradients add up before one step.
    Returns the curve rows (one per epoch, resumed ones included).
    """
    model.to(device)
    cuda = device.startswith("cuda")
    amp = settings.amp and cuda
    images, labels = slices_to_tensors(train, device)
    n = len(images)
    if n < settings.batch_size:
        raise ValueError(f"{n} training slices is fewer than one batch of {settings.batch_size}")
    steps = n // settings.batch_size
    if settings.steps_per_epoch:
        steps = min(steps, settings.steps_per_epoch)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                nesterov=settings.nesterov, weight_decay=settings.weight_decay)
    scheduler = make_scheduler(optimizer, settings.schedule, steps * settings.epochs)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    loss_fn = make_loss()
    rows: list[dict[str, Any]] = []
    start_epoch = 1
    state = load_checkpoint(checkpoint, fingerprint)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        rows = state["rows"]
        start_epoch = state["epoch"] + 1
        log.info("resumed from %s after epoch %d of %d", checkpoint, state["epoch"], settings.epochs)
    for epoch in range(start_epoch, settings.epochs + 1):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        arch_rng = random.Random(seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen)
        model.train()
        losses = []
        for step in tqdm(range(steps), desc=f"epoch {epoch}/{settings.epochs}", disable=None, mininterval=10):
            idx = order[step * settings.batch_size:(step + 1) * settings.batch_size].to(device)
            x, y = augment_batch(images[idx], labels[idx], settings.augment, gen)
            optimizer.zero_grad(set_to_none=True)
            archs = archs_per_step(arch_rng)
            total = 0.0
            for arch in archs:
                with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
                    logits = model(x) if arch is None else model(x, arch)
                    loss = segmentation_loss(loss_fn, logits.float(), y)
                scaler.scale(loss).backward()
                total += float(loss.detach())
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            losses.append(total / len(archs))
        train_seconds = time.perf_counter() - t0
        metrics = validate(model)
        row = {"epoch": epoch, "train_loss": sum(losses) / len(losses), "lr": optimizer.param_groups[0]["lr"],
               "train_seconds": round(train_seconds, 3), "seconds": round(time.perf_counter() - t0, 3),
               **{f"val_{k}": v for k, v in metrics.items()}, "distance_unit": train.distance_unit}
        rows.append(row)
        log.info("epoch %d: loss %.4f, val dice %.4f, val hd95 %.2f %s (%.1f s)", epoch, row["train_loss"],
                 metrics.get("dice_mean", float("nan")), metrics.get("hd95_mean", float("nan")),
                 train.distance_unit, row["seconds"])
        save_checkpoint(checkpoint, {
            "fingerprint": fingerprint, "epoch": epoch, "rows": rows, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "rng": rng_state(),
        })
    return rows
