# Latency stage: per-block look-up table on the configured device, validated end to end.


rule measure_latency:
    output:
        **with_prov(
            lut="results/{exp}/latency/lut.csv",
            check="results/{exp}/latency/lut_check.csv",
            summary="results/{exp}/latency/lut_check.json",
            plot=report("results/{exp}/latency/lut_check.png", caption="../report/lut_check.rst", category="Latency"),
        ),
    params:
        space=config["space"],
        arch=config["arch"],
        latency=config["latency"],
        image_size=config["preprocess"]["image_size"],
        in_channels=LABELS.in_channels,
        num_classes=LABELS.num_classes,
        device=config["device"],
    # All cores by default: a job running beside the measurement would distort its timings.
    threads: latency_threads()
    resources:
        gpu=GPU,
    log:
        "logs/{exp}/measure_latency.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/measure_latency.py"
