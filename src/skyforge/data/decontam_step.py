"""The ``decontaminate`` step: benchmark test items removed from one shard, with a ledger.

Runs after dedup and before the quality classifier, one job per language group and shard (the
layout of the steps around it). Every document is scanned by a
:class:`skyforge.data.decontam.Decontaminator` built once per job from the configured
benchmark items (same-language n-grams and the cross-lingual fingerprint); a document with a
match is removed whole (``decontam.action: document``, the default) or has the matched spans cut
out (``span``; a document left with fewer than ``decontam.min_chars_after`` characters is
removed). A removed document's reason is ``contamination:<benchmark>`` (the benchmark of its
first match). Every match, kept or removed, is a row of the step's ledger (``MATCH_SCHEMA``:
document, URL, domain, benchmark, item id, method, score, span and an excerpt of the matched
text), which the corpus audit and the removal scores read.

The shard is read and written one record batch at a time (``stream``), so memory is the index
plus one batch. :func:`decontaminate_records` applies the same matcher to the SFT and DPO data
(JSON lines of conversations), so no benchmark item reaches the model through alignment data
either.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from skyforge.core.io import atomic_path
from skyforge.data.decontam import Decontaminator, Match, remove_spans
from skyforge.data.docs import (
    BatchLimits,
    TableWriter,
    count_rows,
    doc_writer,
    iter_doc_batches,
    removed_writer,
)

__all__ = [
    "ACTIONS",
    "MATCH_SCHEMA",
    "STEP",
    "decontaminate_records",
    "decontaminate_shard",
    "reason_of",
]

log = logging.getLogger(__name__)

STEP = "decontaminate"
ACTIONS = ("document", "span")
EXCERPT_CHARS = 300
"""Characters of matched text kept in the ledger (enough to judge a match by eye)."""

MATCH_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # the document
        pa.field("url", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("shard", pa.int32()),
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("method", pa.string(), nullable=False),  # ngram / crosslingual
        pa.field("score", pa.float32(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),  # character offsets in the text read
        pa.field("end", pa.int64(), nullable=False),
        pa.field("removed", pa.bool_(), nullable=False),  # the whole document went
        pa.field("excerpt", pa.string()),
    ]
)
"""Columns of the step's ledger: one row per (document, item) match."""


def reason_of(matches: Sequence[Match]) -> str:
    """The removal reason of a document with these matches: its first match's benchmark."""
    first = min(matches, key=lambda m: (m.start, m.benchmark, m.item_id))
    return f"contamination:{first.benchmark}"


def _match_rows(doc: Mapping[str, Any], matches: Sequence[Match], removed: bool) -> list[dict]:
    text = doc["text"]
    return [
        {
            "id": doc["id"],
            "url": doc.get("url"),
            "domain": doc.get("domain"),
            "lang": doc.get("lang"),
            "shard": doc.get("shard"),
            "benchmark": m.benchmark,
            "item_id": m.item_id,
            "method": m.method,
            "score": float(m.score),
            "start": int(m.start),
            "end": int(m.end),
            "removed": removed,
            "excerpt": text[m.start : m.end][:EXCERPT_CHARS],
        }
        for m in matches
    ]


def _check_action(action: str, min_chars_after: int) -> None:
    if action not in ACTIONS:
        raise ValueError(f"config key 'decontam.action': {action!r}, expected one of {ACTIONS}")
    if min_chars_after < 0:
        raise ValueError(
            f"config key 'decontam.min_chars_after': must be >= 0, got {min_chars_after}"
        )


def decontaminate_shard(
    docs_in: Path,
    shard: int,
    matcher: Decontaminator,
    out_docs: Path,
    out_removed: Path,
    out_matches: Path,
    *,
    action: str = "document",
    min_chars_after: int = 200,
    limits: BatchLimits | None = None,
) -> dict[str, Any]:
    """Remove the documents (or spans) of one shard that contain benchmark items.

    Args:
        docs_in: documents of one shard (``DOC_SCHEMA``).
        shard: shard index, written into every output row.
        matcher: the benchmark index.
        out_docs: kept documents (spans cut out with ``action="span"``).
        out_removed: removal rows, step ``decontaminate``, reason ``contamination:<benchmark>``.
        out_matches: the ledger (``MATCH_SCHEMA``).
        action: ``document`` (remove a document with any match) or ``span``.
        min_chars_after: with ``span``, a document with fewer characters left (or none) is
            removed.
        limits: record-batch limits (config section ``stream``).

    Returns:
        Statistics: documents in / kept / removed / edited, matches per benchmark and method,
        seconds.
    """
    _check_action(action, min_chars_after)
    started = time.perf_counter()
    num_in = num_edited = 0
    per_benchmark: Counter[str] = Counter()
    per_method: Counter[str] = Counter()
    bar = tqdm(
        total=count_rows(docs_in), desc=f"decontaminate shard {shard}", unit="doc", mininterval=5
    )
    with (
        doc_writer(out_docs, limits) as kept,
        removed_writer(out_removed, limits) as removed,
        TableWriter(out_matches, MATCH_SCHEMA, limits) as ledger,
    ):
        for batch in iter_doc_batches(docs_in, (limits or BatchLimits()).docs):
            rows = batch.to_pylist()
            for doc in rows:
                num_in += 1
                doc["shard"] = shard
                matches = matcher.match(doc["text"], doc.get("lang"))
                if not matches:
                    kept.write(doc)
                    continue
                text = doc["text"]
                edited = remove_spans(text, matches) if action == "span" else ""
                left = len(edited.strip())
                # nothing left is no document, whatever min_chars_after allows
                gone = action == "document" or left == 0 or left < min_chars_after
                for row in _match_rows(doc, matches, gone):
                    ledger.write(row)
                per_benchmark.update(m.benchmark for m in matches)
                per_method.update(m.method for m in matches)
                if gone:
                    removed.write(
                        {
                            "id": doc["id"],
                            "url": doc.get("url"),
                            "step": STEP,
                            "reason": reason_of(matches),
                            "bytes": len(text.encode("utf-8")),
                            "shard": shard,
                        }
                    )
                else:
                    num_edited += 1
                    kept.write({**doc, "text": edited})
            bar.update(len(rows))
    bar.close()
    return {
        "shard": shard,
        "num_docs_in": num_in,
        "num_kept": kept.num_rows,
        "num_removed": removed.num_rows,
        "num_edited": num_edited,
        "num_matches": ledger.num_rows,
        "matches_per_benchmark": dict(sorted(per_benchmark.items())),
        "matches_per_method": dict(sorted(per_method.items())),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _record_text(record: Mapping[str, Any]) -> str:
    """Every string of a chat record (messages, prompt, chosen, rejected), one per line."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, Mapping):
            for key in sorted(value):
                if key not in ("role", "id", "source", "kind"):
                    walk(value[key])
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(record)
    return "\n".join(out)


def decontaminate_records(
    files: Mapping[str, tuple[Path, Path]], matcher: Decontaminator
) -> dict[str, Any]:
    """Drop the JSON-lines records (SFT conversations, DPO pairs) that contain benchmark items.

    Args:
        files: name → (input ``.jsonl``, output ``.jsonl``); each output is written whole or
            not at all.
        matcher: the benchmark index.

    Returns:
        Per name: records in, dropped, and the dropped records' matches (index, benchmark,
        item id, method).
    """
    stats: dict[str, Any] = {}
    for name, (src, dst) in files.items():
        dropped: list[dict[str, Any]] = []
        num_in = 0
        with open(src, encoding="utf-8") as f_in, atomic_path(Path(dst)) as tmp:
            with open(tmp, "w", encoding="utf-8") as f_out:
                for line_no, line in enumerate(f_in, 1):
                    if not line.strip():
                        continue
                    num_in += 1
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{src}:{line_no}: not JSON ({exc.msg})") from None
                    matches = matcher.match(_record_text(record))
                    if matches:
                        dropped += [
                            {
                                "line": line_no,
                                "benchmark": m.benchmark,
                                "item_id": m.item_id,
                                "method": m.method,
                            }
                            for m in matches
                        ]
                        continue
                    f_out.write(line if line.endswith("\n") else line + "\n")
        stats[name] = {
            "records_in": num_in,
            "records_dropped": len({d["line"] for d in dropped}),
            "matches": dropped,
        }
    return stats


def describe(stats: Iterable[str]) -> None:
    """Log the index's per-benchmark lines (what is checked how, never silently)."""
    for line in stats:
        log.info("decontam index: %s", line)
