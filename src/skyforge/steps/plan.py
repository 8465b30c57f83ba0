"""Steps of ``rules/plan.smk``: the compute plan, and the config check people run by hand.

Library imports sit inside each step: the CLI imports every step module to build its parser, and
a job should pay only its own step's imports (torch, pandas, matplotlib...).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import arg, step

PLAN_SECTIONS = ("model", "cluster", "parallel", "train", "plan")


@step(
    "validate-config",
    "validate config files (schema + layout checks)",
    args=(
        arg("--configfile", action="append", type=Path, required=True),
        arg("--print", action="store_true", help="print the merged config"),
    ),
)
def validate_config(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Validate config files and print the merged config with defaults filled in."""
    data = C.load_config_files(args.configfile)
    print(json.dumps(data, indent=2, sort_keys=True) if args.print else "config is valid")


@step(
    "plan",
    "compute plan: parameters, FLOPs, memory, layouts, days",
    sections=PLAN_SECTIONS,
    args=(
        arg("--out-dir", type=Path, required=True, help="output directory"),
        arg(
            "--resources-json",
            default=None,
            help="every rule's SLURM request as a JSON list (skyforge.plan.resources rows, as "
            "rules/common.smk computes them): plan.md's last table",
        ),
        arg(
            "--data-plan-json",
            default=None,
            help="the data half (skyforge.plan.data_plan.data_plan as JSON, as rules/common.smk "
            'computes it): plan.md\'s "Data half" section',
        ),
    ),
)
def plan(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Compute the plan tables (results/plan/)."""
    from skyforge.plan.tables import write_plan  # deferred: pandas + matplotlib

    layout = C.Layout.from_dict(cfg)
    tables = write_plan(
        args.out_dir,
        layout.model,
        layout.cluster,
        layout.parallel,
        layout.train,
        C.PlanConfig.from_dict(cfg["plan"]),
        resources=json.loads(args.resources_json) if args.resources_json else (),
        data=json.loads(args.data_plan_json) if args.data_plan_json else None,
    )
    s = dict(zip(tables["summary"]["name"], tables["summary"]["value"], strict=True))
    return {
        "params_b": round(s["params_total"] / 1e9, 3),
        "tokens_per_gpu_s": round(s["tokens_per_gpu_s"]),
        "assumed_mfu": s["assumed_mfu"],
        "train_days": round(s["train_days"], 1),
        "memory_gib_per_gpu": round(s["memory_total_gib"], 1),
        "fits": bool(s["fits"]),
    }
