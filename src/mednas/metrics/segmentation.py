"""Dice and HD95 per structure on whole 3-D volumes.

Distances are in the unit of ``spacing``: mm where the voxel spacing is known, voxels
where it is not (pass ``spacing=None``); whoever stores a number stores its unit.

Empty-mask conventions (a structure can be absent from a volume, e.g. a
cardiac right ventricle above the apex):
- both prediction and reference empty: Dice 1, HD95 0 (nothing to find, nothing found);
- exactly one empty: Dice 0, HD95 = the diagonal of the volume in the distance unit,
  the largest distance two voxels of the volume can have. This keeps averages finite and
  penalises a missed or hallucinated structure as the worst boundary error possible,
  rather than dropping the case (NaN) and flattering the mean.

HD95 is MONAI's symmetric percentile Hausdorff distance on surface voxels: the larger of
the two directed 95th percentiles (medpy instead pools both directions first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def _check(pred: np.ndarray, ref: np.ndarray) -> None:
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")


def dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """Dice coefficient of two binary masks (1.0 when both are empty)."""
    _check(pred, ref)
    p, r = pred.astype(bool), ref.astype(bool)
    total = int(p.sum()) + int(r.sum())
    if total == 0:
        return 1.0
    return 2.0 * int((p & r).sum()) / total


def jaccard(pred: np.ndarray, ref: np.ndarray) -> float:
    """Jaccard index (intersection over union) of two binary masks (1.0 when both are empty)."""
    _check(pred, ref)
    p, r = pred.astype(bool), ref.astype(bool)
    union = int((p | r).sum())
    if union == 0:
        return 1.0
    return int((p & r).sum()) / union


def volume_diagonal(shape: Sequence[int], spacing: Sequence[float] | None) -> float:
    """Largest distance between two voxel centres of a grid, in the spacing's unit."""
    sp = np.ones(len(shape)) if spacing is None else np.asarray(spacing, dtype=float)
    return float(np.linalg.norm((np.asarray(shape) - 1) * sp))


def hd95(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float] | None) -> float:
    """95th-percentile symmetric Hausdorff distance of two binary masks."""
    import torch
    from monai.metrics import compute_hausdorff_distance

    _check(pred, ref)
    p, r = pred.astype(bool), ref.astype(bool)
    if spacing is not None and len(spacing) != p.ndim:
        raise ValueError(f"spacing {tuple(spacing)} does not match a {p.ndim}-D mask")
    has_p, has_r = bool(p.any()), bool(r.any())
    if not has_p and not has_r:
        return 0.0
    if has_p != has_r:
        return volume_diagonal(p.shape, spacing)
    value = compute_hausdorff_distance(
        torch.from_numpy(p)[None, None],
        torch.from_numpy(r)[None, None],
        include_background=True,
        percentile=95,
        spacing=None if spacing is None else [float(s) for s in spacing],
    )
    return float(value.item())


def per_structure(
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: Sequence[float] | None,
    structures: Mapping[int, str],
) -> dict[str, dict[str, float]]:
    """Dice and HD95 of every structure (label value -> name) of two label volumes: ``{name: {dice, hd95}}``."""
    _check(pred, ref)
    return {
        name: {"dice": dice(pred == value, ref == value), "hd95": hd95(pred == value, ref == value, spacing)}
        for value, name in structures.items()
    }
