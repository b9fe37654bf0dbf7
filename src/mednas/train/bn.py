"""BatchNorm recalibration: fresh statistics for one sub-network of a supernet."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from mednas.models.dynamic import DynBatchNorm2d


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor], forward: Callable[[torch.Tensor], torch.Tensor]) -> int:
    """Reset every BN layer and re-estimate its statistics as an exact average over ``batches``.

    Shared statistics of a supernet belong to no single sub-network; evaluating one without
    recalibration measures the wrong network. Returns the number of batches used.
    """
    bns = [m for m in model.modules() if isinstance(m, (DynBatchNorm2d, nn.modules.batchnorm._BatchNorm))]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
    was_training = model.training
    model.train()
    n = 0
    try:
        for n, x in enumerate(batches, start=1):
            for m in bns:
                m.momentum = 1.0 / n  # cumulative average over the batches seen so far
            forward(x)
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.train(was_training)
    if n == 0:
        raise ValueError("BN recalibration needs at least one batch")
    return n
