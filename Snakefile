# mednas: resource-aware evolutionary NAS for medical image segmentation.
# Run from the repository root:  snakemake --cores 2   (see README.md)
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")


# The default config is found next to this Snakefile, whatever the working directory
# (-d); a --configfile given on the command line is merged over it, key by key.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"))

# Rule scripts import mednas from this checkout in any environment (--use-conda included):
# Snakemake appends its own sys.path to every Python script's, so src/ goes on it here.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/supernet.smk"
include: "workflow/rules/latency.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/retrain.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        expand("results/{exp}/config.yaml", exp=EXP),
        expand(
            "results/{exp}/data/{name}",
            exp=EXP,
            name=["train.npz", "val.npz", "test.npz", "data.json"],
        ),
        expand("results/{exp}/supernet/{name}", exp=EXP, name=["supernet.pt", "curve.csv"]),
        expand("results/{exp}/latency/{name}", exp=EXP, name=["lut.csv", "lut_check.csv", "lut_check.json", "lut_check.png"]),
        expand(
            "results/{exp}/search/{strategy}/{name}",
            exp=EXP,
            strategy=STRATEGIES,
            name=["archive.csv", "pareto.csv", "hypervolume.csv", "chosen.json", "cost.json"],
        ),
        expand("results/{exp}/models/{model}/{name}", exp=EXP, model=MODELS, name=["per_case.csv", "summary.json"]),
        expand("results/{exp}/{name}", exp=EXP, name=["table2.csv", "table3.csv"]),
        expand("results/{exp}/fig_{name}", exp=EXP,
               name=["pareto.png", "correlation.png", "correlation.csv", "curves.png", "overlays.png"]),
