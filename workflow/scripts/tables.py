"""Rule tables: CardiacNAS Table II (over replicates, and per replicate) and III, measured rows and the paper's."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import group_paths, run_tables
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
p = snakemake.params
inp = snakemake.input
with snakemake_step(snakemake, config_keys=["report", "retrain", "search", "seeds"], seed=None,
                    device=describe_device("cpu")):
    n = len(p.seeds)
    run_tables(group_paths(inp.summaries, p.models, n), group_paths(inp.per_case, p.models, n), p.seeds,
               group_paths(inp.hypervolumes, p.strategies, n), inp.get("paper_table2"), inp.get("paper_table3"), p.dataset,
               {k: snakemake.output[k] for k in ("table2", "table2_runs", "table3")}, float(p.alpha))
