"""Rule mix_tables: MixSearch Table III (the search's domains) or VI (unseen domains) and its figure."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from pathlib import Path

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import run_mixsearch_tables
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
p = snakemake.params
table = snakemake.wildcards.table
summaries, costs = {}, {}
for path in snakemake.input.summaries:  # results/<exp>/mixsearch/models/<model>/<domain>/seed<k>/summary.json
    model, domain, seed = Path(path).parts[-4:-1]
    summaries.setdefault(model, {}).setdefault(domain, {})[int(seed[4:])] = path
for path in snakemake.input.costs:  # results/<exp>/mixsearch/search/<search>/seed<k>/cost.json
    search, seed = Path(path).parts[-3:-1]
    costs.setdefault(search, {})[int(seed[4:])] = path
title = ("Table III: retrained and tested on the searched domains" if table == "table3_domains"
         else "Table VI: retrained and tested on domains no search saw")
with snakemake_step(snakemake, config_keys=["mixsearch", "seeds"], seed=None, device=describe_device("cpu")):
    run_mixsearch_tables(summaries, p.searches, costs, p.domain_names, snakemake.input.paper[0] if snakemake.input.paper
                         else None, title, snakemake.output)
