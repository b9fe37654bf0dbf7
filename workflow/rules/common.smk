# Helpers shared by every rule file.
import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mednas.data.medmnist import subset_file, subset_info
from mednas.data.sources import describe_dataset
from mednas.errors import ConfigError
from mednas.report.classification import paper_rows
from mednas.space.base import make_space
from mednas.experiments import experiment_configs
from mednas.models.registry import BASELINES, baseline_spec, check_image_size, check_network_task
from mednas.provenance import expand_inputs
from mednas.report.tables import table2_columns
from mednas.search.mixsearch_config import check_mixsearch
from mednas.search.objectives import Objectives, parse_variant, variant_name
from mednas.search.strategies import STRATEGIES
from mednas.search.surrogate import check_strategies
from mednas.search.rerank import check_rerank, rerank_plan
from mednas.search.stages import check_segmentation_search
from mednas.cost.latency import has_latency_table

CONDA_ENV = "../../envs/mednas.yaml"
# A Table X {space}: a name of classify.space_variants.
SPACE_REGEX = r"[A-Za-z0-9_]+"

# Every experiment of the config, by name: `experiments` (name -> settings over the shared
# keys), or the one experiment the `experiment` key names. Each is checked on its own, so a
# misspelt key inside an experiment's settings stops the run too.
EXPERIMENTS = experiment_configs(config)
for _cfg in EXPERIMENTS.values():
    validate(_cfg, os.path.join(workflow.basedir, "config", "schema.yaml"))


wildcard_constraints:
    exp="|".join(map(re.escape, EXPERIMENTS)),


def _names_regex(names):
    """A wildcard regex matching exactly ``names`` (one that matches nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "(?!)"


# The two kinds of experiment run different rules that may write the same file names
# (search/*, table2.csv): each rule takes only its own kind's experiments.
SEGMENTATION = [e for e, c in EXPERIMENTS.items() if c["task"] == "segmentation"]
CLASSIFICATION = [e for e, c in EXPERIMENTS.items() if c["task"] == "classification"]
MIXSEARCH = [e for e, c in EXPERIMENTS.items() if c["task"] == "mixsearch"]
SEG_EXP, CLS_EXP, MIX_EXP = _names_regex(SEGMENTATION), _names_regex(CLASSIFICATION), _names_regex(MIXSEARCH)


def setting(*keys):
    """The value at ``keys`` in the config of the job's experiment, as a param or resource of a rule."""

    def get(wildcards, **_):
        value = EXPERIMENTS[wildcards.exp]
        for key in keys:
            value = value[key]
        return value

    return get


def strategies(exp):
    """The search strategies an experiment runs (one search and one retrained model each)."""
    return list(EXPERIMENTS[exp]["search"]["strategies"])


def models(exp):
    """Every model an experiment retrains and evaluates: nas-<strategy>, then the baselines."""
    return [f"nas-{s}" for s in strategies(exp)] + list(EXPERIMENTS[exp]["retrain"]["baselines"])


def seeds(exp):
    """A segmentation experiment's replicates (config key seeds)."""
    return list(EXPERIMENTS[exp]["seeds"])


def replicate_search(wildcards):
    """The search settings of replicate {seed}: the search seed is search.seed + replicate."""
    search = EXPERIMENTS[wildcards.exp]["search"]
    return {**search, "seed": int(search["seed"]) + int(wildcards.seed)}


def replicate_seed(wildcards):
    """The training seed of replicate {seed}: seed + replicate."""
    return int(EXPERIMENTS[wildcards.exp]["seed"]) + int(wildcards.seed)


def model_runs(exp, name):
    """``{model: [results/<exp>/models/<model>/seed<s>/<name> for every replicate]}``."""
    return {m: [f"results/{exp}/models/{m}/seed{k}/{name}" for k in seeds(exp)] for m in models(exp)}


def first_runs(exp, name):
    """Each model's file ``name`` of the first replicate (the figures show one run)."""
    return [paths[0] for paths in model_runs(exp, name).values()]


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
    cfg = EXPERIMENTS[wildcards.exp]
    ds = cfg["dataset"]
    if ds["kind"] == "phantom":
        raw = checkpoints.make_phantom.get(exp=wildcards.exp).output.raw
        return {"raw": raw, "files": [str(p) for p in expand_inputs([raw])]}
    # dataset.path was checked when the workflow was read (_check_dataset_path)
    inputs = raw_folder_input(ds["path"])
    split_file = cfg["split"].get("file")
    if cfg["split"].get("source") == "file" and split_file:
        inputs["split"] = split_file
    return inputs


def raw_folder_input(path):
    """A raw data set folder and every file in it (see dataset_input)."""
    return {"raw": path, "files": [str(p) for p in expand_inputs([path])]}


def gpu(wildcards, **_):
    """GPU rules ask for one GPU unless the experiment pins the CPU; `--resources gpu=1` (local
    profile) then keeps two GPU jobs from sharing a card, and SLURM turns it into --gpus=1."""
    return 0 if EXPERIMENTS[wildcards.exp].get("device", "auto") == "cpu" else 1


def search_inputs(wildcards):
    """Data, the latency table where the space has one, and the supernet when candidates inherit its weights."""
    inputs = {
        "train": f"results/{wildcards.exp}/data/train.npz",
        "val": f"results/{wildcards.exp}/data/val.npz",
    }
    if has_lut(wildcards.exp):
        inputs["lut"] = f"results/{wildcards.exp}/latency/lut.csv"
    if EXPERIMENTS[wildcards.exp]["search"]["evaluator"] == "inherit":
        inputs["supernet"] = f"results/{wildcards.exp}/supernet/supernet.pt"
    return inputs


def has_lut(exp):
    """Whether the experiment's space is priced by the latency look-up table (the cardiac space only)."""
    return has_latency_table(make_space(EXPERIMENTS[exp]["space"]))


def latency_threads(wildcards, **_):
    """latency.job_threads, else every core of a local run, so that no job runs beside the
    measurement; under a cluster executor (no --cores) 1, which the profile's set-threads overrides."""
    if EXPERIMENTS[wildcards.exp]["latency"]["job_threads"]:
        return EXPERIMENTS[wildcards.exp]["latency"]["job_threads"]
    try:
        return workflow.cores
    except WorkflowError:
        return 1


def retrain_inputs(wildcards):
    """Data, and for a searched model the genotype its search chose."""
    inputs = {
        "train": f"results/{wildcards.exp}/data/train.npz",
        "val": f"results/{wildcards.exp}/data/val.npz",
    }
    if wildcards.model.startswith("nas-"):
        inputs["chosen"] = f"results/{wildcards.exp}/search/{wildcards.model[4:]}/seed{wildcards.seed}/chosen.json"
    elif wildcards.model not in EXPERIMENTS[wildcards.exp]["retrain"]["baselines"]:
        raise ValueError(f"model '{wildcards.model}' is not in config key retrain.baselines of experiment "
                         f"'{wildcards.exp}'")
    return inputs


def evaluate_inputs(wildcards):
    """The model, the test split, and for a searched model its replicate's search cost (for GPU days)."""
    inputs = {
        "model": f"results/{wildcards.exp}/models/{wildcards.model}/seed{wildcards.seed}/model.pt",
        "test": f"results/{wildcards.exp}/data/test.npz",
        "data": f"results/{wildcards.exp}/data/data.json",
    }
    if wildcards.model.startswith("nas-"):
        inputs["cost"] = f"results/{wildcards.exp}/search/{wildcards.model[4:]}/seed{wildcards.seed}/cost.json"
    return inputs


def _check_dataset_path(cfg):
    """dataset.path, checked once when the workflow is read."""
    ds = cfg["dataset"]
    if ds["kind"] != "phantom":
        if not ds.get("path"):
            raise ValueError(f"experiment '{cfg['experiment']}': config key dataset.path is required when "
                             f"dataset.kind is '{ds['kind']}'")
        if not Path(ds["path"]).is_dir():
            raise ValueError(f"experiment '{cfg['experiment']}': dataset.path: {ds['path']} is not a folder "
                             f"(dataset.kind is '{ds['kind']}')")


def check_classification(cfg):
    """A classification experiment's data set, space and search settings, checked when the workflow is read."""
    name, ds = cfg["experiment"], cfg["dataset"]
    if ds["kind"] != "medmnist" or not ds.get("flag"):
        raise ValueError(f"experiment '{name}': task classification needs dataset.kind medmnist and dataset.flag "
                         f"(got kind '{ds['kind']}', flag {ds.get('flag')!r})")
    info = subset_info(ds["flag"], ds["size"])
    path = subset_file(ds["path"], ds["flag"], ds["size"])
    if not path.is_file():
        raise ValueError(f"experiment '{name}': {path} not found (dataset.path / dataset.flag / dataset.size)")
    try:  # an unknown space or space key, or a space without a classifier network, stops the run here
        check_classifier_space(make_space(cfg["space"]), "space")
    except ConfigError as err:
        raise ValueError(f"experiment '{name}': {err}") from None
    if cfg["search"]["evaluator"] not in ("zerocost", "kfold"):
        raise ValueError(f"experiment '{name}': a classification search takes search.evaluator zerocost (MSTF-NAS) "
                         f"or kfold (cross-validated training), not {cfg['search']['evaluator']}")
    Objectives.from_config(cfg["search"])  # objectives the evaluator cannot measure stop the run here
    classes = len(info.class_names)
    tables = cfg["classify"]["tables"]
    if tables == "hybrid":
        if "moead_sa" not in cfg["search"]["strategies"]:
            raise ValueError(f"experiment '{name}': classify.tables hybrid reports the moead_sa search; add it to "
                             "search.strategies")
        if not 0 <= cfg["classify"]["positive"] < classes:
            raise ValueError(f"experiment '{name}': classify.positive {cfg['classify']['positive']} is not a class "
                             f"of {info.flag} (0..{classes - 1})")
    for key, paper in cfg["classify"]["paper"].items():
        if paper is not None and tables == "mstf" and key != "hybrid":
            paper_rows(paper if os.path.isabs(paper) else os.path.join(workflow.basedir, paper), info.flag, key)
    for baseline, settings in cfg["classify"]["baselines"].items():
        baseline_spec(baseline, settings)
    for variant in cfg["classify"]["objective_variants"]:  # Table IX: each construction's indicator count
        Objectives.from_config({**cfg["search"], "zerocost": {**cfg["search"]["zerocost"], **variant}})
    if cfg["classify"]["space_variants"]:  # Table X: zerocost Eq. 5 picks; every space known, its keys checked
        zc = cfg["search"]["zerocost"]
        if cfg["search"]["evaluator"] != "zerocost" or zc.get("construction", "eq5") != "eq5":
            raise ValueError(f"experiment '{name}': classify.space_variants (Table X) picks by MSTF-NAS's Eq. 5: it "
                             "needs search.evaluator zerocost and search.zerocost.construction eq5")
        for space, space_cfg in cfg["classify"]["space_variants"].items():
            if not re.fullmatch(SPACE_REGEX, space):
                raise ValueError(f"experiment '{name}': classify.space_variants: name {space!r} must match {SPACE_REGEX}")
            try:
                check_classifier_space(make_space(space_cfg), f"classify.space_variants.{space}")
            except ConfigError as err:
                raise ValueError(f"experiment '{name}': classify.space_variants.{space}: {err}") from None


def check_classifier_space(space, key):
    """A classification search needs a space whose genotypes build a classifier (a registered network)."""
    check_network_task(space.name, "classification", f"{key}.name")


def cls_models(exp):
    """Every model a classification experiment retrains: nas-<strategy>, then the baselines."""
    return [f"nas-{s}" for s in strategies(exp)] + list(EXPERIMENTS[exp]["classify"]["baselines"])


def classification_outputs(exp):
    """Everything `rule all` builds for a classification experiment."""
    base, cls_seeds = f"results/{exp}", EXPERIMENTS[exp]["classify"]["seeds"]
    out = [f"{base}/config.yaml"]
    out += [f"{base}/search/{s}/{n}" for s in strategies(exp)
            for n in ("archive.csv", "pareto.csv", "hypervolume.csv", "chosen.json", "cost.json")]
    out += [f"{base}/models/{m}/seed{k}/metrics.json" for m in cls_models(exp) for k in cls_seeds]
    out += [f"{base}/{n}" for n in CLASSIFICATION_TABLES[EXPERIMENTS[exp]["classify"]["tables"]]]
    return out


CLASSIFICATION_TABLES = {
    "mstf": ("table2_acc.csv", "table3_auc.csv", "table4_search_minutes.csv"),
    "hybrid": ("table3_sa_refinement.csv", "table4_accuracy_trials.csv", "table5_test_metrics.csv", "fig_front.png"),
}


# Per experiment, before any job: the data set's name (Table II's data set column; prepare
# records the same in data.json) and its labels and input channels, from its description (rules
# that build networks before any data are prepared, the latency table, take them as params, so a
# new label set reruns them); every baseline and input size checked.
DATASET_NAME, LABELS, DOMAIN_NAMES = {}, {}, {}
for _exp, _cfg in EXPERIMENTS.items():
    if _cfg["task"] == "classification" and _cfg["seeds"] != [0]:
        raise ValueError(f"experiment '{_exp}': config key seeds (replicates) applies to segmentation and MixSearch "
                         "experiments; a classification experiment's retraining seeds are classify.seeds")
    if _cfg["task"] == "mixsearch":
        DOMAIN_NAMES[_exp] = check_mixsearch(_cfg, workflow.basedir)  # mixsearch.smk
        continue
    _check_dataset_path(_cfg)
    check_strategies(_cfg["search"])  # e.g. surrogate with an evaluator it has nothing to predict from
    if _cfg["task"] == "classification":
        check_classification(_cfg)  # classify.smk
        continue
    check_rerank(rerank_plan(_cfg["search"]["rerank"]), _cfg["search"]["evaluator"],
                 _cfg["search"]["choose"])  # search.rerank: a segmentation evaluator and best_dice
    _ds = _cfg["dataset"]
    DATASET_NAME[_exp], LABELS[_exp] = describe_dataset(_ds["kind"], _ds.get("path") or "")
    for _name, _settings in _cfg["retrain"]["baselines"].items():
        baseline_spec(_name, _settings)  # an unknown baseline or setting stops the run before any job
    try:  # a space that builds no segmentation network, or lacks what the search asks of it
        check_segmentation_search(_cfg["space"], _cfg["search"])
    except ConfigError as err:
        raise ValueError(f"experiment '{_exp}': {err}") from None
    check_image_size(_cfg["preprocess"]["image_size"], _cfg["space"], _cfg["retrain"]["baselines"],
                     _cfg["supernet"].get("image_size") if _cfg["search"]["evaluator"] == "inherit" else None)
    if _cfg["report"]["paper_table2"]:  # a paper's rows must report this data set's structures
        _path = _cfg["report"]["paper_table2"]
        table2_columns(list(LABELS[_exp].structures.values()),
                       _path if os.path.isabs(_path) else os.path.join(workflow.basedir, _path))


def paper_tables(wildcards):
    """The paper's tables an experiment names (none where it names null); relative paths are read
    from the Snakefile's folder."""
    out = {}
    for key in ("paper_table2", "paper_table3"):
        path = EXPERIMENTS[wildcards.exp]["report"][key]
        if path is not None:
            out[key] = path if os.path.isabs(path) else os.path.join(workflow.basedir, path)
    return out


def experiment_outputs(exp):
    """Everything `rule all` builds for one experiment."""
    if EXPERIMENTS[exp]["task"] == "classification":
        return classification_outputs(exp)  # classify.smk
    if EXPERIMENTS[exp]["task"] == "mixsearch":
        return mixsearch_outputs(exp)  # mixsearch.smk
    base = f"results/{exp}"
    out = [f"{base}/config.yaml"]
    out += [f"{base}/data/{n}" for n in ("train.npz", "val.npz", "test.npz", "data.json")]
    if EXPERIMENTS[exp]["search"]["evaluator"] == "inherit":  # the only evaluator that reads it
        out += [f"{base}/supernet/{n}" for n in ("supernet.pt", "curve.csv")]
    if has_lut(exp):
        out += [f"{base}/latency/{n}" for n in ("lut.csv", "lut_check.csv", "lut_check.json", "lut_check.png")]
    out += [f"{base}/search/{s}/seed{k}/{n}" for s in strategies(exp) for k in seeds(exp)
            for n in ("archive.csv", "pareto.csv", "hypervolume.csv", "chosen.json", "cost.json")]
    out += [f"{base}/models/{m}/seed{k}/{n}" for m in models(exp) for k in seeds(exp)
            for n in ("per_case.csv", "summary.json")]
    out += [f"{base}/{n}" for n in ("table2.csv", "table2_runs.csv", "table3.csv")]
    out += [f"{base}/fig_{n}" for n in ("pareto.png", "correlation.png", "correlation.csv", "curves.png",
                                        "overlays.png")]
    return out


# -- classification experiments (classify.smk) --
def classifier_inputs(wildcards):
    """The data file, and for a searched model the genotype its search chose."""
    ds = EXPERIMENTS[wildcards.exp]["dataset"]
    inputs = {"data": str(subset_file(ds["path"], ds["flag"], ds["size"]))}
    if wildcards.model.startswith("nas-"):
        inputs["chosen"] = f"results/{wildcards.exp}/search/{wildcards.model[4:]}/chosen.json"
    elif wildcards.model not in EXPERIMENTS[wildcards.exp]["classify"]["baselines"]:
        raise ValueError(f"model '{wildcards.model}' is not in config key classify.baselines of experiment "
                         f"'{wildcards.exp}'")
    return inputs


def hybrid_inputs(wildcards):
    """Every model's metrics per seed, each search's archive, chosen and cost files, the paper's rows."""
    exp = EXPERIMENTS[wildcards.exp]
    base = f"results/{wildcards.exp}"
    inputs = {"metrics": [f"{base}/models/{m}/seed{k}/metrics.json" for m in cls_models(wildcards.exp)
                          for k in exp["classify"]["seeds"]]}
    for name in ("archive.csv", "chosen.json", "cost.json"):
        inputs[name.split(".")[0]] = [f"{base}/search/{s}/{name}" for s in strategies(wildcards.exp)]
    paper = exp["classify"]["paper"]["hybrid"]
    if paper is not None:
        inputs["paper"] = paper if os.path.isabs(paper) else os.path.join(workflow.basedir, paper)
    return inputs


def classify_paper_tables(wildcards):
    """The paper's tables an experiment names (relative paths from the Snakefile's folder)."""
    out = {}
    for key, path in EXPERIMENTS[wildcards.exp]["classify"]["paper"].items():
        if path is not None and key != "hybrid":
            out[f"paper_{key}"] = path if os.path.isabs(path) else os.path.join(workflow.basedir, path)
    return out


# An ablation's {variant}: "p1+p2" (Eq. 5 with that pair, Table VIII) or "<construction>-p1[+p2]" (Table IX).
VARIANT_REGEX = r"[a-z_]+\+[a-z_]+|(eq5|no_flops|flops_sum)-[a-z_]+(\+[a-z_]+)?"


def with_variant(wildcards):
    """The experiment's search settings with the construction and indicators of the {variant} wildcard."""
    construction, indicators = parse_variant(wildcards.variant)
    search = dict(EXPERIMENTS[wildcards.exp]["search"])
    search["zerocost"] = {**search["zerocost"], "indicators": indicators}
    if construction:  # a bare pair (Table VIII) keeps the experiment's construction and its params as they were
        search["zerocost"]["construction"] = construction
    return search


def objective_variants(exp):
    """The Table IX variants of a classification experiment (classify.objective_variants)."""
    return [variant_name(v["construction"], v["indicators"])
            for v in EXPERIMENTS[exp]["classify"]["objective_variants"]]


def objective_variant_metrics(wildcards):
    """Every Table IX variant's runs; the experiment's own pick is the Eq. 5 row, so its search must be
    MSTF-NAS's (zerocost, Eq. 5) and no variant may repeat it."""
    exp = EXPERIMENTS[wildcards.exp]
    zc = exp["search"]["zerocost"]
    if exp["search"]["evaluator"] != "zerocost" or zc.get("construction", "eq5") != "eq5":
        raise ValueError(f"experiment '{wildcards.exp}': table9_objectives.csv compares constructions with the "
                         "experiment's own Eq. 5 search: it needs search.evaluator zerocost and "
                         "search.zerocost.construction eq5")
    own = variant_name("eq5", zc["indicators"])
    if own in objective_variants(wildcards.exp):
        raise ValueError(f"experiment '{wildcards.exp}': classify.objective_variants repeats the experiment's own "
                         f"search ({own}), which is already Table IX's Eq. 5 row")
    return [f"results/{wildcards.exp}/ablation/{v}/models/nas-nsga2/seed{k}/metrics.json"
            for v in objective_variants(wildcards.exp) for k in exp["classify"]["seeds"]]


def space_variants(exp):
    """The Table X search spaces of a classification experiment (classify.space_variants), in config order;
    none is an error naming the key."""
    names = list(EXPERIMENTS[exp]["classify"]["space_variants"])
    if not names:
        raise ValueError(f"experiment '{exp}': table10_spaces.csv compares the search spaces of config key "
                         "classify.space_variants, which is empty")
    return names


def space_experiments():
    """The classification experiments with a Table X (classify.space_variants), for the average over them."""
    names = [e for e, c in EXPERIMENTS.items() if c["task"] == "classification" and c["classify"]["space_variants"]]
    if not names:
        raise ValueError("table10_spaces_average.csv averages Table X over the classification experiments with "
                         "classify.space_variants: this config has none")
    return names


def objectives_experiments(key):
    """The MSTF-NAS experiments with a Table VIII (``key`` ablation_pairs) or IX (objective_variants):
    a zerocost search and a non-empty ``classify.<key>``."""
    names = [e for e, c in EXPERIMENTS.items() if c["task"] == "classification" and c["classify"]["tables"] == "mstf"
             and c["classify"][key] and c["search"]["evaluator"] == "zerocost"]
    if not names:
        raise ValueError(f"the average of the classify.{key} ablation runs over the MSTF-NAS classification "
                         f"experiments (zerocost search, classify.{key}): this config has none")
    return names


def space_search(wildcards):
    """A Table X search: the experiment's search settings with all of classify.space_candidates drawn in one
    random batch, so that Eq. 5 is normalised over every candidate the pick is chosen from."""
    exp = EXPERIMENTS[wildcards.exp]
    return {**exp["search"], "population": exp["classify"]["space_candidates"], "generations": 1,
            "choose": "indicator_sum"}


def ablation_metrics(wildcards):
    exp = EXPERIMENTS[wildcards.exp]
    return [f"results/{wildcards.exp}/ablation/{'+'.join(pair)}/models/nas-nsga2/seed{k}/metrics.json"
            for pair in exp["classify"]["ablation_pairs"] for k in exp["classify"]["seeds"]]


# -- MixSearch experiments (mixsearch.smk) --
def mix(wildcards):
    return EXPERIMENTS[wildcards.exp]["mixsearch"]


def mix_models(exp, unseen=False):
    """Models of Table III (every search, then the baselines) or of Table VI (unseen_models, baselines)."""
    m = EXPERIMENTS[exp]["mixsearch"]
    searched = list(m["unseen_models"]) if unseen else list(m["searches"])
    return searched + list(m["baselines"])


def mix_table_summaries(exp, unseen):
    m = EXPERIMENTS[exp]["mixsearch"]
    domains = m["unseen"] if unseen else m["targets"]
    return [f"results/{exp}/mixsearch/models/{model}/{d}/seed{k}/summary.json" for model in mix_models(exp, unseen)
            for d in domains for k in seeds(exp)]


def mixsearch_outputs(exp):
    """Everything `rule all` builds for a MixSearch experiment."""
    m, base = EXPERIMENTS[exp]["mixsearch"], f"results/{exp}"
    out = [f"{base}/config.yaml"]
    out += [f"{base}/mixsearch/search/{s}/seed{k}/{n}" for s in m["searches"] for k in seeds(exp)
            for n in ("genotype.json", "arch.json", "curve.csv", "cost.json")]
    out.append(f"{base}/fig_beta.png")
    if m["targets"]:
        out += mix_table_summaries(exp, False) + [f"{base}/table3_domains.csv", f"{base}/fig_table3_domains.png"]
    if m["unseen"] and m["unseen_models"]:
        out += mix_table_summaries(exp, True) + [f"{base}/table6_unseen.csv", f"{base}/fig_table6_unseen.png"]
    return out


def mix_domain_input(wildcards):
    return raw_folder_input(mix(wildcards)["domains"][wildcards.domain])


def mix_paper(key):
    def get(wildcards):
        path = mix(wildcards)[key]
        if path is None:
            return []
        return [path if os.path.isabs(path) else os.path.join(workflow.basedir, path)]

    return get


def mix_retrain_inputs(wildcards):
    inputs = {"train": f"results/{wildcards.exp}/domains/{wildcards.domain}/train.npz",
              "val": f"results/{wildcards.exp}/domains/{wildcards.domain}/val.npz"}
    m = mix(wildcards)
    if wildcards.model in m["searches"]:
        inputs["genotype"] = (f"results/{wildcards.exp}/mixsearch/search/{wildcards.model}/seed{wildcards.seed}/"
                              "genotype.json")
    elif wildcards.model not in m["baselines"]:
        raise ValueError(f"model '{wildcards.model}' is neither in mixsearch.searches nor in mixsearch.baselines of "
                         f"experiment '{wildcards.exp}'")
    return inputs
