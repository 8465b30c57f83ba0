"""Steps of ``rules/report.smk``: the summary page read first.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skyforge.steps.registry import arg, step


@step(
    "summary",
    "write results/summary.md from the artifacts",
    args=(
        arg("--results", type=Path, required=True, help="the results/ directory"),
        arg("--out", type=Path, required=True),
        arg("--run-name", required=True),
        arg("--config-hash", required=True),
        arg("--stages", nargs="+", required=True),
    ),
)
def summary(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Write results/summary.md from the run's artifacts."""
    from skyforge.reports.summary import write_summary

    write_summary(
        args.results,
        args.out,
        run_name=args.run_name,
        config_hash=args.config_hash,
        stages=args.stages,
    )
