"""train_supernet through Snakemake: outputs, provenance, and resuming after a hard kill."""

import json

import pytest
import torch

from mednas.space.cardiac import CardiacSpace
from mednas.train.supernet import load_supernet
from workflow_util import mednas, processes_under, snakemake, snakemake_killed_when, write_config

pytestmark = pytest.mark.slow

TINY = dict(
    preprocess={"image_size": 32, "target_spacing": [6.0, 6.0]},
    space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 3]},
    train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16},
    supernet={"epochs": 4, "steps_per_epoch": 6, "sandwich_random": 1, "bn_recal_batches": 2},
    device="cpu",
)
TARGET = "results/mini/supernet/supernet.pt"


def test_job_of_a_killed_snakemake_stops_and_the_documented_recovery_resumes(tmp_path):
    """SIGKILL to Snakemake alone: its job must not run on and publish outputs; `--unlock` then the
    same command resumes from the checkpoint (README, recovery)."""
    import time

    cfg = write_config(tmp_path, **TINY)
    assert snakemake(tmp_path, "results/mini/data/train.npz", "--configfile", str(cfg)).returncode == 0
    ckpt = tmp_path / "results" / "mini" / "supernet" / ".checkpoint" / "last.pt"
    snakemake_killed_when(tmp_path, ckpt.exists, TARGET, "--configfile", str(cfg), only_snakemake=True)
    deadline = time.time() + 30
    while processes_under(tmp_path) and time.time() < deadline:
        time.sleep(0.2)
    left = processes_under(tmp_path)
    for proc in left:
        proc.kill()
    assert not left, f"the job ran on without its Snakemake: {[p.cmdline() for p in left]}"
    assert not (tmp_path / TARGET).exists() and ckpt.exists()
    done_before = torch.load(ckpt, weights_only=False)["epoch"]
    assert "stopping without publishing outputs" in (tmp_path / "logs/mini/train_supernet.log").read_text()
    snakemake(tmp_path, "--configfile", str(cfg), "--unlock")
    res = snakemake(tmp_path, TARGET, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    log = (tmp_path / "logs" / "mini" / "train_supernet.log").read_text()
    assert f"resumed from results/mini/supernet/.checkpoint/last.pt after round {done_before} of 4" in log


def test_kill_then_rerun_resumes_and_finishes(tmp_path):
    cfg = write_config(tmp_path, **TINY)
    assert snakemake(tmp_path, "results/mini/data/train.npz", "--configfile", str(cfg)).returncode == 0
    ckpt = tmp_path / "results" / "mini" / "supernet" / ".checkpoint" / "last.pt"
    snakemake_killed_when(tmp_path, ckpt.exists, TARGET, "--configfile", str(cfg))
    done_before = torch.load(ckpt, weights_only=False)["epoch"]
    assert 1 <= done_before < 4
    assert not (tmp_path / TARGET).exists()
    snakemake(tmp_path, "--configfile", str(cfg), "--unlock")
    res = snakemake(tmp_path, TARGET, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    log = (tmp_path / "logs" / "mini" / "train_supernet.log").read_text()
    assert f"resumed from results/mini/supernet/.checkpoint/last.pt after round {done_before} of 4" in log
    curve = (tmp_path / "results" / "mini" / "supernet" / "curve.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in curve[1:]] == ["1", "2", "3", "4"]
    assert not ckpt.parent.exists()  # removed once the stage has finished
    # The artifact rebuilds and carries a provenance record that audits clean.
    model, space, arch, meta = load_supernet(tmp_path / TARGET)
    assert space == CardiacSpace.from_config(TINY["space"]) and meta["epochs"] == 4
    rec = json.loads((tmp_path / (TARGET + ".prov.json")).read_text())
    assert rec["rule"] == "train_supernet" and rec["config"]["supernet"]["epochs"] == 4
    assert rec["device"]["device"] == "cpu"
    res = mednas(tmp_path, "audit", TARGET)
    assert res.returncode == 0, res.stdout
