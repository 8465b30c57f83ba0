"""CLI sub-commands of the training stage (``python -m skyforge.cli <step>``).

Thin glue between argparse and the library: ``pretrain`` resolves one stage of the chain into a
:class:`~skyforge.train.spec.StageSpec` and hands it to :func:`skyforge.launch.dispatch.dispatch`
(submitit: local processes or a SLURM job); ``export-hf`` turns a stage's final checkpoint into a
``transformers`` folder and checks its logits; ``pretrain-report`` draws the loss curves of the
whole chain.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyforge import config as C

log = logging.getLogger("skyforge")

Loader = Callable[[argparse.Namespace, tuple[str, ...]], dict[str, Any]]

PRETRAIN_SECTIONS = ("model", "cluster", "parallel", "train", "blends")
"""What determines a stage's weights (tracked by Snakemake's params)."""
RUN_SECTIONS = ("monitoring", "checkpoints", "launch")
"""How the job runs (not tracked: changing them never makes a stage stale)."""


def dispatch_job(
    spec_path: Path,
    spec_json: str,
    *,
    run: dict[str, Any],
    cluster: C.ClusterConfig,
    job_name: str,
    job_folder: Path,
    output: Path,
    entry: str | None = None,
) -> Any:
    """Write a job's spec file and run it to its end through submitit (local or SLURM).

    The job record goes beside ``output`` (the rule's declared output), so a restarted
    Snakemake re-attaches to the running job instead of submitting a second one.

    Raises:
        RuntimeError: the job failed, or ended without writing ``output``.
    """
    from skyforge.core.io import atomic_write_text
    from skyforge.launch.dispatch import DEFAULT_ENTRY, LaunchConfig, dispatch

    atomic_write_text(spec_path, spec_json)
    # On CPU, "GPUs per node" are worker processes: tasks without a GPU request.
    on_cpu = cluster.accelerator == "cpu"
    result = dispatch(
        str(spec_path),
        LaunchConfig.from_dict(run.get("launch", {})),
        nodes=cluster.nodes,
        gpus_per_node=0 if on_cpu else cluster.gpus_per_node,
        tasks_per_node=cluster.gpus_per_node,
        folder=job_folder,
        job_record=Path(output).with_name("job.json"),
        job_name=job_name,
        entry=entry or DEFAULT_ENTRY,
        # Snakemake runs a rule only when its output is missing or stale: a job that completed
        # before is not the answer (the new one resumes from its run directory).
        reuse_completed=False,
    )
    if not Path(output).is_file():
        raise RuntimeError(f"job {job_name}: it ended without writing {output}")
    return result


def cmd_pretrain(args: argparse.Namespace, load: Loader) -> int:
    """Train one stage (stage1_<i>, stage2_<i> or decay) through submitit; wait for it."""
    from skyforge.launch.dispatch import LaunchConfig
    from skyforge.train.spec import TrainingOptions, build_stage_spec

    d = load(args, PRETRAIN_SECTIONS)
    try:
        run = json.loads(args.run_json) if args.run_json else {}
    except json.JSONDecodeError as exc:
        raise C.ConfigError(f"--run-json: not valid JSON ({exc.msg})") from None
    run = C.validate_sections(run, RUN_SECTIONS) if run else {}
    model = C.ModelConfig.from_dict(d["model"])
    cluster = C.ClusterConfig.from_dict(d["cluster"])
    parallel = C.ParallelConfig.from_dict(d["parallel"])
    train = C.TrainConfig.from_dict(d["train"])
    C.check_layout(model, cluster, parallel, train)
    options = TrainingOptions.from_config({**run, "train": d["train"]})
    spec = build_stage_spec(
        args.stage,
        model=model,
        parallel=parallel,
        train=train,
        options=options,
        accelerator=cluster.accelerator,
        decay=d["blends"].get("decay"),
        blend=args.blend,
        tokenizer=args.tokenizer,
        manifest=args.manifest,
        init_manifest=args.init_manifest,
    )
    launch = LaunchConfig.from_dict(run.get("launch", {}))
    log.info(
        "pretrain %s: %s, %d steps × %d tokens, %d × %d %s, executor %s, run dir %s",
        spec.stage, spec.description, spec.train_steps, spec.tokens_per_step, cluster.nodes,
        cluster.gpus_per_node, cluster.accelerator, launch.executor, spec.run_dir,
    )  # fmt: skip
    result = dispatch_job(
        # Beside the run directory, not in it: a run directory trained with another
        # configuration is moved aside by the job, and a requeued job must still find its spec.
        Path(spec.run_dir).with_name(f"{spec.stage}.spec.json"),
        spec.to_json(),
        run=run,
        cluster=cluster,
        job_name=f"{d['model']['name']}-{spec.stage}",
        job_folder=args.job_folder,
        output=args.manifest,
    )
    log.info("pretrain %s: final metrics %s", spec.stage, json.dumps(result["final_metrics"]))
    return 0


def cmd_export_hf(args: argparse.Namespace, load: Loader) -> int:
    """Export a stage's final checkpoint as a transformers LlamaForCausalLM folder."""
    from skyforge.train.hf_stage import export_stage

    report = export_stage(args.manifest, args.tokenizer_dir, args.out_dir)
    log.info("export-hf: %s", json.dumps(report))
    return 0


def cmd_pretrain_report(args: argparse.Namespace, load: Loader) -> int:
    """Loss curves and the summary table of the whole chain of stages."""
    from skyforge.reports.pretrain import write_pretrain_report

    write_pretrain_report(args.manifests, args.out_dir)
    return 0


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the training sub-commands (``add`` from :func:`skyforge.cli.step_adder`)."""

    p = add("pretrain", cmd_pretrain, "train one pretraining stage (submitit)")
    p.add_argument("--run-json", help="monitoring, checkpoints and launch sections, as JSON")
    p.add_argument("--stage", required=True, help="stage1_<i>, stage2_<i> or decay")
    p.add_argument("--blend", type=Path, required=True)
    p.add_argument("--tokenizer", type=Path, required=True)
    p.add_argument("--init-manifest", type=Path, default=None)
    p.add_argument("--manifest", type=Path, required=True, help="the declared output")
    p.add_argument("--job-folder", type=Path, required=True, help="submitit logs and pickles")

    p = add("export-hf", cmd_export_hf, "export a stage as a HF Llama folder", config=False)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--tokenizer-dir", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("pretrain-report", cmd_pretrain_report, "loss curves of all stages", config=False)
    p.add_argument("--manifests", type=Path, nargs="+", required=True)
    p.add_argument("--out-dir", type=Path, required=True)
