"""The candidates of one search run: evaluation through the archive, budget, hypervolume per generation.

Strategies ask the pool to evaluate genotypes. A genotype seen before in this run costs
nothing and does not count; one found in the archive log of an interrupted run counts (it
was part of this search) but is not evaluated again; anything else is evaluated, costed and
appended to the log at once. ``budget`` counts distinct genotypes, so a resumed search
replays exactly the decisions of the interrupted one.

With ``skip_over_budget`` a candidate whose costs (known before any training) break a budget
is not evaluated: its metrics are recorded as NaN, objectives count them as the worst value, and
constrained domination ranks it by its violation alone. Where evaluation means training (proxy),
this spends the search's time on the networks it may choose.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mednas.cost.candidate import COST_METRICS
from mednas.search.archive import ArchiveLog
from mednas.search.objectives import Objectives
from mednas.search.pareto import hypervolume, non_dominated
from mednas.space.base import Genotype, SearchSpace

log = logging.getLogger("mednas")


def archive_columns(genes: Sequence[str], metrics: Sequence[str], costs: Sequence[str] = COST_METRICS) -> list[str]:
    """Column order of archive.csv for a space's ``genes``, an evaluator's ``metrics`` and the ``costs``."""
    return ["generation", "phase", "key", *genes, *metrics, *costs, "eval_seconds"]


class CandidatePool:
    """Evaluates, caches and counts the candidates of one search."""

    def __init__(self, space: SearchSpace, evaluator: Callable[[Genotype], Mapping[str, float]],
                 cost: Callable[[Genotype], Mapping[str, float]], objectives: Objectives, archive: ArchiveLog,
                 budget: int, skip_over_budget: bool = False,
                 phase_evaluators: Mapping[str, Callable[[Genotype], Mapping[str, float]]] | None = None):
        self.space, self.evaluator, self.cost = space, evaluator, cost
        self.skip_over_budget = skip_over_budget
        # A phase with an evaluator of its own (the annealing's longer training) keeps its own
        # records: a genotype scored in both phases has a record per phase, keyed "<key>@<phase>".
        self.phase_evaluators = dict(phase_evaluators or {})
        self.skipped = 0
        self._costs: dict[str, dict[str, float]] = {}
        self.objectives, self.archive, self.budget = objectives, archive, budget
        self.seen: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.computed = self.repeats = 0
        self.replayed_keys: set[str] = set()
        self.population: list[dict[str, Any]] | None = None
        self.finalists: list[dict[str, Any]] = []  # what a strategy offers its final pick (moead_sa: SA's bests)

    def set_population(self, records: Sequence[Mapping[str, Any]]) -> None:
        """The strategy's final population (what MSTF-NAS's pick reads), distinct, in order."""
        self.population = list({r["key"]: dict(r) for r in records}.values())

    @property
    def replayed(self) -> int:
        return len(self.replayed_keys)

    @property
    def remaining(self) -> int:
        return self.budget - len(self.seen)

    def record_key(self, g: Genotype, phase: str = "") -> str:
        """The archive key of ``g`` scored in ``phase`` (its genotype key unless the phase has its own evaluator)."""
        return f"{g.key()}@{phase}" if phase in self.phase_evaluators else g.key()

    def known(self, g: Genotype, phase: str = "") -> bool:
        return self.record_key(g, phase) in self.seen

    def genotype(self, record: Mapping[str, Any]) -> Genotype:
        return self.space.from_dict({k: record[k] for k in self.space.gene_names})

    def evaluate(self, genotypes: Iterable[Genotype], generation: int, phase: str) -> list[dict[str, Any]]:
        """Records of ``genotypes`` in order, evaluating only what neither this run nor the log has."""
        out = []
        for g in genotypes:
            g = self._normalised(g)
            key = self.record_key(g, phase)
            record = self.seen.get(key)
            if record is not None:
                self.repeats += 1
            else:
                record = self.archive.get(key)
                if record is not None:
                    self.replayed_keys.add(key)
                else:
                    record = self._compute(g, generation, phase, key)
                    self.computed += 1
                self.seen[key] = record
            out.append(record)
        return out

    def record_of(self, g: Genotype, phase: str = "") -> dict[str, Any]:
        """The record ``evaluate`` filed for ``g`` in ``phase`` (``g`` repaired and validated as it does)."""
        return self.seen[self.record_key(self._normalised(g), phase)]

    def _normalised(self, g: Genotype) -> Genotype:
        """``g`` as ``evaluate`` files it: repaired, then validated."""
        return self.space.validate(self.space.repair(g))

    def fitting(self, genotypes: Sequence[Genotype], budget: int, phase: str = "") -> list[int]:
        """Indices of the leading ``genotypes`` that ``evaluate`` can take within ``budget`` distinct
        candidates: genotypes already seen cost nothing, each new one costs one."""
        left, new, keep = budget - len(self.seen), set(), []
        for i, g in enumerate(genotypes):
            key = self.record_key(self._normalised(g), phase)
            if key not in self.seen and key not in new:
                if len(new) >= left:
                    break
                new.add(key)
            keep.append(i)
        return keep

    def cost_of(self, g: Genotype, columns: Collection[str] | None = None) -> dict[str, float]:
        """The costs of ``g`` (params, FLOPs, latency: known before any training), each computed once.

        ``columns`` names the ones wanted (all when None); a cost model with a ``columns``
        attribute computes just those, any other callable computes all of them at once.
        """
        have = self._costs.setdefault(g.key(), {})
        if not hasattr(self.cost, "columns"):
            if not have:
                have.update(self.cost(g))
        elif missing := [c for c in (self.cost.columns if columns is None else columns) if c not in have]:
            have.update(self.cost(g, missing))
        return dict(have) if columns is None else {c: have[c] for c in columns}

    def within_budgets(self, g: Genotype) -> bool:
        """Whether ``g``'s costs satisfy every budget (no training needed; only the budgeted costs are computed)."""
        return bool(self.objectives.violation([self.cost_of(g, tuple(self.objectives.budgets))])[0] <= 0)

    def _compute(self, g: Genotype, generation: int, phase: str, key: str) -> dict[str, Any]:
        t0 = time.perf_counter()
        cost = self.cost_of(g)
        if self.skip_over_budget and self.objectives.violation([cost])[0] > 0:
            metrics = {m: float("nan") for m in self.evaluator.metrics}
            self.skipped += 1
        else:
            metrics = dict(self.phase_evaluators.get(phase, self.evaluator)(g))
        record = {"generation": generation, "phase": phase, "key": key, **g.to_dict(), **metrics, **cost,
                  "eval_seconds": round(time.perf_counter() - t0, 4)}
        self.archive.append(record)
        # A phase with its own evaluator (a re-ranking rung) lies outside the strategy's budget: count its own records
        if phase in self.phase_evaluators:
            done = 1 + sum(1 for k in self.seen if k.endswith(f"@{phase}"))
            count = f"{phase} {done}"
        else:
            count = f"candidate {len(self.seen) + 1}/{self.budget}"
        log.info("%s (gen %d, %s) %s: %s, %.2f s", count, generation, phase,
                 key, ", ".join(f"{m} {record[m]:.4g}" for m in (*metrics, *cost) if m in
                                ("dice_mean", "hd95_mean", "cv_acc", "params", "flops", "latency_ms",
                                 *self.objectives.indicators)),
                 record["eval_seconds"])
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every distinct candidate of this run, in the order first seen."""
        return list(self.seen.values())

    def matrix(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Normalised objectives (mstf: normalised within ``records``) and budget violations."""
        return self.objectives.matrix(records), self.objectives.violation(records)

    def front(self, records: Sequence[Mapping[str, Any]] | None = None) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Feasible non-dominated records (archive-wide normalisation) and their objective rows."""
        records = self.records() if records is None else list(records)
        F, cv = self.matrix(records)
        feasible = np.flatnonzero(cv <= 0)
        idx = feasible[non_dominated(F[feasible])] if len(feasible) else feasible
        return [records[i] for i in idx], F[idx]

    def end_generation(self, generation: int) -> dict[str, Any]:
        """Record the hypervolume of everything evaluated so far."""
        front, F = self.front()
        row = {"generation": generation, "candidates": len(self.seen), "front_size": len(front),
               "hypervolume": hypervolume(F)}
        self.history.append(row)
        log.info("generation %d: %d candidates, front %d, hypervolume %.4f", generation, len(self.seen),
                 len(front), row["hypervolume"])
        return row
