"""MoSegNAS's hierarchical pre-screening (seed 004, Algorithm 4 and Eq. 8).

Of the candidates a surrogate search proposes, at most ``k`` get a true evaluation. They are
chosen first by the cheap, exactly known cost axis (the paper's latency): the subset whose
values, together with those of the parents' non-dominated set, lie closest to a uniform
spread, the distance being the Kolmogorov-Smirnov statistic against the uniform distribution
over the values' range. The paper solves this subset selection with a small binary genetic
algorithm whose operators keep the subset within ``k``; so does :func:`ks_subset` (pymoo's GA,
with a repair that drops surplus picks) where there are too many subsets to try them all. The slots it leaves free go to the best predicted
accuracy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np


def ks_uniform(values: Sequence[float], lo: float, hi: float) -> float:
    """Kolmogorov-Smirnov distance between the empirical distribution of ``values`` and U(lo, hi).

    The two-sided one-sample statistic, sup |F_n - F_U|, from its closed form over the sorted
    values; scipy's ``kstest`` gives the same number but its per-call overhead (about 1 ms)
    dominated the subset GA, which computes thousands.
    """
    v = np.sort(np.asarray(values, float))
    n = v.size
    if n == 0:
        return 1.0
    if hi <= lo:
        return 0.0
    cdf = np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    i = np.arange(1, n + 1)
    return float(max((i / n - cdf).max(), (cdf - (i - 1) / n).max()))


def ks_subset(candidates: Sequence[float], k: int, anchors: Sequence[float] = (), seed: int = 0,
              pop_size: int = 20, generations: int = 30,
              exhaustive_limit: int = 4096) -> list[int]:
    """Indices (sorted) of at most ``k`` of ``candidates`` minimising Eq. 8: the KS distance of the
    chosen values plus ``anchors`` (the parents' front) to the uniform over the range of all values."""
    from pymoo.algorithms.soo.nonconvex.ga import GA
    from pymoo.core.problem import Problem
    from pymoo.core.repair import Repair
    from pymoo.operators.crossover.pntx import TwoPointCrossover
    from pymoo.operators.mutation.bitflip import BitflipMutation
    from pymoo.operators.sampling.rnd import BinaryRandomSampling
    from pymoo.optimize import minimize

    c, a = np.asarray(candidates, float), np.asarray(anchors, float)
    n = len(c)
    if k <= 0 or n == 0:
        return []
    if n <= k and not len(a):
        return list(range(n))
    everything = np.concatenate([c, a])
    lo, hi = float(everything.min()), float(everything.max())

    def distance(mask: np.ndarray) -> float:
        return ks_uniform(np.concatenate([c[mask], a]), lo, hi)

    subsets = sum(math.comb(n, j) for j in range(min(k, n) + 1))
    if subsets <= exhaustive_limit:
        # Few enough subsets to try them all: the exact optimum, where the GA would spend its
        # generations failing to breed offspring it has not seen.
        best, best_d = (), math.inf
        for j in range(min(k, n) + 1):
            for pick in itertools.combinations(range(n), j):
                mask = np.zeros(n, bool)
                mask[list(pick)] = True
                d = distance(mask)
                if d < best_d - 1e-12:
                    best, best_d = pick, d
        return sorted(best)

    class AtMostK(Repair):
        def _do(self, problem, X, **kwargs):
            X = X.astype(bool)
            for row in X:
                on = np.flatnonzero(row)
                if len(on) > k:  # keep the k that are spread most evenly: drop at random, seeded
                    row[np.random.default_rng(int(on.sum())).choice(on, len(on) - k, replace=False)] = False
            return X

    class Subset(Problem):
        def __init__(self):
            super().__init__(n_var=n, n_obj=1, xl=0, xu=1, vtype=bool)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.array([[distance(np.asarray(x, bool))] for x in X])

    res = minimize(Subset(), GA(pop_size=pop_size, sampling=BinaryRandomSampling(), crossover=TwoPointCrossover(),
                                mutation=BitflipMutation(), repair=AtMostK(), eliminate_duplicates=True),
                   ("n_gen", generations), seed=seed, verbose=False)
    best = np.asarray(res.X, bool).reshape(-1)
    return sorted(np.flatnonzero(best).tolist())


def hierarchical_prescreen(cost: Sequence[float], predicted: Sequence[float], k: int,
                           anchors: Sequence[float] = (), seed: int = 0) -> list[int]:
    """Algorithm 4: indices of ``k`` candidates, first a KS-uniform subset on ``cost`` (with the
    parents' front ``anchors``), then the rest by ``predicted`` accuracy, best first."""
    chosen = ks_subset(cost, k, anchors, seed)
    for i in np.argsort(-np.asarray(predicted, float), kind="stable"):
        if len(chosen) >= min(k, len(cost)):
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return chosen
