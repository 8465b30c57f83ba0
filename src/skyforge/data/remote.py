"""Crawl inputs behind a URL: WARC files read as streams over HTTP(S), S3 or any fsspec protocol,
resumed where a dropped connection left them, and Common Crawl's ``warc.paths.gz`` listings.

fsspec does the protocols: it opens ``https://`` (aiohttp) and ``s3://`` (s3fs, when installed)
files as random-access objects that fetch byte ranges, so nothing is copied to local disk first.
What it does not do is survive a connection cut in the middle of a large file: the range request
in flight fails (``ClientPayloadError``) and the read raises, or, from a server that sends no
length, the stream just ends early. :class:`ResumingReader` is the part written here: it counts
the bytes handed out, and on an error (or an early end when the size is known) reopens the file
and continues from that very byte with a Range request, with exponential back-off, so the bytes
read are exactly the file's; after ``retries`` failed attempts it raises one line naming the URL
and the byte where it stopped. A gzip member or WARC record cut in two is thus never seen by the
parser, and a shard is never silently short.

A listing (``crawl.warc_glob`` ending in ``.paths.gz`` or ``.paths``, local or remote) holds one
path per line, relative to ``crawl.warc_base_url`` (Common Crawl: https://data.commoncrawl.org/).
"""

from __future__ import annotations

import asyncio
import gzip
import io
import logging
import re
import time
from pathlib import Path
from typing import IO, Any

import fsspec

__all__ = [
    "RemoteReadError",
    "ResumingReader",
    "input_name",
    "input_size",
    "is_url",
    "open_input",
    "read_listing",
]

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 5
DEFAULT_BACKOFF_S = 1.0
BLOCK_SIZE = 8 << 20  # one Range request per 8 MiB: a cut costs at most one block of refetch


class RemoteReadError(RuntimeError):
    """A remote input that could not be read to its end (the message names the URL)."""


def _retryable() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [OSError, EOFError, asyncio.TimeoutError]
    try:
        import aiohttp  # the http(s) backend of fsspec

        kinds.append(aiohttp.ClientError)
    except ImportError:  # pragma: no cover - aiohttp comes with the http extra of fsspec
        pass
    try:
        from fsspec.exceptions import FSTimeoutError

        kinds.append(FSTimeoutError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def is_url(source: str | Path) -> bool:
    """Whether ``source`` names a remote file (``scheme://``, other than ``file://``)."""
    return (
        isinstance(source, str)
        and bool(re.match(r"^[a-z][a-z0-9+.-]*://", source))
        and not (source.startswith("file://"))
    )


def input_name(source: str | Path) -> str:
    """The file name of a local path or URL (its last path component)."""
    return str(source).rstrip("/").rsplit("/", 1)[-1]


def _one_line(error: BaseException) -> str:
    text = re.sub(r"\s+", " ", f"{type(error).__name__}: {error}").strip()
    return text if len(text) <= 200 else text[:197] + "..."


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise RemoteReadError(f"crawl input '{url}': cannot open its protocol ({error})") from None


def input_size(source: str | Path) -> int | None:
    """Bytes of a local file or a remote one (None when the server does not say)."""
    if not is_url(source):
        return Path(source).stat().st_size
    fs, path = _filesystem(str(source))
    try:
        size = fs.info(path).get("size")
    except FileNotFoundError:
        raise RemoteReadError(f"crawl input '{source}': not found") from None
    except _retryable() as error:
        raise RemoteReadError(f"crawl input '{source}': {_one_line(error)}") from None
    return int(size) if size is not None else None


class ResumingReader(io.RawIOBase):
    """A remote file as a read-only stream that resumes at the byte where a connection dropped.

    Args:
        url: any fsspec URL.
        retries: attempts after a failure, per failure (a successful read resets the count);
            None: :data:`DEFAULT_RETRIES`.
        backoff_s: the first wait; each further attempt waits twice as long; None:
            :data:`DEFAULT_BACKOFF_S`.
        size: the file's size when known (else asked from the server); with it an early end of
            the stream is a cut to resume, not the end of the file.
    """

    def __init__(
        self,
        url: str,
        *,
        retries: int | None = None,
        backoff_s: float | None = None,
        size: int | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.retries = DEFAULT_RETRIES if retries is None else retries
        self.backoff_s = DEFAULT_BACKOFF_S if backoff_s is None else backoff_s
        self.fs, self.path = _filesystem(url)
        self.size = size if size is not None else input_size(url)
        self.pos = 0
        self.resumes = 0
        self._fh: IO[bytes] | None = None
        self._retryable = _retryable()
        if self.size is None:
            log.warning(
                "crawl input '%s': the server gives no size, so a cut connection cannot be told "
                "from the end of the file; it shows up as a truncated last record",
                url,
            )

    def readable(self) -> bool:
        return True

    def _open(self) -> IO[bytes]:
        fh = self.fs.open(self.path, "rb", block_size=BLOCK_SIZE)
        if self.pos:
            fh.seek(self.pos)
        return fh

    def _drop(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close too
                pass
            self._fh = None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        failures = 0
        while True:
            try:
                if self._fh is None:
                    self._fh = self._open()
                data = self._fh.read(len(view))
            except FileNotFoundError:
                raise RemoteReadError(f"crawl input '{self.url}': not found") from None
            except self._retryable as error:
                problem: BaseException = error
            else:
                if data or self.size is None or self.pos >= self.size:
                    view[: len(data)] = data
                    self.pos += len(data)
                    return len(data)
                problem = EOFError(f"the stream ended at byte {self.pos} of {self.size}")
            failures += 1
            self._drop()
            where = f"byte {self.pos}" + (f" of {self.size}" if self.size is not None else "")
            if failures > self.retries:
                raise RemoteReadError(
                    f"crawl input '{self.url}': connection lost at {where}, {self.retries} "
                    f"retries failed ({_one_line(problem)})"
                )
            self.resumes += 1
            log.warning(
                "crawl input '%s': connection lost at %s (%s); resuming there (try %d of %d)",
                self.url,
                where,
                _one_line(problem),
                failures,
                self.retries,
            )
            time.sleep(self.backoff_s * 2 ** (failures - 1))

    def close(self) -> None:
        self._drop()
        super().close()


def open_input(source: str | Path, **kwargs: Any) -> IO[bytes]:
    """A binary stream of a local file or a URL (a :class:`ResumingReader`, buffered)."""
    if not is_url(source):
        return open(source, "rb")  # noqa: SIM115 - the caller closes it
    return io.BufferedReader(ResumingReader(str(source), **kwargs), buffer_size=1 << 20)


def read_listing(listing: str, base_url: str | None) -> list[str]:
    """The inputs named by a Common Crawl style listing (one path per line, gzipped or not).

    Paths that are URLs themselves are kept; the others are joined to ``base_url`` (or, when it
    is None, to the listing's own directory).

    Raises:
        ValueError: one line naming the listing when it cannot be read or names nothing.
    """
    try:
        with open_input(listing) as raw:
            data = raw.read()
    except (OSError, RemoteReadError) as error:
        raise ValueError(
            f"config key 'crawl.warc_glob': listing '{listing}' cannot be read ({error})"
        ) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(
                f"config key 'crawl.warc_glob': listing '{listing}' is not valid gzip ({error})"
            ) from None
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    if not entries:
        raise ValueError(f"config key 'crawl.warc_glob': listing '{listing}' names no file")
    if base_url:
        base = base_url
    else:  # beside the listing
        base = str(listing).rsplit("/", 1)[0] if is_url(listing) else str(Path(listing).parent)
    base = base.rstrip("/") + "/"
    return [e if is_url(e) or e.startswith("/") else base + e for e in entries]
