"""Parameters and FLOPs of a network at a given input size.

FLOPs follow torch's FLOP counter: 2 x multiply-accumulates of convolutions (transposed
ones included) and matrix products; bias additions, normalisation and activations are not
counted. GFLOPs = FLOPs / 1e9 for one image. Stated once here and in every table header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

FLOP_CONVENTION = "FLOPs = 2 x multiply-accumulates (torch.utils.flop_counter), one image"


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: tuple[int, ...], forward: Callable[[nn.Module, torch.Tensor], Any]
                | None = None) -> int:
    """FLOPs of one forward pass on a zero tensor of ``input_shape`` (batch included)."""
    device = next(model.parameters()).device
    x = torch.zeros(input_shape, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            (forward or (lambda m, t: m(t)))(model, x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def genotype_cost(genotype, arch, image_size: int) -> dict[str, float]:
    """Params and FLOPs of the standalone network of a cardiac genotype (one image)."""
    from mednas.models.cardiac_net import build_subnet

    net = build_subnet(genotype, arch)
    flops = count_flops(net, (1, arch.in_channels, image_size, image_size))
    return {"params": count_params(net), "flops": flops, "gflops": flops / 1e9}
