"""Rule train_supernet: sandwich-rule training of the weight-sharing supernet."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.allocator import keep_freed_memory
from mednas.device import describe_device, resolve_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging
from mednas.train.stages import run_train_supernet

log = setup_step_logging(snakemake.log[0])
keep_freed_memory()
torch.set_num_threads(snakemake.threads)
p = snakemake.params
device = resolve_device(p.device)
with snakemake_step(snakemake, config_keys=["space", "arch", "train", "supernet", "seed", "device"],
                    seed=int(p.seed), device=describe_device(device)):
    run_train_supernet(
        train_path=snakemake.input.train, val_path=snakemake.input.val, space_cfg=p.space, arch_cfg=p.arch,
        train_cfg=p.train, supernet_cfg=p.supernet, seed=int(p.seed), device=device,
        checkpoint=p.checkpoint, out_model=snakemake.output.supernet, out_curve=snakemake.output.curve,
    )
