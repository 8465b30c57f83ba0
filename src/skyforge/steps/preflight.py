"""Steps of ``rules/preflight.smk``: the pre-flight check before the first pretraining stage.

``preflight`` runs :func:`skyforge.train.preflight.run_preflight` as a job of the first stage's
exact layout through :func:`skyforge.launch.jobs.run_job` (submitit: srun on SLURM, worker
processes locally), then writes its table beside the plan's prediction, or stops with one line
(docs/preflight.md). Library imports sit inside the step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import JOB_FOLDER, RUN_JSON, path, run_sections, step

log = logging.getLogger("skyforge")

PREFLIGHT_SECTIONS = ("model", "cluster", "parallel", "train", "plan", "preflight")
"""What the step reads (the rule tracks :func:`skyforge.train.preflight.tracked_config`)."""

ENTRY = "skyforge.train.preflight:run_preflight"


@step(
    "preflight",
    "pre-flight check on the first stage's job: all-reduce busbw, tokens/s, MFU vs the plan",
    sections=PREFLIGHT_SECTIONS,
    args=(
        RUN_JSON,
        path("measurements", help="the job's raw measurements (JSON); its job record beside"),
        path("csv", help="the table (declared output; absent when a check fails)"),
        path("markdown", help="the table for people (declared output)"),
        JOB_FOLDER,
    ),
)
def preflight(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Measure bandwidth and throughput on the first stage's layout; fail below the thresholds."""
    from skyforge.launch.dispatch import launch_config
    from skyforge.launch.jobs import run_job
    from skyforge.train.preflight import build_preflight_spec, preflight_table, write_preflight

    run = run_sections(args)
    layout = C.Layout.from_dict(cfg)
    settings = C.PreflightConfig.from_dict(cfg["preflight"])
    spec = build_preflight_spec(
        model=layout.model,
        parallel=layout.parallel,
        train=layout.train,
        preflight=settings,
        accelerator=layout.cluster.accelerator,
        seed=cfg["train"]["seed"],
        result=args.measurements,
    )
    cluster = layout.cluster
    log.info(
        "preflight of %s: %d × %d %s, %d + %d steps, executor %s",
        spec.stage.stage,
        cluster.nodes,
        cluster.gpus_per_node,
        cluster.accelerator,
        settings.warmup_steps,
        settings.steps,
        launch_config(run.get("launch")).executor,
    )
    result = run_job(
        Path(args.measurements).with_name("preflight.spec.json"),
        spec.to_json(),
        run=run,
        cluster=cluster,
        job_name=f"{layout.model.name}-preflight",
        job_folder=args.job_folder,
        output=args.measurements,
        entry=ENTRY,
    )
    table = preflight_table(
        result,
        model=layout.model,
        parallel=layout.parallel,
        train=layout.train,
        plan=C.PlanConfig.from_dict(cfg["plan"]),
        preflight=settings,
    )
    write_preflight(result, table, args.csv, args.markdown)
    tps = table[table.check == "training throughput"].iloc[0]
    cross = table[(table.scope == "across nodes") & (table.status != "info")]
    return {
        "tokens_per_s_per_gpu": _number(tps.measured),
        "plan_tokens_per_s_per_gpu": _number(tps.plan),
        "cross_node_busbw_gbps": _number(cross.iloc[0].measured) if len(cross) else None,
        "nodes": result["nodes"],
        "world_size": result["world_size"],
    }


def _number(x: Any) -> float | None:
    """A table cell as a rounded float (None for an empty cell: None or NaN)."""
    return None if x is None or x != x else round(float(x), 3)
