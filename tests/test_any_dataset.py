"""Any data set, any label set: generated nnU-Net raw sets of 1 and 3 labels (unusual names, one
and two channels, 3-D NIfTI and 2-D RGB PNG) through prepare -> retrain -> evaluate -> Table II."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mednas.data.prepare import prepare_dataset
from mednas.data.slices import load_slices
from mednas.evaluate.stages import run_evaluate
from mednas.models.cardiac_net import ArchSettings
from mednas.models.registry import baseline_spec, cardiac_spec
from mednas.report.tables import table2_rows
from mednas.space.cardiac import Genotype
from mednas.train.stages import run_retrain
from synthetic_sets import write_nnunet_dataset

SPLIT = {"source": "fractions", "seed": 0, "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}}
TRAIN = {"batch_size": 4, "lr": 0.01, "val_batch_size": 16, "optimizer": "adamw", "schedule": "constant",
         "warmup": 0.0, "augment": {"flip": True, "rotate_deg": 0, "scale": [1.0, 1.0], "intensity": 0.0}}
LATENCY = {"batch": 1, "rounds": 1, "warmup": 1, "repeats": 1, "threads": 1}
CARDIAC = ("RV", "MYO", "LV")


def _prepare(root, tmp_path, **preprocess):
    out = tmp_path / "data"
    out.mkdir()
    outputs = {k: out / f"{k}.npz" for k in ("train", "val", "test")} | {"summary": out / "data.json"}
    summary = prepare_dataset(root, {"kind": "nnunet_raw"}, SPLIT,
                              {"image_size": 32, "target_spacing": None, **preprocess}, outputs)
    return outputs, summary


def _retrain_and_evaluate(outputs, spec, tmp_path, name):
    model_dir = tmp_path / name
    model_dir.mkdir()
    run_retrain(name, spec, str(outputs["train"]), str(outputs["val"]), TRAIN, {"epochs": 1, "steps_per_epoch": 4},
                0, "cpu", str(model_dir / "ck" / "c.pt"), str(model_dir / "model.pt"), str(model_dir / "curve.csv"))
    res = {"per_case": model_dir / "per_case.csv", "summary": model_dir / "summary.json"}
    summary = run_evaluate(name, str(model_dir / "model.pt"), str(outputs["test"]), str(outputs["summary"]), None,
                           LATENCY, 64, "cpu", 8, res)
    with open(res["per_case"], newline="") as fh:
        return summary, list(csv.DictReader(fh))


def test_one_label_3d_set_reports_its_own_label_only(tmp_path):
    root = write_nnunet_dataset(tmp_path / "Dataset007_Atrium", ["left atrium"], ["MRI"], name="Atrium")
    outputs, summary = _prepare(root, tmp_path)
    assert summary["labels"] == {"background": 0, "left atrium": 1} and summary["channels"] == ["MRI"]
    assert summary["distance_unit"] == "mm" and "mm" in summary["distance_convention"]
    assert set(summary["splits"]["train"]["class_voxels"]) == {"background", "left atrium"}
    model, rows = _retrain_and_evaluate(outputs, baseline_spec("unet", {"base": 4, "depth": 2}), tmp_path, "unet")
    assert {r["structure"] for r in rows} == {"left atrium"}
    assert model["structures"] == ["left atrium"] and "dice_left atrium" in model
    assert not any(k.endswith(("_RV", "_MYO", "_LV")) for k in model)
    assert model["dice_mean"] == model["dice_left atrium"]  # the mean is over this set's one label
    table, _, columns = table2_rows({"unet": {0: model}}, {"unet": ["unet/summary.json"]}, "Atrium", None)
    assert [c for c in columns if c.startswith("dsc_")] == ["dsc_left_atrium", "dsc_avg", "dsc_left_atrium_sd",
                                                            "dsc_avg_sd", "dsc_avg_per_seed"]
    assert [r["source"] for r in table] == ["measured"]  # no paper rows without a paper table
    assert table[0]["dsc_left_atrium"] == round(100 * model["dice_left atrium"], 2)
    assert table[0]["distance_convention"] == model["distance_convention"]


def test_three_label_two_channel_3d_set_through_a_searched_network(tmp_path):
    names = ["Tumour core", "oedema", "enhancing-tumour"]
    root = write_nnunet_dataset(tmp_path / "brain", names, ["T1", "FLAIR"], n_cases=8, seed=3)
    outputs, summary = _prepare(root, tmp_path)
    train = load_slices(outputs["train"])
    assert train.image.shape[1:] == (2, 32, 32) and train.labels.num_classes == 4
    assert train.structures == {1: "Tumour core", 2: "oedema", 3: "enhancing-tumour"}
    genotype = Genotype(filters=4, kernel=3, layers=2, dropout=0.1, attention="se", fusion="add", activation="relu",
                        res_scale=1.0)
    # the config's arch has no channel or class count: retraining fits the network to the data
    spec = cardiac_spec(genotype, ArchSettings.from_config({}, 1, 2))
    model, rows = _retrain_and_evaluate(outputs, spec, tmp_path, "nas-nsga2")
    assert model["spec"]["arch"]["in_channels"] == 2 and model["spec"]["arch"]["num_classes"] == 4
    assert [r["structure"] for r in rows[:3]] == names
    assert model["structures"] == names
    table, _, columns = table2_rows({"nas-nsga2": {0: model}}, {"nas-nsga2": ["s.json"]}, "brain", None)
    assert [c for c in columns if c.startswith("hd95_") and not c.endswith("_sd")] == [
        "hd95_tumour_core", "hd95_oedema", "hd95_enhancing_tumour", "hd95_avg"]


def test_rgb_png_set_is_2d_in_pixels(tmp_path):
    root = write_nnunet_dataset(tmp_path / "polyps", ["polyp"], ["R", "G", "B"], n_cases=8, shape=(1, 48, 40),
                                ending=".png")
    outputs, summary = _prepare(root, tmp_path, fit="resize")
    test = load_slices(outputs["test"])
    assert test.image.shape[1:] == (3, 32, 32) and test.distance_unit == "pixel"
    assert "2-D" in summary["distance_convention"] and summary["fit"] == "resize"
    assert [c["slices"] for c in summary["cases"]] == [1] * 8  # each image is a one-slice volume
    # resized, not cropped: every polyp pixel is still there (give or take the interpolation)
    assert min(c["foreground_kept"] for c in summary["cases"]) > 0.5
    model, rows = _retrain_and_evaluate(outputs, baseline_spec("unet", {"base": 4, "depth": 2}), tmp_path, "unet")
    assert {r["distance_unit"] for r in rows} == {"pixel"} and {r["structure"] for r in rows} == {"polyp"}
    assert model["distance_convention"].startswith("2-D HD95 in pixels")


def test_a_paper_table_of_other_structures_is_refused(tmp_path):
    from mednas.errors import DataError
    from workflow_util import REPO

    summary = {"structures": ["lesion"]}
    with pytest.raises(DataError, match=r"reports structures \['myo', 'rv', 'lv'\].*\['lesion'\].*report.paper_table2"):
        table2_rows({"unet": {0: summary}}, {"unet": ["s.json"]}, "PH2",
                    REPO / "config" / "paper" / "cardiacnas_table2.csv")


def test_channel_count_must_match_the_files(tmp_path):
    from mednas.data.nnunet_raw import load_nnunet_raw
    from mednas.errors import DataError

    root = write_nnunet_dataset(tmp_path / "rgb", ["lesion"], ["R", "G", "B"], n_cases=2, shape=(1, 16, 16),
                                ending=".png")
    meta = json.loads((root / "dataset.json").read_text())
    (root / "dataset.json").write_text(json.dumps({**meta, "channel_names": {"0": "grey"}}))
    with pytest.raises(DataError, match=r"case_000_0000.png: 3 input channel\(s\), but dataset.json's channel_names "
                                        r"declares 1"):
        load_nnunet_raw(root)


@pytest.mark.slow
def test_whole_dag_on_a_generated_rgb_png_set(tmp_path):
    """Only config changes: a one-label RGB PNG set through search, retraining, evaluation, tables and
    figures; its tables show its own label, no cardiac structure, and no paper rows."""
    from workflow_util import mednas, snakemake, write_config

    root = write_nnunet_dataset(tmp_path / "Dataset501_Dots", ["polyp"], ["R", "G", "B"], n_cases=12,
                                shape=(1, 40, 40), ending=".png", name="Dots")
    cfg = write_config(
        tmp_path, device="cpu",
        dataset={"kind": "nnunet_raw", "path": str(root)},
        split={"source": "fractions", "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}},
        preprocess={"image_size": 32, "fit": "resize", "target_spacing": None},
        space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 3], "activations": ["relu", "elu"]},
        train={"batch_size": 4, "lr": 0.01, "val_batch_size": 16},
        supernet={"epochs": 1, "steps_per_epoch": 3, "sandwich_random": 1, "bn_recal_batches": 2},
        latency={"rounds": 1, "warmup": 1, "repeats": 1, "filter_points": 2, "overhead_genotypes": 1,
                 "check_genotypes": 3},
        search={"strategies": ["nsga2"], "population": 3, "generations": 2, "budgets": {"flops": None}},
        retrain={"epochs": 2, "steps_per_epoch": 3, "baselines": {"unet": {"base": 4, "depth": 2}}},
        report={"overlay_slices": 2, "paper_table2": None, "paper_table3": None},
    )
    res = snakemake(tmp_path, "results/mini/table2.csv", "results/mini/fig_overlays.png", "--configfile", str(cfg),
                    timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    with open(tmp_path / "results" / "mini" / "table2.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["model"] for r in table] == ["nas-nsga2", "unet"] and {r["source"] for r in table} == {"measured"}
    columns = list(table[0])
    assert "dsc_polyp" in columns and "hd95_polyp" in columns
    assert not any(c.endswith(("_rv", "_myo", "_lv")) for c in columns)
    assert {r["dataset"] for r in table} == {"Dots"} and {r["distance_unit"] for r in table} == {"pixel"}
    lut = json.loads((tmp_path / "results" / "mini" / "latency" / "lut_check.json").read_text())
    assert (lut["in_channels"], lut["num_classes"]) == (3, 2)
    audit = mednas(tmp_path, "audit", "results/mini/table2.csv")
    assert audit.returncode == 0, audit.stdout[-2000:]


def test_palette_png_masks_keep_their_indices(tmp_path):
    """Masks are often saved as palette PNGs: the indices are the labels, not the colours drawn."""
    from PIL import Image

    from mednas.data.volume import read_label

    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 2:5] = 1
    im = Image.fromarray(mask, mode="L").convert("P")
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # label 1 drawn red
    im.save(tmp_path / "mask.png")
    label, spacing = read_label(tmp_path / "mask.png")
    assert label.shape == (1, 8, 8) and set(np.unique(label)) == {0, 1} and spacing is None


def test_reserved_label_names_are_refused():
    from mednas.data.volume import LabelSet
    from mednas.errors import DataError

    for name in ("mean", "Avg", "lesion_std"):
        with pytest.raises(DataError, match="reserved"):
            LabelSet(("background", name), ("MRI",))


def test_prepare_warns_of_stray_files_and_ignores_unused_splits(tmp_path, caplog):
    root = write_nnunet_dataset(tmp_path / "dots", ["dot"], ["grey"], n_cases=8, shape=(1, 32, 32), ending=".png")
    (root / "imagesTr" / "Thumbs.db").write_bytes(b"\x00")
    (root / "splits.json").write_text(json.dumps({"train": ["nobody"], "val": [], "test": []}))
    with caplog.at_level("WARNING", logger="mednas"):
        _, summary = _prepare(root, tmp_path, fit="resize")  # splits by fractions: splits.json unused
    assert summary["dataset"]["volumes"] == 8
    assert any("Thumbs.db" in r.getMessage() and "unexpected_file" in r.getMessage() for r in caplog.records)
