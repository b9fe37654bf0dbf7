"""Rules classify_spaces_average / classify_objectives_average: MSTF-NAS Table X / IX averaged over the
config's MedMNIST subsets, as the paper prints them."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import run_subsets_average
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
with snakemake_step(snakemake, config_keys=[], seed=None, device=describe_device("cpu")):
    run_subsets_average(list(snakemake.input.tables), snakemake.params.key, snakemake.input.paper,
                        snakemake.output.table, snakemake.output.figure, snakemake.params.title)
