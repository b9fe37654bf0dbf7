"""Every network the pipeline retrains, built from a plain, JSON-able spec.

A spec is ``{"kind": "cardiac", "genotype": {...}, "arch": {...}}`` for a searched network
or ``{"kind": "unet", "base": 64, "depth": 4}`` for the U-Net baseline. ``model.pt`` stores
the spec next to the weights, so a model file alone rebuilds its network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from torch import nn

from mednas.errors import ConfigError
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.models.unet import UNet
from mednas.space.cardiac import CardiacSpace, Genotype

# Baselines the pipeline can train: name -> (display name, allowed settings with defaults).
BASELINES: dict[str, tuple[str, dict[str, int]]] = {
    "unet": ("U-Net", {"base": 64, "depth": 4}),
}


def baseline_spec(name: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec of baseline ``name`` from its config entry ``retrain.baselines.<name>``."""
    if name not in BASELINES:
        raise ConfigError(f"retrain.baselines: unknown baseline '{name}'; available: {sorted(BASELINES)}")
    defaults = BASELINES[name][1]
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise ConfigError(f"retrain.baselines.{name}: unknown key(s) {unknown}; allowed {sorted(defaults)}")
    spec = {**defaults, **settings}
    for key, value in spec.items():
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"retrain.baselines.{name}.{key} must be a positive integer, got {value!r}")
    return {"kind": name, **spec}


def cardiac_spec(genotype: Genotype, arch: ArchSettings) -> dict[str, Any]:
    """The spec of a searched network."""
    return {"kind": "cardiac", "genotype": genotype.to_dict(), "arch": asdict(arch)}


def fit_to_data(spec: Mapping[str, Any], in_channels: int, num_classes: int) -> dict[str, Any]:
    """``spec`` with the data set's input channels and classes (a baseline's config entry has neither)."""
    spec = dict(spec)
    if spec.get("kind") == "cardiac":
        spec["arch"] = {**spec["arch"], "in_channels": in_channels, "num_classes": num_classes}
    else:
        spec |= {"in_channels": in_channels, "num_classes": num_classes}
    return spec


def build_model(spec: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised network for ``spec``."""
    kind = spec.get("kind")
    if kind == "cardiac":
        arch = ArchSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec["arch"].items()})
        return build_subnet(Genotype(**spec["genotype"]), arch)
    if kind == "unet":
        missing = [k for k in ("in_channels", "num_classes") if k not in spec]
        if missing:
            raise ConfigError(f"model spec {dict(spec)} lacks {missing}: a baseline learns them from the data "
                              "(mednas.models.registry.fit_to_data)")
        return UNet(int(spec["in_channels"]), int(spec["num_classes"]), base=int(spec["base"]), depth=int(spec["depth"]))
    raise ConfigError(f"model spec: unknown kind {kind!r}; known: cardiac, {', '.join(BASELINES)}")


def input_multiple(spec: Mapping[str, Any]) -> int:
    """The input side a network needs to be divisible by."""
    if spec["kind"] == "cardiac":
        return 2 ** int(spec["genotype"]["layers"])
    return 2 ** int(spec["depth"])


def check_image_size(size: int, space_cfg: Mapping[str, Any], baselines: Mapping[str, Any],
                     supernet_size: int | None = None) -> None:
    """Fail when the config read, not in the first training job, if some network of the run
    cannot take ``preprocess.image_size`` inputs (each encoder stage halves the side), or the
    supernet cannot take ``supernet.image_size`` ones."""
    # channel and class counts do not change what input sizes a network takes
    deepest = cardiac_spec(CardiacSpace.from_config(space_cfg).largest(), ArchSettings(in_channels=1, num_classes=2))
    checks = [("preprocess.image_size", size, "space.layers", input_multiple(deepest))]
    for name, settings in (baselines or {}).items():
        checks.append(("preprocess.image_size", size, f"retrain.baselines.{name}",
                       input_multiple(baseline_spec(name, settings))))
    if supernet_size is not None:
        if not 0 < supernet_size <= size:
            raise ConfigError(f"supernet.image_size {supernet_size} must lie in 1..preprocess.image_size ({size})")
        checks.append(("supernet.image_size", supernet_size, "space.layers", input_multiple(deepest)))
    for key, value, needed_by, multiple in checks:
        if value % multiple:
            raise ConfigError(f"{key} {value} must be divisible by {multiple} for {needed_by} "
                              f"(e.g. {value - value % multiple or multiple} or {value - value % multiple + multiple})")
