"""The network of a genotype of the lightweight CNN space (hybrid MOEA/D + SA paper, seed 003).

Per block, in order and only where its gene is on: convolution (2^e filters, stride 2, "same"
padding k // 2), batch normalisation, ReLU / LeakyReLU (slope 0.01, MATLAB's default), dropout,
2 x 2 max pooling with stride 1 and "same" padding (one row and column of -inf after the image,
as MATLAB pads "same" for an even pool: the size is kept). Then flatten and one fully connected
layer to the classes (the paper's head: no global pooling, no hidden layer). The input size is
part of the network (the flatten size depends on it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mednas.errors import ConfigError
from mednas.models.registry import register_network
from mednas.space.lwcnn import LightweightCNNSpace, LWGenotype


class SamePool(nn.Module):
    """2 x 2 max pooling, stride 1, padded after the image so that the output keeps its size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, stride=1)


def build_layers(g: LWGenotype, space: LightweightCNNSpace, in_channels: int, image_size: int
                 ) -> tuple[list[nn.Module], int, int]:
    """The feature layers of ``g``, the channels and the side length they end with."""
    layers: list[nn.Module] = []
    channels, side = in_channels, image_size
    for k in range(g.blocks):
        b = g.block(k)
        if b.conv:
            kernel, width = space.kernels[b.kernel], 2 ** b.filters
            layers.append(nn.Conv2d(channels, width, kernel, stride=2, padding=kernel // 2))
            channels, side = width, math.floor((side + 2 * (kernel // 2) - kernel) / 2) + 1
        if b.bn:
            layers.append(nn.BatchNorm2d(channels))
        if b.act == 1:
            layers.append(nn.ReLU())
        elif b.act == 2:
            layers.append(nn.LeakyReLU(0.01))
        if b.drop:
            layers.append(nn.Dropout(space.dropout_rate))
        if b.pool:
            layers.append(SamePool())
    return layers, channels, side


class LightweightCNN(nn.Module):
    """Feature layers of a genotype, flatten, one linear layer to ``num_classes`` scores."""

    def __init__(self, g: LWGenotype, space: LightweightCNNSpace, in_channels: int, num_classes: int,
                 image_size: int):
        super().__init__()
        layers, channels, side = build_layers(g, space, in_channels, image_size)
        if side < 1:
            raise ValueError(f"genotype {g.key()} reduces a {image_size} px input below one pixel")
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels * side * side, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


@register_network("lwcnn", "classification")
def build(spec: Mapping[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    if "image_size" not in spec:
        raise ConfigError(f"model spec {dict(spec)} lacks image_size: an lwcnn network's head depends on it")
    space = LightweightCNNSpace(**spec["space"])
    return LightweightCNN(space.from_dict(spec["genotype"]), space, in_channels, num_classes, int(spec["image_size"]))
