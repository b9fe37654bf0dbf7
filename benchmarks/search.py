"""Candidate evaluators on the demo config: speed, and whether weight sharing ranks architectures.

    .venv/bin/python benchmarks/search.py [--config config/config.yaml] [--archs 20] [--device auto]
                                          [--proxy-epochs N]

Needs the demo's data, supernet and config (``make results`` builds them). Evaluates the
same ``--archs`` random genotypes (seeded) with each evaluator, interleaved genotype by
genotype so that machine noise hits all three alike, and prints:

- candidates per minute of each evaluator (60 / median seconds per candidate), and the
  median cost ratio proxy / inherit (goal: inherit at least 50x cheaper);
- Kendall tau between inherited-weight Dice and proxy-trained Dice over the genotypes, and
  tau between each zero-cost indicator and proxy-trained Dice;
- with a ground truth (``benchmarks/ground_truth.py``: the same genotypes trained stand-alone
  to near convergence, cached under results/), Kendall tau of inherited Dice, proxy Dice and
  every zero-cost indicator against the trained Dice: the evidence that the supernet ranks
  architectures as stand-alone training does (goal: inherited >= 0.7 over >= 20 networks).
  The genotypes are then the ground truth's.

Results also go to ``--out`` as JSON (per-genotype rows included; default
``results/<experiment>/benchmarks/search.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

from scipy.stats import kendalltau

from _configs import open_benchmark
from mednas.data.slices import load_slices
from mednas.errors import ConfigError
from mednas.evaluate.zerocost import INDICATORS
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.search.stages import make_evaluator
from mednas.space.cardiac import CardiacSpace

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "config.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--archs", type=int, default=20)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--proxy-epochs", type=int, default=None,
                    help="override search.proxy.epochs (the cost ratio grows with the proxy budget)")
    ap.add_argument("--out", default=None, help="JSON file (default results/<experiment>/benchmarks/search.json)")
    ap.add_argument("--ground-truth", default=None,
                    help="ground_truth.py's JSON (default results/<experiment>/benchmarks/ground_truth.json, if present)")
    ap.add_argument("--supernet", default=None, help="supernet.pt (default results/<experiment>/supernet/supernet.pt)")
    ap.add_argument("--data", default=None, help="folder with train.npz / val.npz (default results/<experiment>/data)")
    ap.add_argument("--evaluators", nargs="+", default=["inherit", "proxy", "zerocost"])
    args = ap.parse_args()
    cfg, device = open_benchmark(args.config, args.device)
    results = REPO / "results" / cfg["experiment"]
    space = CardiacSpace.from_config(cfg["space"])
    data_dir = Path(args.data) if args.data else results / "data"
    train, val = load_slices(data_dir / "train.npz"), load_slices(data_dir / "val.npz")
    arch = ArchSettings.from_config(cfg["arch"], train.labels.in_channels, train.labels.num_classes)
    supernet = Path(args.supernet) if args.supernet else results / "supernet" / "supernet.pt"
    if not supernet.exists():
        raise SystemExit(f"missing {supernet}: run `make results` first")
    search = dict(cfg["search"])
    if args.proxy_epochs is not None:
        search["proxy"] = {**(search.get("proxy") or {}), "epochs": args.proxy_epochs}
    evaluators = {kind: make_evaluator(kind, search, cfg["train"], cfg["supernet"],
                                       partial(build_subnet, arch=arch), train, val, str(supernet),
                                       device, int(cfg["seed"]))
                  for kind in args.evaluators}
    gt_path = Path(args.ground_truth) if args.ground_truth else results / "benchmarks" / "ground_truth.json"
    truth: dict[str, dict] = {}
    if gt_path.exists():
        gt = json.loads(gt_path.read_text())
        truth = {r["key"]: r for r in gt["rows"]}
        try:
            genotypes = {k: space.from_dict(r["genotype"]) for k, r in truth.items()}
        except ValueError as e:  # e.g. a ground truth drawn before the config narrowed the space
            raise ConfigError(f"--ground-truth {gt_path}: {e}; give the space it was drawn from as an overlay "
                              "(benchmarks/overlays/, e.g. acdc_cpu_paper_dropout.yaml)") from e
        print(f"ground truth: {len(truth)} genotypes from {gt_path} ({gt['budget']['rounds']} x "
              f"{gt['budget']['steps_per_round']} steps on {gt['device']})")
    else:
        genotypes = {g.key(): g for g in space.sample_distinct(args.archs, args.seed)}
    rows = []
    for i, g in enumerate(genotypes.values(), 1):
        row = {"key": g.key()}
        for kind, ev in evaluators.items():
            t0 = time.perf_counter()
            out = ev(g)
            row[f"{kind}_seconds"] = time.perf_counter() - t0
            row |= {f"{kind}_{k}": v for k, v in out.items() if k in ("dice_mean", "hd95_mean") or kind == "zerocost"}
        if g.key() in truth:
            row["trained_dice_mean"] = truth[g.key()]["best_dice_mean"]
        rows.append(row)
        print(f"[{i}/{len(genotypes)}] {g.key()}: " + ", ".join(
            f"{k} {row[f'{k}_dice_mean']:.3f}" for k in ("inherit", "proxy", "trained") if f"{k}_dice_mean" in row)
            + ", seconds " + ", ".join(f"{k} {row[f'{k}_seconds']:.2f}" for k in evaluators), flush=True)
    med = {k: statistics.median(r[f"{k}_seconds"] for r in rows) for k in evaluators}
    tau = lambda a, b: float(kendalltau(a, b).statistic)
    vs_truth = {}
    if truth:
        trained = [r["trained_dice_mean"] for r in rows]
        for kind in ("inherit", "proxy"):
            if kind in evaluators:
                vs_truth[f"{kind}_dice"] = tau([r[f"{kind}_dice_mean"] for r in rows], trained)
        if "zerocost" in evaluators:
            for name in INDICATORS:
                vs_truth[f"zerocost_{name}"] = tau([r[f"zerocost_{name}"] for r in rows], trained)

    summary = {
        "archs": len(rows), "device": device, "config": args.config, "supernet": str(supernet),
        "proxy_budget": search.get("proxy"), "supernet_budget": cfg["supernet"],
        "median_seconds": med,
        "candidates_per_minute": {k: 60 / v for k, v in med.items()},
        "kendall_tau_vs_trained_dice": vs_truth,
        "ground_truth": str(gt_path) if truth else None,
    }
    print("\ncandidates per minute: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["candidates_per_minute"].items()))
    if {"inherit", "proxy"} <= set(evaluators):
        proxy_dice = [r["proxy_dice_mean"] for r in rows]
        summary["proxy_over_inherit_median_ratio"] = statistics.median(
            r["proxy_seconds"] / r["inherit_seconds"] for r in rows)
        summary["kendall_tau_inherit_vs_proxy_dice"] = tau([r["inherit_dice_mean"] for r in rows], proxy_dice)
        summary["kendall_tau_inherit_vs_proxy_hd95"] = tau([r["inherit_hd95_mean"] for r in rows],
                                                           [r["proxy_hd95_mean"] for r in rows])
        print(f"proxy / inherit cost: median ratio {summary['proxy_over_inherit_median_ratio']:.1f}x (goal >= 50x)")
        print(f"Kendall tau, inherited vs proxy-trained Dice over {len(rows)} archs: "
              f"{summary['kendall_tau_inherit_vs_proxy_dice']:.3f} (HD95: {summary['kendall_tau_inherit_vs_proxy_hd95']:.3f})")
        if "zerocost" in evaluators:
            summary["kendall_tau_zerocost_vs_proxy_dice"] = {
                name: tau([r[f"zerocost_{name}"] for r in rows], proxy_dice) for name in INDICATORS}
    if vs_truth:
        print(f"Kendall tau against stand-alone trained Dice over {len(rows)} archs (goal: inherit >= 0.7): " +
              ", ".join(f"{k} {v:.3f}" for k, v in vs_truth.items()))
    out = Path(args.out) if args.out else results / "benchmarks" / "search.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
