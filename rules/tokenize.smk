"""Tokenizer, tokenized packs (megatron-core indexed datasets) and stage blends."""


rule train_tokenizer:
    input:
        train=by_content(corpus_split_files("train")),
        heldout=by_content(corpus_split_files("heldout")),
        digests=digest_of(corpus_split_files("train") + corpus_split_files("heldout")),
    output:
        tokenizer="results/tokenizer/tokenizer.json",
        hf_config="results/tokenizer/tokenizer_config.json",
        special_tokens="results/tokenizer/special_tokens_map.json",
        stats=report(
            "results/tokenizer/stats.csv",
            caption="../report/tokenizer.rst",
            category="4. Tokenizer",
        ),
        markdown="results/tokenizer/stats.md",
    log:
        "logs/train_tokenizer/train_tokenizer.log",
    benchmark:
        "logs/benchmarks/train_tokenizer/train_tokenizer.tsv"
    conda:
        "../envs/skyforge.yaml"
    threads: 2
    resources:
        **rule_resources("train_tokenizer"),
    params:
        config=lambda wildcards: tokenizer_config_json(),
        out_dir=lambda wildcards, output: os.path.dirname(output.tokenizer),
    shell:
        "python -m skyforge.cli train-tokenizer --config-json {params.config:q}"
        " --train {input.train:q} --heldout {input.heldout:q} --out-dir {params.out_dir:q}"
        " --threads {threads} 2> {log:q}"


rule pack_shard:
    input:
        docs=by_content("results/corpora/{corpus}/{split}/{shard}.parquet"),
        docs_sha256=digest_of("results/corpora/{corpus}/{split}/{shard}.parquet"),
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        bin="results/packs/{corpus}/{split}/{shard}.bin",
        idx="results/packs/{corpus}/{split}/{shard}.idx",
        stats="results/packs/{corpus}/{split}/{shard}.json",
    log:
        "logs/pack_shard/{corpus}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/pack_shard/{corpus}/{split}/{shard}.tsv"
    conda:
        "../envs/skyforge.yaml"
    threads: 1
    resources:
        **rule_resources("pack_shard"),
    params:
        prefix=lambda wildcards, output: output.bin.removesuffix(".bin"),
    shell:
        "python -m skyforge.cli pack --docs {input.docs:q} --tokenizer {input.tokenizer:q}"
        " --out-prefix {params.prefix:q} --threads {threads} 2> {log:q}"


rule merge_packs:
    input:
        # The shards' count files hold the .bin/.idx digests (skyforge.tokenize.packs).
        bins=by_content(shard_files("results/packs/{{corpus}}/{{split}}/{shard}.bin")),
        idxs=by_content(shard_files("results/packs/{{corpus}}/{{split}}/{shard}.idx")),
        stats=shard_files("results/packs/{{corpus}}/{{split}}/{shard}.json"),
    output:
        bin="results/packs/{corpus}/{split}.bin",
        idx="results/packs/{corpus}/{split}.idx",
        stats="results/packs/{corpus}/{split}.json",
    log:
        "logs/merge_packs/{corpus}/{split}.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("merge_packs"),
    params:
        inputs=lambda wildcards: " ".join(
            shard_files(f"results/packs/{wildcards.corpus}/{wildcards.split}/{{shard}}")
        ),
        prefix=lambda wildcards, output: output.bin.removesuffix(".bin"),
    shell:
        "python -m skyforge.cli merge-packs --inputs {params.inputs} --out-prefix {params.prefix:q}"
        " 2> {log:q}"


rule blend:
    input:
        pack_stats(),
    output:
        "results/blends/{blend}.json",
    log:
        "logs/blend/{blend}.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("blend"),
    params:
        # Only what this stage's blend reads: a new sub-stage leaves the others untouched.
        config=lambda wildcards: blend_config_json(wildcards.blend),
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m skyforge.cli blends --config-json {params.config:q} --pack-stats {input:q}"
        " --out-dir {params.out_dir:q} --only {wildcards.blend} 2> {log:q}"


rule blends:
    input:
        blend_files(),
    output:
        summary=report(
            "results/blends/summary.csv", caption="../report/blends.rst", category="4. Tokenizer"
        ),
        markdown="results/blends/summary.md",
    log:
        "logs/blends/blends.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("blends"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
    shell:
        "python -m skyforge.cli blends-summary --blends {input:q} --out-dir {params.out_dir:q}"
        " 2> {log:q}"
