"""The ``mixsearch`` config section (task ``mixsearch``, seed 001), checked before any job runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mednas.data.mixing import MixSettings
from mednas.data.sources import describe_dataset
from mednas.errors import ConfigError
from mednas.models.registry import baseline_spec, input_multiple
from mednas.search.differentiable import BilevelSettings

SEARCH_KEYS = {"sources", "k", "mu"}


def check_mixsearch(cfg: Mapping[str, Any], base_dir: str | Path = ".") -> dict[str, str]:
    """Fail with the key at fault on anything a MixSearch experiment cannot run; return each
    domain's display name (its ``dataset.json`` name)."""
    exp, mix = cfg.get("experiment"), cfg.get("mixsearch")
    where = f"experiment '{exp}': mixsearch"
    if not isinstance(mix, Mapping):
        raise ConfigError(f"experiment '{exp}': task mixsearch needs a 'mixsearch' section")
    domains = mix.get("domains") or {}
    if not domains:
        raise ConfigError(f"{where}.domains: name at least one nnU-Net raw data set (name -> folder)")
    names, labels = {}, {}
    for name, path in domains.items():
        if not Path(path).is_dir():
            raise ConfigError(f"{where}.domains.{name}: {path} is not a folder")
        names[name], labels[name] = describe_dataset("nnunet_raw", path)
    first = next(iter(labels))
    for name, ls in labels.items():
        if (ls.num_classes, ls.in_channels) != (labels[first].num_classes, labels[first].in_channels):
            raise ConfigError(f"{where}.domains: {name} has {ls.num_classes} classes and {ls.in_channels} channels, "
                              f"{first} {labels[first].num_classes} and {labels[first].in_channels}: one composite "
                              "mixes images and one-hot labels of one shape")
    searches = mix.get("searches") or {}
    if not searches:
        raise ConfigError(f"{where}.searches: name at least one search (name -> sources, k, mu)")
    for name, s in searches.items():
        unknown = sorted(set(s) - SEARCH_KEYS)
        if unknown:
            raise ConfigError(f"{where}.searches.{name}: unknown key(s) {unknown}; known {sorted(SEARCH_KEYS)}")
        missing = [d for d in s.get("sources") or [] if d not in domains]
        if not s.get("sources") or missing:
            raise ConfigError(f"{where}.searches.{name}.sources: {missing or 'none given'} not in mixsearch.domains "
                              f"({sorted(domains)})")
        MixSettings(k=int(s.get("k", 1)), mu=float(s.get("mu", 1.0)), mix_fraction=float(mix.get("mix_fraction", 0.5)))
    for key in ("targets", "unseen"):
        bad = [d for d in mix.get(key) or [] if d not in domains]
        if bad:
            raise ConfigError(f"{where}.{key}: {bad} not in mixsearch.domains ({sorted(domains)})")
    for name in mix.get("unseen_models") or []:
        if name not in searches:
            raise ConfigError(f"{where}.unseen_models: '{name}' is not a search of mixsearch.searches")
        seen = sorted(set(searches[name]["sources"]) & set(mix.get("unseen") or []))
        if seen:
            raise ConfigError(f"{where}.unseen_models: search '{name}' trains on {seen}, which mixsearch.unseen "
                              "holds out")
    for name in set(mix.get("baselines") or {}) & set(searches):
        raise ConfigError(f"{where}: '{name}' names both a search and a baseline")
    settings = BilevelSettings.from_config(mix.get("search") or {})
    size = int(settings.image_size or cfg["preprocess"]["image_size"])
    deepest = max(d for d, _ in settings.stages)
    if size % 2 ** (deepest - 1):
        raise ConfigError(f"{where}.search: image size {size} must be divisible by {2 ** (deepest - 1)} for a "
                          f"grid of depth {deepest}")
    for name, bs in (mix.get("baselines") or {}).items():
        m = input_multiple(baseline_spec(name, bs))
        if cfg["preprocess"]["image_size"] % m:
            raise ConfigError(f"preprocess.image_size {cfg['preprocess']['image_size']} must be divisible by {m} for "
                              f"mixsearch.baselines.{name}")
    for key in ("paper_table3", "paper_table6"):
        path = mix.get(key)
        if path and not (Path(path) if Path(path).is_absolute() else Path(base_dir) / path).is_file():
            raise ConfigError(f"{where}.{key}: {path} not found")
    return {k: str(v) for k, v in names.items()}
