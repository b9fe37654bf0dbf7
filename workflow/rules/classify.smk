# Classification experiments (task: classification; MSTF-NAS on MedMNIST): a training-free
# search per strategy, every model retrained once per seed (classify.seeds) and tested, tables.


rule classify_search:
    input:
        data=lambda wc: str(subset_file(EXPERIMENTS[wc.exp]["dataset"]["path"], EXPERIMENTS[wc.exp]["dataset"]["flag"],
                                        EXPERIMENTS[wc.exp]["dataset"]["size"])),
    output:
        **with_prov(
            archive="results/{exp}/search/{strategy}/archive.csv",
            pareto="results/{exp}/search/{strategy}/pareto.csv",
            hypervolume="results/{exp}/search/{strategy}/hypervolume.csv",
            chosen="results/{exp}/search/{strategy}/chosen.json",
            cost="results/{exp}/search/{strategy}/cost.json",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
    params:
        search=setting("search"),
        space=setting("space"),
        dataset=setting("dataset"),
        seed=setting("seed"),
        device=setting("device"),
        work="results/{exp}/search/{strategy}/.work",
    threads: setting("classify", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/search_{strategy}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/search_classification.py"


rule classify_train:
    input:
        unpack(classifier_inputs),
    output:
        **with_prov(
            model="results/{exp}/models/{model}/seed{seed}/model.pt",
            curve="results/{exp}/models/{model}/seed{seed}/curve.csv",
            metrics="results/{exp}/models/{model}/seed{seed}/metrics.json",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
        seed=r"\d+",
    params:
        baseline=lambda wc: EXPERIMENTS[wc.exp]["classify"]["baselines"].get(wc.model),
        train=setting("classify", "train"),
        dataset=setting("dataset"),
        device=setting("device"),
    threads: setting("classify", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/train_{model}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/train_classifier.py"


rule classify_tables:
    input:
        unpack(classify_paper_tables),
        metrics=lambda wc: [f"results/{wc.exp}/models/{m}/seed{k}/metrics.json" for m in cls_models(wc.exp)
                            for k in EXPERIMENTS[wc.exp]["classify"]["seeds"]],
        costs=lambda wc: [f"results/{wc.exp}/search/{s}/cost.json" for s in strategies(wc.exp)],
    output:
        **with_prov(
            acc="results/{exp}/table2_acc.csv",
            auc="results/{exp}/table3_auc.csv",
            search="results/{exp}/table4_search_minutes.csv",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
    params:
        models=lambda wc: cls_models(wc.exp),
        seeds=setting("classify", "seeds"),
        strategies=lambda wc: strategies(wc.exp),
        flag=setting("dataset", "flag"),
    log:
        "logs/{exp}/tables.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tables_classification.py"


# Ablations of MSTF-NAS's objectives: the NSGA-II search again per {variant}, its pick retrained on
# every seed. Table VIII: each indicator pair of `classify.ablation_pairs` as (p1, p2) of Eq. 5
# (variant "p1+p2"); Table IX: each construction of `classify.objective_variants` (variant
# "<construction>-p1[+p2]").


use rule classify_search as classify_search_pair with:
    output:
        **with_prov(
            archive="results/{exp}/ablation/{variant}/search/{strategy}/archive.csv",
            pareto="results/{exp}/ablation/{variant}/search/{strategy}/pareto.csv",
            hypervolume="results/{exp}/ablation/{variant}/search/{strategy}/hypervolume.csv",
            chosen="results/{exp}/ablation/{variant}/search/{strategy}/chosen.json",
            cost="results/{exp}/ablation/{variant}/search/{strategy}/cost.json",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
        variant=VARIANT_REGEX,
    params:
        search=with_variant,
        space=setting("space"),
        dataset=setting("dataset"),
        seed=setting("seed"),
        device=setting("device"),
        work="results/{exp}/ablation/{variant}/search/{strategy}/.work",
    log:
        "logs/{exp}/ablation_{variant}_search_{strategy}.log",


use rule classify_train as classify_train_pair with:
    input:
        data=lambda wc: str(subset_file(EXPERIMENTS[wc.exp]["dataset"]["path"], EXPERIMENTS[wc.exp]["dataset"]["flag"],
                                        EXPERIMENTS[wc.exp]["dataset"]["size"])),
        chosen="results/{exp}/ablation/{variant}/search/nsga2/chosen.json",
    output:
        **with_prov(
            model="results/{exp}/ablation/{variant}/models/{model}/seed{seed}/model.pt",
            curve="results/{exp}/ablation/{variant}/models/{model}/seed{seed}/curve.csv",
            metrics="results/{exp}/ablation/{variant}/models/{model}/seed{seed}/metrics.json",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
        variant=VARIANT_REGEX,
        model="nas-nsga2",
        seed=r"\d+",
    log:
        "logs/{exp}/ablation_{variant}_train_{model}_seed{seed}.log",


rule classify_ablation:
    input:
        metrics=ablation_metrics,
        paper=os.path.join(workflow.basedir, "config", "paper", "mstf_table8_pairs.csv"),
    output:
        **with_prov(table="results/{exp}/table8_indicator_pairs.csv"),
    wildcard_constraints:
        exp=CLS_EXP,
    params:
        pairs=lambda wc: ["+".join(p) for p in EXPERIMENTS[wc.exp]["classify"]["ablation_pairs"]],
        seeds=setting("classify", "seeds"),
        flag=setting("dataset", "flag"),
    log:
        "logs/{exp}/ablation_table.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/ablation_classification.py"


rule classify_objectives_ablation:
    input:
        variants=objective_variant_metrics,
        eq5=lambda wc: [f"results/{wc.exp}/models/nas-nsga2/seed{k}/metrics.json"
                        for k in EXPERIMENTS[wc.exp]["classify"]["seeds"]],
        paper=os.path.join(workflow.basedir, "config", "paper", "mstf_table9_objectives.csv"),
    output:
        **with_prov(table="results/{exp}/table9_objectives.csv"),
    wildcard_constraints:
        exp=CLS_EXP,
    params:
        variants=lambda wc: objective_variants(wc.exp),
        seeds=setting("classify", "seeds"),
        flag=setting("dataset", "flag"),
        eq5_indicators=setting("search", "zerocost", "indicators"),
    log:
        "logs/{exp}/objectives_ablation_table.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/ablation_objectives.py"


# The hybrid MOEA/D + SA paper's tables (classify.tables: hybrid): Table 3 (annealing, from the
# moead_sa search), Table 4 (test accuracy over the trials), Table 5 (the best trial's scores).


rule classify_hybrid_tables:
    input:
        unpack(hybrid_inputs),
    output:
        **with_prov(
            sa="results/{exp}/table3_sa_refinement.csv",
            trials="results/{exp}/table4_accuracy_trials.csv",
            best="results/{exp}/table5_test_metrics.csv",
            front="results/{exp}/fig_front.png",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
    params:
        models=lambda wc: cls_models(wc.exp),
        seeds=setting("classify", "seeds"),
        strategies=lambda wc: strategies(wc.exp),
        flag=setting("dataset", "flag"),
        positive=setting("classify", "positive"),
    log:
        "logs/{exp}/hybrid_tables.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tables_hybrid.py"


# MSTF-NAS Table X (search spaces): each space of `classify.space_variants` searched at random over
# `classify.space_candidates` candidates in one batch (Eq. 5 normalised over all of them), the pick by
# the highest indicator sum as the paper's (IV-E4), retrained on every seed.


use rule classify_search as classify_search_space with:
    output:
        **with_prov(
            archive="results/{exp}/spaces/{space}/search/{strategy}/archive.csv",
            pareto="results/{exp}/spaces/{space}/search/{strategy}/pareto.csv",
            hypervolume="results/{exp}/spaces/{space}/search/{strategy}/hypervolume.csv",
            chosen="results/{exp}/spaces/{space}/search/{strategy}/chosen.json",
            cost="results/{exp}/spaces/{space}/search/{strategy}/cost.json",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
        space=SPACE_REGEX,
        strategy="random",
    params:
        search=space_search,
        space=lambda wc: EXPERIMENTS[wc.exp]["classify"]["space_variants"][wc.space],
        dataset=setting("dataset"),
        seed=setting("seed"),
        device=setting("device"),
        work="results/{exp}/spaces/{space}/search/{strategy}/.work",
    log:
        "logs/{exp}/spaces_{space}_search_{strategy}.log",


use rule classify_train as classify_train_space with:
    input:
        data=lambda wc: str(subset_file(EXPERIMENTS[wc.exp]["dataset"]["path"], EXPERIMENTS[wc.exp]["dataset"]["flag"],
                                        EXPERIMENTS[wc.exp]["dataset"]["size"])),
        chosen="results/{exp}/spaces/{space}/search/random/chosen.json",
    output:
        **with_prov(
            model="results/{exp}/spaces/{space}/models/{model}/seed{seed}/model.pt",
            curve="results/{exp}/spaces/{space}/models/{model}/seed{seed}/curve.csv",
            metrics="results/{exp}/spaces/{space}/models/{model}/seed{seed}/metrics.json",
        ),
    wildcard_constraints:
        exp=CLS_EXP,
        space=SPACE_REGEX,
        model="nas-random",
        seed=r"\d+",
    log:
        "logs/{exp}/spaces_{space}_train_{model}_seed{seed}.log",


rule classify_spaces_ablation:
    input:
        metrics=lambda wc: [f"results/{wc.exp}/spaces/{s}/models/nas-random/seed{k}/metrics.json"
                            for s in space_variants(wc.exp) for k in EXPERIMENTS[wc.exp]["classify"]["seeds"]],
        chosen=lambda wc: [f"results/{wc.exp}/spaces/{s}/search/random/chosen.json" for s in space_variants(wc.exp)],
        costs=lambda wc: [f"results/{wc.exp}/spaces/{s}/search/random/cost.json" for s in space_variants(wc.exp)],
        paper=os.path.join(workflow.basedir, "config", "paper", "mstf_table10_spaces.csv"),
    output:
        **with_prov(table="results/{exp}/table10_spaces.csv"),
    wildcard_constraints:
        exp=CLS_EXP,
    params:
        spaces=lambda wc: space_variants(wc.exp),
        seeds=setting("classify", "seeds"),
        flag=setting("dataset", "flag"),
    log:
        "logs/{exp}/spaces_ablation_table.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/ablation_spaces.py"


rule classify_spaces_average:
    input:
        tables=lambda wc: [f"results/{e}/table10_spaces.csv" for e in space_experiments()],
        paper=os.path.join(workflow.basedir, "config", "paper", "mstf_table10_spaces.csv"),
    output:
        **with_prov(table="results/table10_spaces_average.csv", figure="results/fig_table10_spaces.png"),
    params:
        key="space",
        title="MSTF-NAS Table X: search spaces, random-search pick per space (mean, SD over seeds)",
    log:
        "logs/table10_spaces_average.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/ablation_average.py"


use rule classify_spaces_average as classify_objectives_average with:
    input:
        tables=lambda wc: [f"results/{e}/table9_objectives.csv" for e in objectives_experiments("objective_variants")],
        paper=os.path.join(workflow.basedir, "config", "paper", "mstf_table9_objectives.csv"),
    output:
        **with_prov(table="results/table9_objectives_average.csv", figure="results/fig_table9_objectives.png"),
    params:
        key="variant",
        title="MSTF-NAS Table IX: objective constructions, NSGA-II pick per construction (mean, SD over seeds)",
    log:
        "logs/table9_objectives_average.log",


use rule classify_spaces_average as classify_pairs_average with:
    input:
        tables=lambda wc: [f"results/{e}/table8_indicator_pairs.csv" for e in objectives_experiments("ablation_pairs")],
        paper=os.path.join(workflow.basedir, "config", "paper", "mstf_table8_pairs.csv"),
    output:
        **with_prov(table="results/table8_indicator_pairs_average.csv", figure="results/fig_table8_indicator_pairs.png"),
    params:
        key="pair",
        title="MSTF-NAS Table VIII: indicator pairs of Eq. 5, NSGA-II pick per pair (mean, SD over seeds)",
    log:
        "logs/table8_indicator_pairs_average.log",
