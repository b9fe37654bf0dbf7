# Search stage: one multi-objective search per strategy over the cardiac space.

STRATEGIES = config["search"]["strategies"]


wildcard_constraints:
    strategy="|".join(["ga", "nsga2", "moead_sa", "random"]),


rule search:
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
        search=config["search"],
        space=config["space"],
        arch=config["arch"],
        train=config["train"],
        supernet=config["supernet"],
        seed=config["seed"],
        device=config["device"],
        work="results/{exp}/search/{strategy}/.work",
    threads: config["train"]["threads"]
    resources:
        gpu=GPU,
    log:
        "logs/{exp}/search_{strategy}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/search.py"
