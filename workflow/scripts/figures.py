"""Rule figures: Pareto front, design-factor correlations, retraining curves, test overlays."""

import _checkout  # noqa: F401  (first: this checkout's mednas, see _checkout.py)
import torch

from mednas.device import describe_device, resolve_device
from mednas.provenance import snakemake_step
from mednas.report.stages import run_figures
from mednas.steplog import setup_step_logging

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
inp = snakemake.input
out = snakemake.output
device = resolve_device(p.device)
with snakemake_step(snakemake, config_keys=["report", "search"], seed=None, device=describe_device(device)):
    run_figures(dict(zip(p.strategies, inp.archives)), dict(zip(p.models, inp.summaries)),
                dict(zip(p.models, inp.curves)), dict(zip(p.models, inp.models)), inp.test, int(p.overlay_slices),
                device, {k: out[k] for k in ("pareto", "correlation", "correlation_csv", "curves", "overlays")})
