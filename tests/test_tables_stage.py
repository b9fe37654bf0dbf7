"""The whole DAG through Snakemake on a tiny phantom: retrain, evaluate, tables, figures, report, audit."""

from __future__ import annotations

import csv
import json

import pytest

from mednas.report.tables import TABLE3_COLUMNS, table2_columns
from workflow_util import REPO
from workflow_util import mednas, snakemake, write_config

pytestmark = pytest.mark.slow

TINY = dict(
    device="cpu",
    dataset={"kind": "phantom", "phantom": {"patients": 8, "seed": 2}},
    preprocess={"image_size": 32, "target_spacing": [6.0, 6.0]},
    space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 3], "activations": ["relu", "elu"]},
    train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16},
    supernet={"epochs": 1, "steps_per_epoch": 3, "sandwich_random": 1, "bn_recal_batches": 2},
    latency={"rounds": 1, "warmup": 1, "repeats": 1, "filter_points": 2, "overhead_genotypes": 1,
             "check_genotypes": 3},
    search={"strategies": ["ga", "random"], "population": 3, "generations": 2},
    retrain={"epochs": 2, "steps_per_epoch": 3, "baselines": {"unet": {"base": 4, "depth": 2}}},
    report={"overlay_slices": 2},
    seeds=[0, 1],
)
MODELS = ["nas-ga", "nas-random", "unet"]
SEEDS = (0, 1)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("tables")
    cfg = write_config(work, **TINY)
    res = snakemake(work, "--configfile", str(cfg), timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    return work, cfg


def test_table2_and_table3(built):
    work, _ = built
    out = work / "results" / "mini"
    t2 = rows(out / "table2.csv")
    assert tuple(t2[0]) == table2_columns(["RV", "MYO", "LV"], REPO / "config" / "paper" / "cardiacnas_table2.csv")
    measured = [r for r in t2 if r["source"] == "measured"]
    assert [r["model"] for r in measured] == MODELS
    assert [r["source"] for r in t2] == ["measured"] * 3 + ["paper"] * 7  # never interleaved
    runs = rows(out / "table2_runs.csv")
    assert [(r["model"], int(r["seed"])) for r in runs] == [(m, k) for m in MODELS for k in SEEDS]
    for r in runs:
        k = int(r["seed"])
        s = json.loads((out / "models" / r["model"] / f"seed{k}" / "summary.json").read_text())
        assert float(r["dsc_avg"]) == round(100 * s["dice_mean"], 2)
        assert r["dataset"] == "phantom (synthetic)" and r["distance_unit"] == "mm" and r["gpu_days"] == ""
        assert float(r["retrain_device_hours"]) > 0 and r["input_size"] == "32x32" and r["test_patients"] == "2"
        assert r["retrain_device"] == "cpu" and float(r["evaluate_device_hours"]) > 0
        assert float(r["gflops"]) == round(s["gmacs_at_paper_size"], 4)  # the paper's unit: GMACs at 224 px
        assert float(r["gflops_2xmacs_at_input"]) == round(s["gflops"], 4)
        if r["model"].startswith("nas-"):
            search = out / "search" / r["model"][4:] / f"seed{k}"
            cost = json.loads((search / "cost.json").read_text())
            # the whole supernet in each search's cost, however many searches shared it (was 1/2 each here)
            other = json.loads((out / "search" / ({"nas-ga": "random"}.get(r["model"], "ga")) / f"seed{k}"
                                / "cost.json").read_text())
            assert cost["supernet_seconds"] == other["supernet_seconds"] > 0
            # both seconds are written to 3 decimals: on this tiny search that rounding alone is 1e-4 relative
            assert cost["device_hours"] == pytest.approx((cost["search_seconds"] + cost["supernet_seconds"]) / 3600,
                                                         abs=1e-3 / 3600)
            assert float(r["search_device_hours"]) == pytest.approx(cost["device_hours"], rel=1e-3)
            # replicate k searched with search.seed + k and retrained its own search's pick with seed + k
            rec = json.loads((search / "cost.json.prov.json").read_text())
            assert rec["seed"] == rec["params"]["search"]["seed"] == k
            chosen = json.loads((search / "chosen.json").read_text())
            assert s["spec"]["genotype"] == chosen["genotype"]
        else:
            assert r["search_device_hours"] == "" and r["search_device"] == ""
        model_prov = json.loads((out / "models" / r["model"] / f"seed{k}" / "model.pt.prov.json").read_text())
        assert model_prov["seed"] == k
        cases = rows(out / "models" / r["model"] / f"seed{k}" / "per_case.csv")
        assert len(cases) == 2 * 2 * 3  # 2 test patients x (ED, ES) x 3 structures
        assert {c["phase"] for c in cases} == {"ED", "ES"}
        # the evaluated weights are the best validation round's, and the summary says which
        curve = rows(out / "models" / r["model"] / f"seed{k}" / "curve.csv")
        best = max(curve, key=lambda c: float(c["val_dice_mean"]))
        assert s["best_epoch"] == int(best["epoch"])
        assert s["final_val"]["dice_mean"] == pytest.approx(float(best["val_dice_mean"]))
        assert s["last_val"]["dice_mean"] == pytest.approx(float(curve[-1]["val_dice_mean"]))
    # Table II: each model's mean and SD over its two replicates
    for r in measured:
        mine = [float(x["dsc_avg"]) for x in runs if x["model"] == r["model"]]
        assert r["seeds"] == "0 1" and r["dsc_avg_per_seed"] == " ".join(f"{x:.2f}" for x in mine)
        assert float(r["dsc_avg"]) == pytest.approx(sum(mine) / 2, abs=0.01)
        assert float(r["dsc_avg_sd"]) == pytest.approx(abs(mine[0] - mine[1]) / 2 ** 0.5, abs=0.01)
        assert (r["median_hv_seed"] in ("0", "1")) == r["model"].startswith("nas-")
    nas = json.loads((out / "models" / "nas-ga" / "seed0" / "summary.json").read_text())
    unet = json.loads((out / "models" / "unet" / "seed0" / "summary.json").read_text())
    assert nas["search_seconds"] > 0 and nas["supernet_seconds"] > 0 and unet["search_seconds"] is None
    t3 = rows(out / "table3.csv")
    assert tuple(t3[0]) == TABLE3_COLUMNS
    best = {r["reference_model"] for r in t3 if r["source"] == "measured"}
    assert len(best) == 1 and best.pop() in ("nas-ga", "nas-random")
    assert {r["n_seeds"] for r in t3 if r["source"] == "measured"} == {"2 vs 2"}
    assert len([r for r in t3 if r["source"] == "measured"]) == 2 * 2 and len([r for r in t3 if r["source"] == "paper"]) == 7


def test_figures_report_and_audit(built, tmp_path):
    work, cfg = built
    out = work / "results" / "mini"
    for name in ("pareto", "correlation", "curves", "overlays"):
        assert (out / f"fig_{name}.png").read_bytes()[:4] == b"\x89PNG"
    corr = rows(out / "fig_correlation.csv")
    assert "filters" in corr[0] and "dice_mean" in corr[0]
    res = mednas(work, "audit", "--full", "results/mini/table2.csv")
    assert res.returncode == 0, res.stdout + res.stderr
    for rule in ("tables", "evaluate", "retrain", "search", "train_supernet", "prepare", "make_phantom"):
        assert rule in res.stdout
    for m in MODELS:  # the table's lineage names every replicate's run
        for k in SEEDS:
            assert f"results/mini/models/{m}/seed{k}/summary.json" in res.stdout
    assert "cardiacnas_table2.csv" in res.stdout
    report = tmp_path / "report.html"
    res = snakemake(work, "--configfile", str(cfg), "--report", str(report))
    assert res.returncode == 0, res.stderr[-3000:]
    html = report.read_text(errors="replace")
    assert "table2.csv" in html and "fig_pareto.png" in html
    res = snakemake(work, "-n", "--configfile", str(cfg))
    assert "Nothing to be done" in res.stdout + res.stderr


def test_unknown_baseline_is_a_clear_error(tmp_path):
    cfg = write_config(tmp_path, **{**TINY, "retrain": {"baselines": {"vnet": {"base": 4}}}})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "vnet" in res.stdout + res.stderr


def test_group_paths_splits_a_rules_flat_inputs_and_refuses_a_mismatch():
    from mednas.errors import DataError
    from mednas.report.stages import group_paths

    assert group_paths(["a0", "a1", "b0", "b1"], ["a", "b"], 2) == {"a": ["a0", "a1"], "b": ["b0", "b1"]}
    with pytest.raises(DataError, match="3 input files for 2 names x 2 each"):
        group_paths(["a0", "a1", "b0"], ["a", "b"], 2)
