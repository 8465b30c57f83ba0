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
        texts += pq.read_table(path, columns=["text"]).column("text").to_pylist()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for corpus, texts in by_corpus.items():
        texts = [t for t in texts if t.strip()][:num_docs]
        lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
        atomic_write_text(out_dir / f"{corpus}.jsonl", "\n".join(lines) + "\n")
        counts[corpus] = len(lines)
    return counts
