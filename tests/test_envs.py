"""envs/mednas.yaml: conda channels cannot be reached here, so its structure is checked instead."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from workflow_util import REPO

ENV = REPO / "envs" / "mednas.yaml"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_conda_env_structure():
    env = yaml.safe_load(ENV.read_text())
    assert set(env) == {"channels", "dependencies"}
    assert env["channels"][0] == "conda-forge" and "defaults" not in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(re.fullmatch(r"python=3\.(1[0-9])", d) for d in conda) and "pip" in conda
    pips = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pips) == 1 and set(pips[0]) == {"pip"}


def test_conda_env_covers_the_project_requirements():
    env = yaml.safe_load(ENV.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    have = {_name(r) for r in pip}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    # snakemake runs the rules; it is not needed inside their environment
    needed = {_name(r) for r in project} - {"snakemake"}
    assert needed <= have, f"envs/mednas.yaml lacks {sorted(needed - have)}"
    assert "torch==2.13.0" in [r.split("#")[0].strip() for r in pip]  # pinned: an unpinned torch pulls CUDA builds


def test_every_rule_uses_the_conda_env():
    rules = sorted((REPO / "workflow" / "rules").glob("*.smk"))
    text = {p.name: p.read_text() for p in rules}
    for name, body in text.items():
        n_rules = len(re.findall(r"^(?:rule|checkpoint) \w+:", body, flags=re.M))
        n_conda = body.count("conda:\n        CONDA_ENV")
        assert n_rules == n_conda, f"{name}: {n_rules} rules, {n_conda} with `conda: CONDA_ENV`"
    common = text["common.smk"]
    assert 'CONDA_ENV = "../../envs/mednas.yaml"' in common
    assert (REPO / "workflow" / "rules" / "../../envs/mednas.yaml").resolve() == ENV


def test_ci_turns_an_unavailable_slurm_into_a_failure(monkeypatch):
    """Outside CI the SLURM test skips where SLURM cannot run; with MEDNAS_REQUIRE_SLURM=1 (.ci/run) it fails."""
    from test_slurm import REQUIRE, unavailable

    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no sbatch"):
        unavailable("no sbatch")
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="MEDNAS_REQUIRE_SLURM=1 but no sbatch"):
        unavailable("no sbatch")
    assert f"{REQUIRE}=1 make test" in (REPO / ".ci" / "run").read_text()


def test_conda_env_installs_medmnist_without_torchvision():
    """Under --use-conda the classification rules import medmnist: Snakemake's post-deploy script
    installs the Makefile's pin with --no-deps (its declared torchvision has no CPU build)."""
    script = REPO / "envs" / "mednas.post-deploy.sh"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    pin = re.search(r'pip install --quiet --no-deps "(medmnist==[0-9.]+)"', (REPO / "Makefile").read_text()).group(1)
    assert f'python -m pip install --no-deps "{pin}"' in text
    env = yaml.safe_load(ENV.read_text())
    pip = [r.split("#")[0].strip() for r in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))]
    assert not any(_name(r) in ("torchvision", "medmnist") for r in pip if r)
    # what medmnist imports at run time, declared ourselves
    assert {"numpy", "pandas", "scikit-learn", "pillow", "tqdm", "torch"} <= {_name(r) for r in pip if r}
