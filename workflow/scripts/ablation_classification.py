"""Rule classify_ablation: MSTF-NAS Table VIII (indicator pairs) for one MedMNIST subset."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import group_paths, run_classification_ablation
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
p = snakemake.params
metrics = group_paths(snakemake.input.metrics, p.pairs, len(p.seeds))
with snakemake_step(snakemake, config_keys=["classify", "dataset", "search"], seed=None,
                    device=describe_device("cpu")):
    run_classification_ablation(metrics, p.flag, snakemake.input.paper, snakemake.output.table)
