"""MoSegNAS's predictor comparison (seed 004): Table V and Fig. 9.

Every predictor is trained on N samples whose targets are inherited-weight scores (the
supernet's), drawn at random from a pool, and tested on networks trained stand-alone (the
ground truth): Pearson r, Spearman rho and Kendall tau of its predictions against the trained
scores, mean and SD over repeated draws, for several N (Fig. 9: tau against N). Measured rows
first, then the paper's (Cityscapes mIoU, N = 1000, 31 runs), marked ``source=paper``.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mednas.errors import DataError
from mednas.search.predictors import correlations, make_predictor

METRICS = ("pearson", "spearman", "kendall")
COLUMNS = ("method", "source", "n_train", "runs", "pearson", "pearson_sd", "spearman", "spearman_sd", "kendall",
           "kendall_sd", "seconds", "n_test", "target", "note")
LABELS = {"ranknet": "RankNet", "rbf": "RBF", "kriging": "Kriging", "svr": "SVR", "dt": "DT", "gb": "GB"}


def compare_predictors(X_pool: np.ndarray, y_pool: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                       sizes: Sequence[int], repeats: int, methods: Sequence[str], seed: int = 0,
                       X_synthetic: np.ndarray | None = None, ranknet: Mapping[str, Any] | None = None,
                       progress=None) -> list[dict[str, Any]]:
    """One row per (N, repeat, method): the correlations on the test set and the fit's seconds.

    Repeat ``r`` of size ``N`` draws the same N training samples for every method."""
    rng = np.random.default_rng(seed)
    too_big = [n for n in sizes if n > len(X_pool)]
    if too_big:
        raise DataError(f"training sizes {too_big} exceed the {len(X_pool)} samples in the pool")
    runs = []
    for n in sizes:
        for r in range(repeats):
            idx = rng.choice(len(X_pool), size=n, replace=False)
            for m in methods:
                t0 = time.perf_counter()
                model = make_predictor(m, seed * 1000 + r, ranknet).fit(X_pool[idx], y_pool[idx], X_synthetic)
                pred = model.predict(X_test)
                runs.append({"method": m, "n_train": n, "repeat": r, **correlations(pred, y_test),
                             "seconds": time.perf_counter() - t0})
                if progress:
                    progress(runs[-1])
    return runs


def summarise(runs: Sequence[Mapping[str, Any]], n_test: int, target: str, note: str = "") -> list[dict[str, Any]]:
    """Mean and SD over repeats per (method, N), in the order first seen."""
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for row in runs:
        groups.setdefault((row["method"], int(row["n_train"])), []).append(row)
    out = []
    for (method, n), rows in groups.items():
        row: dict[str, Any] = {"method": LABELS.get(method, method), "source": "measured", "n_train": n,
                               "runs": len(rows), "n_test": n_test, "target": target, "note": note}
        for m in METRICS:
            v = [float(r[m]) for r in rows if np.isfinite(r[m])]
            row[m] = round(statistics.fmean(v), 4) if v else float("nan")
            row[f"{m}_sd"] = round(statistics.stdev(v), 4) if len(v) > 1 else float("nan")
        row["seconds"] = round(statistics.median(float(r["seconds"]) for r in rows), 3)
        out.append(row)
    return out


def paper_rows(path: str | Path | None) -> list[dict[str, Any]]:
    """The paper's Table V rows from ``config/paper/mosegnas_table5.csv``, marked ``source=paper``."""
    if not path:
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = sorted(set(COLUMNS) - {"source"} - set(rows[0] if rows else {}))
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    return [{**{k: r[k] for k in COLUMNS if k != "source"}, "source": "paper"} for r in rows]


def write_table(path: str | Path, measured: Sequence[Mapping[str, Any]], paper: Sequence[Mapping[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for row in [*measured, *paper]:
            w.writerow({k: row.get(k, "") for k in COLUMNS})


def plot_fig9(summary: Sequence[Mapping[str, Any]], path: str | Path, title: str) -> None:
    """Kendall tau (mean +- SD over repeats) against the number of training samples, per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    methods = list(dict.fromkeys(r["method"] for r in summary if r["source"] == "measured"))
    for m in methods:
        rows = sorted((r for r in summary if r["method"] == m and r["source"] == "measured"), key=lambda r: r["n_train"])
        if len({r["n_train"] for r in rows}) < 2:  # a reference line (e.g. the supernet itself), not a curve
            ax.axhline(rows[0]["kendall"], ls="--", color="grey", lw=1, label=m)
            continue
        n = [r["n_train"] for r in rows]
        mean, sd = np.array([r["kendall"] for r in rows]), np.nan_to_num([r["kendall_sd"] for r in rows])
        ax.errorbar(n, mean, yerr=sd, marker="o", capsize=3, label=m, lw=2 if m == "RankNet" else 1)
    ax.set_xscale("log")
    ax.set_xlabel("training samples N (inherited-weight scores)")
    ax.set_ylabel("Kendall tau vs stand-alone training")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
