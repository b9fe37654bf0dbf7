"""The network of a ``unet_widths`` genotype: the U-Net baseline at the genotype's width and depth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from mednas.models.registry import register_network
from mednas.models.unet import UNet
from mednas.space.unet_widths import UNetWidthsSpace


@register_network("unet_widths", "segmentation", input_multiple=lambda spec: 2 ** int(spec["genotype"]["depth"]))
def build(spec: Mapping[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    g = UNetWidthsSpace.from_config(spec["space"]).from_dict(spec["genotype"])
    return UNet(in_channels, num_classes, base=g.base, depth=g.depth)
