"""The hybrid MOEA/D + SA paper's lightweight CNN space (seed 003, Section 3, Figs. 6-7).

A genotype is ``blocks`` blocks of 7 genes (the paper's 6 x 7 = 42), in this order per block:

- ``b<k>_conv``: a convolution layer (1) or none (0); every convolution has stride 2 ("same"
  padding), the only layer that shrinks the image;
- ``b<k>_kernel``: the convolution's kernel, an index into ``kernels`` (the paper's sizes are
  lost in the text; the published network uses 5, 3, 3 and 1, hence (1, 3, 5));
- ``b<k>_filters``: e in 1..5, the convolution has 2^e filters;
- ``b<k>_bn``: a batch normalisation layer (1) or none;
- ``b<k>_act``: 0 no activation, 1 ReLU, 2 LeakyReLU;
- ``b<k>_drop``: a dropout layer (rate ``dropout_rate``, MATLAB's default 0.5 as in the paper's network);
- ``b<k>_pool``: a 2 x 2 max-pooling layer with stride 1 and "same" padding (the paper keeps the
  image size at pooling and reduces it by the convolutions' stride).

Layers are emitted conv, BN, activation, dropout, pooling, block after block; a flatten and one
fully connected layer to the classes follow (:mod:`mednas.models.lwcnn_net`). Genes of an absent
convolution stay in the genotype (the paper keeps every cell "to keep the CNN representation
structure") and have no effect. ``repair`` applies the paper's rules (its Section 5): a genotype
without any convolution gets one in the first block, and an activation that would directly follow
another activation is removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mednas.errors import ConfigError
from mednas.space.base import VariableSpace, register_space

BLOCK_GENES = ("conv", "kernel", "filters", "bn", "act", "drop", "pool")
ACTIVATIONS = ("none", "relu", "leaky_relu")
FILTER_EXPONENTS = (1, 5)  # 2^1 .. 2^5 filters


def block_gene_names(block: int) -> list[str]:
    return [f"b{block}_{g}" for g in BLOCK_GENES]


@dataclass(frozen=True)
class Block:
    conv: int
    kernel: int  # an index into the space's kernels
    filters: int  # the exponent: 2 ** filters channels
    bn: int
    act: int
    drop: int
    pool: int


@dataclass(frozen=True)
class LWGenotype:
    """``genes`` in the order of :func:`block_gene_names`, block after block."""

    genes: tuple[int, ...]

    @property
    def blocks(self) -> int:
        return len(self.genes) // len(BLOCK_GENES)

    def block(self, k: int) -> Block:
        n = len(BLOCK_GENES)
        return Block(*self.genes[k * n:(k + 1) * n])

    def key(self) -> str:
        """One digit per gene (every gene is below 10), blocks separated by '-'."""
        n = len(BLOCK_GENES)
        return "lw-" + "-".join("".join(map(str, self.genes[k * n:(k + 1) * n])) for k in range(self.blocks))

    def to_dict(self) -> dict[str, Any]:
        names = [n for k in range(self.blocks) for n in block_gene_names(k)]
        return dict(zip(names, self.genes))


@register_space("lwcnn")
class LightweightCNNSpace(VariableSpace):
    """``blocks`` blocks of 7 genes; ``kernels`` (sizes the kernel gene indexes) and ``dropout_rate``
    (the rate of every dropout layer) are settings of the space, not genes."""

    def __init__(self, blocks: int = 6, kernels: Sequence[int] = (1, 3, 5), dropout_rate: float = 0.5):
        if blocks < 1:
            raise ConfigError(f"space.blocks must be >= 1, got {blocks}")
        kernels = tuple(int(k) for k in kernels)
        if not kernels or len(kernels) > 10 or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ConfigError(f"space.kernels: 1 to 10 odd sizes >= 1, got {list(kernels)}")
        if not 0 <= dropout_rate < 1:
            raise ConfigError(f"space.dropout_rate must be in [0, 1), got {dropout_rate}")
        self.blocks, self.kernels, self.dropout_rate = int(blocks), kernels, float(dropout_rate)
        self._names = [n for k in range(self.blocks) for n in block_gene_names(k)]
        lo = {"conv": 0, "kernel": 0, "filters": FILTER_EXPONENTS[0], "bn": 0, "act": 0, "drop": 0, "pool": 0}
        hi = {"conv": 1, "kernel": len(kernels) - 1, "filters": FILTER_EXPONENTS[1], "bn": 1,
              "act": len(ACTIVATIONS) - 1, "drop": 1, "pool": 1}
        self._lo = [lo[g] for _ in range(self.blocks) for g in BLOCK_GENES]
        self._hi = [hi[g] for _ in range(self.blocks) for g in BLOCK_GENES]

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> LightweightCNNSpace:
        unknown = sorted(set(cfg) - {"blocks", "kernels", "dropout_rate"})
        if unknown:
            raise ConfigError(f"space: unknown key(s) {unknown} for space 'lwcnn' (blocks, kernels, dropout_rate)")
        return cls(**cfg)

    def settings(self) -> dict[str, Any]:
        return {"blocks": self.blocks, "kernels": list(self.kernels), "dropout_rate": self.dropout_rate}

    def variables(self) -> dict[str, Any]:
        from pymoo.core.variable import Integer

        return {n: Integer(bounds=(lo, hi)) for n, lo, hi in zip(self._names, self._lo, self._hi)}

    def from_variables(self, x: Mapping[str, Any]) -> LWGenotype:
        return LWGenotype(tuple(int(round(float(x[n]))) for n in self._names))

    def repair(self, g: LWGenotype) -> LWGenotype:
        """Genes clipped to their ranges, then the paper's two rules: no convolution anywhere gets
        one in the first block; an activation right after another activation is dropped."""
        genes = [min(max(v, lo), hi) for v, lo, hi in zip(g.genes, self._lo, self._hi)]
        n = len(BLOCK_GENES)
        conv, act, bn = BLOCK_GENES.index("conv"), BLOCK_GENES.index("act"), BLOCK_GENES.index("bn")
        drop, pool = BLOCK_GENES.index("drop"), BLOCK_GENES.index("pool")
        if not any(genes[k * n + conv] for k in range(self.blocks)):
            genes[conv] = 1
        last_is_act = False  # whether the last layer emitted so far is an activation
        for k in range(self.blocks):
            b = genes[k * n:(k + 1) * n]
            if b[conv] or b[bn]:
                last_is_act = False
            if b[act]:
                if last_is_act:
                    genes[k * n + act] = 0
                else:
                    last_is_act = True
            if b[drop] or b[pool]:
                last_is_act = False
        return LWGenotype(tuple(genes))

    def validate(self, g: LWGenotype) -> LWGenotype:
        if len(g.genes) != len(self._names):
            raise ValueError(f"genotype of {len(g.genes)} genes; space 'lwcnn' with {self.blocks} blocks has "
                             f"{len(self._names)}")
        bad = [f"{n}={v} not in [{lo}, {hi}]" for n, v, lo, hi in zip(self._names, g.genes, self._lo, self._hi)
               if not lo <= v <= hi]
        if bad:
            raise ValueError("genotype outside the search space: " + "; ".join(bad))
        return g
