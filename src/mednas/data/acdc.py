"""Loader for the official ACDC layout.

    <root>/[training|testing/]patientXXX/Info.cfg
    <root>/.../patientXXX/patientXXX_frameYY.nii.gz      (image)
    <root>/.../patientXXX/patientXXX_frameYY_gt.nii.gz   (labels 0 bg, 1 RV, 2 MYO, 3 LV)

``Info.cfg`` names the end-diastolic (ED) and end-systolic (ES) frames; spacing comes from
the NIfTI header.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from mednas.data.volume import LabelSet, Volume, load_pair
from mednas.errors import DataError

# ACDC's label values and its one cine-MRI channel (the phantom is written in this layout too).
ACDC_LABELS = LabelSet(names=("background", "RV", "MYO", "LV"), channels=("cineMRI",))
PATIENT_DIR = re.compile(r"^patient\d{3}$")
INFO_KEYS = ("ED", "ES")


def parse_info_cfg(path: Path) -> dict[str, str]:
    """Parse ``Info.cfg`` (``Key: value`` lines) and check the ED / ES frame keys."""
    if not path.is_file():
        raise DataError(f"missing ACDC info file: {path}")
    info: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        if ":" not in line:
            raise DataError(f"{path}:{n}: expected 'Key: value', found {line!r}")
        key, value = line.split(":", 1)
        info[key.strip()] = value.strip()
    for key in INFO_KEYS:
        if key not in info:
            raise DataError(f"{path}: key '{key}' is missing")
        if not info[key].isdigit():
            raise DataError(f"{path}: key '{key}' should be a frame number, found {info[key]!r}")
    return info


def find_patient_dirs(root: Path) -> list[Path]:
    """Patient folders directly under ``root`` or under its ``training/`` and ``testing/``."""
    if not root.is_dir():
        raise DataError(f"ACDC folder not found: {root}")
    parents = [root] + [root / sub for sub in ("training", "testing") if (root / sub).is_dir()]
    dirs = sorted(
        (d for parent in parents for d in parent.iterdir() if d.is_dir() and PATIENT_DIR.match(d.name)),
        key=lambda d: d.name,
    )
    if not dirs:
        raise DataError(f"no ACDC patient folders (patientXXX/) found in {root}")
    names = [d.name for d in dirs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"{root}: patient folders appear more than once: {dupes}")
    return dirs


def load_acdc(root: str | Path, patients: Collection[str] | None = None) -> list[Volume]:
    """Load the ED and ES frames of every patient (or of ``patients``) under an official ACDC folder."""
    root = Path(root)
    volumes: list[Volume] = []
    dirs = find_patient_dirs(root)
    if patients is not None:
        missing = sorted(set(patients) - {d.name for d in dirs})
        if missing:
            raise DataError(f"{root}: patients not found: {missing}")
        dirs = [d for d in dirs if d.name in set(patients)]
    for pdir in dirs:
        info = parse_info_cfg(pdir / "Info.cfg")
        for phase in INFO_KEYS:
            frame = int(info[phase])
            stem = f"{pdir.name}_frame{frame:02d}"
            volumes.append(
                load_pair(
                    case_id=f"{pdir.name}_{phase}",
                    patient=pdir.name,
                    phase=phase,
                    image_paths=[pdir / f"{stem}.nii.gz"],
                    label_path=pdir / f"{stem}_gt.nii.gz",
                    labels=ACDC_LABELS,
                )
            )
    return volumes
