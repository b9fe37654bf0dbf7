"""Validation on whole volumes: predict every slice, reassemble, Dice and HD95 per structure."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch

from mednas.data.slices import SliceSet
from mednas.metrics.segmentation import per_structure


@torch.no_grad()
def predict_slices(forward: Callable[[torch.Tensor], torch.Tensor], images: np.ndarray, device: str,
                   batch_size: int) -> np.ndarray:
    """Arg-max label of every slice of ``images`` (N, C, H, W): (N, H, W) uint8."""
    out = np.empty((images.shape[0], *images.shape[2:]), dtype=np.uint8)
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start:start + batch_size]).to(device)
        out[start:start + batch_size] = forward(x).argmax(1).to("cpu", torch.uint8).numpy()
    return out


def metric_names(structures: Mapping[int, str]) -> tuple[str, ...]:
    """Keys of :func:`evaluate_volumes`' result for a data set's ``structures``, in a fixed order."""
    per = tuple(f"{m}_{s}" for m in ("dice", "hd95") for s in structures.values())
    return (*per, "dice_mean", "hd95_mean")


def evaluate_volumes(forward: Callable[[torch.Tensor], torch.Tensor], data: SliceSet, device: str,
                     batch_size: int) -> dict[str, float]:
    """Mean over volumes of per-structure Dice and HD95 (in ``data.distance_unit``)."""
    pred = predict_slices(forward, data.image, device, batch_size)
    names = data.structures.values()
    scores = {f"{m}_{s}": [] for m in ("dice", "hd95") for s in names}
    for _, rows, spacing in data.volumes():
        res = per_structure(pred[rows], data.label[rows], spacing, data.structures)
        for s, vals in res.items():
            scores[f"dice_{s}"].append(vals["dice"])
            scores[f"hd95_{s}"].append(vals["hd95"])
    out = {k: float(np.mean(v)) for k, v in scores.items()}
    out["dice_mean"] = float(np.mean([out[f"dice_{s}"] for s in names]))
    out["hd95_mean"] = float(np.mean([out[f"hd95_{s}"] for s in names]))
    return out
