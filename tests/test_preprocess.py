import json

import numpy as np
import pytest

from mednas.data.acdc import ACDC_LABELS, load_acdc
from mednas.data.prepare import prepare_dataset
from mednas.data.preprocess import PreprocessSettings, build_splits, crop_or_pad, normalise_intensity, resample_inplane
from mednas.errors import DataError

DATASET = {"kind": "phantom"}
SPLIT = {"source": "fractions", "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}, "seed": 0}
PREP = {"image_size": 96, "target_spacing": [2.0, 2.0], "clip_percentiles": [0.5, 99.5]}


def _outputs(folder):
    return {k: folder / f"{k}.npz" for k in ("train", "val", "test")} | {"summary": folder / "data.json"}


def test_normalisation_is_robust_to_outliers():
    rng = np.random.default_rng(0)
    img = rng.normal(100, 10, size=(1, 4, 32, 32))
    spiked = img.copy()
    spiked[0, 0, 0, :5] = 1e6
    a, b = normalise_intensity(img, (0.5, 99.5)), normalise_intensity(spiked, (0.5, 99.5))
    assert abs(a.mean()) < 1e-4 and a.std() == pytest.approx(1.0, abs=1e-4)
    assert np.abs(a[0, 1:] - b[0, 1:]).max() < 0.05


def test_resample_keeps_labels_and_reports_exact_spacing():
    label = np.zeros((2, 40, 30), np.uint8)
    label[:, 10:30, 5:25] = 2
    image = label.astype(np.float32)[None]
    img, lbl, spacing = resample_inplane(image, label, (8.0, 1.0, 1.0), (2.0, 2.0))
    assert img.shape[1:] == lbl.shape == (2, 20, 15)
    assert set(np.unique(lbl)) == {0, 2}
    assert spacing == pytest.approx((8.0, 2.0, 2.0))
    # The square keeps its physical area (400 mm^2 per slice) to within one pixel row.
    assert (lbl[0] == 2).sum() * 4.0 == pytest.approx(400, rel=0.1)


def test_crop_or_pad():
    a = np.arange(2 * 5 * 8).reshape(2, 5, 8)
    out = crop_or_pad(a, 6, fill=-1)
    assert out.shape == (2, 6, 6)
    # 5 rows padded to 6: no row before, one fill row after; 8 columns cropped to the middle 6.
    assert np.array_equal(out[:, :5, :], a[:, :, 1:7])
    assert (out[:, 5, :] == -1).all()
    centre = crop_or_pad(np.arange(10)[None, None, :].repeat(10, 1), 4, 0)
    assert centre[0, 0].tolist() == [3, 4, 5, 6]


def test_prepare_writes_consistent_splits(phantom_dir, tmp_path):
    summary = prepare_dataset(phantom_dir, DATASET, SPLIT, PREP, _outputs(tmp_path))
    vols = {v.case_id: v for v in load_acdc(phantom_dir)}
    seen_patients = set()
    for name in ("train", "val", "test"):
        data = np.load(tmp_path / f"{name}.npz")
        assert data["image"].shape[1:] == (1, 96, 96) and data["image"].dtype == np.float32
        assert data["label"].shape == data["image"].shape[:1] + (96, 96) and data["label"].dtype == np.uint8
        assert data["label_names"].tolist() == ["background", "RV", "MYO", "LV"]
        assert data["channel_names"].tolist() == ["cineMRI"]
        assert str(data["distance_unit"]) == "mm"
        patients = set(data["patient"].tolist())
        assert not patients & seen_patients  # split by patient
        seen_patients |= patients
        for case in set(data["case_id"].tolist()):
            rows = np.flatnonzero(data["case_id"] == case)
            # A case's slices are contiguous and complete, in order.
            assert rows.tolist() == list(range(rows[0], rows[0] + len(rows)))
            assert data["slice_index"][rows].tolist() == list(range(vols[case].label.shape[0]))
            assert data["spacing"][rows][0] == pytest.approx([vols[case].spacing[0], 2.0, 2.0], rel=0.02)
        assert summary["splits"][name]["slices"] == len(data["label"])
        freqs = summary["splits"][name]["class_frequency"]
        assert sum(freqs.values()) == pytest.approx(1.0, abs=1e-4)
    assert seen_patients == {f"patient00{i}" for i in range(1, 5)}
    on_disk = json.loads((tmp_path / "data.json").read_text())
    assert on_disk["distance_unit"] == "mm" and on_disk["min_foreground_kept"] == 1.0


def test_prepare_failure_leaves_nothing(phantom_copy, tmp_path):
    (phantom_copy / "patient004" / "patient004_frame01_gt.nii.gz").write_bytes(b"garbage")
    out = tmp_path / "out"
    with pytest.raises(DataError, match="patient004_frame01_gt"):
        prepare_dataset(phantom_copy, DATASET, SPLIT, PREP, _outputs(out))
    assert not out.exists() or list(out.iterdir()) == []


def test_mixed_known_and_unknown_spacing_is_refused(phantom_dir):
    vols = load_acdc(phantom_dir)
    from dataclasses import replace
    vols[0] = replace(vols[0], spacing=None)
    split = {"train": ["patient001", "patient002"], "val": ["patient003"], "test": ["patient004"]}
    with pytest.raises(DataError, match="mix mm and voxels"):
        build_splits(vols, ACDC_LABELS, split, PreprocessSettings(64, (2.0, 2.0)))


@pytest.mark.realdata
def test_prepare_real_acdc_subset(real_acdc, tmp_path):
    from mednas.data.nnunet_raw import load_nnunet_raw

    patients = ["patient001", "patient002", "patient003", "patient004"]
    vols, labels = load_nnunet_raw(real_acdc, {"frame01": "ED", "frame02": "ES"}, patients=patients)
    split = {"train": patients[:2], "val": [patients[2]], "test": [patients[3]]}
    arrays, summary = build_splits(vols, labels, split, PreprocessSettings(256, (1.5, 1.5)))
    assert summary["distance_unit"] == "voxel"
    for name, pats in split.items():
        depth = sum(v.label.shape[0] for v in vols if v.patient in pats)
        assert arrays[name]["image"].shape == (depth, 1, 256, 256)
        assert set(np.unique(arrays[name]["label"])) == {0, 1, 2, 3}
        assert np.all(arrays[name]["spacing"] == 1.0)
    assert summary["min_foreground_kept"] > 0.99


def _slice_set(label: np.ndarray, spacing=(5.0, 1.5, 1.5)):
    from mednas.data.slices import SliceSet

    n = len(label)
    return SliceSet(image=label.astype(np.float32)[:, None], label=label.astype(np.uint8),
                    case_id=np.array(["c"] * n), slice_index=np.arange(n), spacing=np.tile(np.float32(spacing), (n, 1)),
                    distance_unit="mm", patient=np.array(["p"] * n), labels=ACDC_LABELS)


def test_resized_slices_keep_labels_and_the_unit_of_distances():
    from mednas.metrics.segmentation import hd95

    ref = np.zeros((3, 32, 32), np.uint8)
    ref[:, 8:20, 8:20] = 2
    moved = np.roll(ref, 4, axis=-1)  # 4 px x 1.5 mm: every boundary point 6 mm away
    a, b = _slice_set(ref), _slice_set(moved)
    assert hd95(a.label == 2, b.label == 2, a.spacing[0]) == pytest.approx(6.0)
    small_a, small_b = a.resized(16), b.resized(16)
    assert small_a.image.shape == (3, 1, 16, 16) and small_a.label.shape == (3, 16, 16)
    assert set(np.unique(small_a.label)) == {0, 2}
    np.testing.assert_allclose(small_a.spacing, np.tile([5.0, 3.0, 3.0], (3, 1)))
    # the same distance, measured on the half-size grid, in the unit of the full one
    assert hd95(small_a.label == 2, small_b.label == 2, small_a.spacing[0]) == pytest.approx(6.0)
    assert (small_a.label == 2).sum() == 3 * 6 * 6
    assert a.resized(32) is a
    with pytest.raises(DataError, match="cannot resize"):
        a.resized(0)


def test_padding_fills_each_channel_with_its_own_background():
    """Channels are normalised separately: padding with the minimum over all channels would draw a
    frame darker than one channel's own background."""
    from pathlib import Path

    from mednas.data.preprocess import preprocess_volume
    from mednas.data.volume import Volume

    rng = np.random.default_rng(0)
    image = np.stack([rng.normal(0, 1, (2, 12, 12)), rng.uniform(5, 6, (2, 12, 12)) ** 3]).astype(np.float32)
    label = np.zeros((2, 12, 12), np.uint8)
    vol = Volume("c", "p", None, image, label, None, Path("i.png"), Path("l.png"))
    for fit in ("crop", "resize"):
        out = preprocess_volume(vol, PreprocessSettings(16, None, fit=fit))["image"]
        if fit == "crop":  # 12 px padded to 16: a 2-px frame
            for c in range(2):
                assert np.allclose(out[c][:, :2, :], out[c][:, 2:14, 2:14].min())  # its own image's minimum
        assert out.shape == (2, 2, 16, 16)
