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


@pytest.fixture(scope="session")
def phantom_prepared(phantom_dir, tmp_path_factory) -> Path:
    """Folder with the phantom prepared at 32 px: train / val / test.npz (half / quarter / quarter
    of its patients) and data.json. Shared by the session: read it, never write into it."""
    from mednas.data.prepare import prepare_dataset

    out = tmp_path_factory.mktemp("slices")
    outputs = {k: out / f"{k}.npz" for k in ("train", "val", "test")} | {"summary": out / "data.json"}
    prepare_dataset(phantom_dir, {"kind": "phantom"}, {"source": "fractions", "seed": 0,
                    "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}},
                    {"image_size": 32, "target_spacing": [6.0, 6.0]}, outputs)
    return out


@pytest.fixture(scope="session")
def phantom_slices(phantom_prepared):
    """Train and validation SliceSets of the phantom at 32 px (half / quarter of its patients)."""
    from mednas.data.slices import load_slices

    return load_slices(phantom_prepared / "train.npz"), load_slices(phantom_prepared / "val.npz")

