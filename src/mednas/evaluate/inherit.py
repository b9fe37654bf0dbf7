"""Inherited-weight evaluation (MoSegNAS Algorithm 2): supernet slice, BN recalibrated, validated."""

from __future__ import annotations

from pathlib import Path

import torch

from mednas.data.slices import SliceSet
from mednas.errors import DataError
from mednas.evaluate.proxy import genotype_seed
from mednas.models.supernets import supernet_family
from mednas.space.base import Genotype
from mednas.train.supernet import calibration_batches, evaluate_genotype, load_supernet
from mednas.train.validation import metric_names


class InheritEvaluator:
    """Dice and HD95 on the validation volumes of a genotype carrying the supernet's weights."""

    name = "inherit"

    def __init__(self, supernet_path: str | Path, train: SliceSet, val: SliceSet, device: str, batch_size: int,
                 val_batch_size: int, bn_recal_batches: int, seed: int):
        self.model, self.space, self.arch, self.meta = load_supernet(supernet_path, device)
        # image_size: inherited weights are scored at the size the supernet was trained at;
        # train_seconds: a search's cost includes the supernet's training.
        lacking = [k for k in ("image_size", "train_seconds") if k not in self.meta]
        if lacking:
            raise DataError(f"{supernet_path}: the supernet's metadata lacks {', '.join(lacking)}; retrain the "
                            "supernet with this version")
        in_ch, n_cls = supernet_family(self.space.name).channels(self.arch)
        if (in_ch, n_cls) != (train.labels.in_channels, train.labels.num_classes):
            raise DataError(f"{supernet_path}: the supernet takes {in_ch} input channel(s) and "
                            f"predicts {n_cls} classes, but the data have "
                            f"{train.labels.in_channels} and {train.labels.num_classes}; retrain the supernet")
        size = int(self.meta["image_size"])
        train, val = train.resized(size), val.resized(size)
        self.calib = calibration_batches(train, device, batch_size, bn_recal_batches, seed)
        self.val, self.device, self.val_batch_size, self.seed = val, device, val_batch_size, seed
        self.metrics = metric_names(val.structures)

    def __call__(self, genotype: Genotype) -> dict[str, float]:
        self.space.validate(genotype)
        # BN recalibration runs in training mode, dropout included: seeding per genotype makes a
        # candidate's score independent of what was evaluated before it (and of a resume).
        torch.manual_seed(genotype_seed(self.seed, genotype))
        return evaluate_genotype(self.model, genotype, self.calib, self.val, self.device, self.val_batch_size)
