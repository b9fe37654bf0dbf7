"""Does a proxy budget tell given networks apart? Proxy Dice of a few genotypes over several training seeds.

    .venv/bin/python benchmarks/proxy_budget.py --config config/acdc_cpu.yaml --genotypes FILE
        [--steps 300] [--image-size 80 | --image-size full] [--seeds 0 1] [--device auto] [--out JSON]

``--genotypes FILE`` is a JSON list of ``{"genotype": {gene: value}, "retrained_dice": float | null,
"note": str}`` entries (or of bare gene dicts, as ``ground_truth.py --genotypes`` takes); ``retrained_dice`` is the validation Dice the network reached at the retraining
budget, where known (``benchmarks/ground_truth.py`` measures it). Each genotype is trained from
fresh weights for ``--steps`` steps (the config's ``train`` settings, the search's proxy
evaluator) on ``--image-size`` copies of the slices, once per ``--seeds`` entry (the evaluator's
run seed: each seed gives every genotype other initial weights and batches), and scored on
validation volumes.

Prints each genotype's Dice per seed and the margin of the best-retrained genotype over the
best of the others in each seed (positive: that proxy budget ranks it first). The search's
``search.proxy`` budget is chosen from these figures (config/acdc_cpu.yaml says which run).
Results go to ``--out`` (default ``results/<experiment>/benchmarks/proxy_budget_<steps>.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

from _configs import open_benchmark
from ground_truth import load_genotype_entries
from mednas.data.slices import load_slices
from mednas.models.registry import build_model, searched_spec
from mednas.search.stages import proxy_evaluator
from mednas.space.base import make_space

REPO = Path(__file__).resolve().parents[1]


def margin_of_best(dice: dict[str, float], retrained: dict[str, float]) -> float | None:
    """Proxy Dice of the genotype that retrains best, minus the best proxy Dice of the others
    (None without at least one retrained value and one other genotype)."""
    if not retrained or len(dice) < 2:
        return None
    best = max(retrained, key=retrained.get)
    return dice[best] - max(v for k, v in dice.items() if k != best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "config.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--genotypes", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--image-size", default="80", help="pixels, or 'full' for the prepared slices' size")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", default=None, help="folder with train.npz / val.npz (default results/<experiment>/data)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cfg, device = open_benchmark(args.config, args.device)
    results = REPO / "results" / cfg["experiment"]
    space = make_space(cfg["space"])
    entries = load_genotype_entries(space, Path(args.genotypes))
    genotypes = [g for g, _ in entries]
    retrained = {g.key(): float(e["retrained_dice"]) for g, e in entries if e.get("retrained_dice") is not None}
    data_dir = Path(args.data) if args.data else results / "data"
    train, val = load_slices(data_dir / "train.npz"), load_slices(data_dir / "val.npz")
    image_size = None if args.image_size == "full" else int(args.image_size)
    spec_of = partial(searched_spec, space, in_channels=train.labels.in_channels,
                      num_classes=train.labels.num_classes, image_size=int(train.image.shape[-1]),
                      arch_cfg=cfg.get("arch"))
    rows: list[dict] = []
    for seed in args.seeds:
        evaluate = proxy_evaluator(cfg["train"], 1, args.steps, image_size, lambda g: build_model(spec_of(g)),
                                   train, val, device, seed, "proxy")
        for g in genotypes:
            t0 = time.perf_counter()
            out = evaluate(g)
            rows.append({"key": g.key(), "seed": seed, "dice_mean": out["dice_mean"], "hd95_mean": out["hd95_mean"],
                         "seconds": time.perf_counter() - t0, "retrained_dice": retrained.get(g.key())})
            print(f"seed {seed} {g.key()}: proxy Dice {out['dice_mean']:.3f} ({rows[-1]['seconds']:.0f} s)", flush=True)
    margins = {seed: margin_of_best({r["key"]: r["dice_mean"] for r in rows if r["seed"] == seed}, retrained)
               for seed in args.seeds}
    per_genotype = {g.key(): [r["dice_mean"] for r in rows if r["key"] == g.key()] for g in genotypes}
    print(f"\nproxy {args.steps} steps at {args.image_size} px, seeds {args.seeds}:")
    for key, dice in per_genotype.items():
        known = f", retrained {retrained[key]:.4f}" if key in retrained else ""
        print(f"  {key}: " + " / ".join(f"{d:.3f}" for d in dice) + f" (median {statistics.median(dice):.3f}{known})")
    if retrained:
        print("margin of the best-retrained genotype over the best other, per seed: " +
              ", ".join(f"{s}: {m:+.3f}" for s, m in margins.items() if m is not None))
    summary = {"config": args.config, "genotypes": args.genotypes, "device": device, "steps": args.steps,
               "image_size": args.image_size, "seeds": args.seeds, "train": cfg["train"],
               "median_dice": {k: statistics.median(v) for k, v in per_genotype.items()},
               "margin_of_best_retrained": margins,
               "median_seconds": statistics.median(r["seconds"] for r in rows)}
    out = Path(args.out) if args.out else results / "benchmarks" / f"proxy_budget_{args.steps}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
