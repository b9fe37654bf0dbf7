# Supernet stage: one weight-sharing network over the whole search space.


rule train_supernet:
    input:
        train="results/{exp}/data/train.npz",
        val="results/{exp}/data/val.npz",
    output:
        **with_prov(
            supernet="results/{exp}/supernet/supernet.pt",
            curve="results/{exp}/supernet/curve.csv",
        ),
    params:
        space=setting("space"),
        arch=setting("arch"),
        train=setting("train"),
        supernet=setting("supernet"),
        seed=setting("seed"),
        device=setting("device"),
        checkpoint="results/{exp}/supernet/.checkpoint/last.pt",
    threads: setting("train", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/train_supernet.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/train_supernet.py"
