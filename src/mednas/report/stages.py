"""Pipeline stages of reporting: evaluation summaries and archives in, tables and figures out."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mednas.atomic import atomic_outputs
from mednas.csvio import write_rows
from mednas.data.slices import load_slices
from mednas.errors import DataError
from mednas.evaluate.testset import per_patient
from mednas.report import figures
from mednas.search.rerank import is_rerank_phase
from mednas.report.tables import (TABLE3_COLUMNS, best_searched, mean_over_seeds, runs_columns, table2_rows,
                                  table3_rows)
from mednas.train.retrain import load_model
from mednas.train.validation import predict_slices

log = logging.getLogger("mednas")


def group_paths(paths: Sequence[str], names: Sequence[str], per_name: int) -> dict[str, list[str]]:
    """A rule's flat input list as consecutive groups of ``per_name`` files, one per name (the order the
    rule's input function lists them in: every seed of the first name, then the next name's)."""
    paths = [str(p) for p in paths]
    if per_name < 1 or len(paths) != len(names) * per_name:
        raise DataError(f"{len(paths)} input files for {len(names)} names x {per_name} each: the rule's inputs "
                        "and its params do not agree")
    return {name: paths[i * per_name:(i + 1) * per_name] for i, name in enumerate(names)}


def _read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def patient_scores(path: str | Path) -> dict[str, dict[str, float]]:
    """``{metric: {patient: mean over the patient's volumes and structures}}`` from a ``per_case.csv``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {m: per_patient(rows, m) for m in ("dice", "hd95")}


def final_hypervolume(path: str | Path) -> float:
    """The last generation's hypervolume in a search's ``hypervolume.csv``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise DataError(f"{path}: holds no generation")
    return float(rows[-1]["hypervolume"])


def run_tables(summary_paths: Mapping[str, Sequence[str]], per_case_paths: Mapping[str, Sequence[str]],
               seeds: Sequence[int], hypervolume_paths: Mapping[str, Sequence[str]], paper_table2: str | None,
               paper_table3: str | None, dataset: str, outputs: Mapping[str, str],
               alpha: float = 0.05) -> dict[str, Any]:
    """Write ``table2.csv`` (one row per model over its replicates, then the paper's rows where
    given), ``table2_runs.csv`` (one row per model and replicate) and ``table3.csv`` (paired tests
    on per-patient scores averaged over replicates) together. Every ``*_paths[name]`` lists one
    file per seed of ``seeds``, in that order."""
    for name, paths in (*summary_paths.items(), *per_case_paths.items(), *hypervolume_paths.items()):
        if len(paths) != len(seeds):
            raise DataError(f"{name}: {len(paths)} files for {len(seeds)} seeds {list(seeds)}")
    runs = {m: {k: _read_json(p) for k, p in zip(seeds, paths)} for m, paths in summary_paths.items()}
    final_hv = {s: {k: final_hypervolume(p) for k, p in zip(seeds, paths)} for s, paths in hypervolume_paths.items()}
    rows2, per_run, columns2 = table2_rows(runs, summary_paths, dataset, paper_table2, final_hv)
    best = best_searched(runs)
    per_patient = {m: mean_over_seeds([patient_scores(p) for p in paths]) for m, paths in per_case_paths.items()}
    rows3 = table3_rows(per_patient, best, paper_table3, alpha, {m: len(paths) for m, paths in per_case_paths.items()})
    with atomic_outputs([outputs["table2"], outputs["table2_runs"], outputs["table3"]]) as (t2, t2r, t3):
        write_rows(t2, rows2, columns2)
        write_rows(t2r, per_run, runs_columns(columns2))
        write_rows(t3, rows3, TABLE3_COLUMNS)
    log.info("table2: %d measured rows over %d seed(s) + %d paper rows; table3 against %s", len(runs), len(seeds),
             len(rows2) - len(runs), best)
    return {"best_searched": best}


def strategy_archive(path: str) -> pd.DataFrame:
    """A search's archive.csv without its re-ranking rungs' records (every rung's phase): those were
    scored on other training budgets and are no candidates of the strategy's front."""
    df = pd.read_csv(path)
    return df[~df["phase"].map(is_rerank_phase)].reset_index(drop=True)


def run_figures(archive_paths: Mapping[str, str], summary_paths: Mapping[str, str], curve_paths: Mapping[str, str],
                model_paths: Mapping[str, str], test_path: str, overlay_count: int, device: str,
                outputs: Mapping[str, str]) -> None:
    """Pareto, correlation (PNG and CSV), curves and overlay figures, written together."""
    if not archive_paths:
        raise DataError("figures need at least one search archive (config key search.strategies is empty)")
    summaries = {m: _read_json(p) for m, p in summary_paths.items()}
    unit = next(iter(summaries.values()))["distance_unit"]
    # the strategy's own candidates: a re-ranked finalist was scored on another training budget
    archives = {s: strategy_archive(p) for s, p in archive_paths.items()}
    curves = {m: pd.read_csv(p) for m, p in curve_paths.items()}
    test = load_slices(test_path)
    patients = [str(p) for p in test.patient_ids()]
    idx = figures.overlay_slices(test.label, patients, overlay_count)
    predictions = {}
    for name, path in model_paths.items():
        model, _, _ = load_model(path, device)
        with torch.no_grad():
            predictions[name] = predict_slices(model, test.image[idx], device, len(idx))
    titles = [f"{test.case_id[i]} slice {int(test.slice_index[i])}" for i in idx]
    paths = [outputs[k] for k in ("pareto", "correlation", "correlation_csv", "curves", "overlays")]
    with atomic_outputs(paths) as (t_pareto, t_corr, t_corr_csv, t_curves, t_overlays):
        figures.plot_pareto(t_pareto, archives, summaries, unit, list(test.structures.values()))
        merged = pd.concat(archives.values(), ignore_index=True)
        corr = figures.design_factor_correlation(merged)
        figures.plot_correlation(t_corr, corr, int(merged["key"].nunique()))
        corr.round(4).to_csv(t_corr_csv, index_label="factor")
        figures.plot_curves(t_curves, curves, unit, list(test.structures.values()))
        figures.plot_overlays(t_overlays, test.image[idx], test.label[idx], predictions, titles, test.structures)


def run_classification_tables(metrics_paths: Mapping[str, list[str]], cost_paths: Mapping[str, str], flag: str,
                              paper: Mapping[str, str | None], outputs: Mapping[str, str]) -> None:
    """Tables II (ACC), III (AUC) and IV (search minutes) of a classification experiment, together."""
    from mednas.report.classification import metric_table, search_table

    metrics = {m: sorted((_read_json(p) for p in paths), key=lambda r: r["seed"]) for m, paths in metrics_paths.items()}
    costs = {s: _read_json(p) for s, p in cost_paths.items()}
    acc, acc_cols = metric_table(metrics, "acc", flag, paper.get("acc"))
    auc, auc_cols = metric_table(metrics, "auc", flag, paper.get("auc"))
    minutes, minute_cols = search_table(costs, flag, paper.get("search_minutes"))
    with atomic_outputs([outputs["acc"], outputs["auc"], outputs["search"]]) as (t_acc, t_auc, t_search):
        write_rows(t_acc, acc, acc_cols)
        write_rows(t_auc, auc, auc_cols)
        write_rows(t_search, minutes, minute_cols)
    for row in acc:
        if row["source"] == "measured":
            log.info("%s: test ACC %s +- %s", row["method"], row["acc"], row["acc_sd"])


def run_classification_ablation(metrics_paths: Mapping[str, list[str]], flag: str, paper: str | None,
                                output: str) -> None:
    """MSTF-NAS Table VIII (indicator pairs) for one subset."""
    from mednas.report.classification import ABLATION_COLUMNS, ablation_table

    metrics = {p: sorted((_read_json(x) for x in paths), key=lambda r: r["seed"]) for p, paths in metrics_paths.items()}
    with atomic_outputs([output]) as (tmp,):
        write_rows(tmp, ablation_table(metrics, flag, paper), ABLATION_COLUMNS)


def run_objectives_ablation(metrics_paths: Mapping[str, Sequence[str]], flag: str, paper: str | None,
                            output: str) -> None:
    """MSTF-NAS Table IX (objective constructions) for one subset; ``metrics_paths`` maps each
    variant (the experiment's own Eq. 5 pick included) to its runs' ``metrics.json`` files."""
    from mednas.report.classification import OBJECTIVES_COLUMNS, objectives_table

    metrics = {v: sorted((_read_json(x) for x in paths), key=lambda r: r["seed"]) for v, paths in metrics_paths.items()}
    with atomic_outputs([output]) as (tmp,):
        write_rows(tmp, objectives_table(metrics, flag, paper), OBJECTIVES_COLUMNS)


def run_hybrid_tables(metrics_paths: Mapping[str, list[str]], search_paths: Mapping[str, Mapping[str, str]],
                      flag: str, positive: int, paper: str | None, outputs: Mapping[str, str]) -> None:
    """The hybrid MOEA/D + SA paper's Tables 3-5 and its front figure for one data set, together.

    ``search_paths`` maps each strategy to its ``archive``, ``chosen`` and ``cost`` files."""
    from mednas.data.medmnist import subset_info
    from mednas.report import hybrid
    from mednas.search.archive import read_records

    info = subset_info(flag)
    if not 0 <= positive < info.num_classes:
        raise DataError(f"classify.positive: class {positive} is not one of {flag}'s {info.num_classes} classes")
    if "moead_sa" not in search_paths:
        raise DataError("the hybrid tables need the moead_sa search (config key search.strategies)")
    metrics = {m: sorted((_read_json(p) for p in paths), key=lambda r: r["seed"]) for m, paths in metrics_paths.items()}
    archives = {s: read_records(p["archive"]) for s, p in search_paths.items()}
    chosen = {s: _read_json(p["chosen"]) for s, p in search_paths.items()}
    minutes = {s: float(_read_json(p["cost"])["search_seconds"]) / 60 for s, p in search_paths.items()}
    sa = hybrid.sa_table(chosen["moead_sa"], archives["moead_sa"], flag, paper)
    trials = hybrid.trials_table(metrics, minutes, flag, paper)
    best = hybrid.best_table(metrics, positive, info.class_names[positive], flag, paper)
    paths = [outputs[k] for k in ("sa", "trials", "best", "front")]
    with atomic_outputs(paths) as (t_sa, t_trials, t_best, t_front):
        write_rows(t_sa, sa, hybrid.SA_COLUMNS)
        write_rows(t_trials, trials, hybrid.TRIAL_COLUMNS)
        write_rows(t_best, best, hybrid.BEST_COLUMNS)
        hybrid.plot_fronts(t_front, archives, chosen, flag)
    for row in trials:
        if row["source"] == "measured":
            log.info("%s: %d params, test ACC %s +- %s", row["method"], row["params"], row["acc_mean"], row["acc_sd"])


def run_mixsearch_tables(summary_paths: Mapping[str, Mapping[str, Mapping[int, str]]],
                         searches: Mapping[str, Mapping[str, Any]], cost_paths: Mapping[str, Mapping[int, str]],
                         domain_names: Mapping[str, str], paper: str | None, title: str,
                         outputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """One MixSearch table (III: the search's own domains; VI: unseen ones) and its figure.
    ``summary_paths``: model -> domain -> replicate seed -> summary.json; ``cost_paths``: search ->
    seed -> cost.json."""
    from mednas.report import mixsearch

    summaries = {(m, d): {k: _read_json(p) for k, p in by_seed.items()}
                 for m, by_domain in summary_paths.items() for d, by_seed in by_domain.items()}
    costs = {m: {k: _read_json(p) for k, p in by_seed.items()} for m, by_seed in cost_paths.items()}
    rows = mixsearch.measured_rows(summaries, searches, costs, domain_names)
    paper_rows = mixsearch.paper_rows(paper) if paper else []
    with atomic_outputs([outputs["table"], outputs["figure"]]) as (t_table, t_fig):
        mixsearch.write_table(t_table, rows, paper_rows)
        mixsearch.plot_dice(t_fig, rows, title)
    for r in rows:
        log.info("%-22s %-26s -> %-14s Dice %6.2f  Jaccard %6.2f  %.3f M params", r["method"], r["search_data"],
                 r["target"], r["dice_pct"], r["jaccard_pct"], r["params_m"])
    return rows


def run_mixsearch_beta(arch_paths: Mapping[str, str], genotype_paths: Mapping[str, str], out_png: str) -> None:
    """The network-level weights of every MixSearch search in one figure (the paper's Fig. 7)."""
    from mednas.atomic import atomic_output
    from mednas.report import mixsearch

    betas = {name: _read_json(p)["beta"] for name, p in arch_paths.items()}
    genotypes = {name: _read_json(p)["genotype"] for name, p in genotype_paths.items()}
    with atomic_output(out_png) as tmp:
        mixsearch.plot_beta(tmp, betas, genotypes)


def run_spaces_ablation(metrics_paths: Mapping[str, Sequence[str]], chosen_paths: Mapping[str, str],
                        cost_paths: Mapping[str, str], flag: str, paper: str | None, output: str) -> None:
    """MSTF-NAS Table X (search spaces) for one subset; each mapping is keyed by the space's name in
    ``classify.space_variants``: its pick's runs' ``metrics.json``, its search's ``chosen.json`` and ``cost.json``."""
    from mednas.report.classification import SPACES_COLUMNS, spaces_table

    metrics = {s: sorted((_read_json(x) for x in paths), key=lambda r: r["seed"]) for s, paths in metrics_paths.items()}
    chosen = {s: _read_json(p) for s, p in chosen_paths.items()}
    costs = {s: _read_json(p) for s, p in cost_paths.items()}
    with atomic_outputs([output]) as (tmp,):
        write_rows(tmp, spaces_table(metrics, chosen, costs, flag, paper), SPACES_COLUMNS)


def run_subsets_average(table_paths: Sequence[str], key: str, paper: str | None, output: str, figure: str,
                        title: str) -> None:
    """An ablation table (Table IX: ``key`` variant; Table X: space) averaged over the subsets whose
    tables are given, the paper's rows after ours, and its figure (per subset, paper lines)."""
    from mednas.report.classification import average_columns, paper_average_rows, subsets_average

    tables = {}
    for path in table_paths:
        with open(path, newline="") as fh:
            tables[str(path)] = list(csv.DictReader(fh))
    paper_rows = paper_average_rows(paper, key)
    with atomic_outputs([output, figure]) as (tmp, tmp_fig):
        write_rows(tmp, subsets_average(tables, key, paper_rows), average_columns(key))
        figures.plot_subsets(tmp_fig, tables, key, paper_rows, title)
