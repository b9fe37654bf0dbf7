"""Search: Pareto / hypervolume on hand-made points, objectives, archive log, every strategy end to end."""

from __future__ import annotations

import random

import numpy as np
import pytest

from mednas.errors import ConfigError, MednasError
from mednas.search.archive import ArchiveLog, read_records
from mednas.search.choose import check_rule, choose
from mednas.search.objectives import Objectives
from mednas.search.pareto import closest_to_ideal, hypervolume, knee, non_dominated, survival_order
from mednas.search.pool import CandidatePool, archive_columns
from mednas.search.strategies import STRATEGIES, StrategySettings, run_strategy
from mednas.space.base import IntegerCoding
from mednas.space.cardiac import CardiacSpace

SPACE = CardiacSpace(filters=(8, 16))
SCALES = {"params": 1e6, "flops": 1e9, "latency_ms": 100.0, "hd95_mean": 100.0}


# -- Pareto, hypervolume, picks ---------------------------------------------------------------
def test_non_dominated_on_hand_made_points():
    F = np.array([[0, 1], [0.5, 0.5], [1, 0], [0.6, 0.6], [0.2, 0.9], [0.5, 0.5]])
    # (0.6, 0.6) is dominated by (0.5, 0.5); the duplicate (0.5, 0.5) is kept (nothing dominates it)
    assert non_dominated(F).tolist() == [0, 1, 2, 4, 5]
    assert non_dominated(np.zeros((0, 2))).tolist() == []


def test_hypervolume_on_hand_made_points():
    # Three staircase points, reference 1.1: 1.1 x 0.1 + 0.6 x 0.5 + 0.1 x 0.5 = 0.46
    assert hypervolume(np.array([[0, 1], [0.5, 0.5], [1, 0]])) == pytest.approx(0.46)
    # A dominated point adds nothing; one point in 3-D is a box
    assert hypervolume(np.array([[0, 1], [0.5, 0.5], [1, 0], [0.7, 0.7]])) == pytest.approx(0.46)
    assert hypervolume(np.array([[0.5, 0.5, 0.5]])) == pytest.approx(0.6 ** 3)
    assert hypervolume(np.array([[0.5, 0.5]]), reference=2.0) == pytest.approx(2.25)
    assert hypervolume(np.zeros((0, 2))) == 0.0


def test_knee_and_closest_to_ideal():
    convex = np.array([[0, 1], [0.1, 0.3], [0.3, 0.1], [1, 0], [0.05, 0.6]])
    assert knee(convex) in (1, 2)  # the bulge of a symmetric front
    assert knee(np.array([[0, 1], [0.15, 0.35], [0.3, 0.1], [1, 0]])) == 2
    straight = np.array([[0, 1], [0.5, 0.5], [1, 0]])
    assert knee(straight) == 1 and closest_to_ideal(straight) == 1
    assert closest_to_ideal(np.array([[0, 10], [4, 4], [10, 0]])) == 1


def test_survival_order_puts_feasible_first_then_least_violation():
    F = np.array([[0.0, 0.0], [0.5, 0.5], [0.9, 0.9], [0.2, 0.8]])
    violation = np.array([2.0, 0.0, 0.0, 0.5])
    assert survival_order(F, violation).tolist() == [1, 2, 3, 0]


# -- objectives -----------------------------------------------------------------------------
def test_objective_matrix_and_budgets():
    obj = Objectives.from_config({"evaluator": "inherit", "objectives": ["dice", "hd95", "flops"],
                                  "budgets": {"params": 5e5, "flops": None}}, SCALES)
    recs = [{"dice_mean": 0.8, "hd95_mean": 10.0, "flops": 2e8, "params": 4e5, "latency_ms": 1.0},
            {"dice_mean": 0.6, "hd95_mean": 50.0, "flops": 5e8, "params": 1e6, "latency_ms": 1.0}]
    np.testing.assert_allclose(obj.matrix(recs), [[0.2, 0.1, 0.2], [0.4, 0.5, 0.5]])
    np.testing.assert_allclose(obj.violation(recs), [0.0, 1.0])
    assert obj.labels == ["obj_dice", "obj_hd95", "obj_flops"]


def test_mstf_pair_normalises_within_the_compared_set():
    obj = Objectives.from_config({"evaluator": "zerocost", "objectives": ["mstf"],
                                  "zerocost": {"indicators": ["jacob_cov", "grad_norm"], "log_indicators": []}})
    recs = [{"jacob_cov": 10.0, "grad_norm": 1.0, "flops": 100.0},
            {"jacob_cov": 20.0, "grad_norm": 3.0, "flops": 300.0},
            {"jacob_cov": 15.0, "grad_norm": 2.0, "flops": 200.0}]
    # p1 = (0, 1, .5), p2 = (0, 1, .5), flops = (0, 1, .5); f1 = -p1 - fl, f2 = -p2 + fl; mapped to [0, 1]
    np.testing.assert_allclose(obj.matrix(recs), [[1.0, 0.5], [0.0, 0.5], [0.5, 0.5]])
    # the same candidate scores differently against another generation: per-generation normalisation
    np.testing.assert_allclose(obj.matrix(recs[:1], context=recs[1:2]), [[1.0, 0.5]])


def test_table9_objective_constructions_by_hand():
    """MSTF-NAS Table IX builds the two objectives other ways: without FLOPs (f1 = -p1, f2 = -p2) and
    FLOPs against one indicator or the mean of two."""
    recs = [{"jacob_cov": 10.0, "synflow": 1.0, "flops": 100.0},   # p1 0, p2 0,   flops 0
            {"jacob_cov": 20.0, "synflow": 2.0, "flops": 300.0},   # p1 1, p2 0.5, flops 1
            {"jacob_cov": 15.0, "synflow": 3.0, "flops": 200.0}]   # p1 .5, p2 1,  flops .5

    def build(construction, indicators):
        return Objectives.from_config({"evaluator": "zerocost", "objectives": ["mstf"], "zerocost": {
            "indicators": indicators, "construction": construction, "log_indicators": []}})

    np.testing.assert_allclose(build("no_flops", ["jacob_cov", "synflow"]).matrix(recs),
                               [[1.0, 1.0], [0.0, 0.5], [0.5, 0.0]])
    np.testing.assert_allclose(build("flops_sum", ["synflow"]).matrix(recs), [[1.0, 0.0], [0.5, 1.0], [0.0, 0.5]])
    np.testing.assert_allclose(build("flops_sum", ["jacob_cov", "synflow"]).matrix(recs),
                               [[1.0, 0.0], [0.25, 1.0], [0.25, 0.5]])
    # eq5 stays the default: f1 = -p1 - fl in [-2, 0], f2 = -p2 + fl in [-1, 1], both to [0, 1]
    np.testing.assert_allclose(build("eq5", ["jacob_cov", "synflow"]).matrix(recs),
                               [[1.0, 0.5], [0.0, 0.75], [0.5, 0.25]])
    for construction, indicators in (("eq5", ["synflow"]), ("no_flops", ["synflow"]),
                                     ("flops_sum", ["synflow", "synflow"]), ("sum", ["synflow"])):
        with pytest.raises(ConfigError, match="search.zerocost"):
            build(construction, indicators)


@pytest.mark.parametrize("cfg, message", [
    ({"evaluator": "inherit", "objectives": ["dice", "accuracy"]}, "unknown"),
    ({"evaluator": "zerocost", "objectives": ["dice", "flops"]}, "must be \\[mstf\\]"),
    ({"evaluator": "proxy", "objectives": ["mstf"]}, "needs search.evaluator zerocost"),
    ({"evaluator": "inherit", "objectives": ["dice"]}, "two or more"),
    ({"evaluator": "inherit", "objectives": ["dice", "flops"], "budgets": {"memory": 3}}, "search.budgets"),
])
def test_bad_objective_settings_name_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        Objectives.from_config(cfg, SCALES)


def test_choose_rules_check_the_evaluator():
    with pytest.raises(ConfigError, match="best_dice"):
        check_rule("best_dice", "zerocost")
    with pytest.raises(ConfigError, match="unknown rule"):
        check_rule("vote", "inherit")


# -- archive log ----------------------------------------------------------------------------
def _record(key: str, **extra):
    g = SPACE.sample(random.Random(key))
    return {"generation": 1, "phase": "init", **g.to_dict(), "key": key, "dice_mean": 0.5, "params": 10,
            "flops": 20, "latency_ms": 0.1, "eval_seconds": 0.25, **extra}


def test_archive_log_reloads_drops_partial_line_and_discards_other_runs(tmp_path):
    cols = archive_columns(SPACE.gene_names, ["dice_mean"])
    path = tmp_path / "archive.csv"
    log = ArchiveLog(path, cols, "fp1")
    log.append(_record("a", dice_mean=0.1234567890123))
    log.append(_record("b"))
    with open(path, "a") as f:
        f.write("1,init,c,8,3")  # a kill in the middle of a line
    again = ArchiveLog(path, cols, "fp1")
    assert list(again.records) == ["a", "b"]
    assert again.get("a")["dice_mean"] == 0.1234567890123  # exact round trip
    assert path.read_text().endswith("\n")
    other = ArchiveLog(path, cols, "fp2")  # other settings: never mixed in
    assert other.records == {} and read_records(path) == []


# -- strategies end to end on a cheap, deterministic evaluator ------------------------------------
class FakeEvaluator:
    """Dice grows with filters and layers and falls with dropout; counts its calls."""

    metrics = ("dice_mean", "hd95_mean")

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = 0, fail_after

    def __call__(self, g):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        dice = 0.3 + 0.02 * g.filters + 0.05 * g.layers - 0.2 * g.dropout + 0.01 * g.kernel
        return {"dice_mean": dice, "hd95_mean": 50 - 20 * dice + g.res_scale}


def fake_cost(g):
    flops = g.filters ** 2 * g.kernel ** 2 * g.layers * 1e5 * (2 if g.attention == "self" else 1)
    return {"params": g.filters * g.layers * 1000, "flops": int(flops), "latency_ms": flops / 1e7}


def make_pool(tmp_path, evaluator, budget, objectives=("dice", "flops"), budgets=None, fp="fp", skip=False,
              space=SPACE):
    obj = Objectives.from_config({"evaluator": "inherit", "objectives": list(objectives),
                                  "budgets": budgets or {}}, SCALES)
    log = ArchiveLog(tmp_path / "log.csv", archive_columns(space.gene_names, evaluator.metrics), fp)
    return CandidatePool(space, evaluator, fake_cost, obj, log, budget, skip_over_budget=skip)


FAST_SURROGATE = {"inner_population": 20, "inner_generations": 6, "synthetic_pool": 100,
                  "ranknet": {"hidden": 64, "epochs": 60}}
SETTINGS = StrategySettings(population=6, generations=4, seed=3, sa_solutions=2, sa_steps=2, surrogate=FAST_SURROGATE)


# 4 widths x 3 depths x 2 activations, the other genes fixed: NSGA-II soon proposes genotypes already evaluated
SMALL_SPACE = CardiacSpace(filters=(8, 11), kernels=(3,), layers=(2, 4), dropout=(0.1, 0.1), attentions=("se",),
                           fusions=("add",), activations=("relu", "elu"), res_scale=(1.0, 1.0))


def test_nsga2_cuts_its_last_generation_to_the_budget_left(tmp_path):
    """A generation that proposes genotypes already evaluated leaves part of the budget; the next one
    is told only the offspring that fit in it (pymoo's whole generation overshot the acdc_cpu budget
    of 40 by 19 trainings on 2026-12-05)."""
    # with seed 2 pymoo's whole last generation gave 11, 13 and 15 candidates for these budgets
    for budget in (10, 12, 14):
        pool = make_pool(tmp_path / str(budget), FakeEvaluator(), budget, space=SMALL_SPACE)
        run_strategy("nsga2", pool, StrategySettings(population=4, generations=budget // 4, seed=2))
        assert pool.repeats >= 1  # the case under test: a generation proposed an evaluated genotype
        assert len(pool.records()) == pool.computed == budget  # never more than the budget, nor fewer
        assert len(read_records(tmp_path / str(budget) / "log.csv")) == budget


def test_nsga2_ends_early_when_mating_finds_no_new_offspring(tmp_path, caplog):
    """pymoo's ask() gives no offspring once the population's mating can only repeat it; the search ends
    with what it has (the loop used to fail on None.get)."""
    pool = make_pool(tmp_path, FakeEvaluator(), 14, space=SMALL_SPACE)
    with caplog.at_level("INFO", logger="mednas"):
        run_strategy("nsga2", pool, StrategySettings(population=4, generations=3, seed=0))
    assert 4 <= pool.computed < 14 and "no new offspring" in caplog.text


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_each_strategy_runs_a_tiny_search(tmp_path, strategy):
    pool = make_pool(tmp_path, FakeEvaluator(), SETTINGS.budget)
    info = run_strategy(strategy, pool, SETTINGS)
    records = pool.records()
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys))  # the archive never holds a genotype twice
    assert SETTINGS.budget <= len(records) < SETTINGS.budget + SETTINGS.population
    assert len(read_records(tmp_path / "log.csv")) == len(records) == pool.computed
    # the front and its hypervolume against a brute-force dominance check of every record
    F_all, cv = pool.matrix(records)
    brute = [i for i in range(len(records)) if cv[i] <= 0 and not any(
        cv[j] <= 0 and np.all(F_all[j] <= F_all[i]) and np.any(F_all[j] < F_all[i]) for j in range(len(records)))]
    hv = [row["hypervolume"] for row in pool.history]
    assert hv == sorted(hv)  # over everything evaluated so far: a drop is a bug
    front, F = pool.front()
    assert sorted(r["key"] for r in front) == sorted(records[i]["key"] for i in brute)
    assert pool.history[-1]["hypervolume"] == pytest.approx(hypervolume(F_all[brute]))
    assert choose(pool, "best_dice")["record"]["dice_mean"] == max(r["dice_mean"] for r in records)
    Fb = F_all[brute]
    span = np.where(Fb.max(0) > Fb.min(0), Fb.max(0) - Fb.min(0), 1.0)
    bulge = ((Fb - Fb.min(0)) / span).sum(axis=1)  # the knee: least normalised sum on the front
    assert choose(pool, "knee")["record"]["key"] in {records[brute[i]]["key"] for i in np.flatnonzero(
        np.isclose(bulge, bulge.min()))}
    if strategy == "moead_sa":
        assert len(info["sa"]) == 2 and sum(r["phase"] == "sa" for r in records) == 4
        assert len({r["start"] for r in info["sa"]}) == 2  # distinct starting points


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_search_is_deterministic(tmp_path, strategy):
    runs = []
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        pool = make_pool(tmp_path / str(i), FakeEvaluator(), SETTINGS.budget)
        run_strategy(strategy, pool, SETTINGS)
        runs.append([r["key"] for r in pool.records()])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_a_killed_search_resumes_without_re_evaluating(tmp_path, strategy):
    for sub in ("whole", "killed"):
        (tmp_path / sub).mkdir()
    whole = make_pool(tmp_path / "whole", FakeEvaluator(), SETTINGS.budget)
    run_strategy(strategy, whole, SETTINGS)
    first = FakeEvaluator(fail_after=10)
    with pytest.raises(KeyboardInterrupt):
        run_strategy(strategy, make_pool(tmp_path / "killed", first, SETTINGS.budget), SETTINGS)
    second = FakeEvaluator()
    resumed = make_pool(tmp_path / "killed", second, SETTINGS.budget)
    run_strategy(strategy, resumed, SETTINGS)
    assert [r["key"] for r in resumed.records()] == [r["key"] for r in whole.records()]
    assert resumed.replayed == 10 and second.calls == len(whole.records()) - 10
    assert [r["hypervolume"] for r in resumed.history] == [r["hypervolume"] for r in whole.history]


def test_budgets_are_respected_by_the_pick(tmp_path):
    pool = make_pool(tmp_path, FakeEvaluator(), SETTINGS.budget, budgets={"params": 40_000})
    run_strategy("ga", pool, SETTINGS)
    pick = choose(pool, "best_dice")["record"]
    assert pick["params"] <= 40_000
    assert pick["dice_mean"] == max(r["dice_mean"] for r in pool.records() if r["params"] <= 40_000)
    (tmp_path / "x").mkdir()
    pool2 = make_pool(tmp_path / "x", FakeEvaluator(), 6, budgets={"params": 1})
    run_strategy("random", pool2, StrategySettings(population=6, generations=1))
    with pytest.raises(Exception, match="satisfies search.budgets"):
        choose(pool2, "best_dice")


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_candidates_over_budget_are_costed_but_not_evaluated(tmp_path, strategy):
    limit = 40_000
    evaluator = FakeEvaluator()
    pool = make_pool(tmp_path, evaluator, SETTINGS.budget, objectives=("dice", "hd95", "flops"),
                     budgets={"params": limit}, skip=True)
    run_strategy(strategy, pool, SETTINGS)
    records = pool.records()
    over = [r for r in records if r["params"] > limit]
    # surrogate's inner NSGA-II knows every candidate's true costs: it may propose none over budget
    assert (over or strategy == "surrogate") and len(over) < len(records)
    assert evaluator.calls == len(records) - len(over) == pool.computed - pool.skipped
    assert all(np.isnan(r["dice_mean"]) and np.isnan(r["hd95_mean"]) for r in over)
    assert not any(np.isnan(r["dice_mean"]) for r in records if r["params"] <= limit)
    F, cv = pool.matrix(over)
    assert np.all(F[:, :2] == 1.0) and np.all(cv > 0)  # the worst value, ranked by violation
    pick = choose(pool, "best_dice")["record"]
    assert pick["dice_mean"] == max(r["dice_mean"] for r in records if r["params"] <= limit)
    # the log round-trips the empty metrics: a resumed run replays without evaluating anything
    again = FakeEvaluator()
    resumed = make_pool(tmp_path, again, SETTINGS.budget, objectives=("dice", "hd95", "flops"),
                        budgets={"params": limit}, skip=True)
    run_strategy(strategy, resumed, SETTINGS)
    assert again.calls == 0 and [r["key"] for r in resumed.records()] == [r["key"] for r in records]


def test_integer_coding_covers_the_space():
    coding = IntegerCoding(SPACE, 0.01)
    assert coding.decode(coding.xl) == SPACE.validate(coding.decode(coding.xl))
    lo, hi = coding.decode(coding.xl), coding.decode(coding.xu)
    assert (lo.filters, lo.dropout, lo.res_scale) == (8, 0.1, 0.1)
    assert (hi.filters, hi.kernel, hi.dropout, hi.res_scale) == (16, 7, 0.5, 1.0)
    assert coding.decode(coding.xu + 5) == hi  # out-of-bounds offspring are clipped, never invalid


def test_sa_starts_come_from_the_front_nearest_the_origin(tmp_path):
    from mednas.search.strategies import sa_starts

    pool = make_pool(tmp_path, FakeEvaluator(), 10)
    recs = [{"key": k, "dice_mean": d, "hd95_mean": 1.0, "flops": f, "params": 1, "latency_ms": 1.0}
            for k, d, f in [("a", 0.9, 9e8), ("b", 0.7, 3e8), ("c", 0.5, 1e8), ("d", 0.6, 5e8), ("e", 0.65, 3e8)]]
    # front: a (0.1, 0.9), b (0.3, 0.3), c (0.5, 0.1); d and e are dominated by b
    starts = sa_starts(pool, recs, StrategySettings(sa_solutions=4))
    assert [r["key"] for r in starts] == ["b", "c", "a", "e"]



# -- selection pressure: each operator prefers what it should ------------------------------------
def test_binary_tournament_prefers_the_better_member():
    from mednas.search.strategies import binary_tournament

    n, draws = 5, 20_000
    position = np.array([3, 0, 4, 1, 2])  # survival rank of each member: member 1 best, member 2 worst
    rng = random.Random(0)
    wins = np.bincount([binary_tournament(position, rng) for _ in range(draws)], minlength=n) / draws
    # a member wins when neither draw ranks better: P = ((n - p)^2 - (n - p - 1)^2) / n^2
    expected = np.array([((n - p) ** 2 - (n - p - 1) ** 2) / n ** 2 for p in position])
    np.testing.assert_allclose(wins, expected, atol=0.01)


def test_metropolis_rule():
    import math

    from mednas.search.strategies import metropolis

    rng = random.Random(0)
    assert all(metropolis(-1e-6, 1e-9, rng) for _ in range(200))  # better: always
    assert not any(metropolis(1e-3, 1e-9, rng) for _ in range(2000))  # worse at T -> 0: never
    rate = np.mean([metropolis(0.1, 0.1, rng) for _ in range(20_000)])
    assert rate == pytest.approx(math.exp(-1), abs=0.01)


def test_dominance_rule():
    from mednas.search.strategies import dominates

    assert dominates(np.array([0.1, 0.2]), np.array([0.1, 0.3]))
    assert not dominates(np.array([0.1, 0.3]), np.array([0.1, 0.3]))  # equal: no improvement
    assert not dominates(np.array([0.0, 0.4]), np.array([0.1, 0.3]))  # a trade-off: no improvement
    assert not dominates(np.array([0.2, 0.4]), np.array([0.1, 0.3]))


def test_annealing_best_is_dominated_by_no_candidate_it_saw(tmp_path):
    """The walk may accept worse moves; its best changes only to a feasible candidate that dominates it."""
    from mednas.search.strategies import anneal, dominates

    moved = 0
    for seed in range(6):
        (tmp_path / str(seed)).mkdir()
        pool = make_pool(tmp_path / str(seed), FakeEvaluator(), 40)
        s = StrategySettings(seed=seed, sa_steps=10, sa_t0=0.5, sa_mutation_rate=0.5)
        (start,) = pool.evaluate([SPACE.sample(random.Random(seed))], 1, "init")
        info = anneal(pool, s, start, 2)
        seen = [start] + [r for r in pool.records() if r["phase"] == "sa"]
        best = next(r for r in seen if r["key"] == info["best"])
        F, cv = pool.matrix(seen)
        F_best = F[seen.index(best)]
        assert not any(dominates(F[i], F_best) for i in range(len(seen)) if cv[i] <= 0), seed
        moved += info["best"] != info["start"]
    assert moved >= 1  # the test exercised an improvement


class NarrowOptimum:
    """Dice peaks at one dropout, res_scale, activation, fusion and attention, and grows with width and
    depth, which cost FLOPs: a trade-off front that random sampling rarely reaches (on FakeEvaluator's
    smooth landscape random search reaches 0.94 of the hypervolume and no strategy beats it reliably)."""

    metrics = ("dice_mean", "hd95_mean")

    def __call__(self, g):
        dice = (0.5 + 0.02 * (g.filters - 8) + 0.05 * g.layers - 0.3 * abs(g.dropout - 0.23) / 0.4
                - 0.3 * abs(g.res_scale - 0.71) / 0.9 - 0.1 * (g.activation != "elu")
                - 0.1 * (g.fusion != "wsum") - 0.05 * (g.attention != "se"))
        return {"dice_mean": dice, "hd95_mean": 50 - 20 * dice}


@pytest.mark.parametrize("strategy", ["ga", "nsga2", "moead_sa"])
def test_each_ea_beats_random_search_at_equal_budget(tmp_path, strategy):
    """Median over 5 seeds of the hypervolume (Dice vs FLOPs) of the first ``budget`` candidates."""
    budget = 100

    def final_hv(name: str, seed: int) -> float:
        (tmp_path / f"{name}{seed}").mkdir()
        pool = make_pool(tmp_path / f"{name}{seed}", NarrowOptimum(), budget)
        run_strategy(name, pool, StrategySettings(population=10, generations=10, seed=seed, sa_solutions=2,
                                                  sa_steps=3))
        _, F = pool.front(pool.records()[:budget])
        return hypervolume(F)

    ea = [final_hv(strategy, seed) for seed in range(5)]
    rnd = [final_hv("random", seed) for seed in range(5)]
    assert np.median(ea) > np.median(rnd) + 0.05, (ea, rnd)


def test_surrogate_reaches_nsga2s_final_hypervolume_with_a_third_of_the_true_evaluations(tmp_path):
    """MoSegNAS's claim on a landscape a predictor can learn: median over 3 seeds, 60 true evaluations."""

    def hv_after(name: str, seed: int, n: int) -> float:
        (tmp_path / f"{name}{seed}").mkdir()
        pool = make_pool(tmp_path / f"{name}{seed}", NarrowOptimum(), 60)
        run_strategy(name, pool, StrategySettings(population=10, generations=6, seed=seed,
                                                  surrogate={**FAST_SURROGATE, "k": 5, "initial": 10}))
        _, F = pool.front(pool.records()[:n])
        return hypervolume(F)

    nsga2 = np.median([hv_after("nsga2", seed, 60) for seed in range(3)])
    surrogate = np.median([hv_after("surrogate", seed, 20) for seed in range(3)])
    assert surrogate >= nsga2, (surrogate, nsga2)


def test_violation_is_the_sum_of_relative_excesses():
    obj = Objectives.from_config({"evaluator": "inherit", "objectives": ["dice", "flops"],
                                  "budgets": {"params": 1000, "flops": 2e6}}, SCALES)
    recs = [{"params": 500, "flops": 1e6}, {"params": 1500, "flops": 1e6}, {"params": 1500, "flops": 5e6},
            {"params": 1000, "flops": 2e6}]
    np.testing.assert_allclose(obj.violation(recs), [0.0, 0.5, 0.5 + 1.5, 0.0])


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("budgets", [{"flops": 4e7}, {"params": 30_000, "flops": 6e7}])
def test_the_pick_is_the_best_feasible_candidate_under_one_and_two_budgets(tmp_path, strategy, budgets):
    """Budgets the unconstrained best-Dice genotype breaks: after every strategy, the pick is the best
    feasible candidate (that the strategies themselves head for the feasible region is the next test)."""
    pool = make_pool(tmp_path, NarrowOptimum(), 60, budgets=budgets)
    run_strategy(strategy, pool, StrategySettings(population=10, generations=6, seed=1, sa_solutions=2, sa_steps=3,
                                                  surrogate=FAST_SURROGATE))
    records = pool.records()
    feasible = [r for r in records if all(r[k] <= v for k, v in budgets.items())]
    if strategy == "surrogate":  # it knows every candidate's costs and need not visit the infeasible best
        assert feasible
    else:
        assert 0 < len(feasible) < len(records)
        assert max(r["dice_mean"] for r in records) > max(r["dice_mean"] for r in feasible)
    pick = choose(pool, "best_dice")["record"]
    assert all(pick[k] <= v for k, v in budgets.items())
    assert pick["dice_mean"] == max(r["dice_mean"] for r in feasible)


@pytest.mark.parametrize("strategy", ["ga", "nsga2", "moead_sa"])
def test_each_ea_moves_into_the_feasible_region(tmp_path, strategy):
    """A budget on params, which is no objective: about 1 random genotype in 5 meets it. A strategy that
    handles the constraint proposes mostly feasible genotypes once it has seen some."""
    budgets = {"params": 24_000}

    def late_feasible_share(name: str) -> float:
        (tmp_path / name).mkdir()
        pool = make_pool(tmp_path / name, NarrowOptimum(), 60, budgets=budgets)
        run_strategy(name, pool, StrategySettings(population=10, generations=6, seed=2, sa_solutions=2,
                                                  sa_steps=3))
        late = pool.records()[30:60]
        return sum(r["params"] <= budgets["params"] for r in late) / len(late)

    ea, rnd = late_feasible_share(strategy), late_feasible_share("random")
    assert rnd < 0.35 and ea > 0.6, (ea, rnd)


def test_moead_sa_killed_during_annealing_resumes_to_the_same_archive(tmp_path):
    """Killed after MOEA/D, in the middle of the annealing walks: the resumed run replays what was
    evaluated and ends with the uninterrupted run's archive, values included."""
    for sub in ("whole", "killed"):
        (tmp_path / sub).mkdir()
    whole = make_pool(tmp_path / "whole", FakeEvaluator(), SETTINGS.budget)
    run_strategy("moead_sa", whole, SETTINGS)
    records = whole.records()
    first_sa = next(i for i, r in enumerate(records) if r["phase"] == "sa")
    kill_at = first_sa + 1  # one annealing move done, the next one interrupted
    with pytest.raises(KeyboardInterrupt):
        run_strategy("moead_sa", make_pool(tmp_path / "killed", FakeEvaluator(fail_after=kill_at),
                                           SETTINGS.budget), SETTINGS)
    second = FakeEvaluator()
    resumed = make_pool(tmp_path / "killed", second, SETTINGS.budget)
    run_strategy("moead_sa", resumed, SETTINGS)
    drop = lambda r: {k: v for k, v in r.items() if k != "eval_seconds"}
    assert [drop(r) for r in resumed.records()] == [drop(r) for r in records]
    assert resumed.replayed == kill_at and second.calls == len(records) - kill_at


def test_a_pick_scored_near_zero_by_the_supernet_is_flagged_as_chance():
    """The real-ACDC CPU run: the largest network reached 0.34, the feasible pick inherited 0.011."""
    from mednas.search.choose import ranking_warning

    warning = ranking_warning(0.011, 0.337)
    assert warning and "0.011" in warning and "close to chance" in warning
    assert ranking_warning(0.272, 0.643) is None  # the demo's pick: 42 % of the largest's Dice
    assert ranking_warning(0.0, 0.0) is None  # an untrained supernet: nothing to compare with


# -- re-ranking of the best candidates at a higher fidelity (search.rerank) ------------------------
class LongTraining:
    """A higher-fidelity evaluator on which width wins: it reverses the search's order of the finalists."""

    metrics = FakeEvaluator.metrics

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = [], fail_after

    def __call__(self, g):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(g.key())
        return {"dice_mean": 1.5 - FakeEvaluator()(g)["dice_mean"], "hd95_mean": 10.0}


def test_rerank_trains_the_top_feasible_candidates_again_and_picks_by_their_new_dice(tmp_path):
    from mednas.search.rerank import PHASE, finalists, rerank, search_records

    pool = make_pool(tmp_path, FakeEvaluator(), SETTINGS.budget, budgets={"params": 40_000})
    run_strategy("nsga2", pool, SETTINGS)
    searched = pool.records()
    front_before = sorted(r["key"] for r in pool.front()[0])
    feasible = [r for r, v in zip(searched, pool.objectives.violation(searched)) if v <= 0]
    top = sorted(feasible, key=lambda r: -r["dice_mean"])[:3]
    assert [r["key"] for r in finalists(pool, 3)] == [r["key"] for r in top]
    long = LongTraining()
    records = rerank(pool, long, 3, SETTINGS.generations)
    assert long.calls == [r["key"] for r in top]  # exactly the finalists, each once
    assert [r["key"] for r in records] == [f"{r['key']}@{PHASE}" for r in top]
    assert all(r["phase"] == PHASE for r in records)
    assert len(read_records(tmp_path / "log.csv")) == len(searched) + 3  # in the live log: resumable
    assert len(search_records(pool.records())) == len(searched)
    chosen = choose(pool, "best_dice")
    assert chosen["key"] == top[-1]["key"] != top[0]["key"]  # the new Dice decides, not the search's
    assert chosen["record"]["dice_mean"] == top[-1]["dice_mean"]  # the pick's own search record
    assert chosen["rerank"]["record"]["dice_mean"] == max(r["dice_mean"] for r in records)
    assert [f["key"] for f in chosen["rerank"]["finalists"]] == [r["key"] for r in top]
    # the front is the strategy's alone: a re-ranked record is on another training budget
    assert sorted(r["key"] for r in pool.front(search_records(pool.records()))[0]) == front_before
    assert chosen["front_size"] == len(front_before)


def test_a_killed_rerank_resumes_without_training_a_finalist_twice(tmp_path):
    from mednas.search.rerank import rerank

    for sub in ("whole", "killed"):
        (tmp_path / sub).mkdir()
    whole = make_pool(tmp_path / "whole", FakeEvaluator(), SETTINGS.budget)
    run_strategy("ga", whole, SETTINGS)
    rerank(whole, LongTraining(), 4, SETTINGS.generations)
    killed = make_pool(tmp_path / "killed", FakeEvaluator(), SETTINGS.budget)
    run_strategy("ga", killed, SETTINGS)
    with pytest.raises(KeyboardInterrupt):
        rerank(killed, LongTraining(fail_after=2), 4, SETTINGS.generations)
    resumed = make_pool(tmp_path / "killed", FakeEvaluator(), SETTINGS.budget)
    run_strategy("ga", resumed, SETTINGS)
    second = LongTraining()
    rerank(resumed, second, 4, SETTINGS.generations)
    assert len(second.calls) == 2  # the two finalists trained before the kill are replayed from the log
    assert [r["key"] for r in resumed.records()] == [r["key"] for r in whole.records()]
    assert choose(resumed, "best_dice")["key"] == choose(whole, "best_dice")["key"]


def test_two_rungs_promote_by_the_rung_below_and_the_last_picks(tmp_path):
    """Successive halving: rung1 trains the 4 best search candidates, the last rung the 2 best of
    those by rung1's Dice (here the reverse of the search's order), and the pick is the last rung's best."""
    from mednas.search.rerank import RerankSettings, rerank_rungs, search_records

    pool = make_pool(tmp_path, FakeEvaluator(), SETTINGS.budget, budgets={"params": 40_000})
    run_strategy("nsga2", pool, SETTINGS)
    searched = list(pool.records())
    feasible = [r for r, v in zip(searched, pool.objectives.violation(searched)) if v <= 0]
    top4 = sorted(feasible, key=lambda r: (-r["dice_mean"], r["flops"]))[:4]
    first, last = LongTraining(), FakeEvaluator()
    rung1, final = rerank_rungs(pool, [(RerankSettings(top=4), first), (RerankSettings(top=2), last)],
                                SETTINGS.generations)
    assert first.calls == [r["key"] for r in top4]
    assert [r["phase"] for r in rung1] == ["rung1"] * 4 and [r["phase"] for r in final] == ["rerank"] * 2
    promoted = [r["key"].removesuffix("@rung1") for r in sorted(rung1, key=lambda r: (-r["dice_mean"], r["flops"]))[:2]]
    assert top4[0]["dice_mean"] > top4[2]["dice_mean"]
    assert top4[0]["key"] not in promoted  # LongTraining reverses the order: the search's best drops out
    assert [r["key"].removesuffix("@rerank") for r in final] == promoted
    assert last.calls == 2
    assert len(search_records(pool.records())) == len(searched)  # no rung record is a candidate
    chosen = choose(pool, "best_dice")
    assert chosen["key"] == max(final, key=lambda r: r["dice_mean"])["key"].removesuffix("@rerank")
    assert [f["key"] for f in chosen["rerank"]["rungs"]["rung1"]] == [r["key"] for r in top4]
    assert [f["key"] for f in chosen["rerank"]["finalists"]] == promoted


def test_a_run_killed_on_the_second_rung_resumes_from_the_first_rungs_records(tmp_path):
    """Killed while training the last rung: the resumed run replays rung1 from the log (no candidate
    trained twice) and promotes the same finalists as an uninterrupted run."""
    from mednas.search.rerank import RerankSettings, rerank_rungs

    plan = (RerankSettings(top=4), RerankSettings(top=2))
    for sub in ("whole", "killed"):
        (tmp_path / sub).mkdir()
    whole = make_pool(tmp_path / "whole", FakeEvaluator(), SETTINGS.budget)
    run_strategy("nsga2", whole, SETTINGS)
    rerank_rungs(whole, list(zip(plan, (LongTraining(), FakeEvaluator()))), SETTINGS.generations)
    killed = make_pool(tmp_path / "killed", FakeEvaluator(), SETTINGS.budget)
    run_strategy("nsga2", killed, SETTINGS)
    first = LongTraining()
    with pytest.raises(KeyboardInterrupt):
        rerank_rungs(killed, list(zip(plan, (first, FakeEvaluator(fail_after=1)))), SETTINGS.generations)
    assert len(first.calls) == 4
    resumed = make_pool(tmp_path / "killed", FakeEvaluator(), SETTINGS.budget)
    run_strategy("nsga2", resumed, SETTINGS)
    again, last = LongTraining(), FakeEvaluator()
    rerank_rungs(resumed, list(zip(plan, (again, last))), SETTINGS.generations)
    assert again.calls == [] and last.calls == 1  # rung1 replayed; one finalist of the last rung was done
    assert [r["key"] for r in resumed.records()] == [r["key"] for r in whole.records()]
    assert choose(resumed, "best_dice")["key"] == choose(whole, "best_dice")["key"]


def test_rung_phases_are_told_from_the_strategies_phases():
    from mednas.search.rerank import is_rerank_phase, rung_phase

    assert [rung_phase(i, 3) for i in range(3)] == ["rung1", "rung2", "rerank"]
    assert rung_phase(0, 1) == "rerank"  # one rung: the archive of a single re-ranking is unchanged
    assert [is_rerank_phase(p) for p in ("rerank", "rung2", "nsga2", "init", "sa", "rungs", "", None)] == \
           [True, True, False, False, False, False, False, False]


@pytest.mark.parametrize("cfg, evaluator, rule, message", [
    ({"top": 2, "steps": 3}, "proxy", "best_dice", "unknown setting"),
    ({"top": -1}, "proxy", "best_dice", "top must be"),
    ({"top": 2}, "zerocost", "best_dice", "segmentation evaluator"),
    ({"top": 2}, "proxy", "knee", "best_dice"),
    ([{"top": 4}, {"top": 5}], "proxy", "best_dice", r"search.rerank\[1\]: top 5 is more than"),
    ([{"top": 4}, {"top": 0}], "proxy", "best_dice", r"search.rerank\[1\]: top must be >= 1"),
    ([{"top": 4}, {"top": 2, "step": 3}], "proxy", "best_dice", r"search.rerank\[1\]: unknown setting"),
    ([{"top": 4}, 3], "proxy", "best_dice", r"search.rerank\[1\]: a mapping"),
    ("top 3", "proxy", "best_dice", "a mapping .one rung. or a list"),
])
def test_bad_rerank_settings_name_the_key(cfg, evaluator, rule, message):
    from mednas.search.rerank import check_rerank, rerank_plan

    with pytest.raises(ConfigError, match=message) as err:
        check_rerank(rerank_plan(cfg), evaluator, rule)
    assert "search.rerank" in str(err.value)


@pytest.mark.parametrize("strategy", ["ga", "nsga2", "random"])
def test_feasible_init_draws_the_initial_population_within_the_budgets(tmp_path, strategy):
    budgets = {"params": 30_000}
    first = {"ga": "init", "nsga2": "nsga2", "random": "random"}[strategy]
    shares = {}
    for flag in (False, True):
        (tmp_path / str(flag)).mkdir()
        pool = make_pool(tmp_path / str(flag), FakeEvaluator(), SETTINGS.budget, budgets=budgets)
        run_strategy(strategy, pool, StrategySettings(population=6, generations=4, seed=3, feasible_init=flag))
        initial = [r for r in pool.records() if r["generation"] == 1 and r["phase"] == first]
        assert len(initial) == 6
        shares[flag] = float(np.mean(pool.objectives.violation(initial) <= 0))
    assert shares[True] == 1.0 and shares[False] < 0.7  # the plain draw breaks this budget often


def test_feasible_init_is_refused_where_no_draw_fits_or_the_strategy_has_no_such_draw(tmp_path):
    pool = make_pool(tmp_path, FakeEvaluator(), SETTINGS.budget, budgets={"params": 10})
    with pytest.raises(MednasError, match="feasible_init"):
        run_strategy("ga", pool, StrategySettings(population=6, generations=4, seed=3, feasible_init=True))
    with pytest.raises(ConfigError, match="feasible_init applies to"):
        run_strategy("moead", pool, StrategySettings(population=6, generations=4, seed=3, feasible_init=True))


class ColumnCounter:
    """fake_cost as a cost model that computes only the columns asked for, counting each."""

    columns = ("params", "flops", "latency_ms")

    def __init__(self):
        self.computed = {c: 0 for c in self.columns}

    def __call__(self, g, columns=None):
        want = self.columns if columns is None else tuple(columns)
        for c in want:
            self.computed[c] += 1
        return {c: fake_cost(g)[c] for c in want}


def test_pool_computes_each_cost_column_once_and_only_when_asked(tmp_path):
    counter = ColumnCounter()
    pool = make_pool(tmp_path, FakeEvaluator(), 10, budgets={"latency_ms": 1.0})
    pool.cost = counter
    g = SPACE.sample(random.Random(0))
    assert pool.within_budgets(g) == (fake_cost(g)["latency_ms"] <= 1.0)
    assert counter.computed == {"params": 0, "flops": 0, "latency_ms": 1}  # the budget's column alone
    assert pool.cost_of(g) == fake_cost(g)
    assert counter.computed == {"params": 1, "flops": 1, "latency_ms": 1}  # the rest, once
    pool.cost_of(g, ["flops"]), pool.within_budgets(g), pool.evaluate([g], 1, "init")
    assert counter.computed == {"params": 1, "flops": 1, "latency_ms": 1}
    plain = make_pool(tmp_path / "plain", FakeEvaluator(), 10, budgets={"latency_ms": 1.0})
    assert plain.cost_of(g, ["latency_ms"]) == {"latency_ms": fake_cost(g)["latency_ms"]}  # a plain callable


def test_surrogate_costs_only_the_columns_its_objectives_and_budgets_read(tmp_path):
    counter = ColumnCounter()
    pool = make_pool(tmp_path, FakeEvaluator(), 16, objectives=("dice", "latency"), budgets={"params": 30000})
    pool.cost = counter
    run_strategy("surrogate", pool, SETTINGS)
    evaluated = len(pool.seen)
    assert counter.computed["flops"] == evaluated  # the archive's records only
    assert counter.computed["latency_ms"] > 3 * evaluated  # the inner NSGA-II read many more


# -- balanced initial design (search.initial_design) ------------------------------------------------
def _spread(records, gene):
    counts = {}
    for r in records:
        counts[r[gene]] = counts.get(r[gene], 0) + 1
    return counts


def test_balanced_subset_evens_out_skewed_draws_and_stratifies_costs():
    from pymoo.core.variable import Choice

    from mednas.search.initial import balanced_subset, with_cost_strata

    rng = random.Random(0)
    # 90 % of the draws say "a": a random (or first-n) pick of 8 holds about one "b"
    draws = [{"act": "a" if rng.random() < 0.9 else "b", "fuse": rng.choice("xyz")} for _ in range(80)]
    variables = {"act": Choice(options=["a", "b"]), "fuse": Choice(options=list("xyz"))}
    chosen = [draws[i] for i in balanced_subset(draws, variables, 8, random.Random(1))]
    assert _spread(chosen, "act") == {"a": 4, "b": 4}
    assert max(_spread(chosen, "fuse").values()) - min(_spread(chosen, "fuse").values()) <= 1
    assert len(set(balanced_subset(draws, variables, 8, random.Random(1)))) == 8
    assert balanced_subset(draws, variables, 8, random.Random(1)) == balanced_subset(draws, variables, 8,
                                                                                     random.Random(1))
    # a cost only 5 of 80 draws reach the top quarter of: as a stratum, the design holds some of them
    costs = [{"params": 100.0 if i % 16 == 0 else float(i % 16), "flops": 1.0} for i in range(80)]
    rows, var = with_cost_strata(draws, variables, costs)
    assert "cost:params" in var and "cost:flops" not in var  # a constant cost has one stratum: left out
    picked = balanced_subset(rows, var, 8, random.Random(1))
    assert sum(costs[i]["params"] == 100.0 for i in picked) >= 1
    with pytest.raises(ValueError, match="at least 9 draws"):
        balanced_subset(draws[:8], variables, 9, random.Random(0))


def _imbalance(records) -> float:
    """mednas.search.initial.imbalance of the genotypes of archive ``records``."""
    from mednas.search.initial import imbalance

    return imbalance([SPACE.from_dict({k: r[k] for k in SPACE.gene_names}).to_dict() for r in records],
                     SPACE.variables())


@pytest.mark.parametrize("strategy", ["ga", "nsga2"])
def test_balanced_initial_design_covers_each_gene_within_the_budgets(tmp_path, strategy):
    budgets = {"params": 40_000}  # fake_cost: a 4-stage network fits only at 8-10 filters
    for seed in range(3):
        imbalance = {}
        for design in ("random", "balanced"):
            (tmp_path / f"{design}{seed}").mkdir()
            pool = make_pool(tmp_path / f"{design}{seed}", FakeEvaluator(), 12, budgets=budgets)
            run_strategy(strategy, pool, StrategySettings(population=12, generations=1, seed=seed,
                                                          feasible_init=True, initial_design=design))
            initial = pool.records()
            assert len(initial) == 12 and np.all(pool.objectives.violation(initial) <= 0)
            imbalance[design] = _imbalance(initial)
        # measured: balanced 18.9-20.0, random 22.4-28.2 over seeds 0-4 of both strategies
        assert imbalance["balanced"] < imbalance["random"] - 1.0, (seed, imbalance)
        assert {r["activation"] for r in initial} == set(SPACE.activations)


def test_balanced_initial_design_is_refused_where_a_strategy_has_no_first_generation(tmp_path):
    pool = make_pool(tmp_path, FakeEvaluator(), SETTINGS.budget)
    for strategy in ("random", "moead_sa", "surrogate"):
        with pytest.raises(ConfigError, match="initial_design balanced applies to"):
            run_strategy(strategy, pool, StrategySettings(population=6, generations=4, initial_design="balanced"))
    with pytest.raises(ConfigError, match="search.initial_design must be one of"):
        StrategySettings.from_config({"initial_design": "lhs"})
    from mednas.search.surrogate import check_strategies

    with pytest.raises(ConfigError, match="not to \\['random'\\]"):
        check_strategies({"strategies": ["nsga2", "random"], "initial_design": "balanced"})
