# Search stage: one multi-objective search per strategy over the cardiac space.

wildcard_constraints:
    strategy="|".join(sorted(STRATEGIES)),


rule search:
    wildcard_constraints:
        exp=SEG_EXP,
    input:
        unpack(search_inputs),
    output:
        **with_prov(
            archive="results/{exp}/search/{strategy}/archive.csv",
            pareto="results/{exp}/search/{strategy}/pareto.csv",
            hypervolume="results/{exp}/search/{strategy}/hypervolume.csv",
            chosen="results/{exp}/search/{strategy}/chosen.json",
            cost="results/{exp}/search/{strategy}/cost.json",
        ),
    params:
        search=setting("search"),
        space=setting("space"),
        arch=setting("arch"),
        train=setting("train"),
        supernet=setting("supernet"),
        seed=setting("seed"),
        device=setting("device"),
        work="results/{exp}/search/{strategy}/.work",
    threads: setting("train", "threads")
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/search_{strategy}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/search.py"
