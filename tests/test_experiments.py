"""Several experiments in one config: merged settings, per-experiment jobs, errors naming the key."""

from __future__ import annotations

import json

import pytest
import yaml

from mednas.errors import ConfigError
from mednas.experiments import deep_merge, experiment_configs
from workflow_util import REPO, snakemake, write_config


def test_deep_merge_overrides_leaves_and_keeps_the_rest():
    base = {"space": {"filters": [8, 16], "layers": [2, 4]}, "seed": 0, "retrain": {"baselines": {"unet": {"base": 16}}}}
    merged = deep_merge(base, {"space": {"filters": [8, 12]}, "retrain": {"baselines": {"unet": {"depth": 3}}}})
    assert merged == {"space": {"filters": [8, 12], "layers": [2, 4]}, "seed": 0,
                      "retrain": {"baselines": {"unet": {"base": 16, "depth": 3}}}}
    assert base["space"]["filters"] == [8, 16]  # the shared defaults are not touched


def test_experiment_configs():
    shared = {"experiment": "cardiac", "seed": 1, "space": {"filters": [8, 16]}}
    assert experiment_configs(shared) == {"cardiac": shared}
    cfgs = experiment_configs({**shared, "experiments": {"small": {"space": {"filters": [4, 8]}}, "same": None}})
    assert list(cfgs) == ["small", "same"]
    assert cfgs["small"]["space"]["filters"] == [4, 8] and cfgs["small"]["experiment"] == "small"
    assert cfgs["same"]["space"]["filters"] == [8, 16] and "experiments" not in cfgs["same"]
    with pytest.raises(ConfigError, match="experiments.bad: expected a mapping"):
        experiment_configs({**shared, "experiments": {"bad": [1, 2]}})
    with pytest.raises(ConfigError, match="experiments.x: the name is the key"):
        experiment_configs({**shared, "experiments": {"x": {"experiment": "y"}}})


@pytest.mark.slow
def test_an_experiments_baselines_replace_the_shared_set():
    """A baselines mapping names the models to train: merged key by key, the shared one's
    models would stay in every experiment (an empty mapping could not train none)."""
    shared = {"experiment": "x", "classify": {"baselines": {"resnet18": {}}, "seeds": [0]},
              "retrain": {"baselines": {"unet": {"base": 16}}, "epochs": 3}}
    cfgs = experiment_configs({**shared, "experiments": {
        "a": {"classify": {"baselines": {"resnet10": {"stride": 2}}}, "retrain": {"baselines": {}}},
        "b": {"classify": {"seeds": [1]}}}})
    assert cfgs["a"]["classify"] == {"baselines": {"resnet10": {"stride": 2}}, "seeds": [0]}
    assert cfgs["a"]["retrain"] == {"baselines": {}, "epochs": 3}
    assert cfgs["b"]["classify"]["baselines"] == {"resnet18": {}} and shared["classify"]["baselines"] == {"resnet18": {}}


def test_two_experiments_in_one_config_run_as_their_own_jobs(tmp_path):
    cfg = write_config(tmp_path, device="cpu", experiments={
        "coarse": {"preprocess": {"image_size": 32, "target_spacing": [6.0, 6.0]}},
        "fine": {"preprocess": {"image_size": 48, "target_spacing": [4.0, 4.0]}},
    })
    res = snakemake(tmp_path, "results/coarse/data/data.json", "results/fine/data/data.json",
                    "results/fine/config.yaml", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    for exp, size in (("coarse", 32), ("fine", 48)):
        data = json.loads((tmp_path / "results" / exp / "data" / "data.json").read_text())
        assert data["image_size"] == size
        prov = json.loads((tmp_path / "results" / exp / "data" / "data.json.prov.json").read_text())
        assert prov["params"]["preprocess"]["image_size"] == size  # each job ran with its own settings
    effective = yaml.safe_load((tmp_path / "results" / "fine" / "config.yaml").read_text())
    assert effective["experiment"] == "fine" and effective["preprocess"]["image_size"] == 48
    assert effective["supernet"]["epochs"] == 6  # schema defaults filled in
    # rule all builds every experiment of the config
    dry = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "results/coarse/table2.csv" in dry.stdout and "results/fine/table2.csv" in dry.stdout
    # a misspelt key inside one experiment stops the run before any job, naming it
    bad = write_config(tmp_path, device="cpu", experiments={"fine": {"preprocess": {"imagesize": 48}}})
    res = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert res.returncode != 0 and "imagesize" in res.stdout + res.stderr


def test_replicates_are_jobs_per_seed_and_only_for_segmentation(tmp_path):
    """seeds: one search and one retraining per replicate and model, with their own seeds; adding a
    seed to a config adds only its own jobs (the overlay config/replicates3.yaml names three)."""
    cfg = write_config(tmp_path, device="cpu", seeds=[0, 3])
    dry = snakemake(tmp_path, "-n", "-p", "--configfile", str(cfg))
    assert dry.returncode == 0, dry.stderr[-3000:]
    for path in ("search/nsga2/seed0/chosen.json", "search/nsga2/seed3/chosen.json", "models/unet/seed3/model.pt",
                 "models/nas-nsga2/seed0/summary.json", "table2_runs.csv"):
        assert f"results/mini/{path}" in dry.stdout
    assert "seed1" not in dry.stdout
    assert yaml.safe_load((REPO / "config" / "replicates3.yaml").read_text()) == {"seeds": [0, 1, 2]}
    # a classification experiment has its own retraining seeds (classify.seeds): seeds there is refused
    bad = write_config(tmp_path, device="cpu", seeds=[0, 1], experiments={"cls": {"task": "classification"}})
    res = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert res.returncode != 0 and "retraining seeds are classify.seeds" in res.stdout + res.stderr
