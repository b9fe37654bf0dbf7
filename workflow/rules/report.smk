# Reporting: CardiacNAS Table II / III and the figures, from this run's files and config/paper.

rule tables:
    wildcard_constraints:
        exp=SEG_EXP,
    input:
        # the paper's tables, where the experiment names them (null: measured rows only)
        unpack(paper_tables),
        summaries=lambda wc: [p for ps in model_runs(wc.exp, "summary.json").values() for p in ps],
        per_case=lambda wc: [p for ps in model_runs(wc.exp, "per_case.csv").values() for p in ps],
        hypervolumes=lambda wc: [f"results/{wc.exp}/search/{s}/seed{k}/hypervolume.csv" for s in strategies(wc.exp)
                                 for k in seeds(wc.exp)],
    output:
        **with_prov(
            table2=report("results/{exp}/table2.csv", caption="../report/table2.rst", category="Tables"),
            table2_runs="results/{exp}/table2_runs.csv",
            table3=report("results/{exp}/table3.csv", caption="../report/table3.rst", category="Tables"),
        ),
    params:
        models=lambda wc: models(wc.exp),
        strategies=lambda wc: strategies(wc.exp),
        seeds=lambda wc: seeds(wc.exp),
        dataset=lambda wc: DATASET_NAME[wc.exp],
        alpha=setting("report", "alpha"),
    log:
        "logs/{exp}/tables.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tables.py"


rule figures:
    # One run per model and strategy: the first replicate's (config key seeds).
    input:
        archives=lambda wc: [f"results/{wc.exp}/search/{s}/seed{seeds(wc.exp)[0]}/archive.csv"
                             for s in strategies(wc.exp)],
        summaries=lambda wc: first_runs(wc.exp, "summary.json"),
        curves=lambda wc: first_runs(wc.exp, "curve.csv"),
        models=lambda wc: first_runs(wc.exp, "model.pt"),
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
