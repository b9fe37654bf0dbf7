"""Layers whose weights are allocated at the largest size and sliced at run time.

A slice always takes the leading output / input channels and the centre of the kernel, so
a sub-network's weights are a fixed, extractable part of the supernet's (see
``mednas.models.cardiac_net.extract_subnet``). An input made of equal groups (the concat
decoder blocks' ``[upsampled, skip]``) takes the leading channels of each group instead:
channel j of group g uses weight input ``g * max_group + j`` at every width. A standalone
network uses the same layers allocated at exactly its own size, so that slicing is the
identity there.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def grouped_narrow(t: torch.Tensor, dim: int, groups: int, length: int) -> torch.Tensor:
    """The leading ``length`` entries of each of ``groups`` equal groups along ``dim``, concatenated."""
    size = t.shape[dim] // groups
    if groups == 1 or length == size:
        return t.narrow(dim, 0, length * groups)
    return torch.cat([t.narrow(dim, g * size, length) for g in range(groups)], dim)


class DynConv2d(nn.Module):
    """2-D convolution with sliceable channels and centre-cropped kernels ('same' padding).

    ``in_groups > 1``: the input is ``in_groups`` equal groups of channels concatenated (at
    most ``max_in // in_groups`` each); each group is sliced on its own (``grouped_narrow``).
    """

    def __init__(self, max_in: int, max_out: int, max_kernel: int, dilation: int = 1, bias: bool = False,
                 in_groups: int = 1):
        super().__init__()
        if in_groups < 1 or max_in % in_groups:
            raise ValueError(f"DynConv2d: {max_in} input channels do not split into {in_groups} groups")
        self.max_in, self.max_out, self.max_kernel, self.dilation = max_in, max_out, max_kernel, dilation
        self.in_groups = in_groups
        self.weight = nn.Parameter(torch.empty(max_out, max_in, max_kernel, max_kernel))
        self.bias = nn.Parameter(torch.zeros(max_out)) if bias else None
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor, out_channels: int, kernel: int | None = None) -> torch.Tensor:
        k = self.max_kernel if kernel is None else kernel
        in_channels = x.shape[1]
        if in_channels > self.max_in or out_channels > self.max_out or k > self.max_kernel:
            raise ValueError(f"DynConv2d({self.max_in}->{self.max_out}, k{self.max_kernel}) asked for "
                             f"{in_channels}->{out_channels}, k{k}")
        if in_channels % self.in_groups:
            raise ValueError(f"DynConv2d: {in_channels} input channels do not split into {self.in_groups} groups")
        w = grouped_narrow(self.weight[:out_channels], 1, self.in_groups, in_channels // self.in_groups)
        if k != self.max_kernel:
            off = (self.max_kernel - k) // 2
            w = w[:, :, off:off + k, off:off + k]
        b = None if self.bias is None else self.bias[:out_channels]
        return F.conv2d(x, w, b, padding=self.dilation * (k // 2), dilation=self.dilation)


class DynConvTranspose2d(nn.Module):
    """2x2 stride-2 transposed convolution (upsampling) with sliceable channels."""

    def __init__(self, max_in: int, max_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_in, max_out, 2, 2))
        self.bias = nn.Parameter(torch.zeros(max_out))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor, out_channels: int) -> torch.Tensor:
        w = self.weight[: x.shape[1], :out_channels]
        return F.conv_transpose2d(x, w, self.bias[:out_channels], stride=2)


class DynBatchNorm2d(nn.Module):
    """BatchNorm over the leading channels of shared statistics.

    ``momentum`` is an attribute so that BN recalibration can switch to a cumulative
    average (momentum 1/t on the t-th batch).
    """

    def __init__(self, max_channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(max_channels))
        self.bias = nn.Parameter(torch.zeros(max_channels))
        self.register_buffer("running_mean", torch.zeros(max_channels))
        self.register_buffer("running_var", torch.ones(max_channels))

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        # Slices of the buffers are views, so training-mode updates land in the shared buffers.
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
                            self.training, self.momentum, self.eps)
