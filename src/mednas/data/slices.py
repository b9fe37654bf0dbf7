"""Read the per-split slice files written by ``prepare`` and regroup slices into volumes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import zoom

from mednas.data.volume import LabelSet
from mednas.errors import DataError

REQUIRED = ("image", "label", "case_id", "slice_index", "spacing", "distance_unit", "patient", "label_names",
            "channel_names")


@dataclass(frozen=True)
class SliceSet:
    """All slices of one split. Images (N, C, H, W) float32, labels (N, H, W) uint8."""

    image: np.ndarray
    label: np.ndarray
    case_id: np.ndarray
    slice_index: np.ndarray
    spacing: np.ndarray
    distance_unit: str
    patient: np.ndarray  # per slice: ED and ES volumes of one patient pair up in the paired tests
    labels: LabelSet

    @property
    def structures(self) -> dict[int, str]:
        """Foreground labels, value -> name."""
        return self.labels.structures

    def patient_ids(self) -> np.ndarray:
        """Each slice's patient."""
        return self.patient

    def patient_of(self, rows: slice) -> str:
        """The patient a volume's rows belong to."""
        return str(self.patient_ids()[rows.start])

    def __len__(self) -> int:
        return int(self.image.shape[0])

    def take(self, rows: np.ndarray) -> SliceSet:
        """The slices at ``rows`` (indices), every per-slice array alike."""
        return replace(self, image=self.image[rows], label=self.label[rows], case_id=self.case_id[rows],
                       slice_index=self.slice_index[rows], spacing=self.spacing[rows], patient=self.patient[rows])

    def resized(self, size: int) -> SliceSet:
        """The same slices on a ``size`` x ``size`` grid (linear for images, nearest for labels).

        In-plane spacing grows by the zoom factor, so distances keep the unit of the original
        grid: an HD95 measured on a half-resolution copy is still in full-resolution voxels or mm.
        """
        rows, cols = self.image.shape[-2:]
        if size < 1:
            raise DataError(f"cannot resize slices to {size} px")
        if (size, size) == (rows, cols):
            return self
        factors = (1.0, size / rows, size / cols)
        # per channel, each filled with its own minimum (channels are normalised separately)
        image = np.stack([zoom(self.image[:, c], factors, order=1, grid_mode=True, mode="grid-constant",
                               cval=float(self.image[:, c].min())) for c in range(self.image.shape[1])],
                         axis=1).astype(np.float32)
        label = zoom(self.label, factors, order=0, grid_mode=True, mode="grid-constant", cval=0).astype(self.label.dtype)
        spacing = self.spacing * np.array([1.0, rows / size, cols / size], dtype=self.spacing.dtype)
        return replace(self, image=image, label=label, spacing=spacing)

    def volumes(self) -> list[tuple[str, slice, tuple[float, float, float]]]:
        """``(case_id, rows, spacing)`` of each volume, in file order (a case's slices are contiguous)."""
        out = []
        start = 0
        ids = self.case_id
        for i in range(1, len(ids) + 1):
            if i == len(ids) or ids[i] != ids[start]:
                out.append((str(ids[start]), slice(start, i), tuple(float(s) for s in self.spacing[start])))
                start = i
        return out


def load_slices(path: str | Path) -> SliceSet:
    """Load one split's ``.npz`` and check that it holds what ``prepare`` writes."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing slice file {path} (run the prepare rule)")
    with np.load(path) as data:
        missing = [k for k in REQUIRED if k not in data]
        if missing:
            raise DataError(f"{path}: arrays {missing} are missing (a file of an older prepare? delete it and "
                            "re-run the prepare rule)")
        arrays = {k: data[k] for k in REQUIRED}
    if len(arrays["image"]) == 0:
        raise DataError(f"{path}: holds no slices")
    if arrays["image"].ndim != 4:
        raise DataError(f"{path}: images of shape {arrays['image'].shape}, expected (slices, channels, rows, cols)")
    labels = LabelSet(tuple(str(n) for n in arrays["label_names"]), tuple(str(c) for c in arrays["channel_names"]))
    if arrays["image"].shape[1] != labels.in_channels:
        raise DataError(f"{path}: {arrays['image'].shape[1]} image channels but {labels.in_channels} channel names")
    return SliceSet(arrays["image"].astype(np.float32), arrays["label"], arrays["case_id"],
                    arrays["slice_index"], arrays["spacing"], str(arrays["distance_unit"]), arrays["patient"], labels)
