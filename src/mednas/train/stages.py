"""Pipeline stages of the training package: config sections and files in, artifacts out."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mednas.atomic import atomic_outputs
from mednas.csvio import write_rows
from mednas.data.slices import load_slices
from mednas.models.supernets import supernet_family
from mednas.provenance import sha256_file
from mednas.space.base import make_space
from mednas.train.loop import TrainSettings
from mednas.train.supernet import save_supernet, train_supernet

log = logging.getLogger("mednas")


def fingerprint(*parts: Any) -> str:
    """A hash of everything a checkpoint depends on (settings and input data)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def run_train_supernet(train_path: str, val_path: str, space_cfg: Mapping, arch_cfg: Mapping, train_cfg: Mapping,
                       supernet_cfg: Mapping, seed: int, device: str, checkpoint: str, out_model: str,
                       out_curve: str) -> list[dict[str, Any]]:
    """Train the supernet, write ``supernet.pt`` and ``curve.csv`` together, drop the checkpoint."""
    space = make_space(space_cfg)
    family = supernet_family(space.name)  # refused before any data is read
    train, val = load_slices(train_path), load_slices(val_path)
    arch = family.settings(arch_cfg, train.labels.in_channels, train.labels.num_classes)
    settings = TrainSettings.from_config(train_cfg, epochs=int(supernet_cfg["epochs"]),
                                         steps_per_epoch=supernet_cfg.get("steps_per_epoch"))
    if supernet_cfg.get("image_size") is not None:
        # A reduced-resolution proxy (EcoNAS, Zhou et al. 2020): where full-size sandwich steps are
        # too slow for the supernet to learn anything in the budget, more steps on smaller inputs.
        size = int(supernet_cfg["image_size"])
        log.info("supernet: training on %d px copies of the %d px slices", size, train.image.shape[-1])
        train, val = train.resized(size), val.resized(size)
    fp = fingerprint(dict(space_cfg), dict(arch_cfg), dict(train_cfg), dict(supernet_cfg), seed,
                     sha256_file(train_path), sha256_file(val_path))
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    model, rows = train_supernet(
        train, val, space, arch, settings, int(supernet_cfg["sandwich_random"]),
        int(supernet_cfg["bn_recal_batches"]), device, seed, checkpoint, fp,
        distill=bool(supernet_cfg.get("distill", True)),
    )
    meta = {"seed": seed, "epochs": settings.epochs, "steps": settings.total_steps(len(train)), "image_size": int(train.image.shape[-1]),
            "train_seconds": sum(r["seconds"] for r in rows), "device": device,
            "train_settings": settings.to_dict(),
            # the largest network's last validation Dice: what a search's inherited scores compare with
            "final_val_dice": float(rows[-1]["val_dice_mean"]), "val_genotype": rows[-1]["val_genotype"]}
    with atomic_outputs([out_model, out_curve]) as (tmp_model, tmp_curve):
        save_supernet(tmp_model, model.cpu(), space, arch, meta)
        write_rows(tmp_curve, rows)
    # A finished stage starts from scratch when rerun: its checkpoint has served its purpose.
    shutil.rmtree(Path(checkpoint).parent, ignore_errors=True)
    return rows


def run_retrain(model_name: str, spec: Mapping[str, Any], train_path: str, val_path: str, train_cfg: Mapping,
                retrain_cfg: Mapping, seed: int, device: str, checkpoint: str, out_model: str,
                out_curve: str) -> list[dict[str, Any]]:
    """Retrain one model with the shared optimiser and budget; write ``model.pt`` and ``curve.csv`` together."""
    from mednas.cost.complexity import count_params
    from mednas.models.registry import fit_to_data
    from mednas.train.retrain import retrain, save_model

    settings = TrainSettings.from_config(train_cfg, epochs=int(retrain_cfg["epochs"]),
                                         steps_per_epoch=retrain_cfg.get("steps_per_epoch"))
    train, val = load_slices(train_path), load_slices(val_path)
    spec = fit_to_data(spec, train.labels.in_channels, train.labels.num_classes)
    fp = fingerprint(model_name, dict(spec), dict(train_cfg), dict(retrain_cfg), seed, sha256_file(train_path),
                     sha256_file(val_path))
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    log.info("retrain %s (%s) for %d rounds x %d steps on %s", model_name, spec, settings.epochs,
             settings.steps_per_round(len(train)), device)
    model, result = retrain(spec, train, val, settings, device, seed, checkpoint, fp)
    rows = result.rows
    val_of = lambda row: {k[4:]: v for k, v in row.items() if k.startswith("val_")}
    meta = {"model": model_name, "seed": seed, "epochs": settings.epochs,
            "steps": settings.total_steps(len(train)), "image_size": int(train.image.shape[-1]),
            "train_seconds": sum(r["seconds"] for r in rows), "device": device, "params": count_params(model),
            "train_settings": settings.to_dict(), "distance_unit": train.distance_unit,
            # final_val: validation metrics of the weights model.pt evaluates (the best round)
            "best_epoch": result.best_epoch, "final_val": val_of(rows[result.best_epoch - 1]),
            "last_val": val_of(rows[-1])}
    log.info("retrain %s: best validation Dice %.4f at round %d (last round %.4f)", model_name,
             meta["final_val"]["dice_mean"], result.best_epoch, meta["last_val"]["dice_mean"])
    with atomic_outputs([out_model, out_curve]) as (tmp_model, tmp_curve):
        save_model(tmp_model, model.cpu(), spec, meta, best_state=result.best_state)
        write_rows(tmp_curve, rows)
    shutil.rmtree(Path(checkpoint).parent, ignore_errors=True)
    return rows


def run_classifier(model_name: str, spec: Mapping[str, Any], dataset_cfg: Mapping, train_cfg: Mapping, seed: int,
                   device: str, outputs: Mapping[str, str]) -> dict[str, Any]:
    """Train classifier ``spec`` on the data set's train split (checkpoint chosen on val AUC), test
    it once, and write ``model`` (spec + weights), ``curve`` and ``metrics`` together."""
    import numpy as np
    import torch

    from mednas.cost.complexity import count_flops, count_params
    from mednas.data.medmnist import load_medmnist
    from mednas.metrics.classification import medmnist_scores
    from mednas.models.registry import build_model, fit_to_data
    from mednas.train.classify import ClassifySettings, fit_classifier, predict
    from mednas.train.seeding import seed_everything

    size = int(dataset_cfg.get("size", 28))
    info, splits = load_medmnist(dataset_cfg["path"], dataset_cfg["flag"], size)
    settings = ClassifySettings.from_config(train_cfg)
    spec = fit_to_data(spec, info.in_channels, info.num_classes)
    seed_everything(seed)
    model = build_model(spec)
    params, flops = count_params(model), count_flops(model, (1, info.in_channels, size, size))
    log.info("%s (seed %d) on %s: %d params, %.2f MFLOPs at %d px, %d epochs of batch %d", model_name, seed,
             info.flag, params, flops / 1e6, size, settings.epochs, settings.batch_size)
    tr, va, te = splits["train"], splits["val"], splits["test"]
    fit = fit_classifier(model, tr.images, tr.labels, va.images, va.labels, info.task, settings, device, seed)
    model.load_state_dict(fit.best_state)
    prob = predict(model, te.images, device, settings.val_batch_size)
    test = medmnist_scores(te.labels, prob, info.task)
    best = fit.rows[fit.best_epoch - 1]
    metrics = {"model": model_name, "seed": seed, "dataset": info.flag, "task": info.task,
               "test_acc": test["acc"], "test_auc": test["auc"], "val_acc": best["val_acc"],
               "val_auc": best["val_auc"], "best_epoch": fit.best_epoch, "epochs": settings.epochs,
               "params": params, "flops": flops, "image_size": size, "train_seconds": round(fit.train_seconds, 3),
               "device": device, "n_train": len(tr.labels), "n_test": len(te.labels),
               "selection": "weights of the epoch with the best validation AUC", "settings": settings.to_dict(),
               # per test image, for the scores a table derives (precision, recall, F1, Jaccard)
               "test_true": [int(v) for v in np.asarray(te.labels).reshape(-1)],
               "test_pred": [int(v) for v in prob.argmax(1)]}
    with atomic_outputs([outputs["model"], outputs["curve"], outputs["metrics"]]) as (t_model, t_curve, t_metrics):
        torch.save({"spec": spec, "state_dict": fit.best_state, "best_epoch": fit.best_epoch}, t_model)
        write_rows(t_curve, fit.rows, list(fit.rows[0]))
        t_metrics.write_text(json.dumps(metrics, indent=1) + "\n")
    log.info("%s (seed %d): test ACC %.4f, AUC %.4f (best val AUC %.4f at epoch %d), %.0f s", model_name, seed,
             test["acc"], test["auc"], best["val_auc"], fit.best_epoch, fit.train_seconds)
    return metrics
