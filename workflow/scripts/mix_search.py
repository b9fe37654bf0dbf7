"""Rule mix_search: one Dedicated / Union / MixSearch run (the two-stage bilevel search)."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.provenance import snakemake_step
from mednas.search.stages import run_mix_search
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
keep_freed_memory()
torch.set_num_threads(snakemake.threads)
p = snakemake.params
device = resolve_device(p.device)
sources = list(p.search["sources"])
with snakemake_step(snakemake, config_keys=["mixsearch", "seed", "device"], seed=int(p.seed),
                    device=describe_device(device)):
    run_mix_search(snakemake.wildcards.search, dict(zip(sources, snakemake.input.train)), p.search, p.mix_fraction,
                   p.settings, int(p.seed), device, p.checkpoint, snakemake.output)
