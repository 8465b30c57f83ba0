"""Steps of ``rules/decontam.smk``: benchmark decontamination of the corpora and the chat data,
and the corpus audit.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skyforge.steps.registry import arg, path, step

SHARD = arg("--shard", type=int, required=True)

BENCHMARKS = arg("--benchmarks", nargs="+", required=True, help="task=directory (official layout)")


def _matcher(args: argparse.Namespace, cfg: dict[str, Any]):
    """The decontamination index of the configured benchmarks' evaluation items."""
    from skyforge.data.decontam import BenchmarkItem, DecontamConfig, Decontaminator
    from skyforge.data.decontam_step import describe
    from skyforge.eval.benchmark_files import eval_items
    from skyforge.steps.registry import parse_pairs

    dirs = parse_pairs(args.benchmarks, "benchmarks")
    items = [
        BenchmarkItem(
            benchmark=task,
            item_id=it["id"],
            lang=it["lang"],
            question=it["question"],
            options=tuple(it["options"]),
            answer=it["answer"],
        )
        for task, root in sorted(dirs.items())
        for it in eval_items(task, Path(root))
    ]
    if not items:
        raise ValueError(f"decontam: no evaluation items in {sorted(dirs.values())}")
    matcher = Decontaminator(items, DecontamConfig(**cfg["decontam"]["matcher"]))
    describe(matcher.stats.lines())
    return matcher


@step(
    "decontaminate",
    "remove benchmark test items from one shard",
    sections=("decontam", "stream"),
    args=(
        path("docs"),
        path("out-docs"),
        path("out-removed"),
        path("out-matches"),
        SHARD,
        BENCHMARKS,
    ),
)
def decontaminate(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Remove the documents (or spans) of one shard that contain benchmark test items."""
    from skyforge.data.decontam_step import decontaminate_shard
    from skyforge.data.docs import BatchLimits

    d = cfg["decontam"]
    stats = decontaminate_shard(
        args.docs,
        args.shard,
        _matcher(args, cfg),
        args.out_docs,
        args.out_removed,
        args.out_matches,
        action=d["action"],
        min_chars_after=d["min_chars_after"],
        limits=BatchLimits.from_section(cfg["stream"]),
    )
    return stats


@step(
    "decontaminate-chat",
    "drop SFT / DPO records that contain benchmark test items",
    sections=("decontam",),
    args=(
        arg("--files", nargs="+", required=True, help="name=input.jsonl,output.jsonl"),
        path("out-stats"),
        BENCHMARKS,
    ),
)
def decontaminate_chat(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Drop the SFT and DPO records that contain benchmark test items (written whole)."""
    import json

    from skyforge.core.io import atomic_write_text
    from skyforge.data.decontam_step import decontaminate_records
    from skyforge.steps.registry import parse_pairs

    files = {}
    for name, pair in parse_pairs(args.files, "files").items():
        src, _, dst = pair.partition(",")
        if not dst:
            raise ValueError(f"--files {name}={pair}: expected input.jsonl,output.jsonl")
        files[name] = (Path(src), Path(dst))
    stats = decontaminate_records(files, _matcher(args, cfg))
    atomic_write_text(args.out_stats, json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    return {n: {k: v for k, v in s.items() if k != "matches"} for n, s in stats.items()}


@step(
    "audit-shard",
    "pick removal samples of one shard for the corpus audit",
    args=(
        arg("--pairs", nargs="+", required=True, help="removed.parquet=input.parquet (or empty)"),
        path("out"),
    ),
)
def audit_shard(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Pick a few removed documents per step, reason and language of one shard."""
    from skyforge.data.audit import audit_shard as pick

    tables = []
    for pair in args.pairs:
        removed, _, before = pair.partition("=")
        tables.append((Path(removed), Path(before) if before else None))
    return pick(tables, args.out)


@step(
    "corpus-audit",
    "the corpus audit: removal samples and the benchmark items found",
    args=(
        BENCHMARKS,
        path("samples", many=True),
        path("matches", many=True),
        path("out-dir"),
    ),
)
def corpus_audit(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Merge the shards' removal samples and the decontamination ledgers into the audit."""
    from skyforge.data.audit import write_audit
    from skyforge.eval.benchmark_files import eval_items
    from skyforge.steps.registry import parse_pairs

    dirs = parse_pairs(args.benchmarks, "benchmarks")
    items = {task: len(eval_items(task, Path(root))) for task, root in dirs.items()}
    return write_audit(args.samples, args.matches, items, args.out_dir)
