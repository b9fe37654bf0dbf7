"""Segmentation loss: soft Dice + cross-entropy (MONAI's DiceCELoss)."""

from __future__ import annotations

import torch
from torch import nn


def make_loss() -> nn.Module:
    """Dice + CE over all classes, from logits (B, C, H, W) and integer labels (B, 1, H, W)."""
    from monai.losses import DiceCELoss

    return DiceCELoss(to_onehot_y=True, softmax=True)


def segmentation_loss(loss: nn.Module, logits: torch.Tensor | list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """Apply ``loss`` to logits and (B, H, W) labels; to a list of deep-supervision heads' logits,
    the mean of their losses (equal weights: MixSearch gives none)."""
    if isinstance(logits, list):
        return sum(loss(o, labels[:, None]) for o in logits) / len(logits)
    return loss(logits, labels[:, None])
