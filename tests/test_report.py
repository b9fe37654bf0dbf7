"""Tables, statistics and figures of the report stage, on hand-made numbers."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mednas.errors import DataError
from mednas.report import figures
from mednas.report.stats import cohens_dz, holm, paired_tests, rank_biserial
from mednas.report.tables import (TABLE3_COLUMNS, best_searched, measured_row, paper_columns_of, read_paper_rows,
                                  table2_columns, table2_rows, table3_rows)

REPO = Path(__file__).resolve().parents[1]
PAPER2 = REPO / "config" / "paper" / "cardiacnas_table2.csv"
PAPER3 = REPO / "config" / "paper" / "cardiacnas_table3.csv"
TABLE2_COLUMNS = table2_columns(["RV", "MYO", "LV"], PAPER2)
TABLE2_PAPER_COLUMNS = paper_columns_of(TABLE2_COLUMNS)


# --- statistics -------------------------------------------------------------------------------

def test_paired_tests_match_hand_computation():
    a = [3.0, 5.0, 2.5, 7.0, 9.0]
    b = [2.0, 3.0, 3.0, 4.0, 5.0]  # differences 1, 2, -0.5, 3, 4
    res = paired_tests(a, b)
    d = np.array([1.0, 2.0, -0.5, 3.0, 4.0])
    sd = math.sqrt(((d - d.mean()) ** 2).sum() / 4)
    assert res["mean_difference"] == pytest.approx(1.9)
    assert res["t_statistic"] == pytest.approx(1.9 / (sd / math.sqrt(5)))
    assert res["t_p_value"] == pytest.approx(2 * stats.t.sf(res["t_statistic"], df=4))
    assert res["cohens_dz"] == pytest.approx(1.9 / sd)
    # |d| ranks 2, 3, 1, 4, 5: W+ = 14, W- = 1; exact two-sided p = 2 * P(W <= 1) = 2 * 2 / 2**5
    assert res["wilcoxon_statistic"] == 1.0
    assert res["wilcoxon_p_value"] == pytest.approx(0.125)
    assert res["rank_biserial"] == pytest.approx(13 / 15)
    assert res["n"] == 5 and res["note"] == ""


def test_holm_adjustment_by_hand():
    # sorted 0.01, 0.02, 0.04 (m = 3): x3, x2, x1 -> 0.03, 0.04, 0.04 (running max)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # an untestable comparison (NaN) still counts as one of m = 4 (as p = 1) and stays NaN
    assert holm([0.04, 0.01, float("nan"), 0.02]) == pytest.approx([0.08, 0.04, float("nan"), 0.06], nan_ok=True)
    assert holm([0.6, 0.5]) == [1.0, 1.0] and holm([]) == []


def test_table3_marks_significance_after_holm():
    """Three models against one: raw p-values below alpha that Holm's correction lifts above it are
    not significant (the old table had no significance column at all)."""
    patients = [f"p{i}" for i in range(6)]
    pattern = np.array([1, -1, 1, -1, 1, -1.0])
    ref = {"dice": {p: 0.8 for p in patients}, "hd95": {p: 3.0 for p in patients}}
    models = {"nas-ga": ref}
    # mean difference -1 point, spread s: raw two-sided p about 1e-4 (s 0.4), 0.031 (s 1.5), 0.038 (s 1.6)
    for name, spread in (("unet", 0.4), ("nas-random", 1.5), ("nas-nsga2", 1.6)):
        d = (-1 + 0.5 * spread * pattern) / 100
        models[name] = {"dice": dict(zip(patients, 0.8 + d)), "hd95": dict(zip(patients, 3.0 + 0.5 * pattern + 1))}
    rows = {r["model"]: r for r in table3_rows(models, "nas-ga", None, alpha=0.05) if r["metric"] == "dsc_avg"}
    raw = [rows[m]["t_p_value"] for m in ("unet", "nas-random", "nas-nsga2")]
    assert raw[0] < 0.001 and 0.025 < raw[1] < raw[2] < 0.05  # each significant on its own
    assert [rows[m]["t_p_holm"] for m in ("unet", "nas-random", "nas-nsga2")] == pytest.approx(holm(raw))
    assert [rows[m]["significant"] for m in ("unet", "nas-random", "nas-nsga2")] == ["yes", "no", "no"]
    assert all(r["alpha"] == 0.05 and r["t_p_holm"] >= r["t_p_value"] for r in rows.values())


# --- Table II ---------------------------------------------------------------------------------

def summary(model: str, dice: float, val_dice: float, hd: float = 3.0) -> dict:
    s = {"model": model, "distance_unit": "mm", "params": 1_234_567, "gflops": 0.5, "image_size": 96,
         "paper_image_size": 224, "gmacs_at_paper_size": 1.36, "latency_ms": 4.2,
         "search_device_hours": 0.024 if model.startswith("nas-") else None,
         "search_gpu_days": None, "search_device": "cpu" if model.startswith("nas-") else None,
         "retrain_device_hours": 0.5, "retrain_gpu_days": None, "retrain_device": "cpu",
         "evaluate_device_hours": 0.01, "evaluate_device": "cpu",
         "test_patients": ["p1", "p2"], "final_val": {"dice_mean": val_dice},
         "structures": ["RV", "MYO", "LV"], "distance_convention": "3-D HD95 in mm"}
    for i, name in enumerate(("RV", "MYO", "LV")):
        s[f"dice_{name}"] = dice + 0.01 * i
        s[f"hd95_{name}"] = hd + i
    s["dice_mean"] = dice + 0.01
    s["hd95_mean"] = hd + 1
    return s


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_table2_measured_rows_then_paper_rows_unchanged():
    summaries = {"nas-ga": {0: summary("nas-ga", 0.8, 0.7)}, "unet": {0: summary("unet", 0.6, 0.5)}}
    rows, per_run, columns = table2_rows(summaries, {m: [f"{m}/summary.json"] for m in summaries},
                                         "phantom (synthetic)", PAPER2)
    assert columns == TABLE2_COLUMNS
    assert all(tuple(r) == TABLE2_COLUMNS for r in rows)
    measured, paper = rows[:2], rows[2:]
    assert [r["source"] for r in measured] == ["measured"] * 2
    assert [r["method"] for r in measured] == ["NAS (ga)", "U-Net"]
    assert [r["mode"] for r in measured] == ["Evolutionary", "Manual"]
    ga = measured[0]
    assert ga["dsc_rv"] == 80.0 and ga["dsc_myo"] == 81.0 and ga["dsc_lv"] == 82.0 and ga["dsc_avg"] == 81.0
    assert ga["hd95_rv"] == 3.0 and ga["hd95_avg"] == 4.0 and ga["params_m"] == 1.2346
    assert ga["gpu_days"] == "" and ga["search_device_hours"] == 0.024 and ga["input_size"] == "96x96"
    # one unit per column: `gflops` holds the paper's GMACs at 224 px, our 2 x MACs at 96 px have their own
    assert ga["gflops"] == 1.36 and ga["gflops_2xmacs_at_input"] == 0.5
    assert measured[1]["search_device_hours"] == "" and measured[1]["retrain_device_hours"] == 0.5
    # one replicate: no spread, and its per-run row holds the same numbers
    assert ga["seeds"] == "0" and ga["dsc_avg_sd"] == "" and ga["dsc_avg_per_seed"] == "81.00"
    assert [r["seed"] for r in per_run] == [0, 0] and per_run[0]["dsc_avg"] == 81.0
    # The paper's rows: copied character for character, nothing added but empty extras.
    reported = read_csv(PAPER2)
    assert len(paper) == len(reported) == 7
    for got, want in zip(paper, reported):
        assert {c: got[c] for c in TABLE2_PAPER_COLUMNS} == want
        assert all(got[c] == "" for c in TABLE2_COLUMNS if c not in TABLE2_PAPER_COLUMNS)
        assert got["source"] == "paper"


def test_paper_rows_are_read_not_computed(tmp_path):
    edited = tmp_path / "paper.csv"
    text = PAPER2.read_text().replace("70.12", "12.34")
    edited.write_text(text)
    rows, _, _ = table2_rows({"nas-ga": {0: summary("nas-ga", 0.8, 0.7)}}, {"nas-ga": ["s.json"]}, "ACDC", edited)
    unet = [r for r in rows if r["source"] == "paper" and r["method"] == "U-Net"][0]
    assert unet["dsc_myo"] == "12.34"  # whatever the file says, and nothing this run measured
    # A measured U-Net never borrows the paper's numbers, and vice versa.
    measured = measured_row(summary("unet", 0.6, 0.5), "ACDC", "s.json")
    assert measured["dsc_myo"] != unet["dsc_myo"] and measured["source"] == "measured"


def test_paper_table_checks(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(PAPER2.read_text().replace(",paper,ACDC", ",measured,ACDC", 1))
    with pytest.raises(DataError, match="line\\(s\\) \\[2\\].*source=paper"):
        read_paper_rows(bad, TABLE2_PAPER_COLUMNS)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("method,dsc\nU-Net,1\n")
    with pytest.raises(DataError, match="wrong.csv: columns"):
        read_paper_rows(wrong, TABLE2_PAPER_COLUMNS)
    with pytest.raises(DataError, match="missing paper table"):
        read_paper_rows(tmp_path / "absent.csv", TABLE2_PAPER_COLUMNS)


def test_table2_aggregates_replicates_mean_sd_and_median_run():
    """Three replicates: the paper's columns hold the mean, ``_sd`` the sample SD, costs the mean
    per search; the median run is the one with the median final hypervolume (before: one run per
    model, no seeds at all)."""
    runs = {"nas-ga": {0: summary("nas-ga", 0.80, 0.7), 1: summary("nas-ga", 0.86, 0.7),
                       2: summary("nas-ga", 0.83, 0.7)},
            "unet": {k: summary("unet", 0.6 + 0.01 * k, 0.5) for k in range(3)}}
    runs["nas-ga"][1]["params"] = 2_234_567
    runs["nas-ga"][2]["search_device_hours"] = 0.048
    hv = {"ga": {0: 0.40, 1: 0.55, 2: 0.47}}
    paths = {m: [f"{m}/seed{k}/summary.json" for k in range(3)] for m in runs}
    rows, per_run, columns = table2_rows(runs, paths, "ACDC", PAPER2, hv)
    ga = rows[0]
    dsc = [81.0, 87.0, 84.0]
    assert ga["dsc_avg"] == pytest.approx(np.mean(dsc)) and ga["dsc_avg_sd"] == pytest.approx(np.std(dsc, ddof=1))
    assert ga["dsc_rv"] == pytest.approx(83.0) and ga["dsc_rv_sd"] == pytest.approx(3.0)
    assert ga["hd95_avg"] == 4.0 and ga["hd95_avg_sd"] == 0.0
    assert ga["params_m"] == pytest.approx(round((2 * 1.234567 + 2.234567) / 3, 4))
    assert ga["search_device_hours"] == pytest.approx(0.032)  # (0.024 + 0.024 + 0.048) / 3: per search
    assert ga["seeds"] == "0 1 2" and ga["dsc_avg_per_seed"] == "81.00 87.00 84.00"
    assert ga["median_hv_seed"] == 2  # HVs 0.40, 0.55, 0.47: seed 2 is the median run
    assert ga["reference"] == " ".join(paths["nas-ga"])
    assert rows[1]["median_hv_seed"] == "" and rows[1]["dsc_avg_sd"] == pytest.approx(1.0)
    assert [r["source"] for r in rows] == ["measured"] * 2 + ["paper"] * 7
    # the paper's file has no spread columns, and the paper's rows leave ours empty
    assert all(r["dsc_avg_sd"] == "" for r in rows[2:])
    assert [(r["model"], r["seed"]) for r in per_run] == [("nas-ga", k) for k in range(3)] + [("unet", k)
                                                                                             for k in range(3)]
    assert [r["dsc_avg"] for r in per_run[:3]] == dsc and "dsc_avg_sd" not in per_run[0]


def test_table2_runs_pair_each_seed_with_its_own_file():
    """Seeds listed out of order (seeds: [1, 0]): each run row names its own summary (the first
    version paired sorted seeds with paths in config order)."""
    runs = {"unet": {1: summary("unet", 0.7, 0.5), 0: summary("unet", 0.6, 0.5)}}
    paths = {"unet": ["unet/seed1/summary.json", "unet/seed0/summary.json"]}
    rows, per_run, _ = table2_rows(runs, paths, "ACDC", None)
    assert [(r["seed"], r["reference"], r["dsc_avg"]) for r in per_run] == [
        (0, "unet/seed0/summary.json", 61.0), (1, "unet/seed1/summary.json", 71.0)]
    assert rows[0]["seeds"] == "0 1" and rows[0]["dsc_avg_per_seed"] == "61.00 71.00"
    assert rows[0]["reference"] == "unet/seed0/summary.json unet/seed1/summary.json"


def test_median_run_and_replicate_checks():
    from mednas.report.tables import aggregate_row, median_run

    assert median_run({0: 0.3, 1: 0.1, 2: 0.2}) == 2
    assert median_run({0: 0.3, 1: 0.1, 2: 0.2, 3: 0.4}) == 2  # the lower median of an even count
    assert median_run({5: 0.2}) == 5
    other_unit = summary("unet", 0.6, 0.5) | {"distance_unit": "voxel"}
    with pytest.raises(DataError, match="differ in distance_unit"):
        aggregate_row({0: summary("unet", 0.6, 0.5), 1: other_unit}, "ACDC", ["a", "b"])
    with pytest.raises(DataError, match="several models"):
        aggregate_row({0: summary("unet", 0.6, 0.5), 1: summary("nas-ga", 0.6, 0.5)}, "ACDC", ["a", "b"])
    with pytest.raises(DataError, match="hypervolumes for seeds"):
        aggregate_row({0: summary("nas-ga", 0.6, 0.5)}, "ACDC", ["a"], {0: 0.1, 1: 0.2})


def test_table3_averages_replicates_per_patient():
    from mednas.report.tables import mean_over_seeds

    a = {"dice": {"p1": 0.8, "p2": 0.6}, "hd95": {"p1": 2.0, "p2": 4.0}}
    b = {"dice": {"p1": 0.6, "p2": 0.7}, "hd95": {"p1": 4.0, "p2": 2.0}}
    assert mean_over_seeds([a, b]) == {"dice": {"p1": pytest.approx(0.7), "p2": pytest.approx(0.65)},
                                       "hd95": {"p1": 3.0, "p2": 3.0}}
    with pytest.raises(DataError, match="different test patients"):
        mean_over_seeds([a, {"dice": {"p1": 0.1}, "hd95": {"p1": 1.0}}])
    rows = table3_rows({"nas-ga": mean_over_seeds([a, b]), "unet": a}, "nas-ga", None, n_seeds={"nas-ga": 2, "unet": 1})
    assert rows[0]["n_seeds"] == "1 vs 2" and rows[0]["reference_mean"] == pytest.approx(67.5)


# --- Table III --------------------------------------------------------------------------------

def test_best_searched_uses_validation_not_test():
    summaries = {"nas-ga": {0: summary("nas-ga", 0.9, 0.5)}, "nas-random": {0: summary("nas-random", 0.5, 0.6)},
                 "unet": {0: summary("unet", 0.95, 0.99)}}
    assert best_searched(summaries) == "nas-random"
    with pytest.raises(DataError, match="search.strategies"):
        best_searched({"unet": summaries["unet"]})
    # over replicates: the mean validation Dice (ga 0.5 and 0.9: 0.7 beats random's 0.6)
    summaries["nas-ga"][1] = summary("nas-ga", 0.1, 0.9)
    assert best_searched(summaries) == "nas-ga"


def test_table3_rows_on_hand_made_patients():
    ref = {"dice": {"p1": 0.80, "p2": 0.70, "p3": 0.90, "p4": 0.85}, "hd95": {"p1": 2, "p2": 4, "p3": 1, "p4": 3}}
    unet = {"dice": {"p1": 0.70, "p2": 0.65, "p3": 0.80, "p4": 0.86}, "hd95": {"p1": 3, "p2": 6, "p3": 2, "p4": 3}}
    rows = table3_rows({"nas-ga": ref, "unet": unet}, "nas-ga", PAPER3)
    assert all(tuple(r) == TABLE3_COLUMNS for r in rows)
    measured = [r for r in rows if r["source"] == "measured"]
    assert [(r["model"], r["metric"]) for r in measured] == [("unet", "dsc_avg"), ("unet", "hd95_avg")]
    dsc = measured[0]
    want = paired_tests([70, 65, 80, 86], [80, 70, 90, 85])
    assert dsc["t_statistic"] == pytest.approx(want["t_statistic"])
    assert dsc["wilcoxon_p_value"] == pytest.approx(want["wilcoxon_p_value"])
    assert dsc["mean_difference"] == pytest.approx(-6.0) and dsc["n_patients"] == 4
    hd = measured[1]
    assert hd["mean_difference"] == pytest.approx(1.0)
    paper = [r for r in rows if r["source"] == "paper"]
    assert len(paper) == 7 and paper[-1]["method"] == "CardiacNAS" and paper[-1]["t_statistic"] == "4.90"
    one = table3_rows({"nas-ga": {m: {"p1": v["p1"]} for m, v in ref.items()},
                       "unet": {m: {"p1": v["p1"]} for m, v in unet.items()}}, "nas-ga", PAPER3)
    assert "at least 2" in one[0]["note"] and math.isnan(one[0]["t_p_value"])
    assert one[0]["mean_difference"] == pytest.approx(-10.0)
    other = {"dice": {"p1": 0.7, "p9": 0.7, "p3": 0.7, "p4": 0.7}, "hd95": unet["hd95"]}
    with pytest.raises(DataError, match="different test patients"):
        table3_rows({"nas-ga": ref, "unet": other}, "nas-ga", PAPER3)


# --- figures ----------------------------------------------------------------------------------

def test_pareto_mask_and_correlation():
    cost = np.array([1.0, 2.0, 3.0, 2.5, 1.0])
    quality = np.array([0.5, 0.7, 0.9, 0.6, 0.4])
    assert figures.pareto_mask(cost, quality).tolist() == [True, True, True, False, False]
    rng = np.random.default_rng(0)
    n = 30
    archive = pd.DataFrame({
        "key": [f"c{i}" for i in range(n)], "filters": rng.integers(8, 17, n), "kernel": rng.choice([1, 3, 5], n),
        "layers": rng.choice([2, 3, 4], n), "dropout": rng.uniform(0.1, 0.5, n), "res_scale": np.full(n, 0.5),
        "attention": rng.choice(["se", "self"], n), "fusion": ["add"] * n, "activation": rng.choice(["relu", "elu"], n),
    })
    archive["dice_mean"] = archive["filters"] / 16
    archive["params"] = -archive["layers"]
    corr = figures.design_factor_correlation(archive)
    assert corr.loc["filters", "dice_mean"] == pytest.approx(1.0)
    assert corr.loc["layers", "params"] == pytest.approx(-1.0)
    assert "res_scale" not in corr and "fusion=add" not in corr  # constant columns carry no correlation
    assert corr.loc["attention=se", "attention=self"] == pytest.approx(-1.0)


def test_overlay_slices_pick_the_most_labelled_slice_per_patient():
    label = np.zeros((5, 4, 4), dtype=np.uint8)
    label[1, :2] = 1
    label[2, :3] = 2
    label[4, :1] = 3
    patients = ["a", "a", "a", "b", "b"]
    assert figures.overlay_slices(label, patients, 5) == [2, 4]
    assert figures.overlay_slices(label, patients, 1) == [2]


def _pixels_of(png, rgb, tol=0.06):
    """How many pixels of ``png`` have colour ``rgb`` (0..1)."""
    import matplotlib.image

    img = matplotlib.image.imread(png)[..., :3]
    return int((np.abs(img - np.asarray(rgb)).max(axis=-1) < tol).sum())


def test_figures_show_what_they_are_given(tmp_path):
    """Content, not just a PNG: each model's curve in its colour; the reference's LV (blue) and the
    prediction's RV (red) in the overlay, each blended half with the grey image."""
    curves = {"nas-ga": pd.DataFrame({"epoch": [1, 2, 3], "val_dice_mean": [0.3, 0.5, 0.6], "val_hd95_mean": [9, 6, 5]}),
              "unet": pd.DataFrame({"epoch": [1, 2, 3], "val_dice_mean": [0.4, 0.6, 0.7], "val_hd95_mean": [8, 5, 4]})}
    figures.plot_curves(tmp_path / "c.png", curves, "mm", ["RV", "MYO", "LV"])
    assert _pixels_of(tmp_path / "c.png", (0.12, 0.47, 0.71)) > 50  # matplotlib's C0: the first model
    assert _pixels_of(tmp_path / "c.png", (1.0, 0.5, 0.05)) > 50  # C1: the second
    figures.plot_curves(tmp_path / "c1.png", {"nas-ga": curves["nas-ga"]}, "mm", ["lesion"])
    assert _pixels_of(tmp_path / "c1.png", (1.0, 0.5, 0.05)) == 0
    img = np.zeros((2, 1, 16, 16), np.float32)
    img[:, :, ::2] = 1.0  # black and white stripes: blended colours are exact
    ref = np.zeros((2, 16, 16), dtype=np.uint8)
    ref[:, 2:14, 2:14] = 3
    pred = np.zeros_like(ref)
    pred[:, 2:14, 2:14] = 1
    structures = {1: "RV", 2: "MYO", 3: "LV"}
    figures.plot_overlays(tmp_path / "o.png", img, ref, {"nas-ga": pred}, ["x", "y"], structures)
    on_black = lambda value: 0.5 * np.asarray(figures.label_colour(value)[1])
    blue, red = _pixels_of(tmp_path / "o.png", on_black(3)), _pixels_of(tmp_path / "o.png", on_black(1))
    assert blue > 200 and red > 200 and blue == pytest.approx(red, rel=0.2)
    figures.plot_overlays(tmp_path / "o2.png", img, ref, {"nas-ga": ref}, ["x", "y"], structures)
    assert _pixels_of(tmp_path / "o2.png", on_black(1)) == 0


def test_table3_from_a_hand_built_per_case_csv_matches_scipy(tmp_path):
    """Per-patient means over volumes and structures, then scipy's paired tests, from per_case.csv files
    whose values all differ (a max, a median or a single volume in place of the mean changes the result)."""
    import csv
    import statistics

    from scipy import stats

    STRUCTURES = {1: "RV", 2: "MYO", 3: "LV"}
    from mednas.evaluate.testset import PER_CASE_COLUMNS, summarise
    from mednas.report.stages import patient_scores

    rng = np.random.default_rng(3)
    patients = [f"patient{i:03d}" for i in (4, 1, 7, 2, 9, 5)]
    tables, paths = {}, {}
    for model in ("nas-ga", "unet"):
        rows = [{"patient": p, "case_id": f"{p}_{frame}", "phase": phase, "structure": s,
                 "dice": float(rng.uniform(0.5, 0.99)), "hd95": float(rng.uniform(1, 30)), "distance_unit": "mm"}
                for p in patients for frame, phase in (("frame01", "ED"), ("frame02", "ES"))
                for s in STRUCTURES.values()]
        paths[model] = tmp_path / f"{model}.csv"
        with open(paths[model], "w", newline="") as fh:
            writer = csv.DictWriter(fh, PER_CASE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        tables[model] = rows

    def by_hand(rows, metric):
        return [statistics.fmean(r[metric] for r in rows if r["patient"] == p) for p in sorted(patients)]

    measured = [r for r in table3_rows({m: patient_scores(p) for m, p in paths.items()}, "nas-ga", PAPER3)
                if r["source"] == "measured"]
    for row, metric, scale in zip(measured, ("dice", "hd95"), (100, 1)):
        a = scale * np.array(by_hand(tables["unet"], metric))
        b = scale * np.array(by_hand(tables["nas-ga"], metric))
        t, w = stats.ttest_rel(a, b), stats.wilcoxon(a, b)
        assert row["n_patients"] == len(patients)
        assert row["model_mean"] == pytest.approx(a.mean()) and row["reference_mean"] == pytest.approx(b.mean())
        assert row["t_statistic"] == pytest.approx(t.statistic) and row["t_p_value"] == pytest.approx(t.pvalue)
        assert row["wilcoxon_statistic"] == pytest.approx(w.statistic)
        assert row["wilcoxon_p_value"] == pytest.approx(w.pvalue)
        assert row["cohens_dz"] == pytest.approx((a - b).mean() / statistics.stdev(a - b))
    summary = summarise(tables["unet"])
    for name in STRUCTURES.values():
        vals = [r["dice"] for r in tables["unet"] if r["structure"] == name]
        assert summary[f"dice_{name}"] == pytest.approx(statistics.fmean(vals))
        assert summary[f"dice_{name}_std"] == pytest.approx(statistics.stdev(vals))  # sample SD, ddof=1
    assert (summary["volumes"], summary["patients"]) == (2 * len(patients), len(patients))


def test_missing_validation_dice_and_unknown_strategies_are_errors():
    """Formerly: the best searched model fell back to name order, an unknown strategy was 'Evolutionary'."""
    from mednas.report.tables import model_method

    summaries = {"nas-ga": {0: {"final_val": {"dice_mean": 0.8}}}, "nas-random": {0: {"final_val": {}}}}
    with pytest.raises(DataError, match=r"\['nas-random'\] hold none"):
        best_searched(summaries)
    assert model_method("nas-random") == ("NAS (random)", "Random search")
    with pytest.raises(DataError, match="unknown search strategy 'darts'"):
        model_method("nas-darts")


def test_dataset_names_come_from_the_data(tmp_path, phantom_dir):
    import json

    from mednas.data.sources import dataset_name

    assert dataset_name("phantom", phantom_dir) == "phantom (synthetic)"
    assert dataset_name("acdc", phantom_dir) == "ACDC"
    raw = tmp_path / "Dataset042_Polyps"
    raw.mkdir()
    meta = {"labels": {"background": 0, "polyp": 1}, "channel_names": {"0": "R", "1": "G", "2": "B"},
            "file_ending": ".png"}
    (raw / "dataset.json").write_text(json.dumps(meta))
    assert dataset_name("nnunet_raw", raw) == "Dataset042_Polyps"  # nnU-Net does not require a name
    (raw / "dataset.json").write_text(json.dumps({**meta, "name": "Kvasir-SEG"}))
    assert dataset_name("nnunet_raw", raw) == "Kvasir-SEG"  # formerly: every nnunet_raw set was "ACDC"


def test_figures_read_the_strategys_own_records_without_any_rerank_rung(tmp_path):
    """Re-ranked records (phases rung1, rung2, rerank) were trained on other budgets: the Pareto and
    correlation figures leave every rung out, not only the last."""
    from mednas.report.stages import strategy_archive

    path = tmp_path / "archive.csv"
    path.write_text("generation,phase,key,dice_mean\n1,nsga2,a,0.5\n2,nsga2,b,0.6\n4,rung1,a@rung1,0.7\n"
                    "4,rung2,a@rung2,0.75\n4,rerank,a@rerank,0.8\n1,init,c,0.4\n")
    df = strategy_archive(str(path))
    assert list(df["key"]) == ["a", "b", "c"]
