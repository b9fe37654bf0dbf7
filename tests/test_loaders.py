import gzip
import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from mednas.data.acdc import load_acdc
from mednas.data.nnunet_raw import load_nnunet_raw, patient_of
from mednas.errors import DataError


def _to_nnunet(src, dst, spacing_known=True):
    """Re-lay a phantom folder out as nnU-Net raw."""
    (dst / "imagesTr").mkdir(parents=True)
    (dst / "labelsTr").mkdir()
    for pdir in sorted(src.iterdir()):
        info = dict(line.split(": ") for line in (pdir / "Info.cfg").read_text().splitlines())
        for phase in ("ED", "ES"):
            stem = f"{pdir.name}_frame{int(info[phase]):02d}"
            shutil.copy(pdir / f"{stem}.nii.gz", dst / "imagesTr" / f"{stem}_0000.nii.gz")
            shutil.copy(pdir / f"{stem}_gt.nii.gz", dst / "labelsTr" / f"{stem}.nii.gz")
    meta = {"labels": {"background": 0, "RV": 1, "MYO": 2, "LV": 3}, "channel_names": {"0": "cineMRI"},
            "file_ending": ".nii.gz",
            "spacing_known": spacing_known}
    (dst / "dataset.json").write_text(json.dumps(meta))
    return dst


def test_acdc_loads_ed_es_with_header_spacing(phantom_dir):
    vols = load_acdc(phantom_dir)
    assert [v.case_id for v in vols[:2]] == ["patient001_ED", "patient001_ES"]
    img = nib.load(str(vols[0].image_path))
    zx, zy, zz = img.header.get_zooms()
    assert vols[0].spacing == pytest.approx((zz, zx, zy))
    assert vols[0].image.shape == (1, img.shape[2], img.shape[0], img.shape[1])


def test_acdc_accepts_training_subfolder(phantom_dir, tmp_path):
    shutil.copytree(phantom_dir, tmp_path / "database" / "training")
    assert len(load_acdc(tmp_path / "database")) == 8


def test_acdc_patient_filter(phantom_dir):
    assert {v.patient for v in load_acdc(phantom_dir, patients=["patient002"])} == {"patient002"}
    with pytest.raises(DataError, match="patient099"):
        load_acdc(phantom_dir, patients=["patient099"])


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="not found: .*nowhere"):
        load_acdc(tmp_path / "nowhere")
    with pytest.raises(DataError, match="nowhere"):
        load_nnunet_raw(tmp_path / "nowhere")


def test_empty_dataset(tmp_path):
    with pytest.raises(DataError, match="no ACDC patient folders"):
        load_acdc(tmp_path)
    (tmp_path / "imagesTr").mkdir()
    (tmp_path / "labelsTr").mkdir()
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": {"background": 0, "LV": 1},
                                                       "channel_names": {"0": "MRI"}}))
    with pytest.raises(DataError, match="no images .* found in .*imagesTr"):
        load_nnunet_raw(tmp_path)


def test_unreadable_nifti_names_file(phantom_copy):
    bad = phantom_copy / "patient002" / "patient002_frame01.nii.gz"
    bad.write_bytes(gzip.compress(b"this is not a nifti file"))
    with pytest.raises(DataError, match="cannot read NIfTI .*patient002_frame01.nii.gz"):
        load_acdc(phantom_copy)


def test_shape_mismatch_names_both_files(phantom_copy):
    gt = phantom_copy / "patient001" / "patient001_frame01_gt.nii.gz"
    img = nib.load(str(gt))
    data = np.asarray(img.dataobj)[:-3]
    nib.save(nib.Nifti1Image(data, img.affine), str(gt))
    with pytest.raises(DataError, match=r"shapes differ: .*patient001_frame01.nii.gz.*patient001_frame01_gt.nii.gz"):
        load_acdc(phantom_copy)


def test_label_outside_declared_set(phantom_copy):
    gt = phantom_copy / "patient003" / "patient003_frame01_gt.nii.gz"
    img = nib.load(str(gt))
    data = np.asarray(img.dataobj).copy()
    data[0, 0, 0] = 7
    nib.save(nib.Nifti1Image(data, img.affine), str(gt))
    with pytest.raises(DataError, match=r"patient003_frame01_gt.nii.gz: label values \[7\]"):
        load_acdc(phantom_copy)


def test_info_cfg_missing_key(phantom_copy):
    cfg = phantom_copy / "patient004" / "Info.cfg"
    cfg.write_text("\n".join(line for line in cfg.read_text().splitlines() if not line.startswith("ES")))
    with pytest.raises(DataError, match=r"patient004/Info.cfg: key 'ES' is missing"):
        load_acdc(phantom_copy)


def test_nnunet_raw_roundtrip(phantom_dir, tmp_path):
    root = _to_nnunet(phantom_dir, tmp_path / "nn")
    vols, labels = load_nnunet_raw(root, phases={"frame01": "ED"})
    assert labels.names == ("background", "RV", "MYO", "LV") and labels.channels == ("cineMRI",)
    ref = {v.image_path.name.replace(".nii.gz", ""): v for v in load_acdc(phantom_dir)}
    assert len(vols) == 8
    for v in vols:
        twin = ref[v.case_id]
        assert v.patient == twin.patient
        assert np.array_equal(v.label, twin.label)
        assert v.spacing == pytest.approx(twin.spacing)
    assert {v.phase for v in vols if v.case_id.endswith("frame01")} == {"ED"}


def test_nnunet_label_sets_are_checked(phantom_dir, tmp_path):
    root = _to_nnunet(phantom_dir, tmp_path / "nn")
    meta = json.loads((root / "dataset.json").read_text())
    meta["labels"]["scar"] = 4  # declared, never drawn: a fifth class
    (root / "dataset.json").write_text(json.dumps(meta))
    assert load_nnunet_raw(root)[1].num_classes == 5
    for labels, match in [({"background": 0, "RV": 1, "LV": 3}, "consecutive from 0"),
                          ({"RV": 1, "MYO": 2}, "no label has the value 0"),
                          ({"background": 0, "RV": 1, "MYO": 1}, "share the value 1"),
                          ({"background": 0, "heart": [1, 2]}, "region")]:
        (root / "dataset.json").write_text(json.dumps({**meta, "labels": labels}))
        with pytest.raises(DataError, match=f"dataset.json: .*{match}"):
            load_nnunet_raw(root)


def test_nnunet_unknown_spacing(phantom_dir, tmp_path):
    vols, _ = load_nnunet_raw(_to_nnunet(phantom_dir, tmp_path / "nn", spacing_known=False))
    assert all(v.spacing is None for v in vols)


def test_nnunet_missing_label_and_metadata(phantom_dir, tmp_path):
    root = _to_nnunet(phantom_dir, tmp_path / "nn")
    victim = sorted((root / "labelsTr").iterdir())[0]
    victim.unlink()
    with pytest.raises(DataError, match=f"has no label file .*{victim.name}"):
        load_nnunet_raw(root)
    (root / "dataset.json").unlink()
    with pytest.raises(DataError, match="missing .*dataset.json"):
        load_nnunet_raw(root)


def test_patient_of():
    assert patient_of("patient012_frame02") == "patient012"
    assert patient_of("case_7") == "case_7"


@pytest.mark.realdata
def test_real_acdc_loads_through_nnunet_raw(real_acdc):
    vols, _ = load_nnunet_raw(real_acdc, phases={"frame01": "ED", "frame02": "ES"},
                              patients=["patient001", "patient050", "patient100"])
    assert len(vols) == 6
    for v in vols:
        assert v.spacing is None  # this copy has no voxel spacing
        assert set(np.unique(v.label)) == {0, 1, 2, 3}
        assert 6 <= v.image.shape[1] <= 18 and v.image.shape[0] == 1
        assert 154 <= min(v.image.shape[2:]) and max(v.image.shape[2:]) <= 512
