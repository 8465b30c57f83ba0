"""Tokenized packs: corpus shards → megatron-core indexed datasets (``<prefix>.bin`` + ``.idx``).

The format and the writer are megatron-core's own (``IndexedDatasetBuilder``), so training reads
the packs with ``IndexedDataset`` / ``GPTDataset`` and no converter sits in between. Each
document is ONE entry with EOD (``</s>``) appended, so the dataset's reset of position ids and
attention mask at EOD separates documents; ids are uint16 below 65,500, else int32.

What this module adds around the builder, since no library does it for Parquet shards: atomic
output (a temporary folder, ``.bin`` then ``.idx`` renamed, ``<prefix>.json`` last, with the
SHA-256 of both files so that nothing downstream hashes them again), encoding on
a fixed-size Rust thread pool overlapped with the Python side, bad text (non-UTF-8 bytes, lone
surrogates) turned into U+FFFD and counted, long documents encoded whole, and valid empty packs
for empty shards.

See docs/tokenize.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from skyforge.core.digest import file_digest, sha256_file
from skyforge.core.io import atomic_write_text
from skyforge.tokenize.tokenizer import clean_text, load_tokenizer, set_num_threads


def _indexed_dataset():
    """megatron-core's indexed dataset module, imported on first use (the import takes seconds)."""
    # deferred: heavy import (megatron), only for this path
    from megatron.core.datasets import indexed_dataset

    return indexed_dataset


def _paths(prefix: Path) -> tuple[Path, Path]:
    # Not with_suffix(): a prefix like "shard.00001" already has a dot.
    return Path(f"{prefix}.bin"), Path(f"{prefix}.idx")


@contextlib.contextmanager
def _atomic_prefix(out_prefix: Path) -> Iterator[Path]:
    """Yield a temporary prefix; on success move its .bin and .idx to ``out_prefix``.

    The temporaries live in a hidden folder beside the output (same file system, so the renames
    are atomic); the folder is removed whatever happens.
    """
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_prefix.name}.", dir=out_prefix.parent))
    tmp_prefix = tmp_dir / "pack"
    try:
        yield tmp_prefix
        tmp_bin, tmp_idx = _paths(tmp_prefix)
        out_bin, out_idx = _paths(out_prefix)
        os.replace(tmp_bin, out_bin)
        os.replace(tmp_idx, out_idx)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


@contextlib.contextmanager
def _builder(bin_path: Path, dtype: type) -> Iterator[Any]:
    """An IndexedDatasetBuilder whose .bin handle is closed even when writing fails."""
    builder = _indexed_dataset().IndexedDatasetBuilder(str(bin_path), dtype=dtype)
    try:
        yield builder
    finally:
        if not builder.data_file.closed:
            builder.data_file.close()


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_shard_texts(parquet_in: Path, batch_size: int = 512) -> Iterator[str]:
    """Stream the ``text`` column of a corpus shard, one record batch in memory at a time.

    A batch whose bytes are not valid UTF-8 (pyarrow does not check what a writer put in a
    string column) is decoded with ``surrogateescape``; :func:`clean_text` then replaces the bad
    bytes with U+FFFD and counts them.
    """
    # pre_buffer (pyarrow's default) reads the text column of ALL row groups up front: memory
    # would grow with the shard. Off, one row group at a time is in memory.
    parquet = pq.ParquetFile(parquet_in, pre_buffer=False)
    if "text" not in parquet.schema_arrow.names:
        raise ValueError(f"{parquet_in}: no 'text' column")
    for batch in parquet.iter_batches(batch_size=batch_size, columns=["text"]):
        column = batch.column(0)
        if column.null_count:
            raise ValueError(f"{parquet_in}: {column.null_count} document(s) with a null text")
        try:
            yield from column.to_pylist()
        except UnicodeDecodeError:
            raw = column.cast(pa.binary()).to_pylist()
            yield from (data.decode("utf-8", "surrogateescape") for data in raw)


def pack_texts(
    texts: Iterable[str],
    tokenizer_path: Path,
    out_prefix: Path,
    *,
    append_eod: bool = True,
    batch_size: int = 512,
    num_threads: int | None = None,
) -> dict:
    """Tokenize ``texts`` into the pack ``out_prefix.bin/.idx`` (+ ``out_prefix.json`` stats).

    Args:
        texts: Documents in order; each becomes one sequence entry.
        tokenizer_path: A tokenizer.json (see :func:`skyforge.tokenize.tokenizer.load_tokenizer`).
        out_prefix: Output path without suffix.
        append_eod: Append the EOD id (``</s>``) to every document.
        batch_size: Documents per ``encode_batch`` call (the unit of parallel work).
        num_threads: Rust encode threads; None = the CPUs this process may use.

    Returns:
        ``docs``, ``tokens`` (EOD included), ``chars`` and ``bytes`` of the cleaned text,
        ``num_replaced_chars`` and ``docs_repaired`` (invalid UTF-8 / surrogates), ``dtype``,
        ``files`` (SHA-256 and size of the .bin and .idx), ``threads`` and ``seconds`` (the
        last two are not written to ``<prefix>.json``).
    """
    start = time.perf_counter()
    out_prefix = Path(out_prefix)
    threads = set_num_threads(num_threads)
    tokenizer = load_tokenizer(tokenizer_path)
    dtype = _indexed_dataset().DType.optimal_dtype(tokenizer.vocab_size)
    stats = {"docs": 0, "tokens": 0, "chars": 0, "bytes": 0}
    stats.update(num_replaced_chars=0, docs_repaired=0)

    def cleaned_batches() -> Iterator[list[str]]:
        for batch in _batches(texts, batch_size):
            cleaned = []
            for text in batch:
                text, num_replaced = clean_text(text)
                stats["num_replaced_chars"] += num_replaced
                stats["docs_repaired"] += num_replaced > 0
                stats["chars"] += len(text)
                stats["bytes"] += len(text.encode("utf-8"))
                cleaned.append(text)
            yield cleaned

    def write(builder: Any, encoded: list[list[int]]) -> None:
        for ids in encoded:
            if append_eod:
                ids.append(tokenizer.eod)
            builder.add_document(np.array(ids, dtype=dtype), [len(ids)])
            stats["tokens"] += len(ids)
        stats["docs"] += len(encoded)

    with _atomic_prefix(out_prefix) as tmp_prefix:
        tmp_bin, tmp_idx = _paths(tmp_prefix)
        # One batch is encoded (Rust, GIL released) while the previous one is cleaned and
        # written (Python): the serial Python share would otherwise leave the pool idle.
        with _builder(tmp_bin, dtype) as builder, ThreadPoolExecutor(max_workers=1) as encoder:
            pending: Future | None = None
            for cleaned in cleaned_batches():
                submitted = encoder.submit(tokenizer.tokenize_batch, cleaned)
                if pending is not None:
                    write(builder, pending.result())
                pending = submitted
            if pending is not None:
                write(builder, pending.result())
            builder.finalize(str(tmp_idx))
    stats["dtype"] = np.dtype(dtype).name
    _write_stats(out_prefix, stats)
    return {**stats, "threads": threads, "seconds": round(time.perf_counter() - start, 3)}


def tokenize_shard(
    parquet_in: Path,
    tokenizer_path: Path,
    out_prefix: Path,
    *,
    append_eod: bool = True,
    batch_size: int = 512,
    num_threads: int | None = None,
) -> dict:
    """Tokenize one corpus shard (Parquet, CORPUS_SCHEMA) into a megatron-core pack.

    Streams the shard (one record batch of ``batch_size`` rows in memory) through
    :func:`pack_texts`; see there for the arguments and the returned counts. A shard with zero
    documents gives a valid empty pack.
    """
    parquet_in = Path(parquet_in)
    if not parquet_in.is_file():
        raise ValueError(f"corpus shard {parquet_in} does not exist")
    return pack_texts(
        iter_shard_texts(parquet_in, batch_size),
        tokenizer_path,
        out_prefix,
        append_eod=append_eod,
        batch_size=batch_size,
        num_threads=num_threads,
    )


def read_pack_counts(prefix: Path) -> dict:
    """Documents, sequences and tokens of a pack, from its index (works for empty packs too)."""
    bin_path, idx_path = _paths(Path(prefix))
    for path in (bin_path, idx_path):
        if not path.is_file():
            raise ValueError(f"pack file {path} does not exist")
    # mmap=False: megatron-core cannot mmap the 0-byte .bin of an empty pack.
    dataset = _indexed_dataset().IndexedDataset(str(prefix), mmap=False)
    return {
        "docs": len(dataset.document_indices) - 1,
        "sequences": len(dataset),
        "tokens": int(dataset.sequence_lengths.sum()),
        "dtype": np.dtype(dataset.index.dtype).name,
    }


def merge_packs(prefixes: list[Path], out_prefix: Path) -> dict:
    """Concatenate packs in the given order into ``out_prefix`` with the builder's ``add_index``.

    Document order, boundaries and counts are kept; empty packs add nothing. Written atomically
    like :func:`tokenize_shard`, with ``out_prefix.json`` (docs, tokens, the inputs' counts).

    Raises:
        ValueError: No prefixes, a missing .bin/.idx, or packs of different dtypes (the
            builder only asserts this).
    """
    if not prefixes:
        raise ValueError(f"{out_prefix}: no packs to merge")
    start = time.perf_counter()
    inputs = {str(p): read_pack_counts(Path(p)) for p in prefixes}
    dtypes = {counts["dtype"] for counts in inputs.values()}
    if len(dtypes) > 1:
        raise ValueError(f"{out_prefix}: cannot merge packs of different dtypes {inputs}")
    dtype = np.dtype(dtypes.pop()).type
    out_prefix = Path(out_prefix)
    with _atomic_prefix(out_prefix) as tmp_prefix:
        tmp_bin, tmp_idx = _paths(tmp_prefix)
        with _builder(tmp_bin, dtype) as builder:
            for prefix in prefixes:
                builder.add_index(str(prefix))
            builder.finalize(str(tmp_idx))
    stats = {
        "docs": sum(c["docs"] for c in inputs.values()),
        "tokens": sum(c["tokens"] for c in inputs.values()),
        "dtype": np.dtype(dtype).name,
        "inputs": inputs,
    }
    _write_stats(out_prefix, stats)
    return {**stats, "seconds": round(time.perf_counter() - start, 3)}


def _write_stats(out_prefix: Path, stats: dict[str, Any]) -> None:
    """Write ``<prefix>.json``: the counts and the SHA-256 and size of the .bin and .idx.

    Written last, and only with what the pack's bytes determine (no timings, no thread
    counts): a pack rebuilt with identical bytes gets an identical count file, which Snakemake
    checksums, so nothing downstream of it becomes stale (docs/staleness.md).
    """
    files = {}
    for kind, path in zip(("bin", "idx"), _paths(out_prefix), strict=True):
        files[kind] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    stats["files"] = files
    atomic_write_text(Path(f"{out_prefix}.json"), json.dumps(stats, indent=2) + "\n")


def pack_digests(prefix: Path) -> dict[str, str]:
    """Path → SHA-256 of a pack's .bin and .idx: from its count file when that records them, is
    not older than either file and their sizes match; otherwise hashed (and cached) now."""
    prefix = Path(prefix)
    paths = dict(zip(("bin", "idx"), _paths(prefix), strict=True))
    stats_path = Path(f"{prefix}.json")
    recorded: dict[str, Any] = {}
    try:
        stats_mtime = stats_path.stat().st_mtime_ns
        recorded = json.loads(stats_path.read_text(encoding="utf-8")).get("files") or {}
    except (OSError, ValueError, AttributeError):
        stats_mtime = None
    out = {}
    for kind, path in paths.items():
        entry = recorded.get(kind) if isinstance(recorded, dict) else None
        st = path.stat()  # a missing pack file raises FileNotFoundError, naming it
        if (
            isinstance(entry, dict)
            and stats_mtime is not None
            and stats_mtime >= st.st_mtime_ns
            and entry.get("size") == st.st_size
            and isinstance(entry.get("sha256"), str)
        ):
            out[str(path)] = entry["sha256"]
        else:
            out[str(path)] = file_digest(path)
    return out
