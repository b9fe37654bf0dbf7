# Retraining and test evaluation: every searched model (nas-<strategy>) and every baseline, once per
# replicate (config key seeds), on the same data with the same optimiser (train:) and budget (retrain:).
wildcard_constraints:
    model="|".join([f"nas-({'|'.join(sorted(STRATEGIES))})", *map(re.escape, BASELINES)]),


rule retrain:
    wildcard_constraints:
        exp=SEG_EXP,
        seed=r"\d+",
    input:
        unpack(retrain_inputs),
    output:
        **with_prov(
            model="results/{exp}/models/{model}/seed{seed}/model.pt",
            curve="results/{exp}/models/{model}/seed{seed}/curve.csv",
        ),
    params:
        # Only this model's own settings, so that changing one baseline retrains only that one.
        baseline=lambda wc: EXPERIMENTS[wc.exp]["retrain"]["baselines"].get(wc.model),
        budget=lambda wc: {k: EXPERIMENTS[wc.exp]["retrain"].get(k) for k in ("epochs", "steps_per_epoch")},
        arch=setting("arch"),
        train=setting("train"),
        seed=replicate_seed,
        device=setting("device"),
        checkpoint="results/{exp}/models/{model}/seed{seed}/.checkpoint/last.pt",
    threads: setting("train", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/retrain_{model}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/retrain.py"


rule evaluate:
    wildcard_constraints:
        exp=SEG_EXP,
        seed=r"\d+",
    input:
        unpack(evaluate_inputs),
    output:
        **with_prov(
            per_case="results/{exp}/models/{model}/seed{seed}/per_case.csv",
            summary="results/{exp}/models/{model}/seed{seed}/summary.json",
        ),
    params:
        latency=setting("latency"),
        paper_image_size=setting("evaluate", "paper_image_size"),
        batch_size=setting("train", "val_batch_size"),
        device=setting("device"),
    threads: setting("train", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/evaluate_{model}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/evaluate.py"
