"""CardiacNAS Table II and III: measured rows from this run's summaries, reported rows from config/paper.

Measured and reported rows share the paper's columns but never a row: a reported number is
copied from ``config/paper/*.csv`` unchanged and marked ``source=paper``; a measured number
comes from ``summary.json`` files of this run and is marked ``source=measured``.

A model runs once per replicate (config key ``seeds``). Table II holds one measured row per
model: the mean over its replicates in the paper's columns, the sample SD beside them
(``<column>_sd``), every replicate's average Dice, and for a searched model the replicate
whose search reached the median final hypervolume (MoSegNAS reports the median of 5 runs).
``table2_runs.csv`` holds one row per model and replicate. Table III compares per-patient
scores averaged over the replicates.

Per-structure columns are named for the data set's labels (``dsc_<label>``, ``hd95_<label>``);
a paper table, where given, must report the same structures (CardiacNAS's MYO, RV, LV map from
ACDC's label names) and sets their order.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mednas.errors import DataError
from mednas.models.registry import BASELINES
from mednas.report.stats import holm, paired_tests

# Table II's columns around the per-structure ones (a paper's table has these and dsc_/hd95_ ones).
TABLE2_LEAD_COLUMNS = ("method", "mode")
TABLE2_TAIL_COLUMNS = ("params_m", "gflops", "gpu_days", "source", "dataset", "distance_unit", "reference")
# What this run adds for its own rows (empty on the paper's rows). Units: `gflops` holds what the
# paper's column holds, GMACs at the paper's input size (evaluate.paper_image_size; CardiacNAS: 224);
# gflops_2xmacs_at_input is 2 x MACs at this run's input size; costs per stage in device hours,
# each with the device it ran on; `gpu_days` is the search cost in the paper's definition.
# Over replicates only (Table II, not table2_runs.csv): the seeds, each one's Dice, the median run.
REPLICATE_COLUMNS = ("seeds", "dsc_avg_per_seed", "median_hv_seed")
TABLE2_EXTRA_COLUMNS = ("model", *REPLICATE_COLUMNS, "input_size", "gflops_2xmacs_at_input", "latency_ms",
                        "search_device_hours", "search_device", "retrain_device_hours", "retrain_gpu_days", "retrain_device",
                        "evaluate_device_hours", "evaluate_device", "test_patients", "distance_convention")

TABLE3_PAPER_COLUMNS = ("method", "dsc_avg", "t_statistic", "p_value", "significance", "source", "reference")
TABLE3_COLUMNS = ("method", "model", "reference_model", "metric", "n_patients", "n_seeds", "model_mean", "reference_mean",
                  "mean_difference", "t_statistic", "t_p_value", "t_p_holm", "significant", "alpha", "cohens_dz",
                  "wilcoxon_statistic", "wilcoxon_p_value", "rank_biserial", "note", "source", "reference")

STRATEGY_MODE = {"ga": "Evolutionary", "nsga2": "Evolutionary", "moead_sa": "Evolutionary", "random": "Random search"}


def column_slug(structure: str) -> str:
    """A label name as a column suffix: ``MYO`` -> ``myo``, ``left atrium`` -> ``left_atrium``."""
    slug = re.sub(r"[^0-9a-z]+", "_", structure.lower()).strip("_")
    if not slug:
        raise DataError(f"label name {structure!r} has no letter or digit to name a table column")
    return slug


def paper_structures(paper_columns: Sequence[str]) -> list[str]:
    """The per-structure column suffixes of a paper table, in its order (``dsc_avg`` excluded)."""
    return [c[4:] for c in paper_columns if c.startswith("dsc_") and c != "dsc_avg"]


def table2_columns(structures: Sequence[str], paper_path: str | Path | None = None) -> tuple[str, ...]:
    """Table II's columns for a data set's ``structures`` (label names), in the paper table's
    structure order where one is given (which must then report exactly these structures)."""
    slugs = [column_slug(s) for s in structures]
    if len(set(slugs)) != len(slugs):
        raise DataError(f"label names {list(structures)} give the same table column twice ({slugs})")
    if paper_path is not None:
        with open(paper_path, newline="") as fh:
            header = next(csv.reader(fh), [])
        paper = paper_structures(header)
        if sorted(paper) != sorted(slugs):
            raise DataError(f"{paper_path}: the paper reports structures {paper}, the data set's labels are "
                            f"{slugs}: a paper's rows belong only beside the same structures (config key "
                            "report.paper_table2; null for none)")
        slugs = paper
    metrics = (*(f"dsc_{s}" for s in slugs), "dsc_avg", *(f"hd95_{s}" for s in slugs), "hd95_avg")
    return (*TABLE2_LEAD_COLUMNS, *metrics, *TABLE2_TAIL_COLUMNS, TABLE2_EXTRA_COLUMNS[0],
            *(f"{c}_sd" for c in (*metrics, "params_m")), *TABLE2_EXTRA_COLUMNS[1:])


def paper_columns_of(columns: Sequence[str]) -> tuple[str, ...]:
    """The columns a paper's Table II file holds: all but this run's extras and spreads."""
    return tuple(c for c in columns if c not in TABLE2_EXTRA_COLUMNS and not c.endswith("_sd"))


def runs_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """``table2_runs.csv``'s columns: Table II's without the spreads, with the replicate's seed."""
    return tuple(c for c in columns if not c.endswith("_sd") and c not in REPLICATE_COLUMNS) + ("seed",)


def read_paper_rows(path: str | Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows a paper reports, checked: exactly ``columns``, every row marked ``source=paper``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing paper table {path} (config key report.paper_table2 / paper_table3)")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != tuple(columns):
            raise DataError(f"{path}: columns {reader.fieldnames} differ from the expected {list(columns)}")
        rows = list(reader)
    bad = [i + 2 for i, r in enumerate(rows) if r["source"] != "paper"]
    if bad:
        raise DataError(f"{path}: line(s) {bad} are not marked source=paper; reported numbers only belong there")
    if not rows:
        raise DataError(f"{path}: holds no rows")
    return rows


def model_method(model: str) -> tuple[str, str]:
    """Display name and mode (Table II's 'Mode' column) of a model of this run."""
    if model.startswith("nas-"):
        strategy = model[4:]
        if strategy not in STRATEGY_MODE:
            raise DataError(f"model '{model}': unknown search strategy '{strategy}' (known: {sorted(STRATEGY_MODE)})")
        return f"NAS ({strategy})", STRATEGY_MODE[strategy]
    if model in BASELINES:
        return BASELINES[model][0], "Manual"
    raise DataError(f"unknown model '{model}': neither nas-<strategy> nor a baseline ({sorted(BASELINES)})")


def _r(value: float | None, digits: int) -> float | str:
    return "" if value is None else round(float(value), digits)


def _sig(value: float | None, digits: int) -> float | str:
    """``digits`` significant digits: device days of a CPU demo are tiny, a paper's are not."""
    return "" if value is None else float(f"{float(value):.{digits}g}")


def run_values(summary: Mapping[str, Any]) -> dict[str, float | None]:
    """A run's numbers in Table II's columns and units (Dice in %, HD95 in the data's unit)."""
    values: dict[str, float | None] = {}
    for name in summary["structures"]:
        values[f"dsc_{column_slug(name)}"] = 100 * float(summary[f"dice_{name}"])
    values["dsc_avg"] = 100 * float(summary["dice_mean"])
    for name in summary["structures"]:
        values[f"hd95_{column_slug(name)}"] = float(summary[f"hd95_{name}"])
    values["hd95_avg"] = float(summary["hd95_mean"])
    values |= {
        "params_m": summary["params"] / 1e6, "gflops": summary["gmacs_at_paper_size"],
        "gpu_days": summary["search_gpu_days"], "gflops_2xmacs_at_input": summary["gflops"],
        "latency_ms": summary["latency_ms"], "search_device_hours": summary["search_device_hours"],
        "retrain_device_hours": summary["retrain_device_hours"], "retrain_gpu_days": summary["retrain_gpu_days"],
        "evaluate_device_hours": summary["evaluate_device_hours"],
    }
    return values


# Rounding per column: metrics and sizes to fixed decimals, costs to significant digits (device
# days of a CPU demo are tiny, a paper's are not).
_DIGITS = {"params_m": 4, "gflops": 4, "gflops_2xmacs_at_input": 4, "latency_ms": 3}
_COSTS = ("gpu_days", "search_device_hours", "retrain_device_hours", "retrain_gpu_days", "evaluate_device_hours")


def _fmt(column: str, value: float | None) -> float | str:
    if column in _COSTS:
        return _sig(value, 4)
    return _r(value, _DIGITS.get(column, 2))


def _labels(summary: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """A run's descriptive (non-numeric) columns."""
    method, mode = model_method(summary["model"])
    return {"method": method, "mode": mode, "source": "measured", "dataset": dataset,
            "distance_unit": summary["distance_unit"], "model": summary["model"],
            "input_size": f"{summary['image_size']}x{summary['image_size']}",
            "search_device": summary["search_device"] or "", "retrain_device": summary["retrain_device"],
            "evaluate_device": summary["evaluate_device"], "test_patients": len(summary["test_patients"]),
            "distance_convention": summary["distance_convention"]}


def measured_row(summary: Mapping[str, Any], dataset: str, reference: str) -> dict[str, Any]:
    """One run's row (``table2_runs.csv``) from an evaluate ``summary.json``."""
    row = _labels(summary, dataset) | {"reference": reference}
    return row | {c: _fmt(c, v) for c, v in run_values(summary).items()}


def median_run(final_hv: Mapping[int, float]) -> int:
    """The replicate whose final hypervolume is the median (the lower median for an even count;
    ties broken by the smaller seed)."""
    if not final_hv:
        raise DataError("no hypervolume to pick the median run by")
    ranked = sorted(final_hv, key=lambda k: (final_hv[k], k))
    return ranked[(len(ranked) - 1) // 2]


def aggregate_row(runs: Mapping[int, Mapping[str, Any]], dataset: str, references: Sequence[str],
                  final_hv: Mapping[int, float] | None = None) -> dict[str, Any]:
    """Table II's row of one model over its replicates ``{seed: summary}``: the mean in the paper's
    columns, the sample SD in ``<column>_sd`` (empty for one replicate), each replicate's average
    Dice, and for a searched model the median run by final hypervolume (``final_hv``)."""
    if not runs:
        raise DataError("a Table II row needs at least one run")
    seeds = sorted(runs)
    labels = [_labels(runs[k], dataset) for k in seeds]
    models = {lab["model"] for lab in labels}
    if len(models) != 1:
        raise DataError(f"one Table II row cannot hold several models: {sorted(models)}")
    for key in ("distance_unit", "input_size", "test_patients", "distance_convention"):
        seen = {str(lab[key]) for lab in labels}
        if len(seen) > 1:
            raise DataError(f"{models.pop()}: its replicates differ in {key} ({sorted(seen)}): they are not one "
                            "experiment (re-run them on the same data)")
    row: dict[str, Any] = dict(labels[0])
    for key in ("search_device", "retrain_device", "evaluate_device"):  # a replicate may have run elsewhere
        row[key] = " / ".join(dict.fromkeys(lab[key] for lab in labels if lab[key]))
    values = [run_values(runs[k]) for k in seeds]
    for column in values[0]:
        xs = [v[column] for v in values]
        if any(x is None for x in xs):
            if not all(x is None for x in xs):
                raise DataError(f"{row['model']}: {column} is known for some replicates only")
            row[column] = ""
            continue
        row[column] = _fmt(column, float(np.mean(xs)))
        row[f"{column}_sd"] = _fmt(column, float(np.std(xs, ddof=1))) if len(xs) > 1 else ""
    row["seeds"] = " ".join(map(str, seeds))
    row["dsc_avg_per_seed"] = " ".join(f"{v['dsc_avg']:.2f}" for v in values)
    if final_hv is not None:
        if sorted(final_hv) != seeds:
            raise DataError(f"{row['model']}: hypervolumes for seeds {sorted(final_hv)}, runs for {seeds}")
        row["median_hv_seed"] = median_run(final_hv)
    row["reference"] = " ".join(map(str, references))
    return row


def table2_rows(runs: Mapping[str, Mapping[int, Mapping[str, Any]]], summary_paths: Mapping[str, Sequence[str]],
                dataset: str, paper_path: str | Path | None,
                final_hv: Mapping[str, Mapping[int, float]] | None = None,
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], tuple[str, ...]]:
    """Table II's measured rows (one per model, in the order given, over its replicates
    ``runs[model][seed]``, ``summary_paths[model]`` in the same seed order), then the paper's rows
    unchanged (none without a paper table); the per-replicate rows of ``table2_runs.csv`` (by seed);
    and Table II's columns. ``final_hv[strategy][seed]``
    names the median run of each searched model."""
    structures = {tuple(s["structures"]) for by_seed in runs.values() for s in by_seed.values()}
    if len(structures) != 1:
        raise DataError(f"the models were evaluated on different label sets: {sorted(structures)}")
    columns = table2_columns(structures.pop(), paper_path)
    final_hv = final_hv or {}
    rows, per_run = [], []
    for model, by_seed in runs.items():
        if len(summary_paths[model]) != len(by_seed):
            raise DataError(f"{model}: {len(summary_paths[model])} summary paths for {len(by_seed)} runs")
        # runs[model] and summary_paths[model] list the seeds in one order (the config's); rows go by seed
        paths = dict(zip(by_seed, summary_paths[model]))
        hv = final_hv.get(model[4:]) if model.startswith("nas-") else None
        rows.append(aggregate_row(by_seed, dataset, [paths[k] for k in sorted(by_seed)], hv))
        for seed in sorted(by_seed):
            per_run.append(measured_row(by_seed[seed], dataset, str(paths[seed])) | {"seed": seed})
    rows = [{c: r.get(c, "") for c in columns} for r in rows]  # the paper's structure order
    run_cols = runs_columns(columns)
    per_run = [{c: r.get(c, "") for c in run_cols} for r in per_run]
    if paper_path is None:
        return rows, per_run, columns
    paper = read_paper_rows(paper_path, paper_columns_of(columns))
    return rows + [{**{c: "" for c in columns}, **r} for r in paper], per_run, columns


def best_searched(runs: Mapping[str, Mapping[int, Mapping[str, Any]]]) -> str:
    """The searched model with the highest validation Dice after retraining, averaged over its
    replicates ``runs[model][seed]`` (the test set is not used to pick)."""
    searched = [m for m in runs if m.startswith("nas-")]
    if not searched:
        raise DataError("table3 compares with the best searched model, but no nas-<strategy> model was evaluated "
                        "(config key search.strategies is empty)")
    lacking = [m for m in searched if any("dice_mean" not in (s.get("final_val") or {}) for s in runs[m].values())]
    if lacking:
        raise DataError(f"table3 picks the searched model by validation Dice, but the summaries of {lacking} "
                        "hold none (final_val.dice_mean): re-run their retrain and evaluate rules")
    mean_val = {m: float(np.mean([s["final_val"]["dice_mean"] for s in runs[m].values()])) for m in searched}
    return max(searched, key=lambda m: (mean_val[m], m))


def single_pair(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """What a paired comparison can say about fewer than two patients: the means, no test."""
    nan = float("nan")
    mean_a, mean_b = (sum(a) / len(a), sum(b) / len(b)) if a else (nan, nan)
    return {"n": len(a), "mean_a": mean_a, "mean_b": mean_b, "mean_difference": mean_a - mean_b,
            "t_statistic": nan, "t_p_value": nan, "cohens_dz": nan, "wilcoxon_statistic": nan,
            "wilcoxon_p_value": nan, "rank_biserial": nan,
            "note": f"{len(a)} test patient(s): paired tests need at least 2"}


def compare_patients(scores: Mapping[str, float], reference: Mapping[str, float], scale: float,
                     names: str) -> dict[str, Any]:
    """Paired tests of ``scale`` x per-patient ``scores`` against ``reference`` (``single_pair`` below 2 patients).

    ``names`` says which two models in the error raised when they were scored on different patients.
    """
    patients = sorted(reference)
    if sorted(scores) != patients:
        raise DataError(f"{names} were scored on different test patients")
    a, b = [scale * scores[p] for p in patients], [scale * reference[p] for p in patients]
    return paired_tests(a, b) if len(patients) >= 2 else single_pair(a, b)


def mean_over_seeds(per_seed: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """``{metric: {patient: score}}`` averaged over replicates, which must score the same patients."""
    if not per_seed:
        raise DataError("no replicate to average")
    out: dict[str, dict[str, float]] = {}
    for metric in per_seed[0]:
        patients = sorted(per_seed[0][metric])
        if any(sorted(r[metric]) != patients for r in per_seed):
            raise DataError("the replicates of a model were scored on different test patients")
        out[metric] = {p: float(np.mean([r[metric][p] for r in per_seed])) for p in patients}
    return out


def table3_rows(per_patient: Mapping[str, Mapping[str, Mapping[str, float]]], reference_model: str,
                paper_path: str | Path | None, alpha: float = 0.05,
                n_seeds: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Paired tests of each model against ``reference_model`` on per-patient Dice (%) and HD95.

    ``per_patient[model][metric][patient]`` (averaged over the model's ``n_seeds[model]``
    replicates, see ``mean_over_seeds``); metric ``dice`` (fraction) or ``hd95``. Per metric,
    the t-tests' p-values of the models compared with the one reference are Holm-adjusted
    (``t_p_holm``); ``significant`` says whether that is below ``alpha``.
    """
    ref = per_patient[reference_model]
    rows = []
    for model, scores in per_patient.items():
        if model == reference_model:
            continue
        for metric, scale in (("dice", 100.0), ("hd95", 1.0)):
            res = compare_patients(scores[metric], ref[metric], scale, f"{model} and {reference_model}")
            rows.append({
                "method": model_method(model)[0], "model": model, "reference_model": reference_model,
                "metric": "dsc_avg" if metric == "dice" else "hd95_avg", "n_patients": res["n"],
                "n_seeds": "" if n_seeds is None else f"{n_seeds[model]} vs {n_seeds[reference_model]}",
                "model_mean": res["mean_a"], "reference_mean": res["mean_b"],
                "mean_difference": res["mean_difference"], "t_statistic": res["t_statistic"],
                "t_p_value": res["t_p_value"], "cohens_dz": res["cohens_dz"],
                "wilcoxon_statistic": res["wilcoxon_statistic"], "wilcoxon_p_value": res["wilcoxon_p_value"],
                "rank_biserial": res["rank_biserial"], "note": res["note"], "source": "measured",
                "reference": "per_case.csv of both models, per-patient mean over replicates, volumes and "
                             "structures",
                "alpha": alpha,
            })
    for metric in ("dsc_avg", "hd95_avg"):
        group = [r for r in rows if r["metric"] == metric]
        for r, adjusted in zip(group, holm([r["t_p_value"] for r in group])):
            r["t_p_holm"] = adjusted
            r["significant"] = "" if math.isnan(adjusted) else "yes" if adjusted < alpha else "no"
    rows = [{c: r.get(c, "") for c in TABLE3_COLUMNS} for r in rows]
    paper = read_paper_rows(paper_path, TABLE3_PAPER_COLUMNS) if paper_path is not None else []
    for r in paper:
        rows.append({**{c: "" for c in TABLE3_COLUMNS}, "method": r["method"], "metric": "dsc_avg",
                     "model_mean": r["dsc_avg"], "t_statistic": r["t_statistic"], "t_p_value": r["p_value"],
                     "note": f"significance: {r['significance']} (the paper's p-values: unpaired tests on "
                             "averages, no correction)", "source": "paper", "reference": r["reference"]})
    return rows
