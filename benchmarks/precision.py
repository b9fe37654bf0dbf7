"""CPU precision and memory layout: bf16 autocast and channels_last against float32.

    .venv/bin/python benchmarks/precision.py [--config config/config.yaml] [--steps 300]
        [--timing-steps 8] [--device auto] [--out results/benchmarks/precision.json]

For a U-Net baseline and a mid-sized genotype of the configured space, on the configured
prepared data (``results/<experiment>/data``; run the data rule first):
- speed: images/s of one training step (forward, backward, optimiser) and of inference, in
  fp32, fp32 + channels_last, bf16 and bf16 + channels_last; the modes alternate step by
  step and medians are reported, so machine noise hits all alike; ratios to fp32;
- accuracy: validation Dice (mean over structures, whole volumes) after ``--steps`` training
  steps with the config's optimiser, the same seed and batches in every mode.
The decision rule of the quality issue: a mode may become the CPU default only if its Dice
is no more than one point below fp32's (``accuracy_holds`` in the JSON). The JSON holds every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from _configs import load_overlays

from mednas.allocator import keep_freed_memory
from mednas.data.slices import load_slices
from mednas.data.sources import dataset_labels
from mednas.device import resolve_device
from mednas.models.cardiac_net import ArchSettings
from mednas.models.registry import baseline_spec, build_model, cardiac_spec, fit_to_data
from mednas.space.cardiac import CardiacSpace, Genotype
from mednas.train.loop import TrainSettings, fit, make_optimizer
from mednas.train.losses import make_loss, segmentation_loss
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes

REPO = Path(__file__).resolve().parents[1]
MODES = {"fp32": (False, False), "fp32_cl": (False, True), "bf16": (True, False), "bf16_cl": (True, True)}


def _specs(cfg: dict) -> dict[str, dict]:
    space = CardiacSpace.from_config(cfg["space"])
    labels = dataset_labels(cfg["dataset"]["kind"], cfg["dataset"].get("path") or "")
    arch = ArchSettings.from_config(cfg["arch"], labels.in_channels, labels.num_classes)
    mid = Genotype(filters=(space.filters[0] + space.filters[1]) // 2, kernel=3, layers=space.layers[1], dropout=0.1,
                   attention=space.attentions[0], fusion=space.fusions[0], activation=space.activations[0],
                   res_scale=1.0)
    unet = cfg["retrain"]["baselines"].get("unet", {"base": 16, "depth": 4})
    return {"unet": fit_to_data(baseline_spec("unet", unet), labels.in_channels, labels.num_classes), "nas_mid": cardiac_spec(space.validate(mid), arch)}


def _settings(cfg: dict, mode: str, steps: int, device: str) -> TrainSettings:
    bf16, cl = MODES[mode]
    train = {**cfg["train"], "cpu_bf16": bf16, "channels_last": cl}
    return TrainSettings.from_config(train, epochs=1, steps_per_epoch=steps)


def speed(spec: dict, cfg: dict, x: torch.Tensor, y: torch.Tensor, device: str, steps: int) -> dict[str, dict]:
    """Median seconds per training step and per inference batch, modes interleaved."""
    runs = {}
    for mode in MODES:
        torch.manual_seed(0)
        s = _settings(cfg, mode, steps, device)
        prec = s.precision(device)
        model = prec.model(build_model(spec).to(device))
        opt = make_optimizer(model.parameters(), s)
        runs[mode] = (model, opt, prec)
    loss_fn = make_loss()
    times = {m: {"train": [], "infer": []} for m in MODES}
    for i in range(steps + 1):
        for mode, (model, opt, prec) in runs.items():
            xi = prec.input(x)
            model.train()
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with prec.autocast():
                loss = segmentation_loss(loss_fn, model(xi).float(), y)
            loss.backward()
            opt.step()
            t1 = time.perf_counter()
            model.eval()
            with torch.no_grad(), prec.autocast():
                model(xi).argmax(1)
            t2 = time.perf_counter()
            if i:  # the first step of each mode is warm-up
                times[mode]["train"].append(t1 - t0)
                times[mode]["infer"].append(t2 - t1)
    b = x.shape[0]
    return {m: {"train_img_s": b / statistics.median(t["train"]), "infer_img_s": b / statistics.median(t["infer"])}
            for m, t in times.items()}


def accuracy(spec: dict, cfg: dict, mode: str, steps: int, device: str, data_dir: Path) -> dict:
    train, val = load_slices(data_dir / "train.npz"), load_slices(data_dir / "val.npz")
    s = _settings(cfg, mode, steps, device)
    seed_everything(0)
    model = build_model(spec)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        fit(model, train, s, device, 0, lambda rng: [None], lambda m: {}, Path(tmp) / "c.pt", "bench")
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():  # validation in fp32 for every mode: the weights are what is compared
        val_metrics = evaluate_volumes(model, val, device, s.val_batch_size)
    return {"dice_mean": val_metrics["dice_mean"], "train_seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--steps", type=int, default=300, help="training steps of the accuracy check")
    ap.add_argument("--timing-steps", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--modes", nargs="+", default=["fp32", "bf16_cl"], help="modes of the accuracy check")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    keep_freed_memory()
    # as the other benchmarks do (before: laid over config.yaml only where the overlay lacked
    # train or retrain, so config/acdc_cpu.yaml failed for want of arch)
    cfg = load_overlays([args.config])
    device = resolve_device(args.device)
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    data_dir = REPO / "results" / cfg["experiment"] / "data"
    size, batch = cfg["preprocess"]["image_size"], cfg["train"]["batch_size"]
    torch.manual_seed(0)
    labels = dataset_labels(cfg["dataset"]["kind"], cfg["dataset"].get("path") or "")
    x = torch.randn(batch, labels.in_channels, size, size, device=device)
    y = torch.randint(0, labels.num_classes, (batch, size, size), device=device)
    report = {"device": device, "threads": torch.get_num_threads(), "input": [batch, labels.in_channels, size, size],
              "cpu_capability": torch.backends.cpu.get_cpu_capability(),
              "steps": args.steps, "models": {}}
    for name, spec in _specs(cfg).items():
        sp = speed(spec, cfg, x, y, device, args.timing_steps)
        print(f"{name}: " + ", ".join(
            f"{m} train {v['train_img_s']:.1f} img/s (x{v['train_img_s'] / sp['fp32']['train_img_s']:.2f}) "
            f"infer {v['infer_img_s']:.1f} img/s (x{v['infer_img_s'] / sp['fp32']['infer_img_s']:.2f})"
            for m, v in sp.items()), flush=True)
        acc = {}
        # Training a mode for accuracy is only worth it where it is faster than fp32.
        faster = [m for m in args.modes if m != "fp32" and sp[m]["train_img_s"] > sp["fp32"]["train_img_s"]]
        skipped = [m for m in args.modes if m != "fp32" and m not in faster]
        if skipped:
            print(f"{name}: no accuracy run for {skipped}: slower than fp32 in training here")
        for mode in (["fp32", *faster] if faster else []):
            acc[mode] = accuracy(spec, cfg, mode, args.steps, device, data_dir)
            print(f"{name}: {mode} after {args.steps} steps: val Dice {acc[mode]['dice_mean']:.4f} "
                  f"({acc[mode]['train_seconds']:.0f} s)", flush=True)
        ref = acc.get("fp32", {}).get("dice_mean")
        for mode, a in acc.items():
            if ref is not None and mode != "fp32":
                a["dice_points_vs_fp32"] = 100 * (a["dice_mean"] - ref)
                # The rule guards against a loss of accuracy: a mode that ends higher than fp32 (one
                # training run each, so partly chance) keeps accuracy as well as one within a point.
                a["accuracy_holds"] = a["dice_points_vs_fp32"] >= -1
                print(f"{name}: {mode} Dice - fp32 Dice = {a['dice_points_vs_fp32']:+.2f} points "
                      f"({'holds: not' if a['accuracy_holds'] else 'FAILS: more than'} one point below fp32)")
        report["models"][name] = {"spec": spec, "speed": sp, "accuracy": acc, "not_trained_slower": skipped}
    out = Path(args.out or REPO / "results" / "benchmarks" / f"precision_{cfg['experiment']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
