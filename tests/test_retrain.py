"""Model specs, retraining and the final test evaluation, on the generated phantom."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from mednas.cost.complexity import count_params
from mednas.errors import ConfigError, DataError
from mednas.evaluate.stages import compute_cost
from mednas.evaluate.testset import per_case_rows, per_patient, summarise
from mednas.models.cardiac_net import ArchSettings
from mednas.models.registry import baseline_spec, build_model, cardiac_spec, fit_to_data
from mednas.space.cardiac import Genotype
from mednas.train.loop import TrainSettings
from mednas.train.retrain import load_model, retrain, save_model

GENOTYPE = Genotype(filters=4, kernel=3, layers=2, dropout=0.1, attention="se", fusion="add", activation="relu",
                    res_scale=0.5)


def test_baseline_specs():
    assert baseline_spec("unet", None) == {"kind": "unet", "base": 64, "depth": 4}
    assert count_params(build_model(fit_to_data(baseline_spec("unet", {}), 1, 4))) == 31_036_676  # the paper's 31.04 M
    assert count_params(build_model(fit_to_data(baseline_spec("unet", {"base": 16}), 1, 4))) < 31_036_676 / 15
    with pytest.raises(ConfigError, match="retrain.baselines: unknown baseline 'vnet'"):
        baseline_spec("vnet", {})
    with pytest.raises(ConfigError, match="retrain.baselines.unet: unknown key"):
        baseline_spec("unet", {"width": 3})
    with pytest.raises(ConfigError, match="retrain.baselines.unet.base"):
        baseline_spec("unet", {"base": 0})


def test_save_and_load_rebuild_the_same_network(tmp_path):
    spec = cardiac_spec(GENOTYPE, ArchSettings(1, 4))
    json.dumps(spec)  # a spec is plain data
    torch.manual_seed(0)
    model = build_model(spec).eval()
    save_model(tmp_path / "m.pt", model, spec, {"image_size": 32})
    loaded, spec2, meta = load_model(tmp_path / "m.pt")
    x = torch.randn(2, 1, 32, 32)
    assert spec2 == spec and meta == {"image_size": 32} and not loaded.training
    assert torch.equal(model(x), loaded(x))
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="other.pt is not a mednas model file"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(DataError, match="missing model file"):
        load_model(tmp_path / "absent.pt")


def test_retrain_learns_and_is_deterministic(phantom_slices, tmp_path):
    train, val = phantom_slices
    settings = TrainSettings(epochs=3, batch_size=4, lr=0.05, steps_per_epoch=6, val_batch_size=16)
    spec = cardiac_spec(GENOTYPE, ArchSettings(1, 4))
    runs = []
    for i in range(2):
        model, result = retrain(spec, train, val, settings, "cpu", 3, tmp_path / f"ck{i}.pt", "fp")
        runs.append((model, result.rows))
        best = max(result.rows, key=lambda r: r["val_dice_mean"])
        assert result.best_epoch == best["epoch"]  # the best round by validation Dice is kept
    (m1, r1), (m2, r2) = runs
    assert [r["epoch"] for r in r1] == [1, 2, 3]
    assert r1[-1]["train_loss"] < r1[0]["train_loss"]
    assert [r["val_dice_mean"] for r in r1] == [r["val_dice_mean"] for r in r2]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    small = replace(train, image=train.image[..., :24, :24], label=train.label[:, :24, :24])
    deep = cardiac_spec(replace(GENOTYPE, layers=4), ArchSettings(1, 4))  # needs a multiple of 16
    with pytest.raises(DataError, match="preprocess.image_size"):
        retrain(deep, small, val, settings, "cpu", 0, tmp_path / "x.pt", "fp")


def test_per_case_rows_of_a_perfect_and_an_empty_prediction(phantom_slices):
    _, val = phantom_slices
    labels = torch.from_numpy(val.label.astype("int64"))
    state = {"pos": 0}

    def oracle(x):  # one-hot of the reference labels, batch after batch
        n = x.shape[0]
        y = labels[state["pos"]:state["pos"] + n]
        state["pos"] += n
        return torch.nn.functional.one_hot(y, 4).permute(0, 3, 1, 2).float()

    rows = per_case_rows(oracle, val, "cpu", 5, {val.case_id[0]: "ED"})
    volumes = val.volumes()
    assert len(rows) == 3 * len(volumes)
    assert all(r["dice"] == 1.0 and r["hd95"] == 0.0 for r in rows)
    assert rows[0]["phase"] == "ED" and rows[0]["patient"] == val.patient_of(volumes[0][1])
    background = lambda x: torch.zeros(x.shape[0], 4, *x.shape[2:]).index_fill_(1, torch.tensor([0]), 1.0)
    empty = per_case_rows(background, val, "cpu", 5)
    assert all(r["dice"] == 0.0 and r["hd95"] > 0 for r in empty)  # every structure is present in the phantom
    s = summarise(rows)
    assert s["dice_mean"] == 1.0 and s["volumes"] == len(volumes)
    pp = per_patient(empty, "hd95")
    assert set(pp) == {r["patient"] for r in empty}


def test_compute_cost_keeps_search_retraining_and_evaluation_apart():
    """The papers' GPU days are search cost (supernet whole + search), never retraining; each stage
    is labelled with its own device. Before: one sum of search, a 1/n share of the supernet and
    retraining, labelled GPU days only when all ran on a GPU."""
    search = {"search_seconds": 3600.0, "supernet_seconds": 4 * 3600.0, "device_hours": 5.0, "device": "cuda:0"}
    cost = compute_cost({"train_seconds": 7200.0, "device": "cpu"}, search, 36.0, "cpu")
    assert cost["search_device_hours"] == 5.0 and cost["search_device"] == "cuda:0"
    assert cost["gpu_days"] == cost["search_gpu_days"] == pytest.approx(5 / 24)  # retraining not in it
    assert cost["retrain_device_hours"] == 2.0 and cost["retrain_gpu_days"] is None and cost["retrain_device"] == "cpu"
    assert cost["evaluate_device_hours"] == pytest.approx(0.01) and cost["evaluate_device"] == "cpu"
    base = compute_cost({"train_seconds": 7200.0, "device": "cuda"}, None, 1.0, "cuda")
    assert base["gpu_days"] is None and base["search_device_hours"] is None  # a baseline is not searched
    assert base["retrain_gpu_days"] == pytest.approx(2 / 24)
    with pytest.raises(DataError, match="lacks the device"):
        compute_cost({"train_seconds": 1.0}, None, 1.0, "cpu")  # was labelled cpu
    with pytest.raises(DataError, match="share of the supernet"):
        compute_cost({"train_seconds": 1.0, "device": "cpu"}, {**search, "supernet_share": 0.5}, 1.0, "cpu")


def test_search_cost_counts_the_whole_supernet_whatever_the_number_of_strategies():
    from types import SimpleNamespace

    from mednas.search.stages import search_cost

    pool = SimpleNamespace(records=lambda: [{"key": "a", "eval_seconds": 30.0}, {"key": "b", "eval_seconds": 20.0}],
                           replayed_keys={"b"}, budget=2, computed=1, replayed=1, repeats=0)
    cost = search_cost(pool, "inherit", "nsga2", "cpu", "cpu: x", wall=100.0, supernet_seconds=7200.0)
    # search = this run's wall time + the replayed candidate's evaluation; + the whole supernet
    assert cost["search_seconds"] == 120.0 and cost["device_hours"] == pytest.approx((120 + 7200) / 3600)
    assert "supernet_share" not in cost and cost["gpu_hours"] is None
    proxy = search_cost(pool, "proxy", "nsga2", "cuda", "gpu", wall=100.0, supernet_seconds=7200.0)
    assert proxy["device_hours"] == pytest.approx(120 / 3600) and proxy["supernet_seconds"] == 0.0
    assert proxy["gpu_hours"] == proxy["device_hours"]
    # a supernet trained on a CPU makes no GPU hours of a search run on a GPU
    mixed = search_cost(pool, "inherit", "nsga2", "cuda", "gpu", wall=100.0, supernet_seconds=7200.0,
                        supernet_device="cpu")
    assert mixed["gpu_hours"] is None and mixed["supernet_device"] == "cpu"


def test_a_slice_file_without_patient_ids_is_refused(tmp_path):
    """Without them ED and ES of one patient would enter the paired tests as two patients."""
    from mednas.data.slices import load_slices

    n = 2
    arrays = {"image": np.zeros((n, 1, 8, 8), np.float32), "label": np.zeros((n, 8, 8), np.uint8),
              "case_id": np.array(["p1_frame01", "p1_frame02"]), "slice_index": np.arange(n),
              "spacing": np.ones((n, 3), np.float32), "distance_unit": np.array("mm"),
              "label_names": np.array(["background", "LV"]), "channel_names": np.array(["MRI"])}
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(DataError, match=r"old.npz: arrays \['patient'\] are missing"):
        load_slices(tmp_path / "old.npz")
    np.savez(tmp_path / "new.npz", **arrays, patient=np.array(["p1", "p1"]))
    assert list(load_slices(tmp_path / "new.npz").patient_ids()) == ["p1", "p1"]
