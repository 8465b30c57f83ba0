"""Split cleaned documents into the corpora the training stages blend, with held-out splits.

Corpora (docs/recipe.md#data): ``main-en``, ``main-zh``, ``main-code`` (SkyPile-Main),
``stem`` (question + answer STEM pages, SkyPile-STEM) and ``parallel`` (EN–ZH aligned text).
Each has a ``train`` and a ``heldout`` split; the held-out documents are the NEWEST of their
corpus by crawl date (validation text is published after the training text), chosen with a
per-corpus date cutoff so that each shard can be split on its own:

1. ``date_histogram`` (map, per shard): documents per (corpus, crawl date).
2. ``heldout_cutoffs`` (reduce, tiny): per corpus, the date from which the newest
   ``heldout_fraction`` of its documents start; ties at the cutoff date are broken by a hash of
   the id so that the share is met without depending on shard order.
3. ``split_shard`` (per shard): write ``<corpus>/<split>/<shard>.parquet``.

The corpus of a document is decided from its text by a few transparent rules (this is routing,
not filtering: every kept document lands in exactly one corpus), written here because no library
classifies "STEM question + answer page" or "bilingual parallel page".
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from skyforge.core.io import atomic_write_text
from skyforge.data.docs import BatchLimits, TableWriter, iter_doc_batches

CORPORA = ("main-en", "main-zh", "main-code", "stem", "parallel")
SPLITS = ("train", "heldout")

CORPUS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("crawl_date", pa.string()),
        pa.field("corpus", pa.string()),
        # Token-free statistics (tokenizers come later in the DAG).
        pa.field("num_chars", pa.int32()),
        pa.field("num_bytes", pa.int32()),
        pa.field("num_lines", pa.int32()),
        pa.field("cjk_share", pa.float32()),
    ]
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Question/answer markers of STEM exercise pages, English and Chinese.
_QUESTION = re.compile(
    r"(?im)^\s*(question|problem|exercise|例题|题目|问题|习题|第\s*\d+\s*题)\s*\d*\s*[:：.]?"
)
_ANSWER = re.compile(r"(?im)^\s*(answer|solution|解答|解析|答案|解|答)\s*[:：.]")
_MATH = re.compile(r"[=+×÷^√∑∫≈≤≥]|\d+\s*[/*-]\s*\d+")


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among CJK ideographs + Latin letters."""
    cjk = len(_CJK.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def _is_parallel(text: str) -> bool:
    """Pages whose paragraphs alternate between Chinese and English (aligned translations)."""
    paras = [p for p in re.split(r"\n\s*\n|\n", text) if len(p.strip()) >= 8]
    if len(paras) < 4:
        return False
    kinds = ["zh" if cjk_share(p) > 0.5 else "en" for p in paras]
    counts = Counter(kinds)
    if min(counts.get("zh", 0), counts.get("en", 0)) < 2:
        return False
    switches = sum(a != b for a, b in zip(kinds, kinds[1:], strict=False))
    balance = min(counts.values()) / max(counts.values())
    # Translations alternate (zh, en, zh, en …) or come as two balanced halves.
    return balance >= 0.6 and (switches >= len(paras) / 2 or switches == 1)


def _is_stem(text: str) -> bool:
    return (
        bool(_QUESTION.search(text))
        and bool(_ANSWER.search(text))
        and len(_MATH.findall(text)) >= 3
    )


def corpus_of(text: str, lang: str | None) -> str:
    """Route one cleaned document to its corpus."""
    if lang == "code":
        return "main-code"
    if _is_stem(text):
        return "stem"
    if _is_parallel(text):
        return "parallel"
    return "main-zh" if lang == "zh" else "main-en"


def _corpus_column(table: pa.Table) -> list[str]:
    return [
        corpus_of(t, lang)
        for t, lang in zip(
            table.column("text").to_pylist(), table.column("lang").to_pylist(), strict=True
        )
    ]


def date_histogram(docs_in: list[Path], out: Path) -> dict[str, dict[str, int]]:
    """Map step: documents per corpus and crawl date over the given doc files of one shard
    (read a record batch at a time)."""
    hist: dict[str, Counter] = defaultdict(Counter)
    for path in docs_in:
        for batch in iter_doc_batches(path, columns=["text", "lang", "crawl_date"]):
            table = pa.Table.from_batches([batch])
            for corpus, day in zip(
                _corpus_column(table), table.column("crawl_date").to_pylist(), strict=True
            ):
                hist[corpus][day or ""] += 1
    result = {c: dict(sorted(h.items())) for c, h in sorted(hist.items())}
    atomic_write_text(out, json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def heldout_cutoffs(histograms: list[Path], out: Path, heldout_fraction: float) -> dict[str, Any]:
    """Reduce step: per corpus, the cutoff (date, tie share) above which documents are held out.

    The newest ``ceil(fraction × n)`` documents (at least 1 when the corpus has ≥ 2 documents) are
    held out. Documents on the cutoff date are held out when the hash of their id falls below
    ``tie_share`` — a deterministic, shard-order-free way to take part of one day.
    """
    total: dict[str, Counter] = defaultdict(Counter)
    for path in histograms:
        for corpus, days in json.loads(Path(path).read_text()).items():
            total[corpus].update(days)
    cutoffs: dict[str, Any] = {}
    for corpus in CORPORA:
        days = total.get(corpus, Counter())
        n = sum(days.values())
        want = 0 if n < 2 else max(1, int(-(-heldout_fraction * n // 1)))
        taken, cutoff, tie_share = 0, None, 0.0
        for day in sorted(days, reverse=True):
            if taken + days[day] >= want:
                cutoff = day
                tie_share = (want - taken) / days[day] if days[day] else 0.0
                break
            taken += days[day]
        cutoffs[corpus] = {
            "docs": n,
            "heldout_target": want,
            "date": cutoff,
            "tie_share": tie_share,
        }
    atomic_write_text(out, json.dumps(cutoffs, indent=1, sort_keys=True) + "\n")
    return cutoffs


def _tie_value(doc_id: str) -> float:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8")) / 2**64


def is_heldout(crawl_date: str | None, doc_id: str, cutoff: Mapping[str, Any]) -> bool:
    """Whether a document falls in its corpus's held-out split."""
    day = cutoff.get("date")
    if day is None or cutoff.get("heldout_target", 0) == 0:
        return False
    crawl_date = crawl_date or ""
    if crawl_date > day:
        return True
    return crawl_date == day and _tie_value(doc_id) < cutoff["tie_share"]


def split_shard(
    docs_in: list[Path],
    cutoffs_file: Path,
    outputs: Mapping[tuple[str, str], Path],
    limits: BatchLimits | None = None,
) -> dict[str, int]:
    """Write one shard's documents into ``outputs[(corpus, split)]`` (every pair gets a file).

    Documents are read and written one record batch at a time (``limits``), so memory does not
    grow with the shard."""
    cutoffs = json.loads(Path(cutoffs_file).read_text())
    with contextlib.ExitStack() as stack:
        writers = {
            key: stack.enter_context(TableWriter(path, CORPUS_SCHEMA, limits))
            for key, path in outputs.items()
        }
        for path in docs_in:
            for batch in iter_doc_batches(path, (limits or BatchLimits()).docs):
                table = pa.Table.from_batches([batch])
                corpora = _corpus_column(table)
                for rec, corpus in zip(table.to_pylist(), corpora, strict=True):
                    heldout = is_heldout(rec["crawl_date"], rec["id"], cutoffs[corpus])
                    text = rec["text"]
                    writers[(corpus, "heldout" if heldout else "train")].write(
                        {
                            "id": rec["id"],
                            "text": text,
                            "url": rec["url"],
                            "lang": rec["lang"],
                            "domain": rec["domain"],
                            "crawl_date": rec["crawl_date"],
                            "corpus": corpus,
                            "num_chars": len(text),
                            "num_bytes": len(text.encode("utf-8")),
                            "num_lines": text.count("\n") + 1,
                            "cjk_share": cjk_share(text),
                        }
                    )
    return {f"{key[0]}/{key[1]}": w.num_rows for key, w in writers.items()}


def text_bytes(table: pa.Table) -> int:
    """UTF-8 bytes of a table's text column."""
    if table.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(table.column("text").cast(pa.binary()))).as_py())
