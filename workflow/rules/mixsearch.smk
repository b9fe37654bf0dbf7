# MixSearch experiments (task: mixsearch, seed 001): every domain prepared on its own, one
# differentiable search per search setting (Dedicated / Union / Mix) and replicate (config key
# seeds), every searched network and baseline retrained and tested on each target domain
# (Table III) and on the unseen domains (Table VI) per replicate.


rule mix_prepare:
    input:
        unpack(mix_domain_input),
    output:
        **with_prov(
            train="results/{exp}/domains/{domain}/train.npz",
            val="results/{exp}/domains/{domain}/val.npz",
            test="results/{exp}/domains/{domain}/test.npz",
            summary="results/{exp}/domains/{domain}/data.json",
        ),
    wildcard_constraints:
        exp=MIX_EXP,
    params:
        dataset=lambda wc: {"kind": "nnunet_raw", "path": mix(wc)["domains"][wc.domain], "phases": {}},
        split=setting("split"),
        preprocess=setting("preprocess"),
    log:
        "logs/{exp}/mix_prepare_{domain}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/mix_prepare.py"


rule mix_search:
    input:
        train=lambda wc: [f"results/{wc.exp}/domains/{d}/train.npz" for d in mix(wc)["searches"][wc.search]["sources"]],
    output:
        **with_prov(
            genotype="results/{exp}/mixsearch/search/{search}/seed{seed}/genotype.json",
            arch="results/{exp}/mixsearch/search/{search}/seed{seed}/arch.json",
            curve="results/{exp}/mixsearch/search/{search}/seed{seed}/curve.csv",
            cost="results/{exp}/mixsearch/search/{search}/seed{seed}/cost.json",
        ),
    wildcard_constraints:
        exp=MIX_EXP,
        seed=r"\d+",
    params:
        search=lambda wc: mix(wc)["searches"][wc.search],
        mix_fraction=lambda wc: mix(wc)["mix_fraction"],
        settings=lambda wc: mix(wc)["search"],
        seed=replicate_seed,
        device=setting("device"),
        checkpoint="results/{exp}/mixsearch/search/{search}/seed{seed}/.checkpoint/last.pt",
    threads: setting("mixsearch", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/mix_search_{search}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/mix_search.py"


rule mix_retrain:
    input:
        unpack(mix_retrain_inputs),
    output:
        **with_prov(
            model="results/{exp}/mixsearch/models/{model}/{domain}/seed{seed}/model.pt",
            curve="results/{exp}/mixsearch/models/{model}/{domain}/seed{seed}/curve.csv",
        ),
    wildcard_constraints:
        exp=MIX_EXP,
        model=r"[A-Za-z0-9_.-]+",  # names of mixsearch.searches and .baselines (checked by the input function)
        domain=r"[A-Za-z0-9_-]+",
        seed=r"\d+",
    params:
        baseline=lambda wc: mix(wc)["baselines"].get(wc.model),
        budget=lambda wc: mix(wc)["retrain"],
        train=setting("train"),
        seed=replicate_seed,
        device=setting("device"),
        checkpoint="results/{exp}/mixsearch/models/{model}/{domain}/seed{seed}/.checkpoint/last.pt",
    threads: setting("mixsearch", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/mix_retrain_{model}_{domain}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/mix_retrain.py"


rule mix_evaluate:
    input:
        model="results/{exp}/mixsearch/models/{model}/{domain}/seed{seed}/model.pt",
        test="results/{exp}/domains/{domain}/test.npz",
    output:
        **with_prov(
            per_case="results/{exp}/mixsearch/models/{model}/{domain}/seed{seed}/per_case.csv",
            summary="results/{exp}/mixsearch/models/{model}/{domain}/seed{seed}/summary.json",
        ),
    wildcard_constraints:
        exp=MIX_EXP,
        model=r"[A-Za-z0-9_.-]+",  # names of mixsearch.searches and .baselines (checked by the input function)
        domain=r"[A-Za-z0-9_-]+",
        seed=r"\d+",
    params:
        batch_size=setting("train", "val_batch_size"),
        device=setting("device"),
    threads: setting("mixsearch", "threads")
    log:
        "logs/{exp}/mix_evaluate_{model}_{domain}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/mix_evaluate.py"


rule mix_tables:
    input:
        paper=lambda wc: mix_paper("paper_table6" if wc.table == "table6_unseen" else "paper_table3")(wc),
        summaries=lambda wc: mix_table_summaries(wc.exp, wc.table == "table6_unseen"),
        costs=lambda wc: [f"results/{wc.exp}/mixsearch/search/{s}/seed{k}/cost.json"
                          for s in mix_models(wc.exp, wc.table == "table6_unseen") if s in mix(wc)["searches"]
                          for k in seeds(wc.exp)],
    output:
        **with_prov(
            table="results/{exp}/{table}.csv",
            figure="results/{exp}/fig_{table}.png",
        ),
    wildcard_constraints:
        exp=MIX_EXP,
        table="table3_domains|table6_unseen",
    params:
        searches=lambda wc: mix(wc)["searches"],
        domain_names=lambda wc: DOMAIN_NAMES[wc.exp],
    log:
        "logs/{exp}/mix_{table}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/mix_tables.py"


rule mix_fig_beta:
    # the first replicate's searches
    input:
        arch=lambda wc: [f"results/{wc.exp}/mixsearch/search/{s}/seed{seeds(wc.exp)[0]}/arch.json"
                         for s in mix(wc)["searches"]],
        genotype=lambda wc: [f"results/{wc.exp}/mixsearch/search/{s}/seed{seeds(wc.exp)[0]}/genotype.json"
                             for s in mix(wc)["searches"]],
    output:
        **with_prov(figure="results/{exp}/fig_beta.png"),
    wildcard_constraints:
        exp=MIX_EXP,
    log:
        "logs/{exp}/mix_fig_beta.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/mix_fig_beta.py"
