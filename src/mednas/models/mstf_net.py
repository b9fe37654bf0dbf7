"""The network of an MSTF-NAS genotype: stem, blocks of (normal cell, multiscale reduction cell), GAP head.

Choices the paper's text leaves open (its Figs. 3, 4 and 6 were lost), ours:

- stem: 3 x 3 convolution to ``channels`` + BatchNorm (NSGA-Net's / DARTS' CIFAR stem, stride 1);
- normal cell: a ReLU-conv1x1-BN preprocessing of the cell's input to the block's width (where a
  block doubles the channels), operations as DARTS defines them, each node applying its
  operation to its one input; the output concatenates the nodes no other node reads ("loose
  ends", NASNet / NSGA-Net) and projects them back to the width by ReLU-conv1x1-BN;
- reduction cell: four branches on the same input, each a stride-2 pooling (2, 3 or 4 px,
  padding 0, 1, 1 on an input padded to even size so all four agree) then a 1x1 convolution to
  C/4 and BatchNorm; the branches are concatenated back to C channels;
- head: global average pooling and one linear layer to the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mednas.models.cell_ops import Conv7x1x7, DilConv, ReLUConvBN, SepConv, Zero, pad_even
from mednas.models.registry import register_network
from mednas.space.mstf import NORMAL_OPS, REDUCTION_OPS, MSTFGenotype, MSTFSpace


def normal_op(name: str, c: int) -> nn.Module:
    if name.startswith("sep_conv"):
        return SepConv(c, int(name[-1]))
    if name.startswith("dil_conv"):
        return DilConv(c, int(name[-1]), 2)
    if name == "conv_7x1_1x7":
        return Conv7x1x7(c)
    if name == "identity":
        return nn.Identity()
    if name == "zero":
        return Zero()
    raise ValueError(f"unknown normal-cell operation {name!r}")


class NormalCell(nn.Module):
    def __init__(self, nodes: list[tuple[int, int]], c_in: int, c: int):
        super().__init__()
        self.pre = ReLUConvBN(c_in, c)
        self.inputs = [src for _, src in nodes]
        self.ops = nn.ModuleList(normal_op(NORMAL_OPS[op], c) for op, _ in nodes)
        used = {src - 1 for src in self.inputs if src > 0}
        self.loose = [i for i in range(len(nodes)) if i not in used]
        self.post = ReLUConvBN(c * len(self.loose), c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [self.pre(x)]
        for op, src in zip(self.ops, self.inputs):
            states.append(op(states[src]))
        return self.post(torch.cat([states[i + 1] for i in self.loose], dim=1))


class PoolBranch(nn.Module):
    def __init__(self, name: str, c: int):
        super().__init__()
        kind, size = name.split("_")
        k = int(size[0])
        padding = 0 if k == 2 else 1
        self.pool = (nn.MaxPool2d(k, 2, padding) if kind == "max" else
                     nn.AvgPool2d(k, 2, padding, count_include_pad=False))
        self.proj = nn.Sequential(nn.Conv2d(c, c // 4, 1, bias=False), nn.BatchNorm2d(c // 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pool(x))


class ReductionCell(nn.Module):
    def __init__(self, pools: tuple[int, ...], c: int):
        super().__init__()
        self.branches = nn.ModuleList(PoolBranch(REDUCTION_OPS[p], c) for p in pools)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_even(x)  # an even side makes every pooling size halve it alike
        return torch.cat([b(x) for b in self.branches], dim=1)


class MSTFNet(nn.Module):
    """Classifier of an MSTF-NAS genotype; ``channels`` is the first block's width (doubled per block)."""

    def __init__(self, genotype: MSTFGenotype, in_channels: int, num_classes: int, channels: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        blocks, c_prev = [], channels
        for k in range(genotype.blocks):
            c = channels * 2 ** k
            blocks.append(nn.Sequential(NormalCell(genotype.normal(k), c_prev, c), ReductionCell(genotype.pools(k), c)))
            c_prev = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(F.relu(x), 1).flatten(1))


@register_network("mstf", "classification")
def build(spec: Mapping[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    space = MSTFSpace(**spec["space"])
    return MSTFNet(space.from_dict(spec["genotype"]), in_channels, num_classes, space.channels)
