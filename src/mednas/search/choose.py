"""The final pick of a search: one genotype from its archive by a configurable rule.

- ``knee``: the knee of the feasible Pareto front (see :func:`mednas.search.pareto.knee`);
- ``closest_to_ideal``: the front point nearest the ideal point (the hybrid MOEA/D paper's rule);
  where the strategy names finalists (``moead_sa``: the annealing's bests, the paper's step 4),
  the front of the finalists (the whole front where no finalist is within the budgets);
- ``best_dice``: the highest validation Dice among candidates within every budget; after a
  re-ranking (``search.rerank``, :mod:`mednas.search.rerank`), the highest Dice of its last rung;
- ``indicator_sum``: MSTF-NAS's rule, the highest sum of its two (min-max normalised over that
  set) indicators among the feasible members of the strategy's final population (random search:
  everything it drew).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mednas.errors import ConfigError, MednasError
from mednas.search.objectives import minmax
from mednas.search.pareto import closest_to_ideal, knee
from mednas.search.pool import CandidatePool
from mednas.search.rerank import PHASE as RERANK, is_rerank_phase, search_records

RULES = ("knee", "closest_to_ideal", "best_dice", "indicator_sum")


def check_rule(rule: str, evaluator: str) -> str:
    if rule not in RULES:
        raise ConfigError(f"search.choose: unknown rule '{rule}'; choose from {list(RULES)}")
    if rule == "best_dice" and evaluator == "zerocost":
        raise ConfigError("search.choose: best_dice needs Dice, which the zerocost evaluator does not measure")
    if rule == "best_dice" and evaluator == "kfold":
        raise ConfigError("search.choose: best_dice needs Dice; the kfold evaluator measures classification error")
    if rule == "indicator_sum" and evaluator != "zerocost":
        raise ConfigError("search.choose: indicator_sum needs search.evaluator zerocost")
    return rule


def choose(pool: CandidatePool, rule: str) -> dict[str, Any]:
    """The chosen record with the rule and the objective values it was chosen on (the front and the
    objectives from the strategy's own records: re-ranked Dice is on another training budget)."""
    all_records = pool.records()
    reranked = [r for r in all_records if r.get("phase") == RERANK]
    records = search_records(all_records)
    feasible = [r for r, v in zip(records, pool.objectives.violation(records)) if v <= 0]
    if not feasible:
        raise MednasError(f"no candidate of {len(records)} satisfies search.budgets {dict(pool.objectives.budgets)}")
    front, F = pool.front(records)
    if rule == "knee":
        pick = front[knee(F)]
    elif rule == "closest_to_ideal":
        if pool.finalists:
            final, F_final = pool.front(pool.finalists)
            if final:
                front, F = final, F_final
        pick = front[closest_to_ideal(F)]
    elif rule == "best_dice":
        candidates = reranked or feasible  # finalists are within the budgets by construction
        pick = max(candidates, key=lambda r: (r["dice_mean"], -r["flops"]))
    elif rule == "indicator_sum":
        if pool.population is None:
            raise MednasError("search.choose indicator_sum needs the strategy's final population; this strategy "
                              "did not report one")
        final = [r for r, v in zip(pool.population, pool.objectives.violation(pool.population)) if v <= 0]
        if not final:
            raise MednasError(f"no member of the final population satisfies search.budgets "
                              f"{dict(pool.objectives.budgets)}")
        pick = _indicator_sum(pool, final)
    else:
        raise ConfigError(f"search.choose: unknown rule '{rule}'")
    reranked_pick = pick if reranked else None
    if reranked_pick is not None:  # report the pick's own search record; the re-ranked one goes beside it
        pick = next(r for r in records if r["key"] == pool.genotype(reranked_pick).key())
    objectives = pool.objectives.matrix([pick], context=records)[0]  # mstf: normalised over the archive
    out = {"rule": rule, "key": pick["key"], "genotype": pool.genotype(pick).to_dict(), "record": dict(pick),
           "objectives": dict(zip(pool.objectives.labels, map(float, objectives))),
           "on_front": any(r["key"] == pick["key"] for r in front), "front_size": len(front)}
    if reranked_pick is not None:
        by_key = {r["key"]: r for r in records}
        out["rerank"] = {"record": dict(reranked_pick), "finalists": [
            {"key": (k := pool.genotype(r).key()), "search_dice_mean": float(by_key[k]["dice_mean"]),
             "rerank_dice_mean": float(r["dice_mean"]), "rerank_hd95_mean": float(r["hd95_mean"]),
             "eval_seconds": float(r["eval_seconds"])} for r in reranked]}
        lower = {}  # the rungs below the last (successive halving), each candidate's Dice on it
        for r in all_records:
            if is_rerank_phase(r.get("phase")) and r["phase"] != RERANK:
                lower.setdefault(r["phase"], []).append({"key": pool.genotype(r).key(), "dice_mean": float(r["dice_mean"]),
                                                         "eval_seconds": float(r["eval_seconds"])})
        if lower:
            out["rerank"]["rungs"] = lower
    return out


def _indicator_sum(pool: CandidatePool, rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    obj = pool.objectives
    rows = list(rows)
    score = sum(minmax(obj.indicator(rows, name)) for name in obj.indicators)
    return rows[int(np.argmax(score))]


CHANCE_FRACTION = 0.25


def ranking_warning(chosen_dice: float, largest_dice: float) -> str | None:
    """A warning where the pick inherits less than ``CHANCE_FRACTION`` of the validation Dice the
    supernet's largest network reaches: the supernet has not learnt the networks the budgets
    allow, their inherited scores are near zero, and the pick among them is close to chance."""
    if largest_dice <= 0 or chosen_dice >= CHANCE_FRACTION * largest_dice:
        return None
    return (f"the chosen network inherits validation Dice {chosen_dice:.3f}, less than {CHANCE_FRACTION:.0%} of the "
            f"{largest_dice:.3f} the supernet's largest network reaches: the supernet does not rank the networks "
            "within the budgets and the pick is close to chance (train the supernet longer, or use "
            "search.evaluator proxy)")
