"""A plain U-Net family as a search space: the width of the first level and the number of down-steps.

The smallest segmentation space there is, and the proof that the segmentation engine takes any
registered space: a genotype is ``(base, depth)``; its network (:mod:`mednas.models.unet_widths_net`)
is the project's U-Net baseline (:class:`mednas.models.unet.UNet`) with ``base`` filters doubling over
``depth`` down-steps. A search over it asks which U-Net is enough for a data set and a budget. It has
neither a weight-sharing supernet nor latency blocks: candidates are trained (``search.evaluator:
proxy``) or scored by zero-cost indicators, and costed by their parameters and FLOPs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mednas.errors import ConfigError
from mednas.space.base import VariableSpace, register_space


@dataclass(frozen=True)
class UNetGenotype:
    """``base`` filters at the first level, ``depth`` down-steps (``depth`` + 1 levels)."""

    base: int
    depth: int

    def key(self) -> str:
        return f"unet-b{self.base}-d{self.depth}"

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "depth": self.depth}


def _bounds(cfg: Mapping[str, Any], key: str, default: tuple[int, int], low: int) -> tuple[int, int]:
    value = cfg.get(key, default)
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            or not low <= value[0] <= value[1]):
        raise ConfigError(f"space.{key} must be two integers [lo, hi] with {low} <= lo <= hi, got {value!r}")
    return int(value[0]), int(value[1])


@register_space("unet_widths")
class UNetWidthsSpace(VariableSpace):
    """Genotypes ``base`` in ``bases`` and ``depth`` in ``depths`` (inclusive bounds)."""

    depth_key = "space.depths"  # the setting that fixes the input sizes the space takes

    def __init__(self, bases: tuple[int, int] = (8, 32), depths: tuple[int, int] = (2, 4)):
        self.bases, self.depths = tuple(bases), tuple(depths)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> UNetWidthsSpace:
        unknown = sorted(set(cfg) - {"bases", "depths"})
        if unknown:
            raise ConfigError(f"space: unknown key(s) {unknown} for space 'unet_widths' (bases, depths)")
        return cls(_bounds(cfg, "bases", (8, 32), 1), _bounds(cfg, "depths", (2, 4), 1))

    def settings(self) -> dict[str, Any]:
        return {"bases": list(self.bases), "depths": list(self.depths)}

    def variables(self) -> dict[str, Any]:
        from pymoo.core.variable import Integer

        return {"base": Integer(bounds=self.bases), "depth": Integer(bounds=self.depths)}

    def from_variables(self, x: Mapping[str, Any]) -> UNetGenotype:
        return UNetGenotype(int(round(float(x["base"]))), int(round(float(x["depth"]))))

    def repair(self, g: UNetGenotype) -> UNetGenotype:
        """Clip both genes to their bounds."""
        return UNetGenotype(min(max(g.base, self.bases[0]), self.bases[1]),
                            min(max(g.depth, self.depths[0]), self.depths[1]))

    def validate(self, g: UNetGenotype) -> UNetGenotype:
        bad = [f"{n}={v} not in [{lo}, {hi}]" for n, v, (lo, hi) in
               (("base", g.base, self.bases), ("depth", g.depth, self.depths)) if not lo <= v <= hi]
        if bad:
            raise ValueError("genotype outside the search space: " + "; ".join(bad))
        return g

    def largest(self) -> UNetGenotype:
        """The widest, deepest U-Net (the costliest and the one needing the most divisible input)."""
        return UNetGenotype(self.bases[1], self.depths[1])
