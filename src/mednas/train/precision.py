"""Numeric precision and memory layout of training and inference on each device.

CUDA: float16 autocast with a gradient scaler (``train.amp``). CPU: bfloat16 autocast
(``train.cpu_bf16``; CPUs with AMX run convolutions several times faster in bf16) and
channels-last tensors (``train.channels_last``). ``benchmarks/precision.py`` measures both
against float32, speed and validation Dice after a fixed number of steps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Precision:
    """What a job on ``device`` runs in."""

    device_type: str  # "cuda" or "cpu"
    dtype: torch.dtype | None  # autocast dtype, None: float32
    channels_last: bool

    @property
    def scaled(self) -> bool:
        """float16 needs loss scaling; bfloat16 has float32's range and does not."""
        return self.dtype is torch.float16

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        with torch.autocast(device_type=self.device_type, dtype=self.dtype or torch.float32,
                            enabled=self.dtype is not None):
            yield

    def model(self, model: nn.Module) -> nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x


def precision_for(device: str, amp: bool, cpu_bf16: bool, channels_last: bool) -> Precision:
    """The precision of a job on ``device`` under the ``train`` settings."""
    if device.startswith("cuda"):
        return Precision("cuda", torch.float16 if amp else None, channels_last)
    return Precision("cpu", torch.bfloat16 if cpu_bf16 else None, channels_last)
