"""The high-quality reference set the quality classifier learns from (its positives).

CCNet and RefinedWeb train their quality classifiers on text from a trusted source (Wikipedia, or
pages Wikipedia cites) against random crawl text. A cluster run points ``quality_model.reference``
at such a set: a Parquet file with a ``text`` column (one document per row, UTF-8, paragraphs
separated by newlines, no markup) and a ``lang`` column holding the language codes of the crawl's
language filter (``en``, ``zh``; a language missing from either class is left out of training).
``copy_reference_set`` checks a user's file and copies those two columns into the DAG; the
embedded default writes a stand-in instead (``synthetic.reference``).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from skyforge.data.docs import write_table

__all__ = ["REFERENCE_SCHEMA", "copy_reference_set"]

REFERENCE_SCHEMA = pa.schema(
    [pa.field("text", pa.string(), nullable=False), pa.field("lang", pa.string(), nullable=False)]
)


def copy_reference_set(path: Path, out: Path) -> int:
    """Copy the ``text`` and ``lang`` columns of a user's reference set to ``out``.

    Returns:
        The number of documents written.

    Raises:
        ValueError: the file lacks one of the two columns.
    """
    table = pq.read_table(path)
    missing = {"text", "lang"} - set(table.column_names)
    if missing:
        raise ValueError(f"'{path}': reference set lacks columns {sorted(missing)}")
    return write_table(out, table.select(["text", "lang"]), REFERENCE_SCHEMA)
