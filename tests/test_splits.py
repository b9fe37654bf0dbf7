import json

import pytest

from mednas.data.nnunet_raw import read_splits_json
from mednas.data.splits import check_split, split_by_fractions
from mednas.errors import ConfigError, DataError

PATIENTS = [f"patient{i:03d}" for i in range(1, 21)]
FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def test_fractions_split_by_patient():
    split = split_by_fractions(PATIENTS, FRACTIONS, seed=0)
    assert [len(split[k]) for k in ("train", "val", "test")] == [14, 2, 4]
    everyone = split["train"] + split["val"] + split["test"]
    assert sorted(everyone) == PATIENTS
    assert check_split(split, PATIENTS, "test") == []


def test_fractions_deterministic_by_seed():
    assert split_by_fractions(PATIENTS, FRACTIONS, 3) == split_by_fractions(PATIENTS, FRACTIONS, 3)
    assert split_by_fractions(PATIENTS, FRACTIONS, 3) != split_by_fractions(PATIENTS, FRACTIONS, 4)


def test_fractions_that_empty_a_split_are_an_error():
    with pytest.raises(ConfigError, match="split.fractions.val"):
        split_by_fractions(PATIENTS[:3], {"train": 0.8, "val": 0.1, "test": 0.1}, 0)
    with pytest.raises(ConfigError, match="sum to 1"):
        split_by_fractions(PATIENTS, {"train": 0.7, "val": 0.2, "test": 0.2}, 0)


def test_check_split_errors():
    with pytest.raises(DataError, match="patient001 is in both 'train' and 'test'"):
        check_split({"train": ["patient001"], "val": ["patient002"], "test": ["patient001"]}, PATIENTS, "s.json")
    with pytest.raises(DataError, match="s.json: split 'val' names patients not in the data set: \\['patient999'\\]"):
        check_split({"train": ["patient001"], "val": ["patient999"], "test": ["patient003"]}, PATIENTS, "s.json")
    with pytest.raises(DataError, match="split 'test' is empty"):
        check_split({"train": ["patient001"], "val": ["patient002"], "test": []}, PATIENTS, "s.json")
    unused = check_split({"train": ["patient001"], "val": ["patient002"], "test": ["patient003"]}, PATIENTS[:4], "s")
    assert unused == ["patient004"]


def test_read_splits_json(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": ["a"], "val": ["b"]}))
    with pytest.raises(DataError, match="splits.json: key 'test' is missing"):
        read_splits_json(path)
    path.write_text(json.dumps({"train": ["a"], "val": ["b"], "test": ["c"]}))
    assert read_splits_json(path)["test"] == ["c"]


@pytest.mark.realdata
def test_real_split_file(real_acdc):
    split = read_splits_json(real_acdc / "splits.json")
    assert [len(split[k]) for k in ("train", "val", "test")] == [70, 10, 20]
    # against the patients whose images are in imagesTr, not against the split itself
    from mednas.data.nnunet_raw import patient_of

    on_disk = sorted({patient_of(p.name[: -len("_0000.nii.gz")]) for p in (real_acdc / "imagesTr").glob("*_0000.nii.gz")})
    assert len(on_disk) == 100
    assert check_split(split, on_disk, "real") == []


def test_split_file_missing_or_malformed(tmp_path):
    with pytest.raises(DataError, match="missing split file: .*nope.json"):
        read_splits_json(tmp_path / "nope.json")
    bad = tmp_path / "splits.json"
    bad.write_text("{train: [")
    with pytest.raises(DataError, match="splits.json: not valid JSON"):
        read_splits_json(bad)
