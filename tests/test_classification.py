"""The classification track: MedMNIST through the medmnist package, MedMNIST's metrics, training with
the best-validation checkpoint, the MSTF network, and the whole DAG on generated MedMNIST files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mednas.data.medmnist import load_medmnist, subset_info
from mednas.errors import ConfigError, DataError
from mednas.metrics.classification import medmnist_scores
from mednas.train.classify import ClassifySettings, fit_classifier, predict

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "medmnist"


def write_medmnist(root: Path, flag: str, n=(40, 12, 16), channels: int = 1, classes: int = 2, seed: int = 0,
                   signal: float = 60.0) -> Path:
    """An npz in the official layout: class k brightens a k-dependent square, so it can be learnt."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, count in zip(("train", "val", "test"), n):
        labels = rng.integers(0, classes, size=(count, 1))
        shape = (count, 28, 28) if channels == 1 else (count, 28, 28, channels)
        imgs = rng.normal(100, 20, size=shape)
        for i, k in enumerate(labels[:, 0]):
            imgs[i, 4 * k:4 * k + 8, 4 * k:4 * k + 8] += signal
        arrays[f"{split}_images"] = np.clip(imgs, 0, 255).astype(np.uint8)
        arrays[f"{split}_labels"] = labels.astype(np.uint8)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{flag}.npz"
    np.savez(path, **arrays)
    return path


def test_loader_reads_generated_files_with_the_package(tmp_path):
    write_medmnist(tmp_path, "dermamnist", channels=3, classes=7)
    info, splits = load_medmnist(tmp_path, "dermamnist")
    assert info.task == "multi-class" and info.num_classes == 7 and info.in_channels == 3
    assert splits["train"].images.shape == (40, 3, 28, 28) and splits["train"].images.dtype == np.float32
    assert splits["test"].labels.shape == (16,) and splits["val"].labels.dtype == np.int64
    assert -1.0 <= splits["train"].images.min() and splits["train"].images.max() <= 1.0


def test_loader_refuses_what_it_cannot_train_and_names_the_file(tmp_path):
    with pytest.raises(DataError, match="breastmnist.npz: MedMNIST file not found"):
        load_medmnist(tmp_path, "breastmnist")
    with pytest.raises(ConfigError, match="multi-label"):
        subset_info("chestmnist")
    with pytest.raises(ConfigError, match="3-D"):
        subset_info("organmnist3d")
    with pytest.raises(ConfigError, match="unknown MedMNIST subset 'breast'"):
        subset_info("breast")
    write_medmnist(tmp_path, "pneumoniamnist", channels=3)  # the subset is greyscale
    with pytest.raises(DataError, match="1 channel"):
        load_medmnist(tmp_path, "pneumoniamnist")


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED / "breastmnist.npz").is_file(), reason="../shared/data/medmnist absent")
def test_real_medmnist_subsets_have_their_official_splits():
    info, s = load_medmnist(SHARED, "breastmnist")
    assert [len(s[k].labels) for k in ("train", "val", "test")] == [546, 78, 156] and info.in_channels == 1
    info, s = load_medmnist(SHARED, "retinamnist")
    assert [len(s[k].labels) for k in ("train", "val", "test")] == [1080, 120, 400]
    assert info.task == "ordinal-regression" and s["train"].images.shape[1] == 3 and info.num_classes == 5
    # this copy's PneumoniaMNIST holds 3,882 of the official 4,708 training images (its README); val and
    # test are official
    info, s = load_medmnist(SHARED, "pneumoniamnist")
    assert [len(s[k].labels) for k in ("train", "val", "test")] == [3882, 524, 624] and info.num_classes == 2


def test_medmnist_scores_follow_the_benchmarks_definitions():
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.3, 0.7]])
    s = medmnist_scores(y, p, "binary-class")
    # binary: ACC of p(class 1) > 0.5 -> [0, 1, 0, 1] vs [0, 1, 1, 0]; AUC of p(class 1): pairs (1 vs 0)
    # 0.6>0.1, 0.6<0.7, 0.4>0.1, 0.4<0.7 -> 2 of 4
    assert s == {"acc": 0.5, "auc": 0.5}
    y3 = np.array([0, 1, 2, 2])
    p3 = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    s3 = medmnist_scores(y3, p3, "multi-class")
    # class 2 vs rest: positives 0.7, 0.3 against negatives 0.1, 0.3: 3 wins and a tie of 4 pairs -> 0.875
    assert s3["acc"] == 0.75 and s3["auc"] == pytest.approx((1.0 + 1.0 + 0.875) / 3)


def test_training_keeps_the_epoch_with_the_best_validation_auc(tmp_path):
    write_medmnist(tmp_path, "breastmnist", n=(96, 32, 32))
    info, s = load_medmnist(tmp_path, "breastmnist")
    from mednas.models.registry import build_model

    model = build_model({"kind": "resnet18", "conv1": 3, "stride": 2, "max_pool": 1, "in_channels": 1,
                         "num_classes": 2})
    settings = ClassifySettings(epochs=4, batch_size=32, lr=0.01)
    fit = fit_classifier(model, s["train"].images, s["train"].labels, s["val"].images, s["val"].labels, info.task,
                         settings, "cpu", 0)
    aucs = [r["val_auc"] for r in fit.rows]
    assert len(fit.rows) == 4 and fit.best_epoch == int(np.argmax(aucs)) + 1
    model.load_state_dict(fit.best_state)  # the kept weights score what the curve says
    again = medmnist_scores(s["val"].labels, predict(model, s["val"].images, "cpu"), info.task)
    assert again["auc"] == pytest.approx(aucs[fit.best_epoch - 1])
    assert fit.rows[-1]["lr"] == pytest.approx(0.01 * 0.1 ** 2)  # dropped at 50 % and 75 %


def test_classify_settings_refuse_bad_values():
    with pytest.raises(ConfigError, match="optimizer"):
        ClassifySettings(optimizer="lamb")
    with pytest.raises(ConfigError, match="unknown key"):
        ClassifySettings.from_config({"epoch": 3})


def test_resnet18_baseline_is_monais_with_medmnists_stem():
    from monai.networks.nets import ResNet

    from mednas.models.registry import baseline_spec, build_model, fit_to_data

    net = build_model(fit_to_data(baseline_spec("resnet18", {}), 3, 5))
    assert isinstance(net, ResNet) and net.conv1.stride == (1, 1) and net.conv1.kernel_size == (3, 3)
    assert net(torch.zeros(2, 3, 28, 28)).shape == (2, 5)
    with pytest.raises(ConfigError, match="unknown key"):
        baseline_spec("resnet18", {"depth": 4})


def _cls_config(folder: Path, data: Path) -> Path:
    exp = {
        "task": "classification",
        "dataset": {"kind": "medmnist", "path": str(data), "flag": "breastmnist", "size": 28},
        "space": {"name": "mstf", "blocks": 2, "channels": 8},
        "search": {"strategies": ["nsga2", "random"], "evaluator": "zerocost", "objectives": ["mstf"],
                   "population": 4, "generations": 2, "choose": "indicator_sum",
                   "zerocost": {"batch_size": 8, "indicators": ["jacob_cov", "synflow"]}},
        "classify": {"seeds": [0, 1], "threads": 1, "baselines": {"resnet18": {"conv1": 7, "stride": 2, "max_pool": 1}},
                     "train": {"epochs": 2, "batch_size": 16}},
    }
    path = folder / "cls.yaml"
    path.write_text(yaml.safe_dump({"experiments": {"breast": exp}}))
    return path


def run_dag_on_generated_breastmnist(tmp_path: Path, write_config) -> None:
    """Generated BreastMNIST files, the config ``write_config(folder, data)`` writes, `rule all` run."""
    from workflow_util import snakemake

    data = tmp_path / "medmnist"
    write_medmnist(data, "breastmnist")
    res = snakemake(tmp_path, "--configfile", str(write_config(tmp_path, data)), timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]


def assert_audited(tmp_path: Path, path: Path) -> None:
    from workflow_util import mednas

    audit = mednas(tmp_path, "audit", str(path))
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_classification_dag_end_to_end_on_generated_medmnist(tmp_path):
    run_dag_on_generated_breastmnist(tmp_path, _cls_config)
    out = tmp_path / "results" / "breast"
    acc = (out / "table2_acc.csv").read_text().splitlines()
    measured = [line for line in acc if ",measured," in line]
    paper = [line for line in acc if ",paper," in line]
    assert len(measured) == 3 and len(paper) == 13  # nsga2, random, resnet18; then the paper's rows
    assert acc.index(measured[-1]) < acc.index(paper[0])  # measured first
    assert any(line.startswith('"MSTF-NAS (Ours)",,paper,breastmnist,0.872') or "0.872" in line for line in paper)
    chosen = json.loads((out / "search" / "nsga2" / "chosen.json").read_text())
    assert chosen["rule"] == "indicator_sum" and chosen["spec"]["kind"] == "mstf" and chosen["population"] == 4
    for seed in (0, 1):
        m = json.loads((out / "models" / "nas-nsga2" / f"seed{seed}" / "metrics.json").read_text())
        assert m["seed"] == seed and 0 <= m["test_acc"] <= 1 and m["epochs"] == 2
    minutes = (out / "table4_search_minutes.csv").read_text()
    assert ",measured," in minutes and "MSTF-NAS (Ours),,paper,breastmnist,10" in minutes.replace('"', "")
    assert_audited(tmp_path, out / "table2_acc.csv")


def test_objectives_table_rows_and_paper_rows(tmp_path):
    """MSTF-NAS Table IX from hand-made runs: one row per construction (mean, SD over seeds), then the
    paper's rows unchanged; its FLOPs stay in the paper's column, ours in flops_m_2xmacs."""
    from mednas.report.classification import OBJECTIVES_COLUMNS, objectives_table

    def run(seed, acc, auc):
        return {"seed": seed, "test_acc": acc, "test_auc": auc, "params": 250_000, "flops": 3_000_000}

    metrics = {"eq5-jacob_cov+synflow": [run(0, 0.8, 0.9), run(1, 0.7, 0.8)],
               "flops_sum-synflow": [run(0, 0.6, 0.7)]}
    paper = Path(__file__).resolve().parents[1] / "config" / "paper" / "mstf_table9_objectives.csv"
    rows = objectives_table(metrics, "breastmnist", paper)
    assert [r["source"] for r in rows] == ["measured"] * 2 + ["paper"] * 5
    eq5, single = rows[0], rows[1]
    assert (eq5["construction"], eq5["indicators"]) == ("eq5", "jacob_cov+synflow")
    assert eq5["acc"] == 0.75 and eq5["acc_sd"] == pytest.approx(0.0707, abs=1e-4) and eq5["seeds"] == "0 1"
    assert single["construction"] == "flops_sum" and single["acc_sd"] == "" and single["flops_m_2xmacs"] == 3.0
    assert "FLOPs" in single["note"] and "flops_m" not in eq5 and "params_mb" not in eq5  # written empty
    assert rows[-1]["variant"] == "MSTF-NAS (Ours)" and rows[-1]["acc"] == "0.850" and rows[-1]["flops_m"] == "14.62"
    assert set(rows[0]) <= set(OBJECTIVES_COLUMNS)
    with pytest.raises(DataError, match="unknown construction 'sum'"):
        objectives_table({"sum-synflow": [run(0, 0.5, 0.5)]}, "breastmnist", None)
    bad = tmp_path / "paper.csv"
    bad.write_text(paper.read_text().replace(",paper", ",measured", 1))
    with pytest.raises(DataError, match="not marked source=paper"):
        objectives_table(metrics, "breastmnist", bad)


@pytest.mark.slow
def test_table9_target_runs_each_construction(tmp_path):
    """Target table9_objectives.csv: NSGA-II once per objective construction, its pick retrained per seed,
    and the experiment's own (Eq. 5) pick; an invalid construction stops the run before any job."""
    from workflow_util import snakemake

    data = tmp_path / "medmnist"
    write_medmnist(data, "breastmnist")
    cfg = yaml.safe_load(_cls_config(tmp_path, data).read_text())
    exp = cfg["experiments"]["breast"]
    exp["search"]["strategies"] = ["nsga2"]
    exp["classify"] |= {"seeds": [0], "baselines": {},
                        "objective_variants": [{"construction": "no_flops", "indicators": ["jacob_cov", "synflow"]},
                                               {"construction": "flops_sum", "indicators": ["synflow"]}]}
    path = tmp_path / "cls.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = snakemake(tmp_path, "results/breast/table9_objectives.csv", "--configfile", str(path), timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / "breast"
    for variant, construction, indicators in (("no_flops-jacob_cov+synflow", "no_flops", ["jacob_cov", "synflow"]),
                                              ("flops_sum-synflow", "flops_sum", ["synflow"])):
        search = out / "ablation" / variant / "search" / "nsga2"
        rec = json.loads((search / "chosen.json.prov.json").read_text())
        assert rec["params"]["search"]["zerocost"]["construction"] == construction
        assert rec["params"]["search"]["zerocost"]["indicators"] == indicators
        archive = (search / "archive.csv").read_text().splitlines()[0].split(",")
        assert set(indicators) <= set(archive) and (("jacob_cov" in archive) == ("jacob_cov" in indicators))
    lines = (out / "table9_objectives.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:4]] == ["eq5-jacob_cov+synflow", "no_flops-jacob_cov+synflow",
                                                          "flops_sum-synflow"]
    assert sum(",paper," in line for line in lines) == 5
    assert_audited(tmp_path, out / "table9_objectives.csv")
    exp["classify"]["objective_variants"] = [{"construction": "eq5", "indicators": ["synflow"]}]
    path.write_text(yaml.safe_dump(cfg))
    res = snakemake(tmp_path, "-n", "results/breast/table9_objectives.csv", "--configfile", str(path))
    assert res.returncode != 0 and "construction eq5 takes 2" in res.stdout + res.stderr
    # the experiment's own search is the Eq. 5 row: a variant repeating it, or another own construction, is refused
    for variants, construction, message in (
            ([{"construction": "eq5", "indicators": ["jacob_cov", "synflow"]}], None, "repeats the experiment's own"),
            ([{"construction": "no_flops", "indicators": ["jacob_cov", "synflow"]}], "flops_sum", "construction eq5")):
        exp["classify"]["objective_variants"] = variants
        if construction:
            exp["search"]["zerocost"]["construction"] = construction
        path.write_text(yaml.safe_dump(cfg))
        res = snakemake(tmp_path, "-n", "results/breast/table9_objectives.csv", "--configfile", str(path))
        assert res.returncode != 0 and message in res.stdout + res.stderr


def test_spaces_table_rows_and_paper_rows(tmp_path):
    """MSTF-NAS Table X from hand-made runs: a row per search space with its pick, candidates and search
    minutes (mean, SD over seeds), then the paper's three rows unchanged."""
    from mednas.report.classification import SPACES_COLUMNS, spaces_table

    def run(seed, acc, auc):
        return {"seed": seed, "test_acc": acc, "test_auc": auc, "params": 120_000, "flops": 2_000_000}

    metrics = {"mstf": [run(0, 0.8, 0.9), run(1, 0.6, 0.7)], "darts": [run(0, 0.7, 0.75)]}
    chosen = {"mstf": {"key": "mstf-1", "spec": {"kind": "mstf"}}, "darts": {"key": "darts-2", "spec": {"kind": "darts"}}}
    costs = {s: {"candidates": 100, "search_seconds": 90.0} for s in metrics}
    paper = Path(__file__).resolve().parents[1] / "config" / "paper" / "mstf_table10_spaces.csv"
    rows = spaces_table(metrics, chosen, costs, "breastmnist", paper)
    assert [r["source"] for r in rows] == ["measured"] * 2 + ["paper"] * 3
    assert rows[0]["acc"] == 0.7 and rows[0]["acc_sd"] == pytest.approx(0.1414, abs=1e-4) and rows[0]["pick"] == "mstf-1"
    assert rows[1]["space_kind"] == "darts" and rows[1]["search_minutes"] == 1.5 and rows[1]["candidates"] == 100
    assert rows[2]["space"] == "DARTS" and rows[2]["acc"] == "0.825" and rows[-1]["auc"] == "0.932"
    assert all(set(r) <= set(SPACES_COLUMNS) for r in rows)
    with pytest.raises(DataError, match="search space 'darts': no chosen.json"):
        spaces_table(metrics, {"mstf": chosen["mstf"]}, costs, "breastmnist", None)


@pytest.mark.slow
def test_table10_target_searches_each_space(tmp_path):
    """Target table10_spaces.csv: each space of classify.space_variants searched at random in one batch of
    classify.space_candidates, its pick retrained per seed; a space the registry lacks, or a search that
    is not MSTF-NAS's Eq. 5, stops the run before any job."""
    from workflow_util import snakemake

    data = tmp_path / "medmnist"
    write_medmnist(data, "breastmnist")
    cfg = yaml.safe_load(_cls_config(tmp_path, data).read_text())
    exp = cfg["experiments"]["breast"]
    exp["classify"] |= {"seeds": [0], "baselines": {}, "space_candidates": 6,
                        "space_variants": {"mstf": {"name": "mstf", "blocks": 2, "channels": 8},
                                           "darts": {"name": "darts", "blocks": 1, "channels": 4},
                                           "nsganet": {"name": "nsganet", "blocks": 2, "nodes": 3, "channels": 4}}}
    path = tmp_path / "cls.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # the spaces in config order
    res = snakemake(tmp_path, "results/breast/table10_spaces.csv", "results/table10_spaces_average.csv",
                    "--configfile", str(path), timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / "breast"
    for space in ("mstf", "darts", "nsganet"):
        search = out / "spaces" / space / "search" / "random"
        chosen = json.loads((search / "chosen.json").read_text())
        assert chosen["spec"]["kind"] == space and chosen["rule"] == "indicator_sum" and chosen["population"] == 6
        record = json.loads((search / "chosen.json.prov.json").read_text())
        assert record["params"]["space"]["name"] == space and "space" not in record["config"]
        assert len((search / "archive.csv").read_text().splitlines()) == 7
        m = json.loads((out / "spaces" / space / "models" / "nas-random" / "seed0" / "metrics.json").read_text())
        assert 0 <= m["test_acc"] <= 1
    lines = (out / "table10_spaces.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:4]] == ["mstf", "darts", "nsganet"]
    assert sum(",paper," in line for line in lines) == 3
    assert_audited(tmp_path, out / "table10_spaces.csv")
    # one subset: its average is its own table's measured rows
    average = (tmp_path / "results" / "table10_spaces_average.csv").read_text().splitlines()
    for line, avg in zip(lines[1:4], average[1:4]):
        acc = float(line.split(",")[4])
        assert avg.split(",")[0] == line.split(",")[0] and float(avg.split(",")[4]) == pytest.approx(acc, abs=1e-4)
    assert_audited(tmp_path, tmp_path / "results" / "table10_spaces_average.csv")
    assert (tmp_path / "results" / "fig_table10_spaces.png").read_bytes()[:4] == b"\x89PNG"
    for change, message in ((lambda e: e["classify"]["space_variants"].update(x={"name": "nas-bench"}),
                             "classify.space_variants.x: space.name: unknown search space 'nas-bench'"),
                            (lambda e: e["classify"]["space_variants"].update(seg={"name": "cardiac"}),
                             "classify.space_variants.seg.name: space 'cardiac' builds segmentation networks, not "
                             "classification ones"),
                            (lambda e: e["classify"]["space_variants"]["darts"].update(nodes=4),
                             "classify.space_variants.darts: space: unknown key(s) ['nodes']"),
                            (lambda e: e["search"]["zerocost"].update(construction="no_flops"),
                             "needs search.evaluator zerocost and search.zerocost.construction eq5")):
        bad = yaml.safe_load(yaml.safe_dump(cfg))
        change(bad["experiments"]["breast"])
        path.write_text(yaml.safe_dump(bad, sort_keys=False))
        res = snakemake(tmp_path, "-n", "results/breast/table10_spaces.csv", "--configfile", str(path))
        assert res.returncode != 0 and message in res.stdout + res.stderr, res.stdout[-2000:] + res.stderr[-2000:]


def test_subsets_average_needs_the_same_rows_everywhere():
    """Tables IX / X as the paper prints them: each row's mean over the subsets' tables, then the paper's rows."""
    from mednas.report.classification import average_columns, paper_average_rows, subsets_average

    def row(space, dataset, acc, auc):
        return {"space": space, "source": "measured", "dataset": dataset, "acc": str(acc), "auc": str(auc)}

    paper = paper_average_rows(Path(__file__).resolve().parents[1] / "config" / "paper" / "mstf_table10_spaces.csv",
                               "space")
    tables = {"a.csv": [row("mstf", "breastmnist", 0.8, 0.9), row("darts", "breastmnist", 0.7, 0.8),
                        {"space": "DARTS", "source": "paper", "acc": "0.825", "auc": "0.926"}],
              "b.csv": [row("darts", "retinamnist", 0.5, 0.6), row("mstf", "retinamnist", 0.4, 0.7)]}
    rows = subsets_average(tables, "space", paper)
    assert [(r["space"], r["source"]) for r in rows][:2] == [("mstf", "measured"), ("darts", "measured")]
    assert rows[0]["acc"] == 0.6 and rows[0]["auc"] == 0.8 and rows[0]["datasets"] == "breastmnist retinamnist"
    assert rows[1]["acc_per_dataset"] == "0.7000 0.5000" and rows[1]["n_datasets"] == 2
    assert [r["source"] for r in rows[2:]] == ["paper"] * 3 and rows[-1]["acc"] == "0.838"
    assert all(set(r) <= set(average_columns("space")) for r in rows)
    tables["b.csv"] = tables["b.csv"][:1]
    with pytest.raises(DataError, match="needs the same spaces everywhere"):
        subsets_average(tables, "space", [])
