"""Candidate evaluators: zero-cost indicators against hand computations, inherit and proxy on phantom data."""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from mednas.errors import DataError
from mednas.evaluate import zerocost as zc
from mednas.train.losses import make_loss, segmentation_loss


def tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.ReLU(), nn.ConvTranspose2d(3, 4, 1, bias=False))


@pytest.fixture()
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 1, 6, 6, generator=g), torch.randint(0, 4, (4, 6, 6), generator=g)


def weights(m):
    return [l.weight for l in zc.conv_layers(m)]


def loss_grads(m, x, y, create_graph=False):
    loss = segmentation_loss(make_loss(), m(x), y)
    return torch.autograd.grad(loss, weights(m), create_graph=create_graph)


def test_transposed_convs_are_counted():
    assert len(zc.conv_layers(tiny())) == 2


def test_grad_norm_and_snip_by_hand(batch):
    x, y = batch
    m = tiny()
    grads = loss_grads(m, x, y)
    assert zc.grad_norm(copy.deepcopy(m), x, y) == pytest.approx(float(sum(g.norm() for g in grads)), rel=1e-5)
    assert zc.snip(copy.deepcopy(m), x, y) == pytest.approx(
        float(sum((g * w.detach()).abs().sum() for g, w in zip(grads, weights(m)))), rel=1e-5)


def test_grasp_is_minus_hessian_gradient_product(batch):
    x, y = batch
    m = tiny()
    flat = torch.cat([w.detach().flatten() for w in weights(m)])
    shapes = [w.shape for w in weights(m)]

    def loss_of(vec):
        parts, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            parts.append(vec[i:i + n].view(s))
            i += n
        h = torch.nn.functional.conv2d(x, parts[0], padding=1)
        return segmentation_loss(make_loss(), torch.nn.functional.conv_transpose2d(torch.relu(h), parts[1]), y)

    H = torch.autograd.functional.hessian(loss_of, flat)
    g = torch.autograd.functional.jacobian(loss_of, flat)
    expected = float((-(H @ g) * flat).sum())
    assert zc.grasp(copy.deepcopy(m), x, y) == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_synflow_uses_absolute_weights_in_float64(batch):
    x, y = batch
    torch.manual_seed(1)
    m = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2))
    m[0].weight.data = torch.tensor([[[[-2.0]]], [[[3.0]]]])
    # R = sum over positions of |w| / sqrt(1 + eps): BN in eval mode at initialisation (mean 0, var 1)
    assert zc.synflow(copy.deepcopy(m), x, y) == pytest.approx((2 + 3) * 36 / np.sqrt(1 + 1e-5), rel=1e-12)
    assert m[0].weight[0].item() == -2.0  # the caller's network keeps its signs
    deep = nn.Sequential(*[nn.Conv2d(1, 1, 1, bias=False) for _ in range(30)])
    for layer in deep:
        layer.weight.data.fill_(1e6)
    # R = 36 * 1e180 overflows float32 (max 3e38); in float64 the sum of w * dR/dw over 30 layers is 30 R
    assert zc.synflow(copy.deepcopy(deep), x, y) == pytest.approx(30 * 36 * 1e180, rel=1e-9)


def test_fisher_by_hand(batch):
    x, y = batch
    m = tiny()
    z1 = m[0](x)
    z1.retain_grad()
    z2 = m[2](torch.relu(z1))
    z2.retain_grad()
    segmentation_loss(make_loss(), z2, y).backward()
    expected = sum(float((0.5 * ((z.detach() * z.grad).sum((2, 3)) ** 2).mean(0)).sum()) for z in (z1, z2))
    assert zc.fisher(copy.deepcopy(m), x, y) == pytest.approx(expected, rel=1e-5)


def test_jacob_cov_is_log_det_of_hamming_kernel(batch):
    x, y = batch
    m = tiny()
    with torch.no_grad():
        codes = (m[0](x) > 0).flatten(1).double()
    n_a = codes.shape[1]
    hamming = torch.cdist(codes, codes, p=1)
    expected = float(torch.linalg.slogdet(n_a - hamming)[1])
    assert zc.jacob_cov(copy.deepcopy(m), x, y) == pytest.approx(expected, rel=1e-9)
    same = x[:1].repeat(4, 1, 1, 1)  # identical inputs: a singular kernel, the worst score
    assert zc.jacob_cov(copy.deepcopy(m), same, y) == float("-inf")


@pytest.mark.slow
def test_evaluators_on_phantom_data(phantom_slices, tmp_path):
    """Each evaluator gives its metrics, deterministically, for cardiac genotypes."""
    from mednas.evaluate.proxy import ProxyEvaluator
    from mednas.evaluate.zerocost import ZeroCostEvaluator
    from mednas.models.cardiac_net import ArchSettings, build_subnet
    from mednas.space.cardiac import CardiacSpace
    from mednas.train.loop import TrainSettings

    train, val = phantom_slices
    space, arch = CardiacSpace(filters=(4, 6), kernels=(1, 3), layers=(2, 3)), ArchSettings(1, 4)
    g = space.largest()
    zero = ZeroCostEvaluator(partial(build_subnet, arch=arch), train, 4, "cpu", 0)
    a, b = zero(g), zero(g)
    assert set(a) == set(zc.INDICATORS) and a == b
    assert all(np.isfinite(v) for v in a.values())
    # inherit: a candidate's score does not depend on what was evaluated before it
    from mednas.evaluate.inherit import InheritEvaluator
    from mednas.models.cardiac_net import build_supernet
    from mednas.train.supernet import save_supernet

    path = tmp_path / "supernet.pt"
    torch.manual_seed(0)
    save_supernet(path, build_supernet(space, arch), space, arch, {})
    with pytest.raises(DataError, match="lacks image_size, train_seconds"):
        InheritEvaluator(path, train, val, "cpu", 4, 16, 2, 0)
    save_supernet(path, build_supernet(space, arch), space, arch, {"image_size": 32, "train_seconds": 1.0})
    inherit = InheritEvaluator(path, train, val, "cpu", 4, 16, 2, 0)
    other = space.smallest()
    first = inherit(g)
    inherit(other)
    assert inherit(g) == first and set(first) == set(inherit.metrics)
    settings = TrainSettings(epochs=1, batch_size=4, lr=0.01, steps_per_epoch=2, val_batch_size=16)
    proxy = ProxyEvaluator(partial(build_subnet, arch=arch), train, val, settings, "cpu", 0)
    p1, p2 = proxy(g), proxy(g)
    assert p1 == p2 and set(proxy.metrics) == set(p1) and 0 <= p1["dice_mean"] <= 1


def test_inherited_weights_are_scored_at_the_supernets_input_size(phantom_slices, tmp_path):
    """A supernet trained on half-size inputs (supernet.image_size) scores candidates on half-size
    copies of the validation volumes, with HD95 still in the data's distance unit."""
    from mednas.evaluate.inherit import InheritEvaluator
    from mednas.models.cardiac_net import ArchSettings, build_supernet
    from mednas.space.cardiac import CardiacSpace
    from mednas.train.supernet import save_supernet

    train, val = phantom_slices
    space, arch = CardiacSpace(filters=(4, 6), kernels=(1, 3), layers=(2, 3)), ArchSettings(1, 4)
    path = tmp_path / "supernet.pt"
    torch.manual_seed(0)
    save_supernet(path, build_supernet(space, arch), space, arch, {"image_size": 16, "train_seconds": 1.0})
    inherit = InheritEvaluator(path, train, val, "cpu", 4, 16, 2, 0)
    assert inherit.val.image.shape[-2:] == (16, 16) and all(c.shape[-2:] == (16, 16) for c in inherit.calib)
    np.testing.assert_allclose(inherit.val.spacing[:, 1:], val.spacing[:, 1:] * 2, rtol=1e-6)
    scores = inherit(space.largest())
    assert 0 <= scores["dice_mean"] <= 1 and np.isfinite(scores["hd95_mean"])


def test_proxy_trains_and_scores_at_the_configured_image_size(phantom_slices):
    """search.proxy.image_size: candidates train and are validated on reduced copies, HD95 in the data's unit."""
    from mednas.models.cardiac_net import ArchSettings, build_subnet
    from mednas.search.stages import make_evaluator

    train, val = phantom_slices
    arch = ArchSettings(1, 4)
    train_cfg = {"batch_size": 4, "lr": 0.01, "val_batch_size": 16}
    search_cfg = {"proxy": {"epochs": 1, "steps_per_epoch": 2, "image_size": 16}}
    proxy = make_evaluator("proxy", search_cfg, train_cfg, {},
                           partial(build_subnet, arch=arch), train, val, None, "cpu", 0)
    assert proxy.train.image.shape[-2:] == (16, 16) and proxy.val.image.shape[-2:] == (16, 16)
    np.testing.assert_allclose(proxy.val.spacing[:, 1:], val.spacing[:, 1:] * 2, rtol=1e-6)
    full = make_evaluator("proxy", {"proxy": {"epochs": 1, "steps_per_epoch": 2}}, train_cfg, {},
                          partial(build_subnet, arch=arch), train, val,
                          None, "cpu", 0)
    assert full.val.image.shape[-2:] == val.image.shape[-2:]
