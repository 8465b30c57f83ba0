"""Skyforge: every artifact of a bilingual LLM pretraining run, as one DAG.

    snakemake --cores 2                                        # embedded default, one box
    snakemake --profile slurm --configfile presets/a800_512.yaml   # 64 nodes × 8 A800

Table of contents only: the rules live in rules/, the logic in src/skyforge/.
"""

import os

from snakemake.utils import min_version

min_version("9.27")


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/targets.smk"
include: "rules/plan.smk"
include: "rules/crawl.smk"
include: "rules/clean.smk"
include: "rules/dedup.smk"
include: "rules/decontam.smk"
include: "rules/quality.smk"
include: "rules/corpora.smk"
include: "rules/tokenize.smk"
include: "rules/preflight.smk"
include: "rules/pretrain.smk"
include: "rules/align.smk"
include: "rules/eval.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
