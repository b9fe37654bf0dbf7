"""Volumes to 2-D training slices: normalise, resample in plane, crop or pad, split.

Each split is stored as one ``.npz`` with ``image`` (N, C, H, W) float32, ``label`` (N, H, W)
uint8, per slice ``case_id``, ``patient``, ``slice_index`` and ``spacing`` ((slice, row, col),
in ``distance_unit``), so 3-D volumes can be reassembled for per-volume metrics, and the data
set's ``label_names`` (by value) and ``channel_names``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import zoom

from mednas.data.splits import SPLITS
from mednas.data.volume import LabelSet, Volume
from mednas.errors import ConfigError, DataError


@dataclass(frozen=True)
class PreprocessSettings:
    """How volumes become slices (see ``preprocess`` in the config)."""

    image_size: int
    target_spacing: tuple[float, float] | None  # in-plane mm; None keeps the native grid
    clip_percentiles: tuple[float, float] = (0.5, 99.5)
    fit: str = "crop"  # crop: centre-crop or pad to image_size; resize: scale the whole slice to it

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise ConfigError(f"preprocess.fit: unsupported value {self.fit!r} (use one of {', '.join(FITS)})")


FITS = ("crop", "resize")


def distance_convention(unit: str) -> str:
    """How HD95 (and every distance) of a data set in ``unit`` is measured, for every output to state."""
    return {
        "mm": "3-D HD95 in mm, from the voxel spacing in the image headers",
        "voxel": "3-D HD95 in voxels: the voxel spacing is unknown, so an in-plane pixel and the slice step "
                 "each count as one (as the SSL4MIS papers do on the ACDC split)",
        "pixel": "2-D HD95 in pixels of the prepared image (no pixel spacing is known)",
    }[unit]


def normalise_intensity(image: np.ndarray, percentiles: tuple[float, float]) -> np.ndarray:
    """Per channel (axis 0): clip to the volume's percentiles, standardise to zero mean, unit variance.

    Percentile clipping makes the scale robust to the few very bright voxels (flow
    artefacts, fat) that would dominate a min-max normalisation.
    """
    out = np.empty(image.shape, dtype=np.float32)
    for c, channel in enumerate(image):
        lo, hi = np.percentile(channel, percentiles)
        clipped = np.clip(channel, lo, hi)
        std = clipped.std()
        if std == 0:
            raise DataError(f"image channel {c} has constant intensity after clipping")
        out[c] = (clipped - clipped.mean()) / std
    return out


def resample_inplane(
    image: np.ndarray, label: np.ndarray, spacing: tuple[float, float, float], target: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Resample rows and columns to ``target`` mm (linear for images, nearest for labels).

    ``image`` is (channels, slices, rows, cols), ``label`` (slices, rows, cols). The returned
    spacing is the exact one of the new grid (the grid size is rounded).
    """
    rows, cols = label.shape[-2:]
    new_rows = max(1, int(round(rows * spacing[1] / target[0])))
    new_cols = max(1, int(round(cols * spacing[2] / target[1])))
    return resize_inplane(image, label, spacing, (new_rows, new_cols))


def resize_inplane(
    image: np.ndarray, label: np.ndarray, spacing: tuple[float, float, float] | None, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float] | None]:
    """Scale rows and columns to ``shape`` (linear for images, nearest for labels); the spacing
    grows by the scale factor, so distances keep the source grid's unit."""
    rows, cols = label.shape[-2:]
    factors = (shape[0] / rows, shape[1] / cols)
    # each channel filled with its own background (its minimum) where the grid reaches past the image
    img = np.stack([zoom(ch, (1.0, *factors), order=1, grid_mode=True, mode="grid-constant", cval=float(ch.min()))
                    for ch in image])
    lbl = zoom(label, (1.0, *factors), order=0, grid_mode=True, mode="grid-constant", cval=0)
    new_spacing = None if spacing is None else (spacing[0], spacing[1] / factors[0], spacing[2] / factors[1])
    return img.astype(np.float32), lbl.astype(np.uint8), new_spacing


def crop_or_pad(array: np.ndarray, size: int, fill: float) -> np.ndarray:
    """Centre-crop or pad the last two axes to ``size`` x ``size``."""
    out = array
    for axis in (-2, -1):
        n = out.shape[axis]
        if n > size:
            start = (n - size) // 2
            out = np.take(out, np.arange(start, start + size), axis=axis)
        elif n < size:
            before = (size - n) // 2
            pad = [(0, 0)] * out.ndim
            pad[axis] = (before, size - n - before)
            out = np.pad(out, pad, constant_values=fill)
    return out


def preprocess_volume(volume: Volume, settings: PreprocessSettings) -> dict:
    """Normalise, resample and crop (or resize) one volume; report how much foreground survived."""
    image = normalise_intensity(volume.image, settings.clip_percentiles)
    label = volume.label
    spacing = volume.spacing
    if settings.fit == "resize":
        image, label, spacing = resize_inplane(image, label, spacing, (settings.image_size, settings.image_size))
    elif spacing is not None and settings.target_spacing is not None:
        image, label, spacing = resample_inplane(image, label, spacing, settings.target_spacing)
    foreground_before = int((label > 0).sum())
    image = np.stack([crop_or_pad(ch, settings.image_size, fill=float(ch.min())) for ch in image])
    label = crop_or_pad(label, settings.image_size, fill=0)
    kept = float((label > 0).sum() / foreground_before) if foreground_before else 1.0
    return {"image": image, "label": label, "spacing": spacing, "foreground_kept": kept}


def build_splits(
    volumes: list[Volume], labels: LabelSet, split: dict[str, list[str]], settings: PreprocessSettings
) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """Preprocess every volume of the split's patients into per-split slice arrays.

    Returns the arrays for each split and a summary for ``data.json``.
    """
    if not volumes:
        raise DataError("the data set holds no volumes")
    known = {v.spacing is not None for v in volumes}
    if len(known) > 1:
        raise DataError("some volumes have a known spacing and others do not; cannot mix mm and voxels")
    spacing_known = known.pop()
    # Without a spacing, one-slice cases (2-D images) measure in pixels, stacks in voxels.
    unit = "mm" if spacing_known else "pixel" if all(v.label.shape[0] == 1 for v in volumes) else "voxel"
    assignment = {p: name for name in SPLITS for p in split[name]}
    arrays: dict[str, dict[str, list]] = {name: {k: [] for k in ("image", "label", "case_id", "patient",
                                                                  "slice_index", "spacing")} for name in SPLITS}
    cases = []
    for vol in volumes:
        name = assignment.get(vol.patient)
        if name is None:
            continue
        out = preprocess_volume(vol, settings)
        n = out["label"].shape[0]
        spacing = out["spacing"] if out["spacing"] is not None else (1.0, 1.0, 1.0)
        a = arrays[name]
        a["image"].append(np.moveaxis(out["image"], 0, 1))  # (slices, channels, rows, cols)
        a["label"].append(out["label"])
        a["case_id"] += [vol.case_id] * n
        a["patient"] += [vol.patient] * n
        a["slice_index"].append(np.arange(n, dtype=np.int16))
        a["spacing"].append(np.tile(np.asarray(spacing, dtype=np.float32), (n, 1)))
        cases.append({
            "case_id": vol.case_id, "patient": vol.patient, "phase": vol.phase, "split": name, "slices": n,
            "source_shape": list(vol.label.shape), "source_spacing": list(vol.spacing) if vol.spacing else None,
            "spacing": [round(float(s), 6) for s in spacing], "foreground_kept": round(out["foreground_kept"], 6),
            "image": str(vol.image_path), "label": str(vol.label_path),
        })
    result: dict[str, dict[str, np.ndarray]] = {}
    summary_splits = {}
    names = dict(enumerate(labels.names))
    for name in SPLITS:
        a = arrays[name]
        if not a["image"]:
            raise DataError(f"split '{name}' has no volumes after loading")
        label = np.concatenate(a["label"])
        result[name] = {
            "image": np.concatenate(a["image"]).astype(np.float32),
            "label": label,
            "case_id": np.asarray(a["case_id"]),
            "patient": np.asarray(a["patient"]),
            "slice_index": np.concatenate(a["slice_index"]),
            "spacing": np.concatenate(a["spacing"]),
            "distance_unit": np.asarray(unit),
            "label_names": np.asarray(labels.names),
            "channel_names": np.asarray(labels.channels),
        }
        counts = np.bincount(label.ravel(), minlength=labels.num_classes)
        summary_splits[name] = {
            "patients": sorted(set(a["patient"])),
            "cases": sorted(set(a["case_id"])),
            "slices": int(label.shape[0]),
            "class_voxels": {names[i]: int(counts[i]) for i in names},
            "class_frequency": {names[i]: round(float(counts[i] / counts.sum()), 6) for i in names},
        }
    summary = {
        "distance_unit": unit,
        "distance_convention": distance_convention(unit),
        "spacing_known": spacing_known,
        "image_size": settings.image_size,
        "fit": settings.fit,
        "target_spacing": list(settings.target_spacing) if settings.target_spacing else None,
        **labels.to_json(),
        "splits": summary_splits,
        "min_foreground_kept": min(c["foreground_kept"] for c in cases),
        "cases": cases,
    }
    return result, summary


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write one split's arrays (uncompressed: loading speed matters more than disk here)."""
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
