import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from workflow_util import REPO, snakemake, write_config

SCHEMA = str(REPO / "config" / "schema.yaml")


def _default():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_default_config_is_valid_and_complete():
    cfg = _default()
    validate(cfg, SCHEMA)
    assert cfg["experiment"] == "cardiac" and cfg["dataset"]["kind"] == "phantom"


def test_defaults_are_filled():
    cfg = {"experiment": "x", "dataset": {"kind": "phantom"}, "split": {}, "preprocess": {}}
    validate(cfg, SCHEMA, set_default=True)
    assert cfg["preprocess"]["image_size"] == 128 and cfg["split"]["fractions"]["test"] == 0.2
    # Left unset, the search space is CardiacNAS Table I (the space's own defaults, not the schema's:
    # another registered space has other keys) and the budgets are the paper's.
    from mednas.space.base import make_space

    assert cfg["space"] == {"name": "cardiac"} and cfg["task"] == "segmentation"
    space = make_space(cfg["space"])
    assert space.filters == (32, 127) and space.res_scale == (0.1, 1.0)
    assert cfg["train"]["lr"] == 0.001 and cfg["train"]["nesterov"] is True
    assert cfg["supernet"]["epochs"] == 100


@pytest.mark.parametrize("section,bad_key", [(None, "epochz"), ("preprocess", "imgsize"), ("dataset", "pth")])
def test_unknown_key_is_named(section, bad_key):
    cfg = _default()
    (cfg if section is None else cfg[section])[bad_key] = 1
    with pytest.raises(WorkflowError, match=f"'{bad_key}' was unexpected"):
        validate(cfg, SCHEMA)


def test_bad_value_is_named():
    cfg = _default()
    cfg["dataset"]["kind"] = "dicom"
    with pytest.raises(WorkflowError, match="dicom"):
        validate(cfg, SCHEMA)


@pytest.mark.slow
def test_snakemake_refuses_unknown_key(tmp_path):
    cfg = write_config(tmp_path, preprocess={"image_size": 64, "target_spacng": [1, 1]})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "target_spacng" in res.stderr + res.stdout


@pytest.mark.slow
def test_real_layout_needs_a_path(tmp_path):
    cfg = write_config(tmp_path, dataset={"kind": "acdc"})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "dataset.path" in res.stderr + res.stdout


@pytest.mark.slow
def test_partial_config_is_merged_over_the_default(tmp_path):
    # Run from a foreign working directory: the default config must still be found.
    cfg = write_config(tmp_path)
    res = snakemake(tmp_path, "results/mini/config.yaml", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    eff = yaml.safe_load((tmp_path / "results" / "mini" / "config.yaml").read_text())
    default = _default()
    assert eff["preprocess"]["image_size"] == 64  # from the partial config
    assert eff["space"] == default["space"] and eff["supernet"] == default["supernet"]  # from config.yaml
    assert (tmp_path / "results" / "mini" / "config.yaml.prov.json").is_file()


@pytest.mark.slow
def test_local_profile_schedules_the_dag(tmp_path):
    cfg = write_config(tmp_path)
    res = snakemake(tmp_path, "-n", "--profile", str(REPO / "profiles" / "local"), "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout + res.stderr
    assert "checkpoint make_phantom:" in out  # a checkpoint: prepare lists the files it writes
    for rule in ("prepare", "train_supernet", "measure_latency", "effective_config", "search"):
        assert f"rule {rule}:" in out


def _merged(*names):
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    cfg = _default()
    for name in names:
        update_config(cfg, load_configfile(str(REPO / "config" / name)))
    return cfg


def test_acdc_configs_give_both_cardiacnas_evaluation_modes():
    """acdc.yaml evaluates candidates by proxy training (CardiacNAS Algorithm 1); the overlay
    acdc_inherit.yaml switches to inherited supernet weights in its own results folder."""
    for names in (("acdc.yaml",), ("acdc.yaml", "acdc_inherit.yaml"), ("acdc_cpu.yaml",),
                  ("acdc_cpu.yaml", "acdc_cpu_inherit.yaml")):
        validate(_merged(*names), SCHEMA)
    paper, fast = _merged("acdc.yaml"), _merged("acdc.yaml", "acdc_inherit.yaml")
    assert paper["search"]["evaluator"] == "proxy" and fast["search"]["evaluator"] == "inherit"
    assert fast["experiment"] != paper["experiment"]
    assert fast["search"]["population"] == paper["search"]["population"]  # the rest is acdc.yaml's
    assert paper["train"]["optimizer"] == "sgd" and paper["train"]["nesterov"] is True
    cpu, cpu_fast = _merged("acdc_cpu.yaml"), _merged("acdc_cpu.yaml", "acdc_cpu_inherit.yaml")
    assert (cpu["search"]["evaluator"], cpu_fast["search"]["evaluator"]) == ("proxy", "inherit")
    assert cpu_fast["experiment"] not in (cpu["experiment"], fast["experiment"])


def _benchmark_module(name: str):
    """A module of benchmarks/ (scripts, not a package: they import each other by bare name)."""
    import importlib
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_benchmark_configs_merge_like_configfile(tmp_path):
    """Benchmarks read overlays as `--configfile a b` does: a section set in part keeps its other keys
    (a shallow {**a, **b} dropped them)."""
    load_configs = _benchmark_module("_configs").load_configs
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("experiment: small\npreprocess: {image_size: 64}\n")
    cfg = load_configs([REPO / "config" / "config.yaml", overlay])
    default = _default()
    assert cfg["experiment"] == "small" and cfg["preprocess"]["image_size"] == 64
    assert cfg["preprocess"]["target_spacing"] == default["preprocess"]["target_spacing"]
    assert cfg["space"] == default["space"]


def test_image_size_the_networks_cannot_take_is_named():
    from mednas.errors import ConfigError
    from mednas.models.registry import check_image_size

    check_image_size(64, {"layers": [2, 4]}, {"unet": {"depth": 4}})
    with pytest.raises(ConfigError, match=r"preprocess.image_size 72 must be divisible by 16 for space.layers"):
        check_image_size(72, {"layers": [2, 4]}, {})
    with pytest.raises(ConfigError, match=r"by 32 for retrain.baselines.unet"):
        check_image_size(48, {"layers": [2, 3]}, {"unet": {"depth": 5}})
    check_image_size(64, {"layers": [2, 4]}, {}, supernet_size=32)
    with pytest.raises(ConfigError, match=r"supernet.image_size 40 must be divisible by 16 for space.layers"):
        check_image_size(64, {"layers": [2, 4]}, {}, supernet_size=40)
    with pytest.raises(ConfigError, match=r"supernet.image_size 128 must lie in 1..preprocess.image_size \(64\)"):
        check_image_size(64, {"layers": [2, 4]}, {}, supernet_size=128)


def test_snakemake_refuses_an_image_size_before_any_job(tmp_path):
    cfg = write_config(tmp_path, preprocess={"image_size": 72, "target_spacing": [3.0, 3.0]})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "preprocess.image_size 72" in res.stderr + res.stdout


def test_effective_config_is_rewritten_when_the_config_changes(tmp_path):
    cfg = write_config(tmp_path)
    target = "results/mini/config.yaml"
    assert snakemake(tmp_path, target, "--configfile", str(cfg)).returncode == 0
    assert "Nothing to be done" in (r := snakemake(tmp_path, "-n", target, "--configfile", str(cfg))).stdout + r.stderr
    cfg = write_config(tmp_path, search={"population": 6})
    res = snakemake(tmp_path, target, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    assert yaml.safe_load((tmp_path / target).read_text())["search"]["population"] == 6


@pytest.mark.parametrize("kind", ["acdc", "phantom"])
def test_editing_a_file_inside_the_data_set_reruns_prepare(phantom_dir, tmp_path, kind):
    """A label map corrected in place changes that file's time stamp, not the folder's: in a user's
    copy and in the generated phantom (a directory output, dated by Snakemake's time stamp file)."""
    import os
    import shutil
    import time

    import nibabel as nib
    import numpy as np

    if kind == "acdc":
        raw = tmp_path / "acdc"
        shutil.copytree(phantom_dir, raw)
        cfg = write_config(tmp_path, dataset={"kind": "acdc", "path": str(raw)})
    else:
        raw = tmp_path / "resources" / "mini" / "raw"
        cfg = write_config(tmp_path)
    target = "results/mini/data/data.json"
    res = snakemake(tmp_path, target, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    res = snakemake(tmp_path, "-n", target, "--configfile", str(cfg))
    assert "Nothing to be done" in res.stdout + res.stderr
    label = sorted(raw.rglob("*_gt.nii.gz"))[0]
    img = nib.load(str(label))
    data = np.asarray(img.dataobj).copy()
    data[tuple(np.argwhere(data == 3)[0])] = 2  # one LV voxel relabelled MYO
    nib.save(nib.Nifti1Image(data, img.affine, img.header), str(label))
    later = time.time() + 60
    os.utime(label, (later, later))
    res = snakemake(tmp_path, "-n", target, "--configfile", str(cfg))
    assert res.returncode == 0 and "rule prepare" in res.stdout + res.stderr, res.stdout[-2000:]


def test_precision_benchmark_reads_an_overlay_with_train_and_retrain_but_no_arch(tmp_path):
    """config/acdc_cpu.yaml has train and retrain sections but no arch: the benchmark failed on it."""
    _specs, load_overlays = _benchmark_module("precision")._specs, _benchmark_module("_configs").load_overlays
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("experiment: small\ntrain: {lr: 0.01}\nretrain: {epochs: 2}\n")
    cfg = load_overlays([overlay])
    assert cfg["train"]["lr"] == 0.01 and cfg["train"]["batch_size"] == _default()["train"]["batch_size"]
    specs = _specs(cfg)
    assert set(specs) == {"unet", "nas_mid"} and specs["nas_mid"]["arch"]["in_channels"] == 1


def test_stage_costs_benchmark_times_each_stage_and_multiplies_the_budgets(phantom_slices):
    """benchmarks/stage_costs.py: a second-round step cost for every model and the supernet, and
    hours that are the config's steps times those costs."""
    stage_costs = _benchmark_module("stage_costs")
    cfg = _benchmark_module("_configs").load_overlays([])
    train, val = phantom_slices
    costs = stage_costs.measure(cfg, train, val, "cpu", steps=1)
    assert set(costs["models"]) == {"unet", "random", "largest"}
    assert all(m["step_seconds"] > 0 for m in costs["models"].values()) and costs["supernet"]["step_seconds"] > 0
    fake = {"models": {"unet": {"step_seconds": 2.0}, "random": {"step_seconds": 1.0}},
            "supernet": {"step_seconds": 3.0}}
    cfg = {**cfg, "train": {**cfg["train"], "batch_size": 4},
           "supernet": {"epochs": 2, "steps_per_epoch": 5},
           "search": {"evaluator": "proxy", "proxy": {"epochs": 3, "steps_per_epoch": None},
                      "population": 2, "generations": 3, "strategies": ["ga", "nsga2"]},
           "retrain": {"epochs": 4, "steps_per_epoch": 10, "baselines": {"unet": {}, "attention_unet": {}}}}
    hours = stage_costs.budget_hours(cfg, fake, n_train=40)   # 40 slices / batch 4 = 10 steps per epoch
    assert hours["supernet"] == 0.0   # a proxy search trains no supernet
    assert hours["search_proxy"] == pytest.approx(12 * 30 * 1.0 / 3600)
    # a proxy on smaller copies is costed at the step measured at that size
    assert stage_costs.budget_hours(cfg, {**fake, "proxy": {"step_seconds": 0.25}}, n_train=40)["search_proxy"] \
        == pytest.approx(12 * 30 * 0.25 / 3600)
    assert hours["retrain_picks"] == pytest.approx(2 * 40 * 1.0 / 3600)
    assert hours["retrain_baselines"] == pytest.approx(2 * 40 * 2.0 / 3600)
    cfg["search"]["evaluator"] = "inherit"
    assert stage_costs.budget_hours(cfg, fake, n_train=40)["supernet"] == pytest.approx(10 * 3.0 / 3600)


def test_ground_truth_benchmark_resizes_records_and_reuses_its_networks(phantom_prepared, tmp_path):
    """benchmarks/ground_truth.py --image-size trains on resized slices, records the size in its
    budget, and a rerun with the same budget trains nothing again."""
    import json
    import subprocess
    import sys

    data = phantom_prepared
    out = tmp_path / "gt.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "ground_truth.py"), "--config", str(REPO / "config" / "config.yaml"),
           "--archs", "2", "--rounds", "1", "--steps-per-round", "1", "--image-size", "48", "--device", "cpu",
           "--data", str(data), "--out", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True)
    gt = json.loads(out.read_text())
    assert gt["budget"]["image_size"] == 48 and len(gt["rows"]) == 2
    assert "at 48 px" in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "2 cached, training 0" in again.stdout


def test_ground_truth_benchmark_trains_the_listed_genotypes_and_names_a_bad_list(phantom_prepared, tmp_path):
    """--genotypes FILE trains exactly the listed genotypes; a genotype outside the space is an
    error that names the file, and nothing is written."""
    import json
    import subprocess
    import sys

    data = phantom_prepared
    gene = {"filters": 8, "kernel": 3, "layers": 2, "dropout": 0.1, "attention": "se", "fusion": "add",
            "activation": "relu", "res_scale": 1.0}
    listed = tmp_path / "genotypes.json"
    listed.write_text(json.dumps([gene]))
    out = tmp_path / "gt.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "ground_truth.py"), "--config", str(REPO / "config" / "config.yaml"),
           "--genotypes", str(listed), "--rounds", "1", "--steps-per-round", "1", "--device", "cpu",
           "--data", str(data), "--out", str(out)]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    rows = json.loads(out.read_text())["rows"]
    assert [r["genotype"] for r in rows] == [gene]

    bad_out = tmp_path / "bad.json"
    listed.write_text(json.dumps([gene | {"kernel": 4}]))
    bad = subprocess.run(cmd[:-1] + [str(bad_out)], capture_output=True, text=True)
    assert bad.returncode != 0 and str(listed) in bad.stderr
    assert not bad_out.exists()


def test_proxy_budget_benchmark_scores_listed_genotypes_per_seed(phantom_prepared, tmp_path):
    """benchmarks/proxy_budget.py: each listed genotype scored once per seed, the margin of the
    best-retrained one over the others recorded; entries may carry notes beside the genes."""
    import json
    import subprocess
    import sys

    small = {"filters": 8, "kernel": 3, "layers": 2, "dropout": 0.1, "attention": "se", "fusion": "add",
             "activation": "relu", "res_scale": 1.0}
    other = small | {"kernel": 1, "activation": "tanh"}
    listed = tmp_path / "genotypes.json"
    listed.write_text(json.dumps([{"genotype": small, "retrained_dice": 0.9, "note": "known"},
                                  {"genotype": other, "retrained_dice": None}]))
    out = tmp_path / "pb.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "proxy_budget.py"), "--config", str(REPO / "config" / "config.yaml"),
           "--genotypes", str(listed), "--steps", "2", "--image-size", "full", "--seeds", "0", "1",
           "--device", "cpu", "--data", str(phantom_prepared), "--out", str(out)]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [(r["seed"], r["key"]) for r in rows] == [(s, k) for s in (0, 1) for k in
                                                      ("f8-k3-l2-d0.100-se-add-relu-r1.000",
                                                       "f8-k1-l2-d0.100-se-add-tanh-r1.000")]
    by = {(r["seed"], r["key"]): r["dice_mean"] for r in rows}
    for seed in (0, 1):
        margin = by[(seed, "f8-k3-l2-d0.100-se-add-relu-r1.000")] - by[(seed, "f8-k1-l2-d0.100-se-add-tanh-r1.000")]
        assert result["summary"]["margin_of_best_retrained"][str(seed)] == pytest.approx(margin)

    listed.write_text(json.dumps([{"note": "no genes"}]))
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode != 0 and str(listed) in bad.stderr


def test_proxy_signals_benchmark_ranks_each_signal_against_retrained_dice(phantom_prepared, tmp_path):
    """benchmarks/proxy_signals.py: every genotype with a retrained Dice trained once per seed, its
    per-round training losses kept, and each signal's Kendall tau computed from the rows written."""
    import json
    import subprocess
    import sys

    from scipy.stats import kendalltau

    small = {"filters": 8, "kernel": 3, "layers": 2, "dropout": 0.1, "attention": "se", "fusion": "add",
             "activation": "relu", "res_scale": 1.0}
    genes = [small, small | {"kernel": 1, "activation": "tanh"}, small | {"activation": "sigmoid"}]
    listed = tmp_path / "genotypes.json"
    listed.write_text(json.dumps([{"genotype": g, "retrained_dice": d} for g, d in zip(genes, (0.9, 0.5, 0.7))]
                                 + [{"genotype": small | {"filters": 10}, "retrained_dice": None}]))
    out = tmp_path / "ps.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "proxy_signals.py"), "--config", str(REPO / "config" / "config.yaml"),
           "--genotypes", str(listed), "--steps", "4", "--rounds", "2", "--image-size", "full", "--seeds", "0", "1",
           "--device", "cpu", "--data", str(phantom_prepared), "--out", str(out)]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert len(rows) == 6 and all(len(r["losses"]) == 2 for r in rows)  # the unscored genotype is not trained
    for r in rows:
        assert r["sotl"] == pytest.approx(-sum(r["losses"]) / 2) and r["last_loss"] == pytest.approx(-r["losses"][-1])
    seed0 = [r for r in rows if r["seed"] == 0]
    tau = kendalltau([r["sotl"] for r in seed0], [r["retrained_dice"] for r in seed0]).statistic
    assert result["summary"]["agreement"]["sotl"]["per_seed"]["0"]["kendall_tau"] == pytest.approx(tau)

    listed.write_text(json.dumps([{"genotype": small, "retrained_dice": 0.9}]))
    bad = subprocess.run(cmd[:-1] + [str(tmp_path / "bad.json")], capture_output=True, text=True)
    assert bad.returncode != 0 and str(listed) in bad.stderr and "retrained_dice" in bad.stderr
    assert not (tmp_path / "bad.json").exists()


def test_space_ceiling_benchmark_retrains_tests_and_pairs_with_a_reference(phantom_prepared, tmp_path):
    """benchmarks/space_ceiling.py: a listed genotype retrained with the config's retraining budget,
    scored on the test patients and paired with a reference model folder; a finished model is
    reused; a missing reference is an error naming it, and nothing is written."""
    import json
    import subprocess
    import sys

    import yaml

    gene = {"filters": 8, "kernel": 3, "layers": 2, "dropout": 0.1, "attention": "se", "fusion": "add",
            "activation": "relu", "res_scale": 1.0}
    key = "f8-k3-l2-d0.100-se-add-relu-r1.000"
    listed = tmp_path / "genotypes.json"
    listed.write_text(json.dumps([{"genotype": gene, "note": "named before any test score"}]))
    overlay = tmp_path / "tiny.yaml"
    overlay.write_text(yaml.safe_dump({"retrain": {"epochs": 1, "steps_per_epoch": 2},
                                       "latency": {"rounds": 1, "warmup": 1, "repeats": 1}}))
    work, out = tmp_path / "work", tmp_path / "ceiling.json"

    def run(reference, out_path):
        return subprocess.run([sys.executable, str(REPO / "benchmarks" / "space_ceiling.py"), "--config",
                               str(REPO / "config" / "config.yaml"), str(overlay), "--genotypes", str(listed),
                               "--reference", str(reference), "--device", "cpu", "--data", str(phantom_prepared),
                               "--work", str(work), "--out", str(out_path)], capture_output=True, text=True)

    missing = run(tmp_path / "no_model", out)
    assert missing.returncode != 0 and "no_model" in missing.stderr and not out.exists()

    from mednas.evaluate.stages import run_evaluate
    from mednas.models.registry import baseline_spec
    from mednas.train.stages import run_retrain

    ref = tmp_path / "ref"
    run_retrain("unet", baseline_spec("unet", {"base": 4, "depth": 2}), str(phantom_prepared / "train.npz"),
                str(phantom_prepared / "val.npz"), yaml.safe_load((REPO / "config" / "config.yaml").read_text())["train"],
                {"epochs": 1, "steps_per_epoch": 2}, 0, "cpu", str(ref / ".ck" / "last.pt"), str(ref / "model.pt"),
                str(ref / "curve.csv"))
    run_evaluate("unet", str(ref / "model.pt"), str(phantom_prepared / "test.npz"), str(phantom_prepared / "data.json"),
                 None, {"rounds": 1, "warmup": 1, "repeats": 1}, 64, "cpu", 8,
                 {"per_case": str(ref / "per_case.csv"), "summary": str(ref / "summary.json")})
    against_unet = run(ref, out)
    assert against_unet.returncode == 0, against_unet.stderr
    assert "retraining" in against_unet.stdout
    row = json.loads(out.read_text())["rows"][0]
    assert row["key"] == key and (work / key / "seed0" / "model.pt").exists()
    assert 0.0 <= row["test_dice"] <= 1.0 and row["params"] > 0
    unet = json.loads((ref / "summary.json").read_text())
    assert json.loads(out.read_text())["summary"]["reference_test_dice"] == unet["dice_mean"]

    # the genotype's own folder as the reference: every paired difference is zero
    itself = run(work / key / "seed0", tmp_path / "self.json")
    assert itself.returncode == 0, itself.stderr
    assert "retraining" not in itself.stdout  # the finished model is reused
    again = json.loads((tmp_path / "self.json").read_text())["rows"][0]
    assert again["test_dice"] == pytest.approx(row["test_dice"])
    assert again["dice_vs_reference"]["mean_difference"] == 0.0


def test_replicate_pairs_benchmark_averages_seeds_and_reports_training_noise(tmp_path):
    """benchmarks/replicate_pairs.py: per-patient scores averaged over training seeds before the
    paired test, each seed's pair alone, and each model's seed-to-seed difference; mismatched
    folder counts and a missing per_case.csv are errors naming what is wrong, with nothing written."""
    import csv
    import json
    import subprocess
    import sys

    def model(name: str, dice_of):
        folder = tmp_path / name
        folder.mkdir()
        with open(folder / "per_case.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["patient", "case_id", "phase", "structure", "dice", "hd95", "distance_unit"])
            for p in range(6):
                for s in ("RV", "MYO", "LV"):
                    w.writerow([f"p{p}", f"p{p}_f1", "ED", s, dice_of(p), 2.0, "voxel"])
        return folder

    # the model is 2 points below the reference on average over seeds; its own seeds differ by 4 points
    ref = [model(f"ref{k}", lambda p, k=k: 0.90 + 0.01 * (p % 3) + 0.001 * k) for k in (0, 1)]
    mod = [model(f"mod{k}", lambda p, k=k: 0.88 + 0.01 * (p % 3) + 0.04 * k - 0.02 + 0.001 * p) for k in (0, 1)]
    out = tmp_path / "pairs.json"

    def run(models, refs):
        return subprocess.run([sys.executable, str(REPO / "benchmarks" / "replicate_pairs.py"), "--model",
                               *map(str, models), "--reference", *map(str, refs), "--out", str(out)],
                              capture_output=True, text=True)

    done = run(mod, ref)
    assert done.returncode == 0, done.stderr
    res = json.loads(out.read_text())
    assert res["mean_over_seeds"]["dice"]["mean_difference"] == pytest.approx(-2.0 + 0.25 - 0.05, abs=1e-6)
    assert res["per_seed"][0]["dice"]["mean_difference"] == pytest.approx(-4.0 + 0.25, abs=1e-6)
    assert res["training_noise"]["model"]["dice"]["mean_difference"] == pytest.approx(4.0, abs=1e-6)
    assert res["training_noise"]["reference"]["dice"]["mean_difference"] == pytest.approx(0.1, abs=1e-6)
    out.unlink()
    uneven = run(mod, ref[:1])
    assert uneven.returncode != 0 and "same number" in uneven.stderr and not out.exists()
    (ref[1] / "per_case.csv").unlink()
    missing = run(mod, ref)
    assert missing.returncode != 0 and str(ref[1] / "per_case.csv") in missing.stderr and not out.exists()


def test_latency_table_benchmark_measures_the_configs_table_for_given_channels(tmp_path):
    """benchmarks/latency_table.py: the rule's table outside Snakemake, for the channels and classes
    given on the command line (no data set needed), with its device in summary.json."""
    import json
    import subprocess
    import sys

    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        "experiment: mini\npreprocess: {image_size: 32}\n"
        "space: {filters: [4, 6], kernels: [1, 3], layers: [2, 2], attentions: [se], fusions: [add],"
        " activations: [relu]}\n"
        "latency: {rounds: 1, warmup: 0, repeats: 1, filter_points: 2, overhead_genotypes: 1,"
        " check_genotypes: 4}\n")
    out = tmp_path / "lat"
    cmd = [sys.executable, str(REPO / "benchmarks" / "latency_table.py"), "--config", str(overlay),
           "--device", "cpu", "--in-channels", "3", "--num-classes", "2", "--out-dir", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["device"]["device"] == "cpu" and summary["image_size"] == 32
    assert (summary["in_channels"], summary["num_classes"], summary["genotypes"]) == (3, 2, 4)
    from mednas.cost.latency import LatencyTable, device_name

    table = LatencyTable.read_csv(out / "lut.csv")
    rows = (out / "lut.csv").read_text().splitlines()[1:]
    assert table.image_size == 32 and table.device == device_name("cpu") and len(rows) == summary["lut_entries"]
    assert (out / "lut_check.png").read_bytes()[:4] == b"\x89PNG"
