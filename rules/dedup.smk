"""Dedup across ALL shards: exact hash, MinHash LSH (map → shuffle → reduce), exact substrings."""


rule exact_hashes:
    input:
        docs="results/data/filter/{shard}.parquet",
    output:
        "results/data/exact/hashes/{shard}.parquet",
    log:
        "logs/exact_hashes/{shard}.log",
    benchmark:
        "logs/benchmarks/exact_hashes/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    shell:
        "python -m skyforge.cli exact-hashes --docs {input.docs:q} --shard {wildcards.shard}"
        " --out {output:q} 2> {log:q}"


rule exact_duplicates:
    input:
        shard_files("results/data/exact/hashes/{shard}.parquet"),
    output:
        "results/data/exact/drop.parquet",
    log:
        "logs/exact_duplicates/exact_duplicates.log",
    benchmark:
        "logs/benchmarks/exact_duplicates/exact_duplicates.tsv"
    conda:
        "../envs/skyforge.yaml"
    shell:
        "python -m skyforge.cli exact-dups --hashes {input:q} --out {output:q} 2> {log:q}"


rule exact_dedup:
    input:
        docs="results/data/filter/{shard}.parquet",
        drop="results/data/exact/drop.parquet",
    output:
        docs="results/data/exact/{shard}.parquet",
        removed="results/data/exact/{shard}.removed.parquet",
    log:
        "logs/exact_dedup/{shard}.log",
    benchmark:
        "logs/benchmarks/exact_dedup/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    shell:
        "python -m skyforge.cli apply-drop --step exact_dedup --docs {input.docs:q}"
        " --drop {input.drop:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} 2> {log:q}"


rule minhash_signatures:
    input:
        docs="results/data/exact/{shard}.parquet",
    output:
        "results/data/near/signatures/{shard}.parquet",
    log:
        "logs/minhash_signatures/{shard}.log",
    benchmark:
        "logs/benchmarks/minhash_signatures/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("dedup"),
    shell:
        "python -m skyforge.cli minhash-signatures --config-json {params.config:q}"
        " --docs {input.docs:q} --shard {wildcards.shard} --out {output:q} 2> {log:q}"


rule minhash_buckets:
    input:
        shard_files("results/data/near/signatures/{shard}.parquet"),
    output:
        "results/data/near/pairs/band-{band}.parquet",
    log:
        "logs/minhash_buckets/band-{band}.log",
    benchmark:
        "logs/benchmarks/minhash_buckets/band-{band}.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("dedup"),
    shell:
        "python -m skyforge.cli minhash-buckets --config-json {params.config:q} --band {wildcards.band}"
        " --signatures {input:q} --out {output:q} 2> {log:q}"


rule minhash_clusters:
    input:
        band_files("results/data/near/pairs/band-{band}.parquet"),
    output:
        drop="results/data/near/drop.parquet",
        clusters="results/data/near/clusters.parquet",
    log:
        "logs/minhash_clusters/minhash_clusters.log",
    benchmark:
        "logs/benchmarks/minhash_clusters/minhash_clusters.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("dedup"),
    shell:
        "python -m skyforge.cli minhash-clusters --config-json {params.config:q} --pairs {input:q}"
        " --out {output.drop:q} --out-clusters {output.clusters:q} 2> {log:q}"


rule near_dedup:
    input:
        docs="results/data/exact/{shard}.parquet",
        drop="results/data/near/drop.parquet",
    output:
        docs="results/data/near/{shard}.parquet",
        removed="results/data/near/{shard}.removed.parquet",
    log:
        "logs/near_dedup/{shard}.log",
    benchmark:
        "logs/benchmarks/near_dedup/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    shell:
        "python -m skyforge.cli apply-drop --step near_dedup --docs {input.docs:q}"
        " --drop {input.drop:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} 2> {log:q}"


rule substring_dedup:
    input:
        shard_files("results/data/near/{shard}.parquet"),
    output:
        docs=shard_files("results/data/substring/{{group}}/{shard}.parquet"),
        removed=shard_files("results/data/substring/{{group}}/{shard}.removed.parquet"),
        spans="results/data/substring/{group}/spans.parquet",
    log:
        "logs/substring_dedup/{group}.log",
    benchmark:
        "logs/benchmarks/substring_dedup/{group}.tsv"
    conda:
        "../envs/skyforge.yaml"
    params:
        config=lambda wildcards: step_config("dedup"),
        shards=lambda wildcards: " ".join(str(int(s)) for s in shard_ids()),
    shell:
        "python -m skyforge.cli substring-dedup --config-json {params.config:q}"
        " --group {wildcards.group} --shards {params.shards} --docs {input:q}"
        " --out-docs {output.docs:q} --out-removed {output.removed:q} --out-spans {output.spans:q}"
        " 2> {log:q}"
