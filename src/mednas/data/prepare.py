"""The ``prepare`` step: load a raw data set, split by patient, write slices and a summary."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mednas.atomic import atomic_outputs
from mednas.data.check import WARNINGS, check_dataset, format_report
from mednas.data.preprocess import PreprocessSettings, build_splits, save_npz
from mednas.data.sources import dataset_name, load_volumes, resolve_split
from mednas.data.splits import SPLITS
from mednas.errors import DataError

log = logging.getLogger("mednas")


def settings_from_config(cfg: Mapping[str, Any]) -> PreprocessSettings:
    """``preprocess`` config section as settings."""
    target = cfg.get("target_spacing")
    return PreprocessSettings(
        image_size=int(cfg["image_size"]),
        target_spacing=tuple(float(x) for x in target) if target else None,
        clip_percentiles=tuple(float(x) for x in cfg.get("clip_percentiles", (0.5, 99.5))),
        fit=str(cfg.get("fit", "crop")),
    )


def prepare_dataset(
    raw_dir: str | Path,
    dataset_cfg: Mapping[str, Any],
    split_cfg: Mapping[str, Any],
    preprocess_cfg: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
) -> dict:
    """Write ``outputs['train'|'val'|'test']`` (.npz) and ``outputs['summary']`` (data.json).

    Everything is loaded and checked before anything is written, and all four files
    appear together or not at all; an nnU-Net raw set first passes ``mednas check-data``'s
    checks, every problem reported at once. Returns the summary.
    """
    if dataset_cfg["kind"] == "nnunet_raw":
        uses_splits_json = split_cfg.get("source") == "file" and not split_cfg.get("file")
        found = check_dataset(raw_dir, check_splits=uses_splits_json)
        for p in (p for p in found if p.kind in WARNINGS):
            log.warning("%s  [%s] (not used)", p, p.kind)
        problems = [p for p in found if p.kind not in WARNINGS]
        if problems:
            raise DataError(f"{raw_dir}: {len(problems)} problem(s) in the data set (as `mednas check-data` "
                            f"reports them):\n{format_report(problems)}")
    raw = load_volumes(dataset_cfg["kind"], raw_dir, dataset_cfg.get("phases") or None)
    volumes = raw.volumes
    patients = sorted({v.patient for v in volumes})
    split, unused, origin = resolve_split(dict(split_cfg), patients, raw_dir)
    arrays, summary = build_splits(volumes, raw.labels, split, settings_from_config(preprocess_cfg))
    summary = {
        "dataset": {"kind": dataset_cfg["kind"], "name": dataset_name(dataset_cfg["kind"], raw_dir),
                    "path": str(raw_dir), "patients": len(patients),
                    "volumes": len(volumes)},
        "split_source": origin,
        "unused_patients": unused,
        **summary,
    }
    keys = [*SPLITS, "summary"]
    with atomic_outputs([outputs[k] for k in keys]) as temps:
        for name, tmp in zip(SPLITS, temps):
            save_npz(tmp, arrays[name])
        temps[-1].write_text(json.dumps(summary, indent=1) + "\n")
    return summary
