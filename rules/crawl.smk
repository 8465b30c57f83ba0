"""The raw crawl: WARC shards, synthesised or re-sharded from real files (results/crawl/)."""

if config["crawl"]["source"] == "synthetic":

    rule crawl:
        output:
            shards=crawl_shards(),
            ground_truth="results/crawl/ground_truth.parquet",
            manifest=report(
                "results/crawl/manifest.json", caption="../report/crawl.rst", category="2. Crawl"
            ),
            shards_sha256=digest_of(crawl_shards()),
            ground_truth_sha256=digest_of("results/crawl/ground_truth.parquet"),
        log:
            "logs/crawl/crawl.log",
        benchmark:
            "logs/benchmarks/crawl/crawl.tsv"
        conda:
            "../envs/skyforge.yaml"
        resources:
            **rule_resources("crawl"),
        params:
            config=lambda wildcards: synthetic_crawl_config(),
            out_dir=lambda wildcards, output: os.path.dirname(output.manifest),
        shell:
            "python -m skyforge.cli synth-crawl --config-json {params.config:q} --out-dir {params.out_dir:q}"
            " --digests {output.shards:q} {output.ground_truth:q} 2> {log:q}"

else:

    rule crawl:
        input:
            warcs=warc_inputs(),
        output:
            shards=crawl_shards(),
            manifest=report(
                "results/crawl/manifest.json", caption="../report/crawl.rst", category="2. Crawl"
            ),
            shards_sha256=digest_of(crawl_shards()),
        log:
            "logs/crawl/crawl.log",
        benchmark:
            "logs/benchmarks/crawl/crawl.tsv"
        conda:
            "../envs/skyforge.yaml"
        resources:
            **rule_resources("crawl"),
        params:
            config=lambda wildcards: step_config("crawl"),
            out_dir=lambda wildcards, output: os.path.dirname(output.manifest),
        shell:
            "python -m skyforge.cli shard-warc --config-json {params.config:q} --out-dir {params.out_dir:q}"
            " --digests {output.shards:q} 2> {log:q}"
