"""MoSegNAS (seed 004): ranking loss, RankNet, one-hot encoding, KS pre-screening, the surrogate strategy."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch

from mednas.errors import ConfigError
from mednas.search.encoding import OneHotEncoding
from mednas.search.predictors import RankNet, RankNetSettings, correlations, make_predictor, ranking_loss
from mednas.search.prescreen import hierarchical_prescreen, ks_subset, ks_uniform
from mednas.search.strategies import StrategySettings
from mednas.search.surrogate import SurrogateSettings
from mednas.space.cardiac import CardiacSpace


# -- ranking loss --------------------------------------------------------------------------------
def test_ranking_loss_on_hand_made_pairs():
    y = torch.tensor([1.0, 0.0])
    # ordered as the targets and at least the margin apart: nothing to learn
    assert ranking_loss(torch.tensor([0.9, 0.1]), y, 0.05).item() == 0.0
    # ordered but closer than the margin: the shortfall
    assert ranking_loss(torch.tensor([0.52, 0.50]), y, 0.05).item() == pytest.approx(0.03)
    # reversed: margin + the gap, for both ordered pairs (mean of equal terms)
    p = torch.tensor([0.2, 0.8], requires_grad=True)
    loss = ranking_loss(p, y, 0.05)
    assert loss.item() == pytest.approx(0.65)
    loss.backward()
    assert p.grad[0] < 0 < p.grad[1]  # descent raises the better one and lowers the worse one
    # tied targets carry no pair
    assert ranking_loss(torch.tensor([0.1, 0.9, 0.5]), torch.tensor([0.3, 0.3, 0.3]), 0.05).item() == 0.0
    three = ranking_loss(torch.tensor([0.1, 0.9, 0.5]), torch.tensor([1.0, 1.0, 0.0]), 0.05)
    # pairs (0,2): 0.05 - (0.1 - 0.5) = 0.45 and (1,2): max(0, 0.05 - 0.4) = 0, each twice; (0,1) tied
    assert three.item() == pytest.approx(0.45 / 2)


def _toy_data(n, seed):
    """Encoded cardiac genotypes and a non-linear 'accuracy' of their genes."""
    space = CardiacSpace(filters=(8, 16))
    rng = random.Random(seed)
    genotypes = [space.sample(rng) for _ in range(n)]
    y = np.array([0.02 * g.filters + 0.1 * g.layers - 0.3 * g.dropout ** 2 + (0.1 if g.attention == "se" else 0)
                  + (0.05 if g.kernel == 3 else 0) for g in genotypes])
    return OneHotEncoding(space).encode(genotypes), y, space


def test_ranknet_ranks_unseen_genotypes_and_is_deterministic():
    X, y, space = _toy_data(160, 0)
    pool = OneHotEncoding(space).encode([space.sample(random.Random(9)) for _ in range(200)])
    settings = RankNetSettings(hidden=64, epochs=150)
    net = RankNet(settings, seed=1).fit(X[:60], y[:60], pool)
    tau = correlations(net.predict(X[60:]), y[60:])["kendall"]
    assert tau > 0.7
    again = RankNet(settings, seed=1).fit(X[:60], y[:60], pool).predict(X[60:])
    assert np.array_equal(net.predict(X[60:]), again)
    for name in ("rbf", "kriging", "svr", "dt", "gb"):  # scikit-learn's comparison set fits and predicts
        pred = make_predictor(name, 0).fit(X[:60], y[:60]).predict(X[60:])
        assert pred.shape == (100,) and np.all(np.isfinite(pred))


def test_one_hot_encoding_of_the_cardiac_space():
    space = CardiacSpace(filters=(8, 16))
    enc = OneHotEncoding(space)
    # filters 8..16 (9), kernel (4), layers 2..4 (3), dropout (1), attention (2), fusion (3), activation (4), res (1)
    assert enc.width == 9 + 4 + 3 + 1 + 2 + 3 + 4 + 1
    g = space.sample(random.Random(3))
    row = enc.encode([g])[0]
    assert row[enc.columns.index(f"filters={g.filters}")] == 1 and row[enc.columns.index(f"kernel={g.kernel}")] == 1
    assert row[:9].sum() == 1 and 0 <= row[enc.columns.index("dropout")] <= 1
    wide = OneHotEncoding(CardiacSpace(filters=(32, 127)))
    assert "filters" in wide.columns  # 96 values: one scaled feature, not 96 mostly empty columns


# -- pre-screening ---------------------------------------------------------------------------------
def test_ks_statistic_matches_scipy():
    from scipy.stats import kstest

    v = np.random.default_rng(0).uniform(2, 7, 25) ** 1.3
    assert ks_uniform(v, 2.0, 15.0) == pytest.approx(kstest(v, "uniform", args=(2.0, 13.0)).statistic)


def test_ks_selection_spreads_picks_over_a_known_distribution():
    # 6 values spread over [0, 1] hidden among 30 clustered near 0.5
    rng = np.random.default_rng(1)
    spread = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    values = np.concatenate([rng.normal(0.5, 0.01, 30), spread])
    order = rng.permutation(len(values))
    values = values[order]
    picks = ks_subset(values, 6, seed=0)
    assert len(picks) <= 6
    chosen = np.sort(values[picks])
    assert ks_uniform(chosen, 0.0, 1.0) <= 1 / 6 + 1e-9  # as uniform as 6 points can be
    assert ks_uniform(chosen, 0.0, 1.0) < ks_uniform(np.sort(values)[12:18], 0.0, 1.0)


def test_ks_ga_reaches_the_exhaustive_optimum_on_a_small_set():
    values = np.random.default_rng(2).uniform(0, 1, 14) ** 2
    anchors = [0.05, 0.9]
    exact = ks_subset(values, 4, anchors, seed=0)  # 1471 subsets: enumerated
    lo, hi = min(values.min(), 0.05), max(values.max(), 0.9)
    assert ks_uniform(np.concatenate([values[exact], anchors]), lo, hi) == pytest.approx(
        min(ks_uniform(np.concatenate([values[list(p)], anchors]), lo, hi)
            for j in range(5) for p in itertools.combinations(range(14), j)))
    ga = ks_subset(values, 4, anchors, seed=0, exhaustive_limit=0)  # the paper's binary GA
    assert len(ga) <= 4
    d_ga = ks_uniform(np.concatenate([values[ga], anchors]), lo, hi)
    d_exact = ks_uniform(np.concatenate([values[exact], anchors]), lo, hi)
    assert d_ga <= d_exact + 0.05


def test_hierarchical_prescreen_fills_the_free_slots_by_predicted_accuracy():
    cost = [0.0, 0.5, 1.0, 0.5, 0.5]
    predicted = [0.1, 0.2, 0.3, 0.9, 0.8]
    picks = hierarchical_prescreen(cost, predicted, 4, seed=0)
    assert len(picks) == 4 and len(set(picks)) == 4
    # KS picks 0, one of the 0.5s and 2 (the uniform spread); the rest by prediction: 3 then 4
    assert {0, 2} <= set(picks) and 3 in picks
    assert len(hierarchical_prescreen(cost, predicted, 10)) == 5  # never more than there are


# -- settings ----------------------------------------------------------------------------------------
def test_surrogate_settings_are_checked_when_read():
    with pytest.raises(ConfigError, match="unknown setting"):
        StrategySettings.from_config({"surrogate": {"kk": 3}})
    with pytest.raises(ConfigError, match="predictor: unknown 'mlp'"):
        SurrogateSettings.from_config({"predictor": "mlp"})
    with pytest.raises(ConfigError, match="spread: 'dice_mean' is not a cost column"):
        SurrogateSettings.from_config({"spread": "dice_mean"})
    with pytest.raises(ConfigError, match="ranknet: unknown setting"):
        SurrogateSettings.from_config({"ranknet": {"width": 3}})
    with pytest.raises(ConfigError, match="teachers: unknown"):
        SurrogateSettings.from_config({"ranknet": {"teachers": ["e2epp"]}})
    assert StrategySettings.from_config({"surrogate": {"k": 2}}).surrogate == {"k": 2}
    from mednas.search.surrogate import check_strategies

    with pytest.raises(ConfigError, match="zerocost gives none"):
        check_strategies({"strategies": ["nsga2", "surrogate"], "evaluator": "zerocost"})
    check_strategies({"strategies": ["surrogate"], "evaluator": "kfold", "surrogate": {"k": 3}})


# -- Table V -----------------------------------------------------------------------------------------
def test_table5_compares_predictors_on_the_same_draws_and_puts_the_paper_after(tmp_path):
    import csv
    from pathlib import Path

    from mednas.report.predictors import compare_predictors, paper_rows, plot_fig9, summarise, write_table

    X, y, _ = _toy_data(120, 4)
    truth = y[100:] + np.random.default_rng(0).normal(0, 0.01, 20)  # "trained" scores of the test genotypes
    runs = compare_predictors(X[:100], y[:100], X[100:], truth, [20, 40], 3, ["dt", "gb"], seed=0)
    assert len(runs) == 2 * 3 * 2 and {r["n_train"] for r in runs} == {20, 40}
    summary = summarise(runs, 20, "toy")
    assert [(r["method"], r["n_train"], r["runs"]) for r in summary] == [("DT", 20, 3), ("GB", 20, 3), ("DT", 40, 3),
                                                                        ("GB", 40, 3)]
    gb40 = [r["kendall"] for r in runs if r["method"] == "gb" and r["n_train"] == 40]
    assert summary[3]["kendall"] == pytest.approx(np.mean(gb40), abs=1e-4)
    assert summary[3]["kendall_sd"] == pytest.approx(np.std(gb40, ddof=1), abs=1e-4)
    paper = paper_rows(Path(__file__).resolve().parents[1] / "config/paper/mosegnas_table5.csv")
    assert [r["method"] for r in paper][-1] == "RankNet" and paper[-1]["kendall"] == "0.6873"
    write_table(tmp_path / "t5.csv", summary, paper)
    with open(tmp_path / "t5.csv", newline="") as f:
        sources = [r["source"] for r in csv.DictReader(f)]
    assert sources == ["measured"] * 4 + ["paper"] * 7  # measured first, never mixed
    plot_fig9(summary, tmp_path / "fig9.png", "toy")
    assert (tmp_path / "fig9.png").stat().st_size > 5000
    with pytest.raises(Exception, match="exceed the 100 samples"):
        compare_predictors(X[:100], y[:100], X[100:], truth, [200], 1, ["dt"])
