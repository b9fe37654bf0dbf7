"""Paired statistics of per-patient scores: t-test, Wilcoxon signed-rank, and their effect sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def rank_biserial(differences: Sequence[float]) -> float:
    """Matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-) over the non-zero differences.

    +1: every patient is better under the first sample; -1: every patient worse; NaN when all tie.
    """
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(d))
    w_plus, w_minus = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((w_plus - w_minus) / (w_plus + w_minus))


def cohens_dz(differences: Sequence[float]) -> float:
    """Cohen's d for paired samples: mean difference over the standard deviation of the differences."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        return float("nan")
    sd = d.std(ddof=1)
    if sd == 0:
        return float("nan") if d.mean() == 0 else float(np.sign(d.mean()) * np.inf)
    return float(d.mean() / sd)


def paired_tests(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Two-sided paired t-test and Wilcoxon signed-rank test of ``a`` against ``b`` (same patients, same order).

    Wilcoxon drops zero differences (Wilcoxon's own convention) and uses the exact null
    distribution where scipy can (small samples without ties). Where every difference is zero
    neither test is defined: statistics and p-values are NaN and ``note`` says why.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired samples must be two equal-length 1-D sequences, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError(f"paired tests need at least 2 pairs, got {x.size}")
    d = x - y
    out: dict[str, Any] = {"n": int(x.size), "mean_a": float(x.mean()), "mean_b": float(y.mean()),
                           "mean_difference": float(d.mean()), "cohens_dz": cohens_dz(d),
                           "rank_biserial": rank_biserial(d), "note": ""}
    nan = float("nan")
    if np.all(d == 0):
        return out | {"t_statistic": nan, "t_p_value": nan, "wilcoxon_statistic": nan, "wilcoxon_p_value": nan,
                      "note": "identical per-patient scores: no test"}
    if d.std(ddof=1) == 0:
        out |= {"t_statistic": float(np.sign(d.mean()) * np.inf), "t_p_value": 0.0}
    else:
        t = stats.ttest_rel(x, y)
        out |= {"t_statistic": float(t.statistic), "t_p_value": float(t.pvalue)}
    w = stats.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
    out |= {"wilcoxon_statistic": float(w.statistic), "wilcoxon_p_value": float(w.pvalue)}
    return out


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values for comparing several models with one.

    Hand-written because scipy offers only Benjamini-Hochberg (``false_discovery_control``) and
    statsmodels, which has Holm, is not a dependency; the rule is a few lines: sort the m
    p-values, multiply the k-th smallest by (m - k), keep the running maximum, cap at 1. A NaN
    p-value (identical scores: no test possible) counts among the m comparisons as p = 1, so
    that it cannot weaken the correction of the others, and stays NaN in the result.
    """
    p = np.asarray(p_values, dtype=float)
    filled = np.where(np.isnan(p), 1.0, p)
    m = p.size
    out = np.empty(m)
    running = 0.0
    for k, i in enumerate(np.argsort(filled, kind="stable")):
        running = max(running, min(1.0, (m - k) * filled[i]))
        out[i] = running
    out[np.isnan(p)] = np.nan
    return out.tolist()
