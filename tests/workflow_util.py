"""Run the project's Snakefile in a scratch working directory."""

from __future__ import annotations

import os
import subprocess
import sys
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


def mednas(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "mednas"), *args], cwd=workdir, capture_output=True, text=True, timeout=120)
