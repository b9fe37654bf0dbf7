"""k-fold cross-validated training (the hybrid MOEA/D + SA paper's evaluation during the search).

Each candidate is trained from scratch ``folds`` times, each time on all folds of the training
split but one for ``settings.epochs`` epochs, and scored on the fold left out: the metrics are
the mean accuracy over the folds, its SD, the mean balanced accuracy (the mean of the per-class
recalls), and the error the search minimises, ``1 -`` the mean of ``metric``. The paper's data
are balanced (304 / 304), where the two agree; on an imbalanced stand-in (BreastMNIST: 73 %
benign) plain accuracy rewards a network that predicts the majority class for every image,
which most small networks of the space do after a short training. The
folds are stratified and fixed by the run's seed (every candidate sees the same ones); the
weights' seed follows the genotype, so a candidate trains the same way in any order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from mednas.errors import ConfigError
from mednas.evaluate.proxy import genotype_seed
from mednas.metrics.classification import accuracy
from mednas.train.bn import recalibrate_bn
from mednas.train.classify import ClassifySettings, make_optimizer, predict, train_epoch
from mednas.train.seeding import seed_everything

KFOLD_METRICS = ("cv_error", "cv_acc", "cv_acc_sd", "cv_bacc")
SCORES = ("accuracy", "balanced_accuracy")


class KFoldEvaluator:
    """Cross-validated accuracy of a genotype's network on ``images`` / ``labels`` (the training split)."""

    name = "kfold"
    metrics = KFOLD_METRICS

    def __init__(self, build: Callable[[Any], nn.Module], images: np.ndarray, labels: np.ndarray,
                 settings: ClassifySettings, folds: int, device: str, seed: int, metric: str = "accuracy"):
        from sklearn.model_selection import StratifiedKFold

        if metric not in SCORES:
            raise ConfigError(f"search.kfold.metric: unknown '{metric}'; choose from {list(SCORES)}")
        self.metric = metric
        labels = np.asarray(labels).reshape(-1)
        if folds < 2:
            raise ConfigError(f"search.kfold.folds must be >= 2, got {folds}")
        smallest = int(np.bincount(labels).min(initial=len(labels)))
        if folds > smallest:
            raise ConfigError(f"search.kfold.folds {folds} exceeds the smallest class's {smallest} training images")
        self.build, self.settings, self.device, self.seed = build, settings, device, seed
        self.images = np.ascontiguousarray(images)  # predict() takes numpy
        self.x = torch.from_numpy(self.images).to(device)
        self.y = torch.from_numpy(labels.astype(np.int64)).to(device)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        self.splits = [(torch.from_numpy(tr).to(device), te) for tr, te in splitter.split(images, labels)]
        self.labels = labels

    def __call__(self, genotype: Any) -> dict[str, float]:
        from sklearn.metrics import balanced_accuracy_score

        s = self.settings
        accs, baccs = [], []
        for fold, (train_idx, test_idx) in enumerate(self.splits):
            seed = genotype_seed(self.seed, genotype) + fold
            seed_everything(seed)
            model = self.build(genotype).to(self.device)
            opt = make_optimizer(model, s)
            x, y = self.x[train_idx], self.y[train_idx]
            for epoch in range(1, s.epochs + 1):
                train_epoch(model, x, y, opt, s.batch_size, seed, epoch)
            recalibrate_bn(model, (x[i:i + s.val_batch_size] for i in range(0, len(x), s.val_batch_size)), model)
            predicted = predict(model, self.images[test_idx], self.device, s.val_batch_size).argmax(1)
            accs.append(accuracy(self.labels[test_idx], predicted))
            baccs.append(float(balanced_accuracy_score(self.labels[test_idx], predicted)))
        acc, bacc = float(np.mean(accs)), float(np.mean(baccs))
        return {"cv_error": 1.0 - (bacc if self.metric == "balanced_accuracy" else acc), "cv_acc": acc,
                "cv_acc_sd": float(np.std(accs)), "cv_bacc": bacc}
