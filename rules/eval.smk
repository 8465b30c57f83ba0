"""Eval tables: normalised domain loss, benchmarks (lm-eval), contamination with its leaky
control, layer cosine. Every table's rows come from eval_models() (the DAG's own exports plus
any folders in eval.models), so a model or a domain is added in the config, not in code."""


rule eval_domains:
    input:
        heldout=by_content(corpus_split_files("heldout")),
        heldout_sha256=digest_of(corpus_split_files("heldout")),
    output:
        expand("results/eval/domains/{corpus}.jsonl", corpus=CORPORA),
    log:
        "logs/eval_domains/eval_domains.log",
    benchmark:
        "logs/benchmarks/eval_domains/eval_domains.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("eval_domains"),
    params:
        config=lambda wildcards: eval_config("heldout_docs"),
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m skyforge.cli eval-domains --config-json {params.config:q}"
        " --heldout {input.heldout:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule eval_domain_loss:
    input:
        models=own_eval_models(),
        domains=list(eval_domain_files().values()),
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        table=report(
            "results/eval/domain_loss/domain_loss.csv",
            caption="../report/domain_loss.rst",
            category="7. Evaluation",
            subcategory="Domain loss",
        ),
        markdown="results/eval/domain_loss/domain_loss.md",
        plot=report(
            "results/eval/domain_loss/domain_loss.png",
            caption="../report/domain_loss.rst",
            category="7. Evaluation",
            subcategory="Domain loss",
        ),
    log:
        "logs/eval_domain_loss/eval_domain_loss.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("eval_domain_loss"),
    params:
        config=lambda wildcards: eval_config("max_chars", "batch_tokens"),
        models=lambda wildcards: pairs_args(eval_models()),
        domains=lambda wildcards: pairs_args(eval_domain_files()),
        reference=lambda wildcards: reference_tokenizer(),
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        "python -m skyforge.cli eval-domain-loss --config-json {params.config:q}"
        " --models {params.models} --domains {params.domains}"
        " --reference-tokenizer {params.reference:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule eval_benchmarks_data:
    output:
        directory("results/eval/benchmarks/data"),
    log:
        "logs/eval_benchmarks_data/eval_benchmarks_data.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("eval_benchmarks_data"),
    params:
        config=lambda wildcards: synthetic_benchmarks_json(),
    shell:
        "python -m skyforge.cli eval-benchmarks-data --config-json {params.config:q}"
        " --out-dir {output:q} 2> {log:q}"


rule eval_benchmarks:
    input:
        models=own_eval_models(),
        data=benchmark_inputs(),
    output:
        table=report(
            "results/eval/benchmarks/benchmarks.csv",
            caption="../report/benchmarks.rst",
            category="7. Evaluation",
            subcategory="Benchmarks",
        ),
        markdown="results/eval/benchmarks/benchmarks.md",
        plot=report(
            "results/eval/benchmarks/benchmarks.png",
            caption="../report/benchmarks.rst",
            category="7. Evaluation",
            subcategory="Benchmarks",
        ),
    log:
        "logs/eval_benchmarks/eval_benchmarks.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("eval_benchmarks"),
    params:
        config=lambda wildcards: eval_config("benchmarks"),
        models=lambda wildcards: pairs_args(eval_models()),
        data=lambda wildcards: pairs_args(benchmark_dirs()),
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        "python -m skyforge.cli eval-benchmarks --config-json {params.config:q}"
        " --models {params.models} --data {params.data} --out-dir {params.out_dir:q} 2> {log:q}"


rule leaky_control:
    input:
        final=lambda wildcards: stage_manifests()[-1],
        blend=final_stage_blend(),
        data=benchmark_inputs(),
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        manifest="results/eval/contamination/leaky_control/manifest.json",
    log:
        "logs/leaky_control/leaky_control.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        tracked=lambda wildcards: json.dumps(config["eval"]["contamination"], sort_keys=True),
        test=lambda wildcards: gsm8k_files()["test"],
        job_folder="logs/leaky_control/submitit",
    run:
        config_json = step_config("model", "cluster", "eval")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli leaky-control --config-json {config_json:q}"
            " --run-json {run_json:q} --final-manifest {input.final:q} --blend {input.blend:q}"
            " --test-file {params.test:q} --tokenizer {input.tokenizer:q}"
            " --out {output.manifest:q} --job-folder {params.job_folder:q} 2> {log:q}"
        )


rule eval_contamination:
    input:
        models=contamination_model_inputs(),
        data=benchmark_inputs(),
    output:
        table=report(
            "results/eval/contamination/contamination.csv",
            caption="../report/contamination.rst",
            category="7. Evaluation",
            subcategory="Contamination",
        ),
        markdown="results/eval/contamination/contamination.md",
        plot=report(
            "results/eval/contamination/contamination.png",
            caption="../report/contamination.rst",
            category="7. Evaluation",
            subcategory="Contamination",
        ),
    log:
        "logs/eval_contamination/eval_contamination.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("eval_contamination"),
    params:
        config=lambda wildcards: eval_config("contamination", "batch_tokens"),
        models=lambda wildcards: pairs_args(contamination_models()),
        control=lambda wildcards: (
            "--control 'leaky control'" if config["eval"]["contamination"]["leaky_control"] else ""
        ),
        files=lambda wildcards: " ".join(f"--{k} {v}" for k, v in gsm8k_files().items()),
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        "python -m skyforge.cli eval-contamination --config-json {params.config:q}"
        " --models {params.models} {params.control} {params.files}"
        " --out-dir {params.out_dir:q} 2> {log:q}"


rule eval_layer_cosine:
    input:
        models=own_eval_models(),
        domains=list(eval_domain_files().values()),
    output:
        table=report(
            "results/eval/layer_cosine/layer_cosine.csv",
            caption="../report/layer_cosine.rst",
            category="7. Evaluation",
            subcategory="Layer cosine",
        ),
        markdown="results/eval/layer_cosine/layer_cosine.md",
        plot=report(
            "results/eval/layer_cosine/layer_cosine.png",
            caption="../report/layer_cosine.rst",
            category="7. Evaluation",
            subcategory="Layer cosine",
        ),
    log:
        "logs/eval_layer_cosine/eval_layer_cosine.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("eval_layer_cosine"),
    params:
        config=lambda wildcards: eval_config("layer_cosine_docs", "max_chars"),
        models=lambda wildcards: pairs_args(eval_models()),
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        "python -m skyforge.cli eval-layer-cosine --config-json {params.config:q}"
        " --models {params.models} --domains {input.domains:q} --out-dir {params.out_dir:q}"
        " 2> {log:q}"


rule ablation_stem:
    input:
        stage=lambda wildcards: stage1_manifests()[0],
        blend=final_stage_blend(),
    output:
        manifest="results/eval/ablation/stem/manifest.json",
        start="results/eval/ablation/stem/start_manifest.json",
    log:
        "logs/ablation_stem/ablation_stem.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        tracked=lambda wildcards: json.dumps(config["eval"]["ablation"], sort_keys=True),
        job_folder="logs/ablation_stem/submitit",
    run:
        config_json = step_config("model", "cluster", "train", "eval")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli ablation-train --config-json {config_json:q}"
            " --run-json {run_json:q} --stage-manifest {input.stage:q} --blend {input.blend:q}"
            " --out {output.manifest:q} --job-folder {params.job_folder:q} 2> {log:q}"
        )


rule eval_ablation:
    input:
        before="results/hf/ablation_start",
        after="results/hf/ablation_stem",
        domains=list(eval_domain_files().values()),
        data=benchmark_inputs(),
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        table=report(
            "results/eval/ablation/ablation.csv",
            caption="../report/ablation.rst",
            category="7. Evaluation",
            subcategory="In-domain ablation",
        ),
        markdown="results/eval/ablation/ablation.md",
        plot=report(
            "results/eval/ablation/ablation.png",
            caption="../report/ablation.rst",
            category="7. Evaluation",
            subcategory="In-domain ablation",
        ),
    log:
        "logs/eval_ablation/eval_ablation.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("eval_ablation"),
    params:
        config=lambda wildcards: eval_config("benchmarks", "max_chars", "batch_tokens"),
        domains=lambda wildcards: pairs_args(eval_domain_files()),
        data=lambda wildcards: pairs_args(benchmark_dirs()),
        reference=lambda wildcards: reference_tokenizer(),
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        "python -m skyforge.cli eval-ablation --config-json {params.config:q}"
        " --before {input.before:q} --after {input.after:q} --domains {params.domains}"
        " --data {params.data} --reference-tokenizer {params.reference:q}"
        " --out-dir {params.out_dir:q} 2> {log:q}"


rule contamination_summary:
    input:
        audit="results/data/audit/benchmarks.csv",
        contamination="results/eval/contamination/contamination.csv",
    output:
        table=report(
            "results/eval/contamination/data_vs_model.csv",
            caption="../report/data_vs_model.rst",
            category="7. Evaluation",
            subcategory="Contamination",
        ),
        markdown="results/eval/contamination/data_vs_model.md",
    log:
        "logs/contamination_summary/contamination_summary.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("contamination_summary"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        "python -m skyforge.cli contamination-summary --audit {input.audit:q}"
        " --contamination {input.contamination:q} --out-dir {params.out_dir:q} 2> {log:q}"
