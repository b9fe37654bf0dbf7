# Helpers shared by every rule file.
import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from mednas.models.registry import BASELINES, baseline_spec, check_image_size
from mednas.data.sources import dataset_labels, dataset_name
from mednas.provenance import expand_inputs

EXP = config["experiment"]
CONDA_ENV = "../../envs/mednas.yaml"


wildcard_constraints:
    exp=re.escape(EXP),


def with_prov(**outputs):
    """Named outputs plus one provenance sidecar per output (Snakemake tracks both)."""
    named = dict(outputs)
    for name, path in outputs.items():
        plain = path.path if hasattr(path, "path") else str(path)
        named[f"{name}_prov"] = f"{plain}.prov.json"
    return named


def dataset_input(wildcards):
    """The raw data set folder (generated phantom, or the user's copy named in the config) and
    every file in it: editing a file in place (a corrected label map) changes that file's time
    stamp, not the folder's, and must still make `prepare` rerun. The phantom's files are known
    once its checkpoint has run (Snakemake dates a directory output by its own time stamp file,
    which an edit inside does not touch)."""
    ds = config["dataset"]
    if ds["kind"] == "phantom":
        raw = checkpoints.make_phantom.get(exp=wildcards.exp).output.raw
        return {"raw": raw, "files": [str(p) for p in expand_inputs([raw])]}
    # dataset.path was checked when the workflow was read (_dataset_name)
    inputs = {"raw": ds["path"], "files": [str(p) for p in expand_inputs([ds["path"]])]}
    split_file = config["split"].get("file")
    if config["split"].get("source") == "file" and split_file:
        inputs["split"] = split_file
    return inputs


# GPU rules ask for one GPU unless the config pins the CPU; `--resources gpu=1` (local
# profile) then keeps two GPU jobs from sharing a card, and SLURM turns it into --gpus=1.
GPU = 0 if config.get("device", "auto") == "cpu" else 1


def search_inputs(wildcards):
    """Data, latency table, and the supernet when candidates inherit its weights."""
    inputs = {
        "train": f"results/{wildcards.exp}/data/train.npz",
        "val": f"results/{wildcards.exp}/data/val.npz",
        "lut": f"results/{wildcards.exp}/latency/lut.csv",
    }
    if config["search"]["evaluator"] == "inherit":
        inputs["supernet"] = f"results/{wildcards.exp}/supernet/supernet.pt"
    return inputs


def latency_threads():
    """latency.job_threads, else every core of a local run, so that no job runs beside the
    measurement; under a cluster executor (no --cores) 1, which the profile's set-threads overrides."""
    if config["latency"]["job_threads"]:
        return config["latency"]["job_threads"]
    try:
        return workflow.cores
    except WorkflowError:
        return 1


for _name, _settings in config["retrain"]["baselines"].items():
    baseline_spec(_name, _settings)  # an unknown baseline or setting stops the run before any job
check_image_size(config["preprocess"]["image_size"], config["space"], config["retrain"]["baselines"],
                 config["supernet"].get("image_size"))


def retrain_inputs(wildcards):
    """Data, and for a searched model the genotype its search chose."""
    inputs = {
        "train": f"results/{wildcards.exp}/data/train.npz",
        "val": f"results/{wildcards.exp}/data/val.npz",
    }
    if wildcards.model.startswith("nas-"):
        inputs["chosen"] = f"results/{wildcards.exp}/search/{wildcards.model[4:]}/chosen.json"
    elif wildcards.model not in config["retrain"]["baselines"]:
        raise ValueError(f"model '{wildcards.model}' is not in config key retrain.baselines")
    return inputs


def evaluate_inputs(wildcards):
    """The model, the test split, and for a searched model its search cost (for GPU days)."""
    inputs = {
        "model": f"results/{wildcards.exp}/models/{wildcards.model}/model.pt",
        "test": f"results/{wildcards.exp}/data/test.npz",
        "data": f"results/{wildcards.exp}/data/data.json",
    }
    if wildcards.model.startswith("nas-"):
        inputs["cost"] = f"results/{wildcards.exp}/search/{wildcards.model[4:]}/cost.json"
    return inputs


# Table II's data set column: the phantom's, ACDC's or the name in an nnU-Net raw dataset.json
# (prepare records the same name in data.json). Also where dataset.path is checked, once.
def _dataset_name():
    ds = config["dataset"]
    if ds["kind"] != "phantom":
        if not ds.get("path"):
            raise ValueError(f"config key dataset.path is required when dataset.kind is '{ds['kind']}'")
        if not Path(ds["path"]).is_dir():
            raise ValueError(f"dataset.path: {ds['path']} is not a folder (dataset.kind is '{ds['kind']}')")
    return dataset_name(ds["kind"], ds.get("path") or "")


DATASET_NAME = _dataset_name()
# Labels and input channels, from the data set's description: rules that build networks before
# any data are prepared (the latency table) take them as params, so a new label set reruns them.
LABELS = dataset_labels(config["dataset"]["kind"], config["dataset"].get("path") or "")


def paper_table(key):
    """A paper table named in the config (None where it names none); relative paths are read from
    the Snakefile's folder."""
    path = config["report"][key]
    if path is None:
        return None
    return path if os.path.isabs(path) else os.path.join(workflow.basedir, path)


