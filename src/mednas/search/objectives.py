"""Search objectives and budgets, turned into one minimisation matrix on a common scale.

Every objective is mapped to roughly [0, 1], 0 best, so that hypervolume, knee points and
MOEA/D's decomposition compare like with like:

- ``dice``: 1 - mean Dice over structures;
- ``hd95``: mean HD95 / ``scales['hd95_mean']`` (the largest validation-volume diagonal, HD95's worst case);
- ``params``, ``flops``, ``latency``: value / the most expensive network of the space (largest shape,
  every attention / fusion / activation tried);
- ``error`` (kfold evaluator only): the cross-validated classification error, already in [0, 1];
- ``mstf`` (zero-cost evaluator only): MSTF-NAS Eq. 5, f1 = -p1 - flops and f2 = -p2 + flops with
  p1, p2 (two indicators) and FLOPs min-max normalised over the set of candidates being compared
  (one generation during the search; the whole archive for the front), then mapped from
  [-2, 0] and [-1, 1] to [0, 1]. The other constructions of the paper's Table IX
  (``search.zerocost.construction``): ``no_flops``, f1 = -p1 and f2 = -p2; ``flops_sum``,
  f1 = -(mean of one or two indicators) and f2 = flops; each mapped to [0, 1] the same way.

Budgets are constraints ``value <= limit``; the violation of a candidate is the sum of its
relative excesses, 0 when feasible. A metric left unmeasured (NaN: a candidate over budget that
the pool did not train) counts as the worst value, 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mednas.cost.candidate import COST_METRICS
from mednas.errors import ConfigError

COLUMN = {"dice": "dice_mean", "hd95": "hd95_mean", "params": "params", "flops": "flops", "latency": "latency_ms",
          "error": "cv_error"}
OBJECTIVES = (*COLUMN, "mstf")
# MSTF-NAS Table IX: ways to build the two objectives from indicators and FLOPs -> allowed indicator counts
CONSTRUCTIONS = {"eq5": (2,), "no_flops": (2,), "flops_sum": (1, 2)}


def variant_name(construction: str, indicators: Sequence[str]) -> str:
    """An ablation variant's name: ``"<construction>-p1[+p2]"`` (Table IX)."""
    return f"{construction}-{'+'.join(indicators)}"


def parse_variant(variant: str) -> tuple[str | None, list[str]]:
    """The construction (None for a bare ``"p1+p2"``, Table VIII: the experiment's own) and the
    indicators of an ablation variant's name."""
    construction, _, names = variant.rpartition("-")
    if construction and construction not in CONSTRUCTIONS:
        raise ConfigError(f"objective variant '{variant}': unknown construction '{construction}'; choose from "
                          f"{list(CONSTRUCTIONS)}")
    return construction or None, names.split("+")
BUDGETS = COST_METRICS  # every cost column can carry a budget
TRAINED = ("inherit", "proxy")
SEGMENTATION_QUALITY = ("dice", "hd95")  # measured by the inherit and proxy evaluators
CLASSIFICATION_QUALITY = ("error",)  # measured by the kfold evaluator


def minmax(v: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] over the values given (all zeros when they are all equal)."""
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)


@dataclass(frozen=True)
class Objectives:
    """What a search minimises, its budgets, and the scales that normalise it."""

    names: tuple[str, ...]
    budgets: Mapping[str, float] = field(default_factory=dict)
    scales: Mapping[str, float] = field(default_factory=dict)
    indicators: tuple[str, ...] = ("jacob_cov", "synflow")
    log_indicators: tuple[str, ...] = ("synflow",)
    construction: str = "eq5"

    @classmethod
    def from_config(cls, search_cfg: Mapping[str, Any], scales: Mapping[str, float] | None = None) -> Objectives:
        """Check the ``search`` section's objectives against its evaluator and build."""
        names = tuple(search_cfg.get("objectives") or ())
        evaluator = search_cfg.get("evaluator", "inherit")
        unknown = [n for n in names if n not in OBJECTIVES]
        if unknown:
            raise ConfigError(f"search.objectives: unknown {unknown}; choose from {list(OBJECTIVES)}")
        if len(set(names)) != len(names):
            raise ConfigError(f"search.objectives: {list(names)} names an objective twice")
        if evaluator == "zerocost":
            if names != ("mstf",):
                raise ConfigError("search.objectives must be [mstf] with search.evaluator zerocost "
                                  f"(indicators give no Dice or HD95), got {list(names)}")
        else:
            if "mstf" in names:
                raise ConfigError(f"search.objectives: mstf needs search.evaluator zerocost, not {evaluator}")
            own, other = ((CLASSIFICATION_QUALITY, SEGMENTATION_QUALITY) if evaluator == "kfold" else
                          (SEGMENTATION_QUALITY, CLASSIFICATION_QUALITY))
            foreign = [n for n in names if n in other]
            if foreign:
                raise ConfigError(f"search.objectives: {foreign} are not measured by search.evaluator {evaluator} "
                                  f"(it measures {list(own)})")
            if len(names) < 2:
                raise ConfigError(f"search.objectives: a multi-objective search needs two or more, got {list(names)}")
        budgets = {k: float(v) for k, v in (search_cfg.get("budgets") or {}).items() if v is not None}
        bad = [k for k in budgets if k not in BUDGETS]
        if bad:
            raise ConfigError(f"search.budgets: unknown {bad}; choose from {list(BUDGETS)}")
        if any(v <= 0 for v in budgets.values()):
            raise ConfigError(f"search.budgets must be positive, got {budgets}")
        zc = search_cfg.get("zerocost") or {}
        indicators = tuple(zc.get("indicators", ("jacob_cov", "synflow")))
        construction = str(zc.get("construction", "eq5"))
        if construction not in CONSTRUCTIONS:
            raise ConfigError(f"search.zerocost.construction: unknown '{construction}'; choose from "
                              f"{list(CONSTRUCTIONS)}")
        if len(indicators) not in CONSTRUCTIONS[construction] or len(set(indicators)) != len(indicators):
            raise ConfigError(f"search.zerocost.indicators: construction {construction} takes "
                              f"{' or '.join(map(str, CONSTRUCTIONS[construction]))} distinct indicator(s), got "
                              f"{list(indicators)}")
        return cls(names, budgets, dict(scales or {}), indicators, tuple(zc.get("log_indicators", ("synflow",))),
                   construction)

    @property
    def labels(self) -> list[str]:
        """Column names of the normalised objectives."""
        if self.names == ("mstf",):
            return ["obj_mstf_f1", "obj_mstf_f2"]
        return [f"obj_{n}" for n in self.names]

    @property
    def relative(self) -> bool:
        """Whether a candidate's values depend on the set it is compared with (mstf's normalisation)."""
        return self.names == ("mstf",)

    @property
    def n_obj(self) -> int:
        return len(self.labels)

    @property
    def n_constr(self) -> int:
        """Number of budgets, i.e. columns of :meth:`constraints`."""
        return len(self.budgets)

    def _scale(self, column: str) -> float:
        try:
            s = float(self.scales[column])
        except KeyError:
            raise ConfigError(f"no normalisation scale for objective column '{column}'") from None
        if not s > 0:
            raise ConfigError(f"normalisation scale of '{column}' must be positive, got {s}")
        return s

    def matrix(self, records: Sequence[Mapping[str, Any]], context: Sequence[Mapping[str, Any]] = ()) -> np.ndarray:
        """(n, n_obj) minimisation matrix of ``records``; mstf normalises over records + context."""
        if not records:
            return np.zeros((0, self.n_obj))
        if self.names == ("mstf",):
            return self._mstf(list(records), list(context))
        cols = []
        for name in self.names:
            column = COLUMN[name]
            v = np.array([float(r[column]) for r in records])
            col = 1.0 - v if name == "dice" else v if name == "error" else v / self._scale(column)
            cols.append(np.where(np.isnan(col), 1.0, col))
        return np.stack(cols, axis=1)

    def indicator(self, rows: list[Mapping[str, Any]], name: str) -> np.ndarray:
        v = np.array([float(r[name]) for r in rows], dtype=float)
        if name in self.log_indicators:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.log(np.where(v > 0, v, np.nan))
        finite = v[np.isfinite(v)]
        worst = finite.min() if finite.size else 0.0
        return np.where(np.isfinite(v), v, worst)  # a degenerate score ranks last, never NaN

    def _mstf(self, records: list, context: list) -> np.ndarray:
        rows = records + context
        p = [minmax(self.indicator(rows, name))[:len(records)] for name in self.indicators]
        fl = minmax(np.array([float(r["flops"]) for r in rows]))[:len(records)]
        if self.construction == "no_flops":
            return np.stack([1.0 - p[0], 1.0 - p[1]], axis=1)  # -p in [-1, 0] mapped to [0, 1]
        if self.construction == "flops_sum":
            return np.stack([1.0 - np.mean(p, axis=0), fl], axis=1)
        f1, f2 = -p[0] - fl, -p[1] + fl
        return np.stack([(f1 + 2.0) / 2.0, (f2 + 1.0) / 2.0], axis=1)

    def constraints(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """(n, n_budgets) of value / limit - 1 (<= 0 is feasible), budgets in a fixed order."""
        keys = [k for k in BUDGETS if k in self.budgets]
        return np.array([[float(r[k]) / self.budgets[k] - 1.0 for k in keys] for r in records],
                        dtype=float).reshape(len(records), len(keys))

    def violation(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Sum of relative excesses over the budgets (0 when feasible)."""
        g = self.constraints(records)
        return np.clip(g, 0.0, None).sum(axis=1) if g.size else np.zeros(len(records))
