"""Exact document dedup across all shards (normalised-text hash), and the generic drop step.

SkyPile drops documents whose normalised text is the same wherever they sit in the crawl, so the
step runs over every shard, staged so that no job holds the documents themselves:
``exact_hashes`` (per shard: a 128-bit xxh3 hash of NFKC, lower-cased, punctuation-free,
whitespace-collapsed text) → ``exact_duplicates`` (``num_partitions`` jobs, one per slice of the
hash space: every document but the first by ``(crawl_date, id)`` per hash, so the survivor does
not depend on shard order) → ``apply_drop`` (per shard: kept documents and removal rows, from
every partition's drop list). ``apply_drop`` is generic: near-duplicate dedup writes its drop
list in the same ``DROP_SCHEMA`` (``id, shard, duplicate_of``, sorted by shard then id).

**Memory of the reduce.** All copies of a text share its hash, so partitions by hash prefix
never split a group, and their drop lists together are the one-job list row for row. A job
streams the hash tables twice in record batches, holding only its partition's rows (see
:func:`exact_duplicates`): :data:`EXACT_BYTES_PER_ROW` = 45 B per document plus
:data:`EXACT_BYTES_PER_DUP_ROW` = 190 B per document that has a copy (:func:`exact_peak_bytes`),
above ~250 MB for the process and its read buffers. At Common Crawl scale (3 billion documents,
half of them taken to have a copy: 140 B each, 424 GB in all) a 16 GiB budget
(``dedup.exact.memory_budget_gb``) gives 25 partitions of ~17 GB. Measured by
``benchmarks/minhash.py --memory-only``, docs/dedup.md.

No library is used: datatrove, text-dedup and dolma each tie exact dedup to their own pipeline
and document model; here it is three pyarrow group-bys over our tables.

See docs/dedup.md.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from skyforge.core.io import atomic_path
from skyforge.data.docs import (
    ROW_GROUP_SIZE,
    doc_writer,
    iter_doc_batches,
    removed_writer,
    write_table,
)

__all__ = [
    "DROP_SCHEMA",
    "HASH_SCHEMA",
    "MISSING_DATE",
    "normalize_text",
    "text_hash",
    "exact_hashes",
    "exact_duplicates",
    "apply_drop",
    "read_drop_ids",
    "first_by_date_then_id",
    "DEDUP_STEPS",
    "DEDUP_REASONS",
]

log = logging.getLogger(__name__)

HASH_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),  # 32 hex digits: xxh3-128 of normalised text
        pa.field("crawl_date", pa.string()),
    ]
)
"""Columns of an ``exact_hashes`` table (one per shard)."""
_HASH_COLUMNS = HASH_SCHEMA.names

DROP_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # document to remove
        pa.field("shard", pa.int32(), nullable=False),  # the shard it lives in
        pa.field("duplicate_of", pa.string(), nullable=False),  # the document kept in its place
    ]
)
"""Columns of a drop list (exact and near dedup); rows sorted by shard, then id."""

BATCH_ROWS = 1 << 16
"""Rows per record batch the reduce steps read (exact and MinHash)."""

EXACT_BYTES_PER_ROW = 45
"""Memory of ``exact_duplicates`` per document of its partition (first pass: the hash words,
their sort order and sorted copies)."""
EXACT_BYTES_PER_DUP_ROW = 190
"""Memory of ``exact_duplicates`` per document of its partition in a group of two or more
(second pass: id, shard, date, group and their sort)."""


def exact_peak_bytes(num_docs: float, num_dup_rows: float) -> float:
    """Peak memory of one ``exact_duplicates`` job above the process and what does not grow
    with the input: its partition's documents and those of them in a duplicate group."""
    return EXACT_BYTES_PER_ROW * num_docs + EXACT_BYTES_PER_DUP_ROW * num_dup_rows


MISSING_DATE = "9999-12-31"
"""Sort key for a document without a crawl date: it loses ties against every dated copy."""

DEDUP_STEPS = ("exact_dedup", "near_dedup")
# Removal reasons are groupable labels (the funnel counts per step × reason); which document a
# removed one duplicates is in the drop list's ``duplicate_of`` column, not in the reason.
DEDUP_REASONS = {"exact_dedup": "exact_duplicate", "near_dedup": "near_duplicate"}

_SPACE_RE = re.compile(r"\s+")
_HEX_VALUE = np.zeros(256, dtype=np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_HEX_OK = np.zeros(256, dtype=bool)
_HEX_OK[np.frombuffer(b"0123456789abcdef", np.uint8)] = True


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, None]:
    # Built once per process (≈0.1 s over all of Unicode). str.translate with this dict beat a
    # regex of the same class (189 ranges) on 0.8 M characters of crawl text: 0.22 s vs 0.38 s.
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp))[0] == "P"}


def normalize_text(text: str) -> str:
    """Return the form of ``text`` whose hash defines an exact duplicate.

    NFKC, lower case, Unicode punctuation removed, whitespace runs collapsed to one space and
    stripped at both ends. CJK-safe: no step splits on spaces or drops non-Latin letters.

    Args:
        text: document text.

    Returns:
        The normalised text.
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(_punctuation_table())
    return _SPACE_RE.sub(" ", text).strip()


def text_hash(text: str) -> str:
    """xxh3-128 of the normalised text as 32 hex digits (the ``hash`` column)."""
    return xxhash.xxh3_128_hexdigest(normalize_text(text).encode("utf-8"))


def exact_hashes(docs_in: Path, shard: int, out: Path) -> dict[str, Any]:
    """Map step: hash every document of one shard (``HASH_SCHEMA``).

    Args:
        docs_in: kept documents of the previous step for this shard (``DOC_SCHEMA``).
        shard: shard index written into each row (also checked against the table's column).
        out: Parquet file to write.

    Returns:
        ``{"shard", "num_docs", "num_distinct_hashes"}``.
    """
    ids: list[pa.Array] = []
    hashes: list[str] = []
    dates: list[pa.Array] = []
    for batch in iter_doc_batches(docs_in):
        ids.append(batch.column("id"))
        dates.append(batch.column("crawl_date"))
        hashes.extend(text_hash(t) for t in batch.column("text").to_pylist())
    num = len(hashes)
    table = pa.table(
        {
            "id": pa.chunked_array(ids, pa.string()),
            "shard": pa.array(np.full(num, shard, dtype=np.int32)),
            "hash": pa.array(hashes, pa.string()),
            "crawl_date": pa.chunked_array(dates, pa.string()),
        }
    )
    write_table(out, table, HASH_SCHEMA)
    return {"shard": shard, "num_docs": num, "num_distinct_hashes": len(set(hashes))}


def _hash_words(hashes: pa.Array, path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """The 128-bit hashes of a ``hash`` column as (high, low) uint64 words.

    Reads the string column's value buffer in place (32 bytes a row), so a batch costs 16 bytes
    a row. Lower-case hex of a fixed width sorts like the number it spells, so ordering by the
    words is ordering by the strings.

    Raises:
        ValueError: naming ``path``, for a null or a value that is not 32 lower-case hex digits.
    """
    hashes = pc.cast(hashes, pa.string())
    n = len(hashes)
    if not n:
        return np.empty(0, np.uint64), np.empty(0, np.uint64)
    lengths = pc.binary_length(hashes)
    if hashes.null_count or pc.min(lengths).as_py() != 32 or pc.max(lengths).as_py() != 32:
        raise ValueError(f"{path}: column 'hash' must hold 32 hex digits in every row")
    offsets = np.frombuffer(hashes.buffers()[1], np.int32, n + 1, hashes.offset * 4)
    data = np.frombuffer(hashes.buffers()[2], np.uint8)
    digits = data[offsets[0] : offsets[0] + 32 * n].reshape(n, 32)
    if not _HEX_OK[digits].all():
        raise ValueError(f"{path}: column 'hash' must hold lower-case hex digits only")
    nibbles = _HEX_VALUE[digits]
    packed = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])  # 16 bytes a row
    words = packed.view(">u8").astype(np.uint64)
    return words[:, 0], words[:, 1]


def _hash_partition(high: np.ndarray, num_partitions: int) -> np.ndarray:
    """Partition index of each hash: its first 8 hex digits (32 bits) modulo ``num_partitions``."""
    return (high >> np.uint64(32)) % np.uint64(num_partitions)


def first_by_date_then_id(
    keys: np.ndarray, dates: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order rows by (key, date, id) and name, for each row, the first row of its key group.

    Args:
        keys: group key per row (any sortable numpy dtype).
        dates: crawl date strings (nulls already replaced by ``MISSING_DATE``).
        ids: document ids (strings).

    Returns:
        ``(order, first)``: ``order`` sorts the rows; ``first[j]`` is the position (in the
        original row numbering) of the survivor of the group of row ``order[j]``.
    """
    order = np.lexsort((ids, dates, keys))
    sorted_keys = keys[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    group = np.cumsum(starts) - 1
    first = order[np.flatnonzero(starts)][group]
    return order, first


def open_parquet(path: Path | str, columns: Sequence[str]) -> pq.ParquetFile:
    """Open a Parquet table to stream, checking that it has ``columns``.

    Raises:
        ValueError: naming the file: not Parquet, or a column missing.
    """
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{path}: cannot read as Parquet ({exc})") from None
    missing = [c for c in columns if c not in pf.schema_arrow.names]
    if missing:
        raise ValueError(f"{path}: no column {missing[0]!r}")
    return pf


def _partition_batches(
    hash_files: Sequence[Path],
    columns: list[str],
    partition: int,
    num_partitions: int,
    batch_rows: int,
) -> Iterator[tuple[Path, pa.RecordBatch, np.ndarray, np.ndarray]]:
    """The partition's rows of every hash table, a record batch at a time, with their hash
    words: ``(path, batch, high, low)``."""
    for path in hash_files:
        pf = open_parquet(path, ["id", "shard", "hash", "crawl_date"])
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            high, low = _hash_words(batch.column("hash"), path)
            if num_partitions > 1:
                rows = np.flatnonzero(_hash_partition(high, num_partitions) == partition)
                high, low = high[rows], low[rows]
                batch = batch.take(pa.array(rows))
            yield path, batch, high, low


def exact_duplicates(
    hash_files: Sequence[Path],
    out: Path,
    *,
    partition: int = 0,
    num_partitions: int = 1,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Reduce step: list every document whose normalised hash an earlier document already has.

    "Earlier" is by ``(crawl_date, id)`` (missing dates last), so the kept copy does not depend
    on shard order. With ``num_partitions > 1`` this call handles only hashes whose 32-bit
    prefix is ``partition`` modulo ``num_partitions``: every copy of a text has the same hash,
    so a group never spans partitions and the union of the partitions' drop lists is the
    one-job list, row for row. Run one job per partition and pass all their drop lists to
    ``apply_drop``.

    Two streaming passes over the hash tables, in record batches of ``batch_rows``, holding
    only this partition's rows: the first reads the ``hash`` column alone and finds the rows
    whose hash another row shares (the hash as two 64-bit words, their sort order and sorted
    copies: :data:`EXACT_BYTES_PER_ROW` = 45 B a row); the second reads id, shard and date of
    those rows only and orders each group by them (:data:`EXACT_BYTES_PER_DUP_ROW` = 190 B per
    such row). Peak memory above the process and its read buffers (~250 MB):
    ``exact_peak_bytes(documents, documents with a copy)`` of the partition, i.e.
    ``(45 + 190 × share with a copy) × documents / num_partitions``; measured by
    ``benchmarks/minhash.py --memory-only`` (docs/dedup.md).

    Args:
        hash_files: ``exact_hashes`` tables of ALL shards.
        out: drop list to write (``DROP_SCHEMA``).
        partition: which partition this job handles.
        num_partitions: how many jobs split the hash space.
        batch_rows: rows per record batch read.

    Returns:
        ``{"partition", "num_partitions", "num_docs", "num_groups", "num_duplicate_groups",
        "num_drop"}`` for the partition.

    Raises:
        ValueError: bad partition arguments, no hash files, a hash table without the expected
            columns or with a malformed hash (naming the file), or tables that changed between
            the two passes.
    """
    if num_partitions < 1 or not 0 <= partition < num_partitions:
        raise ValueError(f"partition {partition} of {num_partitions}: need 0 <= partition < n")
    if not hash_files:
        raise ValueError("exact_duplicates: no hash files given")
    part = (partition, num_partitions, batch_rows)

    # Pass 1: which rows (in read order) are in a group of two or more, and which group.
    highs, lows = [], []
    for _, _, high, low in _partition_batches(hash_files, ["hash"], *part):
        highs.append(high)
        lows.append(low)
    high, low = np.concatenate(highs), np.concatenate(lows)
    del highs, lows
    num_docs = len(high)
    order = np.lexsort((low, high))  # stable: equal hashes keep their read order
    sorted_high, sorted_low = high[order], low[order]
    del low
    new = np.ones(num_docs, dtype=bool)
    new[1:] = (sorted_high[1:] != sorted_high[:-1]) | (sorted_low[1:] != sorted_low[:-1])
    del sorted_high, sorted_low
    starts = np.flatnonzero(new)
    del new
    sizes = np.diff(np.append(starts, num_docs))
    dup = sizes >= 2
    in_dup_sorted = np.repeat(dup, sizes)
    dup_rows = order[in_dup_sorted]  # read positions, group by group
    del order, in_dup_sorted
    in_dup = np.zeros(num_docs, dtype=bool)
    in_dup[dup_rows] = True
    by_read = np.argsort(dup_rows, kind="stable")
    group_of = np.repeat(np.arange(int(dup.sum()), dtype=np.int64), sizes[dup])[by_read]
    high_of = high[dup_rows[by_read]]
    del high, dup_rows, by_read

    # Pass 2: id, shard and date of those rows only.
    ids, shards, dates = [], [], []
    seen = taken = 0
    for path, batch, high, _ in _partition_batches(hash_files, _HASH_COLUMNS, *part):
        rows = np.flatnonzero(in_dup[seen : seen + batch.num_rows])
        seen += batch.num_rows
        if not len(rows):
            continue
        if seen > num_docs or not np.array_equal(high[rows], high_of[taken : taken + len(rows)]):
            raise ValueError(f"{path}: hash table changed while exact_duplicates read it")
        taken += len(rows)
        picked = batch.take(pa.array(rows))
        ids.append(pc.cast(picked.column("id"), pa.large_string()))
        shards.append(picked.column("shard").to_numpy(zero_copy_only=False).astype(np.int32))
        dates.append(
            pc.cast(pc.fill_null(picked.column("crawl_date"), MISSING_DATE), pa.large_string())
        )
    if seen != num_docs or taken != len(high_of):
        raise ValueError("exact_duplicates: hash tables changed between the two passes")
    del in_dup, high_of
    shard = np.concatenate(shards) if shards else np.empty(0, np.int32)
    # Each group by (crawl_date, id), with Arrow's stable sort on the strings: the same order
    # as one sort of all rows by (hash, crawl_date, id).
    within = pc.sort_indices(
        pa.table(
            {
                "g": group_of,
                "d": pa.chunked_array(dates, pa.large_string()),
                "i": pa.chunked_array(ids, pa.large_string()),
            }
        ),
        sort_keys=[("g", "ascending"), ("d", "ascending"), ("i", "ascending")],
    ).to_numpy()
    del dates
    group_of = group_of[within]
    first = np.ones(len(within), dtype=bool)
    first[1:] = group_of[1:] != group_of[:-1]
    keeper = within[np.flatnonzero(first)][np.cumsum(first) - 1]
    drop, kept_for = within[~first], keeper[~first]
    drop_ids = take_rows(ids, drop)
    by_shard_id = pc.sort_indices(
        pa.table({"s": shard[drop], "i": drop_ids}),
        sort_keys=[("s", "ascending"), ("i", "ascending")],
    ).to_numpy()
    write_rows(
        out,
        DROP_SCHEMA,
        by_shard_id,
        lambda part: {
            "id": drop_ids.take(pa.array(part)),
            "shard": shard[drop[part]],
            "duplicate_of": take_rows(ids, kept_for[part]),
        },
    )
    return {
        "partition": partition,
        "num_partitions": num_partitions,
        "num_docs": num_docs,
        "num_groups": len(starts),
        "num_duplicate_groups": int(dup.sum()),
        "num_drop": len(drop),
    }


def take_rows(chunks: Sequence[pa.Array], rows: np.ndarray) -> pa.Array:
    """``concat(chunks).take(rows)`` without concatenating the chunks (which Arrow's take on a
    chunked array does: a transient copy of the whole column). Memory: the result, twice."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = np.cumsum([0] + [len(c) for c in chunks])
    which = np.searchsorted(starts, rows, side="right") - 1
    by_chunk = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[by_chunk], np.arange(len(chunks) + 1))
    parts = [
        chunks[c].take(pa.array(rows[by_chunk[bounds[c] : bounds[c + 1]]] - starts[c]))
        for c in range(len(chunks))
        if bounds[c + 1] > bounds[c]
    ]
    if not parts:
        return pa.array([], chunks[0].type if chunks else pa.large_string())
    inverse = np.empty_like(by_chunk)
    inverse[by_chunk] = np.arange(len(by_chunk))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def write_rows(
    path: Path | str,
    schema: pa.Schema,
    rows: np.ndarray,
    columns: Callable[[np.ndarray], dict[str, pa.Array | np.ndarray]],
    slice_rows: int = 1 << 20,
) -> int:
    """Write a table of ``len(rows)`` rows to Parquet (zstd) atomically, a slice at a time.

    ``columns(rows[lo:hi])`` builds the slice's columns, so only one slice of the output is
    ever held. ``slice_rows`` is a multiple of the row-group size, so the file is byte for byte
    what :func:`skyforge.data.docs.write_table` writes for the whole table.
    """
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for lo in range(0, max(len(rows), 1), slice_rows):
            part = rows[lo : lo + slice_rows]
            table = pa.table(columns(part)) if len(part) else schema.empty_table()
            writer.write_table(table.select(schema.names).cast(schema), ROW_GROUP_SIZE)
    return len(rows)


def read_drop_ids(drop_files: Path | Sequence[Path], shard: int) -> dict[str, str]:
    """Return ``{id: duplicate_of}`` for one shard from one or more drop lists.

    Only this shard's rows are read: the filter is pushed down to Parquet row-group statistics,
    which are tight because drop lists are sorted by shard.
    """
    files = [drop_files] if isinstance(drop_files, str | Path) else list(drop_files)
    out: dict[str, str] = {}
    for path in files:
        table = pq.read_table(
            path, columns=["id", "duplicate_of"], filters=[("shard", "==", shard)]
        )
        out.update(
            zip(
                table.column("id").to_pylist(),
                table.column("duplicate_of").to_pylist(),
                strict=True,
            )
        )
    return out


def apply_drop(
    docs_in: Path,
    drop_file: Path | Sequence[Path],
    shard: int,
    step: str,
    out_docs: Path,
    out_removed: Path,
) -> dict[str, Any]:
    """Remove the listed documents of one shard; write kept documents and removal rows.

    The shard streams through one record batch at a time; what is held is the shard's drop
    ids (its duplicates, not its documents) and one batch.

    Args:
        docs_in: this shard's documents (``DOC_SCHEMA``).
        drop_file: drop list(s) (``DROP_SCHEMA``) from ``exact_duplicates`` or
            ``minhash_clusters``; several when the reduce ran in partitions.
        shard: this shard's index; only drop rows with this shard are read.
        step: ``"exact_dedup"`` or ``"near_dedup"`` (the removal rows' step).
        out_docs: kept documents.
        out_removed: removal rows, reason ``exact_duplicate`` / ``near_duplicate``
            (``DEDUP_REASONS``), bytes = UTF-8 bytes of the text.

    Returns:
        ``{"shard", "step", "num_in", "num_kept", "num_removed", "bytes_in", "bytes_removed",
        "num_drop_ids_not_found"}``; the last counts listed ids absent from ``docs_in`` (stale
        inputs), which are logged as a warning.

    Raises:
        ValueError: ``step`` is not a dedup step.
    """
    if step not in DEDUP_STEPS:
        raise ValueError(f"apply_drop: step must be one of {DEDUP_STEPS}, got {step!r}")
    drop = read_drop_ids(drop_file, shard)
    drop_ids = pa.array(list(drop), pa.string())
    num_in = bytes_in = bytes_removed = found = 0
    with doc_writer(out_docs) as kept, removed_writer(out_removed) as removed:
        for batch in iter_doc_batches(docs_in):
            table = pa.Table.from_batches([batch])
            mask = pc.is_in(table.column("id"), value_set=drop_ids)
            nbytes = pc.binary_length(table.column("text"))
            num_in += table.num_rows
            bytes_in += pc.sum(nbytes).as_py() or 0
            gone = table.filter(mask)
            kept.write_table(table.filter(pc.invert(mask)))
            if gone.num_rows:
                found += gone.num_rows
                gone_bytes = pc.binary_length(gone.column("text"))
                bytes_removed += pc.sum(gone_bytes).as_py() or 0
                removed.write_table(
                    pa.table(
                        {
                            "id": gone.column("id"),
                            "url": gone.column("url"),
                            "step": pa.array([step] * gone.num_rows, pa.string()),
                            "reason": pa.array([DEDUP_REASONS[step]] * gone.num_rows, pa.string()),
                            "bytes": pc.cast(gone_bytes, pa.int64()),
                            "shard": pa.array(np.full(gone.num_rows, shard, np.int32)),
                        }
                    )
                )
    missing = len(drop) - found
    if missing:
        log.warning("%s shard %d: %d drop ids not in %s", step, shard, missing, docs_in)
    return {
        "shard": shard,
        "step": step,
        "num_in": num_in,
        "num_kept": kept.num_rows,
        "num_removed": found,
        "bytes_in": bytes_in,
        "bytes_removed": bytes_removed,
        "num_drop_ids_not_found": missing,
    }
