"""Genotypes of any search space as fixed-length numeric vectors, for accuracy predictors.

MoSegNAS (seed 004, Sec. III-C) one-hot encodes its integer genes: a predictor then sees each
option as its own feature instead of an order that the options may not have. Here the
encoding is derived from the space's pymoo variables, so every registered space gets one:

- ``Choice``: one-hot over its options;
- ``Integer`` with at most ``max_onehot`` values: one-hot over them; a wider range (CardiacNAS's
  32-127 filters) is one feature scaled to [0, 1], since a one-hot of ~100 columns would leave
  most columns without a single training sample;
- ``Real``: one feature scaled to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mednas.space.base import SearchSpace


class OneHotEncoding:
    """The encoding of one space (see the module docstring)."""

    def __init__(self, space: SearchSpace, max_onehot: int = 16):
        from pymoo.core.variable import Choice, Integer, Real

        self.space = space
        self.columns: list[str] = []
        self._parts: list[tuple[str, str, Any]] = []  # (gene, kind, options or bounds)
        for name, var in space.variables().items():
            if isinstance(var, Choice):
                options = list(var.options)
                self._parts.append((name, "onehot", options))
                self.columns += [f"{name}={o}" for o in options]
            elif isinstance(var, Integer) and var.bounds[1] - var.bounds[0] + 1 <= max_onehot:
                options = list(range(int(var.bounds[0]), int(var.bounds[1]) + 1))
                self._parts.append((name, "onehot", options))
                self.columns += [f"{name}={o}" for o in options]
            elif isinstance(var, (Integer, Real)):
                self._parts.append((name, "scaled", tuple(float(b) for b in var.bounds)))
                self.columns.append(name)
            else:
                raise TypeError(f"space variable '{name}': unsupported pymoo variable {type(var).__name__}")

    @property
    def width(self) -> int:
        return len(self.columns)

    def encode(self, genotypes: Sequence[Any]) -> np.ndarray:
        """(n, width) float32 matrix of ``genotypes`` (objects with ``to_dict``)."""
        out = np.zeros((len(genotypes), self.width), dtype=np.float32)
        for i, g in enumerate(genotypes):
            genes, col = g.to_dict(), 0
            for name, kind, extra in self._parts:
                if kind == "onehot":
                    try:
                        out[i, col + extra.index(genes[name])] = 1.0
                    except ValueError:
                        raise ValueError(f"gene '{name}' = {genes[name]!r} is not among {extra}") from None
                    col += len(extra)
                else:
                    lo, hi = extra
                    out[i, col] = (float(genes[name]) - lo) / (hi - lo) if hi > lo else 0.0
                    col += 1
        return out
