"""Every network the pipeline retrains, built from a plain, JSON-able spec.

A spec is ``{"kind": "cardiac", "genotype": {...}, "arch": {...}}`` for a searched network of the
cardiac space or ``{"kind": "unet", "base": 64, "depth": 4}`` for the U-Net baseline (``attention_unet``:
MONAI's), ``{"kind": "weaved", "genotype": {...}}`` for a MixSearch network; networks of any other
searched space: ``{"kind": <space name>, "genotype": {...}, "space": {...}, "image_size": 28}``
(classifiers: ``mstf``, ``lwcnn``, ``darts``, ``nsganet``; segmentation: ``unet_widths``; each space's
network module registers its builder and task with :func:`register_network`), and
``{"kind": "resnet18", ...}`` (MONAI's ResNet-18). ``model.pt`` stores
the spec next to the weights, so a model file alone rebuilds its network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from torch import nn

from mednas.errors import ConfigError
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.models.unet import UNet
from mednas.space.cardiac import Genotype

# Baselines the pipeline can train: name -> (display name, allowed settings with defaults).
BASELINES: dict[str, tuple[str, dict[str, int]]] = {
    "unet": ("U-Net", {"base": 64, "depth": 4}),
    # MONAI's AttentionUnet (Oktay et al.): widths base x 2^i over depth + 1 levels, like "unet"
    "attention_unet": ("Attention U-Net", {"base": 64, "depth": 4}),
    # MONAI's ResNet-18; the defaults give MedMNIST's "ResNet-18 (28)": a 3x3 stride-1 first
    # convolution and no max-pooling (CIFAR-style), as MedMNIST's own models.py; conv1 7, stride
    # 2 and max_pool 1 give the ImageNet stem.
    "resnet18": ("ResNet-18", {"conv1": 3, "stride": 1, "max_pool": 0}),
    # MONAI's ResNet-10, the same stem settings (a lighter library baseline: with the ImageNet stem
    # about 10 ms per 28 px training image on one CPU core, 2.5x less than ResNet-18's)
    "resnet10": ("ResNet-10", {"conv1": 3, "stride": 1, "max_pool": 0}),
}
# Settings that may be 0 (a switch); every other setting is a positive integer.
SWITCHES = {"max_pool"}

# Networks of searched spaces: spec kind (the space's registered name) -> builder(spec, in_channels,
# num_classes), with the task its networks solve and the input side they need to be divisible by. A
# space's network module registers its builder; build_model dispatches on the kind, so a new space adds
# its module to _load_builtin_networks and nothing else here.
TASKS = ("classification", "segmentation")
NETWORKS: dict[str, Callable[[Mapping[str, Any], int, int], nn.Module]] = {}
NETWORK_TASKS: dict[str, str] = {"cardiac": "segmentation"}
INPUT_MULTIPLES: dict[str, Callable[[Mapping[str, Any]], int]] = {}
B = TypeVar("B")


def register_network(kind: str, task: str,
                     input_multiple: Callable[[Mapping[str, Any]], int] | None = None) -> Callable[[B], B]:
    """Function decorator: build specs of ``kind`` with ``builder(spec, in_channels, num_classes)``;
    ``task`` is what its networks output (``classification``: scores per image, ``segmentation``: per
    pixel); ``input_multiple(spec)``, the side its input must be divisible by (1 if not given)."""
    if task not in TASKS:
        raise ValueError(f"network kind '{kind}': task must be one of {TASKS}, got {task!r}")

    def add(builder: B) -> B:
        if kind in NETWORK_TASKS:
            raise ValueError(f"network kind '{kind}' is registered twice")
        NETWORKS[kind] = builder  # type: ignore[assignment]
        NETWORK_TASKS[kind] = task
        if input_multiple is not None:
            INPUT_MULTIPLES[kind] = input_multiple
        return builder

    return add


def _load_builtin_networks() -> None:
    # importing a network module registers its builder; imported on first use, as the spaces are
    from mednas.models import darts_net, lwcnn_net, mstf_net, nsganet_net, unet_widths_net  # noqa: F401


def network_kinds(task: str) -> list[str]:
    """The spaces whose genotypes build a network for ``task`` (the cardiac space's is built in)."""
    _load_builtin_networks()
    return sorted(k for k, t in NETWORK_TASKS.items() if t == task)


def check_network_task(space_name: str, task: str, key: str = "space.name") -> None:
    """A search for ``task`` needs a space whose genotypes build that task's networks: else an error
    naming the config key, the space and the spaces that would do."""
    _load_builtin_networks()
    if NETWORK_TASKS.get(space_name) != task:
        what = (f"builds {NETWORK_TASKS[space_name]} networks" if space_name in NETWORK_TASKS
                else "has no registered network (mednas.models.registry.register_network)")
        raise ConfigError(f"{key}: space '{space_name}' {what}, not {task} ones; spaces with a {task} network: "
                          f"{network_kinds(task)}")


def searched_spec(space: Any, genotype: Any, in_channels: int, num_classes: int, image_size: int,
                  arch_cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The model spec of a searched genotype of ``space`` (the space's name is the network kind;
    ``arch_cfg``, the cardiac network's fixed settings, applies to the cardiac space only)."""
    if space.name == "cardiac":
        return cardiac_spec(genotype, ArchSettings.from_config(arch_cfg or {}, in_channels, num_classes))
    settings = space.settings() if hasattr(space, "settings") else {}
    spec = {"kind": space.name, "genotype": genotype.to_dict(), "space": settings, "image_size": image_size}
    return fit_to_data(spec, in_channels, num_classes)


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
        low = 0 if key in SWITCHES else 1
        if not isinstance(value, int) or value < low:
            raise ConfigError(f"retrain.baselines.{name}.{key} must be an integer >= {low}, got {value!r}")
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
    missing = [k for k in ("in_channels", "num_classes") if k not in spec]
    if missing:
        raise ConfigError(f"model spec {dict(spec)} lacks {missing}: a network learns them from the data "
                          "(mednas.models.registry.fit_to_data)")
    in_ch, n_cls = int(spec["in_channels"]), int(spec["num_classes"])
    _load_builtin_networks()
    if kind in NETWORKS:
        return NETWORKS[kind](spec, in_ch, n_cls)
    if kind == "unet":
        return UNet(in_ch, n_cls, base=int(spec["base"]), depth=int(spec["depth"]))
    if kind == "attention_unet":
        from monai.networks.nets import AttentionUnet

        base, depth = int(spec["base"]), int(spec["depth"])
        return AttentionUnet(spatial_dims=2, in_channels=in_ch, out_channels=n_cls,
                             channels=[base * 2**i for i in range(depth + 1)], strides=[2] * depth)
    if kind == "weaved":
        from mednas.models.weaved_net import build_weaved
        from mednas.space.weaved import WeavedGenotype

        return build_weaved(WeavedGenotype.from_dict(spec["genotype"]), in_ch, n_cls)
    if kind in ("resnet18", "resnet10"):
        from monai.networks import nets

        return getattr(nets, kind)(spatial_dims=2, n_input_channels=in_ch, num_classes=n_cls,
                                   conv1_t_size=int(spec["conv1"]), conv1_t_stride=int(spec["stride"]),
                                   no_max_pool=not spec["max_pool"])
    raise ConfigError(f"model spec: unknown kind {kind!r}; known: cardiac, weaved, {', '.join(sorted(NETWORKS))}, "
                      f"{', '.join(BASELINES)}")


def input_multiple(spec: Mapping[str, Any]) -> int:
    """The input side a network needs to be divisible by."""
    if spec["kind"] == "cardiac":
        return 2 ** int(spec["genotype"]["layers"])
    _load_builtin_networks()
    if spec["kind"] in NETWORKS:
        return int(INPUT_MULTIPLES[spec["kind"]](spec)) if spec["kind"] in INPUT_MULTIPLES else 1
    if spec["kind"] == "weaved":  # the deepest map is X^{D-1}: 1/2^(D-1) of the input side
        return 2 ** (int(spec["genotype"]["depth"]) - 1)
    return 2 ** int(spec["depth"])


def check_image_size(size: int, space_cfg: Mapping[str, Any], baselines: Mapping[str, Any],
                     supernet_size: int | None = None) -> None:
    """Fail when the config read, not in the first training job, if some network of the run
    cannot take ``preprocess.image_size`` inputs (each encoder stage halves the side), or the
    supernet cannot take ``supernet.image_size`` ones."""
    from mednas.space.base import make_space

    # channel and class counts do not change what input sizes a network takes; a space's largest
    # genotype is its deepest (cardiac: most stages; unet_widths: most down-steps)
    space = make_space(space_cfg)
    check_network_task(space.name, "segmentation")
    deepest = input_multiple(searched_spec(space, space.largest(), 1, 2, size))
    depth_key = getattr(space, "depth_key", f"space (its largest genotype, {space.largest().key()})")
    checks = [("preprocess.image_size", size, depth_key, deepest)]
    for name, settings in (baselines or {}).items():
        checks.append(("preprocess.image_size", size, f"retrain.baselines.{name}",
                       input_multiple(baseline_spec(name, settings))))
    if supernet_size is not None:
        if not 0 < supernet_size <= size:
            raise ConfigError(f"supernet.image_size {supernet_size} must lie in 1..preprocess.image_size ({size})")
        checks.append(("supernet.image_size", supernet_size, depth_key, deepest))
    for key, value, needed_by, multiple in checks:
        if value % multiple:
            raise ConfigError(f"{key} {value} must be divisible by {multiple} for {needed_by} "
                              f"(e.g. {value - value % multiple or multiple} or {value - value % multiple + multiple})")
