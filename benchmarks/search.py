"""Candidate evaluators on the demo config: speed, and whether weight sharing ranks architectures.

    .venv/bin/python benchmarks/search.py [--config config/config.yaml] [--archs 20] [--device auto]
                                          [--proxy-epochs N]

Needs the demo's data, supernet and config (``make results`` builds them). Evaluates the
same ``--archs`` random genotypes (seeded) with each evaluator, interleaved genotype by
genotype so that machine noise hits all three alike, and prints:

- candidates per minute of each evaluator (60 / median seconds per candidate), and the
  median cost ratio proxy / inherit (goal: inherit at least 50x cheaper);
- Kendall tau between inherited-weight Dice and proxy-trained Dice over the genotypes (the
  evidence that the supernet ranks architectures), and, for comparison, tau between each
  zero-cost indicator and proxy-trained Dice.

Results also go to ``--out`` as JSON (per-genotype rows included; default
``results/<experiment>/benchmarks/search.json``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import torch
import yaml
from scipy.stats import kendalltau

from mednas.allocator import keep_freed_memory
from mednas.data.slices import load_slices
from mednas.device import resolve_device
from mednas.evaluate.zerocost import INDICATORS
from mednas.models.cardiac_net import ArchSettings
from mednas.search.stages import make_evaluator
from mednas.space.cardiac import CardiacSpace

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--archs", type=int, default=20)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--proxy-epochs", type=int, default=None,
                    help="override search.proxy.epochs (the cost ratio grows with the proxy budget)")
    ap.add_argument("--out", default=None, help="JSON file (default results/<experiment>/benchmarks/search.json)")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    results = REPO / "results" / cfg["experiment"]
    device = resolve_device(args.device)
    keep_freed_memory()
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    space, arch = CardiacSpace.from_config(cfg["space"]), ArchSettings.from_config(cfg["arch"])
    train, val = load_slices(results / "data" / "train.npz"), load_slices(results / "data" / "val.npz")
    supernet = results / "supernet" / "supernet.pt"
    if not supernet.exists():
        raise SystemExit(f"missing {supernet}: run `make results` first")
    search = dict(cfg["search"])
    if args.proxy_epochs is not None:
        search["proxy"] = {**(search.get("proxy") or {}), "epochs": args.proxy_epochs}
    evaluators = {kind: make_evaluator(kind, search, cfg["train"], cfg["supernet"], arch, train, val, str(supernet),
                                       device, int(cfg["seed"]))
                  for kind in ("inherit", "proxy", "zerocost")}
    rng = random.Random(args.seed)
    genotypes: dict[str, object] = {}
    while len(genotypes) < args.archs:
        g = space.sample(rng)
        genotypes[g.key()] = g
    rows = []
    for i, g in enumerate(genotypes.values(), 1):
        row = {"key": g.key()}
        for kind, ev in evaluators.items():
            t0 = time.perf_counter()
            out = ev(g)
            row[f"{kind}_seconds"] = time.perf_counter() - t0
            row |= {f"{kind}_{k}": v for k, v in out.items() if k in ("dice_mean", "hd95_mean") or kind == "zerocost"}
        rows.append(row)
        print(f"[{i}/{len(genotypes)}] {g.key()}: inherit dice {row['inherit_dice_mean']:.3f} "
              f"({row['inherit_seconds']:.2f} s), proxy dice {row['proxy_dice_mean']:.3f} "
              f"({row['proxy_seconds']:.2f} s), zerocost {row['zerocost_seconds']:.2f} s", flush=True)
    med = {k: statistics.median(r[f"{k}_seconds"] for r in rows) for k in evaluators}
    ratios = [r["proxy_seconds"] / r["inherit_seconds"] for r in rows]
    proxy_dice = [r["proxy_dice_mean"] for r in rows]
    summary = {
        "archs": len(rows), "device": device, "config": args.config,
        "proxy_budget": search.get("proxy"), "supernet_budget": cfg["supernet"],
        "median_seconds": med,
        "candidates_per_minute": {k: 60 / v for k, v in med.items()},
        "proxy_over_inherit_median_ratio": statistics.median(ratios),
        "kendall_tau_inherit_vs_proxy_dice": float(kendalltau([r["inherit_dice_mean"] for r in rows],
                                                              proxy_dice).statistic),
        "kendall_tau_inherit_vs_proxy_hd95": float(kendalltau([r["inherit_hd95_mean"] for r in rows],
                                                              [r["proxy_hd95_mean"] for r in rows]).statistic),
        "kendall_tau_zerocost_vs_proxy_dice": {
            name: float(kendalltau([r[f"zerocost_{name}"] for r in rows], proxy_dice).statistic)
            for name in INDICATORS},
    }
    print("\ncandidates per minute: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["candidates_per_minute"].items()))
    print(f"proxy / inherit cost: median ratio {summary['proxy_over_inherit_median_ratio']:.1f}x (goal >= 50x)")
    print(f"Kendall tau, inherited vs proxy-trained Dice over {len(rows)} archs: "
          f"{summary['kendall_tau_inherit_vs_proxy_dice']:.3f} (HD95: {summary['kendall_tau_inherit_vs_proxy_hd95']:.3f})")
    print("Kendall tau, zero-cost indicator vs proxy-trained Dice: " +
          ", ".join(f"{k} {v:.3f}" for k, v in summary["kendall_tau_zerocost_vs_proxy_dice"].items()))
    out = Path(args.out) if args.out else results / "benchmarks" / "search.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
