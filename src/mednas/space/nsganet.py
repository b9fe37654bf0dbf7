"""NSGA-Net's macro search space (Lu et al., GECCO 2019), as MSTF-NAS compares it in its Table X (seed 002).

The Genetic CNN encoding with NSGA-Net's residual bit: a network is ``blocks`` phases; a phase has
``nodes`` convolution nodes (3 x 3 conv, BatchNorm, ReLU) ordered 1..n, and one bit per pair
i < j says whether node i feeds node j: n (n - 1) / 2 bits, plus one bit that feeds the phase's
input to its output (NSGA-Net's residual). The paper's 6 nodes give 16 genes per phase.

Genes, per phase k: ``b<k>_n<j>_from<i>`` for 1 <= i < j <= nodes, then ``b<k>_res``. Every bit
vector decodes to a working network (:mod:`mednas.models.nsganet_net`), so ``repair`` clips only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mednas.errors import ConfigError
from mednas.space.base import VariableSpace, integer_settings, register_space


def phase_gene_names(phase: int, nodes: int) -> list[str]:
    names = [f"b{phase}_n{j}_from{i}" for j in range(2, nodes + 1) for i in range(1, j)]
    return names + [f"b{phase}_res"]


@dataclass(frozen=True)
class NSGANetGenotype:
    """``genes`` (bits) in the order of :func:`phase_gene_names`, phase after phase."""

    genes: tuple[int, ...]
    nodes: int

    @property
    def per_phase(self) -> int:
        return self.nodes * (self.nodes - 1) // 2 + 1

    @property
    def blocks(self) -> int:
        return len(self.genes) // self.per_phase

    def phase(self, k: int) -> tuple[dict[int, list[int]], bool]:
        """Phase ``k``'s connections as {node j: the nodes i < j that feed it} and its residual bit."""
        bits = self.genes[k * self.per_phase:(k + 1) * self.per_phase]
        feeds, pos = {1: []}, 0
        for j in range(2, self.nodes + 1):
            feeds[j] = [i for i in range(1, j) if bits[pos + i - 1]]
            pos += j - 1
        return feeds, bool(bits[-1])

    def key(self) -> str:
        return f"nsganet{self.nodes}-" + "-".join(
            "".join(map(str, self.genes[k * self.per_phase:(k + 1) * self.per_phase])) for k in range(self.blocks))

    def to_dict(self) -> dict[str, Any]:
        names = [n for k in range(self.blocks) for n in phase_gene_names(k, self.nodes)]
        return dict(zip(names, self.genes))


@register_space("nsganet")
class NSGANetSpace(VariableSpace):
    """``blocks`` phases of ``nodes`` nodes; ``channels`` (the first phase's width, doubled per phase)
    belongs to the network, not to the genes."""

    def __init__(self, blocks: int = 3, nodes: int = 6, channels: int = 16):
        if blocks < 1:
            raise ConfigError(f"space.blocks must be >= 1, got {blocks}")
        if nodes < 2:
            raise ConfigError(f"space.nodes must be >= 2, got {nodes}")
        if channels < 1:
            raise ConfigError(f"space.channels must be >= 1, got {channels}")
        self.blocks, self.nodes, self.channels = int(blocks), int(nodes), int(channels)
        self._names = [n for k in range(self.blocks) for n in phase_gene_names(k, self.nodes)]

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> NSGANetSpace:
        return cls(**integer_settings(cfg, "nsganet", ("blocks", "nodes", "channels")))

    def settings(self) -> dict[str, int]:
        return {"blocks": self.blocks, "nodes": self.nodes, "channels": self.channels}

    def variables(self) -> dict[str, Any]:
        from pymoo.core.variable import Integer

        return {n: Integer(bounds=(0, 1)) for n in self._names}

    def from_variables(self, x: Mapping[str, Any]) -> NSGANetGenotype:
        return NSGANetGenotype(tuple(int(round(float(x[n]))) for n in self._names), self.nodes)

    def repair(self, g: NSGANetGenotype) -> NSGANetGenotype:
        return NSGANetGenotype(tuple(min(max(v, 0), 1) for v in g.genes), self.nodes)

    def validate(self, g: NSGANetGenotype) -> NSGANetGenotype:
        if len(g.genes) != len(self._names) or g.nodes != self.nodes:
            raise ValueError(f"genotype of {len(g.genes)} genes ({g.nodes} nodes); space 'nsganet' with "
                             f"{self.blocks} phases of {self.nodes} nodes has {len(self._names)}")
        bad = [f"{n}={v}" for n, v in zip(self._names, g.genes) if v not in (0, 1)]
        if bad:
            raise ValueError("genotype outside the search space (bits only): " + "; ".join(bad))
        return g
