"""Batch augmentation on the training device: flips, small rotations and scaling, intensity jitter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentSettings:
    """Config section ``train.augment``."""

    flip: bool = True
    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.9, 1.1)
    intensity: float = 0.1  # gain and offset jitter, as a fraction

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> AugmentSettings:
        cfg = dict(cfg or {})
        if "scale" in cfg:
            cfg["scale"] = tuple(cfg["scale"])
        return cls(**cfg)


def augment_batch(x: torch.Tensor, y: torch.Tensor, s: AugmentSettings, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment images ``x`` (B, C, H, W) and labels ``y`` (B, H, W) with one random draw per sample.

    Geometry is shared by image (bilinear) and label (nearest); ``gen`` is a CPU generator so
    that a run is reproducible whatever the device.
    """
    b = x.shape[0]
    rand = lambda *shape: torch.rand(*shape, generator=gen).to(x.device)
    angle = (rand(b) * 2 - 1) * math.radians(s.rotate_deg)
    scale = s.scale[0] + rand(b) * (s.scale[1] - s.scale[0])
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    flip_h = torch.where(rand(b) < 0.5, -1.0, 1.0) if s.flip else torch.ones(b, device=x.device)
    flip_w = torch.where(rand(b) < 0.5, -1.0, 1.0) if s.flip else torch.ones(b, device=x.device)
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip_w, -sin * flip_h
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip_w, cos * flip_h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    y = F.grid_sample(y[:, None].float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    gain = 1 + (rand(b) * 2 - 1) * s.intensity
    offset = (rand(b) * 2 - 1) * s.intensity
    x = x * gain.view(b, 1, 1, 1) + offset.view(b, 1, 1, 1)
    return x, y[:, 0].long()
