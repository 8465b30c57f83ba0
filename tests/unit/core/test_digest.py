"""Content digests: the digest file beside a data file, and the stat-keyed cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from skyforge.core import digest as D


def test_digest_file_is_sha256sum_format_and_identical_for_identical_bytes(tmp_path: Path):
    data = tmp_path / "00000.parquet"
    data.write_bytes(b"x" * 3_000_000)
    hex_ = D.write_digest(data)
    assert hex_ == hashlib.sha256(data.read_bytes()).hexdigest()
    record = D.digest_path(data)
    assert record.name == "00000.parquet.sha256"
    first = record.read_bytes()
    assert first == f"{hex_}  00000.parquet\n".encode()
    assert D.read_digest(data) == hex_
    # Regenerated with identical bytes: an identical digest file (what Snakemake checksums).
    data.write_bytes(b"x" * 3_000_000)
    D.write_digest(data)
    assert record.read_bytes() == first


def test_a_file_newer_than_its_digest_file_is_not_trusted(tmp_path: Path):
    data = tmp_path / "a.bin"
    data.write_bytes(b"old")
    D.write_digest(data)
    data.write_bytes(b"new")
    st = D.digest_path(data).stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert D.read_digest(data) is None
    assert D.file_digest(data, cache_dir=None) == hashlib.sha256(b"new").hexdigest()


def test_file_digest_caches_by_path_size_and_mtime(tmp_path: Path, monkeypatch):
    data, cache = tmp_path / "chat.jsonl", tmp_path / "cache"
    data.write_bytes(b"one")
    calls = []
    real = D.sha256_file
    monkeypatch.setattr(D, "sha256_file", lambda p: calls.append(p) or real(p))
    assert D.file_digest(data, cache_dir=cache) == hashlib.sha256(b"one").hexdigest()
    assert D.file_digest(data, cache_dir=cache) == hashlib.sha256(b"one").hexdigest()
    assert len(calls) == 1  # the second answer came from the cache
    data.write_bytes(b"two")  # new size and mtime: hashed again
    assert D.file_digest(data, cache_dir=cache) == hashlib.sha256(b"two").hexdigest()
    assert len(calls) == 2
    with pytest.raises(FileNotFoundError):
        D.file_digest(tmp_path / "missing", cache_dir=cache)
