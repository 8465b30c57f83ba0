"""The corpus audit: removed documents to judge by eye, and the benchmark items found in the crawl.

A data engineer judges a filter by reading what it removed. For every removal reason of the data
DAG (numeric suffixes such as ``low_quality:0.02`` grouped into ``low_quality``) and every
language, :func:`audit_shard` picks a few removed documents of one shard and :func:`write_audit`
keeps the same number over all shards; their text is cut to a paragraph and shown with the URL.
The pick is the documents with the smallest hash of ``(seed, id)``: uniform, independent of the
shard layout, and mergeable (the smallest k of all shards are the smallest k of each shard's
smallest k), so a map per shard and one small reduce give the same samples as one pass over the
crawl. A shard job holds ``candidates`` ids per (step, reason) while it reads the removal
tables, then looks their texts up in the step's input table one row group at a time.

The benchmark audit reads the decontaminate ledgers (every match, before removal): per
benchmark, the items of the set, how many were found, on how many pages, by which method, and
the domains they came from, with one row per item found (URL, method, score, excerpt).

Written here because the samplers of datatrove's stats and Data-Juicer's tracer are built
around their own pipeline objects; this works on our removal tables and ledgers directly.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import xxhash

from skyforge.core.io import atomic_write_text
from skyforge.core.tables import write_csv
from skyforge.data.docs import STEPS, iter_doc_batches

__all__ = [
    "SAMPLE_SCHEMA",
    "audit_shard",
    "benchmark_audit",
    "reason_group",
    "write_audit",
]

SAMPLE_SCHEMA = pa.schema(
    [
        pa.field("step", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),  # grouped (reason_group)
        pa.field("lang", pa.string(), nullable=False),  # "?" before language ID
        pa.field("key", pa.uint64(), nullable=False),  # the hash that picked it
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("full_reason", pa.string()),
        pa.field("excerpt", pa.string()),
    ]
)
"""Columns of a shard's (and the run's) removal samples."""

_NUMERIC_SUFFIX = re.compile(r":[-+0-9.eE]+$")


def reason_group(reason: str) -> str:
    """A removal reason without its numeric suffix (``low_quality:0.02`` → ``low_quality``)."""
    return _NUMERIC_SUFFIX.sub("", reason)


def _key(seed: int, doc_id: str) -> int:
    return xxhash.xxh64_intdigest(f"{seed}:{doc_id}".encode())


def excerpt(text: str | None, max_chars: int) -> str:
    """The first paragraph of ``text`` (blank-line separated), at most ``max_chars``."""
    if not text:
        return ""
    text = text.strip()
    para = text.split("\n\n", 1)[0]
    if len(para) < 80 and len(text) > len(para):  # a title line: take the next paragraph too
        para = "\n".join(text.split("\n\n", 2)[:2])
    return para if len(para) <= max_chars else para[: max_chars - 1].rstrip() + "…"


def audit_shard(
    tables: Sequence[tuple[Path, Path | None]],
    out: Path,
    *,
    per_reason: int = 3,
    candidates: int = 64,
    seed: int = 0,
    max_chars: int = 600,
) -> dict[str, Any]:
    """Pick the removal samples of one shard.

    Args:
        tables: (removal table, the step's input table or None) pairs of the shard; with None
            (extraction: no text was made) the sample shows the URL only.
        out: Parquet file (``SAMPLE_SCHEMA``), written atomically.
        per_reason: documents kept per (step, reason, language).
        candidates: ids held per (step, reason) before their languages are known.
        seed: decides the pick.
        max_chars: longest excerpt.

    Returns:
        Samples written and removal rows read.
    """
    rows: list[dict[str, Any]] = []
    num_removed = 0
    for removed_path, input_path in tables:
        heaps: dict[tuple[str, str], list[tuple[int, str, str, str | None]]] = defaultdict(list)
        for batch in iter_doc_batches(removed_path, columns=["id", "url", "step", "reason"]):
            for doc_id, url, step, reason in zip(
                *(batch.column(c).to_pylist() for c in ("id", "url", "step", "reason")),
                strict=True,
            ):
                num_removed += 1
                heap = heaps[(step, reason_group(reason))]
                entry = (-_key(seed, doc_id), doc_id, reason, url)
                if len(heap) < candidates:
                    heapq.heappush(heap, entry)
                elif entry > heap[0]:
                    heapq.heapreplace(heap, entry)
        wanted = {
            doc_id: (step, group, -neg, reason, url)
            for (step, group), heap in heaps.items()
            for neg, doc_id, reason, url in heap
        }
        found: dict[str, tuple[str, str]] = {}
        if input_path is not None and wanted:
            for batch in iter_doc_batches(input_path, columns=["id", "lang", "text"]):
                for doc_id, lang, text in zip(
                    *(batch.column(c).to_pylist() for c in ("id", "lang", "text")), strict=True
                ):
                    if doc_id in wanted:
                        found[doc_id] = (lang or "?", excerpt(text, max_chars))
        for doc_id, (step, group, key, reason, url) in wanted.items():
            lang, text = found.get(doc_id, ("?", ""))
            rows.append(
                {
                    "step": step,
                    "reason": group,
                    "lang": lang,
                    "key": key,
                    "id": doc_id,
                    "url": url,
                    "full_reason": reason,
                    "excerpt": text,
                }
            )
    table = _smallest(pd.DataFrame(rows, columns=SAMPLE_SCHEMA.names), per_reason)
    _write_samples(out, table)
    return {"samples": len(table), "removal_rows": num_removed}


def _smallest(frame: pd.DataFrame, per_reason: int) -> pd.DataFrame:
    """The ``per_reason`` rows of smallest key per (step, reason, lang), in STEPS order."""
    if frame.empty:
        return frame
    frame = frame.sort_values(["step", "reason", "lang", "key"], kind="stable")
    frame = frame.groupby(["step", "reason", "lang"], sort=False).head(per_reason)
    order = {s: i for i, s in enumerate(STEPS)}
    frame = frame.assign(_o=frame["step"].map(order)).sort_values(
        ["_o", "reason", "lang", "key"], kind="stable"
    )
    return frame.drop(columns="_o").reset_index(drop=True)


def _write_samples(out: Path, frame: pd.DataFrame) -> None:
    import pyarrow.parquet as pq

    from skyforge.core.io import atomic_path

    table = pa.Table.from_pandas(frame, schema=SAMPLE_SCHEMA, preserve_index=False)
    with atomic_path(Path(out)) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def benchmark_audit(
    ledger: pd.DataFrame, items: Mapping[str, int], top_domains: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per benchmark: items, items found, pages, by method, pages removed, top domains.

    Args:
        ledger: the decontaminate matches of the run (``MATCH_SCHEMA`` rows).
        items: benchmark → items in its evaluation split.
        top_domains: domains named per benchmark.

    Returns:
        (summary per benchmark, one row per (item, page) found with URL, method, score and
        excerpt).
    """
    rows = []
    for bench in sorted(items):
        hits = ledger[ledger["benchmark"] == bench] if len(ledger) else ledger
        methods = Counter(hits["method"]) if len(hits) else Counter()
        domains = Counter(hits.drop_duplicates("id")["domain"]) if len(hits) else Counter()
        rows.append(
            {
                "benchmark": bench,
                "items": int(items[bench]),
                "items_found": int(hits["item_id"].nunique()) if len(hits) else 0,
                "pages": int(hits["id"].nunique()) if len(hits) else 0,
                "pages_removed": int(hits[hits["removed"]]["id"].nunique()) if len(hits) else 0,
                "by_ngram": int(methods.get("ngram", 0)),
                "by_crosslingual": int(methods.get("crosslingual", 0)),
                "top_domains": ", ".join(
                    f"{d} ({n})" for d, n in domains.most_common(top_domains) if d
                ),
            }
        )
    summary = pd.DataFrame(rows)
    cols = ["benchmark", "item_id", "method", "score", "url", "domain", "removed", "excerpt"]
    found = (
        ledger.sort_values(["benchmark", "item_id", "url"], kind="stable")[cols].reset_index(
            drop=True
        )
        if len(ledger)
        else pd.DataFrame(columns=cols)
    )
    return summary, found


def _md_cell(text: Any) -> str:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    return str(text).replace("|", "\\|").replace("\n", " ⏎ ")


def write_audit(
    sample_files: Sequence[Path],
    ledgers: Sequence[Path],
    items: Mapping[str, int],
    out_dir: Path,
    *,
    per_reason: int = 3,
) -> dict[str, Any]:
    """Merge the shards' samples and the ledgers into the run's audit.

    Writes ``samples.csv`` (per step, reason and language, ``per_reason`` documents),
    ``benchmarks.csv`` (per benchmark), ``items_found.csv`` (per item and page) and
    ``audit.md`` (all three for people), each atomically.
    """
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    frames = [pq.read_table(p).to_pandas() for p in sample_files]
    samples = _smallest(
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=SAMPLE_SCHEMA.names),
        per_reason,
    ).drop(columns="key", errors="ignore")
    ledger = (
        pd.concat([pq.read_table(p).to_pandas() for p in ledgers], ignore_index=True)
        if ledgers
        else pd.DataFrame()
    )
    summary, found = benchmark_audit(ledger, items)
    write_csv(out_dir / "samples.csv", samples)
    write_csv(out_dir / "benchmarks.csv", summary)
    write_csv(out_dir / "items_found.csv", found)
    lines = [
        "# Corpus audit",
        "",
        "## Benchmark items found in the crawl (before removal)",
        "",
        "| benchmark | items | items found | pages | pages removed | n-gram matches "
        "| cross-lingual matches | top domains |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in summary.to_dict("records"):
        lines.append(
            f"| {r['benchmark']} | {r['items']} | {r['items_found']} | {r['pages']} | "
            f"{r['pages_removed']} | {r['by_ngram']} | {r['by_crosslingual']} | "
            f"{_md_cell(r['top_domains'])} |"
        )
    lines += ["", "## Removed documents, a few per reason and language", ""]
    lines += ["| step | reason | lang | URL | text |", "|---|---|---|---|---|"]
    for r in samples.to_dict("records"):
        lines.append(
            f"| {r['step']} | {_md_cell(r['full_reason'])} | {r['lang']} | "
            f"{_md_cell(r['url'])} | {_md_cell(r['excerpt'])} |"
        )
    atomic_write_text(out_dir / "audit.md", "\n".join(lines) + "\n")
    return {
        "samples": len(samples),
        "reasons": int(samples[["step", "reason"]].drop_duplicates().shape[0])
        if len(samples)
        else 0,
        "items_found": int(summary["items_found"].sum()) if len(summary) else 0,
    }
