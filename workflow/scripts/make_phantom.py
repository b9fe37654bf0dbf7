"""Rule make_phantom: write the synthetic cardiac data set (official ACDC layout)."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from mednas.data.phantom import write_phantom
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
seed = int(snakemake.params.seed)
with snakemake_step(snakemake, config_keys=["dataset"], seed=seed, device=describe_device("cpu")):
    ids = write_phantom(snakemake.output.raw, int(snakemake.params.patients), seed)
log.info("wrote %d phantom patients to %s", len(ids), snakemake.output.raw)
