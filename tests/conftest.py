"""Shared fixtures: a small generated phantom, and the real data beside the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ACDC_REAL = SHARED / "data" / "acdc"


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    """Four phantom patients in the official ACDC layout (read-only for tests)."""
    from mednas.data.phantom import write_phantom

    root = tmp_path_factory.mktemp("phantom") / "raw"
    write_phantom(root, n_patients=4, seed=7)
    return root


@pytest.fixture
def phantom_copy(phantom_dir, tmp_path) -> Path:
    """A private copy of the phantom that a test may damage."""
    dst = tmp_path / "raw"
    shutil.copytree(phantom_dir, dst)
    return dst


@pytest.fixture
def real_acdc() -> Path:
    if not (ACDC_REAL / "dataset.json").is_file():
        pytest.skip(f"real ACDC copy not found at {ACDC_REAL}")
    return ACDC_REAL
