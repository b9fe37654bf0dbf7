"""Rule mix_prepare: one domain of a MixSearch experiment -> train/val/test slices and data.json."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from mednas.data.prepare import prepare_dataset
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
p = snakemake.params
with snakemake_step(snakemake, config_keys=["mixsearch", "split", "preprocess"], seed=int(p.split["seed"]),
                    device=describe_device("cpu")):
    summary = prepare_dataset(snakemake.input.raw, p.dataset, p.split, p.preprocess, snakemake.output)
for name, s in summary["splits"].items():
    log.info("%s %s: %d cases, %d slices", snakemake.wildcards.domain, name, len(s["patients"]), s["slices"])
