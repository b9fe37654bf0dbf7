"""Loader for the nnU-Net (v2) raw layout, 3-D NIfTI or 2-D PNG.

    <root>/dataset.json            labels, channel_names, file_ending, optional spacing_known
    <root>/imagesTr/<case>_0000<file_ending>   one file per channel (_0000, _0001, ...); a PNG holds
                                               all its colour channels in _0000 (channel_names R, G, B)
    <root>/labelsTr/<case><file_ending>
    <root>/splits.json             optional: {"train": [...], "val": [...], "test": [...]} patients
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from mednas.data.volume import LabelSet, Volume, load_pair
from mednas.errors import DataError

# ACDC-style case ids: the patient is the part before "_frameYY".
FRAME_SUFFIX = re.compile(r"^(?P<patient>.+?)_frame(?P<frame>\d+)$")
ENDINGS = (".nii.gz", ".nii", ".png")
CHANNEL_SUFFIX = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


def _read_json(path: Path, what: str) -> object:
    """Parse a JSON file, naming it in any error."""
    if not path.is_file():
        raise DataError(f"missing {what}: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc


def read_dataset_json(root: Path) -> dict:
    """Read and check ``dataset.json``: ``labels`` becomes a :class:`LabelSet` under ``label_set``."""
    path = root / "dataset.json"
    if not root.is_dir():
        raise DataError(f"nnU-Net raw folder not found: {root}")
    meta = _read_json(path, "dataset.json (required in the nnU-Net raw layout)")
    if not isinstance(meta, dict):
        raise DataError(f"{path}: expected a JSON object")
    labels = meta.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise DataError(f"{path}: key 'labels' is missing or empty")
    channels = meta.get("channel_names")
    if not isinstance(channels, dict) or not channels:
        raise DataError(f"{path}: key 'channel_names' is missing or empty (nnU-Net v2: e.g. {{\"0\": \"MRI\"}}, "
                        "or {\"0\": \"R\", \"1\": \"G\", \"2\": \"B\"} for RGB PNG)")
    try:
        order = sorted(channels, key=int)
    except ValueError as exc:
        raise DataError(f"{path}: 'channel_names' keys must be channel numbers 0, 1, ... ({exc})") from exc
    if [int(k) for k in order] != list(range(len(order))):
        raise DataError(f"{path}: 'channel_names' keys must be 0..{len(order) - 1}, found {order}")
    ending = meta.get("file_ending", ".nii.gz")
    if ending not in ENDINGS:
        raise DataError(f"{path}: file_ending {ending!r} is not supported (use one of {', '.join(ENDINGS)})")
    meta["file_ending"] = ending
    meta["label_set"] = LabelSet.from_mapping(labels, [str(channels[k]) for k in order], str(path))
    return meta


def patient_of(case_id: str) -> str:
    """The patient a case belongs to (splits are made by patient, never by slice or frame)."""
    m = FRAME_SUFFIX.match(case_id)
    return m.group("patient") if m else case_id


@dataclass(frozen=True)
class CaseFiles:
    """The files of one training case."""

    case_id: str
    images: tuple[Path, ...]  # in channel order
    label: Path


def channel_files(meta: dict) -> int:
    """Image files per case: one per channel, except PNG, whose one file holds the colour channels."""
    return 1 if meta["file_ending"] == ".png" else meta["label_set"].in_channels


def image_files(root: Path, ending: str) -> dict[str, dict[int, Path]]:
    """``imagesTr`` as case id -> channel number -> file."""
    images_dir = root / "imagesTr"
    if not images_dir.is_dir():
        raise DataError(f"missing folder {images_dir} (required in the nnU-Net raw layout)")
    found: dict[str, dict[int, Path]] = {}
    for p in sorted(images_dir.iterdir()):
        if not p.name.endswith(ending):
            continue
        m = CHANNEL_SUFFIX.match(p.name[: -len(ending)])
        if m:
            found.setdefault(m.group("case"), {})[int(m.group("channel"))] = p
    return found


def list_cases(root: Path, meta: dict) -> list[CaseFiles]:
    """Every training case with its channel files and label, checked to be complete."""
    ending = meta["file_ending"]
    labels_dir = root / "labelsTr"
    if not labels_dir.is_dir():
        raise DataError(f"missing folder {labels_dir} (required in the nnU-Net raw layout)")
    found = image_files(root, ending)
    if not found:
        raise DataError(f"no images '*_0000{ending}' found in {root / 'imagesTr'}")
    n = channel_files(meta)
    cases = []
    for case_id, chans in sorted(found.items()):
        missing = [c for c in range(n) if c not in chans]
        if missing:
            raise DataError(f"case {case_id} lacks channel file(s) "
                            f"{', '.join(str(root / 'imagesTr' / f'{case_id}_{c:04d}{ending}') for c in missing)}")
        lbl = labels_dir / f"{case_id}{ending}"
        if not lbl.is_file():
            raise DataError(f"image {chans[0]} has no label file {lbl}")
        cases.append(CaseFiles(case_id, tuple(chans[c] for c in range(n)), lbl))
    return cases


def load_nnunet_raw(
    root: str | Path, phases: dict[str, str] | None = None, patients: Collection[str] | None = None
) -> tuple[list[Volume], LabelSet]:
    """Load every labelled training case of an nnU-Net raw data set, and its label set.

    ``phases`` optionally maps a frame suffix (``"frame01"``) to a cardiac phase name;
    ``patients`` optionally restricts loading to those patients.
    Spacing is read from NIfTI headers unless ``dataset.json`` says ``spacing_known: false``;
    PNG stores none.
    """
    root = Path(root)
    meta = read_dataset_json(root)
    labels: LabelSet = meta["label_set"]
    spacing_known = bool(meta.get("spacing_known", True)) and meta["file_ending"] != ".png"
    cases = list_cases(root, meta)
    if patients is not None:
        present = {patient_of(c.case_id) for c in cases}
        missing = sorted(set(patients) - present)
        if missing:
            raise DataError(f"{root}: patients not found: {missing}")
        cases = [c for c in cases if patient_of(c.case_id) in set(patients)]
    volumes = []
    for case in cases:
        m = FRAME_SUFFIX.match(case.case_id)
        phase = (phases or {}).get(f"frame{m.group('frame')}") if m else None
        volumes.append(load_pair(case.case_id, patient_of(case.case_id), phase, case.images, case.label, labels,
                                 spacing_known))
    return volumes, labels


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
