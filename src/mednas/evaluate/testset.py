"""Final evaluation of a retrained network on the held-out test patients."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from mednas.data.slices import SliceSet
from mednas.metrics.segmentation import per_structure
from mednas.train.validation import predict_slices

PER_CASE_COLUMNS = ("patient", "case_id", "phase", "structure", "dice", "hd95", "distance_unit")


def per_case_rows(forward: Callable[[torch.Tensor], torch.Tensor], test: SliceSet, device: str, batch_size: int,
                  phases: Mapping[str, str | None] | None = None) -> list[dict[str, Any]]:
    """One row per test volume and structure: 3-D Dice and HD95 (in ``test.distance_unit``)."""
    pred = predict_slices(forward, test.image, device, batch_size)
    rows = []
    for case_id, sl, spacing in test.volumes():
        res = per_structure(pred[sl], test.label[sl], spacing, test.structures)
        for name in test.structures.values():
            rows.append({"patient": test.patient_of(sl), "case_id": case_id,
                         "phase": (phases or {}).get(case_id) or "", "structure": name,
                         "dice": res[name]["dice"], "hd95": res[name]["hd95"], "distance_unit": test.distance_unit})
    return rows


def per_patient(rows: list[Mapping[str, Any]], metric: str) -> dict[str, float]:
    """A patient's score: the mean over its volumes (ED and ES) and structures, the unit of pairing in tests."""
    by_patient: dict[str, list[float]] = {}
    for r in rows:
        by_patient.setdefault(str(r["patient"]), []).append(float(r[metric]))
    return {p: float(np.mean(v)) for p, v in sorted(by_patient.items())}


def structures_of(rows: list[Mapping[str, Any]]) -> list[str]:
    """The structures per-case rows score, in their first-seen order (the label order)."""
    return list(dict.fromkeys(str(r["structure"]) for r in rows))


def summarise(rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Means (and standard deviations over volumes) per structure and overall, as fractions / distances."""
    out: dict[str, Any] = {}
    names = structures_of(rows)
    out["structures"] = names
    for metric in ("dice", "hd95"):
        for name in names:
            vals = [float(r[metric]) for r in rows if r["structure"] == name]
            out[f"{metric}_{name}"] = float(np.mean(vals))
            out[f"{metric}_{name}_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        out[f"{metric}_mean"] = float(np.mean([out[f"{metric}_{n}"] for n in names]))
    out["volumes"] = len({r["case_id"] for r in rows})
    out["patients"] = len({r["patient"] for r in rows})
    return out
