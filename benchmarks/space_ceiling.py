"""Given genotypes retrained and tested as the pipeline's retrain and evaluate rules do, each paired against a model.

    .venv/bin/python benchmarks/space_ceiling.py --config config/acdc_cpu.yaml \\
        --genotypes benchmarks/genotypes/acdc_cpu_space_ceiling.json \\
        --reference results/acdc_cpu/models/unet/seed0 [--seed 0] [--device auto] [--data DIR] [--out FILE]

A diagnostic of the search space, not of the search: does a network the space holds reach the
reference model's test Dice at the same retraining budget (``retrain:``), with the same optimiser
(``train:``) and data? If it does, a search that misses the reference's level has a ranking
problem; if it does not, no search of this space at this budget could close the gap. It reads
the test set, so its answer must never feed a search, a pick or a config's genotype; name the
genotypes before looking at any test score (``--genotypes`` lists them with why each was chosen).

Each genotype is trained by ``mednas.train.stages.run_retrain`` and scored by
``mednas.evaluate.stages.run_evaluate`` into ``<work>/<key>/seed<seed>/`` (``--work``, default
``results/<experiment>/benchmarks/space_ceiling``: ``model.pt``, ``curve.csv``, ``per_case.csv``, ``summary.json``; a finished model is not trained
again, a killed one resumes from its checkpoint), then compared with ``--reference`` (a model
folder of a finished run: its ``per_case.csv`` and ``summary.json``) by Table III's paired tests
over the test patients' mean Dice (%) and HD95 (``mednas.report.tables.compare_patients``). Measured: about 25 min per genotype
for config/acdc_cpu.yaml's 2000 steps at 160 px on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    from _configs import load_overlays
    from ground_truth import load_genotype_entries

    from mednas.allocator import keep_freed_memory
    from mednas.device import resolve_device
    from mednas.evaluate.stages import run_evaluate
    from mednas.models.cardiac_net import ArchSettings
    from mednas.models.registry import cardiac_spec
    from mednas.report.stages import patient_scores
    from mednas.errors import DataError
    from mednas.report.tables import compare_patients
    from mednas.space.cardiac import CardiacSpace
    from mednas.train.stages import run_retrain

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "acdc_cpu.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--genotypes", required=True, help="JSON list of genotypes, as benchmarks/proxy_budget.py takes")
    ap.add_argument("--reference", required=True,
                    help="a finished run's model folder holding per_case.csv and summary.json")
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the config's seed)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", default=None, help="folder with train/val/test.npz and data.json "
                                                 "(default results/<experiment>/data)")
    ap.add_argument("--work", default=None, help="where each genotype's model and scores go "
                                                 "(default results/<experiment>/benchmarks/space_ceiling)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    keep_freed_memory()
    cfg = load_overlays(args.config)
    device = resolve_device(args.device)
    seed = int(cfg["seed"] if args.seed is None else args.seed)
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    results = REPO / "results" / cfg["experiment"]
    data = Path(args.data) if args.data else results / "data"
    ref = Path(args.reference)
    for path in (data / "train.npz", data / "val.npz", data / "test.npz", ref / "per_case.csv", ref / "summary.json"):
        if not path.exists():
            raise SystemExit(f"space_ceiling: {path} is missing")
    out = Path(args.out) if args.out else results / "benchmarks" / "space_ceiling.json"
    work = Path(args.work) if args.work else results / "benchmarks" / "space_ceiling"
    ref_summary = json.loads((ref / "summary.json").read_text())
    ref_name = f"reference:{ref_summary.get('model', ref.name)}"

    space = CardiacSpace.from_config(cfg["space"])
    arch = ArchSettings.from_config(cfg["arch"], 1, 2)  # run_retrain fits channels and classes to the data
    per_patient = {ref_name: patient_scores(ref / "per_case.csv")}
    rows = []
    for g, entry in load_genotype_entries(space, Path(args.genotypes)):
        folder = work / g.key() / f"seed{seed}"
        model_pt = folder / "model.pt"
        t0 = time.perf_counter()
        if not model_pt.exists():
            print(f"{g.key()}: retraining ({cfg['retrain']['epochs']} rounds x "
                  f"{cfg['retrain'].get('steps_per_epoch')} steps, seed {seed}, {device})", flush=True)
            run_retrain(g.key(), cardiac_spec(g, arch), str(data / "train.npz"), str(data / "val.npz"), cfg["train"],
                        cfg["retrain"], seed, device, str(folder / ".checkpoint" / "last.pt"), str(model_pt),
                        str(folder / "curve.csv"))
        summary = run_evaluate(g.key(), str(model_pt), str(data / "test.npz"), str(data / "data.json"), None,
                               cfg["latency"], int(cfg["evaluate"]["paper_image_size"]), device,
                               int(cfg["train"]["val_batch_size"]),
                               {"per_case": str(folder / "per_case.csv"), "summary": str(folder / "summary.json")})
        per_patient[g.key()] = patient_scores(folder / "per_case.csv")
        rows.append({"key": g.key(), "genotype": g.to_dict(), "note": entry.get("note", ""),
                     "params": summary["params"], "val_dice": summary["final_val"].get("dice_mean"),
                     "best_round": summary["best_epoch"], "test_dice": summary["dice_mean"],
                     "test_hd95": summary["hd95_mean"], "seconds": round(time.perf_counter() - t0, 1),
                     "folder": str(folder.relative_to(REPO)) if folder.is_relative_to(REPO) else str(folder)})
    for row in rows:
        for metric, scale in (("dice", 100.0), ("hd95", 1.0)):
            try:
                t = compare_patients(per_patient[row["key"]][metric], per_patient[ref_name][metric], scale,
                                     f"{row['key']} and {ref}")
            except DataError as err:
                raise SystemExit(f"space_ceiling: {err}") from err
            row[f"{metric}_vs_reference"] = {k: t[k] for k in ("n", "mean_difference", "t_p_value",
                                                                "wilcoxon_p_value", "note")}
        d = row["dice_vs_reference"]
        print(f"{row['key']}: {row['params'] / 1e6:.2f} M params, validation Dice {row['val_dice']:.4f}, "
              f"test Dice {100 * row['test_dice']:.2f} % ({d['mean_difference']:+.2f} points against "
              f"{ref_name}, paired t-test p = {d['t_p_value']:.2g})", flush=True)
    payload = {"summary": {"config": args.config, "genotypes": args.genotypes, "seed": seed, "device": device,
                           "reference": str(ref), "reference_test_dice": ref_summary["dice_mean"],
                           "reference_val_dice": ref_summary.get("final_val", {}).get("dice_mean"),
                           "retrain": {k: cfg["retrain"].get(k) for k in ("epochs", "steps_per_epoch")},
                           "train": cfg["train"]},
               "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
