"""Rule effective_config: write the merged, validated configuration of this run."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import json

import yaml

from mednas.atomic import write_text_atomic
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
cfg = json.loads(snakemake.params.config)  # the experiment's whole config, as the rule's param
with snakemake_step(snakemake, config_keys=[], seed=cfg.get("seed"), device=describe_device("cpu")):
    write_text_atomic(snakemake.output.config, yaml.safe_dump(cfg, sort_keys=True))
