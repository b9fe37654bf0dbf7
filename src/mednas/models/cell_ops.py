"""Operations of cell-based classification spaces (DARTS, Liu et al. 2019), shared by the MSTF-NAS and
DARTS networks: ReLU-conv-BN, separable and dilated convolutions with an optional stride, the 7x1-1x7
pair, zero, and the factorised reduction DARTS uses for a stride-2 skip."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_even(x: torch.Tensor) -> torch.Tensor:
    """``x`` padded (replicate) at the bottom / right to an even side: every stride-2 operation of a
    cell then halves it alike (MedMNIST's 28 px reach 7 px after two reductions)."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return x


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0):
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False), nn.BatchNorm2d(c_out))


class DilConv(nn.Sequential):
    """ReLU, depthwise k x k (dilation ``d``, stride ``stride``), pointwise, BatchNorm."""

    def __init__(self, c: int, k: int, d: int, stride: int = 1):
        super().__init__(nn.ReLU(), nn.Conv2d(c, c, k, stride=stride, padding=d * (k - 1) // 2, dilation=d, groups=c,
                                              bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


class SepConv(nn.Sequential):
    """DARTS' separable convolution: the (undilated) depthwise-pointwise pair twice, the first with the stride."""

    def __init__(self, c: int, k: int, stride: int = 1):
        super().__init__(DilConv(c, k, 1, stride), DilConv(c, k, 1))


class Conv7x1x7(nn.Sequential):
    def __init__(self, c: int):
        super().__init__(nn.ReLU(), nn.Conv2d(c, c, (1, 7), padding=(0, 3), bias=False),
                         nn.Conv2d(c, c, (7, 1), padding=(3, 0), bias=False), nn.BatchNorm2d(c))


class Zero(nn.Module):
    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., ::self.stride, ::self.stride] * 0.0


class FactorizedReduce(nn.Module):
    """DARTS' stride-2 identity: two 1x1 stride-2 convolutions, one shifted by a pixel, concatenated."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_b = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_even(F.relu(x))
        shifted = F.pad(x[..., 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))
