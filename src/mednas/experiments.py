"""Several experiments in one config: ``experiments`` maps a name to its settings, merged over
the config's other keys (the shared defaults), as Snakemake workflows usually hold samples.

    dataset: {kind: phantom}             # shared by every experiment
    experiments:
      small: {space: {filters: [8, 12]}}
      large: {space: {filters: [8, 24]}, retrain: {epochs: 20}}

Without ``experiments`` the config is one experiment, named by its ``experiment`` key. An
experiment whose ``space`` names another search space than the shared one gets its own
section whole (the shared space's genes mean nothing to it); so does an experiment's list of
baselines (``retrain.baselines``, ``classify.baselines``): it names the set to train, and an
empty mapping trains none.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mednas.errors import ConfigError


# Sections an experiment replaces whole instead of merging key by key: sets of models.
WHOLE_SETS = (("retrain", "baselines"), ("classify", "baselines"), ("mixsearch", "baselines"), ("mixsearch", "searches"))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it: mappings merge key by key, anything else is replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def experiment_configs(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each experiment's whole config, by name (its ``experiment`` key set to the name)."""
    shared = {k: v for k, v in config.items() if k != "experiments"}
    experiments = config.get("experiments")
    if not experiments:
        if not shared.get("experiment"):
            raise ConfigError("config key 'experiment' (the results folder's name) is missing")
        return {str(shared["experiment"]): shared}
    if not isinstance(experiments, Mapping):
        raise ConfigError("config key 'experiments' must map experiment names to their settings")
    out = {}
    for name, settings in experiments.items():
        settings = settings or {}
        if not isinstance(settings, Mapping):
            raise ConfigError(f"experiments.{name}: expected a mapping of settings, got {settings!r}")
        if "experiment" in settings or "experiments" in settings:
            raise ConfigError(f"experiments.{name}: the name is the key; 'experiment' / 'experiments' do not "
                              "belong inside it")
        if not str(name) or "/" in str(name):
            raise ConfigError(f"experiments: {name!r} cannot name a results folder")
        merged = deep_merge(shared, settings)
        # A space section naming another space replaces the shared one: the genes differ.
        space = settings.get("space")
        if isinstance(space, Mapping) and space.get("name", "cardiac") != (shared.get("space") or {}).get("name",
                                                                                                       "cardiac"):
            merged["space"] = copy.deepcopy(dict(space))
        for section, key in WHOLE_SETS:
            own = settings.get(section)
            if isinstance(own, Mapping) and key in own:
                merged[section][key] = copy.deepcopy(own[key])
        out[str(name)] = {**merged, "experiment": str(name)}
    return out
