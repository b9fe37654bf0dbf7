"""Loader for the nnU-Net raw layout.

    <root>/dataset.json            labels, file_ending, optional spacing_known
    <root>/imagesTr/<case>_0000.nii.gz
    <root>/labelsTr/<case>.nii.gz
    <root>/splits.json             optional: {"train": [...], "val": [...], "test": [...]} patients
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path

from mednas.data.volume import STRUCTURES, Volume, load_pair
from mednas.errors import DataError

# ACDC-style case ids: the patient is the part before "_frameYY".
FRAME_SUFFIX = re.compile(r"^(?P<patient>.+?)_frame(?P<frame>\d+)$")


def _read_json(path: Path, what: str) -> object:
    """Parse a JSON file, naming it in any error."""
    if not path.is_file():
        raise DataError(f"missing {what}: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc


def read_dataset_json(root: Path) -> dict:
    """Read and check ``dataset.json``."""
    path = root / "dataset.json"
    if not root.is_dir():
        raise DataError(f"nnU-Net raw folder not found: {root}")
    meta = _read_json(path, "dataset.json (required in the nnU-Net raw layout)")
    if not isinstance(meta, dict):
        raise DataError(f"{path}: expected a JSON object")
    labels = meta.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise DataError(f"{path}: key 'labels' is missing or empty")
    try:
        meta["labels"] = {str(k): int(v) for k, v in labels.items()}
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: 'labels' must map names to integer values ({exc})") from exc
    return meta


def patient_of(case_id: str) -> str:
    """The patient a case belongs to (splits are made by patient, never by slice or frame)."""
    m = FRAME_SUFFIX.match(case_id)
    return m.group("patient") if m else case_id


def load_nnunet_raw(
    root: str | Path, phases: dict[str, str] | None = None, patients: Collection[str] | None = None
) -> list[Volume]:
    """Load every labelled training case of an nnU-Net raw data set.

    ``phases`` optionally maps a frame suffix (``"frame01"``) to a cardiac phase name;
    ``patients`` optionally restricts loading to those patients.
    Spacing is read from the headers unless ``dataset.json`` says ``spacing_known: false``.
    """
    root = Path(root)
    meta = read_dataset_json(root)
    ending = meta.get("file_ending", ".nii.gz")
    spacing_known = bool(meta.get("spacing_known", True))
    allowed = set(meta["labels"].values())
    # The networks are built for background + STRUCTURES; a label beyond them would only fail
    # later, in training, as an index error naming no file.
    unsupported = {name: v for name, v in meta["labels"].items() if v != 0 and v not in STRUCTURES}
    if unsupported:
        raise DataError(f"{root / 'dataset.json'}: labels {unsupported} are not supported; the networks segment "
                        f"background (0) and {', '.join(f'{n} ({v})' for v, n in STRUCTURES.items())}")
    images_dir, labels_dir = root / "imagesTr", root / "labelsTr"
    for d in (images_dir, labels_dir):
        if not d.is_dir():
            raise DataError(f"missing folder {d} (required in the nnU-Net raw layout)")
    suffix = "_0000" + ending
    images = sorted(p for p in images_dir.iterdir() if p.name.endswith(suffix))
    if not images:
        raise DataError(f"no images '*{suffix}' found in {images_dir}")
    if patients is not None:
        present = {patient_of(img.name[: -len(suffix)]) for img in images}
        missing = sorted(set(patients) - present)
        if missing:
            raise DataError(f"{root}: patients not found: {missing}")
        images = [img for img in images if patient_of(img.name[: -len(suffix)]) in set(patients)]
    volumes = []
    for img in images:
        case_id = img.name[: -len(suffix)]
        lbl = labels_dir / f"{case_id}{ending}"
        if not lbl.is_file():
            raise DataError(f"image {img} has no label file {lbl}")
        m = FRAME_SUFFIX.match(case_id)
        phase = (phases or {}).get(f"frame{m.group('frame')}") if m else None
        volumes.append(load_pair(case_id, patient_of(case_id), phase, img, lbl, allowed, spacing_known))
    return volumes


def read_splits_json(path: str | Path) -> dict[str, list[str]]:
    """Read a patient split ``{"train": [...], "val": [...], "test": [...]}``."""
    path = Path(path)
    data = _read_json(path, "split file")
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected an object with keys train, val, test")
    for key in ("train", "val", "test"):
        if key not in data:
            raise DataError(f"{path}: key '{key}' is missing")
        if not isinstance(data[key], list) or not all(isinstance(x, str) for x in data[key]):
            raise DataError(f"{path}: '{key}' must be a list of patient ids")
    return {k: list(data[k]) for k in ("train", "val", "test")}
