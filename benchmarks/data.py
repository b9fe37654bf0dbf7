"""Data-stage speed: phantom generation and preparation, medians of repeated runs.

    .venv/bin/python benchmarks/data.py [--repeats 3] [--patients 20]

Goals (issue 2): 20 phantom patients in under 10 s; the default data stage well inside
the 3 minutes that `make results` may take on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from mednas.data.phantom import write_phantom
from mednas.data.prepare import prepare_dataset

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--patients", type=int, default=20)
    args = ap.parse_args()
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    gen, prep = [], []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            t0 = time.perf_counter()
            write_phantom(tmp / "raw", args.patients, seed=r)
            gen.append(time.perf_counter() - t0)
            outputs = {k: tmp / "out" / f"{k}.npz" for k in ("train", "val", "test")} | {"summary": tmp / "out" / "d.json"}
            t0 = time.perf_counter()
            summary = prepare_dataset(tmp / "raw", cfg["dataset"], cfg["split"], cfg["preprocess"], outputs)
            prep.append(time.perf_counter() - t0)
    slices = sum(s["slices"] for s in summary["splits"].values())
    g, p = statistics.median(gen), statistics.median(prep)
    print(f"phantom: {args.patients} patients, median {g:.2f} s over {args.repeats} runs "
          f"(goal < 10 s: ratio to goal {g / 10:.2f})")
    print(f"prepare: {slices} slices at {cfg['preprocess']['image_size']} px, median {p:.2f} s "
          f"({slices / p:.0f} slices/s)")
    print(f"data stage total: {g + p:.2f} s (goal for make results < 180 s: ratio {(g + p) / 180:.3f})")


if __name__ == "__main__":
    main()
