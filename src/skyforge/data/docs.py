"""The document tables every cleaning step reads and writes (Parquet, zstd).

Each step of the cleaning pipeline (extract → filter → exact dedup → near dedup → substring
dedup → quality → corpora) reads the documents the previous step kept and writes two tables per
shard: the documents it keeps (``DOC_SCHEMA``) and the ones it removes with a reason
(``REMOVED_SCHEMA``). Nothing disappears without a row saying which step removed it and why;
``results/data/funnel`` adds them up.

pyarrow does the columnar I/O; this module only fixes the schemas and makes every write atomic
(temp name + rename), which pyarrow's writers do not do themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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

ROW_GROUP_SIZE = 2048


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
    """Read a document table (all of it; shards are sized to fit one job's memory)."""
    return pq.read_table(path, columns=columns, schema=DOC_SCHEMA if columns is None else None)


def iter_doc_batches(
    path: str | Path, batch_size: int = ROW_GROUP_SIZE
) -> Iterator[pa.RecordBatch]:
    """Stream a document table in record batches (for steps that need flat memory)."""
    yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


def read_removed(path: str | Path) -> pa.Table:
    """Read a removal table."""
    return pq.read_table(path)
