"""The cost side of a candidate: params, FLOPs and predicted latency of a cardiac genotype."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from mednas.cost.complexity import count_params, genotype_cost
from mednas.cost.latency import LatencyTable
from mednas.errors import ConfigError
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.space.cardiac import CardiacSpace, Genotype

COST_METRICS = ("params", "flops", "latency_ms")


def requested(columns: Collection[str] | None, offered: tuple[str, ...]) -> tuple[str, ...]:
    """The cost columns to compute: ``columns`` (all of ``offered`` when None), each one offered."""
    if columns is None:
        return offered
    bad = [c for c in columns if c not in offered]
    if bad:
        raise ConfigError(f"cost column(s) {bad} are not computed here; choose from {list(offered)}")
    return tuple(c for c in offered if c in columns)


class CandidateCost:
    """Params and FLOPs counted on the standalone network; latency predicted by the look-up table.

    ``columns`` asks for some of them only: counting FLOPs runs the network once (about 10x the
    cost of building it), which a search that never reads FLOPs (the surrogate's inner NSGA-II on
    accuracy and latency, a draw within a latency budget) need not pay for every genotype it meets.
    """

    columns = COST_METRICS

    def __init__(self, arch: ArchSettings, image_size: int, table: LatencyTable, device_name: str):
        self.arch, self.image_size, self.table, self.device_name = arch, image_size, table, device_name

    @classmethod
    def from_files(cls, arch_cfg: Mapping[str, Any], in_channels: int, num_classes: int, image_size: int,
                   lut_path: str, device_name: str) -> CandidateCost:
        """The cost of the data's networks (its channels and classes) from the config's ``arch`` and lut.csv."""
        return cls(ArchSettings.from_config(arch_cfg, in_channels, num_classes), image_size,
                   LatencyTable.read_csv(lut_path), device_name)

    def scales(self, space: CardiacSpace) -> dict[str, float]:
        """Normalisers of the cost objectives: the costliest network of the space (its largest shape
        under every attention and fusion; latency under every activation too)."""
        big = space.largest()
        shapes = [replace(big, attention=a, fusion=f) for a, f in itertools.product(space.attentions, space.fusions)]
        costs = [genotype_cost(g, self.arch, self.image_size) for g in shapes]
        latency = max(self.table.predict(replace(g, activation=act), self.arch, self.device_name, self.image_size)
                      for g in shapes for act in space.activations)
        return {"params": max(c["params"] for c in costs), "flops": max(c["flops"] for c in costs),
                "latency_ms": latency}

    def __call__(self, g: Genotype, columns: Collection[str] | None = None) -> dict[str, float]:
        want = requested(columns, self.columns)
        out: dict[str, float] = {}
        if "flops" in want:
            cost = genotype_cost(g, self.arch, self.image_size)  # one build and one counted forward pass
            out.update(params=cost["params"], flops=cost["flops"])
        elif "params" in want:
            out["params"] = count_params(build_subnet(g, self.arch))
        if "latency_ms" in want:
            out["latency_ms"] = self.table.predict(g, self.arch, self.device_name, self.image_size)
        return {k: out[k] for k in want}
