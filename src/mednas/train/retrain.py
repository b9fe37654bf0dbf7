"""Retraining one network (searched or baseline) from scratch, and its model file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mednas.data.slices import SliceSet
from mednas.errors import DataError
from mednas.models.registry import build_model, input_multiple
from mednas.train.loop import TrainSettings, fit
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes


def retrain(spec: Mapping[str, Any], train: SliceSet, val: SliceSet, settings: TrainSettings, device: str, seed: int,
            checkpoint: str | Path, fingerprint: str) -> tuple[nn.Module, list[dict[str, Any]]]:
    """Train the network of ``spec`` from fresh weights; validate on whole volumes after every epoch.

    The weights of the last epoch are kept (no selection on the validation set, which the
    search already used to pick the genotype).
    """
    size = int(train.image.shape[-1])
    if size % input_multiple(spec):
        raise DataError(f"image size {size} is not divisible by {input_multiple(spec)}, which {spec['kind']} "
                        f"needs (config key preprocess.image_size)")
    seed_everything(seed)
    model = build_model(spec)

    def validate(m: nn.Module) -> dict[str, float]:
        m.eval()
        with torch.no_grad():
            return evaluate_volumes(m, val, device, settings.val_batch_size)

    rows = fit(model, train, settings, device, seed, archs_per_step=lambda rng: [None], validate=validate,
               checkpoint=checkpoint, fingerprint=fingerprint)
    return model, rows


def save_model(path: str | Path, model: nn.Module, spec: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Weights plus the spec that rebuilds the network and what the training recorded."""
    torch.save({"spec": dict(spec), "state_dict": model.state_dict(), "meta": dict(meta)}, path)


def load_model(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Rebuild a network saved by :func:`save_model`: ``(model in eval mode, spec, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing model file {path} (run the retrain rule)")
    blob = torch.load(path, map_location=device, weights_only=False)
    if not isinstance(blob, dict) or not {"spec", "state_dict", "meta"} <= set(blob):
        raise DataError(f"{path} is not a mednas model file (needs spec, state_dict and meta)")
    model = build_model(blob["spec"])
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval(), blob["spec"], blob["meta"]
