"""Supernet training cost versus the standalone largest network, at the demo input size.

    .venv/bin/python benchmarks/supernet.py [--config config/config.yaml] [--steps 5] [--device auto]

Prints images/s of one training step (forward, backward, SGD) of the supernet running its
largest genotype and of the standalone largest network (same arithmetic: the difference is
the cost of weight slicing), their ratio (goal: supernet at most 1.3x slower), the images/s
of a full sandwich-rule step, and the peak memory of each. Timings alternate the two
networks step by step and report medians, so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from mednas.allocator import keep_freed_memory
from mednas.data.sources import dataset_labels
from mednas.device import resolve_device
from mednas.models.cardiac_net import ArchSettings, build_subnet, build_supernet
from mednas.space.cardiac import CardiacSpace
from mednas.train.losses import make_loss, segmentation_loss
from mednas.train.supernet import sandwich

REPO = Path(__file__).resolve().parents[1]


def _setup(cfg: dict, device: str):
    space = CardiacSpace.from_config(cfg["space"])
    labels = dataset_labels(cfg["dataset"]["kind"], cfg["dataset"].get("path") or "")
    arch = ArchSettings.from_config(cfg["arch"], labels.in_channels, labels.num_classes)
    size, batch = cfg["preprocess"]["image_size"], cfg["train"]["batch_size"]
    torch.manual_seed(0)
    x = torch.randn(batch, labels.in_channels, size, size, device=device)
    y = torch.randint(0, labels.num_classes, (batch, size, size), device=device)
    return space, arch, x, y


def _stepper(model, forward, device):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    loss_fn = make_loss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        for f in forward():
            segmentation_loss(loss_fn, f(x), y).backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return step


def _timed(step, x, y) -> float:
    t0 = time.perf_counter()
    step(x, y)
    return time.perf_counter() - t0


def one_case(case: str, cfg: dict, device: str, steps: int) -> dict:
    """Run one configuration alone (used in a subprocess) and report its peak memory."""
    space, arch, x, y = _setup(cfg, device)
    big = space.largest()
    if case == "supernet":
        m = build_supernet(space, arch).to(device)
        step = _stepper(m, lambda: [lambda t: m(t, big)], device)
    elif case == "standalone":
        m = build_subnet(big, arch).to(device)
        step = _stepper(m, lambda: [m], device)
    else:
        m = build_supernet(space, arch).to(device)
        rng = random.Random(0)
        step = _stepper(m, lambda: [lambda t, g=g: m(t, g) for g in sandwich(space, rng, cfg["supernet"]["sandwich_random"])], device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = [_timed(step, x, y) for _ in range(steps)]
    out = {"median_s": statistics.median(times[1:] or times),
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    keep_freed_memory()  # as the training stage does
    cfg = yaml.safe_load(Path(args.config).read_text())
    device = resolve_device(args.device)
    if args.case:
        print(json.dumps(one_case(args.case, cfg, device, args.steps)))
        return

    space, arch, x, y = _setup(cfg, device)
    big = space.largest()
    sup = build_supernet(space, arch).to(device)
    std = build_subnet(big, arch).to(device)
    sup_step = _stepper(sup, lambda: [lambda t: sup(t, big)], device)
    std_step = _stepper(std, lambda: [std], device)
    for step in (sup_step, std_step):  # warm-up
        step(x, y)
    t_sup, t_std = [], []
    for _ in range(args.steps):
        t_sup.append(_timed(sup_step, x, y))
        t_std.append(_timed(std_step, x, y))
    ratios = [a / b for a, b in zip(t_sup, t_std)]
    batch, size = x.shape[0], x.shape[-1]
    ms, md = statistics.median(t_sup), statistics.median(t_std)
    print(f"device {device}, torch threads {torch.get_num_threads()}, input {batch} x 1 x {size} x {size}, "
          f"largest genotype {big.key()}")
    print(f"supernet step (largest active):  {batch / ms:8.2f} images/s  (median {ms:.3f} s over {args.steps})")
    print(f"standalone largest network step: {batch / md:8.2f} images/s  (median {md:.3f} s)")
    print(f"ratio supernet / standalone time: {statistics.median(ratios):.3f}  (median of paired steps; goal <= 1.3)")
    mem = {}
    for case in ("supernet", "standalone", "sandwich"):
        res = subprocess.run([sys.executable, __file__, "--config", args.config, "--device", device,
                              "--steps", str(max(2, args.steps // 2)), "--case", case],
                             capture_output=True, text=True, check=True)
        mem[case] = json.loads(res.stdout.strip().splitlines()[-1])
    n_archs = 2 + cfg["supernet"]["sandwich_random"]
    print(f"sandwich step ({n_archs} sub-networks): {batch / mem['sandwich']['median_s']:8.2f} images/s "
          f"(median {mem['sandwich']['median_s']:.3f} s)")
    for case, m in mem.items():
        extra = f", peak CUDA {m['peak_cuda_mb']:.0f} MiB" if "peak_cuda_mb" in m else ""
        print(f"peak memory {case:10s}: RSS {m['peak_rss_mb']:.0f} MiB{extra}")


if __name__ == "__main__":
    main()
