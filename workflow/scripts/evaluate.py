"""Rule evaluate: a retrained model on the test patients (per case and summary)."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.evaluate.stages import run_evaluate
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
keep_freed_memory()
torch.set_num_threads(snakemake.threads)
p = snakemake.params
device = resolve_device(p.device)
inp = snakemake.input
with snakemake_step(snakemake, config_keys=["evaluate", "latency", "device"], seed=None,
                    device=describe_device(device)):
    run_evaluate(snakemake.wildcards.model, inp.model, inp.test, inp.data, inp.get("cost"), p.latency,
                 int(p.paper_image_size), device, int(p.batch_size),
                 {"per_case": snakemake.output.per_case, "summary": snakemake.output.summary})
