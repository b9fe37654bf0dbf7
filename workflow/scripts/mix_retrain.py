"""Rule mix_retrain: a searched weaved network or a baseline trained from scratch on one domain."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import json
from pathlib import Path

import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.models.registry import baseline_spec
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging
from mednas.train.stages import run_retrain

log = setup_step_logging(snakemake.log[0])
keep_freed_memory()
torch.set_num_threads(snakemake.threads)
p = snakemake.params
model = snakemake.wildcards.model
device = resolve_device(p.device)
with snakemake_step(snakemake, config_keys=["mixsearch", "train", "seed", "device"], seed=int(p.seed),
                    device=describe_device(device)):
    if "genotype" in snakemake.input.keys():
        spec = {"kind": "weaved", "genotype": json.loads(Path(snakemake.input.genotype).read_text())["genotype"]}
    else:
        spec = baseline_spec(model, p.baseline)
    run_retrain(f"{model} on {snakemake.wildcards.domain}", spec, snakemake.input.train, snakemake.input.val, p.train,
                p.budget, int(p.seed), device, p.checkpoint, snakemake.output.model, snakemake.output.curve)
