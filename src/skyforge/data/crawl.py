"""The real-crawl path: read WARC/ARC files defensively and re-shard them.

Crawls arrive as many files of uneven size, some damaged in transfer. ``shard_warcs`` deals
their records round-robin into ``num_shards`` per-record-gzip WARC files
(``shard-NNNNN.warc.gz``, the synthetic crawl's names), so later steps see one layout for a
real or a synthetic crawl and get even work per shard. Records are dealt by capture
(consecutive records of one ``WARC-Target-URI`` stay together) and each record's block is
copied byte for byte, so WARC digests stay valid; ARC files become WARC records with
deterministic ids.

Damage never stops a run: ``iter_records`` yields a logged, counted ``CorruptRecord`` for a
truncated record, a bad Content-Length, a broken gzip member, trailing garbage or a file that is
no WARC at all, and reading resumes where warcio can resynchronise. The length check is ours:
warcio 1.8.1 returns a truncated final record without complaint.

With ``crawl.reshard: false`` nothing is copied: ``shard_inputs`` splits the sorted inputs into
``num_shards`` contiguous batches of whole files (balanced by bytes where the sizes are known:
local files; by count for URLs, whose Common Crawl files are all about 1 GB) and writes one small
listing per shard (``shard-NNNNN.inputs.json``), which ``extract`` reads in place. At Common Crawl
scale the copy is what does not fit: one job re-reading and re-writing 100 TB.

Inputs may also be URLs (``https://``, ``s3://``) or a Common Crawl ``warc.paths.gz`` listing:
they are read as streams that resume where a dropped connection stopped
(:mod:`skyforge.data.remote`); a file that cannot be read to its end fails the run with one line
naming the URL, never a short shard.

See docs/cleaning.md.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import logging
import os
import re
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders

from skyforge.data.remote import input_name, input_size, is_url, open_input, read_listing

__all__ = [
    "RawRecord",
    "CorruptRecord",
    "expand_warc_glob",
    "is_listing",
    "iter_records",
    "shard_name",
    "shard_warcs",
    "inputs_name",
    "assign_inputs",
    "shard_inputs",
    "read_shard_inputs",
]

log = logging.getLogger(__name__)

_ERR_CHARS = 200  # keep each log line readable even when warcio quotes binary garbage
_MAX_CAPTURE_RECORDS = 8  # a file of many records for one URI must still spread out


def shard_name(index: int) -> str:
    """File name of shard ``index`` (``shard-00000.warc.gz``): real and synthetic crawls alike."""
    return f"shard-{index:05d}.warc.gz"


def inputs_name(index: int) -> str:
    """File name of the input listing of shard ``index`` (``shard-00000.inputs.json``)."""
    return f"shard-{index:05d}.inputs.json"


def assign_inputs(sizes: list[int | None], num_shards: int) -> list[range]:
    """Split inputs (in order) into ``num_shards`` contiguous batches of whole files.

    With every size known the cut points fall where the running total of bytes crosses each
    ``k / num_shards`` of the whole, so shards get about equal bytes; otherwise files are
    split by count. No shard is left empty while there are at least as many files as shards.

    Raises:
        ValueError: fewer files than shards (naming ``crawl.num_shards``).
    """
    n = len(sizes)
    if n < num_shards:
        raise ValueError(
            f"config key 'crawl.num_shards': {num_shards} shards for {n} input files with "
            "crawl.reshard false (a shard is a batch of whole files)"
        )
    known = [int(x) for x in sizes if x is not None]
    if len(known) == n and sum(known) > 0:
        # Cut k falls after the first file at which the running total reaches k / S of all
        # bytes, kept strictly increasing and leaving one file for every shard still to come.
        total, acc, cuts = sum(known), 0, [0]
        targets = iter(range(1, num_shards))
        k = next(targets, None)
        for i, size in enumerate(known):
            acc += size
            while k is not None and acc * num_shards >= k * total:
                cuts.append(i + 1)
                k = next(targets, None)
        cuts = cuts[:num_shards] + [n] * (num_shards + 1 - len(cuts[:num_shards]))
        for j in range(1, num_shards):
            cuts[j] = min(max(cuts[j], cuts[j - 1] + 1), n - (num_shards - j))
        return [range(cuts[j], cuts[j + 1]) for j in range(num_shards)]
    return [range(k * n // num_shards, (k + 1) * n // num_shards) for k in range(num_shards)]


def shard_inputs(
    paths: list[Path | str], num_shards: int, out_dir: Path, workdir: Path | None = None
) -> dict[str, Any]:
    """Write one listing per shard (``shard-NNNNN.inputs.json``): its input files, no copy.

    Each entry holds the source (a path relative to the run directory when it lies inside it,
    else absolute, or a URL), its size and, for a local file, its modification time: a changed
    file changes its shard's listing, hence its digest, and reruns that shard's extraction only.

    Returns:
        The manifest summary: inputs and bytes per shard.

    Raises:
        ValueError: no inputs, a missing local file, or fewer files than shards.
    """
    from skyforge.core.io import atomic_write_text, workdir_relative

    if not paths:
        raise ValueError("shard_inputs: no input WARC files given (the path list is empty)")
    paths = sorted((p if is_url(p) else Path(p) for p in paths), key=str)
    entries: list[dict[str, Any]] = []
    for p in paths:
        if is_url(p):
            entries.append({"source": str(p), "bytes": None, "mtime_ns": None})
            continue
        if not p.is_file():
            raise ValueError(f"WARC file '{p}': not found (or not a regular file)")
        st = p.stat()
        entries.append(
            {
                "source": workdir_relative(p, workdir),
                "bytes": st.st_size,
                "mtime_ns": st.st_mtime_ns,
            }
        )
    batches = assign_inputs([e["bytes"] for e in entries], num_shards)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_shard = []
    for k, batch in enumerate(batches):
        files = [entries[i] for i in batch]
        known = [e["bytes"] for e in files if e["bytes"] is not None]
        text = json.dumps({"shard": k, "inputs": files}, indent=1, sort_keys=True)
        atomic_write_text(out_dir / inputs_name(k), text + "\n")
        per_shard.append({"files": len(files), "bytes": sum(known) if known else None})
    return {
        "reshard": False,
        "num_inputs": len(entries),
        "files_per_shard": [s["files"] for s in per_shard],
        "bytes_per_shard": [s["bytes"] for s in per_shard],
    }


def read_shard_inputs(listing: Path) -> list[Path | str]:
    """The sources of one shard's listing (relative paths resolved against the run directory).

    Raises:
        ValueError: naming the file when it is not such a listing.
    """
    try:
        data = json.loads(Path(listing).read_text(encoding="utf-8"))
        sources = [e["source"] for e in data["inputs"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"shard listing '{listing}': unreadable ({_one_line(str(exc))})") from None
    return [s if is_url(s) else Path(s) for s in sources]


@dataclass(frozen=True)
class RawRecord:
    """One WARC record as read: parsed WARC headers and the raw block bytes."""

    path: Path | str
    offset: int
    """Byte offset of the record (of its gzip member for ``.gz``) in ``path``."""
    headers: StatusAndHeaders
    block: bytes
    """Exactly ``Content-Length`` bytes: HTTP headers + payload for request/response records."""

    @property
    def rec_type(self) -> str:
        return self.headers.get_header("WARC-Type") or ""

    def to_bytes(self) -> bytes:
        """The record serialised as WARC (headers, block, the two CRLFs that end a record)."""
        return self.headers.to_bytes() + self.block + b"\r\n\r\n"


@dataclass(frozen=True)
class CorruptRecord:
    """A record (or a whole file) that could not be read; ``kind`` says which."""

    path: Path | str
    offset: int
    error: str
    kind: str = "corrupt"
    """``corrupt``, ``truncated`` or ``not_warc`` (the file is no WARC/ARC at all)."""

    def describe(self) -> str:
        """One log line naming the file, the offset and the error."""
        if self.kind == "not_warc":
            return f"WARC file '{self.path}': not a WARC/ARC file ({self.error})"
        return f"WARC file '{self.path}': record at offset {self.offset}: {self.error}"


class _WholeFileGzip(Exception):
    """warcio refused a WARC gzipped as one member; re-read it decompressed."""


def _one_line(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= _ERR_CHARS else text[: _ERR_CHARS - 3] + "..."


def _sniff(path: Path) -> tuple[str | None, bytes]:
    """(``"warc"``, ``"arc"`` or None, first bytes after decompression) of a file.

    warcio guesses the format from the first line and will read a line of five words as an ARC
    header, so a text file would come out as a "corrupt record"; looking for the two magic
    prefixes first tells "not an archive at all" apart from "damaged archive".
    """
    with open_input(path) as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error:
            return None, head
    start = head.lstrip()
    if start.startswith(b"WARC/"):
        return "warc", head
    if start.startswith(b"filedesc://"):
        return "arc", head
    return None, head


def _check_record(record: Any, block: bytes) -> str | None:
    """The reason a parsed record is unusable, or None."""
    declared = record.rec_headers.get_header("Content-Length")
    if not record.rec_headers.get_header("WARC-Type"):
        return "no WARC-Type header"
    if declared is None:
        return "no Content-Length header"
    try:
        # ARC headers count their own version lines; warcio subtracts them into record.length.
        expected = int(record.length if record.length is not None else declared)
        if int(declared) < 0:
            raise ValueError
    except (TypeError, ValueError):
        return f"invalid Content-Length {declared!r}"
    if len(block) < expected:
        return f"truncated: Content-Length {expected} but only {len(block)} bytes present"
    return None


def _scan(fh: Any, path: Path, *, is_arc: bool, skip: int, check_size: int | None):
    """Yield RawRecord / CorruptRecord for one open stream (see ``iter_records``)."""
    it = ArchiveIterator(fh, no_record_parse=True, arc2warc=True)
    seen = 0
    while True:
        start = it.offset
        noise = io.StringIO()  # warcio prints some problems to stderr; catch them per record
        try:
            with redirect_stderr(noise):
                record = next(it)
                block = record.raw_stream.read()
                errs = it.err_count
                it.read_to_end()
        except StopIteration:
            break
        except ArchiveLoadFailed as exc:
            if "non-chunked gzip" in str(exc):
                raise _WholeFileGzip() from None
            yield CorruptRecord(path, start, _one_line(exc))
            return  # warcio's iterator cannot resume after it raised
        except Exception as exc:  # noqa: BLE001 - zlib, parser, EOF errors from damaged input
            yield CorruptRecord(path, start, _one_line(f"{type(exc).__name__}: {exc}"))
            return
        seen += 1
        if seen <= skip:
            continue
        problem = _check_record(record, block)
        if problem is None and it.err_count > errs:
            problem = "record not followed by the blank lines that end it (wrong Content-Length)"
        if problem is None and noise.getvalue().strip():
            problem = _one_line(noise.getvalue())
        if problem is not None:
            kind = "truncated" if problem.startswith("truncated") else "corrupt"
            yield CorruptRecord(path, start, problem, kind)
            continue
        headers = record.rec_headers
        if is_arc:
            # warcio gives ARC records random ids; derive them so re-sharding is repeatable.
            rid = uuid.uuid5(uuid.NAMESPACE_URL, f"{input_name(path)}#{start}")
            headers.replace_header("WARC-Record-ID", f"<urn:uuid:{rid}>")
            # An ARC length also counts the version lines warcio moved into the headers.
            headers.replace_header("Content-Length", str(len(block)))
        yield RawRecord(path, start, headers, block)
    if check_size is not None and it.offset < check_size:
        yield CorruptRecord(
            path, it.offset, f"{check_size - it.offset} trailing bytes do not parse as a record"
        )


def iter_records(path: Path) -> Iterator[RawRecord | CorruptRecord]:
    """Read every record of one WARC or ARC file (gzipped per record, whole-file, or plain).

    Never raises for damaged content: problems come out as ``CorruptRecord`` items, in file
    order among the good records.

    Args:
        path: the file to read.

    Yields:
        ``RawRecord`` for each good record, ``CorruptRecord`` for each damaged one.
    """
    path = path if is_url(path) else Path(path)
    try:
        size = input_size(path)
        fmt, head = _sniff(path)
        if fmt is None:
            why = "empty file" if size == 0 else f"starts with {_one_line(repr(head[:40]))}"
            yield CorruptRecord(path, 0, why, "not_warc")
            return
        is_arc = fmt == "arc"
        done = 0
        with open_input(path) as fh:
            try:
                for item in _scan(fh, path, is_arc=is_arc, skip=0, check_size=size):
                    done += 1
                    yield item
                return
            except _WholeFileGzip:
                pass
        log.warning(
            "WARC file '%s': one gzip member for the whole file (not per record); reading it "
            "as a decompressed stream, offsets below are in that stream",
            path,
        )
        with open_input(path) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as fh:
            yield from _scan(fh, path, is_arc=is_arc, skip=done, check_size=None)
    except OSError as exc:
        yield CorruptRecord(path, 0, _one_line(f"{type(exc).__name__}: {exc}"))


def expand_warc_glob(pattern: str) -> list[Path]:
    """Sorted files matching ``pattern`` (``**`` allowed).

    Raises:
        ValueError: naming the pattern when nothing matches.
    """
    paths = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not paths:
        raise ValueError(f"config key 'crawl.warc_glob': '{pattern}' matched no files")
    return paths


def shard_warcs(paths: list[Path], num_shards: int, out_dir: Path) -> dict[str, Any]:
    """Re-shard WARC/ARC files round-robin (by capture) into per-record-gzip WARC shards.

    Args:
        paths: input files; read in sorted order whatever order they come in.
        num_shards: number of output shards ``shard-NNNNN.warc.gz``.
        out_dir: created if missing; shards are written under temporary names and renamed
            only once all input was read, so a failure leaves no final shard behind.

    Returns:
        A JSON-serialisable summary: good records read and written (per shard and per record
        type), corrupt records (per file, with offsets and errors), files that are not WARC,
        bytes per shard. Every record met is either written or counted corrupt:
        records in the inputs = ``records_written + records_corrupt``.

    Raises:
        ValueError: ``paths`` empty, a path that is not a file, or ``num_shards`` below 1.
    """
    if not paths:
        raise ValueError("shard_warcs: no input WARC files given (the path list is empty)")
    if num_shards < 1:
        raise ValueError(f"config key 'crawl.num_shards': must be at least 1, got {num_shards}")
    paths = sorted((p if is_url(p) else Path(p) for p in paths), key=str)
    for p in paths:
        if not is_url(p) and not p.is_file():
            raise ValueError(f"WARC file '{p}': not found (or not a regular file)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    names = [shard_name(i) for i in range(num_shards)]
    temps = [out_dir / f".{n}.partial" for n in names]
    records_per_shard = [0] * num_shards
    types: Counter[str] = Counter()
    files: list[dict[str, Any]] = []
    written = 0
    capture_index, capture_uri, capture_len = -1, None, 0
    handles: list[Any] = []
    try:
        handles = [open(t, "wb") for t in temps]
        for path in tqdm(paths, desc="shard-warcs", unit="file", mininterval=1.0):
            stats: dict[str, Any] = {"path": str(path), "records": 0, "corrupt": []}
            status = "ok"
            for item in iter_records(path):
                if isinstance(item, CorruptRecord):
                    if item.kind == "not_warc":
                        log.error(item.describe())
                        status = "not_warc"
                    else:
                        log.warning(item.describe())
                        stats["corrupt"].append(
                            {"offset": item.offset, "kind": item.kind, "error": item.error}
                        )
                    continue
                uri = item.headers.get_header("WARC-Target-URI")
                if uri is None or uri != capture_uri or capture_len >= _MAX_CAPTURE_RECORDS:
                    capture_index, capture_uri, capture_len = capture_index + 1, uri, 0
                capture_len += 1
                shard = capture_index % num_shards
                comp = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS + 16)  # mtime 0
                handles[shard].write(comp.compress(item.to_bytes()) + comp.flush())
                records_per_shard[shard] += 1
                types[item.rec_type] += 1
                stats["records"] += 1
                written += 1
            stats["status"] = "with_errors" if status == "ok" and stats["corrupt"] else status
            files.append(stats)
        for h in handles:
            h.close()
        for tmp, name in zip(temps, names, strict=True):
            os.replace(tmp, out_dir / name)
    except BaseException:
        for h in handles:
            h.close()
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise

    num_corrupt = sum(len(f["corrupt"]) for f in files)
    summary = {
        "num_shards": num_shards,
        "files": files,
        "num_files": len(files),
        "files_not_warc": sum(f["status"] == "not_warc" for f in files),
        "files_with_errors": sum(f["status"] == "with_errors" for f in files),
        "records_read": written,
        "records_written": sum(records_per_shard),
        "records_corrupt": num_corrupt,
        "records_per_shard": records_per_shard,
        "records_per_type": dict(sorted(types.items())),
        "bytes_per_shard": [(out_dir / n).stat().st_size for n in names],
        "shards": names,
    }
    log.info(
        "shard-warcs: %d files, %d records written to %d shards, %d corrupt records, "
        "%d files not WARC",
        len(files),
        written,
        num_shards,
        num_corrupt,
        summary["files_not_warc"],
    )
    return summary


def is_listing(pattern: str) -> bool:
    """Whether ``crawl.warc_glob`` names a listing of inputs (Common Crawl's warc.paths.gz)."""
    return input_name(pattern).endswith((".paths", ".paths.gz"))


def warc_paths(pattern: str | None, base_url: str | None = None) -> list[Path | str]:
    """The WARC inputs named by ``crawl.warc_glob``: local files matched by a glob, one URL, or
    the entries of a listing (local or remote; relative entries joined to ``base_url``).

    Raises:
        ValueError: the key is unset or matches no file (one line naming the key).
    """
    if not pattern:
        raise ValueError("config key 'crawl.warc_glob': required when crawl.source is warc")
    if is_listing(pattern):
        return sorted(read_listing(pattern, base_url))
    if is_url(pattern):
        return [pattern]
    paths = sorted(Path(p) for p in glob.glob(pattern))
    if not paths:
        raise ValueError(f"config key 'crawl.warc_glob': '{pattern}' matches no file")
    return paths
