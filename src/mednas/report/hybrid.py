"""The hybrid MOEA/D + SA paper's tables (seed 003) for one classification data set.

- Table 3 (annealing): per SA start, parameters and cross-validated accuracy before (the
  MOEA/D record; ILP / IVA) and after annealing (FLP / FVA), the start also scored with the
  annealing's longer training where it has one.
- Table 4 (trials): per model, test accuracy over the retraining seeds: max, min, mean, SD.
- Table 5 (best trial): per model, the seed with the best validation accuracy, its test
  accuracy, precision, recall, F1 and Jaccard of the positive class (Eqs. 8-12).

Measured rows first; the paper's surviving figures (its tables' numbers are lost from the text,
its data differ: coronary stenosis patches) follow, marked ``source=paper``.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mednas.errors import DataError
from mednas.metrics.classification import binary_scores
from mednas.report import classification

STRATEGY_NAMES = {"moead_sa": "Hybrid MOEA/D + SA", "moead": "MOEA/D (no SA)", "nsga2": "NSGA-II",
                  "random": "Random search", "ga": "GA"}
SA_COLUMNS = ("method", "source", "dataset", "solution", "start_key", "final_key", "ilp", "flp", "iva", "iva_sa_budget",
              "fva", "fva_plain_acc", "moves_accepted", "best_improved", "note")
TRIAL_COLUMNS = ("method", "model", "source", "dataset", "params", "trials", "acc_max", "acc_min", "acc_mean", "acc_sd",
                 "acc_per_trial", "search_minutes", "epochs", "device", "note")
BEST_COLUMNS = ("method", "model", "source", "dataset", "params", "best_trial", "val_acc", "acc", "precision", "recall",
                "f1", "jaccard", "positive_class", "note")


def model_label(model: str) -> str:
    return classification.model_label(model, STRATEGY_NAMES)


def paper_rows(path: str | Path | None, table: str) -> list[dict[str, Any]]:
    """The paper's rows of ``table`` (column ``table`` of the CSV), marked as the paper's."""
    if path is None:
        return []
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"table", "method", "note"} - set(rows[0] if rows else {})
    if missing:
        raise DataError(f"{path}: columns {sorted(missing)} missing")
    return [{k: v for k, v in r.items() if k != "table" and v not in ("", None)} | {"source": "paper"}
            for r in rows if r["table"] == table]


def sa_table(chosen: Mapping[str, Any], archive: Sequence[Mapping[str, Any]], dataset: str,
             paper: str | Path | None) -> list[dict[str, Any]]:
    """Table 3 from the hybrid search's chosen.json (its annealing runs) and archive records."""
    runs = (chosen.get("strategy_info") or {}).get("sa")
    if not runs:
        raise DataError("the moead_sa search reports no annealing runs (strategy_info.sa in chosen.json)")
    by_key = {r["key"]: r for r in archive}
    rows = []
    for i, run in enumerate(runs, 1):
        try:
            start, best = by_key[run["start"]], by_key[run["best"]]
            rescored = by_key[run.get("start_rescored", run["start"])]
        except KeyError as err:
            raise DataError(f"annealing run {i}: record {err} is not in the archive") from None
        rows.append({"method": STRATEGY_NAMES["moead_sa"], "source": "measured", "dataset": dataset, "solution": i,
                     "start_key": run["start"], "final_key": run["best"], "ilp": int(start["params"]),
                     "flp": int(best["params"]), "iva": _score(start), "iva_sa_budget": _score(rescored),
                     "fva": _score(best), "fva_plain_acc": round(float(best["cv_acc"]), 4),
                     "moves_accepted": run["moves_accepted"], "best_improved": run["best_improved"],
                     "note": "cross-validated score on the training split, 1 - the search's error (search.kfold.metric): "
                             "IVA at MOEA/D's training budget, iva_sa_budget and FVA at the annealing's"})
    return rows + paper_rows(paper, "table3")


def _score(record: Mapping[str, Any]) -> float:
    return round(1.0 - float(record["cv_error"]), 4)


def trials_table(metrics: Mapping[str, Sequence[Mapping[str, Any]]], minutes: Mapping[str, float],
                 dataset: str, paper: str | Path | None) -> list[dict[str, Any]]:
    """Table 4: test accuracy over the retraining trials (seeds) of every model."""
    rows = []
    for model, runs in metrics.items():
        if not runs:
            raise DataError(f"model {model}: no retraining run to report")
        acc = [float(r["test_acc"]) for r in runs]
        strategy = model[4:] if model.startswith("nas-") else None
        rows.append({"method": model_label(model), "model": model, "source": "measured", "dataset": dataset,
                     "params": int(runs[0]["params"]), "trials": len(runs), "acc_max": round(max(acc), 4),
                     "acc_min": round(min(acc), 4), "acc_mean": round(statistics.fmean(acc), 4),
                     "acc_sd": round(statistics.stdev(acc), 4) if len(acc) > 1 else "",
                     "acc_per_trial": " ".join(f"{v:.4f}" for v in acc),
                     "search_minutes": round(minutes[strategy], 2) if strategy in minutes else "",
                     "epochs": runs[0]["epochs"], "device": runs[0]["device"],
                     "note": "test split; one trial per seed; sample SD"})
    return rows + paper_rows(paper, "table4")


def best_table(metrics: Mapping[str, Sequence[Mapping[str, Any]]], positive: int, class_name: str, dataset: str,
               paper: str | Path | None) -> list[dict[str, Any]]:
    """Table 5: the trial with the best validation accuracy of every model, scored on the test split."""
    rows = []
    for model, runs in metrics.items():
        best = max(runs, key=lambda r: (float(r["val_acc"]), -int(r["seed"])))
        if "test_pred" not in best:
            raise DataError(f"model {model} seed {best['seed']}: metrics.json holds no test predictions; "
                            "re-run its classify_train rule")
        scores = binary_scores(best["test_true"], best["test_pred"], positive)
        rows.append({"method": model_label(model), "model": model, "source": "measured", "dataset": dataset,
                     "params": int(best["params"]), "best_trial": f"seed {best['seed']}",
                     "val_acc": round(float(best["val_acc"]), 4), **{k: round(v, 4) for k, v in scores.items()},
                     "positive_class": f"{positive} ({class_name})",
                     "note": "the trial with the best validation accuracy, tested once"})
    return rows + paper_rows(paper, "table5")


def plot_fronts(path: str | Path, archives: Mapping[str, Sequence[Mapping[str, Any]]],
                chosen: Mapping[str, Mapping[str, Any]], dataset: str) -> None:
    """Cross-validated error against parameters: every candidate of each search, its front, its
    pick (the paper's Fig. 11, one panel for all strategies)."""
    import numpy as np

    from mednas.report.figures import _plt, pareto_mask

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, (strategy, records) in enumerate(archives.items()):
        colour = f"C{i}"
        for phase, marker in (("search", "o"), ("sa", "^")):
            rows = [r for r in records if (r.get("phase") == "sa") == (phase == "sa")]
            if not rows:
                continue
            p = np.array([float(r["params"]) for r in rows])
            e = np.array([float(r["cv_error"]) for r in rows])
            ax.scatter(p, e, s=12 if phase == "search" else 22, marker=marker, alpha=0.4, color=colour,
                       label=f"{STRATEGY_NAMES.get(strategy, strategy)}" + (" (annealing)" if phase == "sa" else ""))
        p = np.array([float(r["params"]) for r in records])
        e = np.array([float(r["cv_error"]) for r in records])
        m = pareto_mask(p, -e)
        order = np.argsort(p[m])
        ax.step(p[m][order], e[m][order], where="post", color=colour, lw=1)
        pick = chosen[strategy]["record"]
        ax.scatter([float(pick["params"])], [float(pick["cv_error"])], marker="*", s=180, color=colour,
                   edgecolor="k", zorder=5)
    ax.set_xscale("log")
    ax.set_xlabel("learnable parameters")
    ax.set_ylabel("cross-validated error (training split)")
    ax.set_title(f"{dataset}: candidates, fronts and picks (stars)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
