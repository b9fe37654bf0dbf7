"""Hypervolume of each search strategy against random search at equal budget, over search seeds.

    .venv/bin/python benchmarks/hypervolume.py [--config config/config.yaml ...] [--seeds 0 1 2]
        [--strategies ga nsga2 moead_sa random] [--device auto] [--out FILE] [--baseline random]

Needs the experiment's prepared data, latency table and supernet (the pipeline builds them:
``results/<experiment>/{data,latency,supernet}``). Every strategy runs the config's search
(objectives, budgets, population x generations candidates, inherited-weight evaluation)
once per seed; the evaluator's answers are cached by genotype across runs, so the strategies
are compared on identical scores and a genotype is evaluated once. Prints the final
hypervolume of every run, the median over seeds per strategy and its ratio to random
search's median (``--baseline``: another strategy to compare with), and, per strategy, the
number of true evaluations after which its median hypervolume first reaches the baseline's
final median (MoSegNAS's claim for ``surrogate`` against ``nsga2``: a third of them). Writes it
all to JSON (default ``results/<experiment>/benchmarks/hypervolume.json``) and the median
hypervolume against true evaluations to a figure beside it (``hypervolume.png``).

The hypervolume is the pipeline's own (``mednas.search.pareto``: normalised objectives,
feasible non-dominated candidates, fixed reference point), so the figures are those that
``search/<strategy>/seed<s>/hypervolume.csv`` reports (the same seeds where ``search.seed`` is 0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch

from _configs import load_overlays
from mednas.allocator import keep_freed_memory
from mednas.cost.candidate import CandidateCost
from mednas.cost.latency import LatencyTable, device_name
from mednas.data.slices import load_slices
from mednas.device import resolve_device
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.search.archive import ArchiveLog
from mednas.search.objectives import Objectives
from mednas.search.pool import CandidatePool, archive_columns
from mednas.search.stages import hd95_scale, make_evaluator
from mednas.search.strategies import STRATEGIES, StrategySettings, run_strategy
from mednas.space.cardiac import CardiacSpace, Genotype

REPO = Path(__file__).resolve().parents[1]


class CachedEvaluator:
    """The pipeline's evaluator, answering each genotype once for all runs of the benchmark."""

    def __init__(self, evaluator) -> None:
        self.evaluator, self.metrics = evaluator, evaluator.metrics
        self.cache: dict[str, dict[str, float]] = {}
        self.seconds = 0.0

    def __call__(self, genotype: Genotype) -> dict[str, float]:
        key = genotype.key()
        if key not in self.cache:
            t0 = time.perf_counter()
            self.cache[key] = dict(self.evaluator(genotype))
            self.seconds += time.perf_counter() - t0
        return self.cache[key]


def median_curve(histories: list, budget: int) -> list[tuple[int, float]]:
    """Median over runs of the hypervolume reached after n true evaluations, n = 1..budget
    (a run's value at n: its last generation that had evaluated at most n candidates)."""
    out = []
    for n in range(1, budget + 1):
        values = [max((hv for c, hv in h if c <= n), default=0.0) for h in histories]
        out.append((n, statistics.median(values)))
    return out


def plot_curves(curves: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for s, curve in curves.items():
        ax.step([n for n, _ in curve], [hv for _, hv in curve], where="post", label=s, lw=2 if s == "surrogate" else 1)
    ax.set_xlabel("true evaluations")
    ax.set_ylabel("hypervolume (median over seeds)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "config.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--strategies", nargs="+", default=["ga", "nsga2", "moead_sa", "random"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=None)
    ap.add_argument("--baseline", default="random", help="the strategy the others are compared with")
    args = ap.parse_args()
    unknown = sorted(set(args.strategies) - set(STRATEGIES))
    if unknown or args.baseline not in args.strategies:
        raise SystemExit(f"--strategies: unknown {unknown} (choose from {sorted(STRATEGIES)}); the baseline "
                         f"{args.baseline} must be among them")
    if len(args.seeds) < 3:
        print(f"warning: {len(args.seeds)} seed(s): a median over fewer than 3 says little", file=sys.stderr)
    cfg = load_overlays(args.config)
    results = REPO / "results" / cfg["experiment"]
    paths = {"train": results / "data" / "train.npz", "val": results / "data" / "val.npz",
             "lut": results / "latency" / "lut.csv", "supernet": results / "supernet" / "supernet.pt"}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: run the pipeline for experiment {cfg['experiment']} first")
    keep_freed_memory()
    device = resolve_device(args.device)
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))

    search = dict(cfg["search"])
    if search.get("evaluator", "inherit") != "inherit":
        print(f"note: the config's evaluator is {search['evaluator']}; this benchmark uses inherit", file=sys.stderr)
    search["evaluator"] = "inherit"
    space = CardiacSpace.from_config(cfg["space"])
    train, val = load_slices(paths["train"]), load_slices(paths["val"])
    arch = ArchSettings.from_config(cfg["arch"], train.labels.in_channels, train.labels.num_classes)
    image_size = int(train.image.shape[-1])
    table, dev_name = LatencyTable.read_csv(paths["lut"]), device_name(device)
    cost = CandidateCost(arch, image_size, table, dev_name)
    objectives = Objectives.from_config(search, {**cost.scales(space), "hd95_mean": hd95_scale(val)})
    evaluator = CachedEvaluator(make_evaluator("inherit", search, cfg["train"], cfg["supernet"],
                                               partial(build_subnet, arch=arch), train, val,
                                               str(paths["supernet"]), device, int(cfg["seed"])))

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for strategy in args.strategies:
                settings = StrategySettings.from_config({**search, "seed": seed})
                archive = ArchiveLog(Path(tmp) / f"{strategy}-{seed}.csv", archive_columns(space.gene_names, evaluator.metrics),
                                     f"benchmark-{strategy}-{seed}")
                pool = CandidatePool(space, evaluator, cost, objectives, archive, settings.budget)
                t0 = time.perf_counter()
                run_strategy(strategy, pool, settings)
                hv = pool.history[-1]["hypervolume"] if pool.history else 0.0
                best = max((r["dice_mean"] for r in pool.front()[0]), default=float("nan"))
                runs.append({"strategy": strategy, "seed": seed, "candidates": len(pool.seen), "hypervolume": hv,
                             "front_size": pool.history[-1]["front_size"] if pool.history else 0,
                             "best_feasible_dice": best, "seconds": time.perf_counter() - t0,
                             "history": [(h["candidates"], h["hypervolume"]) for h in pool.history]})
                print(f"seed {seed} {strategy:9s}: hypervolume {hv:.4f}, {len(pool.seen)} candidates, "
                      f"best feasible inherited Dice {best:.3f}", flush=True)

    base = args.baseline
    median = {s: statistics.median(r["hypervolume"] for r in runs if r["strategy"] == s) for s in args.strategies}
    ratio = {s: median[s] / median[base] if median[base] else float("nan") for s in args.strategies}
    wins = {s: sum(a["hypervolume"] > b["hypervolume"] for a in runs for b in runs
                   if a["strategy"] == s and b["strategy"] == base and a["seed"] == b["seed"])
            for s in args.strategies if s != base}
    curves = {s: median_curve([r["history"] for r in runs if r["strategy"] == s], settings.budget)
              for s in args.strategies}
    reach = {s: next((n for n, hv in curves[s] if hv >= median[base] - 1e-12), None) for s in args.strategies}
    print(f"\nmedian hypervolume over seeds {args.seeds} ({objectives.names}, budgets {dict(objectives.budgets)}, "
          f"{settings.budget} true evaluations per run):")
    for s in args.strategies:
        extra = f", beats {base} in {wins[s]}/{len(args.seeds)} seeds" if s in wins else ""
        got = (f"reaches {base}'s final median after {reach[s]} evaluations ({reach[s] / settings.budget:.2f} of the "
               "budget)" if reach[s] is not None else f"never reaches {base}'s final median")
        print(f"  {s:9s} {median[s]:.4f}  ({ratio[s]:.3f}x {base}){extra}; {got}")
    print(f"{len(evaluator.cache)} distinct genotypes evaluated in {evaluator.seconds:.0f} s")
    out = Path(args.out) if args.out else results / "benchmarks" / "hypervolume.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_curves(curves, out.with_suffix(".png"), f"{cfg['experiment']}: median over seeds {args.seeds}")
    out.write_text(json.dumps({
        "config": [str(p) for p in args.config], "experiment": cfg["experiment"], "device": device,
        "seeds": args.seeds, "strategies": args.strategies, "objectives": list(objectives.names),
        "budgets": dict(objectives.budgets), "candidates_per_run": settings.budget, "baseline": base,
        "supernet": str(paths["supernet"]), "median_hypervolume": median, f"ratio_to_{base}": ratio,
        f"wins_over_{base}": wins, "median_curves": curves, f"evaluations_to_reach_{base}_final_median": reach,
        "search_settings": {k: search.get(k) for k in ("population", "generations", "surrogate")}, "runs": runs,
    }, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
