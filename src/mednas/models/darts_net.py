"""The network of a DARTS genotype, built as MSTF-NAS builds its own (seed 002, IV-E4: "we build the
neural network in the same way as our method"): stem, ``blocks`` blocks of (normal cell, reduction
cell), global average pooling and one linear layer.

As DARTS (its ``model.py``): a cell reads the outputs of the two cells before it, each brought to the
cell's width by ReLU-conv1x1-BN (a factorised stride-2 reduction where the older one is at twice the
resolution); in a reduction cell the edges from the two inputs have stride 2; the output concatenates
the 4 nodes (4 x the width). Ours: the stem is one 3 x 3 convolution to ``channels`` with BatchNorm
(DARTS multiplies it by 3), both cells of block k have width ``channels x 2^k`` (as MSTF-NAS's blocks),
and inputs of odd side are padded to even before a reduction (MedMNIST's 28 px reach 7 px).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mednas.models.cell_ops import DilConv, FactorizedReduce, ReLUConvBN, SepConv, pad_even
from mednas.models.registry import register_network
from mednas.space.darts import DARTS_OPS, NODES, DartsGenotype, DartsSpace


def darts_op(name: str, c: int, stride: int) -> nn.Module:
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name.startswith("sep_conv"):
        return SepConv(c, int(name[-1]), stride)
    if name.startswith("dil_conv"):
        return DilConv(c, int(name[-1]), 2, stride)
    raise ValueError(f"unknown DARTS operation {name!r}")


class DartsCell(nn.Module):
    def __init__(self, edges: list[tuple[int, int]], c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c)
        self.pre1 = ReLUConvBN(c_p, c)
        self.inputs = [src for _, src in edges]
        self.ops = nn.ModuleList(darts_op(DARTS_OPS[op], c, 2 if reduction and src < 2 else 1) for op, src in edges)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        if self.reduction:
            states = [pad_even(s) for s in states]
        for i in range(NODES):
            a, b = 2 * i, 2 * i + 1
            states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
        return torch.cat(states[2:], dim=1)


class DartsNet(nn.Module):
    """Classifier of a DARTS genotype; ``channels`` is a node's width in the first block (doubled per block)."""

    def __init__(self, genotype: DartsGenotype, in_channels: int, num_classes: int, channels: int, blocks: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        cells, c_pp, c_p, reduction_prev = [], channels, channels, False
        for k in range(blocks):
            c = channels * 2 ** k
            for cell, reduction in (("normal", False), ("reduce", True)):
                cells.append(DartsCell(genotype.edges(cell), c_pp, c_p, c, reduction, reduction_prev))
                c_pp, c_p, reduction_prev = c_p, NODES * c, reduction
        self.cells = nn.ModuleList(cells)
        self.head = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(F.adaptive_avg_pool2d(s1, 1).flatten(1))


@register_network("darts", "classification")
def build(spec: Mapping[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    space = DartsSpace(**spec["space"])
    return DartsNet(space.from_dict(spec["genotype"]), in_channels, num_classes, space.channels, space.blocks)
