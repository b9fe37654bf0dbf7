"""The cost side of a candidate: params, FLOPs and predicted latency of a cardiac genotype."""

from __future__ import annotations

from mednas.cost.complexity import genotype_cost
from mednas.cost.latency import LatencyTable
from mednas.models.cardiac_net import ArchSettings
from mednas.space.cardiac import Genotype

COST_METRICS = ("params", "flops", "latency_ms")


class CandidateCost:
    """Params and FLOPs counted on the standalone network; latency predicted by the look-up table."""

    def __init__(self, arch: ArchSettings, image_size: int, table: LatencyTable, device_name: str):
        self.arch, self.image_size, self.table, self.device_name = arch, image_size, table, device_name

    def __call__(self, g: Genotype) -> dict[str, float]:
        cost = genotype_cost(g, self.arch, self.image_size)
        latency = self.table.predict(g, self.arch, self.device_name, self.image_size)
        return {"params": cost["params"], "flops": cost["flops"], "latency_ms": latency}
