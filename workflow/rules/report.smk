# Reporting: CardiacNAS Table II / III and the figures, from this run's files and config/paper.

rule tables:
    input:
        summaries=expand("results/{{exp}}/models/{model}/summary.json", model=MODELS),
        per_case=expand("results/{{exp}}/models/{model}/per_case.csv", model=MODELS),
        # the paper's tables, where the config names them (null: measured rows only)
        **{key: path for key in ("paper_table2", "paper_table3") if (path := paper_table(key))},
    output:
        **with_prov(
            table2=report("results/{exp}/table2.csv", caption="../report/table2.rst", category="Tables"),
            table3=report("results/{exp}/table3.csv", caption="../report/table3.rst", category="Tables"),
        ),
    params:
        models=MODELS,
        dataset=DATASET_NAME,
    log:
        "logs/{exp}/tables.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tables.py"


rule figures:
    input:
        archives=expand("results/{{exp}}/search/{strategy}/archive.csv", strategy=STRATEGIES),
        summaries=expand("results/{{exp}}/models/{model}/summary.json", model=MODELS),
        curves=expand("results/{{exp}}/models/{model}/curve.csv", model=MODELS),
        models=expand("results/{{exp}}/models/{model}/model.pt", model=MODELS),
        test="results/{exp}/data/test.npz",
    output:
        **with_prov(
            pareto=report("results/{exp}/fig_pareto.png", caption="../report/fig_pareto.rst", category="Figures"),
            correlation=report("results/{exp}/fig_correlation.png", caption="../report/fig_correlation.rst",
                               category="Figures"),
            correlation_csv="results/{exp}/fig_correlation.csv",
            curves=report("results/{exp}/fig_curves.png", caption="../report/fig_curves.rst", category="Figures"),
            overlays=report("results/{exp}/fig_overlays.png", caption="../report/fig_overlays.rst",
                            category="Figures"),
        ),
    params:
        strategies=STRATEGIES,
        models=MODELS,
        overlay_slices=config["report"]["overlay_slices"],
        device=config["device"],
    threads: config["train"]["threads"]
    log:
        "logs/{exp}/figures.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/figures.py"
