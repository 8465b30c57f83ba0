"""Steps of ``rules/clean.smk``: extraction and the per-shard filters.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import arg, path, step

SHARD = arg("--shard", type=int, required=True)


@step(
    "extract",
    "HTML → main text for one WARC shard",
    sections=("extract", "stream"),
    args=(path("warc"), path("out-docs"), path("out-removed"), SHARD),
)
def extract(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """HTML → main text for one WARC shard."""
    from skyforge.data.docs import BatchLimits
    from skyforge.data.extract import extract_shard

    e = cfg["extract"]
    return extract_shard(
        args.warc,
        args.shard,
        args.out_docs,
        args.out_removed,
        extractor=e["extractor"],
        min_text_chars=e["min_text_chars"],
        form_fields=e["form_fields"],
        limits=BatchLimits.from_section(cfg["stream"]),
    )


@step(
    "filter",
    "URL filter, mojibake, language ID, heuristics, content rules",
    sections=("filters", "encoding", "harmful", "stream"),
    args=(
        path("docs"),
        path("out-docs"),
        path("out-removed"),
        SHARD,
        arg("--out-flagged", type=Path, help="text of the documents the content rules remove"),
        arg("--out-repaired", type=Path, help="documents whose mojibake was repaired"),
    ),
)
def filter_(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """URL filter, language ID, line cleanup and heuristic rules for one shard."""
    from skyforge.data.docs import BatchLimits
    from skyforge.data.filters.heuristics import filter_shard

    return filter_shard(
        args.docs,
        args.shard,
        args.out_docs,
        args.out_removed,
        C.FiltersConfig.from_dict(cfg["filters"]),
        encoding=C.EncodingConfig.from_dict(cfg["encoding"]),
        harmful=C.HarmfulConfig.from_dict(cfg["harmful"]),
        out_flagged=args.out_flagged,
        out_repaired=args.out_repaired,
        limits=BatchLimits.from_section(cfg["stream"]),
    )
