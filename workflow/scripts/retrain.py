"""Rule retrain: one model (a searched genotype or a baseline) trained from scratch."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import json
from pathlib import Path

import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.errors import MednasError
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
with snakemake_step(snakemake, config_keys=["retrain", "train", "arch", "seed", "device"], seed=int(p.seed),
                    device=describe_device(device)):
    if model.startswith("nas-"):
        chosen = json.loads(Path(snakemake.input.chosen).read_text())
        if "spec" not in chosen:
            raise MednasError(f"{snakemake.input.chosen} has no 'spec' (the network to retrain): it predates "
                              "searches of any space; delete it and run the search again")
        spec = chosen["spec"]  # the search's space built it; run_retrain fits it to the data it trains on
    else:
        spec = baseline_spec(model, p.baseline)
    run_retrain(model, spec, snakemake.input.train, snakemake.input.val, p.train, p.budget, int(p.seed), device,
                p.checkpoint, snakemake.output.model, snakemake.output.curve)
