"""The compute plan: parameters, FLOPs, memory per GPU, layouts, days (results/plan/)."""


rule plan:
    output:
        summary=report("results/plan/summary.csv", caption="../report/plan.rst", category="1. Plan"),
        layouts=report("results/plan/layouts.csv", caption="../report/plan.rst", category="1. Plan"),
        reverse_plan="results/plan/reverse.csv",
        markdown=report("results/plan/plan.md", caption="../report/plan.rst", category="1. Plan"),
    log:
        "logs/plan/plan.log",
    benchmark:
        "logs/benchmarks/plan/plan.tsv"
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("plan"),
    params:
        config=lambda wildcards: step_config("model", "cluster", "parallel", "train", "plan"),
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        # Every rule's SLURM request as Snakemake asks for it (rules/common.smk): plan.md's table.
        resources_table=lambda wildcards: resource_table_json(),
        # The data half: every data rule's jobs, memory and hours at plan.data's crawl size.
        data_plan=lambda wildcards: data_plan_json(),
    shell:
        "python -m skyforge.cli plan --config-json {params.config:q} --out-dir {params.out_dir:q}"
        " --resources-json {params.resources_table:q} --data-plan-json {params.data_plan:q}"
        " 2> {log:q}"
