"""The DARTS search space (Liu et al., ICLR 2019), as MSTF-NAS compares it in its Table X (seed 002, IV-E4).

A genotype is one normal and one reduction cell, each shared by every block of the network (DARTS'
cells are repeated, not searched per position). A cell has two inputs (the outputs of the two cells
before it) and :data:`NODES` intermediate nodes; node i sums two edges, each an operation of
:data:`DARTS_OPS` on one earlier state: 0 = the cell's first input, 1 = its second, j >= 2 = node
j - 2. The cell's output concatenates the nodes. The ops are the seven DARTS keeps in a derived
architecture (its ``none`` is never chosen), and a node's two edges come from distinct states, as
DARTS' derivation takes them.

Genes, per cell ``c`` in (``normal``, ``reduce``), node i and edge e in (0, 1): ``c_n<i>_op<e>``
(an index into :data:`DARTS_OPS`) and ``c_n<i>_in<e>`` (0 .. i + 1): 2 x 4 x 2 x 2 = 32 genes.
``repair`` moves a second edge that repeats the first one's input to the next state and orders a
node's two edges by (input, operation), so that a network has one key.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mednas.errors import ConfigError
from mednas.space.base import VariableSpace, integer_settings, register_space

DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
             "dil_conv_5x5")
NODES = 4
CELLS = ("normal", "reduce")


def cell_gene_names(cell: str) -> list[str]:
    return [f"{cell}_n{i}_{kind}{e}" for i in range(NODES) for e in range(2) for kind in ("op", "in")]


GENE_NAMES = tuple(n for c in CELLS for n in cell_gene_names(c))
GENES_PER_CELL = len(GENE_NAMES) // len(CELLS)


@dataclass(frozen=True)
class DartsGenotype:
    """``genes`` in the order of :data:`GENE_NAMES`: the normal cell, then the reduction cell."""

    genes: tuple[int, ...]

    def edges(self, cell: str) -> list[tuple[int, int]]:
        """(operation index, input state) of the cell's 2 x NODES edges, node after node."""
        k = CELLS.index(cell)
        g = self.genes[k * GENES_PER_CELL:(k + 1) * GENES_PER_CELL]
        return [(g[2 * j], g[2 * j + 1]) for j in range(2 * NODES)]

    def key(self) -> str:
        """An operation digit and an input digit per edge (both below 10), normal then reduction cell."""
        return "darts-" + "-".join("".join(f"{op}{src}" for op, src in self.edges(c)) for c in CELLS)

    def to_dict(self) -> dict[str, Any]:
        return dict(zip(GENE_NAMES, self.genes))


@register_space("darts")
class DartsSpace(VariableSpace):
    """DARTS' cell space; ``blocks`` (each a normal then a reduction cell) and ``channels`` (a node's width
    in the first block, doubled per block) belong to the network built from a genotype, not to the genes."""

    def __init__(self, blocks: int = 3, channels: int = 16):
        if blocks < 1:
            raise ConfigError(f"space.blocks must be >= 1, got {blocks}")
        if channels < 1:
            raise ConfigError(f"space.channels must be >= 1, got {channels}")
        self.blocks, self.channels = int(blocks), int(channels)
        self._hi = []
        for _ in CELLS:
            for i in range(NODES):
                self._hi += [len(DARTS_OPS) - 1, i + 1] * 2

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> DartsSpace:
        return cls(**integer_settings(cfg, "darts", ("blocks", "channels")))

    def settings(self) -> dict[str, int]:
        return {"blocks": self.blocks, "channels": self.channels}

    def variables(self) -> dict[str, Any]:
        from pymoo.core.variable import Integer

        return {n: Integer(bounds=(0, hi)) for n, hi in zip(GENE_NAMES, self._hi)}

    def from_variables(self, x: Mapping[str, Any]) -> DartsGenotype:
        return DartsGenotype(tuple(int(round(float(x[n]))) for n in GENE_NAMES))

    def sample(self, rng: random.Random) -> DartsGenotype:
        """Operations uniform; a node's two inputs a uniform pair of distinct earlier states (drawing
        them independently and repairing a repeat would favour neighbouring states)."""
        genes = []
        for _ in CELLS:
            for i in range(NODES):
                a, b = rng.sample(range(i + 2), 2)
                genes += [rng.randrange(len(DARTS_OPS)), a, rng.randrange(len(DARTS_OPS)), b]
        return self.repair(DartsGenotype(tuple(genes)))

    def repair(self, g: DartsGenotype) -> DartsGenotype:
        """Genes clipped to their ranges; a node's second edge that reads the first one's state reads
        the next state instead (cyclically among the node's i + 2 choices); then a node's two edges in
        order of (input, operation), so that one network has one genotype (edges are summed: their
        order does not matter)."""
        genes = [min(max(v, 0), hi) for v, hi in zip(g.genes, self._hi)]
        for k in range(len(CELLS)):
            for i in range(NODES):
                at = k * GENES_PER_CELL + 4 * i
                (op0, in0), (op1, in1) = (genes[at], genes[at + 1]), (genes[at + 2], genes[at + 3])
                if in0 == in1:
                    in1 = (in0 + 1) % (i + 2)
                genes[at:at + 4] = [x for src, op in sorted([(in0, op0), (in1, op1)]) for x in (op, src)]
        return DartsGenotype(tuple(genes))

    def validate(self, g: DartsGenotype) -> DartsGenotype:
        if len(g.genes) != len(GENE_NAMES):
            raise ValueError(f"genotype of {len(g.genes)} genes; space 'darts' has {len(GENE_NAMES)}")
        bad = [f"{n}={v} not in [0, {hi}]" for n, v, hi in zip(GENE_NAMES, g.genes, self._hi) if not 0 <= v <= hi]
        for k, cell in enumerate(CELLS):
            for i in range(NODES):
                at = k * GENES_PER_CELL + 4 * i
                if g.genes[at + 1] == g.genes[at + 3]:
                    bad.append(f"{cell}_n{i}: both edges read state {g.genes[at + 1]}")
                elif (g.genes[at + 1], g.genes[at]) > (g.genes[at + 3], g.genes[at + 2]):
                    bad.append(f"{cell}_n{i}: edges not in order of (input, operation) (repair orders them)")
        if bad:
            raise ValueError("genotype outside the search space: " + "; ".join(bad))
        return g
