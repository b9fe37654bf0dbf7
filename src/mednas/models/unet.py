"""U-Net baseline (Ronneberger et al. 2015), in the common form with BatchNorm and padded convs.

64 base filters and 4 down-steps (64-128-256-512-1024), transposed-conv upsampling and
concatenated skips: about 31.04 M parameters, the figure CardiacNAS Table II lists.
"""

from __future__ import annotations

import torch
from torch import nn


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """Plain U-Net; ``forward(x)`` returns class scores at the input resolution."""

    def __init__(self, in_channels: int, num_classes: int, base: int = 64, depth: int = 4):
        super().__init__()
        chans = [base * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.inc = DoubleConv(in_channels, chans[0])
        self.down = nn.ModuleList(DoubleConv(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in range(depth))
        self.dec = nn.ModuleList(DoubleConv(2 * chans[i], chans[i]) for i in range(depth))
        self.head = nn.Conv2d(chans[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.depth
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"input {tuple(x.shape[-2:])} must be divisible by {factor}")
        skips = [self.inc(x)]
        for block in self.down:
            skips.append(block(nn.functional.max_pool2d(skips[-1], 2)))
        h = skips.pop()
        for i in reversed(range(self.depth)):
            h = self.dec[i](torch.cat([self.up[i](h), skips[i]], 1))
        return self.head(h)
