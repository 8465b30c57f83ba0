"""Pre-flight check before the first pretraining stage (docs/preflight.md): on the training job's
own layout and nodes, all-reduce bus bandwidth within and across nodes at the gradient buckets'
sizes and a few real training steps (tokens/s per GPU, MFU) beside the plan's prediction.

In the DAG only when `preflight.enabled` (auto: when `launch.executor` is slurm); then
stage1_0 waits for its table (and no other rule asks for it: see docs/preflight.md). A local
rule like `pretrain`: the rule submits and waits, the job runs through submitit with the
stage's nodes × tasks. A failed check leaves no table (only
results/preflight/preflight.failed.csv for diagnosis) and stops the run.
"""


rule preflight:
    output:
        csv=report(
            "results/preflight/preflight.csv",
            caption="../report/preflight.rst",
            category="5. Pretraining",
        ),
        markdown="results/preflight/preflight.md",
    log:
        "logs/preflight/preflight.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        # Tracked: the first stage's shapes, the plan's GPU and MFU, the thresholds.
        tracked=lambda wildcards: preflight_params_json(),
        measurements="logs/preflight/measurements.json",
        job_folder="logs/preflight/preflight.submitit",
    run:
        # Not tracked: the full sections the CLI reads, and how the job runs (launch).
        config_json = step_config("model", "cluster", "parallel", "train", "plan", "preflight")
        run_json = run_config_json(resources)
        shell(
            "python -m skyforge.cli preflight --config-json {config_json:q}"
            " --run-json {run_json:q} --measurements {params.measurements:q}"
            " --csv {output.csv:q} --markdown {output.markdown:q}"
            " --job-folder {params.job_folder:q} 2> {log:q}"
        )
