"""Rule classify_spaces_ablation: MSTF-NAS Table X (search spaces) for one MedMNIST subset."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import group_paths, run_spaces_ablation
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
p, inp = snakemake.params, snakemake.input
metrics = group_paths(inp.metrics, p.spaces, len(p.seeds))
with snakemake_step(snakemake, config_keys=["classify", "dataset", "search"], seed=None,
                    device=describe_device("cpu")):
    run_spaces_ablation(metrics, dict(zip(p.spaces, inp.chosen)), dict(zip(p.spaces, inp.costs)), p.flag, inp.paper,
                        snakemake.output.table)
