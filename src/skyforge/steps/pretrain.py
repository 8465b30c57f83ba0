"""Steps of ``rules/pretrain.smk``: one pretraining stage through submitit, HF export, curves.

``pretrain`` resolves one stage of the chain into a :class:`~skyforge.train.spec.StageSpec` and
runs it with :func:`skyforge.launch.jobs.run_job`. Library imports sit inside each step (see
:mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import JOB_FOLDER, RUN_JSON, arg, path, run_sections, step

log = logging.getLogger("skyforge")

PRETRAIN_SECTIONS = ("model", "cluster", "parallel", "train", "blends")
"""What determines a stage's weights (tracked by Snakemake's params)."""


@step(
    "pretrain",
    "train one pretraining stage (submitit)",
    sections=PRETRAIN_SECTIONS,
    args=(
        RUN_JSON,
        arg("--stage", required=True, help="stage1_<i>, stage2_<i> or decay"),
        path("blend"),
        path("tokenizer"),
        arg("--init-manifest", type=Path, default=None),
        path("manifest", help="the declared output"),
        JOB_FOLDER,
    ),
)
def pretrain(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train one stage (stage1_<i>, stage2_<i> or decay) through submitit; wait for it."""
    from skyforge.launch.dispatch import launch_config
    from skyforge.launch.jobs import run_job
    from skyforge.train.inputs import with_input_digests
    from skyforge.train.spec import TrainingOptions, build_stage_spec

    run = run_sections(args)
    layout = C.Layout.from_dict(cfg)
    spec = build_stage_spec(
        args.stage,
        model=layout.model,
        parallel=layout.parallel,
        train=layout.train,
        options=TrainingOptions.from_config({**run, "train": cfg["train"]}),
        accelerator=layout.cluster.accelerator,
        decay=cfg["blends"].get("decay"),
        blend=args.blend,
        tokenizer=args.tokenizer,
        manifest=args.manifest,
        init_manifest=args.init_manifest,
    )
    spec = with_input_digests(spec)
    cluster = layout.cluster
    log.info(
        "pretrain %s: %s, %d steps × %d tokens, %d × %d %s, executor %s, run dir %s",
        spec.stage,
        spec.description,
        spec.train_steps,
        spec.tokens_per_step,
        cluster.nodes,
        cluster.gpus_per_node,
        cluster.accelerator,
        launch_config(run.get("launch")).executor,
        spec.run_dir,
    )
    result = run_job(
        Path(spec.run_dir).with_name(f"{spec.stage}.spec.json"),
        spec.to_json(),
        run=run,
        cluster=cluster,
        job_name=f"{layout.model.name}-{spec.stage}",
        job_folder=args.job_folder,
        output=args.manifest,
        inputs=spec.input_digests,
    )
    return result["final_metrics"]


@step(
    "export-hf",
    "export a stage as a HF Llama folder",
    args=(path("manifest"), path("tokenizer-dir"), path("out-dir")),
)
def export_hf(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Export a stage's final checkpoint as a transformers LlamaForCausalLM folder."""
    from skyforge.train.hf_stage import export_stage  # deferred: torch, megatron, transformers

    return export_stage(args.manifest, args.tokenizer_dir, args.out_dir)


@step(
    "pretrain-report",
    "loss curves of all stages",
    args=(path("manifests", many=True), path("out-dir")),
)
def pretrain_report(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Loss curves and the summary table of the whole chain of stages."""
    from skyforge.reports.pretrain import write_pretrain_report

    write_pretrain_report(args.manifests, args.out_dir)
