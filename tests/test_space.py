import random

import pytest

from mednas.errors import ConfigError
from mednas.space.cardiac import CONTINUOUS, CardiacSpace, Genotype

SPACE = CardiacSpace()  # Table I bounds


def _genotypes(n, seed=0, space=SPACE):
    rng = random.Random(seed)
    return [space.sample(rng) for _ in range(n)]


def test_sampled_genotypes_lie_in_table_one():
    for g in _genotypes(300):
        assert 32 <= g.filters <= 127 and g.kernel in (1, 3, 5, 7) and 2 <= g.layers <= 4
        assert 0.1 <= g.dropout <= 0.5 and 0.1 <= g.res_scale <= 1.0
        assert g.attention in ("se", "self") and g.fusion in ("add", "concat", "wsum")
        assert g.activation in ("relu", "elu", "tanh", "sigmoid")
    # Every choice is reachable.
    gs = _genotypes(300)
    assert {g.kernel for g in gs} == {1, 3, 5, 7} and {g.layers for g in gs} == {2, 3, 4}
    assert {g.activation for g in gs} == {"relu", "elu", "tanh", "sigmoid"}


def test_distinct_samples_are_distinct_and_reproducible():
    # A tiny space forces repeats in the draw: they must be skipped, not returned twice.
    tiny = CardiacSpace(filters=(8, 9), kernels=(3,), layers=(2, 2), dropout=(0.1, 0.1), attentions=("se",),
                        fusions=("add", "concat"), activations=("relu",), res_scale=(0.5, 0.5))
    gs = tiny.sample_distinct(4, seed=3)
    assert len({g.key() for g in gs}) == 4
    assert [g.key() for g in SPACE.sample_distinct(10, seed=1)] == [g.key() for g in SPACE.sample_distinct(10, seed=1)]
    assert SPACE.sample_distinct(10, seed=1) != SPACE.sample_distinct(10, seed=2)
    with pytest.raises(ConfigError, match="fewer than 5"):
        tiny.sample_distinct(5, seed=0)


def test_round_trip_and_stable_key():
    for g in _genotypes(50):
        again = SPACE.from_dict(g.to_dict())
        assert again == g and again.key() == g.key()
    g = Genotype(64, 3, 4, 0.25, "self", "wsum", "sigmoid", 0.5)
    assert g.key() == "f64-k3-l4-d0.250-self-wsum-sigmoid-r0.500"


@pytest.mark.parametrize("change,gene", [({"filters": 128}, "filters"), ({"kernel": 4}, "kernel"),
                                         ({"layers": 5}, "layers"), ({"dropout": 0.6}, "dropout"),
                                         ({"attention": "cbam"}, "attention"), ({"res_scale": 0.0}, "res_scale")])
def test_validation_names_the_gene(change, gene):
    d = Genotype(64, 3, 3, 0.2, "se", "add", "relu", 0.5).to_dict() | change
    with pytest.raises(ValueError, match=gene):
        SPACE.from_dict(d)


def test_from_dict_rejects_missing_and_extra_keys():
    d = Genotype(64, 3, 3, 0.2, "se", "add", "relu", 0.5).to_dict()
    with pytest.raises(ValueError, match="missing \\['kernel'\\]"):
        SPACE.from_dict({k: v for k, v in d.items() if k != "kernel"})
    with pytest.raises(ValueError, match="unexpected \\['width'\\]"):
        SPACE.from_dict(d | {"width": 3})


def test_mutation_stays_valid_and_changes_things():
    rng = random.Random(1)
    changed = 0
    for g in _genotypes(200, seed=2):
        m = SPACE.mutate(g, rng, rate=0.3)
        SPACE.validate(m)
        changed += m != g
    assert changed > 150
    g = _genotypes(1)[0]
    assert SPACE.mutate(g, rng, rate=0.0) == g


def test_jitter_stays_within_bounds_at_the_edges():
    rng = random.Random(3)
    g = Genotype(32, 1, 2, 0.5, "se", "add", "relu", 1.0)
    for _ in range(200):
        m = SPACE.mutate(g, rng, rate=1.0, jitter=0.5)
        assert 0.1 <= m.dropout <= 0.5 and 0.1 <= m.res_scale <= 1.0


def test_crossover_uniform_and_blend():
    rng = random.Random(4)
    parents = _genotypes(100, seed=5)
    for a, b in zip(parents[::2], parents[1::2]):
        c = SPACE.crossover(a, b, rng)
        for name in ("filters", "kernel", "layers", "attention", "fusion", "activation"):
            assert getattr(c, name) in (getattr(a, name), getattr(b, name))
        for name in CONTINUOUS:
            lo, hi = sorted((getattr(a, name), getattr(b, name)))
            assert lo - 1e-3 <= getattr(c, name) <= hi + 1e-3
    # p = 0 copies the first parent's discrete genes, p = 1 the second's.
    a, b = parents[0], parents[1]
    assert SPACE.crossover(a, b, rng, p=0.0).filters == a.filters
    assert SPACE.crossover(a, b, rng, p=1.0).fusion == b.fusion


def test_space_config_errors():
    with pytest.raises(ConfigError, match="kernels"):
        CardiacSpace(kernels=(2, 3))
    with pytest.raises(ConfigError, match="space.filters"):
        CardiacSpace(filters=(64, 32))
    with pytest.raises(ConfigError, match="unknown key"):
        CardiacSpace.from_config({"filter": [1, 2]})
    assert CardiacSpace.from_config({"filters": [8, 16]}).filters == (8, 16)
