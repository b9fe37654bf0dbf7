"""One labelled volume, the label and channel sets of a data set, and the checked reading of
image files (3-D NIfTI, 2-D PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mednas.errors import DataError


@dataclass(frozen=True)
class LabelSet:
    """What a data set segments: label names by value (0 = background) and input channel names.

    Values are consecutive from 0 (nnU-Net's rule), so a network's output channel ``k`` is the
    label of value ``k`` and ``len(names)`` is its number of classes.
    """

    names: tuple[str, ...]     # names[v] is the label of value v; names[0] the background
    channels: tuple[str, ...]  # input channel names, in channel order

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise DataError(f"a data set needs background and at least one label, found {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise DataError(f"label names repeat: {list(self.names)}")
        if not self.channels:
            raise DataError("a data set needs at least one input channel")
        # summaries hold dice_<label>, dice_<label>_std and dice_mean; tables dsc_<label> and dsc_avg
        reserved = [n for n in self.names[1:] if n.lower() in ("mean", "avg") or n.lower().endswith("_std")]
        if reserved:
            raise DataError(f"label name(s) {reserved} are reserved (mean, avg, *_std name the averages): "
                            "rename them in dataset.json")

    @property
    def num_classes(self) -> int:
        """Output channels of a network for this data set (background included)."""
        return len(self.names)

    @property
    def in_channels(self) -> int:
        """Input channels of a network for this data set."""
        return len(self.channels)

    @property
    def structures(self) -> dict[int, str]:
        """Foreground labels, value -> name: what metrics, tables and figures report."""
        return {v: n for v, n in enumerate(self.names) if v > 0}

    @classmethod
    def from_mapping(cls, labels: Mapping[str, int], channels: Sequence[str], source: str) -> LabelSet:
        """From nnU-Net's ``labels`` (name -> value) and the channel names; ``source`` names the file."""
        by_value: dict[int, str] = {}
        for name, value in labels.items():
            if isinstance(value, (list, tuple)):
                raise DataError(f"{source}: label '{name}' is a region {value}; regions (nnU-Net's overlapping "
                                "label sets) are not supported: give each label one value")
            if not isinstance(value, int) or isinstance(value, bool):
                raise DataError(f"{source}: label '{name}' must have an integer value, found {value!r}")
            if value in by_value:
                raise DataError(f"{source}: labels '{by_value[value]}' and '{name}' share the value {value}")
            by_value[value] = str(name)
        if 0 not in by_value:
            raise DataError(f"{source}: no label has the value 0 (the background)")
        expected = list(range(len(by_value)))
        if sorted(by_value) != expected:
            raise DataError(f"{source}: label values must be consecutive from 0 (nnU-Net's rule), found "
                            f"{sorted(by_value)}")
        return cls(tuple(by_value[v] for v in expected), tuple(str(c) for c in channels))

    def to_json(self) -> dict:
        """As ``data.json`` stores it: nnU-Net's ``labels`` mapping and the channel names."""
        return {"labels": {n: v for v, n in enumerate(self.names)}, "channels": list(self.channels)}


@dataclass(frozen=True)
class Volume:
    """A labelled volume.

    ``image`` is ``(channels, slices, rows, cols)``, ``label`` ``(slices, rows, cols)``; a 2-D
    image is a volume of one slice. ``spacing`` is ``(slice, row, col)`` in mm, or ``None``
    where the source does not know it (distances are then in voxels or pixels).
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


def read_png(path: Path, label: bool = False) -> np.ndarray:
    """Read a PNG as ``(channels, 1, rows, cols)`` float32: greyscale one channel, RGB three
    (nnU-Net's natural-image convention: the colour channels of one file are the input channels).

    A palette PNG is a label map's common form: with ``label`` its indices are the labels; an
    image's palette is expanded to the colours drawn (grey where the palette is grey).
    """
    from PIL import Image

    if not path.is_file():
        raise DataError(f"missing PNG file: {path}")
    try:
        with Image.open(path) as im:
            if im.mode == "P" and not label:
                rgb = im.convert("RGBA" if "transparency" in im.info else "RGB")
                bands = np.asarray(rgb)
                grey = bands.shape[-1] == 3 and (bands == bands[..., :1]).all()
                im = im.convert("L") if grey else rgb
            data = np.asarray(im)
    except Exception as exc:  # Pillow raises OSError, SyntaxError, DecompressionBombError, ... for bad files
        raise DataError(f"cannot read PNG {path}: {exc}") from exc
    if data.ndim == 2:
        data = data[None]
    elif data.ndim == 3:
        data = np.moveaxis(data, 2, 0)
    else:
        raise DataError(f"{path}: expected a 2-D image, found shape {data.shape}")
    return np.ascontiguousarray(data[:, None].astype(np.float32))


def read_image(path: Path, label: bool = False) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """Any supported image file as ``(channels, slices, rows, cols)`` float32 and its spacing
    (``None`` for PNG, which stores none); ``label`` reads a palette PNG's indices."""
    name = path.name.lower()
    if name.endswith((".nii.gz", ".nii")):
        data, zooms = read_nifti(path)
        return data[None], zooms
    if name.endswith(".png"):
        return read_png(path, label), None
    raise DataError(f"{path}: unsupported file type (supported: .nii.gz, .nii, .png)")


def read_label(path: Path) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """A label map as ``(slices, rows, cols)`` int64 and its spacing; it must hold integers."""
    data, spacing = read_image(path, label=True)
    if data.shape[0] != 1:
        raise DataError(f"{path}: a label map must have one channel, found {data.shape[0]} (a colour PNG?)")
    if not np.all(data == np.round(data)):
        raise DataError(f"{path}: label map holds non-integer values")
    return data[0].astype(np.int64), spacing


def load_pair(
    case_id: str,
    patient: str,
    phase: str | None,
    image_paths: Sequence[Path],
    label_path: Path,
    labels: LabelSet,
    spacing_known: bool = True,
) -> Volume:
    """Read a case's image file(s) (one per channel file, in channel order) and its label map,
    and check that they belong together and match the data set's declared labels and channels."""
    parts, spacings = [], []
    for p in image_paths:
        data, sp = read_image(p)
        if not np.all(np.isfinite(data)):
            raise DataError(f"{p}: contains NaN or infinite values")
        parts.append(data)
        spacings.append(sp)
    image_path = Path(image_paths[0])
    for p, data in zip(image_paths[1:], parts[1:]):
        if data.shape[1:] != parts[0].shape[1:]:
            raise DataError(f"channel files of case {case_id} differ in shape: {image_path} is "
                            f"{parts[0].shape[1:]} but {p} is {data.shape[1:]}")
    image = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if image.shape[0] != labels.in_channels:
        raise DataError(f"{image_path}: {image.shape[0]} input channel(s), but dataset.json's channel_names "
                        f"declares {labels.in_channels} ({', '.join(labels.channels)})")
    label, label_spacing = read_label(label_path)
    if image.shape[1:] != label.shape:
        raise DataError(f"image and label shapes differ: {image_path} is {image.shape[1:]} (slices, rows, cols) "
                        f"but {label_path} is {label.shape}")
    spacing = spacings[0]
    if spacing_known and spacing is not None and label_spacing is not None and \
            not np.allclose(spacing, label_spacing, rtol=1e-3):
        raise DataError(f"image and label spacings differ: {image_path} has {spacing} but {label_path} has "
                        f"{label_spacing}")
    unexpected = sorted(set(np.unique(label).tolist()) - set(range(labels.num_classes)))
    if unexpected:
        raise DataError(f"{label_path}: label values {unexpected} are not among the declared labels "
                        f"{labels.to_json()['labels']}")
    spacing = spacing if spacing_known else None
    if spacing is not None and not all(s > 0 for s in spacing):
        raise DataError(f"{image_path}: voxel spacing {spacing} is not positive")
    return Volume(case_id, patient, phase, image, label.astype(np.uint8), spacing, image_path, Path(label_path))
