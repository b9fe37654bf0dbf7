# Search stage: one multi-objective search per strategy and replicate (config key seeds) over the
# experiment's search space.

wildcard_constraints:
    strategy="|".join(sorted(STRATEGIES)),


rule search:
    wildcard_constraints:
        exp=SEG_EXP,
        seed=r"\d+",
    input:
        unpack(search_inputs),
    output:
        **with_prov(
            archive="results/{exp}/search/{strategy}/seed{seed}/archive.csv",
            pareto="results/{exp}/search/{strategy}/seed{seed}/pareto.csv",
            hypervolume="results/{exp}/search/{strategy}/seed{seed}/hypervolume.csv",
            chosen="results/{exp}/search/{strategy}/seed{seed}/chosen.json",
            cost="results/{exp}/search/{strategy}/seed{seed}/cost.json",
        ),
    params:
        search=replicate_search,
        space=setting("space"),
        arch=setting("arch"),
        train=setting("train"),
        supernet=setting("supernet"),
        seed=replicate_seed,
        device=setting("device"),
        work="results/{exp}/search/{strategy}/seed{seed}/.work",
    threads: setting("train", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/search_{strategy}_seed{seed}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/search.py"
