"""Benchmark decontamination: evaluation items out of the corpora (per shard, after dedup) and
out of the SFT / DPO data (results/data/decontam/, results/chat/decontam/)."""


rule decontaminate:
    input:
        docs=by_content("results/data/substring/{group}/{shard}.parquet"),
        docs_sha256=digest_of("results/data/substring/{group}/{shard}.parquet"),
        benchmarks=decontam_inputs(),
    output:
        docs="results/data/decontam/{group}/{shard}.parquet",
        removed="results/data/decontam/{group}/{shard}.removed.parquet",
        matches="results/data/decontam/{group}/{shard}.matches.parquet",
        docs_sha256=digest_of("results/data/decontam/{group}/{shard}.parquet"),
        removed_sha256=digest_of("results/data/decontam/{group}/{shard}.removed.parquet"),
        matches_sha256=digest_of("results/data/decontam/{group}/{shard}.matches.parquet"),
    log:
        "logs/decontaminate/{group}/{shard}.log",
    benchmark:
        "logs/benchmarks/decontaminate/{group}/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("decontaminate"),
    params:
        config=lambda wildcards: step_config("decontam", "stream"),
        benchmarks=lambda wildcards: pairs_args(decontam_dirs()),
    shell:
        "python -m skyforge.cli decontaminate --config-json {params.config:q}"
        " --docs {input.docs:q} --shard {wildcards.shard} --benchmarks {params.benchmarks}"
        " --out-docs {output.docs:q} --out-removed {output.removed:q}"
        " --out-matches {output.matches:q}"
        " --digests {output.docs:q} {output.removed:q} {output.matches:q} 2> {log:q}"


rule decontaminate_chat:
    input:
        train=lambda wildcards: raw_chat_file(wildcards.section, "train"),
        heldout=lambda wildcards: raw_chat_file(wildcards.section, "heldout"),
        benchmarks=decontam_inputs(),
    output:
        train="results/chat/decontam/{section}_train.jsonl",
        heldout="results/chat/decontam/{section}_heldout.jsonl",
        stats="results/chat/decontam/{section}_stats.json",
    log:
        "logs/decontaminate_chat/{section}.log",
    wildcard_constraints:
        section="sft|dpo",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("decontaminate_chat"),
    params:
        config=lambda wildcards: step_config("decontam"),
        benchmarks=lambda wildcards: pairs_args(decontam_dirs()),
    shell:
        "python -m skyforge.cli decontaminate-chat --config-json {params.config:q}"
        " --benchmarks {params.benchmarks}"
        " --files train={input.train:q},{output.train:q} heldout={input.heldout:q},{output.heldout:q}"
        " --out-stats {output.stats:q} 2> {log:q}"


rule audit_shard:
    input:
        tables=lambda wildcards: by_content(audit_shard_inputs(wildcards)),
        digests=lambda wildcards: digest_of(audit_shard_inputs(wildcards)),
    output:
        samples="results/data/audit/shards/{shard}.parquet",
        samples_sha256=digest_of("results/data/audit/shards/{shard}.parquet"),
    log:
        "logs/audit_shard/{shard}.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("audit_shard"),
    params:
        pairs=lambda wildcards: " ".join(
            f"{removed}={before or ''}" for removed, before in audit_pairs(wildcards.shard)
        ),
    shell:
        "python -m skyforge.cli audit-shard --pairs {params.pairs} --out {output.samples:q}"
        " --digests {output.samples:q} 2> {log:q}"


rule corpus_audit:
    input:
        samples=by_content(shard_files("results/data/audit/shards/{shard}.parquet")),
        samples_sha256=digest_of(shard_files("results/data/audit/shards/{shard}.parquet")),
        ledgers=by_content(decontam_ledgers()),
        ledgers_sha256=digest_of(decontam_ledgers()),
        benchmarks=decontam_inputs(),
    output:
        summary=report(
            "results/data/audit/benchmarks.csv",
            caption="../report/audit_benchmarks.rst",
            category="3. Data",
        ),
        samples=report(
            "results/data/audit/samples.csv",
            caption="../report/audit_samples.rst",
            category="3. Data",
        ),
        found="results/data/audit/items_found.csv",
        markdown="results/data/audit/audit.md",
    log:
        "logs/corpus_audit/corpus_audit.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("corpus_audit"),
    params:
        benchmarks=lambda wildcards: pairs_args(decontam_dirs()),
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
    shell:
        "python -m skyforge.cli corpus-audit --benchmarks {params.benchmarks}"
        " --samples {input.samples:q} --matches {input.ledgers:q}"
        " --out-dir {params.out_dir:q} 2> {log:q}"
