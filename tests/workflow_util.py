"""Run the project's Snakefile in a scratch working directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def write_config(folder: Path, **sections) -> Path:
    cfg = {
        "experiment": "mini",
        "dataset": {"kind": "phantom", "phantom": {"patients": 4, "seed": 1}},
        "split": {"fractions": {"train": 0.5, "val": 0.25, "test": 0.25}},
        "preprocess": {"image_size": 64, "target_spacing": [3.0, 3.0]},
    }
    cfg.update(sections)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def snakemake(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the Snakefile in ``workdir``. Targets go before ``--configfile``, which takes several values."""
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)


def snakemake_killed_when(workdir: Path, ready: Callable[[], bool], *args: str, timeout: float = 240,
                          only_snakemake: bool = False) -> None:
    """Start the Snakefile like :func:`snakemake`; SIGKILL its whole process group once ``ready()``
    (with ``only_snakemake``, Snakemake alone: its running job is left to the orphan guard).

    Fails if ``ready()`` never holds or the run ends first (the stage was too short to kill).
    """
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + timeout
        while proc.poll() is None and time.time() < deadline and not ready():
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed; make the stage longer"
        assert ready(), "the condition to kill on never held"
        if only_snakemake:
            proc.kill()
            proc.wait(timeout=30)  # reaped, so that the clean-up below does not kill the job's group
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole job: snakemake and the script
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def processes_under(workdir: Path) -> list:
    """Live processes whose command line names ``workdir`` (the jobs of a run there)."""
    import psutil

    out = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(workdir) in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE and proc.pid != os.getpid():
            out.append(proc)
    return out


def mednas(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "mednas"), *args], cwd=workdir, capture_output=True, text=True, timeout=120)
