"""The latency look-up table of a config on one device, outside Snakemake.

    .venv/bin/python benchmarks/latency_table.py [--config config/acdc.yaml] [--device auto]
        [--in-channels 1] [--num-classes 4] [--image-size N] [--out-dir DIR]

Runs what rule ``measure_latency`` runs (the block table, its end-to-end check on random genotypes,
the check's plot) with the config's ``space``, ``arch`` and ``latency`` settings, for networks of the
given channels and classes (the rule reads them from the prepared data; here they are arguments so
that a GPU machine needs no data set). Prints the table's size, its measuring time and how well it
predicts whole networks (Kendall tau, MAPE), and writes the rule's four files and a ``summary.json``
naming the device under ``--out-dir`` (default ``results/<experiment>/benchmarks/latency_<device>/``).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    from mednas.cost.stages import run_measure_latency
    from mednas.device import describe_device
    from _configs import open_benchmark

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "acdc.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--in-channels", type=int, default=1, help="image channels of the data set (ACDC: 1)")
    ap.add_argument("--num-classes", type=int, default=4, help="classes with background (ACDC: 4)")
    ap.add_argument("--image-size", type=int, default=None, help="default: the config's preprocess.image_size")
    ap.add_argument("--out-dir", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    cfg, device = open_benchmark(args.config, args.device)
    size = int(args.image_size or cfg["preprocess"]["image_size"])
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", device)
    out = Path(args.out_dir) if args.out_dir else REPO / "results" / cfg["experiment"] / "benchmarks" / f"latency_{tag}"
    out.mkdir(parents=True, exist_ok=True)
    summary = run_measure_latency(cfg["space"], cfg["arch"], cfg["latency"], size, args.in_channels,
                                  args.num_classes, device, str(out / "lut.csv"), str(out / "lut_check.csv"),
                                  str(out / "lut_check.json"), str(out / "lut_check.png"))
    summary |= {"device": describe_device(device), "image_size": size, "config": args.config}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
