# Data stage: a raw data set (generated phantom or a real copy) -> 2-D slices per split.
import json


# A checkpoint: prepare lists the files it writes, which are known only once it has run.
checkpoint make_phantom:
    output:
        raw=directory("resources/{exp}/raw"),
        raw_prov="resources/{exp}/raw.prov.json",
    params:
        patients=setting("dataset", "phantom", "patients"),
        seed=setting("dataset", "phantom", "seed"),
    log:
        "logs/{exp}/make_phantom.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/make_phantom.py"


rule prepare:
    input:
        unpack(dataset_input),
    output:
        **with_prov(
            train="results/{exp}/data/train.npz",
            val="results/{exp}/data/val.npz",
            test="results/{exp}/data/test.npz",
            summary="results/{exp}/data/data.json",
        ),
    params:
        dataset=setting("dataset"),
        split=setting("split"),
        preprocess=setting("preprocess"),
    log:
        "logs/{exp}/prepare.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/prepare.py"


rule effective_config:
    """The configuration as merged and defaulted, the one every rule of this run sees."""
    output:
        **with_prov(config="results/{exp}/config.yaml"),
    params:
        # The experiment's whole config as a param: Snakemake reruns the rule when any key changes.
        config=lambda wildcards: json.dumps(EXPERIMENTS[wildcards.exp], sort_keys=True, default=str),
    log:
        "logs/{exp}/effective_config.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/effective_config.py"
