"""After pretraining: SFT (and its optimizer-state ablation), the reference log-probs, DPO, HF
exports, the SFT model's own refusals for DPO's safety pairs, curves and sample replies.

The training rules are local rules that submit through submitit, exactly as pretraining
(docs/ARCHITECTURE.md, decision 3); their run directories live under checkpoints/, not outputs.
"""


rule chat_data:
    output:
        sft_train="results/chat/sft_train.jsonl",
        sft_heldout="results/chat/sft_heldout.jsonl",
        pref_train="results/chat/pref_train.jsonl",
        pref_heldout="results/chat/pref_heldout.jsonl",
        safety="results/chat/safety_prompts.jsonl",
    log:
        "logs/chat_data/chat_data.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("chat_data"),
    params:
        # Tracked: only the generators' settings (an lr change must not rewrite the data).
        synthetic=lambda wildcards: synthetic_chat_json(),
        out_dir=lambda wildcards, output: os.path.dirname(output.sft_train),
    shell:
        "python -m skyforge.cli chat-data --config-json {params.synthetic:q}"
        " --out-dir {params.out_dir:q} 2> {log:q}"


rule sft:
    input:
        unpack(sft_inputs),
    output:
        manifest="results/align/{sft}/manifest.json",
    log:
        "logs/sft/{sft}.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        tracked=lambda wildcards: align_params_json("sft"),
        other=lambda wildcards: "other" if wildcards.sft != "sft" else "config",
        job_folder=lambda wildcards: f"logs/sft/{wildcards.sft}.submitit",
    run:
        config_json = step_config("model", "cluster", "parallel", "train", "sft")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli sft --config-json {config_json:q} --run-json {run_json:q}"
            " --name {wildcards.sft} --variant {params.other} --init-manifest {input.init:q}"
            " --blend {input.blend:q} --tokenizer {input.tokenizer:q}"
            " --train-file {input.train:q} --heldout-file {input.heldout:q}"
            " --out {output.manifest:q} --job-folder {params.job_folder:q} 2> {log:q}"
        )


rule export_hf_align:
    input:
        manifest=export_manifest,
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        directory("results/hf/{variant}"),
    log:
        "logs/export_hf/{variant}.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("export_hf_align"),
    params:
        tokenizer_dir=lambda wildcards, input: os.path.dirname(input.tokenizer),
    shell:
        "python -m skyforge.cli export-hf --manifest {input.manifest:q}"
        " --tokenizer-dir {params.tokenizer_dir:q} --out-dir {output:q} 2> {log:q}"


rule refusals:
    input:
        model="results/hf/sft",
        prompts="results/chat/safety_prompts.jsonl",
    output:
        "results/chat/refusals.jsonl",
    log:
        "logs/refusals/refusals.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("refusals"),
    params:
        config=lambda wildcards: step_config("generate"),
    shell:
        "python -m skyforge.cli refusals --config-json {params.config:q} --model {input.model:q}"
        " --prompts {input.prompts:q} --out {output:q} 2> {log:q}"


rule preference_data:
    input:
        safety="results/chat/safety_prompts.jsonl",
        refusals="results/chat/refusals.jsonl",
        pref_train="results/chat/pref_train.jsonl",
        pref_heldout="results/chat/pref_heldout.jsonl",
    output:
        train="results/chat/pref_train_full.jsonl",
        heldout="results/chat/pref_heldout_full.jsonl",
        stats="results/chat/preference_stats.json",
    log:
        "logs/preference_data/preference_data.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("preference_data"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.train),
    shell:
        "python -m skyforge.cli preference-data --safety-prompts {input.safety:q}"
        " --refusals {input.refusals:q} --out-dir {params.out_dir:q} --stats {output.stats:q}"
        " 2> {log:q}"


rule dpo_reference_logprobs:
    input:
        unpack(dpo_data_inputs),
        sft="results/align/sft/manifest.json",
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        "results/align/dpo_reference/logprobs.parquet",
    log:
        "logs/dpo_reference_logprobs/dpo_reference_logprobs.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        job_folder="logs/dpo_reference_logprobs/submitit",
    run:
        config_json = step_config("model", "cluster", "parallel", "train", "dpo")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli dpo-reference-logprobs --config-json {config_json:q}"
            " --run-json {run_json:q} --sft-manifest {input.sft:q} --tokenizer {input.tokenizer:q}"
            " --train-file {input.train:q} --heldout-file {input.heldout:q} --out {output:q}"
            " --job-folder {params.job_folder:q} 2> {log:q}"
        )


rule dpo:
    input:
        unpack(dpo_data_inputs),
        sft="results/align/sft/manifest.json",
        reference="results/align/dpo_reference/logprobs.parquet",
        tokenizer="results/tokenizer/tokenizer.json",
        blend=final_stage_blend(),
    output:
        manifest="results/align/dpo/manifest.json",
    log:
        "logs/dpo/dpo.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        tracked=lambda wildcards: align_params_json("dpo"),
        job_folder="logs/dpo/dpo.submitit",
    run:
        config_json = step_config("model", "cluster", "parallel", "train", "dpo")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli dpo --config-json {config_json:q} --run-json {run_json:q}"
            " --sft-manifest {input.sft:q} --reference {input.reference:q}"
            " --blend {input.blend:q} --tokenizer {input.tokenizer:q}"
            " --train-file {input.train:q} --heldout-file {input.heldout:q}"
            " --out {output.manifest:q} --job-folder {params.job_folder:q} 2> {log:q}"
        )


rule align_report:
    input:
        manifests=align_manifests(),
        preference_stats=preference_stats_files(),
    output:
        curves=report(
            "results/align/report/curves.png",
            caption="../report/align.rst",
            category="6. SFT and DPO",
        ),
        summary=report(
            "results/align/report/summary.csv",
            caption="../report/align.rst",
            category="6. SFT and DPO",
        ),
        markdown="results/align/report/summary.md",
    log:
        "logs/align_report/align_report.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("align_report"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.curves),
        stats=lambda wildcards, input: (
            f"--preference-stats {input.preference_stats[0]}" if input.preference_stats else ""
        ),
    shell:
        "python -m skyforge.cli align-report --manifests {input.manifests:q}"
        " {params.stats} --out-dir {params.out_dir:q} 2> {log:q}"


rule samples:
    input:
        models=chat_model_exports(),
    output:
        markdown=report(
            "results/align/report/samples.md",
            caption="../report/samples.rst",
            category="6. SFT and DPO",
        ),
        table="results/align/report/samples.csv",
    log:
        "logs/samples/samples.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("samples"),
    params:
        config=lambda wildcards: step_config("generate"),
        models=lambda wildcards, input: " ".join(f"{os.path.basename(m)}={m}" for m in input.models),
        out_dir=lambda wildcards, output: os.path.dirname(output.markdown),
    shell:
        "python -m skyforge.cli samples --config-json {params.config:q} --models {params.models}"
        " --out-dir {params.out_dir:q} 2> {log:q}"
