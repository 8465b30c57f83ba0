"""Content digests of artifacts: SHA-256, streamed once, recorded beside the file, cached by stat.

Snakemake compares checksums only of files up to 1 MB and falls back to modification times for
larger ones, so a data shard regenerated with identical bytes would make everything downstream
stale (docs/staleness.md). The producer of such a file therefore writes its digest beside it, in
a digest file ``<file>.sha256`` (the ``sha256sum`` format: ``<hex>  <name>``) that Snakemake can
checksum, and consumers take the large file as ``ancient(...)`` plus its digest file.

The same digests tell a GPU rule whether the inputs of a completed job are unchanged
(docs/dispatch.md): :func:`file_digest` takes a digest recorded beside the file when it is not
older than the file, else hashes the file once and caches the digest by (path, size, mtime_ns).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from skyforge.core.io import atomic_write_text

__all__ = [
    "DIGEST_SUFFIX",
    "digest_path",
    "file_digest",
    "read_digest",
    "sha256_file",
    "write_digest",
]

DIGEST_SUFFIX = ".sha256"
CACHE_DIR = Path(".snakemake") / "skyforge-digests"
"""Relative to the working directory (Snakemake's): digests of files hashed by a GPU rule."""
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def digest_path(path: str | os.PathLike[str]) -> Path:
    """Where the digest of ``path`` is recorded: ``<path>.sha256``."""
    return Path(f"{os.fspath(path)}{DIGEST_SUFFIX}")


def write_digest(path: str | os.PathLike[str]) -> str:
    """Hash ``path`` and write its digest file (atomically); return the hex digest.

    The digest file holds only the digest and the file's name, so an identical file gives an
    identical digest file (Snakemake then sees an unchanged checksum).
    """
    digest = sha256_file(path)
    atomic_write_text(digest_path(path), f"{digest}  {Path(path).name}\n")
    return digest


def read_digest(path: str | os.PathLike[str]) -> str | None:
    """The digest recorded in ``path``'s digest file, or None when there is none, it is
    malformed, or it is older than ``path`` (the file changed after it was recorded)."""
    record = digest_path(path)
    try:
        recorded = record.stat()
        data = os.stat(path)
        text = record.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if recorded.st_mtime_ns < data.st_mtime_ns:
        return None
    words = text.split()
    if len(words) != 2 or words[1] != Path(path).name or not _is_sha256(words[0]):
        return None
    return words[0]


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def file_digest(
    path: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = CACHE_DIR
) -> str:
    """SHA-256 of ``path``: recorded beside it (:func:`read_digest`), else cached, else hashed.

    The cache holds one small JSON file per path (concurrent rules never share one), keyed by
    the absolute path and valid while the file's size and ``mtime_ns`` are unchanged. A
    ``cache_dir`` of None hashes without caching.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    recorded = read_digest(path)
    if recorded is not None:
        return recorded
    st = os.stat(path)
    absolute = str(Path(path).resolve())
    key = {"path": absolute, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    entry = None
    if cache_dir is not None:
        entry = Path(cache_dir) / (hashlib.sha256(absolute.encode()).hexdigest()[:32] + ".json")
        try:
            cached = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cached = None
        if isinstance(cached, dict) and {k: cached.get(k) for k in key} == key:
            digest = cached.get("sha256")
            if isinstance(digest, str) and _is_sha256(digest):
                return digest
    digest = sha256_file(path)
    if entry is not None:
        try:
            atomic_write_text(entry, json.dumps({**key, "sha256": digest}) + "\n")
        except OSError:
            pass  # a read-only working directory: hashing again next time is all it costs
    return digest
