"""Rule classify_objectives_ablation: MSTF-NAS Table IX (objective constructions) for one MedMNIST subset."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import group_paths, run_objectives_ablation
from mednas.search.objectives import variant_name
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
p = snakemake.params
metrics = group_paths(snakemake.input.variants, p.variants, len(p.seeds))
# the experiment's own NSGA-II pick is Eq. 5 with the experiment's indicators: Table IX's last row
metrics = {variant_name("eq5", p.eq5_indicators): list(snakemake.input.eq5), **metrics}
with snakemake_step(snakemake, config_keys=["classify", "dataset", "search"], seed=None,
                    device=describe_device("cpu")):
    run_objectives_ablation(metrics, p.flag, snakemake.input.paper, snakemake.output.table)
