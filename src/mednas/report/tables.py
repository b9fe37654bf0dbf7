"""CardiacNAS Table II and III: measured rows from this run's summaries, reported rows from config/paper.

Measured and reported rows share the paper's columns but never a row: a reported number is
copied from ``config/paper/*.csv`` unchanged and marked ``source=paper``; a measured number
comes from a ``summary.json`` of this run and is marked ``source=measured``.

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
TABLE2_EXTRA_COLUMNS = ("model", "input_size", "gflops_2xmacs_at_input", "latency_ms", "search_device_hours",
                        "search_device", "retrain_device_hours", "retrain_gpu_days", "retrain_device",
                        "evaluate_device_hours", "evaluate_device", "test_patients", "distance_convention")

TABLE3_PAPER_COLUMNS = ("method", "dsc_avg", "t_statistic", "p_value", "significance", "source", "reference")
TABLE3_COLUMNS = ("method", "model", "reference_model", "metric", "n_patients", "model_mean", "reference_mean",
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
    return (*TABLE2_LEAD_COLUMNS, *(f"dsc_{s}" for s in slugs), "dsc_avg", *(f"hd95_{s}" for s in slugs),
            "hd95_avg", *TABLE2_TAIL_COLUMNS, *TABLE2_EXTRA_COLUMNS)


def paper_columns_of(columns: Sequence[str]) -> tuple[str, ...]:
    """The columns a paper's Table II file holds: all but this run's extras."""
    return tuple(c for c in columns if c not in TABLE2_EXTRA_COLUMNS)


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


def measured_row(summary: Mapping[str, Any], dataset: str, reference: str) -> dict[str, Any]:
    """One Table II row from an evaluate ``summary.json``: Dice in %, HD95 in the data's unit."""
    method, mode = model_method(summary["model"])
    row: dict[str, Any] = {"method": method, "mode": mode}
    for name in summary["structures"]:
        row[f"dsc_{column_slug(name)}"] = _r(100 * summary[f"dice_{name}"], 2)
    row["dsc_avg"] = _r(100 * summary["dice_mean"], 2)
    for name in summary["structures"]:
        row[f"hd95_{column_slug(name)}"] = _r(summary[f"hd95_{name}"], 2)
    row["hd95_avg"] = _r(summary["hd95_mean"], 2)
    row |= {
        "params_m": _r(summary["params"] / 1e6, 4), "gflops": _r(summary["gmacs_at_paper_size"], 4),
        "gpu_days": _sig(summary["search_gpu_days"], 4), "source": "measured", "dataset": dataset,
        "distance_unit": summary["distance_unit"], "reference": reference, "model": summary["model"],
        "input_size": f"{summary['image_size']}x{summary['image_size']}",
        "gflops_2xmacs_at_input": _r(summary["gflops"], 4), "latency_ms": _r(summary["latency_ms"], 3),
        "search_device_hours": _sig(summary["search_device_hours"], 4), "search_device": summary["search_device"] or "",
        "retrain_device_hours": _sig(summary["retrain_device_hours"], 4),
        "retrain_gpu_days": _sig(summary["retrain_gpu_days"], 4), "retrain_device": summary["retrain_device"],
        "evaluate_device_hours": _sig(summary["evaluate_device_hours"], 4),
        "evaluate_device": summary["evaluate_device"], "test_patients": len(summary["test_patients"]),
        "distance_convention": summary["distance_convention"],
    }
    return row


def table2_rows(summaries: Mapping[str, Mapping[str, Any]], summary_paths: Mapping[str, str], dataset: str,
                paper_path: str | Path | None) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Measured rows (in the order given), then the paper's rows unchanged (none without a paper
    table); and the table's columns."""
    structures = {tuple(s["structures"]) for s in summaries.values()}
    if len(structures) != 1:
        raise DataError(f"the models were evaluated on different label sets: {sorted(structures)}")
    columns = table2_columns(structures.pop(), paper_path)
    rows = [measured_row(s, dataset, str(summary_paths[m])) for m, s in summaries.items()]
    rows = [{c: r.get(c, "") for c in columns} for r in rows]  # the paper's structure order
    if paper_path is None:
        return rows, columns
    paper = read_paper_rows(paper_path, paper_columns_of(columns))
    return rows + [{**{c: "" for c in columns}, **r} for r in paper], columns


def best_searched(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """The searched model with the highest validation Dice after retraining (the test set is not used to pick)."""
    searched = [m for m in summaries if m.startswith("nas-")]
    if not searched:
        raise DataError("table3 compares with the best searched model, but no nas-<strategy> model was evaluated "
                        "(config key search.strategies is empty)")
    lacking = [m for m in searched if "dice_mean" not in (summaries[m].get("final_val") or {})]
    if lacking:
        raise DataError(f"table3 picks the searched model by validation Dice, but the summaries of {lacking} "
                        "hold none (final_val.dice_mean): re-run their retrain and evaluate rules")
    return max(searched, key=lambda m: (summaries[m]["final_val"]["dice_mean"], m))


def single_pair(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """What a paired comparison can say about fewer than two patients: the means, no test."""
    nan = float("nan")
    mean_a, mean_b = (sum(a) / len(a), sum(b) / len(b)) if a else (nan, nan)
    return {"n": len(a), "mean_a": mean_a, "mean_b": mean_b, "mean_difference": mean_a - mean_b,
            "t_statistic": nan, "t_p_value": nan, "cohens_dz": nan, "wilcoxon_statistic": nan,
            "wilcoxon_p_value": nan, "rank_biserial": nan,
            "note": f"{len(a)} test patient(s): paired tests need at least 2"}


def table3_rows(per_patient: Mapping[str, Mapping[str, Mapping[str, float]]], reference_model: str,
                paper_path: str | Path | None, alpha: float = 0.05) -> list[dict[str, Any]]:
    """Paired tests of each model against ``reference_model`` on per-patient Dice (%) and HD95.

    ``per_patient[model][metric][patient]``; metric ``dice`` (fraction) or ``hd95``. Per metric,
    the t-tests' p-values of the models compared with the one reference are Holm-adjusted
    (``t_p_holm``); ``significant`` says whether that is below ``alpha``.
    """
    ref = per_patient[reference_model]
    rows = []
    for model, scores in per_patient.items():
        if model == reference_model:
            continue
        for metric, scale in (("dice", 100.0), ("hd95", 1.0)):
            patients = sorted(ref[metric])
            if sorted(scores[metric]) != patients:
                raise DataError(f"{model} and {reference_model} were scored on different test patients")
            a = [scale * scores[metric][p] for p in patients]
            b = [scale * ref[metric][p] for p in patients]
            res = paired_tests(a, b) if len(patients) >= 2 else single_pair(a, b)
            rows.append({
                "method": model_method(model)[0], "model": model, "reference_model": reference_model,
                "metric": "dsc_avg" if metric == "dice" else "hd95_avg", "n_patients": res["n"],
                "model_mean": res["mean_a"], "reference_mean": res["mean_b"],
                "mean_difference": res["mean_difference"], "t_statistic": res["t_statistic"],
                "t_p_value": res["t_p_value"], "cohens_dz": res["cohens_dz"],
                "wilcoxon_statistic": res["wilcoxon_statistic"], "wilcoxon_p_value": res["wilcoxon_p_value"],
                "rank_biserial": res["rank_biserial"], "note": res["note"], "source": "measured",
                "reference": "per_case.csv of both models, per-patient mean over volumes and structures",
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
