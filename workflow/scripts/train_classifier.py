"""Rule classify_train: one classifier (a searched genotype or a baseline), one seed, trained and tested."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import json
from pathlib import Path

import torch

from mednas.device import describe_device, resolve_device
from mednas.models.registry import baseline_spec
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging
from mednas.train.stages import run_classifier

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
model, seed = snakemake.wildcards.model, int(snakemake.wildcards.seed)
device = resolve_device(p.device)
with snakemake_step(snakemake, config_keys=["classify", "dataset", "device"], seed=seed,
                    device=describe_device(device)):
    if model.startswith("nas-"):
        spec = json.loads(Path(snakemake.input.chosen).read_text())["spec"]
    else:
        spec = baseline_spec(model, p.baseline)
    out = snakemake.output
    run_classifier(model, spec, p.dataset, p.train, seed, device,
                   {"model": out.model, "curve": out.curve, "metrics": out.metrics})
