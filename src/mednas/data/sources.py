"""Turn the ``dataset`` and ``split`` config sections into volumes and a patient split."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from mednas.data.acdc import ACDC_LABELS, load_acdc
from mednas.data.nnunet_raw import load_nnunet_raw, read_dataset_json, read_splits_json
from mednas.data.splits import check_split, split_by_fractions
from mednas.data.volume import LabelSet, Volume
from mednas.errors import ConfigError

LAYOUTS = ("phantom", "acdc", "nnunet_raw")


@dataclass(frozen=True)
class RawDataset:
    """A loaded data set: its volumes and what they are labelled with."""

    volumes: list[Volume]
    labels: LabelSet


def load_volumes(
    kind: str, path: str | Path, phases: dict[str, str] | None = None, patients: Collection[str] | None = None
) -> RawDataset:
    """Load every labelled volume (or those of ``patients``) of a data set of layout ``kind``.

    The phantom is written in the official ACDC layout, so it loads like ACDC.
    """
    if kind in ("phantom", "acdc"):
        return RawDataset(load_acdc(path, patients), ACDC_LABELS)
    if kind == "nnunet_raw":
        return RawDataset(*load_nnunet_raw(path, phases, patients))
    raise ConfigError(f"dataset.kind: unsupported value '{kind}' (use one of {', '.join(LAYOUTS)})")


def describe_dataset(kind: str, path: str | Path) -> tuple[str, LabelSet]:
    """A data set's name and its labels and channels, from its description alone (no image is
    loaded): the phantom's and ACDC's own, or an nnU-Net raw ``dataset.json``'s (nnU-Net does not
    require its ``name`` key: without it, the folder's name)."""
    if kind == "phantom":
        return "phantom (synthetic)", ACDC_LABELS
    if kind == "acdc":
        return "ACDC", ACDC_LABELS
    if kind == "nnunet_raw":
        meta = read_dataset_json(Path(path))
        return (str(meta["name"]) if meta.get("name") else Path(path).resolve().name), meta["label_set"]
    raise ConfigError(f"dataset.kind: unsupported value '{kind}' (use one of {', '.join(LAYOUTS)})")


def dataset_labels(kind: str, path: str | Path) -> LabelSet:
    """A data set's labels and channels (see :func:`describe_dataset`)."""
    return describe_dataset(kind, path)[1]


def dataset_name(kind: str, path: str | Path) -> str:
    """The name tables give the data set (see :func:`describe_dataset`)."""
    return describe_dataset(kind, path)[0]


def resolve_split(
    split_cfg: dict, patients: list[str], dataset_path: str | Path
) -> tuple[dict[str, list[str]], list[str], str]:
    """The patient split asked for by ``split_cfg``: (split, unused patients, where it came from)."""
    source = split_cfg.get("source", "fractions")
    if source == "fractions":
        split = split_by_fractions(patients, split_cfg["fractions"], int(split_cfg.get("seed", 0)))
        origin = f"split.fractions (seed {split_cfg.get('seed', 0)})"
    elif source == "file":
        file = Path(split_cfg.get("file") or Path(dataset_path) / "splits.json")
        split = read_splits_json(file)
        origin = str(file)
    else:
        raise ConfigError(f"split.source: unsupported value '{source}' (use fractions or file)")
    unused = check_split(split, patients, origin)
    return split, unused, origin
