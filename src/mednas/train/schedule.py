"""Learning-rate schedules over total optimiser steps."""

from __future__ import annotations

import math

import torch

SCHEDULES = ("constant", "poly", "cosine")


def make_scheduler(optimizer: torch.optim.Optimizer, name: str, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """``constant``, ``poly`` (power 0.9, as nnU-Net) or ``cosine`` decay to zero."""
    total = max(1, total_steps)
    if name == "constant":
        fn = lambda step: 1.0
    elif name == "poly":
        fn = lambda step: (1 - min(step, total) / total) ** 0.9
    elif name == "cosine":
        fn = lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    else:
        raise ValueError(f"train.schedule: unknown schedule '{name}' (choose from {SCHEDULES})")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)
