"""MSTF-NAS's multiscale cell space (seed 002, Section III-B): blocks of a normal and a reduction cell.

Each block is a 14-gene vector (``2 n_N + n_R`` with ``n_N = 5`` normal-cell nodes and
``n_R = 4`` reduction branches) and every block is searched on its own (macro search), so a
network of ``blocks`` blocks has ``14 x blocks`` genes (the paper's 42 for MedMNIST):

- genes ``b<k>_op<i>`` (i = 0..4): the operation of normal-cell node i, an index into
  :data:`NORMAL_OPS` (the paper numbers them 0..7 without saying which is which: ours follow the
  order of its list);
- genes ``b<k>_in<i>``: the node's input, 0 = the cell's input, j >= 1 = the output of node j - 1,
  so node i chooses among i + 1 inputs (the ``n_N!`` of the paper's space size; node 0's gene has
  the one value 0 and is kept so that a block is the paper's 14 genes);
- genes ``b<k>_pool<j>`` (j = 0..3): the pooling of reduction branch j, an index into
  :data:`REDUCTION_OPS`.

Every vector within the bounds decodes to a working network (an all-zero cell is a legal, if
useless, network the indicators score low), so ``repair`` clips to the bounds only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mednas.errors import ConfigError
from mednas.space.base import VariableSpace, integer_settings, register_space

NORMAL_OPS = ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5", "conv_7x1_1x7",
              "identity", "zero")
REDUCTION_OPS = ("max_2x2", "avg_2x2", "max_3x3", "avg_3x3", "max_4x4", "avg_4x4")
NORMAL_NODES = 5
REDUCTION_BRANCHES = 4
GENES_PER_BLOCK = 2 * NORMAL_NODES + REDUCTION_BRANCHES


def block_gene_names(block: int) -> list[str]:
    names = []
    for i in range(NORMAL_NODES):
        names += [f"b{block}_op{i}", f"b{block}_in{i}"]
    return names + [f"b{block}_pool{j}" for j in range(REDUCTION_BRANCHES)]


@dataclass(frozen=True)
class MSTFGenotype:
    """A whole network: ``genes`` in the order of :func:`block_gene_names`, block after block."""

    genes: tuple[int, ...]

    @property
    def blocks(self) -> int:
        return len(self.genes) // GENES_PER_BLOCK

    def block(self, k: int) -> tuple[int, ...]:
        return self.genes[k * GENES_PER_BLOCK:(k + 1) * GENES_PER_BLOCK]

    def normal(self, k: int) -> list[tuple[int, int]]:
        """(operation index, input index) of each normal-cell node of block ``k``."""
        b = self.block(k)
        return [(b[2 * i], b[2 * i + 1]) for i in range(NORMAL_NODES)]

    def pools(self, k: int) -> tuple[int, ...]:
        return self.block(k)[2 * NORMAL_NODES:]

    def key(self) -> str:
        """One digit per gene, blocks separated by '-': every gene is below 10."""
        return "mstf-" + "-".join("".join(map(str, self.block(k))) for k in range(self.blocks))

    def to_dict(self) -> dict[str, Any]:
        names = [n for k in range(self.blocks) for n in block_gene_names(k)]
        return dict(zip(names, self.genes))


@register_space("mstf")
class MSTFSpace(VariableSpace):
    """The space of ``blocks`` blocks; ``channels`` (the first block's width, doubled per block) and
    ``stem`` belong to the network built from a genotype, not to the genes."""

    def __init__(self, blocks: int = 3, channels: int = 128):
        if blocks < 1:
            raise ConfigError(f"space.blocks must be >= 1, got {blocks}")
        if channels < 4 or channels % 4:
            raise ConfigError(f"space.channels must be a positive multiple of 4 (four reduction branches of C/4 "
                              f"channels each), got {channels}")
        self.blocks, self.channels = int(blocks), int(channels)
        self._names = [n for k in range(self.blocks) for n in block_gene_names(k)]
        self._hi = []
        for _ in range(self.blocks):
            for i in range(NORMAL_NODES):
                self._hi += [len(NORMAL_OPS) - 1, i]
            self._hi += [len(REDUCTION_OPS) - 1] * REDUCTION_BRANCHES

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> MSTFSpace:
        return cls(**integer_settings(cfg, "mstf", ("blocks", "channels")))

    def settings(self) -> dict[str, int]:
        return {"blocks": self.blocks, "channels": self.channels}

    def variables(self) -> dict[str, Any]:
        from pymoo.core.variable import Integer

        return {n: Integer(bounds=(0, hi)) for n, hi in zip(self._names, self._hi)}

    def from_variables(self, x: Mapping[str, Any]) -> MSTFGenotype:
        return MSTFGenotype(tuple(int(round(float(x[n]))) for n in self._names))

    def repair(self, g: MSTFGenotype) -> MSTFGenotype:
        """Clip every gene to its range (a node's input to the nodes before it)."""
        return MSTFGenotype(tuple(min(max(v, 0), hi) for v, hi in zip(g.genes, self._hi)))

    def validate(self, g: MSTFGenotype) -> MSTFGenotype:
        if len(g.genes) != len(self._names):
            raise ValueError(f"genotype of {len(g.genes)} genes; space 'mstf' with {self.blocks} blocks has "
                             f"{len(self._names)}")
        bad = [f"{n}={v} not in [0, {hi}]" for n, v, hi in zip(self._names, g.genes, self._hi) if not 0 <= v <= hi]
        if bad:
            raise ValueError("genotype outside the search space: " + "; ".join(bad))
        return g

    def from_key(self, key: str) -> MSTFGenotype:
        parts = key.removeprefix("mstf-").split("-")
        return self.validate(MSTFGenotype(tuple(int(c) for part in parts for c in part)))
