"""MedMNIST v2 2-D subsets through the ``medmnist`` package (official npz files, official splits).

The package reads ``<root>/<flag>.npz`` (``<flag>_<size>.npz`` above 28 px) with
``download=False``; its download needs torchvision, which has no CPU build here, so a missing
file is an error that names the file and the official address to fetch it from. Images become
float32 (N, C, H, W) scaled as MedMNIST's examples do ((x / 255 - 0.5) / 0.5); labels are
class indices (N,). Multi-label ChestMNIST and the 3-D subsets are not supported (refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mednas.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")
# MedMNIST task types this pipeline trains: one class per image (ordinal regression is
# scored as MedMNIST scores it, a 5-class problem).
TASKS = ("binary-class", "multi-class", "ordinal-regression")


def _package():
    try:
        import medmnist
        from medmnist import dataset  # noqa: F401  (the dataset classes)
    except ImportError as err:
        raise ConfigError("the medmnist package is needed for dataset.kind medmnist: "
                          "pip install --no-deps medmnist (make install does this)") from err
    return medmnist


@dataclass(frozen=True)
class MedMNISTSplit:
    """One split of a subset: images (N, C, H, W) float32 and class indices (N,) int64."""

    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class MedMNISTInfo:
    """What the package says about a subset (task type, class names, channels)."""

    flag: str
    task: str
    class_names: tuple[str, ...]
    in_channels: int
    size: int

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def subset_info(flag: str, size: int = 28) -> MedMNISTInfo:
    """The package's description of subset ``flag``; unsupported subsets are refused by name."""
    medmnist = _package()
    if flag not in medmnist.INFO:
        raise ConfigError(f"dataset.flag: unknown MedMNIST subset '{flag}'; known: {sorted(medmnist.INFO)}")
    info = medmnist.INFO[flag]
    if flag.endswith("3d"):
        raise ConfigError(f"dataset.flag: {flag} is a 3-D subset; the classification track takes 2-D subsets")
    if info["task"] not in TASKS:
        raise ConfigError(f"dataset.flag: {flag} is a '{info['task']}' task, not supported (one label per image "
                          f"only: {list(TASKS)})")
    names = tuple(info["label"][str(i)] for i in range(len(info["label"])))
    return MedMNISTInfo(flag, info["task"], names, int(info["n_channels"]), int(size))


def subset_file(root: str | Path, flag: str, size: int = 28) -> Path:
    """Where the package expects the subset's npz."""
    return Path(root) / (f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz")


def load_medmnist(root: str | Path, flag: str, size: int = 28) -> tuple[MedMNISTInfo, dict[str, MedMNISTSplit]]:
    """Every official split of subset ``flag`` from ``root``, read by the ``medmnist`` package."""
    medmnist = _package()
    info = subset_info(flag, size)
    path = subset_file(root, flag, size)
    if not path.is_file():
        url = medmnist.INFO[flag].get("url" if size == 28 else f"url_{size}", "https://zenodo.org/records/10519652")
        raise DataError(f"{path}: MedMNIST file not found (dataset.path / dataset.flag / dataset.size); fetch it from "
                        f"{url} and place it there (the package's own download needs torchvision)")
    cls = getattr(medmnist.dataset, medmnist.INFO[flag]["python_class"])
    splits = {}
    for split in SPLITS:
        try:
            ds = cls(split=split, root=str(Path(root)), download=False, size=size)
        except (KeyError, ValueError, OSError, RuntimeError) as err:
            raise DataError(f"{path}: cannot read the {split} split ({err})") from err
        imgs = np.asarray(ds.imgs)
        if imgs.ndim == 3:
            imgs = imgs[:, None]
        elif imgs.ndim == 4:
            imgs = imgs.transpose(0, 3, 1, 2)
        else:
            raise DataError(f"{path}: {split}_images has shape {imgs.shape}; expected (N, H, W) or (N, H, W, C)")
        if imgs.shape[1] != info.in_channels or imgs.shape[-1] != size:
            raise DataError(f"{path}: {split}_images are {imgs.shape[1]} x {imgs.shape[-2]} x {imgs.shape[-1]}; "
                            f"{flag} at size {size} has {info.in_channels} channel(s)")
        labels = np.asarray(ds.labels)
        if labels.ndim != 2 or labels.shape[1] != 1 or len(labels) != len(imgs):
            raise DataError(f"{path}: {split}_labels has shape {labels.shape}; expected ({len(imgs)}, 1)")
        labels = labels[:, 0].astype(np.int64)
        if labels.min() < 0 or labels.max() >= info.num_classes:
            raise DataError(f"{path}: {split}_labels outside 0..{info.num_classes - 1}")
        images = ((imgs.astype(np.float32) / 255.0) - 0.5) / 0.5
        splits[split] = MedMNISTSplit(np.ascontiguousarray(images), labels)
    return info, splits
