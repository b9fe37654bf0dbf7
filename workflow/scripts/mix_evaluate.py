"""Rule mix_evaluate: Dice and Jaccard of one retrained model on one domain's test cases."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.device import describe_device, resolve_device
from mednas.evaluate.stages import run_evaluate_domain
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
device = resolve_device(p.device)
with snakemake_step(snakemake, config_keys=["mixsearch", "device"], seed=None, device=describe_device(device)):
    run_evaluate_domain(snakemake.wildcards.model, snakemake.wildcards.domain, snakemake.input.model,
                        snakemake.input.test, device, int(p.batch_size), snakemake.output)
