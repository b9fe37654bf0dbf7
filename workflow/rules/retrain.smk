# Retraining and test evaluation: every searched model (nas-<strategy>) and every baseline,
# on the same data with the same optimiser (train:) and budget (retrain:).
from mednas.models.registry import BASELINES, baseline_spec

BASELINE_MODELS = list(config["retrain"]["baselines"])
for _name, _settings in config["retrain"]["baselines"].items():
    baseline_spec(_name, _settings)  # an unknown baseline or setting stops the run before any job
MODELS = [f"nas-{s}" for s in STRATEGIES] + BASELINE_MODELS


wildcard_constraints:
    model="|".join(["nas-(ga|nsga2|moead_sa|random)", *map(re.escape, BASELINES)]),


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


rule retrain:
    input:
        unpack(retrain_inputs),
    output:
        **with_prov(
            model="results/{exp}/models/{model}/model.pt",
            curve="results/{exp}/models/{model}/curve.csv",
        ),
    params:
        # Only this model's own settings, so that changing one baseline retrains only that one.
        baseline=lambda wc: config["retrain"]["baselines"].get(wc.model),
        budget={k: config["retrain"].get(k) for k in ("epochs", "steps_per_epoch")},
        arch=config["arch"],
        train=config["train"],
        seed=config["seed"],
        device=config["device"],
        checkpoint="results/{exp}/models/{model}/.checkpoint/last.pt",
    threads: config["train"]["threads"]
    resources:
        gpu=GPU,
    log:
        "logs/{exp}/retrain_{model}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/retrain.py"


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        **with_prov(
            per_case="results/{exp}/models/{model}/per_case.csv",
            summary="results/{exp}/models/{model}/summary.json",
        ),
    params:
        latency=config["latency"],
        paper_image_size=config["evaluate"]["paper_image_size"],
        batch_size=config["train"]["val_batch_size"],
        device=config["device"],
    threads: config["train"]["threads"]
    resources:
        gpu=GPU,
    log:
        "logs/{exp}/evaluate_{model}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/evaluate.py"
