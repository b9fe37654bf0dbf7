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
        space=config["space"],
        arch=config["arch"],
        train=config["train"],
        supernet=config["supernet"],
        seed=config["seed"],
        device=config["device"],
        checkpoint="results/{exp}/supernet/.checkpoint/last.pt",
    threads: config["train"]["threads"]
    resources:
        gpu=GPU,
    log:
        "logs/{exp}/train_supernet.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/train_supernet.py"
