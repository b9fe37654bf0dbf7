"""The first stages of the demo DAG through ``--profile profiles/slurm`` on a real one-node SLURM.

Installs Debian's SLURM, munge and MariaDB where missing (skips, with the reason, where it
cannot), starts the daemons, runs the phantom, prepare and supernet rules as SLURM jobs, and
checks that they went through sbatch (job ids in Snakemake's log, the same jobs in
``sacct``, the GPU rule on the ``gpu`` partition with one GPU) and that the outputs and their
provenance are right. The daemons are stopped by their process ids.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from mednas.provenance import sha256_file
from slurm_local import LocalSlurm, Unavailable, ensure_installed
from workflow_util import BIN, REPO, mednas, write_config

pytestmark = pytest.mark.slow

TARGETS = ["results/mini/data/train.npz", "results/mini/supernet/supernet.pt"]
REQUIRE = "MEDNAS_REQUIRE_SLURM"  # set to 1 (CI does) and an unavailable SLURM fails instead of skipping


def unavailable(reason: str) -> None:
    """Skip, or fail where the environment requires the SLURM test to run."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable("snakemake-executor-plugin-slurm is not installed (pip install '.[test]')")
    if not sys.platform.startswith("linux"):
        unavailable("the local SLURM test needs Linux")
    try:
        ensure_installed()
    except Unavailable as exc:
        unavailable(f"no local SLURM: {exc}")
    slurm = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
    except Exception:
        log = slurm.log_tail()
        slurm.stop()
        raise RuntimeError(f"the local SLURM did not start:\n{log}")
    yield slurm
    slurm.stop()


def test_first_stages_run_as_slurm_jobs(cluster, tmp_path, capsys):
    cfg = write_config(
        tmp_path, device="auto",  # auto: the supernet rule asks for a GPU (a fake one here) and runs on CPU
        preprocess={"image_size": 32, "target_spacing": [6.0, 6.0]},
        space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 3]},
        train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16, "threads": 1},
        supernet={"epochs": 1, "steps_per_epoch": 3, "sandwich_random": 1, "bn_recal_batches": 2},
    )
    cmd = ["timeout", "-s", "KILL", "900", str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d",
           str(tmp_path), *TARGETS, "--profile", str(REPO / "profiles" / "slurm"), "--configfile", str(cfg),
           "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
           "--default-resources", "slurm_partition=cpu", "mem_mb=1000", "runtime=20",
           f"slurm_account={cluster.ACCOUNT}"]
    env = {**cluster.env, "PATH": f"{BIN}{os.pathsep}{cluster.env.get('PATH', '')}"}
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=960)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:] + "\n" + cluster.log_tail()
    jobs = {jobid: rule for jobid, rule in re.findall(r"SLURM jobid (\d+) \(log: \S*?/rule_(\w+)/", out)}
    with capsys.disabled():  # into the CI log, passed or not
        print("\nsubmitted through sbatch: " + ", ".join(f"{rule} = SLURM job {j}" for j, rule in jobs.items()))
    submitted = {rule: jobid for jobid, rule in jobs.items()}
    assert {"make_phantom", "prepare", "train_supernet"} <= set(submitted), out[-3000:]
    sacct = subprocess.run(["sacct", "-X", "-n", "-P", "-a", "-o", "JobIDRaw,Partition,State,AllocTRES",
                            "--starttime", "now-1hour"], capture_output=True, text=True, env=cluster.env).stdout
    rows = {line.split("|")[0]: line.split("|") for line in sacct.splitlines() if line}
    for jobid in jobs:
        assert jobid in rows and rows[jobid][2] == "COMPLETED", sacct
    supernet_job = submitted.get("train_supernet")
    assert supernet_job in rows, (submitted, sacct)
    assert rows[supernet_job][1] == "gpu" and "gres/gpu=1" in rows[supernet_job][3]
    assert rows[submitted["prepare"]][1] == "cpu"
    for target in TARGETS:
        rec = json.loads((tmp_path / f"{target}.prov.json").read_text())
        assert rec["sha256"] == sha256_file(tmp_path / target)
    rec = json.loads((tmp_path / "results/mini/supernet/supernet.pt.prov.json").read_text())
    assert rec["rule"] == "train_supernet" and rec["config"]["supernet"]["epochs"] == 1
    assert mednas(tmp_path, "audit", "results/mini/supernet/supernet.pt").returncode == 0
