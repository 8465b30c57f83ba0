"""The page a person reads first: results/summary.md, built from every other artifact."""


rule summary:
    input:
        artifacts=summary_inputs(),
    output:
        report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="0. Summary",
        ),
    log:
        "logs/summary/summary.log",
    conda:
        "../envs/skyforge.yaml"
    resources:
        **rule_resources("summary"),
    params:
        run_name=config["run_name"],
        config_hash=lambda wildcards: config_hash(),
        stages=lambda wildcards: " ".join(training_stages()),
        results=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m skyforge.cli summary --results {params.results:q} --out {output:q}"
        " --run-name {params.run_name:q} --config-hash {params.config_hash}"
        " --stages {params.stages} 2> {log:q}"
