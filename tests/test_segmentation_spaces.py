"""A segmentation space other than the cardiac one, through the engine: the registry builds its
networks, the search trains and costs them without a look-up table or a supernet, the pick's spec
is what the retraining builds, and what a space lacks is an error naming the config key."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from mednas.cost.complexity import count_flops, count_params
from mednas.errors import ConfigError
from mednas.models.registry import (baseline_spec, build_model, check_image_size, fit_to_data, input_multiple,
                                    network_kinds, searched_spec)
from mednas.search.stages import check_segmentation_search, run_search
from mednas.space.base import SegmentationSpace, make_space

SMALL = {"name": "unet_widths", "bases": [4, 8], "depths": [1, 3]}
TRAIN = {"batch_size": 4, "lr": 0.01, "val_batch_size": 16, "optimizer": "adamw", "schedule": "constant",
         "warmup": 0.0, "augment": {"flip": True, "rotate_deg": 0, "scale": [1.0, 1.0], "intensity": 0.0}}


def test_unet_widths_space_builds_the_unet_of_its_genotype():
    space = make_space(SMALL)
    assert isinstance(space, SegmentationSpace) and "unet_widths" in network_kinds("segmentation")
    assert "unet_widths" not in network_kinds("classification")
    g = space.from_dict({"base": 6, "depth": 2})
    spec = searched_spec(space, g, 3, 5, 32)
    net = build_model(spec)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 5, 32, 32)
    unet = build_model(fit_to_data(baseline_spec("unet", {"base": 6, "depth": 2}), 3, 5))
    assert count_params(net) == count_params(unet)  # the baseline U-Net at the genotype's width and depth
    assert input_multiple(spec) == 4 and space.largest().to_dict() == {"base": 8, "depth": 3}
    with pytest.raises(ConfigError, match=r"space.bases must be two integers"):
        make_space({"name": "unet_widths", "bases": [8]})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['filters'\] for space 'unet_widths'"):
        make_space({"name": "unet_widths", "filters": [8, 16]})
    with pytest.raises(ConfigError, match=r"image_size 36 must be divisible by 8 for space.depths"):
        check_image_size(36, SMALL, {})


@pytest.mark.parametrize("space_cfg, search_cfg, message", [
    ({"name": "mstf"}, {"evaluator": "proxy"},
     r"space.name: space 'mstf' builds classification networks, not segmentation ones; spaces with a "
     r"segmentation network: \['cardiac', 'unet_widths'\]"),
    (SMALL, {"evaluator": "inherit"}, r"search.evaluator: inherit needs a weight-sharing supernet.*'unet_widths'"),
    (SMALL, {"evaluator": "proxy", "objectives": ["dice", "latency"]},
     r"search.objectives: latency needs the latency look-up table"),
    (SMALL, {"evaluator": "proxy", "objectives": ["dice"], "budgets": {"params": None, "latency_ms": 40}},
     r"search.budgets.latency_ms: latency needs the latency look-up table"),
    (SMALL, {"evaluator": "proxy", "objectives": ["dice", "params"], "surrogate": {"spread": "latency_ms"}},
     r"search.surrogate.spread: latency needs the latency look-up table"),
])
def test_what_a_segmentation_space_lacks_is_named(space_cfg, search_cfg, message):
    with pytest.raises(ConfigError, match=message):
        check_segmentation_search(space_cfg, search_cfg)


def test_a_supernet_for_another_space_is_refused_before_any_data_is_read(tmp_path):
    from mednas.train.stages import run_train_supernet

    missing = str(tmp_path / "absent.npz")  # never opened: the space is checked first
    with pytest.raises(ConfigError, match=r"space.name: space 'unet_widths' has no weight-sharing supernet"):
        run_train_supernet(missing, missing, SMALL, {}, TRAIN, {"epochs": 1}, 0, "cpu", str(tmp_path / "ck.pt"),
                           str(tmp_path / "s.pt"), str(tmp_path / "c.csv"))


def test_the_cardiac_space_keeps_its_supernet_latency_and_specs():
    """The cardiac space may ask for everything; its searched spec is the one the retraining built
    before specs came from the search (so retraining fingerprints, and cached models, are unchanged)."""
    from mednas.models.cardiac_net import ArchSettings
    from mednas.models.registry import cardiac_spec

    check_segmentation_search({}, {"evaluator": "inherit", "objectives": ["dice", "latency"],
                                   "budgets": {"latency_ms": 40}, "surrogate": {"spread": "latency_ms"}})
    space = make_space({"filters": [8, 16]})
    arch_cfg = {"growth": 2.0, "se_reduction": 4}
    for g in space.sample_distinct(3, 0):
        old = fit_to_data(cardiac_spec(g, ArchSettings.from_config(arch_cfg, 1, 2)), 3, 5)
        assert searched_spec(space, g, 3, 5, 64, arch_cfg) == old


def test_a_space_without_latency_may_budget_params_and_flops():
    check_segmentation_search(SMALL, {"evaluator": "proxy", "objectives": ["dice", "flops"],
                                      "budgets": {"params": 1e6, "latency_ms": None}})


def test_archive_read_back_keeps_any_space_genes_types(tmp_path):
    """A resumed search reads its live log back: integer genes of any space stay integers (they were
    floats for every space but the cardiac one), names stay names, scores stay floats."""
    from mednas.search.archive import read_records

    path = tmp_path / "archive.csv"
    path.write_text("generation,phase,key,base,depth,mode,dice_mean,params\n1,nsga2,unet-b8-d2,8,2,up,0.5,1200\n"
                    "2,nsga2,unet-b4-d3,4,3,down,nan,300\n")
    rows = read_records(path)
    assert rows[0]["base"] == 8 and isinstance(rows[0]["base"], int) and isinstance(rows[1]["depth"], int)
    assert rows[0]["mode"] == "up" and rows[0]["dice_mean"] == 0.5 and rows[1]["dice_mean"] != rows[1]["dice_mean"]


def test_search_over_unet_widths_trains_costs_and_picks_without_a_lut(phantom_prepared, tmp_path):
    """The search stage on another space: proxy-trained candidates, params and FLOPs counted on the
    built networks, and chosen.json's spec is the pick's network at the data's channels and classes."""
    from mednas.data.slices import load_slices

    search = {"evaluator": "proxy", "proxy": {"epochs": 1, "steps_per_epoch": 2}, "choose": "best_dice",
              "objectives": ["dice", "params"], "budgets": {"params": None, "flops": None, "latency_ms": None},
              "population": 3, "generations": 2, "seed": 0}
    outputs = {k: str(tmp_path / f"{k}.{'csv' if k in ('archive', 'pareto', 'hypervolume') else 'json'}")
               for k in ("archive", "pareto", "hypervolume", "chosen", "cost")}
    run_search("nsga2", search, SMALL, {}, TRAIN, {}, 0, "cpu", str(phantom_prepared / "train.npz"),
               str(phantom_prepared / "val.npz"), None, None, str(tmp_path / "work"), outputs)
    with open(outputs["archive"], newline="") as fh:
        archive = list(csv.DictReader(fh))
    assert len(archive) == 6 and {"base", "depth", "dice_mean", "params", "flops"} <= set(archive[0])
    assert "latency_ms" not in archive[0] and "filters" not in archive[0]
    train = load_slices(phantom_prepared / "train.npz")
    in_ch, n_cls = train.labels.in_channels, train.labels.num_classes
    for row in archive:  # costs are those of the network each genotype builds
        net = build_model(searched_spec(make_space(SMALL), make_space(SMALL).from_dict(
            {"base": int(row["base"]), "depth": int(row["depth"])}), in_ch, n_cls, 32))
        assert int(row["params"]) == count_params(net)
        assert int(row["flops"]) == count_flops(net, (1, in_ch, 32, 32))
    assert len({float(r["dice_mean"]) for r in archive}) > 1 and all(float(r["eval_seconds"]) > 0 for r in archive)
    chosen = json.loads(open(outputs["chosen"]).read())
    spec = chosen["spec"]
    assert spec["kind"] == "unet_widths" and spec["genotype"] == chosen["genotype"]
    assert (spec["in_channels"], spec["num_classes"]) == (in_ch, n_cls)
    assert build_model(spec)(torch.zeros(1, in_ch, 32, 32)).shape == (1, n_cls, 32, 32)
    assert set(chosen["scales"]) == {"params", "flops", "hd95_mean"}


@pytest.mark.slow
def test_whole_dag_on_the_unet_widths_space(tmp_path):
    """Only config changes: another space through search, retraining, evaluation and Table II; no
    latency table is measured for a space that has none."""
    from workflow_util import mednas, snakemake, write_config

    # an experiment naming another space gets its space section whole (mednas.experiments): a plain
    # --configfile overlay would be merged key by key over the default cardiac section
    cfg = write_config(
        tmp_path, device="cpu",
        preprocess={"image_size": 32, "target_spacing": [6.0, 6.0]},
        train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16},
        experiments={"mini": {
            "space": SMALL,
            "search": {"strategies": ["nsga2"], "evaluator": "proxy", "proxy": {"epochs": 1, "steps_per_epoch": 2},
                       "objectives": ["dice", "params"], "budgets": {"flops": None}, "population": 3,
                       "generations": 2},
        }},
        retrain={"epochs": 2, "steps_per_epoch": 3, "baselines": {"unet": {"base": 4, "depth": 2}}},
        report={"overlay_slices": 2, "paper_table2": None, "paper_table3": None},
    )
    res = snakemake(tmp_path, "results/mini/table2.csv", "results/mini/fig_correlation.csv", "--configfile", str(cfg),
                    timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    assert "measure_latency" not in res.stdout + res.stderr
    assert not (tmp_path / "results" / "mini" / "latency").exists()
    with open(tmp_path / "results" / "mini" / "table2.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["model"] for r in table] == ["nas-nsga2", "unet"]
    chosen = json.loads((tmp_path / "results/mini/search/nsga2/seed0/chosen.json").read_text())
    blob = torch.load(tmp_path / "results/mini/models/nas-nsga2/seed0/model.pt", map_location="cpu",
                      weights_only=False)
    assert blob["spec"]["kind"] == "unet_widths" and blob["spec"]["genotype"] == chosen["genotype"]
    with open(tmp_path / "results" / "mini" / "fig_correlation.csv", newline="") as fh:
        factors = [r["factor"] for r in csv.DictReader(fh)]
    assert "dice_mean" in factors and {"base", "depth"} <= set(factors)  # this space's genes, not cardiac ones
    assert "filters" not in factors
    audit = mednas(tmp_path, "audit", "results/mini/table2.csv")
    assert audit.returncode == 0, audit.stdout[-2000:]
