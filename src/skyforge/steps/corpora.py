"""Steps of ``rules/corpora.smk``: corpora with held-out splits, the funnel and the scores.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skyforge.steps.registry import arg, parse_pairs, path, step

REPAIRED = arg("--repaired", type=Path, nargs="*", help="the filter's repaired tables")


@step(
    "corpus-dates",
    "map: documents per corpus and date",
    args=(path("out"), path("docs", many=True)),
)
def corpus_dates(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Map: documents per corpus and crawl date of one shard."""
    from skyforge.data.corpora import date_histogram

    hist = date_histogram(args.docs, args.out)
    return {c: sum(h.values()) for c, h in hist.items()}


@step(
    "corpus-cutoffs",
    "reduce: held-out date cutoffs",
    sections=("corpora",),
    args=(path("out"), path("histograms", many=True)),
)
def corpus_cutoffs(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Reduce: per-corpus crawl-date cutoff of the held-out split."""
    from skyforge.data.corpora import heldout_cutoffs

    return heldout_cutoffs(args.histograms, args.out, cfg["corpora"]["heldout_fraction"])


@step(
    "corpus-split",
    "write corpus × split files",
    sections=("stream",),
    args=(path("cutoffs"), path("docs", many=True), path("outputs", many=True)),
)
def corpus_split(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Write one shard's documents into corpus × split files (``--outputs`` in that order)."""
    from skyforge.data.corpora import CORPORA, SPLITS, split_shard
    from skyforge.data.docs import BatchLimits

    keys = [(c, s) for c in CORPORA for s in SPLITS]
    if len(args.outputs) != len(keys):
        raise ValueError(
            f"--outputs: expected {len(keys)} paths (corpus × split), got {len(args.outputs)}"
        )
    outputs = dict(zip(keys, args.outputs, strict=True))
    return split_shard(
        args.docs, args.cutoffs, outputs, limits=BatchLimits.from_section(cfg["stream"])
    )


@step(
    "funnel",
    "documents and bytes per step and reason",
    args=(
        path("crawl-manifest"),
        path("out-dir"),
        path("removed", many=True),
        path("final", many=True),
        arg("--kept-after", nargs="*", help="STEP=path,path,... (measured byte counts)"),
        REPAIRED,
    ),
)
def funnel(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """The funnel: documents and bytes per step and reason; checks that it adds up."""
    from skyforge.data.funnel import crawl_records, write_funnel

    kept_after = {
        name: [Path(p) for p in paths.split(",") if p]
        for name, paths in parse_pairs(args.kept_after, "kept-after").items()
    }
    extracted = kept_after.get("extract", [])
    extract_tables = extracted + [p.with_name(p.stem + ".removed.parquet") for p in extracted]
    records_in = crawl_records(args.crawl_manifest, extract_tables)
    table = write_funnel(
        args.out_dir, args.removed, kept_after, args.final, records_in, args.repaired or ()
    )
    return {"records_in": records_in, "docs_out": int(table.iloc[-1].docs_out)}


@step(
    "score",
    "score removals against the ground truth",
    args=(
        path("ground-truth"),
        path("out-dir"),
        path("removed", many=True),
        REPAIRED,
        path("matches", many=True, required=False, help="the decontaminate ledgers"),
    ),
)
def score(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Score removals against the synthetic crawl's ground truth."""
    from skyforge.data.scoring import write_scores

    scores = write_scores(
        args.ground_truth, args.removed, args.repaired or (), args.out_dir, args.matches or ()
    )
    return {"steps": len(scores)}
