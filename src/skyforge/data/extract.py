"""Structured extraction: one WARC shard in, a document table and a removal table out.

Every record ends up in exactly one of the two tables, so the funnel's first step adds up to
the shard's record count: non-response records, non-HTML and non-2xx responses, damaged records,
pages that do not decode and pages with no main text are removal rows with a reason
(``REASONS``); the rest are documents with URL, domain, title, main text, crawl date and the
charset the HTML was decoded with.

fastwarc reads the shards (about 5× faster than warcio), resiliparse detects charsets (GBK and
GB2312 read as ``gb18030``) and extracts the main text (or trafilatura). What no library does is
written here: when fastwarc gives up on a damaged per-record-gzip file, the file is re-read one
gzip member or one length-checked record at a time, the damaged region becomes one
``truncated`` or ``corrupt`` row, and reading resumes at the next record that parses.

Reading lives in :mod:`skyforge.data.warc`, decoding and text extraction in
:mod:`skyforge.data.html`; this module is the shard driver and re-exports their public names.

See docs/cleaning.md.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tqdm import tqdm

from skyforge.data import docs
from skyforge.data.crawl import CorruptRecord, iter_records, read_shard_inputs
from skyforge.data.html import DecodeError, decode_html, extract_text, is_html, undo_encodings
from skyforge.data.remote import input_name, input_size, is_url
from skyforge.data.warc import WarcItem, iter_warc, one_line, parse_record

__all__ = [
    "EXTRACTORS",
    "REASONS",
    "DecodeError",
    "WarcItem",
    "decode_html",
    "extract_shard",
    "extract_text",
    "iter_warc",
]

log = logging.getLogger(__name__)

EXTRACTORS = ("resiliparse", "trafilatura")
REASONS = (
    "warcinfo_record",
    "request_record",
    "metadata_record",
    "revisit_record",
    "other_record",  # conversion / continuation / unknown WARC-Type: no page of its own
    "http_status",  # response status outside 2xx (redirects, 404 pages): not the page asked for
    "non_html",
    "truncated",
    "corrupt",
    "decode_error",
    "extract_error",  # the extractor raised on this page
    "empty_text",
)
"""Removal reasons of the ``extract`` step, in the order the funnel lists them."""
_TYPE_REASON = {
    "warcinfo": "warcinfo_record",
    "request": "request_record",
    "metadata": "metadata_record",
    "revisit": "revisit_record",
}
_DOC_TYPES = ("response", "resource")  # resource: a capture without HTTP headers (file://, ftp)


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _crawl_date(value: str | None) -> str | None:
    if not value:
        return None
    m = re.match(r"(\d{4})-?(\d{2})-?(\d{2})", value)  # ISO 8601, or ARC's 14 digits
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


# ---------------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------------


def extract_shard(
    warc_path: Path,
    shard: int,
    out_docs: Path,
    out_removed: Path,
    *,
    extractor: str = "resiliparse",
    min_text_chars: int = 1,
    form_fields: bool = False,
    limits: docs.BatchLimits | None = None,
) -> dict[str, Any]:
    """Extract the main text of every HTML page of one WARC shard.

    Records are read one at a time and both tables are written a row group at a time
    (``limits``), so memory does not grow with the shard.

    Args:
        warc_path: the shard (``.warc.gz``, per-record or whole-file gzip, or plain ``.warc``),
            or its listing ``shard-NNNNN.inputs.json`` (``crawl.reshard: false``): every input
            file it names is read in place, local ``.warc``/``.warc.gz`` by fastwarc, URLs and
            ARC files as streams through :func:`skyforge.data.crawl.iter_records`.
        shard: shard number written into every row.
        out_docs: Parquet file for kept documents (``docs.DOC_SCHEMA``), written atomically.
        out_removed: Parquet file for every other record (``docs.REMOVED_SCHEMA``, step
            ``extract``, a reason from ``REASONS``), written atomically.
        extractor: ``resiliparse`` (fast) or ``trafilatura``.
        min_text_chars: pages whose extracted text has fewer characters are ``empty_text``.
        form_fields: keep the options of ``<select>`` drop-downs, one per line, in
            resiliparse's output instead of dropping them (site-wide archive menus: Index-1.9B
            found one repeated 156,000 times; substring dedup removes it later).
        limits: record-batch limits of the two writers (config section ``stream``).

    Returns:
        Stats: ``records_read`` (= ``docs_kept`` + removals), ``docs_kept``, ``removed``
        (reason → count), ``bytes_in`` (file size), ``payload_bytes_in``, ``bytes_out``
        (UTF-8 bytes of kept text), ``seconds``.

    Raises:
        ValueError: naming the file when ``warc_path`` is missing, or naming the bad argument.
    """
    if extractor not in EXTRACTORS:
        raise ValueError(f"extractor '{extractor}': unknown (known: {', '.join(EXTRACTORS)})")
    if min_text_chars < 1:
        raise ValueError(f"min_text_chars: must be at least 1, got {min_text_chars}")
    warc_path = Path(warc_path)
    if not warc_path.is_file():
        raise ValueError(f"WARC file '{warc_path}': not found (or not a regular file)")
    listing = warc_path.name.endswith(".inputs.json")
    sources = read_shard_inputs(warc_path) if listing else [warc_path]
    for source in sources:
        if not is_url(source) and not Path(source).is_file():
            raise ValueError(
                f"WARC file '{source}' (listed in '{warc_path}'): not found (or not a regular file)"
            )
    started = time.perf_counter()
    payload_in = bytes_out = bytes_in = 0
    reasons: Counter[str] = Counter()
    with (
        docs.doc_writer(out_docs, limits) as kept,
        docs.removed_writer(out_removed, limits) as removed,
    ):
        for k, source in enumerate(sources):
            prefix = f"{shard}:{k}" if listing else f"{shard}"
            p_in, b_out, why = _extract_records(
                source, prefix, shard, kept, removed, extractor, min_text_chars, form_fields
            )
            payload_in, bytes_out = payload_in + p_in, bytes_out + b_out
            reasons.update(why)
            bytes_in += (input_size(source) or 0) if is_url(source) else Path(source).stat().st_size
    stats = {
        "warc": str(warc_path),
        "shard": shard,
        "extractor": extractor,
        "records_read": kept.num_rows + removed.num_rows,
        "docs_kept": kept.num_rows,
        "removed": {r: reasons[r] for r in REASONS if reasons[r]},
        "inputs": len(sources),
        "bytes_in": bytes_in,
        "payload_bytes_in": payload_in,
        "bytes_out": bytes_out,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info(
        "extract %s: %d records, %d documents kept, removed %s",
        warc_path.name,
        stats["records_read"],
        stats["docs_kept"],
        stats["removed"],
    )
    return stats


def _items(source: Path | str) -> Iterator[WarcItem]:
    """The records of one input: fastwarc for a local WARC; for a URL or an ARC file, the
    streaming reader of the crawl step (resumes a dropped connection; ARC records become WARC
    ones), each record re-parsed by fastwarc so that both paths yield the same items."""
    if not is_url(source) and not str(source).endswith((".arc", ".arc.gz")):
        yield from iter_warc(source)
        return
    for rec in iter_records(source):
        if isinstance(rec, CorruptRecord):
            log.warning("%s", rec.describe())
            kind = "truncated" if rec.kind == "truncated" else "corrupt"
            yield WarcItem(rec.offset, damage=kind, error=rec.error)
        else:
            yield parse_record(rec.to_bytes(), rec.offset)


def _extract_records(
    warc_path: Path | str,
    prefix: str,
    shard: int,
    kept: docs.TableWriter,
    removed: docs.TableWriter,
    extractor: str,
    min_text_chars: int,
    form_fields: bool,
) -> tuple[int, int, Counter[str]]:
    """Every record of one WARC file to ``kept`` or ``removed``; return payload bytes read,
    text bytes kept and removals per reason. A record without a ``WARC-Record-ID`` gets the id
    ``<prefix>:<offset>``."""
    reasons: Counter[str] = Counter()
    payload_in = bytes_out = 0

    def remove(item: WarcItem, reason: str, nbytes: int) -> None:
        removed.write(
            {
                "id": item.record_id or f"{prefix}:{item.offset}",
                "url": item.url,
                "step": "extract",
                "reason": reason,
                "bytes": nbytes,
                "shard": shard,
            }
        )
        reasons[reason] += 1

    name = input_name(warc_path)
    bar = tqdm(_items(warc_path), desc=f"extract {name}", unit="rec", mininterval=1.0)
    for item in bar:
        size = len(item.payload)
        payload_in += size
        if item.damage:
            remove(item, item.damage, size)
            continue
        if item.rec_type not in _DOC_TYPES:
            remove(item, _TYPE_REASON.get(item.rec_type, "other_record"), size)
            continue
        if item.status is not None and not 200 <= item.status < 300:
            remove(item, "http_status", size)
            continue
        try:
            body = undo_encodings(item)
        except DecodeError as exc:
            log.info("WARC file '%s': record at offset %d: %s", warc_path, item.offset, exc)
            remove(item, "decode_error", size)
            continue
        if not is_html(item, body):
            remove(item, "non_html", size)
            continue
        try:
            html, encoding = decode_html(body, item.charset)
        except DecodeError as exc:
            log.info("WARC file '%s': record at offset %d: %s", warc_path, item.offset, exc)
            remove(item, "decode_error", size)
            continue
        try:
            text, title = extract_text(html, extractor, form_fields)
        except Exception as exc:  # noqa: BLE001 - one bad page must not stop the shard
            log.warning(
                "WARC file '%s': record at offset %d: %s failed: %s",
                warc_path,
                item.offset,
                extractor,
                one_line(exc),
            )
            remove(item, "extract_error", size)
            continue
        if len(text) < min_text_chars:
            remove(item, "empty_text", size)
            continue
        bytes_out += len(text.encode("utf-8"))
        kept.write(
            {
                "id": item.record_id or f"{prefix}:{item.offset}",
                "url": item.url,
                "domain": _domain(item.url),
                "title": title,
                "text": text,
                "crawl_date": _crawl_date(item.date),
                "encoding": encoding,
                "lang": None,
                "lang_score": None,
                "shard": shard,
            }
        )
    bar.close()
    return payload_in, bytes_out, reasons
