"""Hash-partitioned substring dedup (K-byte windows) against the in-memory suffix array.

The suffix array over the whole language group is the reference: the windowed method, run per
shard with 1 to 7 hash partitions, must give the same spans, document for document and byte
for byte, and a repeat whose windows fall into different partitions, between documents of
different shards, must be found whole.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from skyforge.data.dedup.substring import SEPARATOR, duplicate_spans
from skyforge.data.dedup.substring_windows import (
    merge_windows,
    partition_peak_bytes,
    partitions_for_budget,
    reduce_partition,
    repeated_windows,
    shard_windows,
    spill_windows,
    window_hashes,
)

K = 40


def _buffer(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Documents concatenated with a separator after each, and their byte ranges."""
    raw = [t.encode("utf-8") for t in texts]
    lens = np.array([len(r) for r in raw], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens + 1)[:-1])).astype(np.int64)
    joined = b"".join(r + bytes([SEPARATOR]) for r in raw)
    return np.frombuffer(joined, dtype=np.uint8).copy(), starts, starts + lens


def _text(rng: random.Random, n: int) -> str:
    alphabet = "abcdefghij klmnop 的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _corpus(seed: int) -> list[list[str]]:
    """Three shards of documents with planted repeats: blocks around K bytes (some just under),
    repeats at document edges, within one document, overlapping, periodic text, multibyte."""
    rng = random.Random(seed)
    blocks = [_text(rng, n) for n in (12, 14, 15, 20, 30, 45, 80)]  # ~K/3 … 5K bytes
    shards = []
    for _ in range(3):
        docs = []
        for _ in range(12):
            parts = [_text(rng, rng.randint(0, 60))]
            for _ in range(rng.randint(0, 3)):
                parts += [rng.choice(blocks), _text(rng, rng.randint(0, 25))]
            if rng.random() < 0.2:
                parts.append("ab" * rng.randint(10, 40))  # periodic: repeats inside itself
            docs.append("".join(parts))
        docs.append("")  # an empty document
        shards.append(docs)
    return shards


def _located(spans, starts_of_docs, shard) -> set[tuple[int, int, int, int]]:
    """(shard, document, start, end) with offsets local to the document."""
    out = set()
    for s, e in zip(*spans, strict=True):
        doc = int(np.searchsorted(starts_of_docs, s, side="right") - 1)
        out.add((shard, doc, int(s - starts_of_docs[doc]), int(e - starts_of_docs[doc])))
    return out


def _reference(shards: list[list[str]]) -> set[tuple[int, int, int, int]]:
    """The suffix array over all shards' documents at once (today's method)."""
    flat = [(i, d, t) for i, docs in enumerate(shards) for d, t in enumerate(docs)]
    buf, starts, ends = _buffer([t for _, _, t in flat])
    out = set()
    for s, e in zip(*duplicate_spans(buf, starts, ends, K), strict=True):
        j = int(np.searchsorted(starts, s, side="right") - 1)
        shard, doc, _ = flat[j]
        out.add((shard, doc, int(s - starts[j]), int(e - starts[j])))
    return out


def _windowed(shards: list[list[str]], partitions: int):
    buffers = [(i, *_buffer(docs)) for i, docs in enumerate(shards)]
    results = [
        repeated_windows(buffers, K, partition=p, partitions=partitions, block_bytes=97)
        for p in range(partitions)
    ]
    out = set()
    for i, buf, starts, _ends in buffers:
        merged = merge_windows(buf, shard_windows(results, i), K, already_sorted=True)
        out |= _located(merged, starts, i)
    return out


def _spilled(shards: list[list[str]], partitions: int, spill: Path):
    """The step's path: one hashing pass spilled to partition files, each reduced alone."""
    buffers = [(i, *_buffer(docs)) for i, docs in enumerate(shards)]
    files = spill_windows(iter(buffers), K, partitions, spill, block_bytes=97)
    assert len(files) == partitions
    results = [reduce_partition(f) for f in files]
    out = set()
    for i, buf, starts, _ends in buffers:
        merged = merge_windows(buf, shard_windows(results, i), K, already_sorted=True)
        out |= _located(merged, starts, i)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_windows_equal_the_suffix_array_span_for_span(seed: int, partitions: int, tmp_path):
    shards = _corpus(seed)
    expected = _reference(shards)
    assert len(expected) > 10  # the corpus has repeats to find
    assert {s for s, *_ in expected} == {0, 1, 2}
    assert _windowed(shards, partitions) == expected
    assert _spilled(shards, partitions, tmp_path / "spill") == expected


def test_a_repeat_across_shards_and_partitions_is_found_whole():
    rng = random.Random(5)
    block = _text(rng, 3 * K)  # ~6K bytes: its windows hash into every partition
    shards = [
        [_text(rng, 50) + block + _text(rng, 30), _text(rng, 70)],
        [_text(rng, 90)],
        [_text(rng, 20), block + _text(rng, 10)],
    ]
    raw = block.encode("utf-8")
    buf = np.frombuffer(raw, dtype=np.uint8)
    h1 = np.concatenate([h for _, h, _ in window_hashes(buf, K)])
    assert len(set((h1 % np.uint64(4)).tolist())) == 4  # the block's windows: all 4 partitions

    def block_span(shard: int, doc: int, prefix: str) -> tuple[int, int, int, int]:
        start = len(prefix.encode("utf-8"))
        return (shard, doc, start, start + len(raw))

    found = _windowed(shards, 4)
    first_prefix = shards[0][0][: shards[0][0].index(block)]
    assert found == {block_span(0, 0, first_prefix), block_span(2, 1, "")}
    assert found == _reference(shards)
    # Each partition holds only its share of the block's windows; together, all of them.
    buffers = [(i, *_buffer(docs)) for i, docs in enumerate(shards)]
    one = repeated_windows(buffers, K)
    every = set(zip(*one, strict=True))
    assert len(every) == 2 * (len(raw) - K + 1)  # each window of both occurrences
    parts = [
        set(zip(*repeated_windows(buffers, K, partition=p, partitions=4), strict=True))
        for p in range(4)
    ]
    assert all(0 < len(part) < len(every) for part in parts)
    assert set().union(*parts) == every and sum(map(len, parts)) == len(every)


def test_memory_formula_and_budget():
    gib = 1024**3
    assert partition_peak_bytes(10 * gib, 1, 4 * 2**20) == 52 * 10 * gib + 72 * 4 * 2**20
    r = partitions_for_budget(1000 * gib, 64 * gib)
    assert partition_peak_bytes(1000 * gib, r, 4 * 2**20) <= 64 * gib
    assert partition_peak_bytes(1000 * gib, r - 1, 4 * 2**20) > 64 * gib
    assert partitions_for_budget(1000, 8 * gib) == 1
    with pytest.raises(ValueError, match=r"budget 100 MiB is below one hashing block"):
        partitions_for_budget(gib, 100 * 2**20)
    with pytest.raises(ValueError, match=r"partition 3 not in \[0, 3\)"):
        repeated_windows([], K, partition=3, partitions=3)
