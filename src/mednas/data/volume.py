"""One labelled 3-D volume and the checked reading of it from NIfTI files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mednas.errors import DataError

# Cardiac structures as labelled in ACDC; order is the label value.
STRUCTURES: dict[int, str] = {1: "RV", 2: "MYO", 3: "LV"}


@dataclass(frozen=True)
class Volume:
    """A labelled short-axis volume.

    Arrays are ``(slices, rows, cols)``; ``spacing`` is ``(slice, row, col)`` in mm, or
    ``None`` where the source does not know it (distances are then in voxels).
    """

    case_id: str
    patient: str
    phase: str | None  # "ED", "ES" or None where the source does not say
    image: np.ndarray
    label: np.ndarray
    spacing: tuple[float, float, float] | None
    image_path: Path
    label_path: Path


def read_nifti(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Read a 3-D NIfTI as ``(slices, rows, cols)`` float32 with ``(slice, row, col)`` zooms.

    NIfTI stores ``(x, y, z)``; short-axis slices run along z, so z becomes axis 0.
    """
    import nibabel as nib

    if not path.is_file():
        raise DataError(f"missing NIfTI file: {path}")
    try:
        img = nib.load(str(path))
        data = np.asarray(img.dataobj, dtype=np.float32)
        zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
    except Exception as exc:  # nibabel raises several types for corrupt files
        raise DataError(f"cannot read NIfTI {path}: {exc}") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DataError(f"{path}: expected a 3-D volume, found shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise DataError(f"{path}: contains NaN or infinite values")
    arr = np.ascontiguousarray(np.moveaxis(data, 2, 0))
    return arr, (zooms[2], zooms[0], zooms[1])


def load_pair(
    case_id: str,
    patient: str,
    phase: str | None,
    image_path: Path,
    label_path: Path,
    allowed_labels: set[int],
    spacing_known: bool = True,
) -> Volume:
    """Read an image and its label map and check that they belong together."""
    image, zooms = read_nifti(image_path)
    label_f, _ = read_nifti(label_path)
    if image.shape != label_f.shape:
        raise DataError(
            f"image and label shapes differ: {image_path} is {image.shape[::-1]} (x, y, z) "
            f"but {label_path} is {label_f.shape[::-1]}"
        )
    if not np.all(label_f == np.round(label_f)):
        raise DataError(f"{label_path}: label map holds non-integer values")
    label = label_f.astype(np.int64)
    values = set(np.unique(label).tolist())
    unexpected = sorted(values - allowed_labels)
    if unexpected:
        raise DataError(
            f"{label_path}: label values {unexpected} are not among the declared labels {sorted(allowed_labels)}"
        )
    spacing = zooms if spacing_known else None
    if spacing is not None and not all(s > 0 for s in spacing):
        raise DataError(f"{image_path}: voxel spacing {spacing} is not positive")
    return Volume(case_id, patient, phase, image, label.astype(np.uint8), spacing, image_path, label_path)
