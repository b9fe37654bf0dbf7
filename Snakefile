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
include: "workflow/rules/classify.smk"
include: "workflow/rules/mixsearch.smk"


# Every experiment of the config (each of `experiments`, or the one `experiment`), whole.
rule all:
    default_target: True
    input:
        [path for exp in EXPERIMENTS for path in experiment_outputs(exp)],
