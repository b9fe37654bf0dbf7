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
        space=setting("space"),
        arch=setting("arch"),
        latency=setting("latency"),
        image_size=setting("preprocess", "image_size"),
        in_channels=lambda wildcards: LABELS[wildcards.exp].in_channels,
        num_classes=lambda wildcards: LABELS[wildcards.exp].num_classes,
        device=setting("device"),
    # All cores by default: a job running beside the measurement would distort its timings.
    threads: latency_threads
    resources:
        gpu=gpu,
    log:
        "logs/{exp}/measure_latency.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/measure_latency.py"
