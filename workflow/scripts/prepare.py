"""Rule prepare: raw data set -> train/val/test slices and data.json."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from mednas.data.prepare import prepare_dataset
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
raw_dir = snakemake.input.raw
with snakemake_step(snakemake, config_keys=["dataset", "split", "preprocess"],
                    seed=int(snakemake.params.split["seed"]), device=describe_device("cpu")):
    summary = prepare_dataset(raw_dir, snakemake.params.dataset, snakemake.params.split,
                              snakemake.params.preprocess, snakemake.output)
for name, s in summary["splits"].items():
    log.info("%s: %d patients, %d slices", name, len(s["patients"]), s["slices"])
log.info("labels %s, channels %s; %s; smallest foreground fraction kept by the %s %.4f", summary["labels"],
         summary["channels"], summary["distance_convention"], summary["fit"], summary["min_foreground_kept"])
