"""MoSegNAS Table V and Fig. 9: accuracy predictors trained on inherited-weight Dice, tested on
networks trained stand-alone.

    .venv/bin/python benchmarks/predictors.py [--config config/config.yaml ...] [--pool 300]
        [--sizes 25 50 100 200] [--repeats 11] [--methods ranknet rbf kriging svr dt gb]
        [--ground-truth FILE] [--device auto] [--seed 0]

Needs the experiment's data and supernet (the pipeline builds them) and a ground truth from
``benchmarks/ground_truth.py`` (the test set: its genotypes and their stand-alone validation
Dice). The training pool is ``--pool`` random genotypes (none of the ground truth's) scored with
inherited weights; the scores are cached in ``results/<exp>/benchmarks/inherited_samples.json``
(keyed by the supernet's checksum) so a rerun costs only the predictors. For every N of
``--sizes`` and each of ``--repeats`` draws of N samples, every method is fitted on the same
draw and its predictions for the ground-truth genotypes are correlated with their trained Dice.
The supernet's own inherited Dice of the test genotypes is the reference row (what a predictor
trained on its scores can at best learn to reproduce).

Writes ``results/<exp>/benchmarks/table5_predictors.csv`` (measured rows, then the paper's from
``config/paper/mosegnas_table5.csv``), ``fig9_predictors.png`` and ``predictors.json`` (every run).
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from _configs import load_overlays
from mednas.allocator import keep_freed_memory
from mednas.data.slices import load_slices
from mednas.device import resolve_device
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.provenance import sha256_file
from mednas.report.predictors import compare_predictors, paper_rows, plot_fig9, summarise, write_table
from mednas.search.encoding import OneHotEncoding
from mednas.search.predictors import PREDICTORS, correlations
from mednas.search.stages import make_evaluator
from mednas.space.cardiac import CardiacSpace

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "config.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--pool", type=int, default=300, help="inherited-weight samples to draw training sets from")
    ap.add_argument("--sizes", nargs="+", type=int, default=[25, 50, 100, 200])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--methods", nargs="+", default=list(PREDICTORS))
    ap.add_argument("--ground-truth", default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    unknown = sorted(set(args.methods) - set(PREDICTORS))
    if unknown:
        raise SystemExit(f"--methods: unknown {unknown}; choose from {list(PREDICTORS)}")
    cfg = load_overlays(args.config)
    results = REPO / "results" / cfg["experiment"]
    bench = results / "benchmarks"
    gt_path = Path(args.ground_truth) if args.ground_truth else bench / "ground_truth.json"
    supernet = results / "supernet" / "supernet.pt"
    for p in (gt_path, supernet, results / "data" / "val.npz"):
        if not p.exists():
            raise SystemExit(f"missing {p}: run the pipeline and benchmarks/ground_truth.py for experiment "
                             f"{cfg['experiment']} first")
    keep_freed_memory()
    device = resolve_device(args.device)
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    space = CardiacSpace.from_config(cfg["space"])
    truth = json.loads(gt_path.read_text())
    test = [(space.from_dict(r["genotype"]), float(r["best_dice_mean"])) for r in truth["rows"]]
    test_keys = {g.key() for g, _ in test}

    cache_path = bench / "inherited_samples.json"
    digest = sha256_file(supernet)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    scores: dict[str, dict] = cache.get("rows", {}) if cache.get("supernet_sha256") == digest else {}
    wanted = [g for g in space.sample_distinct(args.pool + len(test_keys), args.seed + 101)
              if g.key() not in test_keys][:args.pool]
    todo = [g for g in wanted + [g for g, _ in test] if g.key() not in scores]
    if todo:
        train, val = load_slices(results / "data" / "train.npz"), load_slices(results / "data" / "val.npz")
        arch = ArchSettings.from_config(cfg["arch"], train.labels.in_channels, train.labels.num_classes)
        evaluator = make_evaluator("inherit", cfg["search"], cfg["train"], cfg["supernet"],
                                   partial(build_subnet, arch=arch), train, val,
                                   str(supernet), device, int(cfg["seed"]))
        t0 = time.perf_counter()
        for i, g in enumerate(todo, 1):
            scores[g.key()] = {"genotype": g.to_dict(), **evaluator(g)}
            if i % 10 == 0 or i == len(todo):
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"supernet_sha256": digest, "supernet": str(supernet), "rows": scores}))
                tmp.replace(cache_path)
                rate = (time.perf_counter() - t0) / i
                print(f"inherited-weight scores: {i}/{len(todo)} ({rate:.2f} s each, "
                      f"{rate * (len(todo) - i) / 60:.1f} min left)", flush=True)

    encoding = OneHotEncoding(space)
    X_pool = encoding.encode(wanted)
    y_pool = np.array([scores[g.key()]["dice_mean"] for g in wanted])
    X_test = encoding.encode([g for g, _ in test])
    y_test = np.array([d for _, d in test])
    X_synth = encoding.encode(space.sample_distinct(500, args.seed + 202))
    ranknet = (cfg["search"].get("surrogate") or {}).get("ranknet") or {}
    print(f"{len(wanted)} training-pool genotypes, {len(test)} ground-truth genotypes "
          f"({truth['budget']['rounds']} x {truth['budget']['steps_per_round']} steps); sizes {args.sizes}, "
          f"{args.repeats} repeats, methods {args.methods}", flush=True)
    t0 = time.perf_counter()
    runs = compare_predictors(X_pool, y_pool, X_test, y_test, args.sizes, args.repeats, args.methods, args.seed,
                              X_synth, ranknet)
    target = (f"validation Dice after {truth['budget']['rounds'] * truth['budget']['steps_per_round']} steps "
              f"stand-alone ({cfg['experiment']})")
    summary = summarise(runs, len(test), target)
    reference = correlations([scores[g.key()]["dice_mean"] for g, _ in test], y_test)
    summary.append({"method": "supernet (inherited Dice itself)", "source": "measured", "n_train": "", "runs": 1,
                    "n_test": len(test), "target": target,
                    **{k: round(v, 4) for k, v in reference.items()},
                    "note": "no predictor: the scores every predictor is trained on"})
    bench.mkdir(parents=True, exist_ok=True)
    write_table(bench / "table5_predictors.csv", summary, paper_rows(REPO / "config" / "paper" / "mosegnas_table5.csv"))
    plot_fig9(summary, bench / "fig9_predictors.png",
              f"{cfg['experiment']}: predictors on inherited Dice, tested on {len(test)} trained networks "
              f"({args.repeats} draws)")
    (bench / "predictors.json").write_text(json.dumps({
        "config": args.config, "ground_truth": str(gt_path), "supernet": str(supernet), "supernet_sha256": digest,
        "pool": len(wanted), "sizes": args.sizes, "repeats": args.repeats, "seed": args.seed, "device": device,
        "seconds": time.perf_counter() - t0, "summary": summary, "runs": runs}, indent=1) + "\n")
    print(f"\n{'method':34s} {'N':>5s} {'Pearson r':>14s} {'Spearman rho':>14s} {'Kendall tau':>14s} {'s':>6s}")
    for r in summary:
        print(f"{r['method']:34s} {str(r['n_train']):>5s} " + " ".join(
            f"{r[m]:7.3f} ({r.get(m + '_sd', float('nan')):.2f})" if r.get(m + "_sd") != "" else f"{r[m]:7.3f}"
            for m in ("pearson", "spearman", "kendall")) + f" {r.get('seconds', float('nan')) or float('nan'):6.2f}")
    print(f"wrote {bench / 'table5_predictors.csv'}, fig9_predictors.png, predictors.json")


if __name__ == "__main__":
    main()
