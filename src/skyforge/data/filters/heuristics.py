"""Distribution and heuristic filters: URL blocklists, language ID, line cleanup, document rules.

One shard of extracted documents goes through, in order: the URL filter (domain blocklists and
URL patterns), mojibake repair (:mod:`skyforge.data.filters.encoding`, before language ID reads
the text), language ID (a line-based code detector, then py3langid or fastText lid.176), C4-style
line cleanup (edits text, removes nothing), Gopher and C4 document rules with Chinese-aware
versions with the content-farm rules (:mod:`skyforge.data.filters.farm`), and the content rules
(:mod:`skyforge.data.filters.harmful`). Each removal is a row with its step and reason.

Chinese has no spaces, so a Chinese "word" is one CJK ideograph, length rules have their own
Chinese thresholds and the stop-word rule uses Chinese function characters; code keeps only
the length and repetition rules. datatrove's filters are the reference for the English rules,
but they are 3× slower per core here and know neither Chinese function words nor code; the
papers' thresholds are the schema's ``filters`` defaults.

The filters live in ``text``, ``url``, ``language``, ``lines``, ``rules`` and ``params`` beside
this module, which runs them on one shard and re-exports their public names.

See docs/cleaning.md.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from skyforge.config import EncodingConfig, FiltersConfig, HarmfulConfig
from skyforge.data.docs import (
    BatchLimits,
    TableWriter,
    count_rows,
    doc_writer,
    iter_doc_rows,
    removed_writer,
)
from skyforge.data.filters.encoding import MojibakeRepair
from skyforge.data.filters.farm import ContentFarmRules
from skyforge.data.filters.harmful import HarmfulRules
from skyforge.data.filters.language import LanguageFilter, code_score
from skyforge.data.filters.lines import LineCleaner
from skyforge.data.filters.params import check_filters
from skyforge.data.filters.rules import HeuristicFilter, TextStats
from skyforge.data.filters.text import (
    EN_STOP_WORDS,
    ZH_STOP_WORDS,
    ZH_VARIETIES,
    DocFilter,
    tokenize_words,
)
from skyforge.data.filters.url import UrlFilter

__all__ = [
    "DocFilter",
    "UrlFilter",
    "LanguageFilter",
    "HeuristicFilter",
    "ContentFarmRules",
    "LineCleaner",
    "TextStats",
    "code_score",
    "tokenize_words",
    "filter_shard",
    "EN_STOP_WORDS",
    "ZH_STOP_WORDS",
    "ZH_VARIETIES",
    "FLAGGED_SCHEMA",
    "REPAIRED_SCHEMA",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# One shard
# ---------------------------------------------------------------------------------------------

FLAGGED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("reason", pa.string(), nullable=False),  # harmful:<category> / spam:<kind>
        pa.field("confidence", pa.float32()),  # times the thresholds (>= 1)
        pa.field("text", pa.string(), nullable=False),
        pa.field("shard", pa.int32()),
    ]
)
"""Documents the content rules removed, with their text (the classifier's positives)."""

REPAIRED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("codecs", pa.string()),  # repaired:gbk, repaired:cp1252 (comma-separated)
        pa.field("num_lines_repaired", pa.int32()),
        pa.field("num_lines_dropped", pa.int32()),
        pa.field("shard", pa.int32()),
    ]
)
"""Documents whose mojibake was repaired (kept, with the repaired text)."""


class _Discard:
    """Stands in for an output table the caller did not ask for."""

    num_rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self.num_rows += 1


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def filter_shard(
    docs_in: Path,
    shard: int,
    out_docs: Path,
    out_removed: Path,
    params: FiltersConfig,
    *,
    encoding: EncodingConfig | None = None,
    harmful: HarmfulConfig | None = None,
    out_flagged: Path | None = None,
    out_repaired: Path | None = None,
    limits: BatchLimits | None = None,
) -> dict[str, Any]:
    """Run URL filter, mojibake check, language ID, line cleanup, heuristic and content rules.

    The shard is read and every table written one record batch at a time (``limits``), so
    memory does not grow with the shard.

    Args:
        docs_in: extracted documents of the shard (``docs.DOC_SCHEMA``).
        shard: shard index, written into every output row.
        out_docs: kept documents, with ``lang`` / ``lang_score`` set and cleaned text.
        out_removed: one row per removed document (step url_filter, encoding, language,
            heuristic or harmful).
        params: thresholds and lists (the ``filters`` section).
        encoding: the mojibake check (``skyforge.data.filters.encoding``); None skips it.
        harmful: the harmful / spam content rules (``skyforge.data.filters.harmful``); None
            skips them.
        out_flagged: the text of every document the content rules remove, with its reason and
            confidence (``FLAGGED_SCHEMA``: the classifier's positives, and for audits).
        out_repaired: one row per document whose encoding damage was repaired
            (``REPAIRED_SCHEMA``).
        limits: record-batch limits (config section ``stream``).

    Returns:
        Statistics: documents and bytes in / kept / removed, removals per step and per
        ``step/reason``, lines dropped by the cleanup per reason, mojibake lines repaired or
        dropped, seconds and docs/s.

    Raises:
        ValueError: a blocklist entry that is neither a packaged list nor a file, or a missing
            fastText model.
    """
    started = time.perf_counter()
    check_filters(params)
    url_filter = UrlFilter(params.blocklists, params.url_patterns)
    lang_filter = LanguageFilter(
        params.keep_langs,
        params.min_lang_score,
        params.min_code_score,
        params.fasttext_model_path,
        params.lang_id_max_chars,
        params.lang_id_min_chars,
    )
    cleaner = LineCleaner(params.max_boilerplate_line_words) if params.clean_lines else None
    heuristic = HeuristicFilter(params)
    farm = ContentFarmRules(params) if params.farm_rules else None
    mojibake = MojibakeRepair(encoding) if encoding is not None and encoding.enabled else None
    rules = HarmfulRules(harmful) if harmful is not None and harmful.enabled else None
    encoding_lines: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    by_step: Counter[str] = Counter()
    langs_kept: Counter[str] = Counter()
    lines_dropped: Counter[str] = Counter()
    bytes_in = bytes_out = bytes_cleaned = bytes_removed = num_in = 0
    with contextlib.ExitStack() as stack:
        kept = stack.enter_context(doc_writer(out_docs, limits))
        removed = stack.enter_context(removed_writer(out_removed, limits))
        flagged = (
            stack.enter_context(TableWriter(out_flagged, FLAGGED_SCHEMA, limits))
            if out_flagged is not None
            else _Discard()
        )
        repaired = (
            stack.enter_context(TableWriter(out_repaired, REPAIRED_SCHEMA, limits))
            if out_repaired is not None
            else _Discard()
        )
        rows = tqdm(
            iter_doc_rows(docs_in, limits),
            total=count_rows(docs_in),
            desc=f"filter shard {shard}",
            unit="doc",
            mininterval=5.0,
        )
        for doc in rows:
            num_in += 1
            text = doc["text"] or ""
            size = _utf8_len(text)
            bytes_in += size
            step = why = None
            why = url_filter.reason(doc)
            if why is not None:
                step = url_filter.step
            elif mojibake is not None:
                fixed, why, counts = mojibake.check(text)
                encoding_lines.update(counts)
                if why is not None:
                    step = mojibake.step
                elif counts:
                    doc["text"] = fixed
                num_fixed = sum(v for k, v in counts.items() if k != "damaged")
                if why is None and num_fixed:
                    repaired.write(
                        {
                            "id": doc["id"],
                            "url": doc.get("url"),
                            "codecs": ",".join(sorted(k for k in counts if k != "damaged")),
                            "num_lines_repaired": num_fixed,
                            "num_lines_dropped": counts["damaged"],
                            "shard": shard,
                        }
                    )
            if step is None:
                why = lang_filter.reason(doc)
                step = lang_filter.step if why is not None else None
            if step is None:
                if cleaner is not None and doc["lang"] != "code":
                    # Code keeps every line: its braces and comments would read as junk lines.
                    cleaned, dropped = cleaner.clean(doc["text"])
                    lines_dropped.update(dropped)
                    doc["text"] = cleaned
                why = heuristic.reason(doc)
                if why is None and farm is not None:
                    why = farm.reason(doc)
                step = heuristic.step if why is not None else None
                if step is None and doc["lang"] not in lang_filter.keep:
                    # Language ID passed it as too short to judge, and the length rules were set
                    # low enough to keep it: its best-guess language still decides.
                    step, why = lang_filter.step, f"lang:{doc['lang']}"
                if step is None and rules is not None:
                    verdict = rules.judge(doc["text"], doc["lang"])
                    if verdict.reason is not None:
                        step, why = rules.step, verdict.reason
                        flagged.write(
                            {
                                "id": doc["id"],
                                "url": doc.get("url"),
                                "lang": doc["lang"],
                                "reason": why,
                                "confidence": verdict.confidence,
                                "text": doc["text"],
                                "shard": shard,
                            }
                        )
            if step is not None:
                removed.write(
                    {
                        "id": doc["id"],
                        "url": doc.get("url"),
                        "step": step,
                        "reason": why,
                        "bytes": size,
                        "shard": shard,
                    }
                )
                by_reason[f"{step}/{why}"] += 1
                by_step[step] += 1
                bytes_removed += size
            else:
                doc["shard"] = shard
                out_size = _utf8_len(doc["text"])
                bytes_out += out_size
                bytes_cleaned += size - out_size
                langs_kept[doc["lang"]] += 1
                kept.write(doc)

    seconds = time.perf_counter() - started
    run_steps = ["url_filter", "encoding", "language", "heuristic", "harmful"]
    run_steps = [
        s
        for s in run_steps
        if (s != "encoding" or mojibake is not None) and (s != "harmful" or rules is not None)
    ]
    stats = {
        "shard": shard,
        "num_docs_in": num_in,
        "num_kept": kept.num_rows,
        "num_removed": removed.num_rows,
        "removed_per_step": {s: by_step.get(s, 0) for s in run_steps},
        "num_repaired": repaired.num_rows,
        "encoding_lines": dict(sorted(encoding_lines.items())),
        "removed_per_reason": dict(sorted(by_reason.items())),
        "lines_dropped": dict(sorted(lines_dropped.items())),
        "bytes_in": bytes_in,
        "bytes_kept": bytes_out,
        "bytes_removed_docs": bytes_removed,
        "bytes_removed_lines": bytes_cleaned,
        "langs_kept": dict(sorted(langs_kept.items())),
        "seconds": round(seconds, 3),
        "docs_per_s": round(num_in / seconds, 1) if seconds > 0 else None,
    }
    assert stats["num_kept"] + stats["num_removed"] == stats["num_docs_in"]
    log.info("filter shard %d: kept %d of %d documents", shard, kept.num_rows, num_in)
    return stats
