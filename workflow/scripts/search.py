"""Rule search: one strategy's multi-objective search, archive to chosen genotype."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.provenance import snakemake_step
from mednas.search.stages import run_search
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
keep_freed_memory()
torch.set_num_threads(snakemake.threads)
p = snakemake.params
device = resolve_device(p.device)
out = snakemake.output
with snakemake_step(snakemake, config_keys=["search", "space", "arch", "train", "supernet", "seed", "device"],
                    seed=int(p.search["seed"]), device=describe_device(device)):
    run_search(
        strategy=snakemake.wildcards.strategy, search_cfg=p.search, space_cfg=p.space, arch_cfg=p.arch,
        train_cfg=p.train, supernet_cfg=p.supernet, seed=int(p.seed), device=device,
        train_path=snakemake.input.train, val_path=snakemake.input.val, lut_path=snakemake.input.get("lut"),
        supernet_path=snakemake.input.get("supernet"), work_dir=p.work,
        outputs={k: out[k] for k in ("archive", "pareto", "hypervolume", "chosen", "cost")},
    )
