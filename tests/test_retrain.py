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


def test_compute_cost_adds_search_supernet_share_and_retraining():
    search = {"search_seconds": 3600.0, "supernet_share": 0.25, "supernet_seconds": 4 * 3600.0, "device": "cpu"}
    cost = compute_cost({"train_seconds": 7200.0, "device": "cpu"}, search)
    assert cost["device_hours"] == pytest.approx(1 + 1 + 2) and cost["device_days"] == pytest.approx(4 / 24)
    assert cost["gpu_days"] is None
    gpu = compute_cost({"train_seconds": 7200.0, "device": "cuda"}, {**search, "device": "cuda"})
    assert gpu["gpu_days"] == pytest.approx(4 / 24)
    base = compute_cost({"train_seconds": 7200.0, "device": "cuda"}, None)
    assert base["search_seconds"] == 0 and base["gpu_days"] == pytest.approx(2 / 24)
    assert np.isclose(compute_cost({"train_seconds": 1.0, "device": "cuda"}, search)["device_hours"],
                      (3600 + 3600 + 1) / 3600)
    with pytest.raises(DataError, match="lacks the device"):
        compute_cost({"train_seconds": 1.0}, None)  # was labelled cpu


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
