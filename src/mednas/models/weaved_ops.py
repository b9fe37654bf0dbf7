"""The candidate operations of MixSearch's cells (Table I), each ``c`` channels in and out.

Down-ops halve the side, up-ops double it, normal ops keep it. Convolutions are ReLU-Conv-BN as
in DARTS. "Att" operations add squeeze-and-excitation channel attention (our reading of [35]).
``affine=False`` during the search, as DARTS, so that BatchNorm's scale does not compete with
the architecture weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mednas.space.weaved import OP_SETS


class SqueezeExcite(nn.Module):
    """Channel attention: a gate from the globally pooled map (Hu et al.)."""

    def __init__(self, c: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(2, c // reduction)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, c, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class ChannelShuffle(nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def _conv(c: int, stride: int, dilation: int, affine: bool, groups: int = 1) -> list[nn.Module]:
    return [nn.ReLU(inplace=False), nn.Conv2d(c, c, 3, stride, padding=dilation, dilation=dilation, groups=groups,
                                              bias=False), nn.BatchNorm2d(c, affine=affine)]


def _conv_t(c: int, dilation: int, affine: bool, groups: int = 1) -> list[nn.Module]:
    # output side exactly twice the input's: (n-1)*2 - 2p + d*(3-1) + 1 + 1 = 2n with p = d
    return [nn.ReLU(inplace=False), nn.ConvTranspose2d(c, c, 3, 2, padding=dilation, output_padding=1,
                                                       dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(c, affine=affine)]


def make_op(name: str, kind: str, c: int, affine: bool = True) -> nn.Module:
    """Operation ``name`` of op set ``kind`` (down, normal, up) on ``c`` channels."""
    if name not in OP_SETS[kind]:
        raise ValueError(f"no {kind} operation {name!r}; {kind} ops: {OP_SETS[kind]}")
    stride = 2 if kind == "down" else 1
    if name == "identity":
        return nn.Identity()
    if name == "att_identity":
        return SqueezeExcite(c)
    if name == "avg_pool":
        return nn.Sequential(nn.AvgPool2d(3, 2, 1, count_include_pad=False), nn.BatchNorm2d(c, affine=affine))
    if name == "max_pool":
        return nn.Sequential(nn.MaxPool2d(3, 2, 1), nn.BatchNorm2d(c, affine=affine))
    if name in ("conv", "att_conv"):
        layers = _conv(c, stride, 1, affine)
    elif name == "atrous_conv":
        layers = _conv(c, stride, 2, affine)
    elif name == "sep_conv":
        layers = [*_conv(c, stride, 1, affine, groups=c)[:2], nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=affine)]
    elif name == "shuffle_conv":
        groups = math.gcd(c, 4)
        layers = [*_conv(c, 1, 1, affine, groups=groups), ChannelShuffle(groups)]
    elif name in ("conv_t", "att_conv_t"):
        layers = _conv_t(c, 1, affine)
    elif name == "atrous_conv_t":
        layers = _conv_t(c, 2, affine)
    elif name == "sep_conv_t":
        layers = [*_conv_t(c, 1, affine, groups=c)[:2], nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=affine)]
    else:  # pragma: no cover - every name of OP_SETS is handled above
        raise AssertionError(name)
    if name.startswith("att_"):
        layers.append(SqueezeExcite(c))
    return nn.Sequential(*layers)
