"""train_supernet through Snakemake: outputs, provenance, and resuming after a hard kill."""

import json
import os
import signal
import subprocess
import time

import pytest
import torch

from mednas.space.cardiac import CardiacSpace
from mednas.train.supernet import load_supernet
from workflow_util import BIN, REPO, mednas, snakemake, write_config

pytestmark = pytest.mark.slow

TINY = dict(
    preprocess={"image_size": 32, "target_spacing": [6.0, 6.0]},
    space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 3]},
    train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16},
    supernet={"epochs": 4, "steps_per_epoch": 6, "sandwich_random": 1, "bn_recal_batches": 2},
    device="cpu",
)
TARGET = "results/mini/supernet/supernet.pt"


def test_kill_then_rerun_resumes_and_finishes(tmp_path):
    cfg = write_config(tmp_path, **TINY)
    assert snakemake(tmp_path, "results/mini/data/train.npz", "--configfile", str(cfg)).returncode == 0
    ckpt = tmp_path / "results" / "mini" / "supernet" / ".checkpoint" / "last.pt"
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "2", TARGET,
           "--configfile", str(cfg)]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 240
        while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert ckpt.exists(), "no checkpoint appeared"
        assert proc.poll() is None, "training finished before it could be killed; make the stage longer"
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job: snakemake and the script
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    done_before = torch.load(ckpt, weights_only=False)["epoch"]
    assert 1 <= done_before < 4
    assert not (tmp_path / TARGET).exists()
    snakemake(tmp_path, "--configfile", str(cfg), "--unlock")
    res = snakemake(tmp_path, TARGET, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    log = (tmp_path / "logs" / "mini" / "train_supernet.log").read_text()
    assert f"resumed from results/mini/supernet/.checkpoint/last.pt after epoch {done_before} of 4" in log
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
