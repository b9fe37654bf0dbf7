"""Learning-rate schedules over the real number of optimiser steps, with linear warmup."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

SCHEDULES = ("constant", "poly", "cosine")


def lr_factor(name: str, total_steps: int, warmup: float = 0.0) -> Callable[[int], float]:
    """Multiplier of the base learning rate at step ``step`` (0-based) of ``total_steps``.

    ``warmup`` is a fraction of ``total_steps``: the rate rises linearly from 1/w to 1 over the
    first ``w = round(warmup * total_steps)`` steps, then decays by ``name`` over the rest
    (``constant``; ``poly``, power 0.9 as nnU-Net; ``cosine``) to zero at ``total_steps``.
    The warmup follows the budget actually run, so a short CPU budget gets a short warmup.
    """
    if name not in SCHEDULES:
        raise ValueError(f"train.schedule: unknown schedule '{name}' (choose from {SCHEDULES})")
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"train.warmup must be a fraction in [0, 1), got {warmup}")
    total = max(1, total_steps)
    w = int(round(warmup * total))
    rest = max(1, total - w)

    def factor(step: int) -> float:
        if step < w:
            return (step + 1) / w
        t = min(step - w, rest) / rest
        if name == "poly":
            return (1 - t) ** 0.9
        if name == "cosine":
            return 0.5 * (1 + math.cos(math.pi * t))
        return 1.0

    return factor


def make_scheduler(optimizer: torch.optim.Optimizer, name: str, total_steps: int,
                   warmup: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR stepping :func:`lr_factor` once per optimiser step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(name, total_steps, warmup))
