"""Rule search through Snakemake: outputs, provenance, and a SIGKILL in the middle followed by a resume."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mednas.search.pareto import hypervolume
from workflow_util import mednas, snakemake, snakemake_killed_when, write_config

pytestmark = pytest.mark.slow

TINY = dict(
    device="cpu",
    preprocess={"image_size": 32, "target_spacing": [6.0, 6.0]},
    space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 3], "activations": ["relu", "elu"]},
    train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16},
    # half-size supernet inputs: the reduced-resolution proxy path, end to end
    supernet={"epochs": 2, "steps_per_epoch": 4, "sandwich_random": 1, "bn_recal_batches": 2, "image_size": 16},
    latency={"rounds": 1, "warmup": 1, "repeats": 1, "filter_points": 2, "overhead_genotypes": 1,
             "check_genotypes": 3},
    search={"strategies": ["random", "moead_sa", "surrogate"], "objectives": ["dice", "hd95", "latency"],
            "population": 5, "generations": 8, "moead_sa": {"sa_solutions": 2, "sa_steps": 2},
            "surrogate": {"k": 5, "inner_population": 12, "inner_generations": 3, "synthetic_pool": 50,
                          "ranknet": {"hidden": 32, "epochs": 40}}},
)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_search_rule_killed_then_resumed(tmp_path):
    cfg = write_config(tmp_path, **TINY)
    res = snakemake(tmp_path, "results/mini/supernet/supernet.pt", "results/mini/latency/lut.csv",
                    "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    target = "results/mini/search/random/seed0/chosen.json"
    live = tmp_path / "results/mini/search/random/seed0/.work/archive.csv"
    snakemake_killed_when(tmp_path, lambda: live.exists() and live.read_text().count("\n") >= 7, target,
                          "--configfile", str(cfg))
    done_before = len(rows(live))
    assert done_before >= 6 and not (tmp_path / target).exists()
    snakemake(tmp_path, "--configfile", str(cfg), "--unlock")
    res = snakemake(tmp_path, target, "results/mini/search/moead_sa/seed0/chosen.json",
                    "results/mini/search/surrogate/seed0/chosen.json", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    log = (tmp_path / "logs/mini/search_random_seed0.log").read_text()
    assert f"{done_before} candidates from an earlier run" in log
    out = tmp_path / "results/mini/search"
    for strategy in ("random", "moead_sa", "surrogate"):
        archive = rows(out / strategy / "seed0" / "archive.csv")
        keys = [r["key"] for r in archive]
        # random and surrogate spend the budget; MOEA/D may stop at its generation cap on a space this small
        assert len(keys) == len(set(keys)) and (len(keys) >= 20 if strategy == "moead_sa" else len(keys) == 40)
        cost = json.loads((out / strategy / "seed0" / "cost.json").read_text())
        assert cost["candidates"] == len(archive) and cost["device"] == "cpu" and cost["gpu_hours"] is None
        assert (cost["score_image_size"], cost["cost_image_size"]) == (16, 32)
        chosen = json.loads((out / strategy / "seed0" / "chosen.json").read_text())
        assert ("warning" in chosen) == ("close to chance" in (tmp_path / f"logs/mini/search_{strategy}_seed0.log").read_text())
        assert chosen["rule"] == "best_dice" and chosen["key"] in keys
        assert float(chosen["record"]["dice_mean"]) == max(float(r["dice_mean"]) for r in archive)
        pareto = rows(out / strategy / "seed0" / "pareto.csv")
        assert {"obj_dice", "obj_hd95", "obj_latency"} <= set(pareto[0]) and set(r["key"] for r in pareto) <= set(keys)
        hv = [float(r["hypervolume"]) for r in rows(out / strategy / "seed0" / "hypervolume.csv")]
        front = np.array([[float(r[f"obj_{o}"]) for o in ("dice", "hd95", "latency")] for r in pareto])
        assert hv == sorted(hv) and hv[-1] == pytest.approx(hypervolume(front))  # the last generation's: the written front's
        assert not (out / strategy / "seed0" / ".work").exists()
        assert mednas(tmp_path, "audit", f"results/mini/search/{strategy}/seed0/chosen.json").returncode == 0
    cost = json.loads((out / "random" / "seed0" / "cost.json").read_text())
    assert cost["from_earlier_run"] == done_before and cost["evaluated_this_run"] == 40 - done_before
    assert sum(r["phase"] == "sa" for r in rows(out / "moead_sa" / "seed0" / "archive.csv")) == 4
    # surrogate: 5 initial, then 5 pre-screened true evaluations per generation, its predictor scored out of sample
    phases = [r["phase"] for r in rows(out / "surrogate" / "seed0" / "archive.csv")]
    assert phases.count("init") == 5 and phases.count("surrogate") == 35
    info = json.loads((out / "surrogate" / "seed0" / "chosen.json").read_text())["strategy_info"]
    evaluated = [g["evaluated"] for g in info["per_generation"]]
    assert info["predictor"] == "ranknet" and sum(evaluated) == 35 and all(1 <= e <= 5 for e in evaluated)
    rec = json.loads((out / "random" / "seed0" / "archive.csv.prov.json").read_text())
    assert rec["rule"] == "search" and rec["config"]["search"]["population"] == 5
    # the resumed archive equals an uninterrupted search, key by key and value by value
    resumed = {r["key"]: r for r in rows(out / "random" / "seed0" / "archive.csv")}
    for name in ("archive.csv", "chosen.json"):
        (out / "random" / "seed0" / name).unlink()
    res = snakemake(tmp_path, target, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    fresh = {r["key"]: r for r in rows(out / "random" / "seed0" / "archive.csv")}
    assert list(fresh) == list(resumed)
    timing = {"eval_seconds"}
    for key, row in fresh.items():
        assert {k: v for k, v in row.items() if k not in timing} == \
               {k: v for k, v in resumed[key].items() if k not in timing}, key


def test_search_rule_reranks_the_proxy_finalists_up_two_rungs(tmp_path):
    """search.rerank as a list of rungs through Snakemake (successive halving): the 3 best proxy
    candidates trained again (rung1), the 2 best of those by that Dice trained once more (rerank),
    the pick by the last rung's Dice; every rung's records in the archive under its phase and out
    of the front, their time in the cost."""
    search = {"strategies": ["nsga2"], "evaluator": "proxy", "objectives": ["dice", "latency"], "population": 4,
              "generations": 2, "proxy": {"epochs": 1, "steps_per_epoch": 2, "image_size": 16},
              "rerank": [{"top": 3, "epochs": 1, "steps_per_epoch": 3, "image_size": 16},
                         {"top": 2, "epochs": 1, "steps_per_epoch": 4}]}
    cfg = write_config(tmp_path, **{**TINY, "search": search})
    res = snakemake(tmp_path, "results/mini/search/nsga2/seed0/chosen.json", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results/mini/search/nsga2/seed0"
    archive = rows(out / "archive.csv")
    searched = [r for r in archive if r["phase"] not in ("rung1", "rerank")]
    rung1 = [r for r in archive if r["phase"] == "rung1"]
    reranked = [r for r in archive if r["phase"] == "rerank"]
    assert len(searched) == 8 and len(rung1) == 3 and len(reranked) == 2

    def best(records, n):
        return sorted(records, key=lambda r: (-float(r["dice_mean"]), float(r["flops"])))[:n]

    assert [r["key"] for r in rung1] == [f"{r['key']}@rung1" for r in best(searched, 3)]
    # the last rung promotes by rung1's Dice (the unit test shows it differs from promoting by the search's)
    assert [r["key"] for r in reranked] == [r["key"].replace("@rung1", "@rerank") for r in best(rung1, 2)]
    chosen = json.loads((out / "chosen.json").read_text())
    winner = max(reranked, key=lambda r: float(r["dice_mean"]))
    assert chosen["key"] == winner["key"].removesuffix("@rerank")
    assert chosen["rerank"]["record"]["dice_mean"] == pytest.approx(float(winner["dice_mean"]))
    assert [f["key"] for f in chosen["rerank"]["rungs"]["rung1"]] == [r["key"].removesuffix("@rung1") for r in rung1]
    assert not any("@" in r["key"] for r in rows(out / "pareto.csv"))
    cost = json.loads((out / "cost.json").read_text())
    assert cost["candidates"] == 8 and cost["rerank"]["finalists"] == 2
    assert [(r["phase"], r["trained"], r["steps"]) for r in cost["rerank"]["rungs"]] == [("rung1", 3, 3),
                                                                                       ("rerank", 2, 4)]
    assert cost["rerank"]["evaluation_seconds"] == pytest.approx(
        sum(float(r["eval_seconds"]) for r in rung1 + reranked), abs=0.01)
    log = (tmp_path / "logs/mini/search_nsga2_seed0.log").read_text()
    assert "rung1: 3 finalist(s)" in log and "rerank: 2 finalist(s)" in log
