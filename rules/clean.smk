"""Cleaning, per shard: extraction, filters (URL, mojibake, language, heuristic and content
rules), the quality classifier's reference set (results/data/)."""


rule extract:
    input:
        warc="results/crawl/shard-{shard}.warc.gz",
    output:
        docs="results/data/extract/{shard}.parquet",
        removed="results/data/extract/{shard}.removed.parquet",
    log:
        "logs/extract/{shard}.log",
    benchmark:
        "benchmarks/extract/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("extract"),
    shell:
        "python -m skyforge.cli extract --config-json {params.config:q} --warc {input.warc:q}"
        " --shard {wildcards.shard} --out-docs {output.docs:q} --out-removed {output.removed:q}"
        " 2> {log:q}"


rule filter:
    input:
        docs="results/data/extract/{shard}.parquet",
    output:
        docs="results/data/filter/{shard}.parquet",
        removed="results/data/filter/{shard}.removed.parquet",
        flagged="results/data/filter/{shard}.flagged.parquet",
        repaired="results/data/filter/{shard}.repaired.parquet",
    log:
        "logs/filter/{shard}.log",
    benchmark:
        "benchmarks/filter/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("filters", "encoding", "harmful"),
    shell:
        "python -m skyforge.cli filter --config-json {params.config:q} --docs {input.docs:q}"
        " --shard {wildcards.shard} --out-docs {output.docs:q} --out-removed {output.removed:q}"
        " --out-flagged {output.flagged:q} --out-repaired {output.repaired:q} 2> {log:q}"


rule reference_set:
    output:
        "results/data/quality_model/reference.parquet",
    log:
        "logs/reference_set/reference_set.log",
    benchmark:
        "benchmarks/reference_set/reference_set.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("quality_model", "crawl"),
    shell:
        "python -m skyforge.cli reference-set --config-json {params.config:q} --out {output:q}"
        " 2> {log:q}"
