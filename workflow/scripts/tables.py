"""Rule tables: CardiacNAS Table II and III, measured rows and the paper's."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import run_tables
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
p = snakemake.params
inp = snakemake.input
with snakemake_step(snakemake, config_keys=["report", "retrain", "search"], seed=None, device=describe_device("cpu")):
    run_tables(dict(zip(p.models, inp.summaries)), dict(zip(p.models, inp.per_case)), inp.get("paper_table2"),
               inp.get("paper_table3"), p.dataset, {"table2": snakemake.output.table2, "table3": snakemake.output.table3},
               float(p.alpha))
