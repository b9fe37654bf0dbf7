"""What a task brings to the engine: its loss, the validation metric that selects checkpoints,
and the metrics its tables report. Search strategies and spaces never see it; evaluators and
training loops take the task's loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mednas.errors import ConfigError
from mednas.train.losses import make_loss, segmentation_loss

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def segmentation_task_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Dice + cross-entropy of (B, C, H, W) logits against (B, H, W) labels."""
    return segmentation_loss(make_loss(), logits, y)


def classification_task_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, C) logits against (B,) class indices (MedMNIST's loss for one label per image)."""
    return F.cross_entropy(logits, y)


@dataclass(frozen=True)
class Task:
    """A kind of prediction the pipeline trains, searches for and reports."""

    name: str
    loss: LossFn
    select_on: str  # validation metric whose best round's weights are kept
    metrics: tuple[str, ...]  # what its tables report, in order


TASKS: dict[str, Task] = {
    "segmentation": Task("segmentation", segmentation_task_loss, "dice_mean", ("dice_mean", "hd95_mean")),
    "classification": Task("classification", classification_task_loss, "auc", ("acc", "auc")),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"task: unknown task '{name}'; known: {sorted(TASKS)}") from None
