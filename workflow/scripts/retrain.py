"""Rule retrain: one model (a searched genotype or a baseline) trained from scratch."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import json
from pathlib import Path

import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.models.cardiac_net import ArchSettings
from mednas.models.registry import baseline_spec, cardiac_spec
from mednas.provenance import snakemake_step
from mednas.space.cardiac import Genotype
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
        if "spec" in chosen:
            spec = chosen["spec"]  # the search's space built it; run_retrain fits it to the data it trains on
        else:
            # written before searches took any space (2026-12-04): the cardiac space was the only one, and a
            # finished search's archive log is gone, so rebuilding its spec spares a whole search
            log.info("%s predates model specs in chosen.json: its genotype is a cardiac one", snakemake.input.chosen)
            spec = cardiac_spec(Genotype(**chosen["genotype"]), ArchSettings.from_config(p.arch, 1, 2))
    else:
        spec = baseline_spec(model, p.baseline)
    run_retrain(model, spec, snakemake.input.train, snakemake.input.val, p.train, p.budget, int(p.seed), device,
                p.checkpoint, snakemake.output.model, snakemake.output.curve)
