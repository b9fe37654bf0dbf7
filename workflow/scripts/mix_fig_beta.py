"""Rule mix_fig_beta: every search's network-level weights beta on its grid (MixSearch Fig. 7)."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from pathlib import Path

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import run_mixsearch_beta
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
name = lambda path: Path(path).parts[-3]  # noqa: E731  results/<exp>/mixsearch/search/<name>/seed<k>/arch.json
with snakemake_step(snakemake, config_keys=["mixsearch"], seed=None, device=describe_device("cpu")):
    run_mixsearch_beta({name(p): p for p in snakemake.input.arch}, {name(p): p for p in snakemake.input.genotype},
                       snakemake.output.figure)
