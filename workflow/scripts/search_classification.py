"""Rule classify_search: one strategy's training-free search on a classification data set."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.device import describe_device, resolve_device
from mednas.provenance import snakemake_step
from mednas.search.stages import run_classification_search
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
device = resolve_device(p.device)
out = snakemake.output
# an ablation's search ({variant}: Tables VIII / IX; {space}: Table X) runs settings of its own, which its
# params record: the experiment's search and space sections would misname them
variant = any(k in snakemake.wildcards.keys() for k in ("variant", "space"))
keys = ["dataset", "seed", "device"] + ([] if variant else ["search", "space"])
with snakemake_step(snakemake, config_keys=keys,
                    seed=int(p.search.get("seed", p.seed)), device=describe_device(device)):
    run_classification_search(
        strategy=snakemake.wildcards.strategy, search_cfg=p.search, space_cfg=p.space, dataset_cfg=p.dataset,
        seed=int(p.seed), device=device, work_dir=p.work,
        outputs={k: out[k] for k in ("archive", "pareto", "hypervolume", "chosen", "cost")},
    )
