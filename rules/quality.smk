"""The fastText quality classifier: trained on the deduplicated crawl, applied per shard."""


rule train_quality_model:
    input:
        positives="results/data/quality_model/reference.parquet",
        negatives=group_files(shard_files("results/data/substring/{group}/{shard}.parquet")),
    output:
        model="results/data/quality_model/model.bin",
        metrics=report(
            "results/data/quality_model/metrics.csv",
            caption="../report/quality_model.rst",
            category="Data",
        ),
        markdown="results/data/quality_model/metrics.md",
    log:
        "logs/train_quality_model/train_quality_model.log",
    benchmark:
        "benchmarks/train_quality_model/train_quality_model.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("quality_model"),
        out_dir=lambda wildcards, output: os.path.dirname(output.model),
    shell:
        "python -m skyforge.cli train-quality --config-json {params.config:q}"
        " --positives {input.positives:q} --negatives {input.negatives:q}"
        " --out-dir {params.out_dir:q} 2> {log:q}"


rule quality:
    input:
        docs="results/data/substring/{group}/{shard}.parquet",
        model="results/data/quality_model/model.bin",
    output:
        docs="results/data/quality/{group}/{shard}.parquet",
        removed="results/data/quality/{group}/{shard}.removed.parquet",
    log:
        "logs/quality/{group}/{shard}.log",
    benchmark:
        "benchmarks/quality/{group}/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("quality_model"),
        model_dir=lambda wildcards, input: os.path.dirname(input.model),
    shell:
        "python -m skyforge.cli quality --config-json {params.config:q} --docs {input.docs:q}"
        " --model-dir {params.model_dir:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} 2> {log:q}"
