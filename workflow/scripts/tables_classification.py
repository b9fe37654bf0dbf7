"""Rule classify_tables: MSTF-NAS Tables II (ACC), III (AUC) and IV (search minutes) for one subset."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)

from mednas.device import describe_device
from mednas.provenance import snakemake_step
from mednas.report.stages import group_paths, run_classification_tables
from mednas.steplog import setup_step_logging

setup_step_logging(snakemake.log[0])
p, inp = snakemake.params, snakemake.input
metrics = group_paths(inp.metrics, p.models, len(p.seeds))
with snakemake_step(snakemake, config_keys=["classify", "dataset"], seed=None, device=describe_device("cpu")):
    run_classification_tables(
        metrics, dict(zip(p.strategies, inp.costs)), p.flag,
        {k: inp.get(f"paper_{k}") for k in ("acc", "auc", "search_minutes")},
        {"acc": snakemake.output.acc, "auc": snakemake.output.auc, "search": snakemake.output.search},
    )
