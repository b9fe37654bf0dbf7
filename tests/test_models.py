import copy
import random

import pytest
import torch
from torch import nn

from mednas.cost.complexity import count_flops, count_params, genotype_cost
from mednas.models.cardiac_net import ArchSettings, build_subnet, build_supernet, extract_subnet
from mednas.models.dynamic import DynBatchNorm2d, DynConv2d
from mednas.models.unet import UNet
from mednas.space.cardiac import CardiacSpace, Genotype
from mednas.train.bn import recalibrate_bn

SPACE = CardiacSpace(filters=(6, 12))
ARCH = ArchSettings(1, 4, attention_at=("encoder", "bottleneck", "decoder"))


@pytest.fixture(scope="module")
def trained_supernet():
    """A supernet after a few sandwich steps, so weights and BN statistics are not at init."""
    torch.manual_seed(0)
    net = build_supernet(SPACE, ARCH)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    rng = random.Random(0)
    for _ in range(3):
        for g in (SPACE.largest(), SPACE.smallest(), SPACE.sample(rng)):
            opt.zero_grad()
            net(torch.randn(4, 1, 32, 32), g).square().mean().backward()
            opt.step()
    # Give the self-attention gains a non-zero value so that their path is exercised too.
    for name, p in net.named_parameters():
        if name.endswith("gain"):
            p.data.fill_(0.7)
    return net


def _all_choices():
    rng = random.Random(11)
    gs = [SPACE.sample(rng) for _ in range(4)]
    for att in ("se", "self"):
        for fusion in ("add", "concat", "wsum"):
            g = SPACE.sample(rng)
            gs.append(Genotype(**{**g.to_dict(), "attention": att, "fusion": fusion}))
    # Concat narrower than the widest network at every stage: exercises the grouped input slice.
    gs.append(Genotype(7, 3, 3, 0.2, "se", "concat", "relu", 0.5))
    return gs + [SPACE.largest(), SPACE.smallest()]


@pytest.mark.parametrize("genotype", _all_choices(), ids=lambda g: g.key())
def test_extracted_subnet_equals_supernet(trained_supernet, genotype):
    net = trained_supernet
    calib = [torch.randn(4, 1, 32, 32) for _ in range(2)]
    recalibrate_bn(net, calib, lambda x: net(x, genotype))
    net.eval()
    sub = extract_subnet(net, genotype).eval()
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(net(x, genotype), sub(x), atol=1e-5)
    # The standalone network holds only its own genotype's weights.
    assert count_params(sub) == count_params(build_subnet(genotype, ARCH)) < count_params(net)


@pytest.mark.parametrize("conv", ["conv1", "proj"])
def test_concat_block_shares_weights_by_channel_kind(conv):
    """In the supernet's concat block, input column j serves upsampled channel j and column
    w_max + j skip channel j at every width: a narrow genotype (width c < w_max) must not
    read columns c..w_max-1 (the widest network's upsampled channels) but must read w_max."""
    torch.manual_seed(0)
    net = build_supernet(SPACE, ARCH).eval()
    g = Genotype(6, 3, 2, 0.1, "se", "concat", "relu", 0.5)
    c, w_max = g.filters, SPACE.filters[1]
    x = torch.randn(2, 1, 16, 16)

    def output_with(column, genotype=g):
        perturbed = copy.deepcopy(net)
        weight = getattr(perturbed.decoder[0]["concat"], conv).weight
        with torch.no_grad():
            weight[:, column] += 10 * torch.randn_like(weight[:, column])
            return perturbed(x, genotype)

    with torch.no_grad():
        base = net(x, g)
        largest = Genotype(**{**g.to_dict(), "filters": w_max})
        base_largest = net(x, largest)
    assert torch.allclose(output_with(c), base, atol=1e-6)  # upsampled channel c of the widest only
    assert not torch.allclose(output_with(w_max), base, atol=1e-3)  # skip channel 0
    assert not torch.allclose(output_with(0), base, atol=1e-3)  # upsampled channel 0
    assert not torch.allclose(output_with(c, largest), base_largest, atol=1e-3)


def test_grouped_conv_is_the_identity_at_full_width():
    conv = DynConv2d(6, 2, 3, in_groups=2)
    x = torch.randn(1, 6, 5, 5)
    assert torch.equal(conv(x, 2), torch.nn.functional.conv2d(x, conv.weight, padding=1))
    narrow = conv(x[:, [0, 3]], 2)
    expected = torch.nn.functional.conv2d(x[:, [0, 3]], conv.weight[:, [0, 3]], padding=1)
    assert torch.allclose(narrow, expected, atol=1e-6)
    with pytest.raises(ValueError, match="split into 2 groups"):
        conv(x[:, :3], 2)


def test_output_shape_and_divisibility():
    g = Genotype(8, 3, 3, 0.1, "se", "concat", "elu", 0.5)
    net = build_subnet(g, ARCH)
    assert net(torch.randn(2, 1, 40, 48)).shape == (2, 4, 40, 48)
    with pytest.raises(ValueError, match="divisible by 8"):
        net(torch.randn(1, 1, 36, 36))
    with pytest.raises(ValueError, match="needs the genotype"):
        build_supernet(SPACE, ARCH)(torch.randn(1, 1, 32, 32))


def test_kernel_is_centre_cropped():
    conv = DynConv2d(1, 1, 5)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 2, 2] = 1.0  # centre tap
    x = torch.randn(1, 1, 6, 6)
    assert torch.allclose(conv(x, 1, kernel=1), x) and torch.allclose(conv(x, 1, kernel=3), x)


def test_bn_recalibration_is_an_exact_average():
    torch.manual_seed(0)
    bn = DynBatchNorm2d(3)
    model = nn.Sequential(bn)
    batches = [torch.randn(5, 3, 4, 4) * (i + 1) + i for i in range(3)]
    recalibrate_bn(model, batches, model)
    means = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
    assert torch.allclose(bn.running_mean, means, atol=1e-5)
    assert bn.momentum == 0.1 and bn.training


def _unet_counts(base=64, depth=4, cin=1, classes=4, size=128):
    """Independent hand count of the U-Net: parameters and FLOPs (2 x MACs of the convs)."""
    chans = [base * 2**i for i in range(depth + 1)]
    params = flops = 0

    def double(a, b, hw):
        nonlocal params, flops
        params += 9 * a * b + 2 * b + 9 * b * b + 2 * b  # two bias-free 3x3 convs + BN affine
        flops += 2 * hw * hw * 9 * (a * b + b * b)

    double(cin, chans[0], size)
    for i in range(depth):
        double(chans[i], chans[i + 1], size >> (i + 1))
    for i in range(depth):
        params += 4 * chans[i + 1] * chans[i] + chans[i]  # 2x2 transposed conv with bias
        flops += 2 * (size >> i) ** 2 * chans[i + 1] * chans[i]  # each output pixel gets one tap per input channel
        double(2 * chans[i], chans[i], size >> i)
    params += chans[0] * classes + classes
    flops += 2 * size * size * chans[0] * classes
    return params, flops


def test_unet_baseline_matches_paper_and_hand_count():
    net = UNet(1, 4)
    params, flops = _unet_counts()
    assert count_params(net) == params == 31_036_676  # CardiacNAS Table II: 31.04 M
    assert count_flops(net, (1, 1, 128, 128)) == flops


def test_genotype_cost_grows_with_width_and_depth():
    base = Genotype(16, 3, 2, 0.1, "se", "add", "relu", 0.5)
    wider = Genotype(32, 3, 2, 0.1, "se", "add", "relu", 0.5)
    deeper = Genotype(16, 3, 4, 0.1, "se", "add", "relu", 0.5)
    c0, c1, c2 = (genotype_cost(g, ARCH, 64) for g in (base, wider, deeper))
    assert c1["params"] > 3 * c0["params"] and c1["flops"] > 3 * c0["flops"]
    assert c2["params"] > c0["params"]
    assert c0["gflops"] == pytest.approx(c0["flops"] / 1e9)
