"""The hybrid MOEA/D + SA paper (seed 003): the 42-gene space and its repair, the network decoder,
k-fold evaluation, MOEA/D's decomposition, the annealing's own budget, its tables and the DAG."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mednas.cost.complexity import count_params
from mednas.errors import ConfigError, DataError
from mednas.models.lwcnn_net import LightweightCNN
from mednas.space.lwcnn import BLOCK_GENES, LightweightCNNSpace, LWGenotype

SPACE = LightweightCNNSpace()
# The paper's network (its Fig. 12 and the authors' MATLAB): conv 5x5 x2 + BN + LeakyReLU; conv 3x3 x16
# + ReLU; conv 3x3 x16 + BN + LeakyReLU + dropout + max-pool; conv 1x1 x16; two empty blocks.
PAPER = [(1, 2, 1, 1, 2, 0, 0), (1, 1, 4, 0, 1, 0, 0), (1, 1, 4, 1, 2, 1, 1), (1, 0, 4, 0, 0, 0, 0),
         (0, 0, 1, 0, 0, 0, 0), (0, 0, 1, 0, 0, 0, 0)]


def genotype(blocks) -> LWGenotype:
    return LWGenotype(tuple(v for b in blocks for v in b))


def test_the_papers_network_has_its_3498_parameters():
    g = genotype(PAPER)
    assert SPACE.repair(g) == g and len(g.genes) == 42
    net = LightweightCNN(g, SPACE, 1, 2, 64)
    assert count_params(net) == 3498  # the paper's count at 64 x 64 px, one channel, two classes
    assert net(torch.zeros(3, 1, 64, 64)).shape == (3, 2)
    assert SPACE.from_dict(g.to_dict()) == g


def _layers(g: LWGenotype) -> list[str]:
    out = []
    for k in range(g.blocks):
        b = g.block(k)
        out += (["conv"] * b.conv + ["bn"] * b.bn + ["act"] * (b.act > 0) + ["drop"] * b.drop + ["pool"] * b.pool)
    return out


def test_repair_always_yields_a_buildable_network_without_the_papers_inconsistencies():
    rng = random.Random(0)
    lo = [0, 0, 1, 0, 0, 0, 0] * 6
    hi = [1, 2, 5, 1, 2, 1, 1] * 6
    for i in range(400):
        raw = [rng.randint(a - 1, b + 1) for a, b in zip(lo, hi)]  # out-of-range genes too
        if i % 4 == 0:
            raw[0::7] = [0] * 6  # no convolution anywhere
        g = SPACE.repair(LWGenotype(tuple(raw)))
        assert SPACE.validate(g) == g and SPACE.repair(g) == g  # within bounds, idempotent
        layers = _layers(g)
        assert "conv" in layers
        assert not any(a == b == "act" for a, b in zip(layers, layers[1:]))
        for size, channels in ((28, 1), (64, 3)):
            net = LightweightCNN(g, SPACE, channels, 2, size)
            assert net(torch.zeros(2, channels, size, size)).shape == (2, 2)


def test_repair_rules_on_hand_made_genotypes():
    empty = genotype([(0, 1, 3, 0, 1, 0, 0)] + [(0, 0, 1, 0, 0, 0, 0)] * 5)
    fixed = SPACE.repair(empty)
    assert fixed.block(0).conv == 1 and fixed.block(0).filters == 3  # a convolution is added, genes kept
    # block 1: no conv, no BN, an activation right after block 0's: dropped; block 2's follows a pool: kept
    twice = genotype([(1, 1, 2, 0, 1, 0, 0), (0, 0, 1, 0, 2, 0, 1), (0, 0, 1, 0, 1, 0, 0)] + [(0, 0, 1, 0, 0, 0, 0)] * 3)
    fixed = SPACE.repair(twice)
    assert [fixed.block(k).act for k in range(3)] == [1, 0, 1]


def test_space_settings_are_checked():
    with pytest.raises(ConfigError, match="unknown key"):
        LightweightCNNSpace.from_config({"dropout": 0.5})
    with pytest.raises(ConfigError, match="odd sizes"):
        LightweightCNNSpace(kernels=(2, 3))
    assert len(SPACE.gene_names) == 42 and SPACE.gene_names[:7] == tuple(f"b0_{g}" for g in BLOCK_GENES)


def _images(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(0, 1, size=(n, 1, 28, 28)).astype(np.float32)
    x[y == 1, :, 4:14, 4:14] += 2.5  # class 1: a bright square
    return x, y.reshape(-1, 1)


def _build(g):
    from mednas.models.registry import build_model, searched_spec

    return build_model(searched_spec(SPACE, g, 1, 2, 28))


def test_kfold_scores_a_learnable_network_high_and_deterministically():
    from mednas.evaluate.kfold import KFoldEvaluator
    from mednas.train.classify import ClassifySettings

    x, y = _images()
    ev = KFoldEvaluator(_build, x, y, ClassifySettings(epochs=6, batch_size=8, lr=0.01), 3, "cpu", 0)
    assert all(len(np.unique(y.ravel()[te])) == 2 for _, te in ev.splits)  # stratified
    assert sorted(np.concatenate([te for _, te in ev.splits]).tolist()) == list(range(len(y)))
    g = genotype([(1, 1, 3, 1, 1, 0, 0), (1, 1, 3, 1, 1, 0, 0)] + [(0, 0, 1, 0, 0, 0, 0)] * 4)
    a, b = ev(g), ev(g)
    assert a == b and a["cv_acc"] >= 0.9 and a["cv_error"] == pytest.approx(1 - a["cv_acc"])
    # balanced accuracy: a majority-class predictor scores 0.5 whatever the class shares
    majority = genotype([(1, 0, 1, 0, 0, 0, 0)] + [(0, 0, 1, 0, 0, 0, 0)] * 5)
    xi, yi = x[:45], np.r_[np.zeros(35), np.ones(10)].astype(int).reshape(-1, 1)  # 78 % class 0
    flat = KFoldEvaluator(_build, np.zeros_like(xi), yi, ClassifySettings(epochs=2, batch_size=8), 3, "cpu", 0,
                          "balanced_accuracy")
    scores = flat(majority)  # blank images: nothing to learn but the class shares
    assert scores["cv_bacc"] == pytest.approx(0.5) and scores["cv_error"] == pytest.approx(0.5)
    assert scores["cv_acc"] == pytest.approx(35 / 45, abs=0.02)
    with pytest.raises(ConfigError, match="kfold.metric"):
        KFoldEvaluator(_build, x, y, ClassifySettings(epochs=1), 3, "cpu", 0, "auc")
    with pytest.raises(ConfigError, match="smallest class"):
        KFoldEvaluator(_build, x[:5], y[:5], ClassifySettings(epochs=1), 4, "cpu", 0)


def test_binary_scores_by_hand():
    from mednas.metrics.classification import binary_scores

    true = [0, 0, 0, 1, 1, 1, 1, 0]
    pred = [0, 0, 1, 1, 1, 0, 0, 0]
    s = binary_scores(true, pred, positive=0)  # TP 3, FP 2, FN 1, TN 2
    assert s["acc"] == pytest.approx(5 / 8) and s["precision"] == pytest.approx(3 / 5)
    assert s["recall"] == pytest.approx(3 / 4) and s["f1"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert s["jaccard"] == pytest.approx(3 / 6)
    assert binary_scores(true, pred, positive=1)["precision"] == pytest.approx(2 / 3)


# -- the search: Tchebycheff for any number of objectives, the annealing's own budget ------------
class Scored:
    """Error falls with parameters; a longer budget (``bonus``) lowers it further; counts calls."""

    metrics = ("cv_error", "cv_acc", "cv_acc_sd")

    def __init__(self, bonus=0.0):
        self.bonus, self.calls = bonus, 0

    def __call__(self, g):
        self.calls += 1
        width = sum(2 ** g.block(k).filters * g.block(k).conv for k in range(g.blocks))
        err = max(0.0, 0.5 - width / 400 - self.bonus)
        return {"cv_error": err, "cv_acc": 1 - err, "cv_acc_sd": 0.0}


def _pool(tmp_path, objectives, phases=None, budget=30):
    from mednas.search.archive import ArchiveLog
    from mednas.search.objectives import Objectives
    from mednas.search.pool import CandidatePool, archive_columns

    def cost(g):
        p = count_params(_build(g))
        return {"params": p, "flops": 2 * p}

    obj = Objectives.from_config({"evaluator": "kfold", "objectives": objectives}, {"params": 2e5, "flops": 4e5})
    log = ArchiveLog(tmp_path / "log.csv", archive_columns(SPACE.gene_names, Scored.metrics, ("params", "flops")),
                     "fp")
    return CandidatePool(SPACE, Scored(), cost, obj, log, budget, phase_evaluators=phases)


@pytest.mark.parametrize("objectives", [["error", "params"], ["error", "params", "flops"]])
def test_moead_decomposes_by_tchebycheff_for_any_number_of_objectives(tmp_path, monkeypatch, objectives):
    import pymoo.algorithms.moo.moead as moead_module
    from pymoo.decomposition.tchebicheff import Tchebicheff

    from mednas.search.strategies import StrategySettings, run_strategy

    seen = []
    original = moead_module.ParallelMOEAD.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("decomposition"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(moead_module.ParallelMOEAD, "__init__", spy)
    pool = _pool(tmp_path, objectives, budget=16)
    run_strategy("moead", pool, StrategySettings(population=6, generations=3, seed=1))
    assert len(seen) == 1 and isinstance(seen[0], Tchebicheff)
    assert len(pool.records()) >= 6 and all(r["phase"] == "moead" for r in pool.records())


def test_annealing_scores_with_its_own_budget_and_the_pick_comes_from_its_bests(tmp_path):
    from mednas.search.choose import choose
    from mednas.search.strategies import StrategySettings, run_strategy

    longer = Scored(bonus=0.2)
    pool = _pool(tmp_path, ["error", "params"], phases={"sa": longer}, budget=30)
    s = StrategySettings(population=6, generations=5, seed=2, sa_solutions=2, sa_steps=3)
    info = run_strategy("moead_sa", pool, s)
    sa = [r for r in pool.records() if r["phase"] == "sa"]
    assert longer.calls == len(sa) == 2 * (3 + 1)  # each start scored again, then 3 moves
    assert all(r["key"].endswith("@sa") for r in sa)
    for run in info["sa"]:
        start, again = pool.seen[run["start"]], pool.seen[run["start_rescored"]]
        assert again["key"] == run["start"] + "@sa"
        assert again["cv_error"] == pytest.approx(max(0.0, start["cv_error"] - 0.2))
    assert {r["key"] for r in pool.finalists} == {run["best"] for run in info["sa"]}
    pick = choose(pool, "closest_to_ideal")
    assert pick["key"] in {run["best"] for run in info["sa"]}  # the paper's step 4


def test_pool_logs_a_phase_evaluators_records_by_their_own_count(tmp_path, caplog):
    """Records of a phase with its own evaluator lie outside the strategy's budget: no "candidate 5/4"."""
    import logging

    pool = _pool(tmp_path, ["error", "params"], phases={"sa": Scored(bonus=0.1)}, budget=3)
    small = [genotype([(1, f, 1, 0, 0, 0, 0)] + [(0, 0, 1, 0, 0, 0, 0)] * 5) for f in range(3)]
    with caplog.at_level(logging.INFO, logger="mednas"):
        pool.evaluate(small, 1, "moead")
        pool.evaluate(small[:2], 2, "sa")
    lines = [r.getMessage() for r in caplog.records if "(gen " in r.getMessage()]
    assert [m.split(" (gen")[0] for m in lines] == ["candidate 1/3", "candidate 2/3", "candidate 3/3", "sa 1", "sa 2"]


def _hybrid_config(folder: Path, data: Path, strategies=("moead_sa", "moead", "random")) -> Path:
    import yaml

    exp = {
        "task": "classification",
        "dataset": {"kind": "medmnist", "path": str(data), "flag": "breastmnist", "size": 28},
        "space": {"name": "lwcnn", "blocks": 3},
        "search": {"strategies": list(strategies), "evaluator": "kfold", "objectives": ["error", "params"],
                   "population": 4, "generations": 3, "choose": "closest_to_ideal",
                   "kfold": {"folds": 2, "epochs": 1, "batch_size": 8, "sa_epochs": 2},
                   "moead_sa": {"sa_solutions": 2, "sa_steps": 1, "neighbours": 2}},
        "classify": {"tables": "hybrid", "positive": 0, "seeds": [0, 1], "threads": 1, "baselines": {},
                     "train": {"epochs": 2, "batch_size": 16}},
    }
    path = folder / "hybrid.yaml"
    path.write_text(yaml.safe_dump({"experiments": {"hyb": exp}}))
    return path


@pytest.mark.slow
def test_hybrid_dag_end_to_end_on_generated_medmnist(tmp_path):
    import csv

    from test_classification import assert_audited, run_dag_on_generated_breastmnist

    run_dag_on_generated_breastmnist(tmp_path, _hybrid_config)
    out = tmp_path / "results" / "hyb"
    rows = lambda name: list(csv.DictReader(open(out / name, newline="")))
    sa = rows("table3_sa_refinement.csv")
    measured = [r for r in sa if r["source"] == "measured"]
    assert len(measured) == 2 and [r["source"] for r in sa[2:]] == ["paper", "paper"]
    chosen = json.loads((out / "search" / "moead_sa" / "chosen.json").read_text())
    assert chosen["key"] in {r["final_key"] for r in measured} and chosen["spec"]["kind"] == "lwcnn"
    assert chosen["spec"]["image_size"] == 28
    trials = rows("table4_accuracy_trials.csv")
    assert [r["model"] for r in trials if r["source"] == "measured"] == ["nas-moead_sa", "nas-moead", "nas-random"]
    assert all(r["trials"] == "2" for r in trials if r["source"] == "measured")
    best = rows("table5_test_metrics.csv")
    assert all(0 <= float(r["jaccard"]) <= float(r["f1"]) <= 1 for r in best if r["source"] == "measured")
    assert any(r.get("params") == "3498" for r in best if r["source"] == "paper")
    assert (out / "fig_front.png").stat().st_size > 10_000
    assert_audited(tmp_path, out / "table5_test_metrics.csv")


def test_hybrid_config_errors_name_the_key(tmp_path):
    import yaml

    from test_classification import write_medmnist
    from workflow_util import snakemake

    data = tmp_path / "medmnist"
    write_medmnist(data, "breastmnist")
    cfg = _hybrid_config(tmp_path, data, strategies=("moead", "random"))
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0 and "add it to search.strategies" in res.stdout + res.stderr
    bad = yaml.safe_load(cfg.read_text())
    bad["experiments"]["hyb"]["search"]["strategies"] = ["moead_sa"]
    bad["experiments"]["hyb"]["search"]["objectives"] = ["dice", "params"]
    cfg.write_text(yaml.safe_dump(bad))
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0 and "not measured by search.evaluator kfold" in res.stdout + res.stderr


def test_sa_table_reads_the_annealing_runs_and_refuses_a_search_without_them():
    from mednas.report.hybrid import sa_table

    archive = [{"key": "a", "params": 900, "cv_acc": 0.72, "cv_error": 0.30},
               {"key": "a@sa", "params": 900, "cv_acc": 0.76, "cv_error": 0.25},
               {"key": "b@sa", "params": 600, "cv_acc": 0.81, "cv_error": 0.20}]
    chosen = {"strategy_info": {"sa": [{"start": "a", "start_rescored": "a@sa", "best": "b@sa", "moves_accepted": 2,
                                        "best_improved": 1}]}}
    (row,) = sa_table(chosen, archive, "breastmnist", None)
    assert (row["ilp"], row["flp"], row["iva"], row["iva_sa_budget"], row["fva"]) == (900, 600, 0.7, 0.75, 0.8)
    assert row["fva_plain_acc"] == 0.81
    with pytest.raises(DataError, match="no annealing runs"):
        sa_table({"strategy_info": {}}, archive, "breastmnist", None)
    with pytest.raises(DataError, match="not in the archive"):
        sa_table(chosen, archive[:1], "breastmnist", None)
