"""Proxy training (CardiacNAS): each candidate trained from scratch for a short budget, then validated."""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mednas.data.slices import SliceSet
from mednas.train.loop import TrainSettings, fit
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes, metric_names


def genotype_seed(seed: int, genotype: Any) -> int:
    """A seed per (run seed, genotype): the same candidate trains the same way in any order."""
    return (seed * 1_000_003 + zlib.crc32(genotype.key().encode())) % (2**31)


class ProxyEvaluator:
    """Validation Dice / HD95 after ``settings.epochs`` short epochs of standalone training of the
    network ``build(genotype)`` (any segmentation space's: the engine passes its registered builder)."""

    name = "proxy"

    def __init__(self, build: Callable[[Any], nn.Module], train: SliceSet, val: SliceSet, settings: TrainSettings,
                 device: str, seed: int):
        self.build, self.train, self.val, self.settings = build, train, val, settings
        self.device, self.seed = device, seed
        self.metrics = metric_names(val.structures)

    def __call__(self, genotype: Any) -> dict[str, float]:
        return self.run(genotype)[0]

    def run(self, genotype: Any) -> tuple[dict[str, float], list[dict[str, Any]]]:
        """The validation scores and the training rounds' rows (``train_loss`` per round) of one proxy run."""
        seed = genotype_seed(self.seed, genotype)
        seed_everything(seed)
        model = self.build(genotype).to(self.device)
        with tempfile.TemporaryDirectory(prefix="mednas-proxy-") as tmp:
            # The checkpoint is fit()'s resume mechanism; a proxy run is too short to be worth resuming.
            result = fit(model, self.train, self.settings, self.device, seed, archs_per_step=lambda rng: [None],
                         validate=lambda m: {}, checkpoint=Path(tmp) / "proxy.pt", fingerprint=genotype.key())
        model.eval()
        with torch.no_grad():
            return evaluate_volumes(model, self.val, self.device, self.settings.val_batch_size), result.rows
