"""Segmentation loss: soft Dice + cross-entropy (MONAI's DiceCELoss)."""

from __future__ import annotations

import torch
from torch import nn


def make_loss() -> nn.Module:
    """Dice + CE over all classes, from logits (B, C, H, W) and integer labels (B, 1, H, W)."""
    from monai.losses import DiceCELoss

    return DiceCELoss(to_onehot_y=True, softmax=True)


def make_soft_loss() -> nn.Module:
    """Dice + CE over all classes, from logits and soft labels (B, C, H, W) whose classes sum to one
    (mixed one-hot labels): MONAI's DiceCELoss takes a float target of the logits' shape as is."""
    from monai.losses import DiceCELoss

    return DiceCELoss(softmax=True)


def head_loss(loss: nn.Module, logits: torch.Tensor | list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """``loss`` of the logits, or of a list of deep-supervision heads' logits the mean of their
    losses (equal weights: MixSearch gives none)."""
    if isinstance(logits, list):
        return sum(loss(o.float(), target) for o in logits) / len(logits)
    return loss(logits.float(), target)


def segmentation_loss(loss: nn.Module, logits: torch.Tensor | list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """Apply ``loss`` to logits (or deep-supervision heads, see :func:`head_loss`) and (B, H, W) labels."""
    return head_loss(loss, logits, labels[:, None])
