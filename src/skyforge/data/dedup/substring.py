"""Exact-substring dedup (Index-1.9B): remove every repeated span of ≥ K bytes, wherever it sits.

Document dedup keeps a page whose article is new but which carries site furniture repeated on
thousands of others (Index-1.9B found one month drop-down menu 156,000 times). As in
google-research/deduplicate-text-datasets (Lee et al., 2022), the texts of one language group of
ALL shards are concatenated with a ``0xFF`` separator, a suffix array (pydivsufsort) and its LCP
array are built, every common prefix of adjacent suffixes of ≥ ``min_length_bytes`` (clipped at
the document end) marks both occurrences, and the marked spans, shrunk to whole characters, are
cut out. Every occurrence goes, the first included.

``K`` defaults to 50 tokens' worth: 200 bytes for English, 225 for Chinese
(``BYTES_PER_TOKEN``). Memory is ≈ 13–25 bytes per input byte, so a group larger than one node
must be split into batches of shards. Removed spans are listed, so the bytes add up.

See docs/dedup.md.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydivsufsort import divsufsort, kasai

from skyforge.data.dedup import substring_windows as W
from skyforge.data.dedup.substring_windows import merge_and_snap
from skyforge.data.docs import (
    BatchLimits,
    TableWriter,
    doc_writer,
    iter_doc_batches,
    removed_writer,
)

__all__ = [
    "BYTES_PER_TOKEN",
    "SPAN_SCHEMA",
    "SEPARATOR",
    "default_min_length_bytes",
    "duplicate_spans",
    "merge_and_snap",
    "substring_dedup",
]

log = logging.getLogger(__name__)

BYTES_PER_TOKEN = {"en": 4.0, "zh": 4.5, "code": 4.0}
"""Assumed UTF-8 bytes per token (English BPE ≈ 4; Chinese ≈ 1.5 chars × 3 bytes); others 4."""

DEFAULT_NUM_TOKENS = 50
"""K in tokens (Lee et al. 2022)."""

SEPARATOR = 0xFF
"""Byte after each document in the concatenation; never part of valid UTF-8."""

STEP = "substring_dedup"
REASON_EMPTY = "empty_after_substring_dedup"

SPAN_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),  # UTF-8 byte offset in the input text
        pa.field("end", pa.int64(), nullable=False),  # exclusive
        pa.field("bytes", pa.int64(), nullable=False),  # end - start
    ]
)
"""Columns of the removed-spans table (offsets refer to the text this step read)."""


def default_min_length_bytes(langs: Sequence[str], num_tokens: int = DEFAULT_NUM_TOKENS) -> int:
    """K in bytes for a language group: ``num_tokens`` × the largest bytes/token of its languages.

    The largest, so that no language of the group gets a K below ``num_tokens`` of its tokens.
    """
    per_token = max((BYTES_PER_TOKEN.get(lang, 4.0) for lang in langs), default=4.0)
    return math.ceil(num_tokens * per_token)


def duplicate_spans(
    buf: np.ndarray, doc_starts: np.ndarray, doc_ends: np.ndarray, min_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Byte ranges of ``buf`` covered by a substring of ≥ ``min_length`` bytes occurring twice.

    Args:
        buf: concatenated documents (uint8, writable: pydivsufsort refuses read-only arrays).
        doc_starts: start offset of each document in ``buf`` (increasing).
        doc_ends: end offset (exclusive) of each document; bytes outside documents
            (separators) are never covered.
        min_length: K in bytes.

    Returns:
        ``(starts, ends)`` of merged spans, each inside one document and snapped inwards to
        UTF-8 character boundaries, sorted by start.
    """
    empty = np.empty(0, np.int64), np.empty(0, np.int64)
    if len(buf) < 2:
        return empty
    sa = divsufsort(buf)
    lcp = kasai(buf, sa)  # lcp[i] = common prefix of suffixes sa[i] and sa[i + 1]
    cand = np.flatnonzero(lcp[:-1] >= min_length)
    p = sa[cand].astype(np.int64)
    q = sa[cand + 1].astype(np.int64)
    length = lcp[cand].astype(np.int64)
    del sa, lcp, cand
    # Clip each match at the end of the document either occurrence lies in.
    end_p = doc_ends[np.searchsorted(doc_starts, p, side="right") - 1]
    end_q = doc_ends[np.searchsorted(doc_starts, q, side="right") - 1]
    length = np.minimum(length, np.minimum(end_p - p, end_q - q))
    keep = length >= min_length
    starts = np.concatenate((p[keep], q[keep]))
    ends = starts + np.concatenate((length[keep], length[keep]))
    del p, q, length, end_p, end_q, keep
    return merge_and_snap(buf, starts, ends)


def _concat(tables: Sequence[pa.Table]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One writable uint8 buffer of all texts, each followed by ``SEPARATOR``; doc offsets."""
    lengths = [pc.binary_length(t.column("text")).to_numpy(zero_copy_only=False) for t in tables]
    lens = np.concatenate(lengths).astype(np.int64) if lengths else np.empty(0, np.int64)
    doc_starts = np.concatenate(([0], np.cumsum(lens + 1)[:-1])).astype(np.int64)
    doc_ends = doc_starts + lens
    buf = np.full(int(lens.sum() + len(lens)), SEPARATOR, dtype=np.uint8)
    pos = 0
    for t in tables:
        for chunk in t.column("text").chunks:
            if not len(chunk):
                continue
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[
                chunk.offset : chunk.offset + len(chunk) + 1
            ]
            data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
            # np.insert places one separator after each document in a single vectorised copy.
            joined = np.insert(data, offsets[1:] - offsets[0], SEPARATOR)
            buf[pos : pos + len(joined)] = joined
            pos += len(joined)
    assert pos == len(buf), "text lengths and buffers disagree"
    return buf, doc_starts, doc_ends


_Batch = tuple[pa.Table, int, np.ndarray, np.ndarray, np.ndarray, int]


def _group_batches(path: Path, lang_set: pa.Array, limits: BatchLimits) -> Iterator[_Batch]:
    """One shard's documents of the group, a record batch at a time.

    Yields ``(table, num_other, buf, doc_starts, doc_ends, base)``: the batch's group rows, how
    many rows belong to other groups, their concatenated text (:func:`_concat`) and ``base``, the
    offset of ``buf`` in the shard's whole concatenation. Positions ``base + i`` are the ones a
    single buffer of the shard would have, so windows and spans found batch by batch name the
    same bytes; no window or span crosses a document, hence none crosses a batch.
    """
    base = 0
    for batch in iter_doc_batches(path, limits.docs):
        table = pa.Table.from_batches([batch])
        mask = pc.fill_null(pc.is_in(table.column("lang"), value_set=lang_set), False)
        group = table.filter(mask)
        buf, doc_starts, doc_ends = _concat([group])
        yield group, table.num_rows - group.num_rows, buf, doc_starts, doc_ends, base
        base += len(buf)


def substring_dedup(
    docs_in: Sequence[Path],
    shards: Sequence[int],
    out_docs: Sequence[Path],
    out_removed: Sequence[Path],
    out_spans: Path,
    *,
    min_length_bytes: int,
    langs: Sequence[str],
    min_chars_after: int = 20,
    memory_budget_bytes: int | None = None,
    method: str = "windows",
    limits: BatchLimits | None = None,
) -> dict[str, Any]:
    """Remove repeated substrings of ≥ ``min_length_bytes`` from one language group of all shards.

    ``method="windows"`` (the default) finds the repeated K-byte windows by hash partitions
    (:mod:`skyforge.data.dedup.substring_windows`): one hashing pass spills every window to its
    partition's file next to ``out_spans`` (28 bytes per input byte on disk, removed at the
    end), then each partition is reduced alone; the number of partitions is what
    ``memory_budget_bytes`` needs for the group's size. The spans equal the suffix array's.
    ``method="suffix_array"`` builds the in-memory suffix array over the whole group (≈ 13–25
    bytes per input byte); it is kept as the reference the tests and the benchmark compare with.

    Memory of the windows method: one record batch's text and its buffer (≈ 2 × batch bytes,
    ``limits``), the hashing blocks (``72 × block``), one partition being reduced (``52 × group
    bytes / partitions``) and the repeated windows found (12 bytes each: the duplicated share
    of the group, not the group). Both passes over the shards (map, then apply) stream record
    batches, so nothing grows with a shard's size.

    Args:
        docs_in: document tables (``DOC_SCHEMA``), one per shard.
        shards: shard index of each table.
        out_docs: per shard, the group's documents with spans cut out (same schema). Documents
            whose ``lang`` is not in ``langs`` are not written: another group's job handles them.
        out_removed: per shard, removal rows (step ``substring_dedup``, reason
            ``empty_after_substring_dedup``, bytes = what was left of the text).
        out_spans: every removed span (``SPAN_SCHEMA``).
        min_length_bytes: K; see ``default_min_length_bytes``.
        langs: the language group (values of the ``lang`` column).
        min_chars_after: an edited document with fewer characters left (leading and trailing
            whitespace stripped) is removed: what survives is a title or a date line, not a
            document. Unedited documents are never removed here, however short.
        memory_budget_bytes: the kept windows' budget (None: one partition).
        method: ``windows`` or ``suffix_array``.
        limits: record-batch limits of reading and writing (config section ``stream``).

    Returns:
        Counts and bytes: ``num_in``, ``num_kept``, ``num_removed``, ``num_edited``,
        ``num_spans``, ``num_other_lang`` (rows outside the group, not written), ``bytes_in``,
        ``bytes_kept``, ``bytes_spans``, ``bytes_removed_docs``, ``partitions``, ``seconds``.

    Raises:
        ValueError: list lengths differ, no languages, ``min_length_bytes`` < 1, an unknown
            method, or a budget below one hashing block.
    """
    t0 = time.perf_counter()
    if not (len(docs_in) == len(shards) == len(out_docs) == len(out_removed)):
        raise ValueError(
            "substring_dedup: docs_in, shards, out_docs and out_removed must have equal lengths"
        )
    if not langs:
        raise ValueError("substring_dedup: 'langs' must name at least one language")
    if min_length_bytes < 1:
        raise ValueError(f"substring_dedup: 'min_length_bytes' must be ≥ 1, got {min_length_bytes}")
    if method not in ("windows", "suffix_array"):
        raise ValueError(f"substring_dedup: unknown method {method!r}")
    lang_set = pa.array(sorted(set(langs)), pa.string())
    limits = limits or BatchLimits()

    def batches(
        path: Path,
    ) -> Iterator[tuple[pa.Table, int, np.ndarray, np.ndarray, np.ndarray, int]]:
        return _group_batches(path, lang_set, limits)

    # Spans per shard, as (starts, ends) in that shard's whole concatenation.
    spans_of: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    windows_of: dict[int, np.ndarray] = {}
    partitions = 1
    if method == "suffix_array":
        tables = [pa.concat_tables([b[0] for b in batches(path)]) for path in docs_in]
        buf, doc_starts, doc_ends = _concat(tables)
        g_starts, g_ends = duplicate_spans(buf, doc_starts, doc_ends, min_length_bytes)
        del buf
        base = 0
        for table, shard in zip(tables, shards, strict=True):
            n = table.num_rows
            lo_doc = doc_starts[base] if n else 0
            hi = doc_ends[base + n - 1] + 1 if n else lo_doc
            lo, up = np.searchsorted(g_starts, [lo_doc, hi])
            spans_of[shard] = (g_starts[lo:up] - lo_doc, g_ends[lo:up] - lo_doc)
            base += n
        del tables
    else:
        group_bytes = 0
        for path in docs_in:
            for batch in iter_doc_batches(path, limits.docs, columns=["text", "lang"]):
                mask = pc.fill_null(pc.is_in(batch.column("lang"), value_set=lang_set), False)
                text = pc.filter(batch.column("text"), mask)
                group_bytes += int(pc.sum(pc.binary_length(text)).as_py() or 0)
        if memory_budget_bytes is not None:
            partitions = W.partitions_for_budget(group_bytes, memory_budget_bytes)
        # Map: one hashing pass over the shards, each window appended to its partition's file
        # (28 bytes per window on disk, next to the outputs); reduce: one partition at a time.
        Path(out_spans).parent.mkdir(parents=True, exist_ok=True)
        spill = Path(tempfile.mkdtemp(prefix=".substring-spill-", dir=Path(out_spans).parent))
        map_input = (
            (shard, buf, starts, ends, base)
            for path, shard in zip(docs_in, shards, strict=True)
            for _t, _n, buf, starts, ends, base in batches(path)
        )
        try:
            files = W.spill_windows(map_input, min_length_bytes, partitions, spill)
            repeated = []
            for r, path in enumerate(files):
                repeated.append(W.reduce_partition(path))
                path.unlink()
                log.info(
                    "substring dedup %s: partition %d/%d, %d repeated windows",
                    "+".join(sorted(set(langs))),
                    r + 1,
                    partitions,
                    len(repeated[-1][0]),
                )
        finally:
            shutil.rmtree(spill, ignore_errors=True)
        for shard in shards:
            windows_of[shard] = W.shard_windows(repeated, shard)
        del repeated

    totals = dict.fromkeys(
        (
            "num_in",
            "num_kept",
            "num_removed",
            "num_edited",
            "num_spans",
            "num_other_lang",
            "bytes_in",
            "bytes_kept",
            "bytes_spans",
            "bytes_removed_docs",
        ),
        0,
    )
    with TableWriter(out_spans, SPAN_SCHEMA, limits) as span_writer:
        for path, shard, path_docs, path_removed in zip(
            docs_in, shards, out_docs, out_removed, strict=True
        ):
            with (
                doc_writer(path_docs, limits) as kept_writer,
                removed_writer(path_removed, limits) as removed_writer_,
            ):
                for table, num_other, buf, doc_starts, doc_ends, base in batches(path):
                    if method == "suffix_array":
                        g_starts, g_ends = spans_of[shard]
                        lo, up = np.searchsorted(g_starts, [base, base + len(buf)])
                        span_starts, span_ends = g_starts[lo:up] - base, g_ends[lo:up] - base
                    else:
                        starts = windows_of[shard]
                        lo, up = np.searchsorted(starts, [base, base + len(buf)])
                        span_starts, span_ends = W.merge_windows(
                            buf, starts[lo:up] - base, min_length_bytes, already_sorted=True
                        )
                    _apply_spans(
                        table,
                        shard,
                        buf,
                        doc_starts,
                        doc_ends,
                        span_starts,
                        span_ends,
                        min_chars_after,
                        kept_writer,
                        removed_writer_,
                        span_writer,
                        totals,
                    )
                    totals["num_other_lang"] += int(num_other)
    return {
        "langs": sorted(set(langs)),
        "min_length_bytes": min_length_bytes,
        "method": method,
        "partitions": partitions,
        **totals,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _apply_spans(
    table: pa.Table,
    shard: int,
    buf: np.ndarray,
    doc_starts: np.ndarray,
    doc_ends: np.ndarray,
    span_starts: np.ndarray,
    span_ends: np.ndarray,
    min_chars_after: int,
    kept_writer: TableWriter,
    removed_writer_: TableWriter,
    span_writer: TableWriter,
    totals: dict[str, int],
) -> None:
    """Cut one batch's spans (offsets in ``buf``) out of its documents and write the kept
    documents, the removal rows and the span rows; add the batch's counts to ``totals``."""
    span_doc = np.searchsorted(doc_starts, span_starts, side="right") - 1
    n = table.num_rows
    texts = table.column("text").to_pylist()
    ids = table.column("id").to_pylist()
    drop = np.zeros(n, dtype=bool)
    leftover = np.zeros(n, dtype=np.int64)
    edited = np.unique(span_doc)
    # Spans are sorted by start, hence grouped by document: one slice per edited document.
    bounds = np.searchsorted(span_doc, np.append(edited, edited[-1:] + 1))
    for k, j in enumerate(edited):
        sel = slice(bounds[k], bounds[k + 1])
        local_s = span_starts[sel] - doc_starts[j]
        local_e = span_ends[sel] - doc_starts[j]
        raw = buf[doc_starts[j] : doc_ends[j]].tobytes()
        kept_bytes = b"".join(
            raw[a:b] for a, b in zip(np.r_[0, local_e], np.r_[local_s, len(raw)], strict=True)
        )
        texts[j] = kept_bytes.decode("utf-8")
        if len(texts[j].strip()) < min_chars_after:
            drop[j] = True
            leftover[j] = len(kept_bytes)
    span_writer.write_table(
        pa.table(
            {
                "id": pa.array([ids[j] for j in span_doc], pa.string()),
                "shard": pa.array(np.full(len(span_doc), shard, np.int32)),
                "start": pa.array(span_starts - doc_starts[span_doc]),
                "end": pa.array(span_ends - doc_starts[span_doc]),
                "bytes": pa.array(span_ends - span_starts),
            }
        )
    )
    out = table.set_column(
        table.schema.get_field_index("text"), "text", pa.array(texts, pa.string())
    )
    kept = out.filter(pa.array(~drop))
    gone = out.filter(pa.array(drop))
    kept_writer.write_table(kept)
    removed_writer_.write_table(
        pa.table(
            {
                "id": gone.column("id"),
                "url": gone.column("url"),
                "step": pa.array([STEP] * gone.num_rows, pa.string()),
                "reason": pa.array([REASON_EMPTY] * gone.num_rows, pa.string()),
                "bytes": pa.array(leftover[drop]),
                "shard": pa.array(np.full(gone.num_rows, shard, np.int32)),
            }
        )
    )
    totals["num_in"] += n
    totals["num_kept"] += kept.num_rows
    totals["num_removed"] += gone.num_rows
    totals["num_edited"] += len(edited)
    totals["num_spans"] += len(span_starts)
    totals["bytes_in"] += int((doc_ends - doc_starts).sum())
    totals["bytes_kept"] += pc.sum(pc.binary_length(kept.column("text"))).as_py() or 0
    totals["bytes_spans"] += int((span_ends - span_starts).sum())
    totals["bytes_removed_docs"] += int(leftover.sum())
