"""The fastText quality and harmful / spam classifiers: trained in the DAG, applied per shard."""


rule reference_set:
    output:
        reference="results/data/quality_model/reference.parquet",
        reference_sha256=digest_of("results/data/quality_model/reference.parquet"),
    log:
        "logs/reference_set/reference_set.log",
    benchmark:
        "logs/benchmarks/reference_set/reference_set.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("reference_set"),
    params:
        config=lambda wildcards: step_config("quality_model", "crawl"),
    shell:
        "python -m skyforge.cli reference-set --config-json {params.config:q}"
        " --out {output.reference:q} --digests {output.reference:q} 2> {log:q}"


rule train_quality_model:
    input:
        positives=by_content("results/data/quality_model/reference.parquet"),
        negatives=by_content(
            group_files(shard_files("results/data/substring/{group}/{shard}.parquet"))
        ),
        positives_sha256=digest_of("results/data/quality_model/reference.parquet"),
        negatives_sha256=digest_of(
            group_files(shard_files("results/data/substring/{group}/{shard}.parquet"))
        ),
    output:
        model="results/data/quality_model/model.bin",
        metrics=report(
            "results/data/quality_model/metrics.csv",
            caption="../report/quality_model.rst",
            category="3. Data",
        ),
        markdown="results/data/quality_model/metrics.md",
        model_sha256=digest_of("results/data/quality_model/model.bin"),
    log:
        "logs/train_quality_model/train_quality_model.log",
    benchmark:
        "logs/benchmarks/train_quality_model/train_quality_model.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("train_quality_model"),
    params:
        config=lambda wildcards: step_config("quality_model"),
        out_dir=lambda wildcards, output: os.path.dirname(output.model),
    shell:
        "python -m skyforge.cli train-quality --config-json {params.config:q}"
        " --positives {input.positives:q} --negatives {input.negatives:q}"
        " --out-dir {params.out_dir:q} --digests {output.model:q} 2> {log:q}"


rule quality:
    input:
        docs=by_content("results/data/decontam/{group}/{shard}.parquet"),
        model=by_content("results/data/quality_model/model.bin"),
        docs_sha256=digest_of("results/data/decontam/{group}/{shard}.parquet"),
        model_sha256=digest_of("results/data/quality_model/model.bin"),
    output:
        docs="results/data/quality/{group}/{shard}.parquet",
        removed="results/data/quality/{group}/{shard}.removed.parquet",
        docs_sha256=digest_of("results/data/quality/{group}/{shard}.parquet"),
        removed_sha256=digest_of("results/data/quality/{group}/{shard}.removed.parquet"),
    log:
        "logs/quality/{group}/{shard}.log",
    benchmark:
        "logs/benchmarks/quality/{group}/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("quality"),
    params:
        config=lambda wildcards: step_config("quality_model", "harmful", "stream"),
        model_dir=lambda wildcards, input: os.path.dirname(input.model),
    shell:
        "python -m skyforge.cli quality --config-json {params.config:q} --docs {input.docs:q}"
        " --model-dir {params.model_dir:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} --digests {output.docs:q} {output.removed:q} 2> {log:q}"


rule harmful_planted:
    output:
        planted="results/data/harmful_model/planted.parquet",
        planted_sha256=digest_of("results/data/harmful_model/planted.parquet"),
    log:
        "logs/harmful_planted/harmful_planted.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("harmful_planted"),
    params:
        config=lambda wildcards: step_config("harmful_model", "crawl"),
    shell:
        "python -m skyforge.cli harmful-planted --config-json {params.config:q}"
        " --out {output.planted:q} --digests {output.planted:q} 2> {log:q}"


rule train_harmful_model:
    input:
        flagged=by_content(shard_files("results/data/filter/{shard}.flagged.parquet")),
        planted=by_content("results/data/harmful_model/planted.parquet"),
        negatives=by_content(
            group_files(shard_files("results/data/quality/{group}/{shard}.parquet"))
        ),
        flagged_sha256=digest_of(shard_files("results/data/filter/{shard}.flagged.parquet")),
        planted_sha256=digest_of("results/data/harmful_model/planted.parquet"),
        negatives_sha256=digest_of(
            group_files(shard_files("results/data/quality/{group}/{shard}.parquet"))
        ),
    output:
        models=expand(
            "results/data/harmful_model/model-{fold}.bin",
            fold=range(config["harmful_model"]["num_folds"]),
        ),
        metrics=report(
            "results/data/harmful_model/metrics.csv",
            caption="../report/harmful_model.rst",
            category="3. Data",
        ),
        markdown="results/data/harmful_model/metrics.md",
        models_sha256=digest_of(
            expand(
                "results/data/harmful_model/model-{fold}.bin",
                fold=range(config["harmful_model"]["num_folds"]),
            )
        ),
    log:
        "logs/train_harmful_model/train_harmful_model.log",
    benchmark:
        "logs/benchmarks/train_harmful_model/train_harmful_model.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("train_harmful_model"),
    params:
        config=lambda wildcards: step_config("harmful_model", "harmful"),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
    shell:
        "python -m skyforge.cli train-harmful --config-json {params.config:q}"
        " --flagged {input.flagged:q} --planted {input.planted:q}"
        " --negatives {input.negatives:q} --out-dir {params.out_dir:q}"
        " --digests {output.models:q} 2> {log:q}"


rule harmful:
    input:
        docs=by_content("results/data/quality/{group}/{shard}.parquet"),
        models=by_content(rules.train_harmful_model.output.models),
        docs_sha256=digest_of("results/data/quality/{group}/{shard}.parquet"),
        models_sha256=rules.train_harmful_model.output.models_sha256,
    output:
        docs="results/data/harmful/{group}/{shard}.parquet",
        removed="results/data/harmful/{group}/{shard}.removed.parquet",
        docs_sha256=digest_of("results/data/harmful/{group}/{shard}.parquet"),
        removed_sha256=digest_of("results/data/harmful/{group}/{shard}.removed.parquet"),
    log:
        "logs/harmful/{group}/{shard}.log",
    benchmark:
        "logs/benchmarks/harmful/{group}/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("harmful"),
    params:
        config=lambda wildcards: step_config("harmful_model", "harmful", "stream"),
        model_dir=lambda wildcards, input: os.path.dirname(input.models[0]),
    shell:
        "python -m skyforge.cli harmful --config-json {params.config:q} --docs {input.docs:q}"
        " --model-dir {params.model_dir:q} --shard {wildcards.shard} --out-docs {output.docs:q}"
        " --out-removed {output.removed:q} --digests {output.docs:q} {output.removed:q} 2> {log:q}"
