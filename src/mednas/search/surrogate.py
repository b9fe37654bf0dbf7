"""MoSegNAS's surrogate-assisted search (seed 004, Algorithm 1), strategy ``surrogate``.

1. ``initial`` random candidates get a true evaluation (the pool's evaluator: inherited weights
   or proxy training); they are the parent population P.
2. Every generation: an accuracy predictor (RankNet by default) is fitted on every truly
   evaluated candidate, one per accuracy objective (Dice, HD95, error); NSGA-II then runs
   ``inner_generations`` on the predicted accuracy and the true costs (params, FLOPs, look-up
   table latency: cheap, so the paper counts them as high-fidelity), starting from P.
3. Of its final non-dominated set (genotypes not yet evaluated), ``k`` are pre-screened
   (:mod:`mednas.search.prescreen`, Algorithm 4) and evaluated truly; the predictor is refitted
   on the grown archive; P becomes the best ``population`` of P and the new candidates by
   NSGA-II's survival (rank, crowding).

The pool's budget counts true evaluations only, so ``surrogate`` and ``nsga2`` with the same
budget compare at equal numbers of true evaluations. Each generation's predictor is scored
out of sample: Kendall tau between its predictions and the true values of the ``k`` candidates
it sent to evaluation (``strategy_info.predictor``). Everything is seeded by ``search.seed`` and
the generation, and decisions depend only on archived values (floats round-trip exactly), so a
killed search resumed from its archive proposes the same candidates.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from mednas.cost.candidate import COST_METRICS
from mednas.errors import ConfigError
from mednas.search.encoding import OneHotEncoding
from mednas.search.objectives import COLUMN
from mednas.search.pareto import non_dominated, survival_order
from mednas.search.pool import CandidatePool
from mednas.search.predictors import PREDICTORS, correlations, make_predictor, RankNetSettings
from mednas.search.prescreen import hierarchical_prescreen

log = logging.getLogger("mednas")

PRESCREENS = ("hierarchical", "accuracy")


@dataclass(frozen=True)
class SurrogateSettings:
    """Config section ``search.surrogate``. Defaults CPU-sized; the paper's Table I: NSGA-II with
    population 100 over 1000 generations on the surrogates, K lost from the text."""

    k: int = 4                       # true evaluations per generation
    initial: int | None = None       # true evaluations of the initial population (default: search.population)
    predictor: str = "ranknet"       # ranknet | rbf | kriging | svr | dt | gb
    prescreen: str = "hierarchical"  # hierarchical (Algorithm 4) | accuracy (top k by predicted accuracy)
    spread: str | None = None        # cost column pre-screening spreads: default the first cost objective's
    inner_population: int = 40
    inner_generations: int = 20
    synthetic_pool: int = 500        # random genotypes RankNet's teachers label (synthetic samples)
    ranknet: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> SurrogateSettings:
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"search.surrogate: unknown setting(s) {unknown}")
        s = cls(**cfg)
        if s.predictor not in PREDICTORS:
            raise ConfigError(f"search.surrogate.predictor: unknown '{s.predictor}'; choose from {list(PREDICTORS)}")
        if s.prescreen not in PRESCREENS:
            raise ConfigError(f"search.surrogate.prescreen: unknown '{s.prescreen}'; choose from {list(PRESCREENS)}")
        if s.spread is not None and s.spread not in COST_METRICS:
            raise ConfigError(f"search.surrogate.spread: '{s.spread}' is not a cost column; choose from "
                              f"{list(COST_METRICS)}")
        if s.k < 1 or (s.initial is not None and s.initial < 2) or s.inner_population < 4 or s.inner_generations < 1:
            raise ConfigError(f"search.surrogate: k >= 1, initial >= 2, inner_population >= 4 and inner_generations "
                              f">= 1, got k={s.k}, initial={s.initial}, inner_population={s.inner_population}, "
                              f"inner_generations={s.inner_generations}")
        RankNetSettings.from_config(s.ranknet)  # checked now, not at the first generation
        return s


def check_strategies(search_cfg: Mapping[str, Any]) -> None:
    """Refuse, before any job, a ``surrogate`` search whose evaluator gives it no accuracy to predict."""
    if "surrogate" in (search_cfg.get("strategies") or ()) and search_cfg.get("evaluator") == "zerocost":
        raise ConfigError("search.strategies: surrogate predicts trained (or inherited) accuracy; search.evaluator "
                          "zerocost gives none (use inherit, proxy or kfold)")
    SurrogateSettings.from_config(search_cfg.get("surrogate"))
    from mednas.search.strategies import check_feasible_init, check_initial_design_strategies

    check_feasible_init(bool(search_cfg.get("feasible_init", False)), search_cfg.get("strategies") or ())
    check_initial_design_strategies(str(search_cfg.get("initial_design", "random")), search_cfg.get("strategies") or ())


def _variables(space, g) -> dict[str, Any]:
    genes = g.to_dict()
    return {n: genes[n] for n in space.variables()}


def run_surrogate(pool: CandidatePool, s) -> dict[str, Any]:
    """Algorithm 1 on ``pool`` with strategy settings ``s`` (its ``surrogate`` section)."""
    from mednas.search.strategies import _distinct_new

    ss = SurrogateSettings.from_config(s.surrogate)
    objectives, space = pool.objectives, pool.space
    if objectives.relative:
        raise ConfigError("search strategy surrogate predicts trained accuracy; objectives [mstf] have none")
    quality = [i for i, n in enumerate(objectives.names) if COLUMN[n] not in COST_METRICS]
    costs = [COLUMN[n] for n in objectives.names if COLUMN[n] in COST_METRICS]
    if not quality:
        raise ConfigError(f"search strategy surrogate: objectives {list(objectives.names)} have no accuracy "
                          "objective to predict")
    # the paper spreads over latency; a space without a look-up table has params and FLOPs only
    offered = getattr(pool.cost, "columns", COST_METRICS)
    spread = ss.spread or (costs[0] if costs else "latency_ms" if "latency_ms" in offered else offered[0])
    rng = random.Random(s.seed)
    encoding = OneHotEncoding(space)
    synthetic = encoding.encode([space.sample(rng) for _ in range(ss.synthetic_pool)])

    gen = 1
    parents = pool.evaluate(_distinct_new(pool, min(ss.initial or s.population, pool.remaining),
                                          lambda: space.sample(rng)), gen, "init")
    pool.end_generation(gen)
    # the inner NSGA-II meets hundreds of genotypes a generation: cost only the columns it reads
    needed = tuple(c for c in COST_METRICS if c in {*costs, *objectives.budgets, spread})
    history: list[dict[str, Any]] = []
    while pool.remaining > 0 and gen < s.max_generations:
        gen += 1
        labelled = [r for r in pool.records() if all(np.isfinite(float(r[COLUMN[objectives.names[q]]]))
                                                     for q in quality)]
        if len(labelled) < 3:
            raise ConfigError(f"search strategy surrogate: {len(labelled)} candidates with measured accuracy after "
                              "the initial population; raise search.surrogate.initial (or relax skip_over_budget)")
        X = encoding.encode([pool.genotype(r) for r in labelled])
        F = objectives.matrix(labelled)
        models = [make_predictor(ss.predictor, s.seed * 1000 + gen, ss.ranknet).fit(X, -F[:, q], synthetic)
                  for q in quality]

        def predict(genotypes) -> np.ndarray:
            """(n, len(quality)) predicted scores, higher = better."""
            enc = encoding.encode(genotypes)
            return np.stack([m.predict(enc) for m in models], axis=1)

        def cost(g) -> dict[str, float]:
            known = pool.seen.get(g.key())
            return {c: float(known[c]) for c in needed} if known else pool.cost_of(g, needed)

        proposals = _inner_nsga2(pool, ss, parents, predict, cost, quality, seed=s.seed * 1000 + gen)
        if not proposals:
            log.info("surrogate: NSGA-II on the surrogates proposed nothing new in generation %d; the search ends", gen)
            break
        k = min(ss.k, pool.remaining)
        predicted = predict(proposals).mean(axis=1)
        if ss.prescreen == "hierarchical":
            front, _ = pool.front(parents)
            anchors = [float(r[spread]) for r in front]
            picks = hierarchical_prescreen([cost(g)[spread] for g in proposals], predicted, k, anchors,
                                           seed=s.seed * 1000 + gen)
        else:
            picks = np.argsort(-predicted, kind="stable")[:k].tolist()
        records = pool.evaluate([proposals[i] for i in picks], gen, "surrogate")
        true = -objectives.matrix(records)[:, quality].mean(axis=1)
        tau = correlations(predicted[picks], true)["kendall"]
        history.append({"generation": gen, "train_samples": len(labelled), "proposed": len(proposals),
                        "evaluated": len(records), "kendall_on_evaluated": None if np.isnan(tau) else round(tau, 4)})
        merged = list({r["key"]: r for r in parents + records}.values())
        Fm, cv = pool.matrix(merged)
        parents = [merged[i] for i in survival_order(Fm, cv)[:s.population]]
        pool.end_generation(gen)
    pool.set_population(parents)
    return {"generations": gen, "predictor": ss.predictor, "prescreen": ss.prescreen, "spread": spread,
            "per_generation": history}


def _inner_nsga2(pool: CandidatePool, ss: SurrogateSettings, parents, predict, cost, quality: list[int],
                 seed: int) -> list:
    """NSGA-II on predicted accuracy and true costs, started from ``parents``; its final population's
    genotypes not yet evaluated, non-dominated first, at least ``ss.k`` where the population has them."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mixed import MixedVariableDuplicateElimination, MixedVariableMating
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    space, objectives = pool.space, pool.objectives

    def decode(x) -> Any:
        return space.validate(space.repair(space.from_variables(x)))

    def matrix(genotypes) -> tuple[np.ndarray, np.ndarray | None]:
        rows = [{**{COLUMN[n]: float("nan") for n in objectives.names}, **cost(g)} for g in genotypes]
        F = objectives.matrix(rows)
        F[:, quality] = 1.0 - predict(genotypes)
        G = objectives.constraints(rows) if objectives.n_constr else None
        return F, G

    class Surrogates(Problem):
        def __init__(self):
            super().__init__(vars=space.variables(), n_obj=objectives.n_obj, n_ieq_constr=objectives.n_constr)

        def _evaluate(self, X, out, *args, **kwargs):
            F, G = matrix([decode(x) for x in X])
            out["F"] = F
            if G is not None:
                out["G"] = G

    rng = random.Random(seed)
    start = {r["key"]: _variables(space, pool.genotype(r)) for r in parents}
    for _ in range(20 * ss.inner_population):
        if len(start) >= ss.inner_population:
            break
        g = space.sample(rng)
        start.setdefault(g.key(), _variables(space, g))
    sampling = Population.new("X", list(start.values()))
    algorithm = NSGA2(pop_size=ss.inner_population, sampling=sampling,
                      mating=MixedVariableMating(eliminate_duplicates=MixedVariableDuplicateElimination()),
                      eliminate_duplicates=MixedVariableDuplicateElimination())
    res = minimize(Surrogates(), algorithm, ("n_gen", ss.inner_generations), seed=seed, verbose=False)
    final = [decode(x) for x in res.pop.get("X")]
    # the objective rows and violations pymoo already computed for the final population
    F, cv = res.pop.get("F"), res.pop.get("CV").reshape(-1)
    feasible = np.flatnonzero(cv <= 0)
    front = set(feasible[non_dominated(F[feasible])].tolist()) if len(feasible) else set()
    out, seen = [], set()
    for i in survival_order(F, cv):  # the feasible non-dominated set first
        g = final[i]
        if g.key() in seen or pool.known(g):
            continue
        if i not in front and len(out) >= ss.k:
            break
        seen.add(g.key())
        out.append(g)
    return out
