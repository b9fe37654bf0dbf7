"""Seconds per training step of each stage of a config, and what its whole budget would take.

    .venv/bin/python benchmarks/stage_costs.py [--config config/acdc.yaml] [--steps 20]
        [--image-size N] [--device auto] [--data DIR] [--train-slices N] [--out FILE]

Trains, for two rounds of ``--steps`` steps each with the config's ``train`` settings: the U-Net
baseline (``retrain.baselines.unet``), a random network of the space (``random.Random(3)``), the
space's largest network, and the supernet (sandwich rule, the config's ``supernet`` settings).
The second round's training time (validation excluded) over its steps is the cost of a step:
the first round pays for start-up (cuDNN's kernel choice, allocator growth). It then multiplies
those costs by the config's budgets (supernet steps; proxy steps per candidate x candidates of all
strategies; retraining steps of every pick and baseline) and prints the hours each stage and the
whole run would take on this device: the figure that says whether a config fits a machine.
The proxy and the searched picks are costed at the random network's step, an estimate: a
search meets networks of every size; where ``search.proxy.image_size`` is set, the random network
is timed again at that size for the proxy. Every candidate is costed as trained, so with
``search.skip_over_budget`` (candidates over a budget are not trained) the proxy hours are an
upper bound, and the re-ranking (``search.rerank``) is not counted. Results also go to ``--out`` as JSON (default
``results/<experiment>/benchmarks/stage_costs.json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]


def _step_seconds(rows: list[dict[str, Any]], steps: int) -> float:
    """Training seconds per step of the last round (the first pays for start-up)."""
    return float(rows[-1]["train_seconds"]) / steps


def measure(cfg: Mapping[str, Any], train, val, device: str, steps: int, seed: int = 0) -> dict[str, Any]:
    """Seconds per step of the U-Net, a random and the largest network of the space, and the supernet."""
    from mednas.models.cardiac_net import ArchSettings
    from mednas.models.registry import baseline_spec, cardiac_spec, fit_to_data
    from mednas.space.cardiac import CardiacSpace
    from mednas.train.loop import TrainSettings
    from mednas.train.retrain import retrain
    from mednas.train.supernet import train_supernet

    space = CardiacSpace.from_config(cfg["space"])
    arch = ArchSettings.from_config(cfg["arch"], train.labels.in_channels, train.labels.num_classes)
    settings = TrainSettings.from_config(cfg["train"], epochs=2, steps_per_epoch=steps)
    baseline = cfg["retrain"]["baselines"].get("unet")
    models = {"random": cardiac_spec(space.sample_distinct(1, 3)[0], arch),
              "largest": cardiac_spec(space.largest(), arch)}
    if baseline is not None:
        models = {"unet": fit_to_data(baseline_spec("unet", baseline), train.labels.in_channels,
                                      train.labels.num_classes)} | models
    out: dict[str, Any] = {"device": device, "image_size": int(train.image.shape[-1]), "steps": steps,
                           "precision": settings.precision(device).name, "models": {}}
    with tempfile.TemporaryDirectory(prefix="mednas-stage-costs-") as tmp:
        for name, spec in models.items():
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            _, result = retrain(spec, train, val, settings, device, seed, Path(tmp) / f"{name}.pt", name)
            out["models"][name] = {
                "spec": spec, "step_seconds": _step_seconds(result.rows, steps),
                "wall_seconds": time.perf_counter() - t0,
                "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None}
            print(f"{name}: {out['models'][name]['step_seconds']:.3f} s a step", flush=True)
        sn = cfg["supernet"]
        t0 = time.perf_counter()
        _, rows = train_supernet(train, val, space, arch, settings, int(sn["sandwich_random"]),
                                 int(sn["bn_recal_batches"]), device, seed, Path(tmp) / "supernet" / "c.pt",
                                 "stage-costs", distill=bool(sn.get("distill", True)))
        out["supernet"] = {"step_seconds": _step_seconds(rows, steps), "wall_seconds": time.perf_counter() - t0,
                           "sandwich_random": int(sn["sandwich_random"])}
        print(f"supernet: {out['supernet']['step_seconds']:.3f} s a sandwich step", flush=True)
        proxy_size = (cfg["search"].get("proxy") or {}).get("image_size")
        if proxy_size is not None and int(proxy_size) != out["image_size"]:
            small_train, small_val = train.resized(int(proxy_size)), val.resized(int(proxy_size))
            _, result = retrain(models["random"], small_train, small_val, settings, device, seed,
                                Path(tmp) / "proxy.pt", "proxy")
            out["proxy"] = {"image_size": int(proxy_size), "step_seconds": _step_seconds(result.rows, steps)}
            print(f"random at the proxy's {proxy_size} px: {out['proxy']['step_seconds']:.3f} s a step", flush=True)
    return out


def budget_hours(cfg: Mapping[str, Any], costs: Mapping[str, Any], n_train: int) -> dict[str, float]:
    """Hours the config's budgets take at the measured step costs (``n_train`` training slices)."""
    from mednas.train.loop import TrainSettings

    def steps(section: Mapping[str, Any]) -> int:
        epochs = int(section.get("epochs", 1))
        return TrainSettings.from_config(cfg["train"], epochs=epochs,
                                         steps_per_epoch=section.get("steps_per_epoch")).total_steps(n_train)

    search = cfg["search"]
    strategies = list(search.get("strategies", []))
    candidates = int(search["population"]) * int(search["generations"]) * len(strategies)
    random_step = costs["models"]["random"]["step_seconds"]
    hours = {"supernet": steps(cfg["supernet"]) * costs["supernet"]["step_seconds"] / 3600
             if search.get("evaluator", "inherit") == "inherit" else 0.0}
    if search.get("evaluator") == "proxy":
        proxy_step = costs.get("proxy", {}).get("step_seconds", random_step)
        hours["search_proxy"] = candidates * steps(search.get("proxy") or {}) * proxy_step / 3600
    retrain_steps = steps(cfg["retrain"])
    hours["retrain_picks"] = len(strategies) * retrain_steps * random_step / 3600
    baselines = cfg["retrain"].get("baselines") or {}
    unet_step = costs["models"].get("unet", {}).get("step_seconds", random_step)
    hours["retrain_baselines"] = len(baselines) * retrain_steps * unet_step / 3600
    hours["total"] = sum(hours.values())
    return hours


def main() -> None:
    from mednas.allocator import keep_freed_memory
    from mednas.data.slices import load_slices
    from mednas.device import resolve_device
    from _configs import load_overlays

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "acdc.yaml")],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--steps", type=int, default=20, help="steps per round (two rounds, the second timed)")
    ap.add_argument("--image-size", type=int, default=None,
                    help="resize the slices to N x N first (e.g. the config's preprocess.image_size)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", default=None, help="folder with train.npz / val.npz (default results/<exp>/data)")
    ap.add_argument("--train-slices", type=int, default=None,
                    help="training slices the budgets are counted over (default: those in --data); set it "
                         "when --data holds a subset, e.g. a copy small enough to send to a GPU machine")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.train_slices is not None and args.train_slices < 1:
        ap.error(f"--train-slices must be a positive count of slices, got {args.train_slices}")
    keep_freed_memory()
    cfg = load_overlays(args.config)
    device = resolve_device(args.device)
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    data = Path(args.data) if args.data else REPO / "results" / cfg["experiment"] / "data"
    train, val = load_slices(data / "train.npz"), load_slices(data / "val.npz")
    if args.image_size:
        train, val = train.resized(args.image_size), val.resized(args.image_size)
    costs = measure(cfg, train, val, device, args.steps, int(cfg["seed"]))
    costs["train_slices_timed"] = len(train)
    costs["train_slices_budgeted"] = len(train) if args.train_slices is None else args.train_slices
    costs["budget_hours"] = budget_hours(cfg, costs, costs["train_slices_budgeted"])
    costs["config"] = args.config
    if device.startswith("cuda"):
        costs["gpu"] = torch.cuda.get_device_name()
    print("hours at these step costs: " + ", ".join(f"{k} {v:.1f}" for k, v in costs["budget_hours"].items()))
    out = Path(args.out) if args.out else REPO / "results" / cfg["experiment"] / "benchmarks" / "stage_costs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(costs, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
