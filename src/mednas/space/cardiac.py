"""The CardiacNAS search space (Table I) as genotypes with variation operators.

A genotype fixes one U-Net-like network: base filters, kernel size, number of encoder
stages, dropout, attention, fusion, activation and residual scaling. Bounds come from the
``space`` config section (the paper's Table I by default). Integer and categorical genes
are resampled by mutation and exchanged by uniform crossover; the continuous genes
(dropout, residual scaling) are jittered within bounds by mutation and blended by
crossover: ``a = lambda * a1 + (1 - lambda) * a2``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from mednas.errors import ConfigError
from mednas.space.base import register_space

ATTENTIONS = ("se", "self")
FUSIONS = ("add", "concat", "wsum")
ACTIVATIONS = ("relu", "elu", "tanh", "sigmoid")
CONTINUOUS = ("dropout", "res_scale")


@dataclass(frozen=True)
class Genotype:
    """One architecture of the cardiac space."""

    filters: int
    kernel: int
    layers: int
    dropout: float
    attention: str
    fusion: str
    activation: str
    res_scale: float

    def key(self) -> str:
        """Stable string id; continuous genes at 3 decimals (finer differences are one architecture)."""
        return (f"f{self.filters}-k{self.kernel}-l{self.layers}-d{self.dropout:.3f}-{self.attention}-"
                f"{self.fusion}-{self.activation}-r{self.res_scale:.3f}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@register_space("cardiac")
@dataclass(frozen=True)
class CardiacSpace:
    """Bounds of every gene (config section ``space``)."""

    name = "cardiac"  # a class attribute (not a field): the registry's name
    depth_key = "space.layers"  # the setting that fixes the input sizes the space takes (class attribute)

    filters: tuple[int, int] = (32, 127)
    kernels: tuple[int, ...] = (1, 3, 5, 7)
    layers: tuple[int, int] = (2, 4)
    dropout: tuple[float, float] = (0.1, 0.5)
    attentions: tuple[str, ...] = ATTENTIONS
    fusions: tuple[str, ...] = FUSIONS
    activations: tuple[str, ...] = ACTIVATIONS
    res_scale: tuple[float, float] = (0.1, 1.0)

    def __post_init__(self) -> None:
        for name in ("filters", "layers", "dropout", "res_scale"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ConfigError(f"space.{name}: lower bound {lo} exceeds upper bound {hi}")
        if self.filters[0] < 1 or self.layers[0] < 1:
            raise ConfigError("space.filters and space.layers must be positive")
        if not self.kernels or any(k < 1 or k % 2 == 0 for k in self.kernels):
            raise ConfigError(f"space.kernels must be odd sizes >= 1, got {list(self.kernels)}")
        for name, allowed in (("attentions", ATTENTIONS), ("fusions", FUSIONS), ("activations", ACTIVATIONS)):
            values = getattr(self, name)
            bad = [v for v in values if v not in allowed]
            if not values or bad:
                raise ConfigError(f"space.{name}: unsupported or empty choice(s) {bad or values}; allowed {allowed}")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> CardiacSpace:
        """Build from the ``space`` config section (missing keys keep Table I's bounds)."""
        cfg = dict(cfg)
        name = cfg.pop("name", "cardiac")
        if name != "cardiac":
            raise ConfigError(f"space.name is '{name}': the supernet, latency table and segmentation network of "
                              "this stage are the cardiac space's")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(f"space: unknown key(s) {unknown}")
        kwargs = {k: tuple(v) for k, v in cfg.items()}
        return cls(**kwargs)

    # -- membership -----------------------------------------------------------------
    def validate(self, g: Genotype) -> Genotype:
        """Return ``g`` if it lies in the space, else raise naming the offending gene."""
        problems = []
        if not (isinstance(g.filters, int) and self.filters[0] <= g.filters <= self.filters[1]):
            problems.append(f"filters={g.filters} not in {list(self.filters)}")
        if g.kernel not in self.kernels:
            problems.append(f"kernel={g.kernel} not in {list(self.kernels)}")
        if not (isinstance(g.layers, int) and self.layers[0] <= g.layers <= self.layers[1]):
            problems.append(f"layers={g.layers} not in {list(self.layers)}")
        for name in CONTINUOUS:
            lo, hi = getattr(self, name)
            if not lo <= getattr(g, name) <= hi:
                problems.append(f"{name}={getattr(g, name)} not in [{lo}, {hi}]")
        for name, allowed in (("attention", self.attentions), ("fusion", self.fusions),
                              ("activation", self.activations)):
            if getattr(g, name) not in allowed:
                problems.append(f"{name}={getattr(g, name)!r} not in {list(allowed)}")
        if problems:
            raise ValueError("genotype outside the search space: " + "; ".join(problems))
        return g

    def from_dict(self, d: Mapping[str, Any]) -> Genotype:
        """Parse and validate a genotype from a mapping (e.g. a JSON record)."""
        names = {f.name for f in fields(Genotype)}
        missing, extra = sorted(names - set(d)), sorted(set(d) - names)
        if missing or extra:
            raise ValueError(f"genotype keys: missing {missing}, unexpected {extra}")
        return self.validate(Genotype(
            filters=int(d["filters"]), kernel=int(d["kernel"]), layers=int(d["layers"]),
            dropout=float(d["dropout"]), attention=str(d["attention"]), fusion=str(d["fusion"]),
            activation=str(d["activation"]), res_scale=float(d["res_scale"]),
        ))

    @property
    def gene_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(Genotype))

    def repair(self, g: Genotype) -> Genotype:
        """Every genotype within the bounds builds a network: nothing to repair."""
        return g

    def variables(self) -> dict[str, Any]:
        """The genes as pymoo variables (integers, reals, choices), in gene order."""
        from pymoo.core.variable import Choice, Integer, Real

        return {
            "filters": Integer(bounds=self.filters), "kernel": Choice(options=list(self.kernels)),
            "layers": Integer(bounds=self.layers), "dropout": Real(bounds=self.dropout),
            "attention": Choice(options=list(self.attentions)), "fusion": Choice(options=list(self.fusions)),
            "activation": Choice(options=list(self.activations)), "res_scale": Real(bounds=self.res_scale),
        }

    def from_variables(self, x: Mapping[str, Any]) -> Genotype:
        """The genotype of pymoo's (or :class:`mednas.space.base.IntegerCoding`'s) variable values."""
        return self.validate(Genotype(
            filters=int(x["filters"]), kernel=int(x["kernel"]), layers=int(x["layers"]),
            dropout=round(float(x["dropout"]), 3), attention=str(x["attention"]), fusion=str(x["fusion"]),
            activation=str(x["activation"]), res_scale=round(float(x["res_scale"]), 3)))

    # -- sampling -------------------------------------------------------------------
    def sample(self, rng: random.Random) -> Genotype:
        """A uniformly random genotype."""
        return Genotype(
            filters=rng.randint(*self.filters),
            kernel=rng.choice(self.kernels),
            layers=rng.randint(*self.layers),
            dropout=round(rng.uniform(*self.dropout), 3),
            attention=rng.choice(self.attentions),
            fusion=rng.choice(self.fusions),
            activation=rng.choice(self.activations),
            res_scale=round(rng.uniform(*self.res_scale), 3),
        )

    def sample_distinct(self, n: int, seed: int) -> list[Genotype]:
        """``n`` distinct random genotypes in draw order from ``random.Random(seed)``.

        Benchmarks share this draw, so a cached ground truth and a ranking run see the same networks.
        """
        rng = random.Random(seed)
        out: dict[str, Genotype] = {}
        for _ in range(1000 * n):
            if len(out) == n:
                break
            g = self.sample(rng)
            out.setdefault(g.key(), g)
        if len(out) < n:
            raise ConfigError(f"the space holds fewer than {n} distinct genotypes (found {len(out)})")
        return list(out.values())

    def largest(self) -> Genotype:
        """The widest, deepest, largest-kernel genotype (the sandwich rule's upper slice)."""
        return Genotype(self.filters[1], max(self.kernels), self.layers[1], self.dropout[0],
                        self.attentions[0], self.fusions[-1], self.activations[0], self.res_scale[1])

    def smallest(self) -> Genotype:
        """The narrowest, shallowest, smallest-kernel genotype (the sandwich rule's lower slice)."""
        return Genotype(self.filters[0], min(self.kernels), self.layers[0], self.dropout[0],
                        self.attentions[0], self.fusions[0], self.activations[0], self.res_scale[1])

    # -- variation ------------------------------------------------------------------
    def mutate(self, g: Genotype, rng: random.Random, rate: float, jitter: float = 0.1) -> Genotype:
        """Resample each discrete gene with probability ``rate``; jitter each continuous gene
        with probability ``rate`` by a Gaussian of ``jitter`` x its range, clipped to bounds."""
        changes: dict[str, Any] = {}
        if rng.random() < rate:
            changes["filters"] = rng.randint(*self.filters)
        if rng.random() < rate:
            changes["kernel"] = rng.choice(self.kernels)
        if rng.random() < rate:
            changes["layers"] = rng.randint(*self.layers)
        for name, choices in (("attention", self.attentions), ("fusion", self.fusions),
                              ("activation", self.activations)):
            if rng.random() < rate:
                changes[name] = rng.choice(choices)
        for name in CONTINUOUS:
            if rng.random() < rate:
                lo, hi = getattr(self, name)
                value = getattr(g, name) + rng.gauss(0.0, jitter * (hi - lo))
                changes[name] = round(min(hi, max(lo, value)), 3)
        return self.validate(replace(g, **changes))

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random, p: float = 0.5) -> Genotype:
        """Uniform exchange of discrete genes (each taken from ``b`` with probability ``p``) and a
        blend of the continuous genes with one ``lambda ~ U(0, 1)`` per gene."""
        child: dict[str, Any] = {}
        for f in fields(Genotype):
            if f.name in CONTINUOUS:
                lam = rng.random()
                child[f.name] = round(lam * getattr(a, f.name) + (1 - lam) * getattr(b, f.name), 3)
            else:
                child[f.name] = getattr(b, f.name) if rng.random() < p else getattr(a, f.name)
        return self.validate(Genotype(**child))
