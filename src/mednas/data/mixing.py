"""MixSearch's composited data set (seed 001, Sec. III-A, Eqs. 1-4).

Several domains' training slices form the union ``D_U`` (Eq. 1). A composited sample mixes
``k`` slices drawn from the union with weights ``softmax(lambda_1..lambda_k)``,
``lambda_i ~ Beta(mu, mu)`` (Eq. 3): the images (Eq. 2) and their one-hot labels (Eq. 4) with the
same weights. ``k = 1`` gives the union's own samples (UnionSearch; with one domain,
DedicatedSearch). The composited set holds original and composited samples (Sec. I); the share of
composited ones per batch is ``mix_fraction``, a value the paper does not state (our choice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mednas.data.slices import SliceSet
from mednas.errors import ConfigError, DataError


@dataclass(frozen=True)
class MixSettings:
    """``k`` slices per composited sample, Beta(``mu``, ``mu``) weights, ``mix_fraction`` of each batch composited."""

    k: int = 1
    mu: float = 1.0
    mix_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"mixing: k {self.k} must be >= 1 (1: no mixing)")
        if not self.mu > 0:
            raise ConfigError(f"mixing: mu {self.mu} must be > 0 (Beta(mu, mu))")
        if not 0.0 <= self.mix_fraction <= 1.0:
            raise ConfigError(f"mixing: mix_fraction {self.mix_fraction} must lie in [0, 1]")


def mixing_weights(k: int, mu: float, rng: np.random.Generator, n: int = 1) -> np.ndarray:
    """``n`` rows of ``k`` weights: softmax of ``k`` independent Beta(mu, mu) draws (Eq. 3)."""
    lam = rng.beta(mu, mu, size=(n, k))
    e = np.exp(lam - lam.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mix(images: torch.Tensor, onehot: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Composited samples: ``images`` (n, k, C, H, W) and ``onehot`` (n, k, K, H, W) summed over
    their ``k`` axis with ``weights`` (n, k) (Eqs. 2 and 4)."""
    w = weights.to(images.dtype)
    return (torch.einsum("nk,nkchw->nchw", w, images), torch.einsum("nk,nkchw->nchw", w, onehot.to(images.dtype)))


class CompositeSampler:
    """Batches of soft-labelled samples from the union of domain slice sets, mixed as Eqs. 2-4."""

    def __init__(self, domains: Sequence[SliceSet], settings: MixSettings, seed: int) -> None:
        if not domains:
            raise DataError("a composited data set needs at least one domain")
        first = domains[0]
        for d in domains[1:]:
            if d.labels.num_classes != first.labels.num_classes or d.labels.in_channels != first.labels.in_channels:
                raise DataError(f"domains differ in classes or channels ({first.labels} vs {d.labels}): a composite "
                                "mixes one-hot labels and images of one shape")
            if d.image.shape[-2:] != first.image.shape[-2:]:
                raise DataError(f"domains differ in image size ({first.image.shape[-2:]} vs {d.image.shape[-2:]})")
        self.images = torch.from_numpy(np.concatenate([d.image for d in domains]))
        self.labels = torch.from_numpy(np.concatenate([d.label for d in domains]).astype(np.int64))
        self.domain = np.concatenate([np.full(len(d), i) for i, d in enumerate(domains)])
        self.num_classes = first.labels.num_classes
        self.settings = settings
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` samples: images (B, C, H, W) and soft labels (B, K, H, W) whose classes sum to one."""
        s, n = self.settings, len(self)
        mixed = int(round(size * s.mix_fraction)) if s.k > 1 else 0
        plain = self.rng.integers(0, n, size - mixed)
        x = self.images[plain]
        y = F.one_hot(self.labels[plain], self.num_classes).permute(0, 3, 1, 2).float()
        if mixed:
            # k distinct slices of the union per composited sample
            idx = np.stack([self.rng.choice(n, s.k, replace=False) for _ in range(mixed)])
            w = torch.from_numpy(mixing_weights(s.k, s.mu, self.rng, mixed))
            onehot = F.one_hot(self.labels[idx], self.num_classes).permute(0, 1, 4, 2, 3)
            mx, my = mix(self.images[idx], onehot, w)
            x, y = torch.cat([x, mx.float()]), torch.cat([y, my.float()])
        return x, y

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
