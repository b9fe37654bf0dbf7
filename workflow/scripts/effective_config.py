"""Rule effective_config: write the merged, validated configuration of this run."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import yaml

from mednas.atomic import write_text_atomic
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
with snakemake_step(snakemake, config_keys=[], seed=snakemake.config.get("seed"), device=describe_device("cpu")):
    write_text_atomic(snakemake.output.config, yaml.safe_dump(dict(snakemake.config), sort_keys=True))
