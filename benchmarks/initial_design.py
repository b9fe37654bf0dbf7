"""What the first generation of a search holds under each ``search.initial_design``, without training.

    .venv/bin/python benchmarks/initial_design.py --config config/acdc_cpu.yaml [--strategy nsga2] \\
        [--seeds 0 1 2 3 4] [--match layers=4 kernel=3 filters>=12] [--match layers=4 activation=relu] [--out FILE]

The strategy's first generation is drawn as the pipeline draws it (real costs from the latency
look-up table of ``results/<experiment>/latency/lut.csv``, the config's budgets and
``feasible_init``), once per design (random, balanced) and search seed; candidates get a
constant stand-in score, since only what is drawn is measured here. Per design and seed it
reports the imbalance of the genes (sum over genes of the squared deviation of each value's
count from an even share, per member: 0 is perfectly even), how many members use more than 75 %
of each budget, and how many match each ``--match`` pattern (all its conditions at once; ``=``,
``>=``, ``<=`` on a gene). Medians over the seeds are printed and written with every row to
``results/<experiment>/benchmarks/initial_design.json``. About 20 s per seed and design on
2 CPU cores (costing the draws), and the latency table must exist (snakemake
results/<experiment>/latency/lut.csv).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPS = (">=", "<=", "=")


def parse_match(text: str) -> list[tuple[str, str, str]]:
    """``layers=4 kernel=3 filters>=12`` as (gene, op, value) conditions."""
    out = []
    for cond in text.split():
        for op in OPS:
            if op in cond:
                gene, value = cond.split(op, 1)
                out.append((gene, op, value))
                break
        else:
            raise SystemExit(f"initial_design: --match condition {cond!r} needs =, >= or <=")
    return out


def matches(genes: dict, conds: list[tuple[str, str, str]]) -> bool:
    for gene, op, value in conds:
        if gene not in genes:
            raise SystemExit(f"initial_design: --match names gene {gene!r}; the space's genes are {sorted(genes)}")
        have = genes[gene]
        if op == "=" and str(have) != value:
            return False
        if op == ">=" and not float(have) >= float(value):
            return False
        if op == "<=" and not float(have) <= float(value):
            return False
    return True


class Constant:
    """A stand-in evaluator: the same score for every candidate (the first generation does not read it)."""

    metrics = ("dice_mean", "hd95_mean")

    def __call__(self, g):
        return {"dice_mean": 0.5, "hd95_mean": 10.0}


def main() -> None:
    from _configs import load_overlays

    from mednas.cost.candidate import CandidateCost
    from mednas.cost.latency import device_name
    from mednas.data.slices import load_slices
    from mednas.search.archive import ArchiveLog
    from mednas.search.initial import imbalance
    from mednas.search.objectives import Objectives
    from mednas.search.pool import CandidatePool, archive_columns
    from mednas.search.stages import check_segmentation_search
    from mednas.search.strategies import StrategySettings, run_strategy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "acdc_cpu.yaml")])
    ap.add_argument("--strategy", default="nsga2", choices=["ga", "nsga2"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--match", action="append", default=[], help="gene conditions counted together")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cfg = load_overlays(args.config)
    results = REPO / "results" / cfg["experiment"]
    lut, train_path = results / "latency" / "lut.csv", results / "data" / "train.npz"
    for path in (lut, train_path):
        if not path.exists():
            raise SystemExit(f"initial_design: {path} is missing (snakemake {path.relative_to(REPO)} --configfile ...)")
    patterns = {m: parse_match(m) for m in args.match}
    space = check_segmentation_search(cfg["space"], cfg["search"])
    train = load_slices(str(train_path))
    size = int(train.image.shape[-1])
    cost = CandidateCost.from_files(cfg["arch"], train.labels.in_channels, train.labels.num_classes, size, str(lut),
                                    device_name("cpu"))
    budgets = dict(cfg["search"].get("budgets") or {})
    # the objectives' scales do not matter here: nothing is ranked before the first generation is drawn
    objectives = Objectives.from_config(cfg["search"], {**cost.scales(space), "hd95_mean": 1.0})
    variables = space.variables()

    rows = []
    for design in ("random", "balanced"):
        for seed in args.seeds:
            settings = StrategySettings.from_config({**cfg["search"], "generations": 1, "seed": seed,
                                                     "initial_design": design})
            with tempfile.TemporaryDirectory() as tmp:
                log = ArchiveLog(Path(tmp) / "archive.csv", archive_columns(space.gene_names, Constant.metrics,
                                                                             cost.columns), "initial_design")
                pool = CandidatePool(space, Constant(), cost, objectives, log, settings.budget,
                                     skip_over_budget=bool(cfg["search"].get("skip_over_budget", False)))
                run_strategy(args.strategy, pool, settings)
                genotypes = [pool.genotype(r) for r in pool.records()]
                costs = [pool.cost_of(g) for g in genotypes]
            genes = [g.to_dict() for g in genotypes]
            row = {"design": design, "seed": seed, "members": len(genes),
                   "imbalance": round(imbalance(genes, variables), 3),
                   "near_budget": {c: sum(x[c] > 0.75 * b for x in costs) for c, b in budgets.items()},
                   "matches": {m: sum(matches(g, conds) for g in genes) for m, conds in patterns.items()},
                   "genotypes": [g.key() for g in genotypes]}
            rows.append(row)
            print(f"{design:9s} seed {seed}: imbalance {row['imbalance']:6.2f}  near budget {row['near_budget']}  "
                  f"matches {row['matches']}", flush=True)

    summary = {}
    for design in ("random", "balanced"):
        mine = [r for r in rows if r["design"] == design]
        summary[design] = {
            "median_imbalance": statistics.median(r["imbalance"] for r in mine),
            "median_near_budget": {c: statistics.median(r["near_budget"][c] for r in mine) for c in budgets},
            "median_matches": {m: statistics.median(r["matches"][m] for r in mine) for m in patterns},
            "seeds_with_a_match": {m: sum(r["matches"][m] > 0 for r in mine) for m in patterns}}
        print(f"median {design:9s}: {json.dumps(summary[design])}")
    out = Path(args.out) if args.out else results / "benchmarks" / "initial_design.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": args.config, "strategy": args.strategy, "seeds": args.seeds,
                               "budgets": budgets, "summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
