"""Reading WARC files: fastwarc, with a member-by-member recovery path after damage."""

from __future__ import annotations

import io
import logging
import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastwarc.warc import ArchiveIterator, WarcRecord

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = re.compile(rb"WARC/1\.[01]\r?\n")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MAX_HEADER = 64 << 10  # a WARC header block longer than this is not a header (fastwarc: 32 KiB)
_ERR_CHARS = 200  # keep each log line readable when a parser quotes binary garbage
_UNZIP_CHUNK = 1 << 16


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


def one_line(text: object) -> str:
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


def parse_record(raw: bytes, offset: int) -> WarcItem:
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
        return WarcItem(offset, damage="corrupt", error=one_line(f"{type(exc).__name__}: {exc}"))


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
            yield parse_record(bytes(buf[pos:block_end]) + b"\r\n\r\n", at)
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
            one_line(exc),
            held.offset if held and offsets_ok else 0,
        )
        if offsets_ok:
            yield from _careful(path, held.offset if held else 0, 0)
        else:
            yield from _careful(path, 0, done)
        return
    if held is not None:
        yield held
