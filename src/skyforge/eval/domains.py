"""The default domains of the loss table: this run's held-out corpora as JSONL domain files.

Each corpus's held-out shards become one ``<corpus>.jsonl`` of ``{"text": ...}`` rows (the
layout a user's own domain files take, see ``eval.domains`` in the config schema), so the loss
table reads the DAG's domains and a user's the same way.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow.parquet as pq

from skyforge.core.io import atomic_write_text

log = logging.getLogger(__name__)


def write_domain_files(heldout: list[Path], out_dir: Path, num_docs: int) -> dict[str, int]:
    """Write the first ``num_docs`` non-blank held-out documents of each corpus.

    Shards are read in order one row group at a time and reading stops at ``num_docs``, so
    memory follows ``num_docs``, not the corpus.

    Args:
        heldout: ``.../corpora/<corpus>/heldout/<shard>.parquet`` files.
        out_dir: where ``<corpus>.jsonl`` go.
        num_docs: documents per domain at most.

    Returns:
        Documents written per corpus.
    """
    by_corpus: dict[str, list[str]] = {}
    for path in sorted(map(Path, heldout)):
        texts = by_corpus.setdefault(path.parent.parent.name, [])
        if len(texts) >= num_docs:
            continue  # one row group at a time, and no more than the domain keeps
        parquet = pq.ParquetFile(path)
        for i in range(parquet.num_row_groups):
            group = parquet.read_row_group(i, columns=["text"], use_threads=False)
            texts += [t for t in group.column("text").to_pylist() if t.strip()]
            if len(texts) >= num_docs:
                del texts[num_docs:]
                break
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for corpus, texts in by_corpus.items():
        lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
        atomic_write_text(out_dir / f"{corpus}.jsonl", "\n".join(lines) + "\n")
        counts[corpus] = len(lines)
    return counts
