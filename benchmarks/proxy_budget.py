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
from pathlib import Path

from _proxy_runs import add_proxy_arguments, open_proxy_run


def margin_of_best(dice: dict[str, float], retrained: dict[str, float]) -> float | None:
    """Proxy Dice of the genotype that retrains best, minus the best proxy Dice of the others
    (None without at least one retrained value and one other genotype)."""
    if not retrained or len(dice) < 2:
        return None
    best = max(retrained, key=retrained.get)
    return dice[best] - max(v for k, v in dice.items() if k != best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_proxy_arguments(ap, "config.yaml", steps=300, image_size="80")
    args = ap.parse_args()
    run = open_proxy_run(args, "proxy_budget")
    cfg, device, results, retrained = run.cfg, run.device, run.results, run.retrained
    genotypes = [g for g, _ in run.entries]
    rows: list[dict] = []
    for seed in args.seeds:
        evaluate = run.evaluator(seed, 1, args.steps)
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
