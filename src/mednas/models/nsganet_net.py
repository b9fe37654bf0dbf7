"""The network of an NSGA-Net macro genotype, built as MSTF-NAS builds its own (seed 002, IV-E4): stem,
``blocks`` blocks of (phase, reduction), global average pooling and one linear layer.

A phase follows NSGA-Net's decoder (``macro_search_space/evolution/residual_decoder.py``): its input
is brought to the phase's width by a 1x1 convolution where the width changes; a node with no input
bit but an output reads the phase's input; a node with inputs but no output feeds the phase's
output; several inputs are concatenated and reduced by a 1x1 convolution; the output node (BatchNorm
and ReLU after its 1x1 reduction) also reads the phase's input when the residual bit is set; a node
with neither inputs nor outputs is left out. The reduction is NSGA-Net's 2 x 2 max pooling (ceil mode:
7 px become 4). Ours: the stem is one 3 x 3 convolution to ``channels`` with BatchNorm; every block
ends with its reduction, the last one too (MSTF-NAS's layout: NSGA-Net pools only between phases);
and a phase without any connection bit (NSGA-Net drops it and so changes the depth) keeps node 1
alone, so that every genotype has ``blocks`` reductions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mednas.models.registry import register_network
from mednas.space.nsganet import NSGANetGenotype, NSGANetSpace


def phase_graph(feeds: Mapping[int, list[int]], residual: bool, nodes: int) -> dict[int, list[int]]:
    """Every node's inputs after NSGA-Net's repairs; state 0 is the phase's input, ``nodes + 1`` its
    output. A node absent from the result is inactive."""
    graph = {j: list(feeds[j]) for j in range(1, nodes + 1)}
    has_output = {i: any(i in graph[j] for j in range(i + 1, nodes + 1)) for i in range(1, nodes + 1)}
    if not any(graph.values()):  # no connection bit at all: node 1 alone
        graph = {1: [0], nodes + 1: [1]}
    else:
        out = [i for i in range(1, nodes + 1) if graph[i] and not has_output[i]]
        for i in range(1, nodes + 1):
            if not graph[i] and has_output[i]:
                graph[i] = [0]
        graph = {j: v for j, v in graph.items() if v}
        graph[nodes + 1] = out
    if residual:
        graph[nodes + 1] = [0] + graph[nodes + 1]
    return graph


class Phase(nn.Module):
    def __init__(self, genotype: NSGANetGenotype, k: int, c_in: int, c: int):
        super().__init__()
        feeds, residual = genotype.phase(k)
        self.graph = phase_graph(feeds, residual, genotype.nodes)
        self.first = nn.Conv2d(c_in, c, 1, bias=False) if c_in != c else nn.Identity()
        self.order = sorted(self.graph)
        self.nodes = nn.ModuleDict({str(j): nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False),
                                                          nn.BatchNorm2d(c), nn.ReLU())
                                    for j in self.order if j <= genotype.nodes})
        self.merge = nn.ModuleDict({str(j): nn.Conv2d(len(src) * c, c, 1, bias=False)
                                    for j, src in self.graph.items() if len(src) > 1})
        self.out = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())

    def _read(self, j: int, states: dict[int, torch.Tensor]) -> torch.Tensor:
        src = self.graph[j]
        if len(src) == 1:
            return states[src[0]]
        return self.merge[str(j)](torch.cat([states[i] for i in src], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = {0: self.first(x)}
        for j in self.order[:-1]:
            states[j] = self.nodes[str(j)](self._read(j, states))
        return self.out(self._read(self.order[-1], states))


class NSGANetMacro(nn.Module):
    def __init__(self, genotype: NSGANetGenotype, in_channels: int, num_classes: int, channels: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        blocks, c_prev = [], channels
        for k in range(genotype.blocks):
            c = channels * 2 ** k
            blocks.append(nn.Sequential(Phase(genotype, k, c_prev, c), nn.MaxPool2d(2, 2, ceil_mode=True)))
            c_prev = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1))


@register_network("nsganet", "classification")
def build(spec: Mapping[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    space = NSGANetSpace(**spec["space"])
    return NSGANetMacro(space.from_dict(spec["genotype"]), in_channels, num_classes, space.channels)
