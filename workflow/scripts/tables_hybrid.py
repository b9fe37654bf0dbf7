"""Rule classify_hybrid_tables: the hybrid MOEA/D + SA paper's Tables 3-5 and front figure for one data set."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import run_hybrid_tables
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
p, inp, out = snakemake.params, snakemake.input, snakemake.output
seeds, paths = list(p.seeds), list(inp.metrics)
metrics = {m: paths[i * len(seeds):(i + 1) * len(seeds)] for i, m in enumerate(p.models)}
searches = {s: {"archive": inp.archive[i], "chosen": inp.chosen[i], "cost": inp.cost[i]}
            for i, s in enumerate(p.strategies)}
with snakemake_step(snakemake, config_keys=["classify", "dataset", "search"], seed=None,
                    device=describe_device("cpu")):
    run_hybrid_tables(metrics, searches, p.flag, int(p.positive), inp.get("paper"),
                      {"sa": out.sa, "trials": out.trials, "best": out.best, "front": out.front})
