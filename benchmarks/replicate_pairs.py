"""Paired tests of a model against a reference, each trained more than once: the gap against the training noise.

    .venv/bin/python benchmarks/replicate_pairs.py \\
        --model results/acdc_cpu/models/nas-nsga2/seed0 results/acdc_cpu/benchmarks/replicate/<key>/seed1 \\
        --reference results/acdc_cpu/models/unet/seed0 results/acdc_cpu/models/unet/seed1 [--out FILE]

Each argument is a model folder of a finished run (its ``per_case.csv``), one per training seed, in
the same seed order for both. Reports Table III's paired tests (``mednas.report.tables``) over the
test patients' mean Dice (%) and HD95 for: the model against the reference with per-patient scores
averaged over the seeds (what Table III does with ``seeds:`` replicates), each seed's pair alone,
and each model's seed 0 against its seed 1 (training noise alone: the same network, another
training seed). A gap that training another seed of the same network reproduces says little;
one much larger than that noise does. Writes the JSON to ``--out``
(default ``results/replicate_pairs.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KEEP = ("n", "mean_a", "mean_b", "mean_difference", "t_p_value", "wilcoxon_p_value", "note")


def main() -> None:
    from mednas.report.stages import patient_scores
    from mednas.report.tables import compare_patients, mean_over_seeds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", required=True, help="model folders, one per training seed")
    ap.add_argument("--reference", nargs="+", required=True, help="reference model folders, same seed order")
    ap.add_argument("--out", default=str(REPO / "results" / "replicate_pairs.json"))
    args = ap.parse_args()
    if len(args.model) != len(args.reference) or len(args.model) < 2:
        raise SystemExit("replicate_pairs: give --model and --reference the same number (>= 2) of model folders")
    for folder in [*args.model, *args.reference]:
        if not (Path(folder) / "per_case.csv").exists():
            raise SystemExit(f"replicate_pairs: {Path(folder) / 'per_case.csv'} is missing")
    model = [patient_scores(Path(f) / "per_case.csv") for f in args.model]
    ref = [patient_scores(Path(f) / "per_case.csv") for f in args.reference]

    def pair(a, b, names):
        return {metric: {k: v for k, v in compare_patients(a[metric], b[metric], scale, names).items() if k in KEEP}
                for metric, scale in (("dice", 100.0), ("hd95", 1.0))}

    out = {"model": args.model, "reference": args.reference,
           "mean_over_seeds": pair(mean_over_seeds(model), mean_over_seeds(ref), "model and reference"),
           "per_seed": [pair(m, r, f"{fm} and {fr}") for m, r, fm, fr in
                        zip(model, ref, args.model, args.reference)],
           "training_noise": {"model": pair(model[1], model[0], f"{args.model[1]} and {args.model[0]}"),
                              "reference": pair(ref[1], ref[0], f"{args.reference[1]} and {args.reference[0]}")}}
    for label, t in [("mean over seeds", out["mean_over_seeds"]),
                     *[(f"seed pair {i}", t) for i, t in enumerate(out["per_seed"])],
                     ("model, seed 1 - seed 0", out["training_noise"]["model"]),
                     ("reference, seed 1 - seed 0", out["training_noise"]["reference"])]:
        d = t["dice"]
        print(f"{label:28s}: Dice {d['mean_difference']:+.2f} points (t-test p = {d['t_p_value']:.2g}, "
              f"Wilcoxon p = {d['wilcoxon_p_value']:.2g}), HD95 {t['hd95']['mean_difference']:+.2f} "
              f"(p = {t['hd95']['t_p_value']:.2g})")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
