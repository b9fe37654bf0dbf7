# Reporting: CardiacNAS Table II / III and the figures, from this run's files and config/paper.

rule tables:
    wildcard_constraints:
        exp=SEG_EXP,
    input:
        # the paper's tables, where the experiment names them (null: measured rows only)
        unpack(paper_tables),
        summaries=lambda wc: [f"results/{wc.exp}/models/{m}/summary.json" for m in models(wc.exp)],
        per_case=lambda wc: [f"results/{wc.exp}/models/{m}/per_case.csv" for m in models(wc.exp)],
    output:
        **with_prov(
            table2=report("results/{exp}/table2.csv", caption="../report/table2.rst", category="Tables"),
            table3=report("results/{exp}/table3.csv", caption="../report/table3.rst", category="Tables"),
        ),
    params:
        models=lambda wc: models(wc.exp),
        dataset=lambda wc: DATASET_NAME[wc.exp],
        alpha=setting("report", "alpha"),
    log:
        "logs/{exp}/tables.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tables.py"


rule figures:
    input:
        archives=lambda wc: [f"results/{wc.exp}/search/{s}/archive.csv" for s in strategies(wc.exp)],
        summaries=lambda wc: [f"results/{wc.exp}/models/{m}/summary.json" for m in models(wc.exp)],
        curves=lambda wc: [f"results/{wc.exp}/models/{m}/curve.csv" for m in models(wc.exp)],
        models=lambda wc: [f"results/{wc.exp}/models/{m}/model.pt" for m in models(wc.exp)],
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
        strategies=lambda wc: strategies(wc.exp),
        models=lambda wc: models(wc.exp),
        overlay_slices=setting("report", "overlay_slices"),
        device=setting("device"),
    threads: setting("train", "threads")
    log:
        "logs/{exp}/figures.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/figures.py"
