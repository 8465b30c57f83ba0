"""Dedup across ALL shards: exact hash, MinHash LSH (map → shuffle → reduce), exact substrings.

The two reduces and the MinHash bucket jobs of each band run in partitions, as many as their
memory budgets need for this run's crawl (dedup.exact.memory_budget_gb,
dedup.near.memory_budget_gb; skyforge.plan.resources.dedup_partitions): the partition count is
in the file names, so a new count makes new files.
"""

from skyforge.plan.resources import dedup_partitions

_CRAWL_BYTES = crawl_bytes(config, planned_shape())[0]
EXACT_PARTS = dedup_partitions("exact_duplicates", config, _CRAWL_BYTES)
NEAR_PARTS = dedup_partitions("minhash_components", config, _CRAWL_BYTES)
BUCKET_PARTS = dedup_partitions("minhash_buckets", config, _CRAWL_BYTES)
EXACT_DROPS = [
    f"results/data/exact/drop/part-{p}-of-{EXACT_PARTS}.parquet" for p in range(EXACT_PARTS)
]
NEAR_PAIRS = band_files(
    expand(
        "results/data/near/pairs/band-{{band}}-part-{part}-of-{parts}.parquet",
        part=range(BUCKET_PARTS),
        parts=BUCKET_PARTS,
    )
)
NEAR_COMPONENTS = [
    f"results/data/near/components/part-{p}-of-{NEAR_PARTS}.parquet" for p in range(NEAR_PARTS)
]


rule exact_hashes:
    input:
        docs=by_content("results/data/filter/{shard}.parquet"),
        docs_sha256=digest_of("results/data/filter/{shard}.parquet"),
    output:
        hashes="results/data/exact/hashes/{shard}.parquet",
        hashes_sha256=digest_of("results/data/exact/hashes/{shard}.parquet"),
    log:
        "logs/exact_hashes/{shard}.log",
    benchmark:
        "logs/benchmarks/exact_hashes/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("exact_hashes"),
    shell:
        "python -m skyforge.cli exact-hashes --docs {input.docs:q} --shard {wildcards.shard}"
        " --out {output.hashes:q} --digests {output.hashes:q} 2> {log:q}"


rule exact_duplicates:
    input:
        hashes=by_content(shard_files("results/data/exact/hashes/{shard}.parquet")),
        hashes_sha256=digest_of(shard_files("results/data/exact/hashes/{shard}.parquet")),
    output:
        drop="results/data/exact/drop/part-{part}-of-{parts}.parquet",
        drop_sha256=digest_of("results/data/exact/drop/part-{part}-of-{parts}.parquet"),
    log:
        "logs/exact_duplicates/part-{part}-of-{parts}.log",
    benchmark:
        "logs/benchmarks/exact_duplicates/part-{part}-of-{parts}.tsv"
    wildcard_constraints:
        part=r"\d+",
        parts=r"\d+",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("exact_duplicates"),
    shell:
        "python -m skyforge.cli exact-dups --hashes {input.hashes:q} --partition {wildcards.part}"
        " --num-partitions {wildcards.parts} --out {output.drop:q} --digests {output.drop:q}"
        " 2> {log:q}"


rule exact_dedup:
    input:
        docs=by_content("results/data/filter/{shard}.parquet"),
        drop=by_content(EXACT_DROPS),
        docs_sha256=digest_of("results/data/filter/{shard}.parquet"),
        drop_sha256=digest_of(EXACT_DROPS),
    output:
        docs="results/data/exact/{shard}.parquet",
        removed="results/data/exact/{shard}.removed.parquet",
        docs_sha256=digest_of("results/data/exact/{shard}.parquet"),
        removed_sha256=digest_of("results/data/exact/{shard}.removed.parquet"),
    log:
        "logs/exact_dedup/{shard}.log",
    benchmark:
        "logs/benchmarks/exact_dedup/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("exact_dedup"),
    shell:
        "python -m skyforge.cli apply-drop --step exact_dedup --docs {input.docs:q}"
        " --drop {input.drop:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} --digests {output.docs:q} {output.removed:q} 2> {log:q}"


rule minhash_signatures:
    input:
        docs=by_content("results/data/exact/{shard}.parquet"),
        docs_sha256=digest_of("results/data/exact/{shard}.parquet"),
    output:
        signatures="results/data/near/signatures/{shard}.parquet",
        signatures_sha256=digest_of("results/data/near/signatures/{shard}.parquet"),
    log:
        "logs/minhash_signatures/{shard}.log",
    benchmark:
        "logs/benchmarks/minhash_signatures/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("minhash_signatures"),
    params:
        config=lambda wildcards: step_config("dedup"),
    shell:
        "python -m skyforge.cli minhash-signatures --config-json {params.config:q}"
        " --docs {input.docs:q} --shard {wildcards.shard} --out {output.signatures:q}"
        " --digests {output.signatures:q} 2> {log:q}"


rule minhash_buckets:
    input:
        signatures=by_content(shard_files("results/data/near/signatures/{shard}.parquet")),
        signatures_sha256=digest_of(shard_files("results/data/near/signatures/{shard}.parquet")),
    output:
        pairs="results/data/near/pairs/band-{band}-part-{part}-of-{parts}.parquet",
        pairs_sha256=digest_of("results/data/near/pairs/band-{band}-part-{part}-of-{parts}.parquet"),
    log:
        "logs/minhash_buckets/band-{band}-part-{part}-of-{parts}.log",
    benchmark:
        "logs/benchmarks/minhash_buckets/band-{band}-part-{part}-of-{parts}.tsv"
    wildcard_constraints:
        band=r"\d+",
        part=r"\d+",
        parts=r"\d+",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("minhash_buckets"),
    params:
        config=lambda wildcards: step_config("dedup"),
    shell:
        "python -m skyforge.cli minhash-buckets --config-json {params.config:q} --band {wildcards.band}"
        " --partition {wildcards.part} --num-partitions {wildcards.parts}"
        " --signatures {input.signatures:q} --out {output.pairs:q} --digests {output.pairs:q}"
        " 2> {log:q}"


rule minhash_components:
    input:
        pairs=by_content(NEAR_PAIRS),
        pairs_sha256=digest_of(NEAR_PAIRS),
    output:
        components="results/data/near/components/part-{part}-of-{parts}.parquet",
        components_sha256=digest_of("results/data/near/components/part-{part}-of-{parts}.parquet"),
    log:
        "logs/minhash_components/part-{part}-of-{parts}.log",
    benchmark:
        "logs/benchmarks/minhash_components/part-{part}-of-{parts}.tsv"
    wildcard_constraints:
        part=r"\d+",
        parts=r"\d+",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("minhash_components"),
    params:
        config=lambda wildcards: step_config("dedup"),
    shell:
        "python -m skyforge.cli minhash-components --config-json {params.config:q}"
        " --pairs {input.pairs:q} --partition {wildcards.part} --num-partitions {wildcards.parts}"
        " --out {output.components:q} --digests {output.components:q} 2> {log:q}"


rule minhash_clusters:
    input:
        components=by_content(NEAR_COMPONENTS),
        components_sha256=digest_of(NEAR_COMPONENTS),
    output:
        drop="results/data/near/drop.parquet",
        clusters="results/data/near/clusters.parquet",
        drop_sha256=digest_of("results/data/near/drop.parquet"),
    log:
        "logs/minhash_clusters/minhash_clusters.log",
    benchmark:
        "logs/benchmarks/minhash_clusters/minhash_clusters.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("minhash_clusters"),
    shell:
        "python -m skyforge.cli minhash-clusters --components {input.components:q}"
        " --out {output.drop:q} --out-clusters {output.clusters:q} --digests {output.drop:q}"
        " 2> {log:q}"


rule near_dedup:
    input:
        docs=by_content("results/data/exact/{shard}.parquet"),
        drop=by_content("results/data/near/drop.parquet"),
        docs_sha256=digest_of("results/data/exact/{shard}.parquet"),
        drop_sha256=digest_of("results/data/near/drop.parquet"),
    output:
        docs="results/data/near/{shard}.parquet",
        removed="results/data/near/{shard}.removed.parquet",
        docs_sha256=digest_of("results/data/near/{shard}.parquet"),
        removed_sha256=digest_of("results/data/near/{shard}.removed.parquet"),
    log:
        "logs/near_dedup/{shard}.log",
    benchmark:
        "logs/benchmarks/near_dedup/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("near_dedup"),
    shell:
        "python -m skyforge.cli apply-drop --step near_dedup --docs {input.docs:q}"
        " --drop {input.drop:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} --digests {output.docs:q} {output.removed:q} 2> {log:q}"


rule substring_dedup:
    input:
        docs=by_content(shard_files("results/data/near/{shard}.parquet")),
        docs_sha256=digest_of(shard_files("results/data/near/{shard}.parquet")),
    output:
        docs=shard_files("results/data/substring/{{group}}/{shard}.parquet"),
        removed=shard_files("results/data/substring/{{group}}/{shard}.removed.parquet"),
        spans="results/data/substring/{group}/spans.parquet",
        docs_sha256=digest_of(shard_files("results/data/substring/{{group}}/{shard}.parquet")),
        removed_sha256=digest_of(
            shard_files("results/data/substring/{{group}}/{shard}.removed.parquet")
        ),
    log:
        "logs/substring_dedup/{group}.log",
    benchmark:
        "logs/benchmarks/substring_dedup/{group}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("substring_dedup"),
    params:
        config=lambda wildcards: step_config("dedup", "stream"),
        shards=lambda wildcards: " ".join(str(int(s)) for s in shard_ids()),
    shell:
        "python -m skyforge.cli substring-dedup --config-json {params.config:q}"
        " --group {wildcards.group} --shards {params.shards} --docs {input.docs:q}"
        " --out-docs {output.docs:q} --out-removed {output.removed:q} --out-spans {output.spans:q}"
        " --digests {output.docs:q} {output.removed:q} 2> {log:q}"
