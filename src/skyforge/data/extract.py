"""Structured extraction: one WARC shard in, a document table and a removal table out.

Every record of the shard ends up in exactly one of the two tables (``docs.write_docs`` /
``docs.write_removed``), so the funnel's first step adds up to the shard's record count:
warcinfo, request, metadata and revisit records, non-HTML and non-2xx responses, damaged records,
pages that do not decode and pages with no main text are removal rows with a reason
(``REASONS``); the rest are documents with URL, domain, title, main text, crawl date and the
charset the HTML was decoded with.

Which libraries do what, and what is written here:

* **Reading** — fastwarc (C++) parses WARC ~5× faster than warcio (measured on a 3,000-page
  synthetic shard: 0.16 s vs 0.8-1.0 s to read every record, against 0.64 s for resiliparse's
  extraction of the same pages), so it reads every shard, whole-file-gzipped ones included. But
  fastwarc streams a per-record-gzip file as one concatenated stream: a record whose gzip member
  was cut short (the synthetic crawl's truncated record, a damaged download) silently swallows
  the start of the next record, fastwarc returns it as a complete record, then raises "Invalid
  WARC header", and its iterator cannot go on. warcio copes with a cut gzip member but loses
  the rest of an uncompressed file after a cut record, and of any file after a broken gzip
  member (checked with ``crawl.iter_records``). Neither resynchronises, so the recovery path
  here does: after fastwarc fails, the file is re-read from the last record not yet accepted,
  one gzip member (or, uncompressed, one ``Content-Length``-checked record) at a time, each good
  record still parsed by fastwarc; a damaged region becomes one removal row (``truncated`` or
  ``corrupt``, logged with file, offset and error) and reading resumes at the next gzip member
  or WARC header that parses. This splitting and resync is what no library offers; it only runs
  on files fastwarc gave up on.
* **Decoding** — charset from the HTTP ``Content-Type``, else resiliparse's ``detect_encoding``
  (``<meta charset>`` / ``http-equiv`` in the first 1,024 bytes, else uchardet), names mapped by
  resiliparse to the WHATWG set; GBK and GB2312 labels are read with Python's ``gb18030`` codec
  (a superset: real "GB2312" pages use GBK characters). Transfer- and content-encodings
  (chunked, gzip, deflate, br) are undone with fastwarc's stream readers and zlib.
* **Extraction** — resiliparse's ``extract_plain_text(main_content=True)`` (default) or
  trafilatura; the title comes from ``<title>``. Both drop ``<select>`` drop-downs by default
  (``form_fields=True`` keeps their options, one per line, for resiliparse; see
  ``extract_shard``).

Records that carry ``WARC-Truncated`` (a crawler cut a long payload on purpose, e.g. Common
Crawl at 1 MiB) are complete WARC records and are extracted like any other; only records whose
bytes are missing are ``truncated``. ARC files are not read here: ``crawl.shard_warcs`` converts
a real crawl to WARC shards first (an ARC file given directly comes out as one ``corrupt`` row).
"""

from __future__ import annotations

import io
import logging
import mmap
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastwarc.stream_io import BrotliReader, ChunkedReader, GzipReader
from fastwarc.warc import ArchiveIterator, WarcRecord
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree
from tqdm import tqdm

from skyforge.data import docs

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
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"})
_GZIP_MAGIC = b"\x1f\x8b\x08"
# WHATWG MIME sniffing: an HTML resource starts (after whitespace) with one of these tags.
_HTML_SNIFF = re.compile(
    rb"[\t\n\x0c\r ]*(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*"
    rb"(?:<!DOCTYPE HTML|<HTML|<HEAD|<SCRIPT|<IFRAME|<H1|<DIV|<FONT|<TABLE|<A|<STYLE|<TITLE|<B"
    rb"|<BODY|<BR|<P|<!--)[ >]",
    re.IGNORECASE,
)
_WARC_LINE = re.compile(rb"WARC/1\.[01]\r?\n")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MAX_HEADER = 64 << 10  # a WARC header block longer than this is not a header (fastwarc: 32 KiB)
_ERR_CHARS = 200  # keep each log line readable when a parser quotes binary garbage
_MAX_REPLACED = 0.01  # share of undecodable characters above which a page is a decode_error
_UNZIP_CHUNK = 1 << 16
_SINGLE_BYTE = frozenset({"cp1252", "windows-1252", "iso-8859-1", "latin-1", "ascii"})


@dataclass(slots=True)
class WarcItem:
    """One record as read (or one damaged region when ``damage`` is set)."""

    offset: int
    """Byte offset of the record in the file (of its gzip member for ``.gz``)."""
    rec_type: str = ""
    record_id: str | None = None
    url: str | None = None
    date: str | None = None
    """``WARC-Date`` as written."""
    status: int | None = None
    """HTTP status; None for records without HTTP headers."""
    content_type: str | None = None
    """MIME type of the payload (HTTP ``Content-Type``, else the WARC one), lower case."""
    charset: str | None = None
    """``charset=`` of the HTTP ``Content-Type``."""
    transfer_encoding: str | None = None
    content_encoding: str | None = None
    payload: bytes = b""
    """Payload as stored: after the HTTP headers, before any transfer/content decoding."""
    damage: str | None = None
    """``truncated`` or ``corrupt`` for a record (or region) that could not be read."""
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Reading: fastwarc, with a member-by-member recovery path after damage
# ---------------------------------------------------------------------------------------------


def _one_line(text: object) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= _ERR_CHARS else text[: _ERR_CHARS - 3] + "..."


def _header(headers: Any, key: str) -> str | None:
    value = headers.get(key) if headers is not None else None
    return value.strip() if value else None


def _from_fastwarc(rec: WarcRecord, offset: int) -> WarcItem:
    """Convert a fastwarc record (parsed with ``parse_http=True``) and read its payload."""
    item = WarcItem(offset=offset, rec_type=str(rec.record_type), record_id=rec.record_id)
    item.url = _header(rec.headers, "WARC-Target-URI")
    if item.url and item.url.startswith("<") and item.url.endswith(">"):
        item.url = item.url[1:-1]  # wget 1.19-1.21 writes the URI in angle brackets
    item.date = _header(rec.headers, "WARC-Date")
    http = rec.http_headers if rec.is_http else None
    if http is not None:
        item.status = http.status_code
        ctype = _header(http, "Content-Type")
        item.transfer_encoding = (_header(http, "Transfer-Encoding") or "").lower() or None
        item.content_encoding = (_header(http, "Content-Encoding") or "").lower() or None
    else:
        ctype = _header(rec.headers, "Content-Type")
    if ctype:
        mime, _, params = ctype.partition(";")
        item.content_type = mime.strip().lower() or None
        m = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
        item.charset = m.group(1) if m else None
    item.payload = rec.reader.read()
    if len(item.payload) < rec.content_length:
        item.damage = "truncated"
        item.error = (
            f"truncated: Content-Length says {rec.content_length} payload bytes, "
            f"only {len(item.payload)} present"
        )
    return item


def _parse_one(raw: bytes, offset: int) -> WarcItem:
    """Parse one complete record's bytes with fastwarc (recovery path)."""
    try:
        it = ArchiveIterator(
            io.BytesIO(raw), parse_http=True, stream_detect=False, fsspec_args=False
        )
        rec = next(iter(it), None)
        if rec is None:
            return WarcItem(offset, damage="corrupt", error="no WARC record in these bytes")
        return _from_fastwarc(rec, offset)
    except Exception as exc:  # noqa: BLE001 - fastwarc raises OSError/ValueError on bad headers
        return WarcItem(offset, damage="corrupt", error=_one_line(f"{type(exc).__name__}: {exc}"))


def _salvage_ids(item: WarcItem, head: bytes) -> WarcItem:
    """Fill id and URL of a damaged record from whatever of its header is readable."""
    for key, attr in ((rb"WARC-Record-ID", "record_id"), (rb"WARC-Target-URI", "url")):
        m = re.search(rb"(?im)^" + key + rb":[ \t]*(\S+)", head[:_MAX_HEADER])
        if m and getattr(item, attr) is None:
            value = m.group(1).decode("utf-8", "replace")
            if attr == "url":
                value = value.strip("<>")
            setattr(item, attr, value)
    return item


def _split_plain(buf: Any, pos: int, end: int, base: int | None) -> Iterator[WarcItem]:
    """``_split_records``, with each run of damaged items merged into its first one.

    Deflate data damaged mid-member decompresses into garbage that still quotes earlier
    headers (back-references), so one damaged region can show many "record headers"; it is one
    removal row, not one per phantom header.
    """
    run: WarcItem | None = None
    extra = 0
    for item in _split_records(buf, pos, end, base):
        if item.damage is None:
            if run is not None:
                yield _merged(run, extra)
                run = None
            yield item
        elif run is None:
            run, extra = item, 0
        else:
            extra += 1
            run.payload += item.payload
    if run is not None:
        yield _merged(run, extra)


def _merged(item: WarcItem, extra: int) -> WarcItem:
    if extra:
        item.error = f"{item.error} (and {extra} more unreadable record headers after it)"
    return item


def _split_records(buf: Any, pos: int, end: int, base: int | None) -> Iterator[WarcItem]:
    """Cut uncompressed WARC bytes ``buf[pos:end]`` into records, checking every length.

    Args:
        buf: bytes or an mmap.
        pos: where to start.
        end: where the data ends.
        base: offset to report for every record (the gzip member's) or None to report each
            record's own position in ``buf``.

    Yields:
        Good records parsed by fastwarc; a ``truncated`` item for a record whose
        ``Content-Length`` runs past the data or into the next record, a ``corrupt`` item for
        bytes that are no record; after damage, reading resumes at the next ``WARC/1.`` line.
    """
    while True:
        while pos < end and buf[pos : pos + 1] in (b"\r", b"\n", b" ", b"\t"):
            pos += 1  # blank lines between records
        if pos >= end:
            return
        at = pos if base is None else base
        head_m = _HEADER_END.search(buf, pos, min(end, pos + _MAX_HEADER))
        start_m = _WARC_LINE.match(buf, pos)
        length = None
        if start_m and head_m:
            head = bytes(buf[pos : head_m.end()])
            m = re.search(rb"(?im)^Content-Length:[ \t]*(\d+)[ \t]*\r?$", head)
            length = int(m.group(1)) if m else None
        if length is None:
            problem = (
                "no WARC header here"
                if not start_m
                else "WARC header without a Content-Length or without its blank line"
            )
            nxt = _resync(buf, pos + 1, end)
            item = WarcItem(at, damage="corrupt", error=problem, payload=bytes(buf[pos:nxt]))
            yield _salvage_ids(item, bytes(buf[pos : min(nxt, pos + _MAX_HEADER)]))
            pos = nxt
            continue
        block_end = head_m.end() + length
        if block_end <= end and _ends_record(buf, block_end, end):
            yield _parse_one(bytes(buf[pos:block_end]) + b"\r\n\r\n", at)
            pos = block_end
            continue
        # The declared length runs past the data, or does not end where a record ends: the
        # record was cut short and its "block" holds the start of the next record.
        nxt = _resync(buf, head_m.end(), end)
        item = WarcItem(at, damage="truncated", payload=bytes(buf[head_m.end() : nxt]))
        item.error = (
            f"truncated: Content-Length {length} but only {len(item.payload)} bytes before "
            + ("the end of the data" if nxt >= end else "the next record")
        )
        yield _salvage_ids(item, head)
        pos = nxt


def _ends_record(buf: Any, block_end: int, end: int) -> bool:
    """True when a record's block ending at ``block_end`` is followed by what ends a record."""
    rest = bytes(buf[block_end : min(end, block_end + 4)])
    if rest.startswith((b"\r\n\r\n", b"\n\n")):
        return True
    # The last record of a file may lack the closing blank lines (a writer that was stopped).
    return block_end + len(rest) >= end and not rest.strip()


def _resync(buf: Any, pos: int, end: int) -> int:
    """Position of the next WARC record header at or after ``pos`` (``end`` when none).

    A record cut short is directly followed by the next one, so a header need not start a line;
    a candidate counts when its header block names a ``WARC-Type``.
    """
    while pos < end:
        i = buf.find(b"WARC/1.", pos, end)
        if i < 0:
            return end
        if _WARC_LINE.match(buf, i):
            head_m = _HEADER_END.search(buf, i, min(end, i + _MAX_HEADER))
            if head_m and re.search(rb"(?im)^WARC-Type:", bytes(buf[i : head_m.end()])):
                return i
        pos = i + 1
    return end


def _gunzip_member(buf: Any, pos: int, end: int) -> tuple[bytes, int, str | None]:
    """Decompress the gzip member at ``pos``.

    Returns:
        (decompressed bytes, offset after the member, error or None). On error the bytes are
        what could be decompressed before it.
    """
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    at = pos
    try:
        while at < end:
            chunk = buf[at : min(end, at + _UNZIP_CHUNK)]
            out.append(d.decompress(chunk))
            if d.eof:
                return b"".join(out), at + len(chunk) - len(d.unused_data), None
            at += len(chunk)
        out.append(d.flush())
        return b"".join(out), end, "gzip member cut short (file ends inside it)"
    except zlib.error as exc:
        return b"".join(out), at, f"gzip member broken: {exc}"


def _next_member(buf: Any, pos: int, end: int) -> int:
    """Offset of the next gzip member at or after ``pos`` that starts a WARC record."""
    while pos < end:
        i = buf.find(_GZIP_MAGIC, pos, end)
        if i < 0:
            return end
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            if d.decompress(buf[i : min(end, i + 512)], 16).startswith(b"WARC/"):
                return i
        except zlib.error:
            pass  # gzip magic bytes inside compressed data, not a member start
        pos = i + 1
    return end


def _careful(path: Path, start: int, skip: int) -> Iterator[WarcItem]:
    """Read ``path`` from ``start`` one gzip member / one checked record at a time.

    Args:
        path: the WARC file.
        start: offset to start at (a record's, or a gzip member's).
        skip: number of good records to drop first (already yielded by the fast path; used when
            offsets inside the file are not record offsets, i.e. a whole-file gzip).
    """
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            yield from _skip(_careful_buf(path, buf, start, size), skip)


def _skip(items: Iterator[WarcItem], skip: int) -> Iterator[WarcItem]:
    for item in items:
        if skip > 0 and item.damage is None:
            skip -= 1
            continue
        yield item


def _careful_buf(path: Path, buf: Any, pos: int, end: int) -> Iterator[WarcItem]:
    while pos < end:
        if buf[pos : pos + 3] != _GZIP_MAGIC:
            # Uncompressed data: plain records up to the next gzip member (if any follows).
            nxt = _next_member(buf, pos, end)
            yield from _split_plain(buf, pos, nxt, None)
            pos = nxt
            continue
        data, after, err = _gunzip_member(buf, pos, end)
        if err is None:
            yield from _split_plain(data, 0, len(data), pos)
            pos = after
            continue
        # A broken member: the records in it that decompressed whole are kept (deflate data
        # before the damage is intact); one cut by the damage is truncated (``_split_plain``
        # sees its length run past the data); a member with nothing readable is one truncated
        # row. Reading resumes at the next member that starts a WARC record.
        items = list(_split_plain(data, 0, len(data), pos)) if data.strip() else []
        if not items:
            items = [_salvage_ids(WarcItem(pos, damage="truncated", payload=data), data)]
        if items[-1].damage is None:
            log.warning(
                "WARC file '%s': gzip member at offset %d: %s (its %d records before the damage "
                "decompressed whole and are kept)",
                path,
                pos,
                err,
                len(items),
            )
        else:
            items[-1].damage = "truncated"
            items[-1].error = f"{err}; {items[-1].error}" if items[-1].error else err
        yield from items
        pos = _next_member(buf, pos + 1, end)


def _first_member_is_one_record(path: Path) -> bool:
    """False when the file is gzipped as one member for many records (offsets are useless)."""
    with open(path, "rb") as fh:
        head = fh.read(_UNZIP_CHUNK)
    if not head.startswith(_GZIP_MAGIC):
        return True
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(head, 4 * _UNZIP_CHUNK)
    except zlib.error:
        return True
    if d.eof:
        return True
    # The member goes on: fine if it is one big record, not if a second record starts in it.
    return _resync(out, 1, len(out)) >= len(out)


def iter_warc(path: str | Path) -> Iterator[WarcItem]:
    """Read every record of one WARC file (per-record gzip, whole-file gzip or plain).

    Never raises for damaged content: problems come out as items with ``damage`` set, in file
    order among the good records, and are logged (file, offset, error).

    Args:
        path: the WARC file.

    Yields:
        One ``WarcItem`` per record, or per damaged region.

    Raises:
        ValueError: naming the file when it does not exist or is no regular file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"WARC file '{path}': not found (or not a regular file)")
    for item in _iter_warc(path):
        if item.damage:
            log.warning("WARC file '%s': record at offset %d: %s", path, item.offset, item.error)
        yield item


def _iter_warc(path: Path) -> Iterator[WarcItem]:
    if path.stat().st_size == 0:
        return
    # One record held back until the next one parses: a record cut short mid-file looks whole to
    # fastwarc (it reads on into the next member) and only the record after it fails.
    held: WarcItem | None = None
    done = 0
    last_pos = -1
    offsets_ok = _first_member_is_one_record(path)
    try:
        for rec in ArchiveIterator(str(path), parse_http=True, fsspec_args=False):
            pos = rec.stream_pos
            if pos <= last_pos:
                offsets_ok = False  # several records in one gzip member
            last_pos = pos
            item = _from_fastwarc(rec, pos)
            if held is not None:
                yield held
                done += 1
            held = item
    except Exception as exc:  # noqa: BLE001 - fastwarc raises OSError/ValueError on damage
        log.info(
            "WARC file '%s': fastwarc stopped (%s); re-reading from offset %d record by record",
            path,
            _one_line(exc),
            held.offset if held and offsets_ok else 0,
        )
        if offsets_ok:
            yield from _careful(path, held.offset if held else 0, 0)
        else:
            yield from _careful(path, 0, done)
        return
    if held is not None:
        yield held


# ---------------------------------------------------------------------------------------------
# Decoding and extraction
# ---------------------------------------------------------------------------------------------


class DecodeError(ValueError):
    """A payload that cannot be turned into text (bad content-encoding, undecodable bytes)."""


def _undo_encodings(item: WarcItem) -> bytes:
    """The payload with transfer- and content-encodings removed."""
    data = item.payload
    try:
        if item.transfer_encoding and "chunked" in item.transfer_encoding:
            data = ChunkedReader(io.BytesIO(data)).read()
        for enc in reversed([e.strip() for e in (item.content_encoding or "").split(",")]):
            if enc in ("gzip", "x-gzip"):
                data = GzipReader(io.BytesIO(data)).read()
            elif enc == "deflate":
                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    data = zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as IIS sends
            elif enc == "br":
                data = BrotliReader(io.BytesIO(data)).read()
            elif enc not in ("", "identity", "none"):
                raise DecodeError(f"unsupported Content-Encoding {enc!r}")
    except (OSError, zlib.error, ValueError) as exc:
        raise DecodeError(f"cannot undo encoding: {_one_line(exc)}") from None
    return data


def _codec(label: str | None) -> str | None:
    """Python codec for a charset label (WHATWG names; GBK family read as gb18030)."""
    if not label:
        return None
    name = map_encoding_to_html5(label.strip().strip("\"'"), fallback_utf8=False)
    if name in ("gbk", "gb2312"):
        return "gb18030"
    return name


def _candidates(body: bytes, http_charset: str | None) -> Iterator[str]:
    enc = _codec(http_charset)
    if enc:
        yield enc
    enc = _codec(detect_encoding(body, from_html_meta=True))
    if enc:
        yield enc
    yield "utf-8"


def decode_html(body: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Decode an HTML payload the way ``extract_shard`` does.

    Args:
        body: the payload, transfer- and content-encodings already undone.
        http_charset: ``charset=`` of the HTTP ``Content-Type``, if any.

    Returns:
        (text, Python codec used).

    Raises:
        DecodeError: more than 1 % of the characters do not decode with any candidate charset.
    """
    for bom, enc in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(enc, "replace"), enc
    # Candidates in the order browsers trust them; detection (uchardet, ~20 µs a page) only
    # runs when the HTTP header names no charset or its charset does not fit the bytes.
    tried: list[str] = []
    for enc in _candidates(body, http_charset):
        if enc in tried:
            continue
        tried.append(enc)
        if enc in _SINGLE_BYTE or enc.startswith(("cp125", "iso-8859")):
            # A single-byte label decodes anything; valid multi-byte UTF-8 is almost never
            # legacy text by accident, and "iso-8859-1" is the most common mislabel of UTF-8.
            try:
                return body.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                pass
        try:
            return body.decode(enc), enc
        except UnicodeDecodeError:
            continue
    first = tried[0]
    text = body.decode(first, "replace")
    bad = text.count("\ufffd")
    if bad > _MAX_REPLACED * max(1, len(text)):
        raise DecodeError(f"{bad} of {len(text)} characters do not decode as {first}")
    return text, first


def _is_html(item: WarcItem, body: bytes) -> bool:
    if item.content_type:
        return item.content_type in _HTML_TYPES
    # No Content-Type: sniff as browsers do. resiliparse's detect_mime (libmagic-style) only
    # knows pages that start with <!DOCTYPE html>, so the WHATWG list of HTML openings is used.
    return _HTML_SNIFF.match(body, 0, 1024) is not None


def extract_text(
    html: str, extractor: str = "resiliparse", form_fields: bool = False
) -> tuple[str, str | None]:
    """Main text (stripped) and ``<title>`` (None when absent) of one decoded page.

    Args:
        html: the page.
        extractor: ``resiliparse`` or ``trafilatura``.
        form_fields: keep the options of ``<select>`` drop-downs, one per line (resiliparse
            only; other form fields are dropped either way).
    """
    tree = HTMLTree.parse(html)
    title = tree.title.strip() if tree.title else None
    if extractor == "resiliparse":
        # comments=False: reader comments are not the page's text (and trafilatura is asked
        # the same); on the trafilatura gold set it lifts precision 0.76 → 0.80, recall equal.
        if form_fields:
            _options_as_lines(tree)
        text = extract_plain_text(tree, main_content=True, comments=False)
    else:
        import trafilatura  # imported here: 1 s to import, only needed when asked for

        # favor_precision: F1 0.943 → 0.950 on the gold set and ~30 % faster. Not
        # deduplicate=True (datatrove's choice): its cache spans documents, so a page's text
        # would depend on which pages came before it.
        text = trafilatura.extract(html, include_comments=False, favor_precision=True) or ""
    return text.strip(), title or None


def _options_as_lines(tree: HTMLTree) -> None:
    """Replace each ``<select>`` by one block per ``<option>``, so its text reads one per line.

    resiliparse's own ``form_fields=True`` runs the options together ("December 2023November
    2023…") and also keeps every other form field.
    """
    for select in tree.body.query_selector_all("select") if tree.body else []:
        block = tree.create_element("div")
        for option in select.query_selector_all("option"):
            line = tree.create_element("div")
            line.append_child(tree.create_text_node(option.text))
            block.append_child(line)
        select.parent.replace_child(block, select)


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
) -> dict[str, Any]:
    """Extract the main text of every HTML page of one WARC shard.

    Args:
        warc_path: the shard (``.warc.gz``, per-record or whole-file gzip, or plain ``.warc``).
        shard: shard number written into every row.
        out_docs: Parquet file for kept documents (``docs.DOC_SCHEMA``), written atomically.
        out_removed: Parquet file for every other record (``docs.REMOVED_SCHEMA``, step
            ``extract``, a reason from ``REASONS``), written atomically.
        extractor: ``resiliparse`` (fast) or ``trafilatura``.
        min_text_chars: pages whose extracted text has fewer characters are ``empty_text``.
        form_fields: keep the options of ``<select>`` drop-downs, one per line, in
            resiliparse's output instead of dropping them (site-wide archive menus: Index-1.9B
            found one repeated 156,000 times; substring dedup removes it later).

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
    started = time.perf_counter()
    kept: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    payload_in = bytes_out = 0

    def remove(item: WarcItem, reason: str, nbytes: int) -> None:
        removed.append(
            {
                "id": item.record_id or f"{shard}:{item.offset}",
                "url": item.url,
                "step": "extract",
                "reason": reason,
                "bytes": nbytes,
                "shard": shard,
            }
        )
        reasons[reason] += 1

    bar = tqdm(iter_warc(warc_path), desc=f"extract {warc_path.name}", unit="rec", mininterval=1.0)
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
            body = _undo_encodings(item)
        except DecodeError as exc:
            log.info("WARC file '%s': record at offset %d: %s", warc_path, item.offset, exc)
            remove(item, "decode_error", size)
            continue
        if not _is_html(item, body):
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
                _one_line(exc),
            )
            remove(item, "extract_error", size)
            continue
        if len(text) < min_text_chars:
            remove(item, "empty_text", size)
            continue
        bytes_out += len(text.encode("utf-8"))
        kept.append(
            {
                "id": item.record_id or f"{shard}:{item.offset}",
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
    docs.write_docs(out_docs, kept)
    docs.write_removed(out_removed, removed)
    stats = {
        "warc": str(warc_path),
        "shard": shard,
        "extractor": extractor,
        "records_read": len(kept) + len(removed),
        "docs_kept": len(kept),
        "removed": {r: reasons[r] for r in REASONS if reasons[r]},
        "bytes_in": warc_path.stat().st_size,
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
