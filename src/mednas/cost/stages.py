"""Pipeline stage of the cost package: the latency look-up table and its check."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

from mednas.atomic import atomic_outputs
from mednas.cost.latency import COLUMNS, LatencySettings, LatencyTable, check_rows, measure, plot_check
from mednas.csvio import write_rows
from mednas.models.cardiac_net import ArchSettings
from mednas.space.cardiac import CardiacSpace

log = logging.getLogger("mednas")


def run_measure_latency(space_cfg: Mapping, arch_cfg: Mapping, latency_cfg: Mapping, image_size: int,
                        in_channels: int, num_classes: int, device: str, out_lut: str, out_check: str,
                        out_summary: str, out_plot: str) -> dict:
    """Measure the table for networks of the data set's channels and classes, check it on random
    genotypes, write all four files together."""
    space, arch = CardiacSpace.from_config(space_cfg), ArchSettings.from_config(arch_cfg, in_channels, num_classes)
    settings = LatencySettings.from_config(latency_cfg)
    t0 = time.perf_counter()
    measured = measure(space, arch, image_size, settings, device, progress=log.info)
    rows = measured.rows
    table = LatencyTable(rows)
    check, summary = check_rows(table, measured.check, arch, image_size)
    summary |= {"in_channels": in_channels, "num_classes": num_classes, "lut_entries": len(rows), "measure_seconds": round(time.perf_counter() - t0, 1)}
    log.info("look-up table: %d entries, %d networks checked, %.0f s; Kendall tau %.3f (FLOPs %.3f), "
             "Spearman rho %.3f, MAPE %.1f %%", len(rows), len(check), summary["measure_seconds"],
             summary["lut_kendall_tau"], summary["flops_kendall_tau"],
             summary["lut_spearman_rho"], summary["lut_mape_percent"])
    with atomic_outputs([out_lut, out_check, out_summary, out_plot]) as (t_lut_csv, t_check, t_summary, t_plot):
        write_rows(t_lut_csv, rows, COLUMNS)
        write_rows(t_check, check, ["genotype", "predicted_ms", "measured_ms", "flops"])
        t_summary.write_text(json.dumps(summary, indent=1) + "\n")
        plot_check(t_plot, check, summary)
    return summary
