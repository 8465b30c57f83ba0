"""Corpora with held-out splits, the funnel, and scores against the ground truth."""


rule corpus_dates:
    input:
        docs=by_content(group_files("results/data/harmful/{group}/{{shard}}.parquet")),
        docs_sha256=digest_of(group_files("results/data/harmful/{group}/{{shard}}.parquet")),
    output:
        "results/corpora/dates/{shard}.json",
    log:
        "logs/corpus_dates/{shard}.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("corpus_dates"),
    shell:
        "python -m skyforge.cli corpus-dates --docs {input.docs:q} --out {output:q} 2> {log:q}"


rule corpus_cutoffs:
    input:
        shard_files("results/corpora/dates/{shard}.json"),
    output:
        "results/corpora/cutoffs.json",
    log:
        "logs/corpus_cutoffs/corpus_cutoffs.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("corpus_cutoffs"),
    params:
        config=lambda wildcards: step_config("corpora"),
    shell:
        "python -m skyforge.cli corpus-cutoffs --config-json {params.config:q}"
        " --histograms {input:q} --out {output:q} 2> {log:q}"


rule corpus_split:
    input:
        docs=by_content(group_files("results/data/harmful/{group}/{{shard}}.parquet")),
        docs_sha256=digest_of(group_files("results/data/harmful/{group}/{{shard}}.parquet")),
        cutoffs="results/corpora/cutoffs.json",
    output:
        corpora=corpus_files("{shard}"),
        corpora_sha256=digest_of(corpus_files("{shard}")),
    log:
        "logs/corpus_split/{shard}.log",
    benchmark:
        "logs/benchmarks/corpus_split/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("corpus_split"),
    params:
        config=lambda wildcards: step_config("stream"),
    shell:
        "python -m skyforge.cli corpus-split --config-json {params.config:q}"
        " --docs {input.docs:q} --cutoffs {input.cutoffs:q}"
        " --outputs {output.corpora:q} --digests {output.corpora:q} 2> {log:q}"


rule funnel:
    input:
        manifest="results/crawl/manifest.json",
        removed=by_content(removal_tables()),
        kept=by_content([f for files in kept_tables().values() for f in files]),
        final=by_content(all_corpus_files()),
        repaired=by_content(shard_files("results/data/filter/{shard}.repaired.parquet")),
        digests=digest_of(
            removal_tables()
            + [f for files in kept_tables().values() for f in files]
            + all_corpus_files()
            + shard_files("results/data/filter/{shard}.repaired.parquet")
        ),
    output:
        csv=report(
            "results/data/funnel/funnel.csv", caption="../report/funnel.rst", category="3. Data"
        ),
        reasons="results/data/funnel/funnel_reasons.csv",
        markdown="results/data/funnel/funnel.md",
        png=report(
            "results/data/funnel/funnel.png", caption="../report/funnel.rst", category="3. Data"
        ),
    log:
        "logs/funnel/funnel.log",
    benchmark:
        "logs/benchmarks/funnel/funnel.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("funnel"),
    params:
        kept_after=lambda wildcards: kept_after_args(),
        out_dir=lambda wildcards, output: os.path.dirname(output.csv),
    shell:
        "python -m skyforge.cli funnel --crawl-manifest {input.manifest:q}"
        " --removed {input.removed:q} --final {input.final:q} --kept-after {params.kept_after}"
        " --repaired {input.repaired:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule score_removals:
    input:
        ground_truth=by_content("results/crawl/ground_truth.parquet"),
        removed=by_content(removal_tables()),
        repaired=by_content(shard_files("results/data/filter/{shard}.repaired.parquet")),
        matches=by_content(decontam_ledgers()),
        digests=digest_of(
            ["results/crawl/ground_truth.parquet"]
            + removal_tables()
            + shard_files("results/data/filter/{shard}.repaired.parquet")
            + decontam_ledgers()
        ),
    output:
        csv=report(
            "results/data/scores/scores.csv", caption="../report/scores.rst", category="3. Data"
        ),
        planted="results/data/scores/planted.csv",
        markdown="results/data/scores/scores.md",
    log:
        "logs/score_removals/score_removals.log",
    benchmark:
        "logs/benchmarks/score_removals/score_removals.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("score_removals"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.csv),
    shell:
        "python -m skyforge.cli score --ground-truth {input.ground_truth:q}"
        " --removed {input.removed:q} --repaired {input.repaired:q} --matches {input.matches:q}"
        " --out-dir {params.out_dir:q} 2> {log:q}"
