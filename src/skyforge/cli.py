"""The ``skyforge`` command line: one sub-command per registered step (see :mod:`skyforge.steps`).

Snakemake rules call the sub-commands with the config sections the step depends on as JSON
(``--config-json``), so that a config change reruns only the steps that read it. People call them
with the same YAML files Snakemake reads (``--configfile config.yaml --configfile preset.yaml``).
A user error (bad config, missing input) exits with status 2 and one line on stderr; a job that
failed exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from skyforge.steps import (
    align,
    clean,
    corpora,
    crawl,
    decontam,
    dedup,
    preflight,
    pretrain,
    quality,
    report,
)
from skyforge.steps import eval as eval_steps
from skyforge.steps import plan as plan_steps
from skyforge.steps import tokenize as tokenize_steps
from skyforge.steps.registry import REGISTRY, run_step

# Importing a step module registers its steps; --help lists them in DAG order.
STEP_MODULES = (
    plan_steps,
    crawl,
    clean,
    dedup,
    decontam,
    quality,
    corpora,
    tokenize_steps,
    preflight,
    pretrain,
    align,
    eval_steps,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every registered step."""
    parser = argparse.ArgumentParser(prog="skyforge", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    order = [m.__name__ for m in STEP_MODULES]
    for s in sorted(REGISTRY.values(), key=lambda s: order.index(s.func.__module__)):
        p = sub.add_parser(s.name, help=s.help, description=s.func.__doc__)
        p.set_defaults(step_=s)  # "step" is an argument of apply-drop
        if s.sections:
            g = p.add_mutually_exclusive_group(required=True)
            g.add_argument(
                "--configfile",
                action="append",
                type=Path,
                help="YAML config file; repeat to overlay (like snakemake --configfile)",
            )
            g.add_argument("--config-json", help=f"the sections {', '.join(s.sections)} as JSON")
        p.add_argument("--stats", type=Path, help="write the step's statistics here (JSON)")
        p.add_argument(
            "--digests",
            nargs="+",
            type=Path,
            help="after the step, write <file>.sha256 beside each of these outputs (what "
            "Snakemake compares instead of a large file's time; docs/staleness.md)",
        )
        for a in s.args:
            p.add_argument(*a.flags, **a.kwargs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the step, turn errors into one line and an exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return run_step(args.step_, args)
    except (ValueError, FileNotFoundError) as exc:  # user errors: bad config, input or file
        print(f"skyforge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a job that failed: one line, the details are in its log
        print(f"skyforge {args.command}: failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
