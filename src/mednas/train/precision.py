"""Numeric precision and memory layout of training and inference on each device.

CUDA: float16 autocast with a gradient scaler (``train.amp``). CPU: bfloat16 autocast
(``train.cpu_bf16``) and channels-last tensors (``train.channels_last``).
``benchmarks/precision.py`` measures both against float32, speed and validation Dice after a
fixed number of steps. Whether bf16 pays depends on the CPU: with native bf16 instructions
(AVX512-BF16, AMX) a training step ran 1.3-2x faster (measured on one AVX512-BF16 CPU),
without them (AVX2 only) 10x slower, so ``cpu_bf16: auto`` asks the CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX tiles).

    torch exposes these checks only as private helpers of ``torch.cpu``; they exist since 2.1.
    """
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_cpu_bf16(cpu_bf16: bool | str) -> bool:
    """``train.cpu_bf16`` as a decision: ``auto`` is bf16 exactly where the CPU has native bf16."""
    if cpu_bf16 == "auto":
        return cpu_has_native_bf16()
    if cpu_bf16 is True or cpu_bf16 is False:
        return cpu_bf16
    raise ValueError(f"train.cpu_bf16: expected true, false or auto, got {cpu_bf16!r}")


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

    @property
    def name(self) -> str:
        """What a curve row records, e.g. ``cpu-bf16-cl`` or ``cuda-fp16``."""
        dtype = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]
        return f"{self.device_type}-{dtype}" + ("-cl" if self.channels_last else "")

    def model(self, model: nn.Module) -> nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x


def precision_for(device: str, amp: bool, cpu_bf16: bool | str, channels_last: bool) -> Precision:
    """The precision of a job on ``device`` under the ``train`` settings (``cpu_bf16``: true, false or auto)."""
    bf16 = resolve_cpu_bf16(cpu_bf16)  # checked on CUDA too: a typo is an error wherever it runs
    if device.startswith("cuda"):
        return Precision("cuda", torch.float16 if amp else None, channels_last)
    return Precision("cpu", torch.bfloat16 if bf16 else None, channels_last)
