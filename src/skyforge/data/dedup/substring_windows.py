"""Exact-substring dedup in bounded memory: repeated K-byte windows, found in hash partitions.

The suffix array of :func:`skyforge.data.dedup.substring.duplicate_spans` needs the whole
language group in one process at 13–25 bytes per input byte: a terabyte of Chinese text would
need tens of terabytes of RAM. This module finds the same spans with memory that a setting
bounds, by a hash-partitioned pass over K-byte windows.

Why windows give exactly the suffix array's result: a byte is covered by the suffix-array method
iff some substring of ≥ K bytes that contains it occurs at least twice, both occurrences inside
documents. Every such substring is a run of overlapping K-byte windows that each occur at least
twice; and a K-byte window that occurs twice is itself such a substring. So the covered bytes
are exactly the union of the windows ``[s, s + K)`` (inside one document) whose content occurs
at least twice in the group, and merging and snapping that union the same way gives the same
spans, span for span (``tests/unit/data/dedup/test_substring_windows.py`` checks it against the
suffix array).

How: every window gets a 128-bit polynomial hash (two independent 64-bit hashes, computed for
all windows of a block at once with prefix sums and modular inverses, in numpy). The map
(:func:`spill_windows`) hashes every shard once and appends each window to the file of its
partition, ``h1 mod R``; the reduce (:func:`reduce_partition`) loads one partition, from ALL
shards, sorts it by hash and reports every window whose hash occurs twice or more. A repeat
therefore meets its other occurrences in the same partition whatever shards they sit in, and a
repeated span longer than K has its windows in many partitions: the union over partitions
covers it whole. :func:`repeated_windows` does the same for one partition without the spill
(it rehashes the shards), the form the tests use.

Memory of the reduce of one partition (checked by ``benchmarks/substring.py``):
``≈ 52 × group_bytes / R`` — the 28-byte records, the sort's order and one gathered column —
plus the hashing blocks of the map (``72 × block_bytes``). ``R`` is chosen from a memory budget
by :func:`partitions_for_budget`; the spill takes 28 bytes per input byte of disk.

A hash collision (two different windows with equal 128-bit hashes) would mark a window that is
not repeated; among n windows its probability is about n² / 2¹²⁹ (1e-15 for a petabyte).

Why not google-research/deduplicate-text-datasets' partitioned suffix arrays: merging the
per-part suffix arrays into one is a sequential external merge of the whole corpus in one
process (Rust, with its own file formats); hash partitions are independent once spilled, so
the reduce splits into as many jobs as memory needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "BYTES_PER_KEPT_WINDOW",
    "DEFAULT_BLOCK_BYTES",
    "merge_and_snap",
    "merge_windows",
    "partition_peak_bytes",
    "partitions_for_budget",
    "reduce_partition",
    "repeated_windows",
    "spill_windows",
    "window_hashes",
]

_X = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
"""The two hash bases (odd, so invertible modulo 2⁶⁴)."""

DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024
"""Window starts hashed at once (the hashing's arrays are ~72 bytes per start)."""

BYTES_PER_KEPT_WINDOW = 52
"""Memory per window while a partition is reduced: its 28-byte record (two 8-byte hashes, an
8-byte position, a 4-byte shard), the sort's 8-byte order and one gathered 8-byte column at a
time, and a margin for the repeated windows it gathers."""


def _inverse(x: int) -> int:
    """x⁻¹ modulo 2⁶⁴ for odd x (Newton's iteration doubles the correct bits each step)."""
    inv = 1
    for _ in range(7):
        inv = (inv * (2 - x * inv)) % (1 << 64)
    assert (inv * x) % (1 << 64) == 1
    return inv


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """base⁰ … baseⁿ⁻¹ modulo 2⁶⁴."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, out=out)


class _Powers:
    """Powers of each base and of its inverse, grown on demand and shared by all blocks."""

    def __init__(self) -> None:
        self.n = 0
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []

    def get(self, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if n > self.n:
            self.x = [_powers(b, n) for b in _X]
            self.y = [_powers(np.uint64(_inverse(int(b))), n) for b in _X]
            self.n = n
        return self.x, self.y


_POWERS = _Powers()
"""Shared by every call: the powers depend only on the block length."""


def window_hashes(
    buf: np.ndarray, k: int, *, block_bytes: int = DEFAULT_BLOCK_BYTES
) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
    """The two 64-bit hashes of every window ``buf[s : s + k]``, by blocks of window starts.

    The hash is ``Σ_j buf[s + j] · x^(k-1-j)`` modulo 2⁶⁴; with ``Q[i] = Σ_{j<i} buf[j] · y^j``
    (``y = x⁻¹``) it is ``x^(s+k-1) · (Q[s+k] − Q[s])``, so a block's hashes take four vector
    passes and do not depend on where the window sits.

    Yields:
        ``(first, h1, h2)``: the hashes of the windows starting at ``first``, ``first + 1``, …
    """
    n_starts = len(buf) - k + 1
    if n_starts <= 0:
        return
    powers = _POWERS
    for first in range(0, n_starts, block_bytes):
        count = min(block_bytes, n_starts - first)
        part = buf[first : first + count + k - 1].astype(np.uint64)
        xs, ys = powers.get(len(part) + 1)
        hashes = []
        for x, y in zip(xs, ys, strict=True):
            q = np.empty(len(part) + 1, dtype=np.uint64)
            q[0] = 0
            np.cumsum(part * y[: len(part)], out=q[1:])
            hashes.append(x[k - 1 : k - 1 + count] * (q[k : k + count] - q[:count]))
        yield first, hashes[0], hashes[1]


def _valid_starts(doc_starts: np.ndarray, doc_ends: np.ndarray, k: int, first: int, count: int):
    """Mask of the window starts ``first … first + count − 1`` whose window lies in one document
    (built from the documents' ranges that meet the block, not per start)."""
    lo_doc = max(int(np.searchsorted(doc_ends, first, side="right")) - 1, 0)
    hi_doc = int(np.searchsorted(doc_starts, first + count, side="left"))
    a = np.clip(doc_starts[lo_doc:hi_doc] - first, 0, count)
    b = np.clip(doc_ends[lo_doc:hi_doc] - k + 1 - first, 0, count)
    ok = b > a
    delta = np.zeros(count + 1, dtype=np.int32)
    np.add.at(delta, a[ok], 1)
    np.add.at(delta, b[ok], -1)
    return np.cumsum(delta[:-1]) > 0


_Piece = tuple[int, np.ndarray, np.ndarray, np.ndarray, int]
"""A shard's record batch for :func:`spill_windows`: shard, buffer, doc bounds, base offset."""


def repeated_windows(
    shards: Iterable[tuple[int, np.ndarray, np.ndarray, np.ndarray] | _Piece],
    k: int,
    *,
    partition: int = 0,
    partitions: int = 1,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Starts of the windows of partition ``partition`` whose content occurs twice or more.

    Args:
        shards: per shard ``(shard, buf, doc_starts, doc_ends)``: the shard's documents of the
            group concatenated with separators (as :func:`skyforge.data.dedup.substring._concat`
            builds them) and each document's byte range in ``buf``.
        k: the window (K, ``min_length_bytes``).
        partition, partitions: this partition (``h1 mod partitions``) of how many.
        block_bytes: window starts hashed at once.

    Returns:
        ``(shard, start)`` of every repeated window of the partition, sorted by shard and start.
    """
    if not 0 <= partition < partitions:
        raise ValueError(f"partition {partition} not in [0, {partitions})")
    keys: list[tuple[np.ndarray, ...]] = []
    mod = np.uint64(partitions)
    for shard, buf, doc_starts, doc_ends, *rest in shards:
        base = int(rest[0]) if rest else 0
        for first, h1, h2 in window_hashes(buf, k, block_bytes=block_bytes):
            keep = _valid_starts(doc_starts, doc_ends, k, first, len(h1))
            if partitions > 1:
                keep &= (h1 % mod) == np.uint64(partition)
            idx = np.flatnonzero(keep)
            keys.append(
                (
                    h1[idx],
                    h2[idx],
                    np.full(len(idx), shard, np.int32),
                    idx.astype(np.int64) + (first + base),
                )
            )
    if not keys:
        return np.empty(0, np.int32), np.empty(0, np.int64)
    h1, h2, shard_ids, starts = (np.concatenate(parts) for parts in zip(*keys, strict=True))
    del keys
    order = np.lexsort((h2, h1))
    h1, h2 = h1[order], h2[order]
    same_as_next = (h1[1:] == h1[:-1]) & (h2[1:] == h2[:-1])
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same_as_next
    repeated[:-1] |= same_as_next
    picked = order[repeated]
    shard_ids, starts = shard_ids[picked], starts[picked]
    by_place = np.lexsort((starts, shard_ids))
    return shard_ids[by_place], starts[by_place]


WINDOW_RECORD = np.dtype([("h1", "<u8"), ("h2", "<u8"), ("pos", "<i8"), ("shard", "<i4")])
"""One spilled window: its two hashes, its start in the shard's buffer, its shard (28 bytes)."""


def spill_windows(
    shards: Iterable[tuple[int, np.ndarray, np.ndarray, np.ndarray] | _Piece],
    k: int,
    partitions: int,
    spill_dir: Path,
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> list[Path]:
    """Map: hash every window of every shard once and append it to its partition's file
    (``h1 mod partitions``), 28 bytes per window on disk. Returns the partition files.

    Each item of ``shards`` is ``(shard, buf, doc_starts, doc_ends)`` or, for a shard fed in
    record batches, ``(shard, buf, doc_starts, doc_ends, base)``: ``buf`` then starts at
    ``base`` in the shard's whole concatenation and positions are recorded from there."""
    spill_dir = Path(spill_dir)
    spill_dir.mkdir(parents=True, exist_ok=True)
    files = [spill_dir / f"part-{r:05d}.bin" for r in range(partitions)]
    for f in files:
        f.write_bytes(b"")
    mod = np.uint64(partitions)
    for shard, buf, doc_starts, doc_ends, *rest in shards:
        base = int(rest[0]) if rest else 0
        for first, h1, h2 in window_hashes(buf, k, block_bytes=block_bytes):
            idx = np.flatnonzero(_valid_starts(doc_starts, doc_ends, k, first, len(h1)))
            rec = np.empty(len(idx), dtype=WINDOW_RECORD)
            rec["h1"], rec["h2"] = h1[idx], h2[idx]
            rec["pos"], rec["shard"] = idx + (first + base), shard
            del h1, h2, idx
            if partitions == 1:
                with open(files[0], "ab") as f:
                    rec.tofile(f)
                continue
            # Partition numbers fit 16 bits for up to 65,536 partitions: numpy's stable sort is
            # then a radix sort, linear in the block.
            part = (rec["h1"] % mod).astype(np.uint16 if partitions <= 65536 else np.int64)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(partitions + 1))
            rec = rec[order]
            for r in np.flatnonzero(np.diff(bounds)):
                with open(files[r], "ab") as f:
                    rec[bounds[r] : bounds[r + 1]].tofile(f)
    return files


def reduce_partition(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Reduce: ``(shard, start)`` of the windows of one partition file whose hash occurs twice or
    more, sorted by shard and start. Memory ≈ 52 bytes per window of the file (the records, the
    sort order, one gathered column and a mask at a time)."""
    rec = np.fromfile(path, dtype=WINDOW_RECORD)
    if len(rec) < 2:
        return np.empty(0, np.int32), np.empty(0, np.int64)
    # One argsort on the first hash, then the few windows that share it with another are
    # checked on the second hash as well.
    order = np.argsort(rec["h1"])
    h1 = rec["h1"][order]
    run = np.zeros(len(order), dtype=bool)
    same = h1[1:] == h1[:-1]
    run[1:] |= same
    run[:-1] |= same
    del h1, same
    cand = order[run]
    del order, run
    sub = np.lexsort((rec["h2"][cand], rec["h1"][cand]))
    cand = cand[sub]
    same = (rec["h1"][cand][1:] == rec["h1"][cand][:-1]) & (
        rec["h2"][cand][1:] == rec["h2"][cand][:-1]
    )
    repeated = np.zeros(len(cand), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    picked = rec[cand[repeated]]
    del rec, cand, repeated, same
    by_place = np.lexsort((picked["pos"], picked["shard"]))
    return picked["shard"][by_place].copy(), picked["pos"][by_place].copy()


def merge_and_snap(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping or touching byte ranges of ``buf`` and snap each merged span inwards to
    UTF-8 character boundaries (continuation bytes are 0b10xxxxxx; at most 3 of them).

    Returns:
        ``(starts, ends)`` sorted by start; spans that vanish when snapped are dropped.
    """
    empty = np.empty(0, np.int64), np.empty(0, np.int64)
    if not len(starts):
        return empty
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.ones(len(starts), dtype=bool)
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(starts) - 1)
    starts, ends = starts[first], reach[last]
    cont = np.zeros(len(buf) + 1, dtype=bool)
    cont[:-1] = (buf & 0xC0) == 0x80
    for _ in range(3):
        starts = np.where(cont[starts], starts + 1, starts)
        ends = np.where(cont[ends], ends - 1, ends)
    ok = ends > starts
    return starts[ok], ends[ok]


def merge_windows(
    buf: np.ndarray, starts: np.ndarray, k: int, *, already_sorted: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Merged spans of the windows ``[s, s + k)`` of one shard's ``buf``, snapped inwards to
    UTF-8 character boundaries, as :func:`skyforge.data.dedup.substring.duplicate_spans` merges
    and snaps its matches."""
    starts = np.asarray(starts, dtype=np.int64)
    if not already_sorted:
        starts = np.sort(starts)
    return merge_and_snap(buf, starts, starts + k)


def partition_peak_bytes(group_bytes: int, partitions: int, block_bytes: int) -> int:
    """Peak memory of one partition (module docstring): kept windows plus the hashing blocks."""
    return int(BYTES_PER_KEPT_WINDOW * group_bytes / partitions + 72 * block_bytes)


def partitions_for_budget(
    group_bytes: int, budget_bytes: int, block_bytes: int = DEFAULT_BLOCK_BYTES
) -> int:
    """Fewest partitions whose peak (:func:`partition_peak_bytes`) fits ``budget_bytes``.

    Raises:
        ValueError: a budget below what hashing one block needs (naming both figures).
    """
    fixed = 72 * block_bytes
    if budget_bytes <= fixed:
        raise ValueError(
            f"substring dedup: memory budget {budget_bytes / 2**20:.0f} MiB is below one hashing "
            f"block ({fixed / 2**20:.0f} MiB)"
        )
    return max(1, math.ceil(BYTES_PER_KEPT_WINDOW * group_bytes / (budget_bytes - fixed)))


def shard_windows(repeated: Sequence[tuple[np.ndarray, np.ndarray]], shard: int) -> np.ndarray:
    """Sorted starts of one shard's repeated windows, from every partition's result."""
    parts = []
    for shard_ids, starts in repeated:
        lo, hi = np.searchsorted(shard_ids, [shard, shard + 1])
        parts.append(starts[lo:hi])
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)
