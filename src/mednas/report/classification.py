"""MSTF-NAS's tables for one MedMNIST subset: II (test ACC), III (test AUC), IV (search minutes).

Measured rows first, one per model, aggregated over its retraining seeds (mean and sample SD,
every seed's value listed); then the paper's rows for the same subset, copied unchanged from
``config/paper/`` and marked ``source=paper``. The paper reports one run per cell, so its rows
leave ``*_sd`` and ``seeds`` empty. Units: ``flops_m_2xmacs`` is 2 x multiply-accumulates in
millions at the trained input size (torch's counter); the paper prints "FLOPs (M)" without saying
which convention, so no paper row fills that column.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mednas.errors import ConfigError, DataError
from mednas.models.registry import BASELINES
from mednas.search.objectives import parse_variant

METRIC_COLUMNS = ("method", "model", "source", "dataset", "{m}", "{m}_sd", "seeds", "{m}_per_seed", "params_m",
                  "flops_m_2xmacs", "image_size", "epochs", "device", "note")
SEARCH_COLUMNS = ("method", "strategy", "source", "dataset", "search_minutes", "candidates", "candidates_per_minute",
                  "device", "note")

STRATEGY_NAMES = {"nsga2": "MSTF-NAS (NSGA-II, training-free)", "random": "Random search (training-free pick)",
                  "ga": "GA (training-free)", "moead_sa": "MOEA/D + SA (training-free)"}


def model_label(model: str, strategy_names: Mapping[str, str] = STRATEGY_NAMES) -> str:
    """The display name of ``nas-<strategy>`` (from ``strategy_names``) or a baseline."""
    if model.startswith("nas-"):
        return strategy_names.get(model[4:], model)
    return BASELINES[model][0] if model in BASELINES else model


def paper_rows(path: str | Path | None, flag: str, column: str) -> list[dict[str, Any]]:
    """The paper's rows for subset ``flag`` (its column copied as ``column``)."""
    if path is None:
        return []
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or flag not in rows[0]:
        raise DataError(f"{path}: no column '{flag}' (the experiment's dataset.flag); columns: "
                        f"{list(rows[0]) if rows else []}")
    return [{"method": r["method"], "source": "paper", "dataset": flag, column: r[flag],
             "note": "as printed in the paper (one run; the paper's data: official MedMNIST v2)"}
            for r in rows if r[flag] not in ("", None)]


def metric_table(metrics: Mapping[str, Sequence[Mapping[str, Any]]], metric: str, flag: str,
                 paper: str | Path | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and columns of the ACC (``metric='acc'``) or AUC table: measured, then the paper's."""
    columns = [c.format(m=metric) for c in METRIC_COLUMNS]
    rows = []
    for model, runs in metrics.items():
        if not runs:
            raise DataError(f"model {model}: no retraining run to report")
        values = [float(r[f"test_{metric}"]) for r in runs]
        first = runs[0]
        rows.append({
            "method": model_label(model), "model": model, "source": "measured", "dataset": flag,
            metric: round(statistics.fmean(values), 4),
            f"{metric}_sd": round(statistics.stdev(values), 4) if len(values) > 1 else "",
            "seeds": " ".join(str(r["seed"]) for r in runs),
            f"{metric}_per_seed": " ".join(f"{v:.4f}" for v in values),
            "params_m": round(float(first["params"]) / 1e6, 4), "flops_m_2xmacs": round(float(first["flops"]) / 1e6, 3),
            "image_size": first["image_size"], "epochs": first["epochs"], "device": first["device"],
            "note": "test split, weights of the epoch with the best validation AUC; mean and sample SD over seeds",
        })
    return rows + paper_rows(paper, flag, metric), columns


def search_table(costs: Mapping[str, Mapping[str, Any]], flag: str,
                 paper: str | Path | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Table IV: search wall minutes of each strategy (training-free: no supernet, no training)."""
    rows = [{"method": STRATEGY_NAMES.get(s, s), "strategy": s, "source": "measured", "dataset": flag,
             "search_minutes": round(float(c["search_seconds"]) / 60, 2), "candidates": c["candidates"],
             "candidates_per_minute": c["candidates_per_minute"], "device": c["device_name"],
             "note": "whole search: indicator pair, params and FLOPs of every candidate"} for s, c in costs.items()]
    reported = [{**r, "device": "one DGX A100 GPU (the paper's)"} for r in paper_rows(paper, flag, "search_minutes")]
    return rows + reported, list(SEARCH_COLUMNS)


def pick_scores(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An ablation's pick over its retraining runs: test ACC and AUC (mean, sample SD over seeds),
    the seeds, params and 2 x MACs."""
    acc = [float(r["test_acc"]) for r in runs]
    auc = [float(r["test_auc"]) for r in runs]
    return {"acc": round(statistics.fmean(acc), 4), "acc_sd": round(statistics.stdev(acc), 4) if len(acc) > 1 else "",
            "auc": round(statistics.fmean(auc), 4), "auc_sd": round(statistics.stdev(auc), 4) if len(auc) > 1 else "",
            "seeds": " ".join(str(r["seed"]) for r in runs),
            "params_m": round(float(runs[0]["params"]) / 1e6, 4),
            "flops_m_2xmacs": round(float(runs[0]["flops"]) / 1e6, 3)}


ABLATION_COLUMNS = ("pair", "source", "dataset", "acc", "acc_sd", "auc", "auc_sd", "seeds", "params_m",
                    "flops_m_2xmacs", "params_mb", "note")


def ablation_table(metrics: Mapping[str, Sequence[Mapping[str, Any]]], flag: str,
                   paper: str | Path | None) -> list[dict[str, Any]]:
    """Table VIII: per indicator pair, test ACC and AUC of the pick (mean, SD over seeds); then the
    paper's rows, which are averages over the 12 MedMNIST subsets (the paper has no per-subset ones)."""
    rows = []
    for pair, runs in metrics.items():
        rows.append({"pair": pair, "source": "measured", "dataset": flag, **pick_scores(runs),
                     "note": "NSGA-II with this pair as (p1, p2) of Eq. 5; pick retrained per seed"})
    if paper is not None:
        with open(paper, newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append({"pair": r["pair"], "source": "paper", "dataset": "MedMNIST (12-subset average)",
                             "acc": r["acc"], "auc": r["auc"], "params_mb": r["params_mb"],
                             "note": "as printed: the average over the 12 MedMNIST subsets, not this subset"})
    return rows


OBJECTIVES_COLUMNS = ("variant", "construction", "indicators", "source", "dataset", "acc", "acc_sd", "auc", "auc_sd",
                      "seeds", "params_m", "flops_m_2xmacs", "flops_m", "params_mb", "note")
CONSTRUCTION_NOTES = {
    "eq5": "Eq. 5: f1 = -p1 - FLOPs, f2 = -p2 + FLOPs (the experiment's own NSGA-II pick)",
    "no_flops": "f1 = -p1, f2 = -p2 (no FLOPs)",
    "flops_sum": "f1 = -(mean of the indicators), f2 = FLOPs",
}


def objectives_table(metrics: Mapping[str, Sequence[Mapping[str, Any]]], flag: str,
                     paper: str | Path | None) -> list[dict[str, Any]]:
    """MSTF-NAS Table IX: per objective construction (``"<construction>-p1[+p2]"``), test ACC and AUC
    of the NSGA-II pick (mean, SD over seeds), params and FLOPs; then the paper's rows (12-subset
    averages, its FLOPs column in its own unit)."""
    rows = []
    for variant, runs in metrics.items():
        try:
            construction, names = parse_variant(variant)
        except ConfigError as err:
            raise DataError(str(err)) from None
        construction = construction or "eq5"
        if not runs:
            raise DataError(f"objective variant '{variant}': no retrained run")
        rows.append({"variant": variant, "construction": construction, "indicators": "+".join(names),
                     "source": "measured", "dataset": flag, **pick_scores(runs),
                     "note": CONSTRUCTION_NOTES[construction] + "; pick retrained per seed"})
    if paper is not None:
        with open(paper, newline="") as fh:
            reader = csv.DictReader(fh)
            want = ["variant", "auc", "acc", "flops_m", "params_mb", "source"]
            if reader.fieldnames != want:
                raise DataError(f"{paper}: columns {reader.fieldnames}, expected {want}")
            for r in reader:
                if r["source"] != "paper":
                    raise DataError(f"{paper}: row {r['variant']!r} is not marked source=paper")
                rows.append({"variant": r["variant"], "source": "paper", "dataset": "MedMNIST (12-subset average)",
                             "acc": r["acc"], "auc": r["auc"], "flops_m": r["flops_m"], "params_mb": r["params_mb"],
                             "note": "as printed: the average over the 12 MedMNIST subsets, not this subset"})
    return rows


SPACES_COLUMNS = ("space", "space_kind", "source", "dataset", "acc", "acc_sd", "auc", "auc_sd", "seeds", "params_m",
                  "flops_m_2xmacs", "candidates", "search_minutes", "pick", "note")


def spaces_table(metrics: Mapping[str, Sequence[Mapping[str, Any]]], chosen: Mapping[str, Mapping[str, Any]],
                 costs: Mapping[str, Mapping[str, Any]], flag: str, paper: str | Path | None) -> list[dict[str, Any]]:
    """MSTF-NAS Table X: per search space, the random-search pick (the best by the indicator sum of
    Eq. 5 among the space's candidates) retrained per seed, test ACC and AUC (mean, SD over seeds);
    then the paper's rows (12-subset averages)."""
    rows = []
    for space, runs in metrics.items():
        if not runs:
            raise DataError(f"search space '{space}': no retrained run")
        if space not in chosen or space not in costs:
            raise DataError(f"search space '{space}': no chosen.json / cost.json of its search")
        pick, cost = chosen[space], costs[space]
        rows.append({"space": space, "space_kind": pick["spec"]["kind"], "source": "measured", "dataset": flag,
                     **pick_scores(runs), "candidates": cost["candidates"],
                     "search_minutes": round(float(cost["search_seconds"]) / 60, 2), "pick": pick["key"],
                     "note": "random search, pick by the highest indicator sum (Eq. 5's p1 + p2); retrained per seed"})
    if paper is not None:
        with open(paper, newline="") as fh:
            reader = csv.DictReader(fh)
            want = ["space", "auc", "acc", "source"]
            if reader.fieldnames != want:
                raise DataError(f"{paper}: columns {reader.fieldnames}, expected {want}")
            for r in reader:
                if r["source"] != "paper":
                    raise DataError(f"{paper}: row {r['space']!r} is not marked source=paper")
                rows.append({"space": r["space"], "source": "paper", "dataset": "MedMNIST (12-subset average)",
                             "acc": r["acc"], "auc": r["auc"],
                             "note": "as printed: the average over the 12 MedMNIST subsets, not this subset"})
    return rows


def average_columns(key: str) -> tuple[str, ...]:
    """Columns of an ablation table averaged over subsets, ``key`` naming its rows (space, variant)."""
    return (key, "source", "datasets", "n_datasets", "acc", "auc", "acc_per_dataset", "auc_per_dataset", "note")


def subsets_average(tables: Mapping[str, Sequence[Mapping[str, Any]]], key: str,
                    paper: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """An ablation table as the paper prints it (Tables IX, X: averages over the MedMNIST subsets): each
    row ``key`` names, its test ACC and AUC averaged over data sets (the measured rows of every
    subset's table, each already a mean over seeds); then the ``paper`` rows. Every row must be
    measured on every data set."""
    measured = {name: [r for r in rows if r["source"] == "measured"] for name, rows in tables.items()}
    if not measured:
        raise DataError(f"average over subsets: no table of {key}s")
    names = [r[key] for r in next(iter(measured.values()))]
    for name, rows in measured.items():
        if sorted(r[key] for r in rows) != sorted(names):
            raise DataError(f"average over subsets: {name} has {key}s {sorted(r[key] for r in rows)}, another "
                            f"subset {sorted(names)}: an average needs the same {key}s everywhere")
    out = []
    for item in names:
        per = {next(r["dataset"] for r in rows): next(r for r in rows if r[key] == item) for rows in measured.values()}
        acc = [float(r["acc"]) for r in per.values()]
        auc = [float(r["auc"]) for r in per.values()]
        out.append({key: item, "source": "measured", "datasets": " ".join(per), "n_datasets": len(per),
                    "acc": round(statistics.fmean(acc), 4), "auc": round(statistics.fmean(auc), 4),
                    "acc_per_dataset": " ".join(f"{a:.4f}" for a in acc),
                    "auc_per_dataset": " ".join(f"{a:.4f}" for a in auc),
                    "note": "mean over the data sets of each one's mean over seeds"})
    return out + [dict(r) for r in paper]


def paper_average_rows(path: str | Path | None, key: str) -> list[dict[str, Any]]:
    """The paper's rows of an ablation table (its 12-subset averages) as :func:`subsets_average` writes them."""
    if path is None:
        return []
    with open(path, newline="") as fh:
        return [{key: r[key], "source": "paper", "datasets": "MedMNIST (12 subsets)", "n_datasets": 12,
                 "acc": r["acc"], "auc": r["auc"], "note": "as printed: the average over the 12 MedMNIST subsets"}
                for r in csv.DictReader(fh)]
