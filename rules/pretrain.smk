"""Pretraining: the chain of stages (stage-1 sessions, stage-2 sub-stages, optional decay),
each a target trained by a submitit job; HF exports of each stage's final model; loss curves.

GPU rules are local rules (docs/ARCHITECTURE.md, decision 3): the rule only submits and waits, the
job itself goes to SLURM through submitit (or to local worker processes on a laptop).
"""


rule pretrain:
    input:
        unpack(pretrain_inputs),
    output:
        manifest="results/pretrain/{stage}/manifest.json",
    log:
        "logs/pretrain/{stage}.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        # Tracked: what determines this stage's weights (earlier stages reach it as inputs).
        stage=lambda wildcards: stage_params_json(wildcards.stage),
        init=lambda wildcards, input: (
            f"--init-manifest {input.init}" if "init" in input.keys() else ""
        ),
        job_folder=lambda wildcards: f"logs/pretrain/{wildcards.stage}.submitit",
    run:
        # Not tracked: the full sections the CLI reads (a new sub-stage must not retrain stage
        # 1), and monitoring, checkpoints and launch (where and how a job runs).
        config_json = step_config("model", "cluster", "parallel", "train", "blends")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli pretrain --config-json {config_json:q}"
            " --run-json {run_json:q} --stage {wildcards.stage} --blend {input.blend:q}"
            " --tokenizer {input.tokenizer:q} {params.init} --manifest {output.manifest:q}"
            " --job-folder {params.job_folder:q} 2> {log:q}"
        )


rule pretrain_stage1:
    input:
        stage1_manifests(),


rule pretrain_stage2:
    input:
        stage2_manifests(),


rule export_hf:
    input:
        manifest="results/pretrain/{stage}/manifest.json",
        tokenizer="results/tokenizer/tokenizer.json",
    output:
        directory("results/hf/{stage}"),
    log:
        "logs/export_hf/{stage}.log",
    conda:
        "../envs/train.yaml"
    resources:
        **rule_resources("export_hf"),
    params:
        tokenizer_dir=lambda wildcards, input: os.path.dirname(input.tokenizer),
    shell:
        "python -m skyforge.cli export-hf --manifest {input.manifest:q}"
        " --tokenizer-dir {params.tokenizer_dir:q} --out-dir {output:q} 2> {log:q}"


rule pretrain_report:
    input:
        stage_manifests(),
    output:
        curves=report(
            "results/pretrain/report/curves.png",
            caption="../report/pretrain.rst",
            category="5. Pretraining",
        ),
        summary=report(
            "results/pretrain/report/summary.csv",
            caption="../report/pretrain.rst",
            category="5. Pretraining",
        ),
        markdown="results/pretrain/report/summary.md",
    log:
        "logs/pretrain_report/pretrain_report.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("pretrain_report"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.curves),
    shell:
        "python -m skyforge.cli pretrain-report --manifests {input:q} --out-dir {params.out_dir:q}"
        " 2> {log:q}"
