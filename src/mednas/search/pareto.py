"""Pareto front, hypervolume and final-pick rules on minimisation matrices (pymoo underneath)."""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

REFERENCE = 1.1  # hypervolume reference point on every normalised objective


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``F`` no other row dominates (ties all kept), ascending."""
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    return np.sort(NonDominatedSorting().do(np.asarray(F, float), only_non_dominated_front=True))


def hypervolume(F: np.ndarray, reference: float = REFERENCE) -> float:
    """Hypervolume dominated by ``F`` up to the point (reference, ..., reference)."""
    F = np.asarray(F, float)
    if len(F) == 0:
        return 0.0
    return float(HV(ref_point=np.full(F.shape[1], reference))(F))


def fronts_and_crowding(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-domination rank (0 best) and crowding distance of each row."""
    n = len(F)
    rank, crowd = np.zeros(n, dtype=int), np.zeros(n)
    for r, front in enumerate(NonDominatedSorting().do(np.asarray(F, float))):
        rank[front] = r
        crowd[front] = calc_crowding_distance(F[front]) if len(front) > 2 else np.inf
    return rank, crowd


def survival_order(F: np.ndarray, violation: np.ndarray) -> np.ndarray:
    """Indices best first: feasible by (rank, -crowding), then infeasible by violation (Deb's rules)."""
    violation = np.asarray(violation, float)
    feasible = np.flatnonzero(violation <= 0)
    infeasible = np.flatnonzero(violation > 0)
    order = []
    if len(feasible):
        rank, crowd = fronts_and_crowding(F[feasible])
        order += list(feasible[np.lexsort((-crowd, rank))])
    order += list(infeasible[np.argsort(violation[infeasible], kind="stable")])
    return np.array(order, dtype=int)


def _front_normalised(F: np.ndarray) -> np.ndarray:
    lo, hi = F.min(axis=0), F.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (F - lo) / span


def knee(F: np.ndarray) -> int:
    """Row of a front with the largest bulge towards the ideal point.

    The front is min-max normalised per objective; the knee minimises the sum of the
    normalised objectives, i.e. lies furthest below the plane through the extremes (in 2-D,
    the point furthest from the line joining the two end points). Ties (a straight front):
    the one nearest the ideal point, then the first row.
    """
    Z = _front_normalised(np.asarray(F, float))
    return int(np.lexsort((np.linalg.norm(Z, axis=1), np.round(Z.sum(axis=1), 12)))[0])


def closest_to_ideal(F: np.ndarray) -> int:
    """Row nearest (Euclidean) to the ideal point of the min-max normalised front (003's rule)."""
    F = np.asarray(F, float)
    return int(np.argmin(np.linalg.norm(_front_normalised(F), axis=1)))
