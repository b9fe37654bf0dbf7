"""Which signal of a short proxy training ranks networks as full training does: validation Dice or training loss?

    .venv/bin/python benchmarks/proxy_signals.py --config config/acdc_cpu.yaml [OVERLAY ...] \\
        --genotypes benchmarks/genotypes/acdc_cpu_proxy_signals.json [--steps 150] [--rounds 15] \\
        [--image-size 96 | --image-size full] [--seeds 0 1] [--device auto] [--data DIR] [--out JSON]

The search's proxy evaluator scores a candidate by its validation Dice after a short training, and
that score is noisy: at 150-300 steps it ranks networks level that are 1-2 points apart after the
retraining's 2000 steps. Training-loss based estimators (SoTL / SoTL-E, Ru et al., "Speedy
Performance Estimation for Neural Architecture Search", NeurIPS 2021) use the sum of training losses
instead, which is averaged over every batch rather than read once on a few validation volumes.

Each genotype of ``--genotypes`` (entries with ``retrained_dice``: the validation Dice it reached at
the retraining budget, measured by ``benchmarks/space_ceiling.py`` or ``ground_truth.py``) is trained
as the proxy evaluator trains it (``train:`` settings, ``--steps`` steps at ``--image-size``), split
into ``--rounds`` logging rounds of one schedule (the learning-rate schedule spans all steps, as in
one round), once per ``--seeds`` entry. Signals per run: validation Dice, the mean training loss over
all steps (SoTL), over the last third of the rounds (SoTL-E) and of the last round. Prints Kendall
tau and Spearman rho of each signal (losses negated: lower is better) against ``retrained_dice``, per
seed and on the median over seeds. It reads training and validation data only.
Results go to ``--out`` (default ``results/<experiment>/benchmarks/proxy_signals_<steps>.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _proxy_runs import add_proxy_arguments, open_proxy_run

SIGNALS = ("val_dice", "sotl", "sotl_e", "last_loss")


def loss_signals(losses: list[float]) -> dict[str, float]:
    """SoTL (mean training loss over all rounds), SoTL-E (over the last third of them) and the last
    round's loss, each negated so that a higher value ranks a network higher, as Dice does."""
    if not losses:
        raise ValueError("loss_signals: no training rounds")
    tail = losses[-max(1, len(losses) // 3):]
    return {"sotl": -statistics.fmean(losses), "sotl_e": -statistics.fmean(tail), "last_loss": -losses[-1]}


def rank_agreement(signal: dict[str, float], truth: dict[str, float]) -> dict[str, float | None]:
    """Kendall tau and Spearman rho of ``signal`` against ``truth`` over their common keys
    (None with fewer than three)."""
    from scipy.stats import kendalltau, spearmanr

    keys = sorted(set(signal) & set(truth))
    if len(keys) < 3:
        return {"kendall_tau": None, "spearman_rho": None, "n": len(keys)}
    a, b = [signal[k] for k in keys], [truth[k] for k in keys]
    return {"kendall_tau": float(kendalltau(a, b).statistic), "spearman_rho": float(spearmanr(a, b).statistic),
            "n": len(keys)}


def main() -> None:
    from mednas.errors import ConfigError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_proxy_arguments(ap, "acdc_cpu.yaml", steps=150, image_size="96")
    ap.add_argument("--rounds", type=int, default=15, help="logging rounds the steps are split into")
    args = ap.parse_args()
    if args.rounds < 1 or args.steps % args.rounds:
        raise SystemExit(f"proxy_signals: --steps {args.steps} must be a positive multiple of --rounds {args.rounds}")
    run = open_proxy_run(args, "proxy_signals")
    truth = run.retrained
    if len(truth) < 3:
        raise ConfigError(f"--genotypes {args.genotypes}: at least three entries need a retrained_dice")
    rows: list[dict] = []
    for seed in args.seeds:
        evaluator = run.evaluator(seed, args.rounds, args.steps // args.rounds)
        for g, _ in run.entries:
            if g.key() not in truth:
                continue
            t0 = time.perf_counter()
            scores, history = evaluator.run(g)
            losses = [float(r["train_loss"]) for r in history]
            rows.append({"key": g.key(), "seed": seed, "val_dice": scores["dice_mean"], **loss_signals(losses),
                         "losses": losses, "retrained_dice": truth[g.key()],
                         "seconds": round(time.perf_counter() - t0, 1)})
            r = rows[-1]
            print(f"seed {seed} {g.key()}: val Dice {r['val_dice']:.3f}, SoTL {-r['sotl']:.4f}, "
                  f"SoTL-E {-r['sotl_e']:.4f}, last loss {-r['last_loss']:.4f} (retrained {truth[g.key()]:.4f}, "
                  f"{r['seconds']:.0f} s)", flush=True)
    agreement: dict[str, dict] = {}
    for signal in SIGNALS:
        per_seed = {str(seed): rank_agreement({r["key"]: r[signal] for r in rows if r["seed"] == seed}, truth)
                    for seed in args.seeds}
        median = {k: statistics.median(r[signal] for r in rows if r["key"] == k) for k in truth}
        agreement[signal] = {"per_seed": per_seed, "median_over_seeds": rank_agreement(median, truth)}
    print(f"\n{len(truth)} networks, proxy {args.steps} steps at {args.image_size} px, seeds {args.seeds}: "
          "Kendall tau against the retrained validation Dice (per seed; on the median over seeds)")
    for signal, a in agreement.items():
        taus = ", ".join(f"{t['kendall_tau']:+.2f}" for t in a["per_seed"].values())
        print(f"  {signal:10s} {taus}; median {a['median_over_seeds']['kendall_tau']:+.2f} "
              f"(Spearman {a['median_over_seeds']['spearman_rho']:+.2f})")
    summary = {"config": args.config, "genotypes": args.genotypes, "device": run.device, "steps": args.steps,
               "rounds": args.rounds, "image_size": args.image_size, "seeds": args.seeds, "train": run.cfg["train"],
               "agreement": agreement, "median_seconds": statistics.median(r["seconds"] for r in rows)}
    out = Path(args.out) if args.out else run.results / "benchmarks" / f"proxy_signals_{args.steps}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    tmp.replace(out)
    print(f"written {out}")


if __name__ == "__main__":
    main()
