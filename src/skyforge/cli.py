"""The ``skyforge`` command line: one sub-command per pipeline step.

Snakemake rules call these sub-commands with the config sections the step depends on as JSON
(``--config-json``), so that a config change reruns only the steps that read it. People call them
with the same YAML files Snakemake reads (``--configfile config.yaml --configfile preset.yaml``).
A user error (bad config, missing input) exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyforge import config as C

log = logging.getLogger("skyforge")


def _add_config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--configfile",
        action="append",
        type=Path,
        help="YAML config file; repeat to overlay (like snakemake --configfile)",
    )
    g.add_argument("--config-json", help="the config sections this step needs, as JSON")


def step_adder(
    sub: argparse._SubParsersAction,
    add_config_args: Callable[[argparse.ArgumentParser], None],
    load: Callable[[argparse.Namespace, tuple[str, ...]], dict[str, Any]],
) -> Callable[..., argparse.ArgumentParser]:
    """``add(name, func, help_text, config=True)``: a sub-command calling ``func(args, load)``,
    with ``--configfile``/``--config-json`` unless ``config`` is False (the stage modules'
    ``register`` functions use it)."""

    def add(name: str, func: Callable, help_text: str, config: bool = True):
        p = sub.add_parser(name, help=help_text, description=func.__doc__)
        p.set_defaults(func=lambda a: func(a, load))
        if config:
            add_config_args(p)
        return p

    return add


def _load(args: argparse.Namespace, sections: tuple[str, ...]) -> dict[str, Any]:
    if args.configfile:
        return C.load_config_files(args.configfile)
    try:
        data = json.loads(args.config_json)
    except json.JSONDecodeError as exc:
        raise C.ConfigError(f"--config-json: not valid JSON ({exc.msg})") from None
    return C.validate_sections(data, sections)


# ---------------------------------------------------------------------------------------------
# Sub-commands
# ---------------------------------------------------------------------------------------------

PLAN_SECTIONS = ("model", "cluster", "parallel", "train", "plan")
CRAWL_SECTIONS = ("crawl",)


def cmd_validate_config(args: argparse.Namespace) -> int:
    """Validate config files and print the merged config with defaults filled in."""
    data = C.load_config_files(args.configfile)
    print(json.dumps(data, indent=2, sort_keys=True) if args.print else "config is valid")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Compute the plan tables (results/plan/)."""
    from skyforge.plan.tables import write_plan

    d = _load(args, PLAN_SECTIONS)
    model = C.ModelConfig.from_dict(d["model"])
    cluster = C.ClusterConfig.from_dict(d["cluster"])
    parallel = C.ParallelConfig.from_dict(d["parallel"])
    train = C.TrainConfig.from_dict(d["train"])
    plan = C.PlanConfig.from_dict(d["plan"])
    C.check_layout(model, cluster, parallel, train)
    tables = write_plan(args.out_dir, model, cluster, parallel, train, plan)
    s = dict(zip(tables["summary"]["name"], tables["summary"]["value"], strict=True))
    log.info(
        "plan: %.3f B params, %.0f tokens/GPU/s at MFU %.3f, %.1f days, %.1f GiB/GPU (%s)",
        s["params_total"] / 1e9,
        s["tokens_per_gpu_s"],
        s["assumed_mfu"],
        s["train_days"],
        s["memory_total_gib"],
        "fits" if s["fits"] else "does not fit",
    )
    return 0


def _write_manifest(path: Path, summary: dict[str, Any]) -> None:
    from skyforge.core.io import atomic_write_text

    atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


def cmd_synth_crawl(args: argparse.Namespace) -> int:
    """Write the synthetic bilingual crawl (WARC shards + ground truth)."""
    from skyforge.synthetic.crawl import synthesize_crawl

    crawl = C.CrawlConfig.from_dict(_load(args, CRAWL_SECTIONS)["crawl"])
    summary = synthesize_crawl(crawl.synthetic, crawl.num_shards, args.out_dir)
    _write_manifest(args.out_dir / "manifest.json", {"source": "synthetic", **summary})
    return 0


def cmd_shard_warc(args: argparse.Namespace) -> int:
    """Re-shard real WARC files matched by crawl.warc_glob."""
    import glob

    from skyforge.data.crawl import shard_warcs

    crawl = C.CrawlConfig.from_dict(_load(args, CRAWL_SECTIONS)["crawl"])
    if not crawl.warc_glob:
        raise C.ConfigError("config key 'crawl.warc_glob': required when crawl.source is warc")
    paths = sorted(Path(p) for p in glob.glob(crawl.warc_glob))
    if not paths:
        raise C.ConfigError(f"config key 'crawl.warc_glob': '{crawl.warc_glob}' matches no file")
    summary = shard_warcs(paths, crawl.num_shards, args.out_dir)
    _write_manifest(args.out_dir / "manifest.json", {"source": "warc", **summary})
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """Write results/summary.md from the run's artifacts."""
    from skyforge.reports.summary import write_summary

    write_summary(args.results, args.out, run_name=args.run_name, config_hash=args.config_hash,
                  stages=args.stages)  # fmt: skip
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "validate-config": (cmd_validate_config, "validate config files (schema + layout checks)"),
    "plan": (cmd_plan, "compute plan: parameters, FLOPs, memory, layouts, days"),
    "synth-crawl": (cmd_synth_crawl, "write the synthetic bilingual WARC crawl"),
    "shard-warc": (cmd_shard_warc, "re-shard real WARC files into crawl shards"),
    "summary": (cmd_summary, "write results/summary.md from the artifacts"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skyforge", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=func.__doc__)
        p.set_defaults(func=func)
        if name == "validate-config":
            p.add_argument("--configfile", action="append", type=Path, required=True)
            p.add_argument("--print", action="store_true", help="print the merged config")
        elif name == "summary":
            p.add_argument("--results", type=Path, required=True, help="the results/ directory")
            p.add_argument("--out", type=Path, required=True)
            p.add_argument("--run-name", required=True)
            p.add_argument("--config-hash", required=True)
            p.add_argument("--stages", nargs="+", required=True)
        else:
            _add_config_args(p)
            p.add_argument("--out-dir", type=Path, required=True, help="output directory")
    from skyforge.data import steps

    steps.register(sub, _add_config_args, _load)
    from skyforge.eval import steps as eval_steps
    from skyforge.tokenize import steps as tokenize_steps
    from skyforge.train import align_steps
    from skyforge.train import steps as train_steps

    # The stage modules get the adder; they never import this module (imports flow one way).
    for module in (tokenize_steps, train_steps, align_steps, eval_steps):
        module.register(step_adder(sub, _add_config_args, _load))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # user errors: bad config, input or file
        print(f"skyforge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a job that failed: one line, the details are in its log
        print(f"skyforge {args.command}: failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
