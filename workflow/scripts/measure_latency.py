"""Rule measure_latency: block look-up table, its end-to-end check and the plot."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from mednas.cost.stages import run_measure_latency
from mednas.device import describe_device, resolve_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
p = snakemake.params
device = resolve_device(p.device)
with snakemake_step(snakemake, config_keys=["space", "arch", "latency", "preprocess", "device"],
                    seed=int(p.latency["seed"]), device=describe_device(device)):
    run_measure_latency(p.space, p.arch, p.latency, int(p.image_size), int(p.in_channels), int(p.num_classes),
                        device, snakemake.output.lut,
                        snakemake.output.check, snakemake.output.summary, snakemake.output.plot)
