"""Steps of ``rules/crawl.smk``: the raw crawl, synthesised or re-sharded from real WARC files.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.core.io import atomic_write_text
from skyforge.steps.registry import arg, step

OUT_DIR = arg("--out-dir", type=Path, required=True, help="output directory")


def _write_manifest(path: Path, summary: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


@step(
    "synth-crawl",
    "write the synthetic bilingual WARC crawl",
    sections=("crawl", "eval"),
    args=(OUT_DIR,),
)
def synth_crawl(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Write the synthetic bilingual crawl (WARC shards + ground truth); its leak pages plant
    items of the synthetic benchmark sets (eval.benchmarks.synthetic, the only eval key read)."""
    from skyforge.synthetic.crawl import synthesize_crawl

    crawl = C.CrawlConfig.from_dict(cfg["crawl"])
    benchmarks = dict(cfg["eval"]["benchmarks"]["synthetic"])
    summary = synthesize_crawl(crawl.synthetic, crawl.num_shards, args.out_dir, benchmarks)
    _write_manifest(args.out_dir / "manifest.json", {"source": "synthetic", **summary})
    return summary


@step(
    "shard-warc", "re-shard real WARC files into crawl shards", sections=("crawl",), args=(OUT_DIR,)
)
def shard_warc(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Re-shard real WARC files matched by crawl.warc_glob (``crawl.reshard: false``: list each
    shard's input files instead, with no copy)."""
    from skyforge.data.crawl import shard_inputs, shard_warcs, warc_paths

    crawl = C.CrawlConfig.from_dict(cfg["crawl"])
    paths = warc_paths(crawl.warc_glob, crawl.warc_base_url)
    if crawl.reshard:
        summary = shard_warcs(paths, crawl.num_shards, args.out_dir)
    else:
        summary = shard_inputs(paths, crawl.num_shards, args.out_dir)
    _write_manifest(args.out_dir / "manifest.json", {"source": "warc", **summary})
    return summary
