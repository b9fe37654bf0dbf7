"""Initial populations that cover every gene's values evenly (``search.initial_design: balanced``).

A random initial population of 20 under tight budgets covers the space unevenly, and the evolution
can only recombine what its first generation holds. A balanced design picks the population from many
random draws (within the budgets when ``feasible_init`` is on) so that each value of each gene
appears about equally often, in the way a Latin hypercube stratifies each axis. pymoo's
LatinHypercubeSampling covers real boxes only and knows no budgets, and scikit-learn / scipy's
samplers neither, so the selection is written here: a greedy pass that always adds the draw whose
gene values are the least represented so far.

The budgeted costs (params, FLOPs, latency: known before training) are stratified as well, over
the range the draws span: the networks that use most of a budget are rare among random feasible
draws, and on acdc_cpu they are the ones that match the U-Net (4-stage 3x3 networks of 12 or more
filters). benchmarks/initial_design.py, config/acdc_cpu.yaml, search seeds 0-4 (2026-12-05),
medians over the seeds, random against balanced: imbalance of the genes 17.2 against 6.1; members
above 75 % of the FLOPs budget 2 against 5, of the latency budget 1 against 4; 4-stage 3x3
12+-filter networks 2 against 3, with ReLU 0 against 1 (present in 1 against 3 of the 5 seeds).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from mednas.errors import ConfigError

INITIAL_DESIGNS = ("random", "balanced")
DRAWS_PER_MEMBER = 10  # the balanced design chooses among this many distinct draws per member
REAL_BINS = 4          # a real gene is stratified into this many equal-width bins


def check_initial_design(name: str) -> str:
    """``name`` if it is a known initial design, else a clear error."""
    if name not in INITIAL_DESIGNS:
        raise ConfigError(f"search.initial_design must be one of {list(INITIAL_DESIGNS)}, got {name!r}")
    return name


def gene_bin(var: Any, value: Any) -> Any:
    """The stratum of ``value`` for pymoo variable ``var``: a choice or integer is its own stratum,
    a real falls in one of ``REAL_BINS`` equal-width bins of its bounds."""
    from pymoo.core.variable import Real

    if isinstance(var, Real):
        lo, hi = var.bounds
        return min(REAL_BINS - 1, int((float(value) - lo) / (hi - lo) * REAL_BINS)) if hi > lo else 0
    return value


def n_bins(var: Any) -> int:
    """How many strata variable ``var`` has."""
    from pymoo.core.variable import Choice, Integer, Real

    if isinstance(var, Real):
        return REAL_BINS
    if isinstance(var, Integer):
        return int(var.bounds[1]) - int(var.bounds[0]) + 1
    if isinstance(var, Choice):
        return len(var.options)
    raise TypeError(f"unsupported pymoo variable {type(var).__name__}")


def imbalance(genes: Sequence[Mapping[str, Any]], variables: Mapping[str, Any]) -> float:
    """How unevenly ``genes`` cover ``variables``: the sum over genes of the squared deviations of each
    stratum's count (empty strata included) from an even share, per member; 0 is perfectly even."""
    n, total = len(genes), 0.0
    for name, var in variables.items():
        counts: dict[Any, int] = {}
        for g in genes:
            b = gene_bin(var, g[name])
            counts[b] = counts.get(b, 0) + 1
        k = n_bins(var)
        total += (sum((c - n / k) ** 2 for c in counts.values()) + (k - len(counts)) * (n / k) ** 2) / n
    return total


def with_cost_strata(genes: Sequence[Mapping[str, Any]], variables: Mapping[str, Any],
                     costs: Sequence[Mapping[str, float]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``genes`` and ``variables`` extended by each cost column of ``costs`` (one row per genotype) as a
    real stratum spanning the draws' range; a constant cost is left out (it has one stratum)."""
    from pymoo.core.variable import Real

    rows, var = [dict(g) for g in genes], dict(variables)
    for column in (costs[0] if costs else {}):
        values = [float(c[column]) for c in costs]
        if max(values) > min(values):
            var[f"cost:{column}"] = Real(bounds=(min(values), max(values)))
            for row, v in zip(rows, values):
                row[f"cost:{column}"] = v
    return rows, var


def balanced_subset(genes: Sequence[Mapping[str, Any]], variables: Mapping[str, Any], n: int,
                    rng: random.Random) -> list[int]:
    """Indices of ``n`` of ``genes`` (gene dicts keyed by ``variables``' names) chosen greedily so that
    each gene's strata are as evenly represented as the draws allow.

    Each step adds the draw with the smallest sum over genes of (count of its stratum so far x the
    gene's number of strata), i.e. the one whose values are the most under-represented relative to
    an even share; ties are broken at random, so the design is reproducible from ``rng``.
    """
    if n > len(genes):
        raise ValueError(f"a balanced design of {n} needs at least {n} draws, got {len(genes)}")
    bins = [{name: gene_bin(var, g[name]) for name, var in variables.items()} for g in genes]
    width = {name: n_bins(var) for name, var in variables.items()}
    counts: dict[str, dict[Any, int]] = {name: {} for name in variables}
    left = list(range(len(genes)))
    rng.shuffle(left)  # random tie-breaking: the first of equal scores in a shuffled order
    chosen: list[int] = []
    for _ in range(n):
        best = min(left, key=lambda i: sum(counts[k].get(b, 0) * width[k] for k, b in bins[i].items()))
        left.remove(best)
        chosen.append(best)
        for k, b in bins[best].items():
            counts[k][b] = counts[k].get(b, 0) + 1
    return chosen
