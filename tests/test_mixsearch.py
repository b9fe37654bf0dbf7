"""MixSearch (seed 001): dataset mixing, the weaved space, the bilevel search, config checks, tables."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mednas.data.mixing import CompositeSampler, MixSettings, mix, mixing_weights
from mednas.data.slices import SliceSet
from mednas.data.volume import LabelSet
from mednas.errors import ConfigError, DataError
from mednas.models.registry import build_model, input_multiple
from mednas.models.weaved_net import WeavedSupernet, build_weaved, halve
from mednas.search.differentiable import BilevelSettings, bilevel_search, bilevel_step, soft_label_loss
from mednas.space.weaved import (DOWN_OPS, NORMAL_OPS, STEM, UP_OPS, Grid, WeavedGenotype, cell_edges,
                                 sample_genotype)

REPO = Path(__file__).resolve().parents[1]


def slice_set(images: np.ndarray, labels: np.ndarray, names=("background", "lesion"), channels=None) -> SliceSet:
    n = len(images)
    channels = channels or tuple(f"c{i}" for i in range(images.shape[1]))
    return SliceSet(images.astype(np.float32), labels.astype(np.uint8), np.array([f"case{i}" for i in range(n)]),
                    np.zeros(n, int), np.ones((n, 3)), "pixel", np.array([f"case{i}" for i in range(n)]),
                    LabelSet(tuple(names), tuple(channels)))


def blobs(n: int, size: int, seed: int, channels: int = 3) -> SliceSet:
    """Bright discs on noise: a task a tiny network learns in a few steps."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    labels = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        cy, cx, r = rng.integers(size // 4, 3 * size // 4, 2).tolist() + [int(rng.integers(size // 8, size // 4))]
        labels[i] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    images = labels[:, None].repeat(channels, 1) + rng.normal(0, 0.3, (n, channels, size, size))
    return slice_set(images, labels)


# -- mixing (Eqs. 2-4) --
@pytest.mark.parametrize("k,mu", [(1, 1.0), (2, 0.5), (3, 1.0), (4, 0.2)])
def test_mixing_weights_are_a_softmax_of_beta_draws(k, mu):
    w = mixing_weights(k, mu, np.random.default_rng(0), 2000)
    assert w.shape == (2000, k)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)
    # softmax of values in [0, 1]: no weight exceeds e times another
    assert (w.max(1) / w.min(1)).max() <= np.e + 1e-9
    if k > 1:
        assert w.std() > 0  # random, not uniform


def test_mixed_labels_carry_the_weights_of_the_mixed_images():
    """Each slice's image is a one-hot channel, so a mixed image shows the weights it was mixed
    with; its soft label must be the same weights summed per class (Eq. 4 with Eq. 2's weights)."""
    n, size = 6, 4
    images = np.zeros((n, n, size, size))
    for i in range(n):
        images[i, i] = 1.0
    labels = np.stack([np.full((size, size), i % 2) for i in range(n)])
    sampler = CompositeSampler([slice_set(images[:3], labels[:3]), slice_set(images[3:], labels[3:])],
                               MixSettings(k=3, mu=0.5, mix_fraction=1.0), seed=0)
    x, y = sampler.batch(20)
    assert x.shape == (20, n, size, size) and y.shape == (20, 2, size, size)
    torch.testing.assert_close(y.sum(1), torch.ones(20, size, size))
    weights = x[:, :, 0, 0]  # the weight of every slice in every mixed sample
    torch.testing.assert_close(weights.sum(1), torch.ones(20))
    assert ((weights > 0).sum(1) == 3).all()  # k distinct slices
    torch.testing.assert_close(y[:, 1, 0, 0], weights[:, 1::2].sum(1))  # odd slices are class 1
    torch.testing.assert_close(y[:, 0, 0, 0], weights[:, 0::2].sum(1))


def test_without_mixing_a_batch_is_original_samples_of_the_union():
    a, b = blobs(5, 8, 0), blobs(7, 8, 1)
    sampler = CompositeSampler([a, b], MixSettings(k=1), seed=0)
    x, y = sampler.batch(40)
    union = np.concatenate([a.image, b.image])
    for xi, yi in zip(x.numpy(), y.numpy()):
        hits = np.where(np.abs(union - xi).reshape(len(union), -1).max(1) == 0)[0]
        assert len(hits) == 1
        assert set(np.unique(yi)) <= {0.0, 1.0}  # one-hot, not mixed


def test_mix_is_the_weighted_sum():
    imgs, oh = torch.randn(2, 3, 1, 4, 4), torch.rand(2, 3, 2, 4, 4)
    w = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
    mx, my = mix(imgs, oh, w)
    torch.testing.assert_close(mx[0], 0.2 * imgs[0, 0] + 0.3 * imgs[0, 1] + 0.5 * imgs[0, 2])
    torch.testing.assert_close(my[1], oh[1, 0])


def test_domains_of_different_label_sets_are_refused():
    a = blobs(4, 8, 0)
    b = slice_set(a.image, a.label, names=("background", "polyp", "rim"))
    with pytest.raises(DataError, match="differ in classes or channels"):
        CompositeSampler([a, b], MixSettings(k=2), seed=0)


@pytest.mark.parametrize("kw,match", [({"k": 0}, "k 0"), ({"mu": 0.0}, "mu 0.0"), ({"mix_fraction": 1.5}, "mix_fraction")])
def test_bad_mix_settings_name_the_setting(kw, match):
    with pytest.raises(ConfigError, match=match):
        MixSettings(**kw)


# -- the weaved space --
def test_grid_of_the_papers_stages():
    """D = 5, L = 8 and D = 6, L = 10 (Algorithm 1's stages): the deepest map is X^{D-1,D-1}, the
    last X^{1,L-1}; the paper's named maps exist; every input comes before its map."""
    for depth, layers, count in ((5, 8, 10), (6, 10, 15)):
        g = Grid(depth, layers)
        nodes = g.nodes()
        assert len(nodes) == count and max(d for d, _ in nodes) == depth - 1 and nodes[-1] == (1, layers - 1)
        seen = {STEM}
        for n in nodes:
            ins = g.inputs(n)
            assert ins, n
            for pair in ins.values():
                assert all(i in seen for i in pair if i is not None)
            seen.add(n)
    g = Grid(6, 10)
    assert {(2, 4), (2, 6), (2, 8), (1, 5), (1, 7), (1, 9)} <= set(g.nodes())
    assert g.inputs((2, 8)) == {"down": ((2, 6), (1, 7)), "normal": ((2, 6), (2, 4)), "up": ((2, 6), (3, 7))}
    assert g.outputs(3) == [(1, 5), (1, 7), (1, 9)]
    assert len(cell_edges()) == 14


def _peaked_supernet(grid: Grid) -> WeavedSupernet:
    sn = WeavedSupernet(grid, 4, True, 3, 2, 2)
    prefer = {"down": "max_pool", "up": "atrous_conv_t", "normal": "sep_conv"}
    with torch.no_grad():
        for key, p in sn.alpha.items():
            branch, e = key.split(":")
            src = cell_edges()[int(e)][0]
            kind = branch if src == 1 and branch in ("down", "up") else "normal"
            p.zero_()
            p[sn.op_sets[kind].index(prefer[kind])] = 1.0
        for name, p in sn.beta.items():
            branches = sn.branches[tuple(int(v) for v in name.split(","))]
            p.zero_()
            p[branches.index("normal" if "normal" in branches else "up")] = 1.0
    return sn


def test_discretisation_gives_the_genotype_the_retraining_builds():
    sn = _peaked_supernet(Grid(4, 6))
    geno = sn.genotype()
    assert set(geno.cells) == {"down", "normal"}  # no map prefers its up branch
    assert set(geno.cells["normal"]) == {"sep_conv"}
    assert {op for (src, _), op in zip(cell_edges(), geno.cells["down"]) if src == 1} == {"max_pool"}
    assert {op for (src, _), op in zip(cell_edges(), geno.cells["down"]) if src != 1} == {"sep_conv"}
    for name, kept in geno.nodes.items():
        branches = sn.branches[tuple(int(v) for v in name.split(","))]
        assert kept == ("normal" if "normal" in branches else "down",)
    # the file the search writes, read back by the retraining rule's builder
    spec = {"kind": "weaved", "genotype": WeavedGenotype.from_dict(geno.to_dict()).to_dict(), "in_channels": 3,
            "num_classes": 2}
    net = build_model(spec)
    built = {name.split(":")[1] for name in net.cells}
    assert built <= geno.branches_used() and len(net.cells) == len(net.order)
    ops = [type(m).__name__ for m in net.modules()]
    assert "MaxPool2d" in ops and "ConvTranspose2d" not in ops
    # every edge of the discrete network holds exactly the genotype's op: pooling on the down
    # cells' edges from the shallower input, a depthwise-separable convolution everywhere else
    for key, cell in net.cells.items():
        assert len(cell.edges) == 14
        for (src, _), edge in zip(cell_edges(), cell.edges):
            if not hasattr(edge, "ops"):
                continue  # an edge from an input the map does not have
            assert len(edge.ops) == 1
            kinds = [type(m).__name__ for m in edge.ops[0].modules()]
            if key.endswith(":down") and src == 1:
                assert "MaxPool2d" in kinds
            else:
                assert sum(isinstance(m, torch.nn.Conv2d) and m.groups == m.in_channels > 1
                           for m in edge.ops[0].modules()) == 1
    net.eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 2, 32, 32)
    assert input_multiple(spec) == 8


def test_keeping_every_branch_builds_the_whole_weave():
    """keep_branches all: each map sums all its branches' cells (ops still by argmax), so no map
    is pruned and the network reaches the deepest level; argmax keeps one cell per map."""
    sn = _peaked_supernet(Grid(4, 6))
    whole = sn.genotype("all")
    assert all(kept == sn.branches[n] for n, kept in whole.node_branch().items())
    assert whole.cells == {b: c for b, c in sn.genotype().cells.items()} | {"up": whole.cells["up"]}
    net = build_weaved(WeavedGenotype.from_dict(whole.to_dict()), 3, 2)
    assert len(net.order) == len(Grid(4, 6).nodes())
    assert len(net.cells) == sum(len(b) for b in sn.branches.values())
    assert (3, 3) in net.order
    net.eval()
    assert net(torch.randn(1, 3, 32, 32)).shape == (1, 2, 32, 32)
    with pytest.raises(ValueError, match="keep_branches"):
        sn.genotype("some")
    with pytest.raises(ConfigError, match="keep_branches"):
        BilevelSettings(keep_branches="some")


def test_random_genotypes_build_and_prune_unused_maps():
    rng = random.Random(0)
    for _ in range(10):
        g = sample_genotype(rng, 4, 6, 4, doubling=rng.random() < 0.5, deep_supervision=rng.choice([1, 2, 3]))
        net = build_weaved(g, 1, 3)
        assert set(net.order) == set(g.grid.needed(g.node_branch(), g.grid.outputs(g.deep_supervision)))
        net.train()
        out = net(torch.randn(2, 1, 16, 16))
        outs = out if isinstance(out, list) else [out]
        assert len(outs) == min(g.deep_supervision, 3) and outs[-1].shape == (2, 3, 16, 16)
        net.eval()
        assert net(torch.randn(1, 1, 16, 16)).shape == (1, 3, 16, 16)


def test_a_genotype_with_a_branch_a_map_cannot_have_is_refused():
    g = sample_genotype(random.Random(1), 4, 6, 4).to_dict()
    g["nodes"]["1,1"] = "up"  # X^{1,1} has only the down branch (from the stem)
    with pytest.raises(ConfigError, match="map 1,1 has no 'up' branch"):
        WeavedGenotype.from_dict(g)
    g = sample_genotype(random.Random(1), 4, 6, 4).to_dict()
    g["cells"][g["nodes"]["1,3"][0]][0] = "max_pool"  # edge 0 (from the first input) takes a normal op
    with pytest.raises(ConfigError, match="'max_pool' is not one of"):
        WeavedGenotype.from_dict(g)


def test_halving_keeps_the_better_half_of_each_op_set():
    scores = {"down": dict(zip(DOWN_OPS, [0.1, 0.3, 0.2, 0.25, 0.05, 0.1])),
              "up": dict(zip(UP_OPS, [0.4, 0.1, 0.3, 0.2])),
              "normal": dict(zip(NORMAL_OPS, [0.3, 0.1, 0.2, 0.15, 0.12, 0.13]))}
    out = halve({"down": DOWN_OPS, "up": UP_OPS, "normal": NORMAL_OPS}, scores)
    assert out == {"down": ("max_pool", "conv", "atrous_conv"), "up": ("conv_t", "sep_conv_t"),
                   "normal": ("identity", "conv", "atrous_conv")}


# -- the bilevel search --
def _step_setup(seed=0):
    torch.manual_seed(seed)
    sn = WeavedSupernet(Grid(3, 4), 4, True, 3, 2, 1)
    w_opt = torch.optim.SGD(sn.weight_parameters(), 0.05, momentum=0.9)
    arch = sn.arch_parameters()
    a_opt = torch.optim.Adam(arch["alpha"] + arch["beta"], 0.01)
    return sn, w_opt, a_opt


def _batch(seed):
    s = blobs(4, 16, seed)
    return torch.from_numpy(s.image), torch.nn.functional.one_hot(torch.from_numpy(s.label).long(), 2).permute(
        0, 3, 1, 2).float()


def test_a_bilevel_step_updates_weights_and_architecture_each_on_its_own_half():
    loss_fn = soft_label_loss()
    # parameters only: BatchNorm's running statistics follow every forward pass in training mode
    state = lambda sn: ({k: v.detach().clone() for k, v in sn.net.named_parameters()},  # noqa: E731
                        torch.cat([p.detach().flatten() for p in sn.alpha.values()] +
                                  [p.detach().flatten() for p in sn.beta.values()]))
    w_batch, a_batch, other = _batch(0), _batch(1), _batch(2)
    # warm-up: the weights move, the architecture does not
    sn, w_opt, a_opt = _step_setup()
    w0, a0 = state(sn)
    bilevel_step(sn, w_opt, a_opt, loss_fn, w_batch, None, 5.0)
    w1, a1 = state(sn)
    assert torch.equal(a0, a1) and any(not torch.equal(w0[k], w1[k]) for k in w0)
    # search: the same weight batch and another architecture batch give the same weights, other alpha/beta
    runs = []
    for arch_batch in (a_batch, other):
        sn, w_opt, a_opt = _step_setup()
        bilevel_step(sn, w_opt, a_opt, loss_fn, w_batch, arch_batch, 5.0)
        runs.append(state(sn))
    assert all(torch.equal(runs[0][0][k], runs[1][0][k]) for k in runs[0][0])
    assert not torch.equal(runs[0][1], runs[1][1]) and not torch.equal(runs[0][1], a0)
    # another weight batch, the same architecture batch: other weights
    sn, w_opt, a_opt = _step_setup()
    bilevel_step(sn, w_opt, a_opt, loss_fn, other, a_batch, 5.0)
    assert any(not torch.equal(runs[0][0][k], state(sn)[0][k]) for k in runs[0][0])


TINY = BilevelSettings(stages=((3, 4), (3, 4)), channels=4, deep_supervision=2, epochs=3, warmup_epochs=1,
                       steps_per_epoch=2, batch_size=4, arch_lr=0.01)


def _samplers(seed=0):
    doms = [blobs(8, 16, 0), blobs(8, 16, 1)]
    return (CompositeSampler(doms, MixSettings(k=2, mu=0.5), seed),
            CompositeSampler([blobs(8, 16, 2), blobs(8, 16, 3)], MixSettings(k=2, mu=0.5), seed + 1))


def test_two_stage_search_halves_the_op_sets_and_writes_a_buildable_genotype():
    torch.set_num_threads(1)
    w, a = _samplers()
    res = bilevel_search(w, a, 3, 2, TINY, "cpu", 0)
    assert [len(s["normal"]) for s in res.op_sets] == [6, 3] and [len(s["up"]) for s in res.op_sets] == [4, 2]
    for branch, ops in res.genotype.cells.items():
        for (src, _), op in zip(cell_edges(), ops):
            kind = branch if src == 1 and branch in ("down", "up") else "normal"
            assert op in res.op_sets[1][kind]
    assert [r["stage"] for r in res.rows] == [0, 0, 0, 1, 1, 1]
    assert np.isnan(res.rows[0]["arch_loss"]) and not np.isnan(res.rows[1]["arch_loss"])
    net = build_weaved(WeavedGenotype.from_dict(res.genotype.to_dict()), 3, 2).eval()
    assert net(torch.randn(1, 3, 16, 16)).shape == (1, 2, 16, 16)
    for probs in res.alpha.values():
        assert abs(sum(probs) - 1) < 1e-4


def test_a_killed_search_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    import mednas.search.differentiable as diff

    torch.set_num_threads(1)
    w, a = _samplers()
    whole = bilevel_search(w, a, 3, 2, TINY, "cpu", 0)
    saves = {"n": 0}
    real = diff.save_checkpoint

    def dying(path, state):
        real(path, state)
        saves["n"] += 1
        if saves["n"] == 5:  # after stage 1's first epoch (3 epochs + the stage boundary + 1)
            raise KeyboardInterrupt("killed")

    ck = tmp_path / "last.pt"
    monkeypatch.setattr(diff, "save_checkpoint", dying)
    w, a = _samplers()
    with pytest.raises(KeyboardInterrupt):
        bilevel_search(w, a, 3, 2, TINY, "cpu", 0, ck, "fp")
    monkeypatch.setattr(diff, "save_checkpoint", real)
    w, a = _samplers()  # a fresh process: new samplers, state from the checkpoint
    resumed = bilevel_search(w, a, 3, 2, TINY, "cpu", 0, ck, "fp")
    assert resumed.genotype == whole.genotype
    assert resumed.alpha == whole.alpha and resumed.beta == whole.beta
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert str(strip(resumed.rows)) == str(strip(whole.rows))


def test_bad_search_settings_name_the_key():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['epoch'\]"):
        BilevelSettings.from_config({"epoch": 3})
    with pytest.raises(ConfigError, match="warmup_epochs 5"):
        BilevelSettings.from_config({"epochs": 5, "warmup_epochs": 5})
    with pytest.raises(ConfigError, match="layers 7 must be an even number"):
        BilevelSettings.from_config({"stages": [[4, 7]]})


# -- config checks and tables --
def _mix_config(tmp_path, **mix):
    from synthetic_sets import write_nnunet_dataset

    doms = {}
    for i, name in enumerate(("a", "b", "c")):
        doms[name] = str(write_nnunet_dataset(tmp_path / f"Dataset50{i}_{name}", ["spot"], ["R", "G", "B"],
                                              n_cases=6, shape=(1, 24, 24), ending=".png", seed=i, name=name))
    section = {"domains": doms, "searches": {"union": {"sources": ["a", "b"]}, "mix": {"sources": ["a", "b"], "k": 2}},
               "targets": ["a", "b"], "unseen": ["c"], "unseen_models": ["mix"], "baselines": {"unet": {"base": 4, "depth": 2}},
               "search": {"stages": [[3, 4]]}}
    section.update(mix)
    return {"experiment": "m", "task": "mixsearch", "preprocess": {"image_size": 16}, "mixsearch": section}


def test_mixsearch_config_checks_name_the_key(tmp_path):
    from mednas.search.mixsearch_config import check_mixsearch

    cfg = _mix_config(tmp_path)
    assert check_mixsearch(cfg) == {"a": "a", "b": "b", "c": "c"}
    bad = _mix_config(tmp_path / "1", unseen_models=["union"], unseen=["b"])
    with pytest.raises(ConfigError, match=r"search 'union' trains on \['b'\], which mixsearch.unseen holds out"):
        check_mixsearch(bad)
    bad = _mix_config(tmp_path / "2", searches={"x": {"sources": ["a", "zz"]}}, unseen_models=[])
    with pytest.raises(ConfigError, match=r"searches.x.sources: \['zz'\] not in mixsearch.domains"):
        check_mixsearch(bad)
    bad = _mix_config(tmp_path / "3")
    bad["preprocess"]["image_size"] = 18
    with pytest.raises(ConfigError, match="image size 18 must be divisible by 4"):
        check_mixsearch(bad)
    bad = _mix_config(tmp_path / "4")
    bad["mixsearch"]["domains"]["b"] = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"mixsearch.domains.b: .*nowhere is not a folder"):
        check_mixsearch(bad)


def test_tables_put_measured_rows_first_and_the_papers_beside_them(tmp_path):
    from mednas.report import mixsearch

    geno = sample_genotype(random.Random(0), 3, 4, 4, deep_supervision=3).to_dict()
    summary = lambda d, p: {"dice": d, "jaccard": d / (2 - d), "dice_std": 0.1, "cases": 40, "params": p,  # noqa: E731
                            "gflops": 0.1, "image_size": 64, "device": "cpu", "spec": {"kind": "x", "genotype": geno}}
    summaries = {("mix", "a"): {0: summary(0.8, 20000)}, ("unet", "a"): {0: summary(0.7, 500000)}}
    searches = {"mix": {"sources": ["a", "b"], "k": 3, "mu": 1.0}}
    rows = mixsearch.measured_rows(summaries, searches, {"mix": {0: {"search_seconds": 120}}},
                                   {"a": "PH2", "b": "Kvasir"})
    assert [r["method"] for r in rows] == ["MixSearch (k=3)", "U-Net"]
    assert rows[0]["search_data"] == "PH2+Kvasir" and rows[0]["ds"] == "yes" and rows[0]["search_minutes"] == 2.0
    assert rows[0]["dice_pct"] == 80.0 and rows[0]["jaccard_pct"] == round(100 * 0.8 / 1.2, 2)
    assert rows[0]["dice_sd_seeds_pct"] == "" and rows[0]["seeds"] == "0"
    # replicates: the mean over seeds, their SD, each seed's Dice, the mean search time per search
    two = mixsearch.measured_rows({("mix", "a"): {0: summary(0.8, 20000), 2: summary(0.7, 40000)}}, searches,
                                  {"mix": {0: {"search_seconds": 120}, 2: {"search_seconds": 240}}},
                                  {"a": "PH2", "b": "Kvasir"})[0]
    assert two["dice_pct"] == 75.0 and two["dice_sd_seeds_pct"] == round(0.1 * 100 / 2 ** 0.5, 2)
    assert two["seeds"] == "0 2" and two["dice_per_seed"] == "80.00 70.00" and two["params_m"] == 0.03
    assert two["search_minutes"] == 3.0 and two["dice_sd_pct"] == 10.0
    with pytest.raises(DataError, match=r"no search cost for replicate\(s\) \[2\]"):
        mixsearch.measured_rows({("mix", "a"): {2: summary(0.7, 1)}}, searches, {"mix": {0: {"search_seconds": 1}}},
                                {"a": "PH2", "b": "Kvasir"})
    paper = mixsearch.paper_rows(REPO / "config" / "paper" / "mixsearch_table3.csv")
    assert len(paper) == 18 * 3 and {r["rows"] for r in paper} == {"paper"}
    mix3 = [r for r in paper if r["method"] == "MixSearch (k=3)" and r["search_data"] == "Composite" and r["mu"] == "1"]
    assert [(r["target"], r["dice_pct"]) for r in mix3] == [("ISIC", "90.07"), ("CVC", "92.75"), ("CHAOS-CT", "95.68")]
    out = tmp_path / "t.csv"
    mixsearch.write_table(out, rows, paper)
    with open(out, newline="") as fh:
        table = list(csv.DictReader(fh))
    kinds = [r["rows"] for r in table]
    assert kinds == ["measured"] * 2 + ["paper"] * 54
    assert mixsearch.method_of({"sources": ["a"]}) == "DedicatedSearch"
    assert mixsearch.method_of({"sources": ["a", "b"], "k": 1}) == "UnionSearch"
    six = mixsearch.paper_rows(REPO / "config" / "paper" / "mixsearch_table6.csv")
    assert {r["target"] for r in six} == {"ETIS", "LiTS", "KiTS"} and len(six) == 21


def test_jaccard_of_known_masks():
    from mednas.metrics.segmentation import dice, jaccard

    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True  # 8 px
    b[1:3] = True  # 8 px, 4 shared
    assert jaccard(a, b) == 4 / 12 and dice(a, b) == 0.5
    assert jaccard(a, a) == 1.0 and jaccard(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0


def test_attention_unet_baseline_comes_from_monai():
    from monai.networks.nets import AttentionUnet

    from mednas.models.registry import baseline_spec, fit_to_data

    spec = fit_to_data(baseline_spec("attention_unet", {"base": 4, "depth": 2}), 3, 2)
    net = build_model(spec)
    assert isinstance(net, AttentionUnet)
    assert net(torch.randn(1, 3, 16, 16)).shape == (1, 2, 16, 16)


def test_deep_supervision_heads_train_through_the_shared_loop(tmp_path):
    """The retraining loop takes a list of heads' logits (training mode) and averages their losses."""
    from mednas.train.loop import TrainSettings, fit

    g = sample_genotype(random.Random(3), 3, 4, 4, deep_supervision=2)
    torch.manual_seed(0)
    net = build_weaved(g, 3, 2)
    data = blobs(16, 16, 0)
    settings = TrainSettings(epochs=2, batch_size=8, optimizer="adamw", lr=0.01, steps_per_epoch=3, threads=1)
    res = fit(net, data, settings, "cpu", 0, archs_per_step=lambda rng: [None], validate=lambda m: {"dice_mean": 0.5},
              checkpoint=tmp_path / "last.pt", fingerprint="", keep_best=False)
    assert len(res.rows) == 2 and all(np.isfinite(r["train_loss"]) for r in res.rows)


@pytest.mark.slow
def test_whole_mixsearch_dag_on_generated_domains(tmp_path):
    """Three generated RGB PNG domains: prepare, Dedicated / Union / Mix searches, retraining and
    evaluation per domain, Tables III and VI with the paper's rows beside, audited."""
    from workflow_util import mednas, snakemake

    import yaml

    cfg = _mix_config(tmp_path)
    mix_section = cfg["mixsearch"]
    mix_section["searches"] = {"dedicated-a": {"sources": ["a"]}, "union": {"sources": ["a", "b"]},
                               "mix": {"sources": ["a", "b"], "k": 2, "mu": 0.5}}
    mix_section.update(
        unseen_models=["mix"], threads=1,
        search={"stages": [[3, 4], [3, 4]], "channels": 4, "deep_supervision": 2, "epochs": 2, "warmup_epochs": 1,
                "steps_per_epoch": 2, "batch_size": 2},
        retrain={"epochs": 2, "steps_per_epoch": 2},
        baselines={"unet": {"base": 4, "depth": 2}, "attention_unet": {"base": 4, "depth": 2}},
        paper_table3=str(REPO / "config" / "paper" / "mixsearch_table3.csv"),
        paper_table6=str(REPO / "config" / "paper" / "mixsearch_table6.csv"))
    cfg.update(device="cpu", seeds=[0, 1], split={"source": "fractions", "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}},
               preprocess={"image_size": 16, "fit": "resize", "target_spacing": None},
               train={"batch_size": 2, "val_batch_size": 4, "optimizer": "adamw", "lr": 0.01, "threads": 1})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # the tables follow the config's order
    res = snakemake(tmp_path, "results/m/table3_domains.csv", "results/m/table6_unseen.csv", "--configfile", str(path),
                    timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    with open(tmp_path / "results" / "m" / "table3_domains.csv", newline="") as fh:
        t3 = list(csv.DictReader(fh))
    measured = [r for r in t3 if r["rows"] == "measured"]
    assert [(r["model"], r["target"]) for r in measured] == [
        (m, d) for m in ("dedicated-a", "union", "mix", "unet", "attention_unet") for d in ("a", "b")]
    assert {r["method"] for r in measured} == {"DedicatedSearch", "UnionSearch", "MixSearch (k=2)", "U-Net",
                                              "Attention U-Net"}
    assert all(0 <= float(r["dice_pct"]) <= 100 for r in measured)
    assert [r["rows"] for r in t3] == ["measured"] * 10 + ["paper"] * 54
    with open(tmp_path / "results" / "m" / "table6_unseen.csv", newline="") as fh:
        t6 = [r for r in csv.DictReader(fh) if r["rows"] == "measured"]
    assert [(r["model"], r["target"]) for r in t6] == [("mix", "c"), ("unet", "c"), ("attention_unet", "c")]
    assert {r["seeds"] for r in measured + t6} == {"0 1"}  # two replicates per row
    mix = tmp_path / "results" / "m" / "mixsearch"
    for k in (0, 1):  # replicate k searched with seed + k and retrained its own search's network
        geno = json.loads((mix / "search" / "mix" / f"seed{k}" / "genotype.json").read_text())
        model = torch.load(mix / "models" / "mix" / "c" / f"seed{k}" / "model.pt", weights_only=False)
        assert model["spec"]["genotype"] == geno["genotype"]
        assert json.loads((mix / "search" / "mix" / f"seed{k}" / "genotype.json.prov.json").read_text())["seed"] == k
        dice = [json.loads((mix / "models" / "mix" / d / f"seed{k}" / "summary.json").read_text())["dice"]
                for d in ("a", "b")]
        assert [float(r["dice_per_seed"].split()[k]) for r in measured if r["model"] == "mix"] == \
               [round(100 * x, 2) for x in dice]
    audit = mednas(tmp_path, "audit", "results/m/table3_domains.csv")
    assert audit.returncode == 0, audit.stdout[-2000:]
