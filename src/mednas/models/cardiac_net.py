"""The cardiac U-Net-like network: one class is both the supernet and a standalone subnet.

``build_supernet(space, arch)`` allocates every layer at the largest size the space allows
and one module per attention / fusion choice where shapes differ; ``forward(x, genotype)``
runs any genotype on the shared weights. ``build_subnet(genotype, arch)`` allocates exactly
one genotype; ``extract_subnet`` copies a genotype's slice of the supernet's weights into
it, so both give the same output. Sharing the class means they run the same code.

Topology for a genotype with ``L`` stages, widths ``c_i = round(filters * growth**i)``:
encoder stage i (residual block, attention) -> max-pool, ..., dilated bottleneck at level L
(attention), then for i = L-1 .. 0: 2x2 transposed conv to ``c_i``, fusion with skip i
(add, concat or softmax-weighted sum), residual block; a 1x1 head gives the class scores.
The concat block's input ``[upsampled, skip]`` is two groups of ``c_i`` channels: in the
supernet, upsampled channel j uses weight input j and skip channel j uses weight input
``w_max_i + j`` at every width, so each narrower genotype shares the widest one's weights
for the same kind of channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mednas.errors import ConfigError
from mednas.models.blocks import DilatedBottleneck, ResidualBlock, activation, make_attention
from mednas.models.dynamic import DynConv2d, DynConvTranspose2d, grouped_narrow
from mednas.space.cardiac import CardiacSpace, Genotype

ATTENTION_SITES = ("encoder", "bottleneck", "decoder")


@dataclass(frozen=True)
class ArchSettings:
    """Settings the paper leaves open (config section ``arch``), and the data's channel and class
    counts (from the data set, never from the config)."""

    in_channels: int
    num_classes: int
    growth: float = 2.0  # channel multiplier per stage
    dilations: tuple[int, ...] = (1, 2, 4)  # bottleneck dilation rates
    bottleneck_kernel: int = 3
    attention_at: tuple[str, ...] = ("encoder", "bottleneck")
    se_reduction: int = 8
    self_attention_kv: int = 16  # keys / values pooled to at most this many positions a side

    def __post_init__(self) -> None:
        bad = [s for s in self.attention_at if s not in ATTENTION_SITES]
        if bad:
            raise ConfigError(f"arch.attention_at: unknown site(s) {bad}; allowed {list(ATTENTION_SITES)}")
        if self.growth <= 0:
            raise ConfigError(f"arch.growth must be positive, got {self.growth}")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], in_channels: int, num_classes: int) -> ArchSettings:
        """The ``arch`` config section for a data set of ``in_channels`` inputs and ``num_classes`` labels."""
        known = {f.name for f in fields(cls)} - {"in_channels", "num_classes"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(f"arch: unknown key(s) {unknown}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        return cls(in_channels=in_channels, num_classes=num_classes, **kwargs)


def widths(filters: int, layers: int, growth: float) -> list[int]:
    """Channels of levels 0..layers (the last is the bottleneck)."""
    return [max(1, round(filters * growth**i)) for i in range(layers + 1)]


class CardiacNet(nn.Module):
    """Encoder / dilated bottleneck / decoder network over sliceable layers."""

    def __init__(self, arch: ArchSettings, max_filters: int, max_kernel: int, max_layers: int,
                 attentions: Sequence[str], fusions: Sequence[str], fixed: Genotype | None = None):
        super().__init__()
        self.arch, self.fixed = arch, fixed
        self.max_layers = max_layers
        w = widths(max_filters, max_layers, arch.growth)
        att = lambda c: nn.ModuleDict({a: make_attention(a, c, arch.se_reduction, arch.self_attention_kv)
                                       for a in attentions})
        self.encoder = nn.ModuleList(
            ResidualBlock(arch.in_channels if i == 0 else w[i - 1], w[i], max_kernel,
                          projection=(i == 0 or w[i - 1] != w[i]))
            for i in range(max_layers)
        )
        self.enc_att = nn.ModuleList(att(w[i]) for i in range(max_layers)) if "encoder" in arch.attention_at else None
        self.bottleneck = DilatedBottleneck(w[max_layers - 1], w[max_layers], arch.bottleneck_kernel, arch.dilations)
        self.bott_att = att(w[max_layers]) if "bottleneck" in arch.attention_at else None
        self.up = nn.ModuleList(DynConvTranspose2d(w[i + 1], w[i]) for i in range(max_layers))
        blocks = []
        for i in range(max_layers):
            d = nn.ModuleDict()
            if {"add", "wsum"} & set(fusions):
                d["sum"] = ResidualBlock(w[i], w[i], max_kernel, projection=False)
            if "concat" in fusions:
                d["concat"] = ResidualBlock(2 * w[i], w[i], max_kernel, projection=True, in_groups=2)
            blocks.append(d)
        self.decoder = nn.ModuleList(blocks)
        self.dec_att = nn.ModuleList(att(w[i]) for i in range(max_layers)) if "decoder" in arch.attention_at else None
        self.fuse_weights = (nn.Parameter(torch.zeros(max_layers, 2)) if "wsum" in fusions else None)
        self.head = DynConv2d(w[0], arch.num_classes, 1, bias=True)

    # The forward pass is split into stages so that the latency look-up table times exactly
    # the code a whole network runs (mednas.cost.latency).
    def encoder_stage(self, i: int, h: torch.Tensor, g: Genotype, w: Sequence[int]) -> torch.Tensor:
        """Residual block and attention of encoder stage ``i`` (before pooling)."""
        h = self.encoder[i](h, w[i], g.kernel, activation(g.activation), g.dropout, g.res_scale)
        if self.enc_att is not None:
            h = self.enc_att[i][g.attention](h)
        return h

    def bottleneck_stage(self, h: torch.Tensor, g: Genotype, w: Sequence[int]) -> torch.Tensor:
        """Dilated bottleneck and attention at level ``g.layers`` (input already pooled)."""
        h = self.bottleneck(h, w[g.layers], activation(g.activation), g.res_scale)
        if self.bott_att is not None:
            h = self.bott_att[g.attention](h)
        return h

    def decoder_stage(self, i: int, h: torch.Tensor, skip: torch.Tensor, g: Genotype, w: Sequence[int]) -> torch.Tensor:
        """Upsampling from level ``i + 1``, fusion with skip ``i``, residual block and attention."""
        act = activation(g.activation)
        up = self.up[i](h, w[i])
        if g.fusion == "concat":
            h = self.decoder[i]["concat"](torch.cat([up, skip], 1), w[i], g.kernel, act, g.dropout, g.res_scale)
        else:
            if g.fusion == "wsum":
                a = torch.softmax(self.fuse_weights[i], 0)
                fused = a[0] * up + a[1] * skip
            else:
                fused = up + skip
            h = self.decoder[i]["sum"](fused, w[i], g.kernel, act, g.dropout, g.res_scale)
        if self.dec_att is not None:
            h = self.dec_att[i][g.attention](h)
        return h

    def head_stage(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h, self.arch.num_classes)

    def check_input(self, x: torch.Tensor, g: Genotype) -> None:
        if g.layers > self.max_layers:
            raise ValueError(f"genotype has {g.layers} stages; this network holds {self.max_layers}")
        factor = 2**g.layers
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"input {tuple(x.shape[-2:])} must be divisible by {factor} for {g.layers} stages")

    def forward(self, x: torch.Tensor, genotype: Genotype | None = None) -> torch.Tensor:
        g = genotype or self.fixed
        if g is None:
            raise ValueError("a supernet needs the genotype to run")
        self.check_input(x, g)
        w = widths(g.filters, g.layers, self.arch.growth)
        skips = []
        h = x
        for i in range(g.layers):
            h = self.encoder_stage(i, h, g, w)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        h = self.bottleneck_stage(h, g, w)
        for i in reversed(range(g.layers)):
            h = self.decoder_stage(i, h, skips[i], g, w)
        return self.head_stage(h)


def build_supernet(space: CardiacSpace, arch: ArchSettings) -> CardiacNet:
    """A network holding every genotype of ``space``."""
    return CardiacNet(arch, space.filters[1], max(space.kernels), space.layers[1], space.attentions, space.fusions)


def build_subnet(genotype: Genotype, arch: ArchSettings) -> CardiacNet:
    """A standalone network of exactly one genotype (fresh weights)."""
    g = genotype
    return CardiacNet(arch, g.filters, g.kernel, g.layers, (g.attention,), (g.fusion,), fixed=g)


def _slice_like(src: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Leading slice on every axis, except centred on the kernel axes of 4-D conv weights."""
    out = src
    for axis, (have, want) in enumerate(zip(src.shape, shape)):
        if have == want:
            continue
        if have < want:
            raise ValueError(f"cannot take {tuple(shape)} out of {tuple(src.shape)}")
        start = (have - want) // 2 if (src.ndim == 4 and axis >= 2) else 0
        out = out.narrow(axis, start, want)
    return out


def extract_subnet(supernet: CardiacNet, genotype: Genotype) -> CardiacNet:
    """A standalone network carrying ``genotype``'s slice of the supernet's weights and BN statistics."""
    sub = build_subnet(genotype, supernet.arch)
    source = supernet.state_dict()
    # Convolutions over grouped inputs (the concat blocks' conv1 and proj) take the leading
    # input channels of each group, as DynConv2d.forward does.
    groups = {f"{name}.weight": m.in_groups for name, m in supernet.named_modules()
              if isinstance(m, DynConv2d) and m.in_groups > 1}
    state = {}
    for name, t in sub.state_dict().items():
        src = source[name]
        if name in groups:
            src = grouped_narrow(src, 1, groups[name], t.shape[1] // groups[name])
        state[name] = _slice_like(src, t.shape).clone()
    sub.load_state_dict(state)
    return sub.to(next(supernet.parameters()).device)
