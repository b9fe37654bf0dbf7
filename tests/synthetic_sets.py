"""Small generated data sets in the nnU-Net raw layout (3-D NIfTI or 2-D PNG), any label set.

Each label is a blob (a ball in 3-D, a disc in 2-D) at a random place in every case, and each
channel sees the labels at its own contrast, so a tiny network can start learning them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _blobs(rng: np.random.Generator, shape: tuple[int, int, int], n_labels: int) -> np.ndarray:
    """A label map with one blob per label value 1..n_labels (later labels drawn over earlier ones)."""
    label = np.zeros(shape, np.uint8)
    zz, yy, xx = np.mgrid[: shape[0], : shape[1], : shape[2]]
    for value in range(1, n_labels + 1):
        r = rng.uniform(0.12, 0.2) * shape[1]
        c = [rng.uniform(0.3, 0.7) * s for s in shape]
        dz = (zz - c[0]) / max(1.0, shape[0] / 2) * r if shape[0] > 1 else 0.0
        label[np.sqrt(dz ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) < r] = value
    return label


def write_nnunet_dataset(root: Path, labels: Sequence[str], channels: Sequence[str], n_cases: int = 8,
                         shape: tuple[int, int, int] = (6, 40, 40), ending: str = ".nii.gz",
                         spacing: tuple[float, float, float] = (2.5, 1.25, 1.25), seed: int = 0,
                         name: str | None = None) -> Path:
    """Write ``n_cases`` cases labelled ``labels`` (foreground names, values 1..) with ``channels``.

    ``ending`` ``.png`` writes 2-D cases (``shape[0]`` must be 1): one RGB file for three
    channels, a greyscale one for one channel. ``spacing`` is ``(slice, row, col)`` mm (NIfTI only).
    """
    import nibabel as nib
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    contrast = rng.uniform(0.3, 1.0, size=(len(channels), len(labels) + 1))
    contrast[:, 0] = 0.0
    for i in range(n_cases):
        case = f"case_{i:03d}"
        label = _blobs(rng, shape, len(labels))
        images = [contrast[c][label] + rng.normal(0, 0.08, shape) for c in range(len(channels))]
        if ending == ".png":
            if shape[0] != 1 or len(channels) not in (1, 3):
                raise ValueError("PNG cases are 2-D (one slice) with one or three channels")
            pixels = np.stack([np.clip(im[0] * 200 + 30, 0, 255) for im in images], -1).astype(np.uint8)
            Image.fromarray(pixels[..., 0] if len(channels) == 1 else pixels).save(
                root / "imagesTr" / f"{case}_0000.png")
            Image.fromarray(label[0]).save(root / "labelsTr" / f"{case}.png")
            continue
        affine = np.diag([spacing[1], spacing[2], spacing[0], 1.0])
        to_xyz = lambda a: np.ascontiguousarray(np.moveaxis(a, 0, 2))  # (z, y, x) arrays -> NIfTI (x, y, z)
        for c, im in enumerate(images):
            nib.save(nib.Nifti1Image(to_xyz(im.astype(np.float32)), affine),
                     str(root / "imagesTr" / f"{case}_{c:04d}{ending}"))
        nib.save(nib.Nifti1Image(to_xyz(label), affine), str(root / "labelsTr" / f"{case}{ending}"))
    meta = {"channel_names": {str(c): n for c, n in enumerate(channels)},
            "labels": {"background": 0, **{n: v for v, n in enumerate(labels, 1)}},
            "numTraining": n_cases, "file_ending": ending}
    if name:
        meta["name"] = name
    (root / "dataset.json").write_text(json.dumps(meta, indent=1))
    return root
