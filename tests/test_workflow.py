"""The data stage of the DAG, run by Snakemake end to end on a small phantom."""

import json
import shutil

import numpy as np
import pytest

from workflow_util import mednas, snakemake, write_config

pytestmark = pytest.mark.slow
OUTPUTS = ["train.npz", "val.npz", "test.npz", "data.json"]
DATA_TARGETS = [f"results/mini/data/{name}" for name in OUTPUTS]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("wf")
    cfg = write_config(work)
    res = snakemake(work, *DATA_TARGETS, "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    return work, cfg


def test_outputs_and_sidecars(built):
    work, _ = built
    data = work / "results" / "mini" / "data"
    for name in OUTPUTS:
        assert (data / name).is_file()
        rec = json.loads((data / f"{name}.prov.json").read_text())
        assert rec["rule"] == "prepare" and rec["config"]["preprocess"]["image_size"] == 64
        assert rec["seed"] == 0 and len(rec["inputs"]) == 4 * 5  # 4 patients x (2 images, 2 labels, Info.cfg)
    raw_rec = json.loads((work / "resources" / "mini" / "raw.prov.json").read_text())
    assert raw_rec["rule"] == "make_phantom" and raw_rec["params"] == {"patients": 4, "seed": 1}
    train = np.load(data / "train.npz")
    assert train["image"].shape[1:] == (1, 64, 64)
    assert (work / "logs" / "mini" / "prepare.log").read_text().count("patients") == 3
    # No temporary files left behind anywhere.
    assert not [p for p in (work / "results").rglob(".tmp-*")]


def test_rerun_is_cached(built):
    work, cfg = built
    res = snakemake(work, *DATA_TARGETS, "-n", "--configfile", str(cfg))
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_audit_ok_then_fails_after_one_byte(built, tmp_path):
    work, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(work, copy)
    target = "results/mini/data/train.npz"
    res = mednas(copy, "audit", target)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "make_phantom" in res.stdout
    raw = sorted((copy / "resources" / "mini" / "raw" / "patient002").glob("*_gt.nii.gz"))[0]
    blob = bytearray(raw.read_bytes())
    blob[200] ^= 0xFF
    raw.write_bytes(bytes(blob))
    res = mednas(copy, "audit", target)
    assert res.returncode == 1
    assert f"{raw.name}  [CHANGED" in res.stdout


def test_bad_data_leaves_no_partial_output(built, tmp_path):
    work, _ = built
    raw = tmp_path / "acdc"
    shutil.copytree(work / "resources" / "mini" / "raw", raw)
    (raw / "patient003" / "patient003_frame01.nii.gz").write_bytes(b"\x1f\x8b broken")
    cfg = write_config(tmp_path, experiment="broken", dataset={"kind": "acdc", "path": str(raw)})
    res = snakemake(tmp_path, "results/broken/data/train.npz", "--configfile", str(cfg))
    assert res.returncode != 0
    log = (tmp_path / "logs" / "broken" / "prepare.log").read_text()
    assert "cannot read NIfTI" in log and "patient003_frame01.nii.gz" in log
    out = tmp_path / "results" / "broken" / "data"
    assert not out.exists() or list(out.iterdir()) == []
