"""``mednas check-data``: every problem of an nnU-Net raw data set reported at once, naming its file."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from mednas.cli import main
from mednas.data.check import KINDS, WARNINGS, Problem, check_dataset, format_report

PH2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "seg2d" / "ph2"
NII_SPACING = (1.5, 1.25, 4.0)  # NIfTI (x, y, z) in mm
NII_SHAPE = (10, 8, 5)  # (x, y, z)
NII_CASES = ("pat1_frame01", "pat1_frame12", "pat2_frame01", "pat2_frame12")
PNG_CASES = ("img_001", "img_002", "img_003", "img_004")


def _save_nifti(path: Path, data: np.ndarray, spacing=NII_SPACING) -> None:
    nib.save(nib.Nifti1Image(data, np.diag([*spacing, 1.0])), str(path))


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1))


def _make_nifti_set(root: Path) -> Path:
    """4 cases (2 patients x 2 frames), 2 channels, labels 0..2, spacing in the affine."""
    rng = np.random.default_rng(0)
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    for case in NII_CASES:
        for c in range(2):
            _save_nifti(root / "imagesTr" / f"{case}_{c:04d}.nii.gz", rng.normal(size=NII_SHAPE).astype(np.float32))
        label = rng.integers(0, 3, size=NII_SHAPE).astype(np.uint8)
        _save_nifti(root / "labelsTr" / f"{case}.nii.gz", label)
    _write_json(root / "dataset.json", {
        "channel_names": {"0": "T1", "1": "T2"},
        "labels": {"background": 0, "left atrium": 1, "scar tissue": 2},
        "numTraining": len(NII_CASES), "file_ending": ".nii.gz"})
    _write_json(root / "splits.json", {"train": ["pat1"], "val": ["pat2"], "test": []})
    return root


def _make_png_set(root: Path) -> Path:
    """4 RGB cases 16 x 12 px, labels background / lesion."""
    rng = np.random.default_rng(1)
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    for case in PNG_CASES:
        Image.fromarray(rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8), "RGB").save(
            root / "imagesTr" / f"{case}_0000.png")
        Image.fromarray(rng.integers(0, 2, size=(12, 16), dtype=np.uint8), "L").save(root / "labelsTr" / f"{case}.png")
    _write_json(root / "dataset.json", {
        "channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "lesion": 1},
        "numTraining": len(PNG_CASES), "file_ending": ".png"})
    _write_json(root / "splits.json", {"train": ["img_001", "img_002"], "val": ["img_003"], "test": ["img_004"]})
    return root


@pytest.fixture(scope="module")
def clean_sets(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("check_data")
    return {"nii": _make_nifti_set(base / "nii"), "png": _make_png_set(base / "png")}


@pytest.fixture
def copy_of(clean_sets, tmp_path):
    """A private copy of a clean data set that a test may damage."""
    def copy(kind: str) -> Path:
        return Path(shutil.copytree(clean_sets[kind], tmp_path / kind))
    return copy


def _edit_json(path: Path, **changes) -> None:
    obj = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    _write_json(path, obj)


def _nii_label(root: Path, case: str = "pat1_frame12") -> tuple[Path, np.ndarray]:
    path = root / "labelsTr" / f"{case}.nii.gz"
    return path, np.asarray(nib.load(str(path)).dataobj).copy()


# Each damage takes a copy of a clean set and returns the file at fault; ``kind`` must be reported
# with that file's path in the report line.

def _no_dataset_json(r):
    (r / "dataset.json").unlink()
    return r / "dataset.json"


def _dataset_json_not_json(r):
    (r / "dataset.json").write_text('{"labels": {"background": 0,')
    return r / "dataset.json"


def _labels_not_consecutive(r):
    _edit_json(r / "dataset.json", labels={"background": 0, "left atrium": 1, "scar tissue": 3})
    return r / "dataset.json"


def _labels_duplicated_value(r):
    _edit_json(r / "dataset.json", labels={"background": 0, "left atrium": 1, "scar tissue": 1})
    return r / "dataset.json"


def _labels_region(r):
    _edit_json(r / "dataset.json", labels={"background": 0, "heart": [1, 2]})
    return r / "dataset.json"


def _labels_missing(r):
    _edit_json(r / "dataset.json", labels=None)
    return r / "dataset.json"


def _channel_names_gap(r):
    _edit_json(r / "dataset.json", channel_names={"0": "T1", "2": "T2"})
    return r / "dataset.json"


def _file_ending_mha(r):
    _edit_json(r / "dataset.json", file_ending=".mha")
    return r / "dataset.json"


def _no_labels_folder(r):
    shutil.rmtree(r / "labelsTr")
    return r / "labelsTr"


def _empty_images_folder(r):
    for p in [*(r / "imagesTr").iterdir(), *(r / "labelsTr").iterdir(), r / "splits.json"]:
        p.unlink()
    _edit_json(r / "dataset.json", numTraining=None)
    return r / "imagesTr"


def _stray_file(r):
    (r / "imagesTr" / "pat1_frame01_0000.nii").write_bytes(b"")  # wrong ending for a .nii.gz set
    return r / "imagesTr" / "pat1_frame01_0000.nii"


def _letter_case_twin(r):
    for c in range(2):
        shutil.copy(r / "imagesTr" / f"pat2_frame01_{c:04d}.nii.gz", r / "imagesTr" / f"PAT2_frame01_{c:04d}.nii.gz")
    shutil.copy(r / "labelsTr" / "pat2_frame01.nii.gz", r / "labelsTr" / "PAT2_frame01.nii.gz")
    _edit_json(r / "dataset.json", numTraining=5)
    return r / "imagesTr" / "pat2_frame01_0000.nii.gz"  # sorted after PAT2...: the second of the pair


def _label_deleted(r):
    (r / "labelsTr" / "pat2_frame12.nii.gz").unlink()
    return r / "imagesTr" / "pat2_frame12_0000.nii.gz"


def _image_deleted(r):
    for c in range(2):
        (r / "imagesTr" / f"pat2_frame12_{c:04d}.nii.gz").unlink()
    _edit_json(r / "dataset.json", numTraining=3)
    return r / "labelsTr" / "pat2_frame12.nii.gz"


def _channel_deleted(r):
    (r / "imagesTr" / "pat1_frame01_0001.nii.gz").unlink()
    return r / "imagesTr" / "pat1_frame01_0001.nii.gz"


def _extra_channel(r):
    shutil.copy(r / "imagesTr" / "pat1_frame01_0001.nii.gz", r / "imagesTr" / "pat1_frame01_0002.nii.gz")
    return r / "imagesTr" / "pat1_frame01_0002.nii.gz"


def _corrupt_image(r):
    (r / "imagesTr" / "pat2_frame01_0001.nii.gz").write_bytes(gzip.compress(b"this is not a nifti file"))
    return r / "imagesTr" / "pat2_frame01_0001.nii.gz"


def _truncated_label(r):
    path = r / "labelsTr" / "pat1_frame01.nii.gz"
    path.write_bytes(path.read_bytes()[:200])
    return path


def _label_shape(r):
    path, data = _nii_label(r)
    _save_nifti(path, data[:, :, :-1])
    return path


def _channel_shape(r):
    path = r / "imagesTr" / "pat1_frame12_0001.nii.gz"
    _save_nifti(path, np.zeros((10, 8, 6), np.float32))
    return path


def _label_spacing(r):
    path, data = _nii_label(r)
    _save_nifti(path, data, (1.5, 1.25, 5.0))
    return path


def _nan_spacing(r):
    path = r / "imagesTr" / "pat1_frame12_0000.nii.gz"
    img = nib.Nifti1Image(np.zeros(NII_SHAPE, np.float32), np.diag([*NII_SPACING, 1.0]))
    img.header["pixdim"][3] = np.nan  # nibabel repairs 0 and negative zooms, but keeps NaN
    nib.save(img, str(path))
    return path


def _nan_in_image(r):
    path = r / "imagesTr" / "pat2_frame12_0000.nii.gz"
    data = np.asarray(nib.load(str(path)).dataobj).copy()
    data[1, 2, 3] = np.nan
    _save_nifti(path, data)
    return path


def _undeclared_label_value(r):
    path, data = _nii_label(r)
    data[0, 0, 0] = 7
    _save_nifti(path, data)
    return path


def _non_integer_label(r):
    path, data = _nii_label(r)
    data = data.astype(np.float32)
    data[0, 0, 0] = 0.5
    _save_nifti(path, data)
    return path


def _num_training(r):
    _edit_json(r / "dataset.json", numTraining=7)
    return r / "dataset.json"


def _splits_lack_test(r):
    _write_json(r / "splits.json", {"train": ["pat1"], "val": ["pat2"]})
    return r / "splits.json"


def _splits_not_json(r):
    (r / "splits.json").write_text("train: [pat1]")
    return r / "splits.json"


def _splits_unknown_patient(r):
    _write_json(r / "splits.json", {"train": ["pat1"], "val": ["pat2"], "test": ["pat9"]})
    return r / "splits.json"


def _splits_patient_twice(r):
    _write_json(r / "splits.json", {"train": ["pat1", "pat2"], "val": ["pat2"], "test": []})
    return r / "splits.json"


def _png_grey_declared(r):  # RGB files, one channel declared
    _edit_json(r / "dataset.json", channel_names={"0": "grey"})
    return r / "imagesTr" / "img_002_0000.png"


def _png_rgb_label(r):
    path = r / "labelsTr" / "img_003.png"
    Image.open(path).convert("RGB").save(path)
    return path


def _png_corrupt(r):
    path = r / "imagesTr" / "img_004_0000.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    return path


def _png_label_255(r):  # a 0/255 mask where 0/1 is declared: the usual mistake with binary PNG masks
    path = r / "labelsTr" / "img_001.png"
    Image.fromarray((np.asarray(Image.open(path)) * 255).astype(np.uint8), "L").save(path)
    return path


DAMAGES = [
    ("nii", _no_dataset_json, "dataset_json_missing"),
    ("nii", _dataset_json_not_json, "dataset_json_invalid"),
    ("nii", _labels_not_consecutive, "bad_labels"),
    ("nii", _labels_duplicated_value, "bad_labels"),
    ("nii", _labels_region, "bad_labels"),
    ("png", _labels_missing, "bad_labels"),
    ("nii", _channel_names_gap, "bad_channel_names"),
    ("nii", _file_ending_mha, "bad_file_ending"),
    ("nii", _no_labels_folder, "folder_missing"),
    ("png", _empty_images_folder, "no_cases"),
    ("nii", _stray_file, "unexpected_file"),
    ("nii", _letter_case_twin, "duplicate_case_id"),
    ("nii", _label_deleted, "image_without_label"),
    ("nii", _image_deleted, "label_without_image"),
    ("nii", _channel_deleted, "missing_channel"),
    ("nii", _extra_channel, "channel_count"),
    ("png", _png_grey_declared, "channel_count"),
    ("nii", _corrupt_image, "unreadable"),
    ("nii", _truncated_label, "unreadable"),
    ("png", _png_corrupt, "unreadable"),
    ("nii", _label_shape, "shape_mismatch"),
    ("nii", _channel_shape, "channel_shape_mismatch"),
    ("nii", _label_spacing, "spacing_mismatch"),
    ("nii", _nan_spacing, "bad_spacing"),
    ("nii", _nan_in_image, "non_finite"),
    ("nii", _undeclared_label_value, "undeclared_label"),
    ("png", _png_label_255, "undeclared_label"),
    ("nii", _non_integer_label, "label_not_integer"),
    ("png", _png_rgb_label, "label_channels"),
    ("nii", _num_training, "num_training"),
    ("nii", _splits_lack_test, "splits_invalid"),
    ("nii", _splits_not_json, "splits_invalid"),
    ("nii", _splits_unknown_patient, "split_unknown_patient"),
    ("nii", _splits_patient_twice, "split_duplicate_patient"),
]


@pytest.mark.parametrize("kind", ["nii", "png"])
def test_clean_sets_have_no_problems(clean_sets, kind):
    assert check_dataset(clean_sets[kind]) == []


def test_unknown_spacing_is_not_compared(copy_of):
    root = copy_of("nii")
    _label_spacing(root)
    _edit_json(root / "dataset.json", spacing_known=False)
    assert check_dataset(root) == []


def test_damages_cover_every_kind():
    assert {kind for _, _, kind in DAMAGES} == set(KINDS)


@pytest.mark.parametrize("base, damage, kind", DAMAGES, ids=[d.__name__.strip("_") for _, d, _ in DAMAGES])
def test_each_problem_is_reported_with_its_file(copy_of, base, damage, kind):
    root = copy_of(base)
    culprit = damage(root)
    problems = check_dataset(root)
    assert all(p.kind in KINDS for p in problems)
    hits = [p for p in problems if p.kind == kind]
    assert hits, f"no {kind} among {[str(p) for p in problems]}"
    assert any(str(culprit) in str(p) for p in hits), [str(p) for p in hits]
    # nothing beyond the damage: a clean set with one fault reports that fault only
    assert {p.kind for p in problems} == {kind}, [str(p) for p in problems]


def test_shape_mismatch_names_both_files(copy_of):
    root = copy_of("nii")
    label = _label_shape(root)
    (hit,) = check_dataset(root)
    assert hit.path == str(root / "imagesTr" / "pat1_frame12_0000.nii.gz") and str(label) in hit.message


def test_undeclared_label_values_are_listed(copy_of):
    root = copy_of("nii")
    _undeclared_label_value(root)
    (hit,) = check_dataset(root)
    assert "7" in hit.message and "scar tissue=2" in hit.message


def test_all_problems_reported_at_once(copy_of):
    root = copy_of("nii")
    culprits = [(_label_deleted(root), "image_without_label"), (_nan_in_image(root), "non_finite"),
                (_undeclared_label_value(root), "undeclared_label"), (_channel_shape(root), "channel_shape_mismatch"),
                (_splits_unknown_patient(root), "split_unknown_patient"), (_stray_file(root), "unexpected_file")]
    _edit_json(root / "dataset.json", numTraining=9)
    culprits.append((root / "dataset.json", "num_training"))
    problems = check_dataset(root)
    assert sorted((p.path, p.kind) for p in problems) == sorted((str(f), k) for f, k in culprits)


def test_report_lines():
    problems = [Problem("a/b.nii.gz", "unreadable", "cannot read"), Problem("a/c.png", "non_finite", "NaN")]
    assert str(problems[0]) == "a/b.nii.gz: cannot read"
    assert format_report(problems).splitlines() == ["a/b.nii.gz: cannot read  [unreadable]",
                                                    "a/c.png: NaN  [non_finite]"]


def test_missing_folder_is_a_problem_not_an_error(tmp_path):
    (problem,) = check_dataset(tmp_path / "nowhere")
    assert problem.kind == "folder_missing" and "nowhere" in str(problem)


def test_cli(copy_of, capsys):
    root = copy_of("png")
    assert main(["check-data", str(root)]) == 0
    assert capsys.readouterr().out.strip() == f"{root}: no problems found (4 cases)"
    bad_label, bad_image = _png_rgb_label(root), _png_corrupt(root)
    assert main(["check-data", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[-1] == f"2 problem(s) in {root}"
    assert any(line.startswith(str(bad_label)) for line in out)
    assert any(line.startswith(str(bad_image)) for line in out)


@pytest.mark.realdata
def test_real_ph2_is_clean():
    if not (PH2 / "dataset.json").is_file():
        pytest.skip(f"PH2 copy not found at {PH2}")
    t0 = time.perf_counter()
    problems = check_dataset(PH2)
    print(f"check_dataset({PH2}): {time.perf_counter() - t0:.2f} s")
    assert problems == [], format_report(problems)


# files the loader does not read are warnings for prepare (test_any_dataset.py: stray files and unused splits)
FATAL = [d for d in DAMAGES if d[2] not in WARNINGS]


@pytest.mark.parametrize("base, damage, kind", FATAL, ids=[d.__name__.strip("_") for _, d, _ in FATAL])
def test_prepare_refuses_every_bad_set_and_writes_nothing(copy_of, tmp_path, base, damage, kind):
    """The prepare step runs the same checks first: the same problem named, no output left behind."""
    from mednas.data.prepare import prepare_dataset
    from mednas.errors import DataError

    root = copy_of(base)
    culprit = damage(root)
    out = tmp_path / "prepared"
    out.mkdir()
    outputs = {k: out / f"{k}.npz" for k in ("train", "val", "test")} | {"summary": out / "data.json"}
    split = {"source": "fractions", "seed": 0, "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}}
    if kind.startswith("split"):
        split = {"source": "file", "seed": 0}  # splits.json is checked where the run reads it
    with pytest.raises(DataError) as err:
        prepare_dataset(root, {"kind": "nnunet_raw"}, split, {"image_size": 16, "target_spacing": None}, outputs)
    assert str(culprit) in str(err.value) and f"[{kind}]" in str(err.value)
    assert list(out.iterdir()) == []
