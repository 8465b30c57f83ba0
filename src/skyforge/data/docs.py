"""The document tables every cleaning step reads and writes (Parquet, zstd).

Each step of the cleaning pipeline (extract → filter → exact dedup → near dedup → substring
dedup → quality → corpora) reads the documents the previous step kept and writes two tables per
shard: the documents it keeps (``DOC_SCHEMA``) and the ones it removes with a reason
(``REMOVED_SCHEMA``). Nothing disappears without a row saying which step removed it and why;
``results/data/funnel`` adds them up.

pyarrow does the columnar I/O; this module only fixes the schemas and makes every write atomic
(temp name + rename), which pyarrow's writers do not do themselves.

Per-shard steps stream: :func:`iter_doc_rows` reads a table one record batch at a time and a
:class:`TableWriter` appends row groups as they fill, so a job holds one batch in and one out
whatever the shard's size (``stream.batch_docs`` / ``stream.batch_mb``, :class:`BatchLimits`).
A writer flushes at exactly ``batch_docs`` rows unless ``batch_mb`` is reached first, so its file
is byte-identical to one ``pq.write_table`` of the same rows with that row-group size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from skyforge.core.io import atomic_path

# Pipeline steps, in order. A removal row names one of them.
STEPS = (
    "extract",
    "url_filter",
    "encoding",
    "language",
    "heuristic",
    "harmful",
    "exact_dedup",
    "near_dedup",
    "substring_dedup",
    "decontaminate",
    "quality_model",
    "harmful_model",
)
"""SkyPile's order (docs/cleaning.md): extraction, distribution filters (URL, mojibake repair
before language ID reads the text, language; the cheap heuristic and harmful/spam content rules
run here too), dedup, then the quality classifier, which so sees text without repeated
boilerplate (a drop-down menu on a third of the pages would otherwise be what it learns), and the
harmful/spam classifier, trained on what the content rules flagged, for what they missed."""

DOC_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # WARC-Record-ID
        pa.field("url", pa.string()),
        pa.field("domain", pa.string()),  # host of the URL, lower case, no port
        pa.field("title", pa.string()),
        pa.field("text", pa.string(), nullable=False),  # extracted main text, UTF-8
        pa.field("crawl_date", pa.string()),  # YYYY-MM-DD from WARC-Date
        pa.field("encoding", pa.string()),  # charset the HTML was decoded with
        pa.field("lang", pa.string()),  # zh / en / code / other; null before language ID
        pa.field("lang_score", pa.float32()),
        pa.field("shard", pa.int32()),
    ]
)

REMOVED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("step", pa.string(), nullable=False),  # one of STEPS
        pa.field("reason", pa.string(), nullable=False),  # short, groupable ("too_short", …)
        pa.field("bytes", pa.int64()),  # UTF-8 bytes of the text (or payload) removed
        pa.field("shard", pa.int32()),
    ]
)

ROW_GROUP_SIZE = 512

DEFAULT_BATCH_MB = 64


@dataclass(frozen=True)
class BatchLimits:
    """How much a streaming step holds at once: ``docs`` rows or ``bytes`` of text, whichever
    comes first (config section ``stream``: ``batch_docs``, ``batch_mb``)."""

    docs: int = ROW_GROUP_SIZE
    bytes: int = DEFAULT_BATCH_MB << 20

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> BatchLimits:
        """Limits from the ``stream`` config section (None: the defaults)."""
        if not section:
            return cls()
        docs = int(section.get("batch_docs", ROW_GROUP_SIZE))
        mb = float(section.get("batch_mb", DEFAULT_BATCH_MB))
        if docs < 1:
            raise ValueError(f"config key 'stream.batch_docs': must be >= 1, got {docs}")
        if mb <= 0:
            raise ValueError(f"config key 'stream.batch_mb': must be > 0, got {mb}")
        return cls(docs=docs, bytes=int(mb * (1 << 20)))


def row_bytes(row: Mapping[str, Any]) -> int:
    """Approximate size of a row for the batch budget: the UTF-8-ish length of its strings."""
    return sum(len(v) for v in row.values() if isinstance(v, str | bytes))


class TableWriter:
    """Append rows to a Parquet table (zstd) one row group at a time; the file appears whole on
    a clean exit of the ``with`` block, and nothing is left behind on an exception.

    Rows are buffered until ``limits.docs`` rows or ``limits.bytes`` bytes (:func:`row_bytes`)
    and then written as one row group, so memory is one batch, not the table. A single row
    larger than ``limits.bytes`` is an error naming ``stream.batch_mb``: the budget could not
    hold the record, and silently writing it would break the bound the user configured.
    """

    def __init__(
        self,
        path: str | Path,
        schema: pa.Schema,
        limits: BatchLimits | None = None,
        *,
        check: Callable[[pa.Table], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.limits = limits or BatchLimits()
        self.num_rows = 0
        self._check = check
        self._rows: list[Mapping[str, Any]] = []
        self._bytes = 0
        self._tail: pa.Table | None = None
        self._stack: contextlib.ExitStack | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> TableWriter:
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._writer = pq.ParquetWriter(tmp, self.schema, compression="zstd")
        return self

    def write(self, row: Mapping[str, Any], nbytes: int | None = None) -> None:
        """Buffer one row (a dict); flush a row group when the batch is full."""
        size = row_bytes(row) if nbytes is None else nbytes
        if size > self.limits.bytes:
            raise ValueError(
                f"config key 'stream.batch_mb': {self.limits.bytes / (1 << 20):g} MB cannot hold "
                f"one record ({row.get('id')!r}, {size / (1 << 20):.1f} MB) for '{self.path}'"
            )
        if self._bytes + size > self.limits.bytes:
            self._flush()
        self._rows.append(row)
        self._bytes += size
        if len(self._rows) >= self.limits.docs:
            self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Append a table (a batch the caller built). Rows are re-cut into row groups of
        exactly ``limits.docs`` rows across calls, so the file does not depend on how the
        caller batched them; the remainder waits for the next call or the close."""
        self._flush_rows()
        if not table.num_rows:
            return
        table = table.select(self.schema.names).cast(self.schema)
        if self._tail is not None:
            table = pa.concat_tables([self._tail, table])
            self._tail = None
        full = table.num_rows - table.num_rows % self.limits.docs
        if full:
            self._put(table.slice(0, full))
        if full < table.num_rows:
            self._tail = table.slice(full)

    def _put(self, table: pa.Table) -> None:
        if self._check is not None:
            self._check(table)
        assert self._writer is not None, "TableWriter used outside its with block"
        self._writer.write_table(table, row_group_size=self.limits.docs)
        self.num_rows += table.num_rows

    def _flush(self) -> None:
        if self._tail is not None:
            tail, self._tail = self._tail, None
            self._put(tail)
        self._flush_rows()

    def _flush_rows(self) -> None:
        if self._rows:
            rows, self._rows, self._bytes = self._rows, [], 0
            self._put(pa.Table.from_pylist(rows, schema=self.schema))

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        assert self._stack is not None and self._writer is not None
        if exc_type is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            return self._stack.__exit__(exc_type, exc, tb)
        try:
            self._flush()
            if self.num_rows == 0:
                # One empty row group, as pq.write_table writes for an empty table.
                self._writer.write_table(self.schema.empty_table())
            self._writer.close()
        except BaseException as err:
            self._stack.__exit__(type(err), err, err.__traceback__)
            raise
        return self._stack.__exit__(None, None, None)


def _check_steps(table: pa.Table) -> None:
    bad = set(table.column("step").to_pylist()) - set(STEPS)
    assert not bad, f"unknown step names {bad}"


def doc_writer(path: str | Path, limits: BatchLimits | None = None) -> TableWriter:
    """A streaming writer of kept documents (``DOC_SCHEMA``)."""
    return TableWriter(path, DOC_SCHEMA, limits)


def removed_writer(path: str | Path, limits: BatchLimits | None = None) -> TableWriter:
    """A streaming writer of removal rows (``REMOVED_SCHEMA``, steps checked)."""
    return TableWriter(path, REMOVED_SCHEMA, limits, check=_check_steps)


def _table(rows: Iterable[Mapping[str, Any]] | pa.Table, schema: pa.Schema) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows.select(schema.names).cast(schema)
    return pa.Table.from_pylist(list(rows), schema=schema)


def write_table(
    path: str | Path, rows: Iterable[Mapping[str, Any]] | pa.Table, schema: pa.Schema
) -> int:
    """Write rows (dicts or a Table) with ``schema`` to Parquet (zstd) atomically; return count."""
    table = _table(rows, schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_SIZE)
    return table.num_rows


def write_docs(path: str | Path, rows: Iterable[Mapping[str, Any]] | pa.Table) -> int:
    """Write kept documents."""
    return write_table(path, rows, DOC_SCHEMA)


def write_removed(path: str | Path, rows: Iterable[Mapping[str, Any]] | pa.Table) -> int:
    """Write removal rows (id, url, step, reason, bytes, shard)."""
    table = _table(rows, REMOVED_SCHEMA)
    bad = set(table.column("step").to_pylist()) - set(STEPS)
    assert not bad, f"unknown step names {bad}"
    return write_table(path, table, REMOVED_SCHEMA)


def read_docs(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """Read a whole document table (small tables and tests; the per-shard steps stream theirs
    with :func:`iter_doc_batches`)."""
    return pq.read_table(path, columns=columns, schema=DOC_SCHEMA if columns is None else None)


def iter_doc_batches(
    path: str | Path, batch_size: int = ROW_GROUP_SIZE, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream a document table in record batches (for steps that need flat memory).

    Row groups are read one at a time and cut into batches of ``batch_size`` rows: pyarrow's
    ``iter_batches`` reads ahead and its peak grew by ~45 MB between a 10x and a 30x shard of
    the benchmark crawl, one row group at a time by ~20 MB. Our writers bound row groups by
    ``stream`` (rows and bytes); a foreign file is held one row group at a time."""
    f = pq.ParquetFile(path)
    for i in range(f.num_row_groups):
        table = f.read_row_group(i, columns=columns, use_threads=False)
        yield from table.to_batches(max_chunksize=batch_size)


def iter_doc_rows(path: str | Path, limits: BatchLimits | None = None) -> Iterator[dict[str, Any]]:
    """Stream a document table as dict rows, one record batch of ``limits.docs`` rows at a time."""
    for batch in iter_doc_batches(path, (limits or BatchLimits()).docs):
        yield from batch.to_pylist()


def count_rows(path: str | Path) -> int:
    """Rows of a Parquet table, from its footer (for progress bars)."""
    return pq.ParquetFile(path).metadata.num_rows


def read_removed(path: str | Path) -> pa.Table:
    """Read a removal table."""
    return pq.read_table(path)
