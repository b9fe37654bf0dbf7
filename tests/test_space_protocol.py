"""The engine is space-agnostic: a toy space registered only here runs every strategy; MSTF-NAS's
Eq. 5 normalisation and final pick work on the population being compared."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import pytest

from mednas.errors import ConfigError
from mednas.search.archive import ArchiveLog
from mednas.search.choose import choose
from mednas.search.objectives import Objectives
from mednas.search.pool import CandidatePool, archive_columns
from mednas.search.strategies import STRATEGIES, StrategySettings, _ask_tell, run_strategy
from mednas.space.base import SPACES, IntegerCoding, SearchSpace, VariableSpace, make_space, register_space


@dataclass(frozen=True)
class ToyGenotype:
    a: int
    b: int
    c: int
    d: float

    def key(self) -> str:
        return f"t{self.a}{self.b}{self.c}-{self.d:.3f}"

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "c": self.c, "d": self.d}


@register_space("toy-test-only")
class ToySpace(VariableSpace):
    """Three integer genes and one real one; repair forbids a == b (a 'broken' network) by raising b."""

    repairs = 0

    @classmethod
    def from_config(cls, cfg):
        if cfg:
            raise ConfigError(f"space: unknown key(s) {sorted(cfg)}")
        return cls()

    def variables(self):
        from pymoo.core.variable import Choice, Integer, Real

        return {"a": Integer(bounds=(0, 9)), "b": Integer(bounds=(0, 9)), "c": Choice(options=[0, 2, 4, 6]),
                "d": Real(bounds=(0.0, 1.0))}

    def from_variables(self, x):
        return ToyGenotype(int(x["a"]), int(x["b"]), int(x["c"]), round(float(x["d"]), 3))

    def validate(self, g):
        if not (0 <= g.a <= 9 and 0 <= g.b <= 9 and g.c in (0, 2, 4, 6) and 0 <= g.d <= 1) or g.a == g.b:
            raise ValueError(f"outside the toy space: {g}")
        return g

    def repair(self, g):
        if g.a == g.b:
            ToySpace.repairs += 1
            return ToyGenotype(g.a, (g.b + 1) % 10, g.c, g.d)
        return g


class ToyIndicators:
    metrics = ("jacob_cov", "synflow")

    def __call__(self, g):
        return {"jacob_cov": float(g.a + g.d), "synflow": math.exp(g.b + g.c)}


def toy_cost(g):
    return {"flops": float((g.a + 1) * (g.c + 1)), "params": float(g.b + 1)}


def toy_pool(tmp_path, objectives, budget, name="log.csv"):
    space = make_space({"name": "toy-test-only"})
    log = ArchiveLog(tmp_path / name, archive_columns(space.gene_names, ToyIndicators.metrics, ("params", "flops")),
                     "fp")
    return CandidatePool(space, ToyIndicators(), toy_cost, objectives, log, budget)


MSTF = Objectives.from_config({"evaluator": "zerocost", "objectives": ["mstf"]})


def test_registry_builds_spaces_by_name_and_refuses_unknown_ones():
    assert isinstance(make_space({"name": "toy-test-only"}), SearchSpace)
    assert make_space({"name": "mstf", "blocks": 2, "channels": 8}).gene_names[:3] == ("b0_op0", "b0_in0", "b0_op1")
    assert make_space({"filters": [8, 16]}).name == "cardiac"  # the default space
    with pytest.raises(ConfigError, match="unknown search space 'nope'"):
        make_space({"name": "nope"})
    with pytest.raises(ValueError, match="registered twice"):
        register_space("toy-test-only")(ToySpace)
    assert "toy-test-only" in SPACES


class ToyAccuracy:
    metrics = ("dice_mean",)

    def __call__(self, g):
        return {"dice_mean": (g.a + g.c) / 20 + 0.1 * g.d}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_searches_a_space_it_has_never_seen(tmp_path, strategy):
    settings = StrategySettings(population=6, generations=4, seed=3, sa_solutions=2, sa_steps=2,
                                surrogate={"inner_generations": 5, "ranknet": {"hidden": 32, "epochs": 40}})
    pool = toy_pool(tmp_path, MSTF, 24)
    if strategy == "surrogate":  # a predictor of trained accuracy: MSTF's indicators have none
        with pytest.raises(ConfigError, match="mstf"):
            run_strategy(strategy, pool, settings)
        space = make_space({"name": "toy-test-only"})
        log = ArchiveLog(tmp_path / "acc.csv", archive_columns(space.gene_names, ToyAccuracy.metrics,
                                                               ("params", "flops")), "fp")
        objectives = Objectives.from_config({"evaluator": "inherit", "objectives": ["dice", "flops"]},
                                            {"flops": 70.0})
        pool = CandidatePool(space, ToyAccuracy(), toy_cost, objectives, log, 24)
    run_strategy(strategy, pool, settings)
    records = pool.records()
    assert len(records) >= 24 and len({r["key"] for r in records}) == len(records)
    assert all(r["a"] != r["b"] for r in records)  # every candidate went through repair
    assert pool.population and all(r["key"] in pool.seen for r in pool.population)
    pick = choose(pool, "best_dice" if strategy == "surrogate" else "indicator_sum")
    assert pick["key"] in {r["key"] for r in (pool.records() if strategy == "surrogate" else pool.population)}


def test_integer_coding_of_a_mixed_space_round_trips():
    space = make_space({"name": "toy-test-only"})
    coding = IntegerCoding(space, 0.01)
    assert coding.xl.tolist() == [0, 0, 0, 0] and coding.xu.tolist() == [9, 9, 3, 100]
    g = coding.decode(np.array([3, 7, 2, 25]))
    assert g == ToyGenotype(3, 7, 4, 0.25)
    assert coding.decode(np.array([5, 5, 0, 0])).b == 6  # decoding repairs


def test_eq5_is_normalised_over_survivors_and_offspring_together(tmp_path):
    """Before each NSGA-II survival, every compared member's (f1, f2) equals Eq. 5 computed over the
    merged parents + offspring; per-batch normalisation gave one genotype batch-dependent values."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mixed import MixedVariableDuplicateElimination, MixedVariableMating, MixedVariableSampling
    from pymoo.core.problem import Problem

    compared = []

    class Spy(NSGA2):
        def _advance(self, infills=None, **kwargs):
            compared.append((np.vstack([infills.get("F"), self.pop.get("F")]),
                             list(infills.get("X")) + list(self.pop.get("X"))))
            return super()._advance(infills=infills, **kwargs)

    pool = toy_pool(tmp_path, MSTF, 30)
    space = pool.space
    algorithm = Spy(pop_size=6, sampling=MixedVariableSampling(),
                    mating=MixedVariableMating(eliminate_duplicates=MixedVariableDuplicateElimination()),
                    eliminate_duplicates=MixedVariableDuplicateElimination())
    problem = Problem(vars=space.variables(), n_obj=2)

    def decode(x):
        return space.repair(space.from_variables(x))

    _ask_tell(pool, StrategySettings(population=6, generations=5), algorithm, problem, decode, "nsga2", 30,
              lambda records: (pool.objectives.matrix(records), None))
    assert len(compared) >= 3
    for F, X in compared:
        records = [pool.seen[decode(x).key()] for x in X]
        np.testing.assert_allclose(F, MSTF.matrix(records))
        # on one scale: the compared set spans [0, 1] in each normalised term
        assert F.min() >= 0 and F.max() <= 1


def test_indicator_sum_reads_the_whole_final_population(tmp_path):
    """The pick is the best normalised indicator sum over NSGA-II's final population, members that
    survived from earlier generations included (the old rule read only the last batch)."""
    pool = toy_pool(tmp_path, MSTF, 40)
    run_strategy("nsga2", pool, StrategySettings(population=8, generations=5, seed=4))  # a run where the rules differ
    final = pool.population
    last = max(r["generation"] for r in pool.records())
    assert any(r["generation"] < last for r in final)  # survivors from earlier generations exist
    a = np.array([r["jacob_cov"] for r in final])
    b = np.log([r["synflow"] for r in final])
    score = (a - a.min()) / np.ptp(a) + (b - b.min()) / np.ptp(b)
    pick = choose(pool, "indicator_sum")
    assert pick["key"] == final[int(np.argmax(score))]["key"]
    # the old rule: the same score over only the candidates first seen in the last generation
    batch = [r for r in pool.records() if r["generation"] == last]
    a, b = np.array([r["jacob_cov"] for r in batch]), np.log([r["synflow"] for r in batch])
    old = batch[int(np.argmax((a - a.min()) / np.ptp(a) + (b - b.min()) / np.ptp(b)))]
    assert old["key"] != pick["key"]


def test_mstf_space_decodes_every_sampled_genotype_to_a_working_classifier():
    import torch

    from mednas.models.mstf_net import MSTFNet

    space = make_space({"name": "mstf", "blocks": 3, "channels": 8})
    rng = random.Random(0)
    for _ in range(25):
        g = space.mutate(space.crossover(space.sample(rng), space.sample(rng), rng), rng, 0.3)
        assert space.from_key(g.key()) == g and space.from_dict(g.to_dict()) == g
        assert len(g.genes) == 42
        for k in range(3):
            assert all(src <= i for i, (_, src) in enumerate(g.normal(k)))  # inputs come from earlier nodes
        out = MSTFNet(g, 3, 5, 8)(torch.randn(2, 3, 28, 28))
        assert out.shape == (2, 5) and torch.isfinite(out).all()
