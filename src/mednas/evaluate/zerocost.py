"""Training-free indicators (MSTF-NAS Eqs. 2-4, after Abdelfattah et al.) for any network and task.

Every indicator scores a freshly initialised standalone network on one fixed minibatch of
training data, with the task's loss where a loss is needed (segmentation: Dice +
cross-entropy; classification: cross-entropy):

- ``grad_norm``: sum over layers of the L2 norm of the weight gradient;
- ``snip``: sum of |dL/dtheta * theta|;
- ``grasp``: sum of -(H g) * theta, the Hessian-gradient product by double back-propagation;
- ``synflow``: sum of dR/dtheta * theta where R is the summed output for an all-ones input,
  computed in float64 on absolute weights with BatchNorm off (eval mode: BN at initialisation
  is the identity) and dropout off; the signs of the weights are restored afterwards;
- ``fisher``: per feature map z of every convolution, 0.5 * mean over the batch of
  (sum over positions of z * dL/dz)^2, summed (Turner et al.'s channel saliency);
- ``jacob_cov``: Eq. 3-4, log|K_H| where K_H[i, j] = N_A - d_H(c_i, c_j) and c_i is the binary
  code of input i: for every unit entering an activation function, whether its input is
  positive (ReLU's on / off; the same split at 0 for ELU, tanh and sigmoid).

"Layers" are all convolution types, transposed convolutions and the 1x1 convolutions inside
attention blocks included. Larger is better for all six.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.overrides import TorchFunctionMode

from mednas.data.slices import SliceSet
from mednas.errors import ConfigError
from mednas.models.dynamic import DynConv2d, DynConvTranspose2d
from mednas.train.tasks import LossFn, segmentation_task_loss
from mednas.train.seeding import seed_everything
from mednas.evaluate.proxy import genotype_seed

INDICATORS = ("grad_norm", "snip", "grasp", "synflow", "fisher", "jacob_cov")
CONV_TYPES = (DynConv2d, DynConvTranspose2d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
ACTIVATION_FUNCTIONS = (F.relu, F.elu, torch.tanh, torch.sigmoid, torch.relu)


def conv_layers(model: nn.Module) -> list[nn.Module]:
    """Every weight layer the indicators sum over."""
    return [m for m in model.modules() if isinstance(m, CONV_TYPES)]


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn) -> torch.Tensor:
    return loss(model(x).float(), y)


def _backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn) -> list[nn.Module]:
    layers = conv_layers(model)
    model.train()
    model.zero_grad(set_to_none=True)
    _loss(model, x, y, loss).backward()
    return layers


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn = segmentation_task_loss) -> float:
    layers = _backward(model, x, y, loss)
    return float(sum(m.weight.grad.norm() for m in layers if m.weight.grad is not None))


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn = segmentation_task_loss) -> float:
    layers = _backward(model, x, y, loss)
    return float(sum((m.weight.grad * m.weight.detach()).abs().sum() for m in layers if m.weight.grad is not None))


def grasp(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn = segmentation_task_loss) -> float:
    weights = [m.weight for m in conv_layers(model)]
    model.train()
    # The fused attention kernels have no double backward; the math kernel computes the same thing.
    with sdpa_kernel(SDPBackend.MATH):
        g = torch.autograd.grad(_loss(model, x, y, loss), weights, allow_unused=True)
        g = [torch.zeros_like(w) if gi is None else gi.detach() for w, gi in zip(weights, g)]
        g_graph = torch.autograd.grad(_loss(model, x, y, loss), weights, create_graph=True, allow_unused=True)
        z = sum((a * b).sum() for a, b in zip(g_graph, g) if a is not None)
        hg = torch.autograd.grad(z, weights, allow_unused=True)
    return float(sum((-w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None))


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn = segmentation_task_loss) -> float:
    model = model.double().eval()  # float64 against overflow; eval: BatchNorm and dropout off
    with torch.no_grad():
        for p in model.state_dict().values():
            if p.is_floating_point():
                p.abs_()
    model.zero_grad(set_to_none=True)
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    model(ones).sum().backward()
    return float(sum((m.weight.detach() * m.weight.grad).sum() for m in conv_layers(model) if m.weight.grad is not None))


def fisher(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn = segmentation_task_loss) -> float:
    maps: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
        out.retain_grad()
        maps.append(out)

    hooks = [m.register_forward_hook(keep) for m in conv_layers(model)]
    try:
        _backward(model, x, y, loss)
    finally:
        for h in hooks:
            h.remove()
    total = 0.0
    for z in maps:
        if z.grad is None:
            continue
        per_channel = (z.detach() * z.grad).flatten(2).sum(-1) if z.ndim > 2 else z.detach() * z.grad
        total += float((0.5 * per_channel.pow(2).mean(0)).sum())
    return total


class _ActivationCodes(TorchFunctionMode):
    """Accumulates K_H over every activation-function call, without storing the codes."""

    def __init__(self, n: int, device: torch.device):
        super().__init__()
        self.k = torch.zeros((n, n), dtype=torch.float64, device=device)
        self.units = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in ACTIVATION_FUNCTIONS:
            c = (args[0] > 0).flatten(1).double()
            self.k += c @ c.T + (1 - c) @ (1 - c).T
            self.units += c.shape[1]
        return func(*args, **(kwargs or {}))


def jacob_cov(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFn = segmentation_task_loss) -> float:
    model.train()
    codes = _ActivationCodes(len(x), x.device)
    with torch.no_grad(), codes:
        model(x)
    if codes.units == 0:
        raise ValueError("jacob_cov: the network calls no activation function")
    sign, logdet = torch.linalg.slogdet(codes.k)
    return float(logdet) if sign > 0 else float("-inf")


FUNCTIONS: dict[str, Callable[..., float]] = {
    "grad_norm": grad_norm, "snip": snip, "grasp": grasp, "synflow": synflow, "fisher": fisher,
    "jacob_cov": jacob_cov,
}


def check_indicators(names: Sequence[str]) -> tuple[str, ...]:
    bad = [n for n in names if n not in FUNCTIONS]
    if bad:
        raise ConfigError(f"search.zerocost.indicators: unknown {bad}; choose from {list(INDICATORS)}")
    return tuple(names)


def fixed_batch(data: SliceSet, batch_size: int, seed: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch of distinct training slices with their labels (the same for every candidate)."""
    return fixed_arrays(data.image, data.label, batch_size, seed, device, "training slices")


def fixed_arrays(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, device: str,
                 what: str = "training images") -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch of distinct rows of ``images`` / ``labels`` (labels as int64)."""
    if len(images) < batch_size:
        raise ValueError(f"zero-cost batch of {batch_size} needs at least that many {what}, got {len(images)}")
    idx = np.sort(np.random.default_rng(seed).choice(len(images), batch_size, replace=False))
    x = torch.from_numpy(np.ascontiguousarray(images[idx])).to(device)
    y = torch.from_numpy(np.asarray(labels[idx]).astype("int64")).to(device)
    return x, y


class IndicatorEvaluator:
    """Training-free indicators (all six by default) of a genotype's network at initialisation (one
    seeded init per genotype), for any space and task: ``build(genotype)`` gives the network,
    ``loss`` the task's loss."""

    name = "zerocost"

    def __init__(self, build: Callable[[Any], nn.Module], loss: LossFn, x: torch.Tensor, y: torch.Tensor,
                 device: str, seed: int, indicators: Sequence[str] = INDICATORS):
        self.build, self.loss, self.x, self.y, self.device, self.seed = build, loss, x, y, device, seed
        self.metrics = check_indicators(indicators)

    def __call__(self, genotype: Any) -> dict[str, float]:
        seed = genotype_seed(self.seed, genotype)
        torch.manual_seed(seed)
        base = self.build(genotype).to(self.device)
        out = {}
        for name in self.metrics:
            seed_everything(seed)  # dropout draws
            out[name] = FUNCTIONS[name](copy.deepcopy(base), self.x, self.y, self.loss)
        return out


class ZeroCostEvaluator(IndicatorEvaluator):
    """The indicators of a genotype's segmentation network ``build(genotype)`` on a fixed batch of
    training slices."""

    def __init__(self, build: Callable[[Any], nn.Module], train: SliceSet, batch_size: int, device: str, seed: int):
        x, y = fixed_batch(train, batch_size, seed, device)
        super().__init__(build, segmentation_task_loss, x, y, device, seed)
