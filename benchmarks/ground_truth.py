"""Ground truth for ranking benchmarks: random genotypes trained stand-alone to near convergence.

    .venv/bin/python benchmarks/ground_truth.py [--config config/acdc_cpu.yaml] [--archs 20 | --genotypes FILE]
        [--seed 1] [--rounds 10] [--steps-per-round 200] [--image-size N] [--device auto] [--workers 1]
        [--out results/<experiment>/benchmarks/ground_truth.json]

Samples ``--archs`` distinct genotypes of the config's space with ``random.Random(--seed)``
(the same draw as ``benchmarks/search.py``), or takes the ones listed in ``--genotypes FILE`` (a
JSON list of gene dicts), trains each from fresh weights with the
config's ``train`` settings for ``--rounds`` x ``--steps-per-round`` steps, validating on
whole volumes after every round, and records the best and last validation Dice / HD95 and
the whole curve. ``--image-size`` trains and validates on resized copies of the slices (a
reduced-resolution ground truth, where full size does not fit the machine: say so beside the
result). Expensive, so the result is cached: ``benchmarks/search.py`` reads it. Each genotype
is written to the JSON as soon as it finishes; a rerun skips the genotypes already there
with the same budget. Measured: hours on 2 CPU cores for the defaults. On one GPU the small
networks are bound by kernel launches (5,000-9,000 operator calls a training step), and worker
processes share the GPU by time slicing: with 12 workers on one H200 (2026-12-04, beside two
supernet trainings) none of 24 networks finished 2000 steps in 7 minutes; an H100 with 4-6
workers finished 6 of 20 in its session. Keep ``--workers`` at 2-4 on one GPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]


def train_one(args: tuple) -> dict:
    """Train one genotype; runs in a worker process."""
    from mednas.data.slices import load_slices
    from mednas.models.cardiac_net import ArchSettings
    from mednas.models.registry import cardiac_spec
    from mednas.space.cardiac import CardiacSpace
    from mednas.train.loop import TrainSettings
    from mednas.train.retrain import retrain

    cfg, genotype_dict, data_dir, rounds, steps, device, threads, image_size = args
    torch.set_num_threads(threads)
    space = CardiacSpace.from_config(cfg["space"])
    g = space.from_dict(genotype_dict)
    train, val = load_slices(Path(data_dir) / "train.npz"), load_slices(Path(data_dir) / "val.npz")
    if image_size is not None:
        train, val = train.resized(image_size), val.resized(image_size)
    arch = ArchSettings.from_config(cfg["arch"], train.labels.in_channels, train.labels.num_classes)
    settings = TrainSettings.from_config(cfg["train"], epochs=rounds, steps_per_epoch=steps)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        _, result = retrain(cardiac_spec(g, arch), train, val, settings, device, int(cfg["seed"]),
                            Path(tmp) / "c.pt", "ground-truth")
    rows = result.rows
    best = rows[result.best_epoch - 1]
    return {"key": g.key(), "genotype": g.to_dict(), "best_dice_mean": best["val_dice_mean"],
            "best_hd95_mean": best["val_hd95_mean"], "best_round": result.best_epoch,
            "last_dice_mean": rows[-1]["val_dice_mean"], "last_hd95_mean": rows[-1]["val_hd95_mean"],
            "curve": [r["val_dice_mean"] for r in rows], "seconds": time.perf_counter() - t0}


def load_genotype_entries(space, path: Path) -> list[tuple[Any, dict]]:
    """The genotypes listed in ``path``, checked against ``space``, each with its entry: a JSON list
    of gene dicts (entry ``{}``), or of entries ``{"genotype": {gene dict}, ...}`` whose other keys
    are notes for other benchmarks."""
    from mednas.errors import ConfigError

    try:
        items = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"--genotypes {path}: {e}") from e
    if not isinstance(items, list) or not items:
        raise ConfigError(f"--genotypes {path}: expected a non-empty JSON list of genotype dicts")
    try:
        return [(space.from_dict(item["genotype"]), item) if isinstance(item, dict) and "genotype" in item
                else (space.from_dict(item), {}) for item in items]
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigError(f"--genotypes {path}: {e}") from e


def load_genotypes(space, path: Path) -> list:
    """The genotypes listed in ``path`` (see :func:`load_genotype_entries`)."""
    return [g for g, _ in load_genotype_entries(space, path)]


def main() -> None:
    from mednas.allocator import keep_freed_memory
    from _configs import load_overlays
    from mednas.device import resolve_device
    from mednas.space.cardiac import CardiacSpace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "acdc_cpu.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--archs", type=int, default=20)
    ap.add_argument("--genotypes", default=None,
                    help="JSON file with a list of genotypes (dicts of the space's genes) to train instead of "
                         "a random draw of --archs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--steps-per-round", type=int, default=200)
    ap.add_argument("--image-size", type=int, default=None,
                    help="train and validate on N x N copies of the slices (default: their prepared size)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch threads per worker (default train.threads)")
    ap.add_argument("--data", default=None, help="folder with train.npz / val.npz (default results/<exp>/data)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    keep_freed_memory()
    cfg = load_overlays(args.config)
    device = resolve_device(args.device)
    results = REPO / "results" / cfg["experiment"]
    data_dir = Path(args.data) if args.data else results / "data"
    out = Path(args.out) if args.out else results / "benchmarks" / "ground_truth.json"
    budget = {"rounds": args.rounds, "steps_per_round": args.steps_per_round, "image_size": args.image_size,
              "train": cfg["train"],
              "data": str(data_dir), "seed": int(cfg["seed"])}
    done = {}
    if out.exists():
        old = json.loads(out.read_text())
        if old.get("budget", {}).get("rounds") == args.rounds and \
                old["budget"].get("steps_per_round") == args.steps_per_round and old["budget"].get("train") == cfg["train"] \
                and old["budget"].get("image_size") == args.image_size:
            done = {r["key"]: r for r in old["rows"]}
    space = CardiacSpace.from_config(cfg["space"])
    genotypes = load_genotypes(space, Path(args.genotypes)) if args.genotypes else space.sample_distinct(args.archs, args.seed)
    todo = [g for g in genotypes if g.key() not in done]
    print(f"{len(genotypes)} genotypes, {len(done)} cached, training {len(todo)} on {device} "
          f"({args.rounds} x {args.steps_per_round} steps at {args.image_size or 'prepared'} px, {args.workers} workers)", flush=True)
    threads = args.threads or int(cfg["train"].get("threads", 2))
    jobs = [(cfg, g.to_dict(), str(data_dir), args.rounds, args.steps_per_round, device, threads, args.image_size)
            for g in todo]

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = [done[g.key()] for g in genotypes if g.key() in done]
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({"budget": budget, "device": device, "config": args.config, "seed": args.seed,
                                   "rows": rows}, indent=1) + "\n")
        tmp.replace(out)

    ctx = "spawn" if device.startswith("cuda") else None
    import multiprocessing as mp
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=mp.get_context(ctx)) as pool:
        # Saved in the order they finish, so that a run stopped part-way keeps every finished network.
        futures = [pool.submit(train_one, job) for job in jobs]
        for i, future in enumerate(as_completed(futures), 1):
            row = future.result()
            done[row["key"]] = row
            save()
            print(f"[{i}/{len(jobs)}] {row['key']}: best val Dice {row['best_dice_mean']:.4f} (round "
                  f"{row['best_round']}), last {row['last_dice_mean']:.4f}, {row['seconds']:.0f} s", flush=True)
    save()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
