"""The training loop shared by supernet training, retraining and proxy training.

A budget is ``epochs`` validation rounds of ``steps_per_epoch`` optimiser steps (``None``:
one pass over the training slices). Batches come from one continuous stream of seeded
permutations of the training set, so a round may span several passes or part of one, as
nnU-Net budgets iterations rather than passes. Per round: seeded augmentation (a resumed
run draws exactly what an uninterrupted one would), one optimiser step per batch over the
architectures the caller asks for on that step (one for a plain network; the sandwich for
a supernet, optionally distilled from its largest member), validation, a ``curve`` row, the
best weights so far by validation Dice, and an atomic checkpoint.
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
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from mednas.data.slices import SliceSet
from mednas.train.augment import AugmentSettings, augment_batch
from mednas.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from mednas.train.losses import make_loss, segmentation_loss
from mednas.train.precision import Precision, precision_for, resolve_cpu_bf16
from mednas.train.schedule import make_scheduler

log = logging.getLogger("mednas")

OPTIMIZERS = ("sgd", "adamw")


@dataclass(frozen=True)
class TrainSettings:
    """Config section ``train`` (optimiser, schedule, batches, precision) plus the stage's budget."""

    epochs: int
    batch_size: int = 16
    optimizer: str = "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    schedule: str = "poly"
    warmup: float = 0.0  # fraction of all steps with a linear warmup
    amp: bool = True  # float16 autocast, CUDA only
    cpu_bf16: bool | str = False  # bfloat16 autocast, CPU only; "auto": where the CPU has native bf16
    channels_last: bool = False
    steps_per_epoch: int | None = None  # optimiser steps per validation round; None: one pass
    val_batch_size: int = 32
    threads: int = 2  # CPU threads of the job (set by the rule; recorded here with the settings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"train.optimizer: unknown optimiser '{self.optimizer}' (choose from {OPTIMIZERS})")
        resolve_cpu_bf16(self.cpu_bf16)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], epochs: int, steps_per_epoch: int | None = None) -> TrainSettings:
        kwargs = {k: v for k, v in cfg.items() if k != "augment"}
        return cls(epochs=epochs, steps_per_epoch=steps_per_epoch,
                   augment=AugmentSettings.from_config(cfg.get("augment")), **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def precision(self, device: str) -> Precision:
        return precision_for(device, self.amp, self.cpu_bf16, self.channels_last)

    def steps_per_round(self, n_slices: int) -> int:
        """Optimiser steps between validations for a training set of ``n_slices``."""
        if n_slices < self.batch_size:
            raise ValueError(f"{n_slices} training slices is fewer than one batch of {self.batch_size}")
        return self.steps_per_epoch or n_slices // self.batch_size

    def total_steps(self, n_slices: int) -> int:
        return self.epochs * self.steps_per_round(n_slices)


def make_optimizer(params: Any, settings: TrainSettings) -> torch.optim.Optimizer:
    """SGD with (Nesterov) momentum, as CardiacNAS, or AdamW."""
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    return torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum, nesterov=settings.nesterov,
                           weight_decay=settings.weight_decay)


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> torch.Tensor:
    """Slice indices of global batch ``step``: passes over a seeded permutation per pass."""
    per_pass = n // batch_size
    p, b = divmod(step, per_pass)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + 7919 * p + 1))
    return order[b * batch_size:(b + 1) * batch_size]


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Pixel-wise cross-entropy against the teacher's soft predictions (in-place distillation)."""
    return -(F.softmax(teacher, 1) * F.log_softmax(student, 1)).sum(1).mean()


@dataclass
class FitResult:
    """Curve rows (one per round, resumed ones included), and the best round's weights."""

    rows: list[dict[str, Any]]
    best_state: dict[str, torch.Tensor] | None
    best_epoch: int | None


def slices_to_tensors(data: SliceSet, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W) float32 and labels (N, H, W) int64; kept on ``device`` (the sets are small)."""
    return (torch.from_numpy(data.image).to(device),
            torch.from_numpy(data.label.astype("int64")).to(device))


def _cpu_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


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
    keep_best: bool = False,
    distill: bool = False,
) -> FitResult:
    """Train ``model`` for ``settings.epochs`` rounds, resuming from ``checkpoint`` if it matches.

    ``archs_per_step(rng)`` names what to run on each batch: ``[None]`` calls ``model(x)``;
    genotypes call ``model(x, genotype)``, and their gradients add up before one step. With
    ``distill`` the first architecture of a step learns from the labels and the others from
    its detached soft predictions (BigNAS / OFA in-place distillation). With ``keep_best`` the
    weights of the round with the highest validation ``dice_mean`` are kept beside the last.
    """
    prec = settings.precision(device)
    model = prec.model(model.to(device))
    images, labels = slices_to_tensors(train, device)
    n = len(images)
    steps = settings.steps_per_round(n)
    optimizer = make_optimizer(model.parameters(), settings)
    scheduler = make_scheduler(optimizer, settings.schedule, steps * settings.epochs, settings.warmup)
    scaler = torch.amp.GradScaler("cuda", enabled=prec.scaled)
    loss_fn = make_loss()
    rows: list[dict[str, Any]] = []
    best_state, best_epoch, best_dice = None, None, float("-inf")
    start_epoch = 1
    state = load_checkpoint(checkpoint, fingerprint)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        rows = state["rows"]
        best_state, best_epoch = state.get("best_state"), state.get("best_epoch")
        if best_epoch is not None:  # the best score is the curve's row of that round
            best_dice = rows[best_epoch - 1]["val_dice_mean"]
        start_epoch = state["epoch"] + 1
        log.info("resumed from %s after round %d of %d", checkpoint, state["epoch"], settings.epochs)
    for epoch in range(start_epoch, settings.epochs + 1):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        arch_rng = random.Random(seed * 100_003 + epoch)
        model.train()
        losses = []
        for step in tqdm(range(steps), desc=f"round {epoch}/{settings.epochs}", disable=None, mininterval=10):
            idx = batch_indices((epoch - 1) * steps + step, n, settings.batch_size, seed).to(device)
            x, y = augment_batch(images[idx], labels[idx], settings.augment, gen)
            x = prec.input(x)
            optimizer.zero_grad(set_to_none=True)
            archs = archs_per_step(arch_rng)
            total, teacher = 0.0, None
            for k, arch in enumerate(archs):
                with prec.autocast():
                    out = model(x) if arch is None else model(x, arch)
                    # a list: deep-supervision heads in training mode (the last is the prediction)
                    logits = [o.float() for o in out] if isinstance(out, list) else out.float()
                    if distill and k > 0:
                        loss = distillation_loss(logits, teacher)
                    else:
                        loss = segmentation_loss(loss_fn, logits, y)
                if distill and k == 0:
                    teacher = logits.detach()
                scaler.scale(loss).backward()
                total += float(loss.detach())
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            losses.append(total / len(archs))
        train_seconds = time.perf_counter() - t0
        with prec.autocast():
            metrics = validate(model)
        row = {"epoch": epoch, "step": epoch * steps, "train_loss": sum(losses) / len(losses),
               "lr": optimizer.param_groups[0]["lr"], "precision": prec.name, "train_seconds": round(train_seconds, 3),
               "seconds": round(time.perf_counter() - t0, 3),
               **{f"val_{k}": v for k, v in metrics.items()}, "distance_unit": train.distance_unit}
        rows.append(row)
        if keep_best and metrics.get("dice_mean", float("-inf")) > best_dice:
            best_state, best_epoch, best_dice = _cpu_copy(model), epoch, metrics["dice_mean"]
        if metrics:
            log.info("round %d (step %d): loss %.4f, val dice %.4f, val hd95 %.2f %s (%.1f s)", epoch, row["step"],
                     row["train_loss"], metrics.get("dice_mean", float("nan")), metrics.get("hd95_mean", float("nan")),
                     train.distance_unit, row["seconds"])
        else:  # no validation between rounds (a search proxy scores the network once, after training)
            log.info("round %d (step %d): loss %.4f (%.1f s)", epoch, row["step"], row["train_loss"], row["seconds"])
        save_checkpoint(checkpoint, {
            "fingerprint": fingerprint, "epoch": epoch, "rows": rows, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "rng": rng_state(),
            "best_state": best_state, "best_epoch": best_epoch,
        })
    # Later users (slicing, extraction, saving) expect the default layout.
    model.to(memory_format=torch.contiguous_format)
    return FitResult(rows, best_state, best_epoch)
