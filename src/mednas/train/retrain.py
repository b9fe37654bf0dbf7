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
from mednas.train.loop import FitResult, TrainSettings, fit
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes


def retrain(spec: Mapping[str, Any], train: SliceSet, val: SliceSet, settings: TrainSettings, device: str, seed: int,
            checkpoint: str | Path, fingerprint: str) -> tuple[nn.Module, FitResult]:
    """Train the network of ``spec`` from fresh weights; validate on whole volumes after every round.

    Returns the network with its last weights and the fit, which holds the weights of the round
    with the best validation Dice (validation only: the test set never chooses).
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

    result = fit(model, train, settings, device, seed, archs_per_step=lambda rng: [None], validate=validate,
                 checkpoint=checkpoint, fingerprint=fingerprint, keep_best=True)
    return model, result


def save_model(path: str | Path, model: nn.Module, spec: Mapping[str, Any], meta: Mapping[str, Any],
               best_state: Mapping[str, torch.Tensor] | None = None) -> None:
    """The spec that rebuilds the network, what the training recorded, and its weights.

    ``state_dict`` holds the weights that are evaluated: ``best_state`` (the best validation
    round) where given, else the model's own; ``last_state_dict`` always holds the last round's.
    """
    last = model.state_dict()
    torch.save({"spec": dict(spec), "state_dict": dict(best_state) if best_state is not None else last,
                "last_state_dict": last, "meta": dict(meta)}, path)


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
