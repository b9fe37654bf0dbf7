"""What a search space is to the search engine, and the registry that names the spaces.

Search strategies (``mednas.search.strategies``) see a space only through
:class:`SearchSpace`: they sample, mutate, cross over and repair genotypes, and hand pymoo
the space's variables (:meth:`SearchSpace.variables`, pymoo's ``Integer`` / ``Real`` /
``Choice``) or the integer coding derived from them (:class:`IntegerCoding`). A genotype is any
frozen object with ``key()`` and ``to_dict()``. A new paper's space is one module that
subclasses :class:`VariableSpace` (variation operators derived from the variables) or
implements the protocol itself, registered with :func:`register_space`; no strategy changes.
Registry in the manner of timm's ``register_model``: a name in the config (``space.name``)
picks the class, whose ``from_config`` reads the rest of the section.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from mednas.errors import ConfigError


@runtime_checkable
class Genotype(Protocol):
    """One architecture of some space: a stable id and a JSON-able record of its genes."""

    def key(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class SearchSpace(Protocol):
    """The operations every search strategy uses."""

    name: str

    @property
    def gene_names(self) -> tuple[str, ...]: ...

    def sample(self, rng: random.Random) -> Any: ...

    def mutate(self, g: Any, rng: random.Random, rate: float, jitter: float = 0.1) -> Any: ...

    def crossover(self, a: Any, b: Any, rng: random.Random, p: float = 0.5) -> Any: ...

    def repair(self, g: Any) -> Any: ...

    def validate(self, g: Any) -> Any: ...

    def from_dict(self, d: Mapping[str, Any]) -> Any: ...

    def variables(self) -> dict[str, Any]: ...

    def from_variables(self, x: Mapping[str, Any]) -> Any: ...


@runtime_checkable
class SegmentationSpace(SearchSpace, Protocol):
    """What a segmentation search needs beyond :class:`SearchSpace`: ``largest()``, the genotype
    whose network is deepest (it fixes the input sizes the space takes) and costliest (a cost
    objective's first normaliser). Its networks come from a builder registered for the task
    ``segmentation`` (``mednas.models.registry.register_network``). A weight-sharing supernet is
    a family registered for the space (``mednas.models.supernets.register_supernet``: the cardiac
    space has one); a space without one is searched with the ``proxy`` or ``zerocost`` evaluator.
    The latency look-up table exists for the cardiac space only."""

    def largest(self) -> Any: ...


SPACES: dict[str, Callable[[Mapping[str, Any]], SearchSpace]] = {}
S = TypeVar("S")


def register_space(name: str) -> Callable[[S], S]:
    """Class decorator: make a space available as ``space.name: <name>`` (its ``from_config`` builds it)."""

    def add(cls: S) -> S:
        if name in SPACES:
            raise ValueError(f"search space '{name}' is registered twice")
        SPACES[name] = cls.from_config  # type: ignore[attr-defined]
        cls.name = name  # type: ignore[attr-defined]
        return cls

    return add


def _load_builtin_spaces() -> None:
    # Importing a space module registers it; the built-in ones are imported on first use so
    # that this module stays importable from the space modules themselves.
    from mednas.space import cardiac, darts, lwcnn, mstf, nsganet, unet_widths  # noqa: F401


def space_names() -> list[str]:
    _load_builtin_spaces()
    return sorted(SPACES)


def make_space(cfg: Mapping[str, Any], default: str = "cardiac") -> SearchSpace:
    """The space named by ``cfg['name']`` (``default`` when absent), built from the rest of ``cfg``."""
    _load_builtin_spaces()
    cfg = dict(cfg or {})
    name = cfg.pop("name", default)
    try:
        build = SPACES[name]
    except KeyError:
        raise ConfigError(f"space.name: unknown search space '{name}'; registered: {sorted(SPACES)}") from None
    return build(cfg)


def integer_settings(cfg: Mapping[str, Any], space: str, allowed: tuple[str, ...]) -> dict[str, int]:
    """A space section whose settings are all integers, checked: unknown keys and non-integers are
    errors naming the key (a width of 16.5 must not quietly become 16)."""
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise ConfigError(f"space: unknown key(s) {unknown} for space '{space}' ({', '.join(allowed)})")
    bad = [f"space.{k} must be an integer, got {v!r}" for k, v in cfg.items()
           if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise ConfigError(f"space '{space}': " + "; ".join(bad))
    return dict(cfg)


class IntegerCoding:
    """A space's genotypes as integer vectors, for pymoo operators that need one box of integers
    (MOEA/D with SBX and polynomial mutation): an ``Integer`` variable is itself, a ``Choice`` its
    option index, a ``Real`` its number of ``resolution`` steps above the lower bound."""

    def __init__(self, space: SearchSpace, resolution: float):
        from pymoo.core.variable import Choice, Integer, Real

        self.space, self.res = space, resolution
        self.names, lo, hi, self.kinds = [], [], [], []
        for name, var in space.variables().items():
            self.names.append(name)
            if isinstance(var, Integer):
                lo.append(var.bounds[0]), hi.append(var.bounds[1]), self.kinds.append(("int", None))
            elif isinstance(var, Choice):
                lo.append(0), hi.append(len(var.options) - 1), self.kinds.append(("choice", list(var.options)))
            elif isinstance(var, Real):
                a, b = var.bounds
                lo.append(0), hi.append(round((b - a) / resolution)), self.kinds.append(("real", (a, b)))
            else:
                raise TypeError(f"space variable '{name}': unsupported pymoo variable {type(var).__name__}")
        self.xl, self.xu = np.array(lo), np.array(hi)

    def decode(self, x: np.ndarray) -> Any:
        x = np.clip(np.rint(np.asarray(x, float)).astype(int), self.xl, self.xu)
        values: dict[str, Any] = {}
        for name, xi, (kind, extra) in zip(self.names, x, self.kinds):
            if kind == "int":
                values[name] = int(xi)
            elif kind == "choice":
                values[name] = extra[int(xi)]
            else:
                values[name] = min(extra[1], extra[0] + int(xi) * self.res)
        return self.space.repair(self.space.from_variables(values))


class VariableSpace:
    """Sampling and variation derived from a space's pymoo variables, for spaces whose genes
    are independent: uniform sampling; mutation resamples an integer or choice gene and jitters
    a real one (Gaussian of ``jitter`` x its range) with probability ``rate``; crossover is uniform
    over discrete genes and blends real ones. Subclasses define ``variables``, ``from_variables``,
    ``validate`` and may override ``repair``; genotypes expose their genes via ``to_dict``."""

    name = "variables"

    @property
    def gene_names(self) -> tuple[str, ...]:
        return tuple(self.variables())

    def variables(self) -> dict[str, Any]:
        raise NotImplementedError

    def from_variables(self, x: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def validate(self, g: Any) -> Any:
        raise NotImplementedError

    def repair(self, g: Any) -> Any:
        """A genotype of the space closest to ``g`` that decodes to a working network (identity here)."""
        return g

    def from_dict(self, d: Mapping[str, Any]) -> Any:
        names = set(self.gene_names)
        missing, extra = sorted(names - set(d)), sorted(set(d) - names)
        if missing or extra:
            raise ValueError(f"genotype keys of space '{self.name}': missing {missing}, unexpected {extra}")
        return self.validate(self.from_variables(d))

    def _draw(self, name: str, var: Any, rng: random.Random) -> Any:
        from pymoo.core.variable import Choice, Integer

        if isinstance(var, Integer):
            return rng.randint(int(var.bounds[0]), int(var.bounds[1]))
        if isinstance(var, Choice):
            return rng.choice(list(var.options))
        return round(rng.uniform(*var.bounds), 3)

    def sample(self, rng: random.Random) -> Any:
        return self.repair(self.from_variables({n: self._draw(n, v, rng) for n, v in self.variables().items()}))

    def mutate(self, g: Any, rng: random.Random, rate: float, jitter: float = 0.1) -> Any:
        from pymoo.core.variable import Real

        genes = g.to_dict()
        for name, var in self.variables().items():
            if rng.random() >= rate:
                continue
            if isinstance(var, Real):
                lo, hi = var.bounds
                genes[name] = round(min(hi, max(lo, genes[name] + rng.gauss(0.0, jitter * (hi - lo)))), 3)
            else:
                genes[name] = self._draw(name, var, rng)
        return self.repair(self.from_variables(genes))

    def crossover(self, a: Any, b: Any, rng: random.Random, p: float = 0.5) -> Any:
        from pymoo.core.variable import Real

        ga, gb = a.to_dict(), b.to_dict()
        child = {}
        for name, var in self.variables().items():
            if isinstance(var, Real):
                lam = rng.random()
                child[name] = round(lam * ga[name] + (1 - lam) * gb[name], 3)
            else:
                child[name] = gb[name] if rng.random() < p else ga[name]
        return self.repair(self.from_variables(child))
