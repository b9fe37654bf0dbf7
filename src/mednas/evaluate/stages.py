"""Pipeline stage of final evaluation: a retrained model and the test split in, per-case scores out."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mednas.atomic import atomic_outputs
from mednas.cost.complexity import FLOP_CONVENTION, count_flops, count_params
from mednas.cost.latency import LatencySettings, device_name, measure_model_latency
from mednas.csvio import write_rows
from mednas.data.preprocess import distance_convention
from mednas.data.slices import SliceSet, load_slices
from mednas.errors import DataError
from mednas.evaluate.testset import PER_CASE_COLUMNS, per_case_rows, summarise
from mednas.train.retrain import load_model

log = logging.getLogger("mednas")


def _stage_cost(seconds: float, device: str) -> dict[str, Any]:
    """One stage's cost: device hours always, GPU days where the device was a GPU."""
    hours = seconds / 3600
    return {"device_hours": hours, "gpu_days": hours / 24 if device.startswith("cuda") else None, "device": device}


def compute_cost(retrain_meta: Mapping[str, Any], search_cost: Mapping[str, Any] | None,
                 evaluate_seconds: float, evaluate_device: str) -> dict[str, Any]:
    """A model's costs, stage by stage, each on its own device: the search as the papers define it
    (supernet training whole plus search, from ``cost.json``; searched models only), retraining,
    and this evaluation (loading, test inference, FLOP counts and the latency measurement).
    ``gpu_days``, the papers' column, is the search's GPU days."""
    if "device" not in retrain_meta:
        raise DataError("the retrained model's metadata lacks the device it was trained on: its cost cannot be "
                        "labelled (re-run its retrain rule)")
    out: dict[str, Any] = {}
    if search_cost is not None:
        if "supernet_share" in search_cost:
            raise DataError("the search's cost.json counts a share of the supernet (an older version): re-run "
                            "its search rule")
        search = _stage_cost(3600 * float(search_cost["device_hours"]), str(search_cost["device"]))
        out |= {"search_seconds": float(search_cost["search_seconds"]),
                "supernet_seconds": float(search_cost["supernet_seconds"])}
    else:
        search = {"device_hours": None, "gpu_days": None, "device": None}
        out |= {"search_seconds": None, "supernet_seconds": None}
    retrain = _stage_cost(float(retrain_meta["train_seconds"]), str(retrain_meta["device"]))
    evaluate = _stage_cost(evaluate_seconds, evaluate_device)
    for stage, cost in (("search", search), ("retrain", retrain), ("evaluate", evaluate)):
        out |= {f"{stage}_{k}": v for k, v in cost.items()}
    out["retrain_seconds"] = float(retrain_meta["train_seconds"])
    out["gpu_days"] = search["gpu_days"]  # the papers' column: search cost only
    return out


def phases_of(data_json: str | None) -> dict[str, str | None]:
    """case id -> phase (ED / ES) from ``data.json``; empty when no file is given."""
    if not data_json:
        return {}
    cases = json.loads(Path(data_json).read_text()).get("cases", [])
    return {c["case_id"]: c.get("phase") for c in cases}


def load_for_test(model_path: str, test_path: str,
                  device: str) -> tuple[Any, dict[str, Any], dict[str, Any], SliceSet, int]:
    """A retrained model (network, spec, meta), its test slices and their side, which must be the
    side the model was trained on."""
    model, spec, meta = load_model(model_path, device)
    test = load_slices(test_path)
    size = int(test.image.shape[-1])
    if size != int(meta["image_size"]):
        raise DataError(f"{test_path}: slices of {size} px, but {model_path} was trained on {meta['image_size']} px")
    return model, spec, meta, test, size


def run_evaluate(model_name: str, model_path: str, test_path: str, data_json: str | None, search_cost_path: str | None,
                 latency_cfg: Mapping, paper_image_size: int, device: str, batch_size: int,
                 outputs: Mapping[str, str]) -> dict[str, Any]:
    """Score ``model_path`` on every test volume; write ``per_case.csv`` and ``summary.json`` together."""
    t0 = time.perf_counter()
    model, spec, meta, test, size = load_for_test(model_path, test_path, device)
    rows = per_case_rows(model, test, device, batch_size, phases_of(data_json))
    summary = summarise(rows)
    search_cost = json.loads(Path(search_cost_path).read_text()) if search_cost_path else None
    in_ch = test.labels.in_channels
    flops = count_flops(model, (1, in_ch, size, size))
    flops_paper = count_flops(model, (1, in_ch, paper_image_size, paper_image_size))
    latency = measure_model_latency(model, size, LatencySettings.from_config(latency_cfg), device, in_ch)
    summary = {
        "model": model_name, "spec": spec, "strategy": search_cost["strategy"] if search_cost else None,
        "test_patients": sorted({r["patient"] for r in rows}), "distance_unit": test.distance_unit,
        "distance_convention": distance_convention(test.distance_unit), **summary,
        "params": count_params(model), "image_size": size, "gflops": flops / 1e9,
        "paper_image_size": paper_image_size, "gmacs_at_paper_size": flops_paper / 2e9,
        "flop_convention": FLOP_CONVENTION,
        "latency_ms": latency, "latency_batch": int(latency_cfg.get("batch", 1)), "latency_device": device_name(device),
        # final_val: validation scores of the evaluated weights (the best round, best_epoch)
        "final_val": meta.get("final_val", {}), "best_epoch": meta.get("best_epoch"),
        "last_val": meta.get("last_val", {}), "retrain_epochs": meta.get("epochs"),
        "retrain_steps": meta.get("steps"),
        **compute_cost(meta, search_cost, time.perf_counter() - t0, device),
    }
    with atomic_outputs([outputs["per_case"], outputs["summary"]]) as (t_cases, t_summary):
        write_rows(t_cases, rows, PER_CASE_COLUMNS)
        t_summary.write_text(json.dumps(summary, indent=1) + "\n")
    log.info("%s on %d test volumes: dice %.4f, hd95 %.2f %s, %.3f GFLOPs, %.2f ms", model_name, summary["volumes"],
             summary["dice_mean"], summary["hd95_mean"], test.distance_unit, summary["gflops"], latency)
    return summary


def run_evaluate_domain(model_name: str, domain: str, model_path: str, test_path: str, device: str, batch_size: int,
                        outputs: Mapping[str, str]) -> dict[str, Any]:
    """MixSearch's scores of one model retrained on one domain: Dice and Jaccard of every
    foreground label per test case; ``per_case.csv`` and ``summary.json`` written together."""
    import numpy as np

    from mednas.metrics.segmentation import dice, jaccard
    from mednas.train.validation import predict_slices

    model, spec, meta, test, size = load_for_test(model_path, test_path, device)
    pred = predict_slices(model, test.image, device, batch_size)
    rows = []
    for case_id, sl, _ in test.volumes():
        for value, name in test.structures.items():
            p, r = pred[sl] == value, test.label[sl] == value
            rows.append({"case_id": case_id, "structure": name, "dice": dice(p, r), "jaccard": jaccard(p, r)})
    in_ch = test.labels.in_channels
    summary = {"model": model_name, "domain": domain, "spec": spec, "cases": len({r["case_id"] for r in rows}),
               "structures": list(test.structures.values()),
               "dice": float(np.mean([r["dice"] for r in rows])), "jaccard": float(np.mean([r["jaccard"] for r in rows])),
               "dice_std": float(np.std([r["dice"] for r in rows], ddof=1)) if len(rows) > 1 else 0.0,
               "params": count_params(model), "image_size": size,
               "gflops": count_flops(model, (1, in_ch, size, size)) / 1e9, "flop_convention": FLOP_CONVENTION,
               "final_val": meta.get("final_val", {}), "best_epoch": meta.get("best_epoch"),
               "retrain_steps": meta.get("steps"), "train_seconds": meta.get("train_seconds"),
               "device": device_name(device)}
    with atomic_outputs([outputs["per_case"], outputs["summary"]]) as (t_cases, t_summary):
        write_rows(t_cases, rows, ("case_id", "structure", "dice", "jaccard"))
        t_summary.write_text(json.dumps(summary, indent=1) + "\n")
    log.info("%s on %s (%d test cases): Dice %.4f, Jaccard %.4f, %d params", model_name, domain, summary["cases"],
             summary["dice"], summary["jaccard"], summary["params"])
    return summary
