"""Building blocks of the cardiac network: activations, attention, residual and bottleneck blocks."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mednas.models.dynamic import DynBatchNorm2d, DynConv2d

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "elu": F.elu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation '{name}' (choose from {sorted(ACTIVATIONS)})") from None


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al. 2018): global pooling, bottleneck MLP, sigmoid gate."""

    def __init__(self, max_channels: int, reduction: int):
        super().__init__()
        self.reduction = reduction
        hidden = self.hidden(max_channels)
        self.fc1 = DynConv2d(max_channels, hidden, 1, bias=True)
        self.fc2 = DynConv2d(hidden, max_channels, 1, bias=True)

    def hidden(self, channels: int) -> int:
        return max(4, math.ceil(channels / self.reduction))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.relu(self.fc1(s, self.hidden(c)))
        return x * torch.sigmoid(self.fc2(s, c))


class SelfAttention(nn.Module):
    """Spatial self-attention (non-local block, Wang et al. 2018), residual with a learned gain.

    Keys and values are average-pooled to at most ``kv_size`` x ``kv_size`` positions, as the
    non-local paper subsamples them, so the cost stays linear in the number of pixels.
    The gain starts at 0: a fresh block is the identity.
    """

    def __init__(self, max_channels: int, kv_size: int):
        super().__init__()
        self.kv_size = kv_size
        qk = self.qk_channels(max_channels)
        self.query = DynConv2d(max_channels, qk, 1, bias=True)
        self.key = DynConv2d(max_channels, qk, 1, bias=True)
        self.value = DynConv2d(max_channels, max_channels, 1, bias=True)
        self.gain = nn.Parameter(torch.zeros(1))

    @staticmethod
    def qk_channels(channels: int) -> int:
        return max(1, channels // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qk = self.qk_channels(c)
        pooled = F.adaptive_avg_pool2d(x, (min(h, self.kv_size), min(w, self.kv_size))) if max(h, w) > self.kv_size else x
        q = self.query(x, qk).flatten(2).transpose(1, 2)[:, None]  # b, 1, hw, qk
        k = self.key(pooled, qk).flatten(2).transpose(1, 2)[:, None]  # b, 1, n, qk
        v = self.value(pooled, c).flatten(2).transpose(1, 2)[:, None]  # b, 1, n, c
        # Fused softmax(q k^T / sqrt(qk)) v: the hw x n attention matrix is never stored.
        out = F.scaled_dot_product_attention(q, k, v)[:, 0].transpose(1, 2).reshape(b, c, h, w)
        return x + self.gain * out


def make_attention(kind: str, max_channels: int, se_reduction: int, kv_size: int) -> nn.Module:
    if kind == "se":
        return SqueezeExcitation(max_channels, se_reduction)
    if kind == "self":
        return SelfAttention(max_channels, kv_size)
    raise ValueError(f"unknown attention '{kind}' (choose se or self)")


class ResidualBlock(nn.Module):
    """Two k x k conv-BN layers with dropout between them and a scaled residual:
    ``act(shortcut(x) + res_scale * F(x))``. ``in_groups``: the input is that many equal
    groups of channels concatenated, each sliced on its own (see ``DynConv2d``)."""

    def __init__(self, max_in: int, max_out: int, max_kernel: int, projection: bool, in_groups: int = 1):
        super().__init__()
        self.conv1 = DynConv2d(max_in, max_out, max_kernel, in_groups=in_groups)
        self.bn1 = DynBatchNorm2d(max_out)
        self.conv2 = DynConv2d(max_out, max_out, max_kernel)
        self.bn2 = DynBatchNorm2d(max_out)
        self.proj = DynConv2d(max_in, max_out, 1, in_groups=in_groups) if projection else None
        self.proj_bn = DynBatchNorm2d(max_out) if projection else None

    def forward(self, x: torch.Tensor, out_channels: int, kernel: int, act: Callable, dropout: float,
                res_scale: float) -> torch.Tensor:
        h = act(self.bn1(self.conv1(x, out_channels, kernel)))
        if dropout > 0:
            h = F.dropout2d(h, dropout, self.training)
        h = self.bn2(self.conv2(h, out_channels, kernel))
        if self.proj is not None:
            shortcut = self.proj_bn(self.proj(x, out_channels, 1))
        else:
            if x.shape[1] != out_channels:
                raise ValueError(f"identity shortcut needs {out_channels} input channels, got {x.shape[1]}")
            shortcut = x
        return act(shortcut + res_scale * h)


class DilatedBottleneck(nn.Module):
    """Multi-scale context at the lowest resolution: parallel dilated convolutions, summed."""

    def __init__(self, max_in: int, max_out: int, kernel: int, dilations: Sequence[int]):
        super().__init__()
        self.kernel = kernel
        self.branches = nn.ModuleList(DynConv2d(max_in, max_out, kernel, dilation=d) for d in dilations)
        self.bn = DynBatchNorm2d(max_out)
        self.proj = DynConv2d(max_in, max_out, 1)
        self.proj_bn = DynBatchNorm2d(max_out)

    def forward(self, x: torch.Tensor, out_channels: int, act: Callable, res_scale: float) -> torch.Tensor:
        h = sum(branch(x, out_channels, self.kernel) for branch in self.branches)
        h = self.bn(h)
        return act(self.proj_bn(self.proj(x, out_channels, 1)) + res_scale * h)
