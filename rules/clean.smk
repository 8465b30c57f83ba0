"""Cleaning, per shard: extraction, filters (URL, mojibake, language, heuristic and content
rules) (results/data/)."""


rule extract:
    input:
        warc=by_content(crawl_shard_pattern()),
        warc_sha256=digest_of(crawl_shard_pattern()),
    output:
        docs="results/data/extract/{shard}.parquet",
        removed="results/data/extract/{shard}.removed.parquet",
        docs_sha256=digest_of("results/data/extract/{shard}.parquet"),
        removed_sha256=digest_of("results/data/extract/{shard}.removed.parquet"),
    log:
        "logs/extract/{shard}.log",
    benchmark:
        "logs/benchmarks/extract/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("extract"),
    params:
        config=lambda wildcards: step_config("extract", "stream"),
    shell:
        "python -m skyforge.cli extract --config-json {params.config:q} --warc {input.warc:q}"
        " --shard {wildcards.shard} --out-docs {output.docs:q} --out-removed {output.removed:q}"
        " --digests {output.docs:q} {output.removed:q} 2> {log:q}"


rule filter:
    input:
        docs=by_content("results/data/extract/{shard}.parquet"),
        docs_sha256=digest_of("results/data/extract/{shard}.parquet"),
    output:
        docs="results/data/filter/{shard}.parquet",
        removed="results/data/filter/{shard}.removed.parquet",
        flagged="results/data/filter/{shard}.flagged.parquet",
        repaired="results/data/filter/{shard}.repaired.parquet",
        docs_sha256=digest_of("results/data/filter/{shard}.parquet"),
        removed_sha256=digest_of("results/data/filter/{shard}.removed.parquet"),
        flagged_sha256=digest_of("results/data/filter/{shard}.flagged.parquet"),
        repaired_sha256=digest_of("results/data/filter/{shard}.repaired.parquet"),
    log:
        "logs/filter/{shard}.log",
    benchmark:
        "logs/benchmarks/filter/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("filter"),
    params:
        config=lambda wildcards: step_config("filters", "encoding", "harmful", "stream"),
    shell:
        "python -m skyforge.cli filter --config-json {params.config:q} --docs {input.docs:q}"
        " --shard {wildcards.shard} --out-docs {output.docs:q} --out-removed {output.removed:q}"
        " --out-flagged {output.flagged:q} --out-repaired {output.repaired:q}"
        " --digests {output.docs:q} {output.removed:q} {output.flagged:q} {output.repaired:q}"
        " 2> {log:q}"
