"""MinHash parameters and the first stage: shingles and per-document signatures.

The bands, buckets and clusters that read these signatures are in
:mod:`skyforge.data.dedup.minhash`, which re-exports the names defined here.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from skyforge.config import ConfigError, DedupConfig
from skyforge.data.docs import TableWriter, iter_doc_batches

log = logging.getLogger(__name__)

MERSENNE_31 = np.uint64((1 << 31) - 1)
# Odd 64-bit multipliers (from splitmix64 / xxhash's primes) weighting token positions in a
# shingle, so that "a b c" and "c b a" hash differently.
POSITION_MULT = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0x85EBCA77C2B2AE63,
        0x27D4EB2F165667C5,
        0xBF58476D1CE4E5B9,
        0x94D049BB133111EB,
        0xFF51AFD7ED558CCD,
    ],
    dtype=np.uint64,
)
_SHIFT_31 = np.uint64(31)
META_KEY = b"skyforge.minhash"
JOB_KEYS = frozenset({"memory_budget_gb"})
"""Keys of ``dedup.near`` that size the reduce jobs; not MinHash parameters."""
# Shingles whose permuted values are computed in one numpy block: 128 × 4,096 × 8 bytes = 4 MiB
# per buffer, so the seven passes over it stay in cache (512…4,096 measured within noise).
_CHUNK_SHINGLES = 4096
_SIGNATURE_DOCS = 256
"""Documents hashed together in :func:`compute_signatures`."""

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# One CJK character, or a run of letters/digits that are not CJK ([^\W_] is "word char but not
# underscore"; listing the CJK ranges inside the negated class takes them out of the run).
_TOKEN_RE = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+")
# Letters and digits whose NFKC form differs: full-width forms, compatibility ideographs,
# Latin ligatures, super/subscripts, circled and parenthesised alphanumerics.
_COMPAT_RE = re.compile(
    "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uf900-\ufaff\ufb00-\ufb06"
    "\u00b2\u00b3\u00b9\u2070-\u209f\u2460-\u24ff\u3200-\u33ff]"
)


@dataclass(frozen=True)
class MinHashParams:
    """Parameters of near-duplicate detection, built from ``dedup.near`` (:meth:`from_section`);
    each key is described in the schema, which alone holds the defaults."""

    shingle_size: int
    """Tokens per shingle: words for English, characters for Chinese (see module docstring)."""
    num_perm: int
    bands: int
    rows: int
    seed: int
    threshold: float

    def __post_init__(self) -> None:
        for name in ("shingle_size", "num_perm", "bands", "rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"minhash param '{name}': must be at least 1")
        if self.bands * self.rows != self.num_perm:
            raise ValueError(
                f"minhash params 'bands' × 'rows' must equal 'num_perm': "
                f"{self.bands} × {self.rows} != {self.num_perm}"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"minhash param 'threshold': must be in (0, 1], got {self.threshold}")

    @classmethod
    def from_section(cls, cfg: DedupConfig) -> MinHashParams:
        """From the ``dedup`` section's ``near`` keys (every key; an unknown one is an error),
        less those that size the jobs rather than define the hashing (:data:`JOB_KEYS`)."""
        known = {f.name for f in fields(cls)}
        near = {k: v for k, v in cfg.near.items() if k not in JOB_KEYS}
        if set(near) != known:
            odd = sorted(set(near) ^ known)
            raise ConfigError(f"config key 'dedup.near.{odd[0]}': missing or unknown key")
        return cls(**near)

    def candidate_probability(self, similarity: float) -> float:
        """Probability ``1 − (1 − s^rows)^bands`` that a pair of Jaccard ``s`` shares a band."""
        return 1.0 - (1.0 - similarity**self.rows) ** self.bands

    def to_json(self) -> str:
        """The parameters as JSON (stored in signature files' Parquet metadata)."""
        return json.dumps(asdict(self), sort_keys=True)


def s_curve_table(params: MinHashParams, similarities: Iterable[float] | None = None) -> str:
    """Format the LSH S-curve: candidate probability per Jaccard similarity.

    Args:
        params: bands and rows to evaluate.
        similarities: rows of the table; by default 0.5 … 0.95 and the threshold.

    Returns:
        A small Markdown table, the threshold row marked.
    """
    sims = sorted(
        set(similarities or (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)) | {params.threshold}
    )
    lines = [
        f"bands={params.bands} rows={params.rows} num_perm={params.num_perm} "
        f"(S-curve midpoint ≈ (1/b)^(1/r) = {(1 / params.bands) ** (1 / params.rows):.3f})",
        "| Jaccard | P(candidate) |",
        "| --- | --- |",
    ]
    for s in sims:
        mark = " ← threshold" if s == params.threshold else ""
        lines.append(f"| {s:.2f} | {params.candidate_probability(s):.4f}{mark} |")
    return "\n".join(lines)


def print_s_curve(params: MinHashParams) -> None:
    """Print ``s_curve_table(params)`` (for choosing bands × rows by eye)."""
    print(s_curve_table(params))


# ---------------------------------------------------------------------------------------------
# Shingles and signatures
# ---------------------------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Split normalised text into tokens: single CJK characters and other letter/digit runs."""
    if text.isascii():  # the common case, twice as fast with a plain ASCII class
        return _ASCII_TOKEN_RE.findall(text.lower())
    # NFKC costs ~80 ns per character on Chinese text (its full-width punctuation fails the
    # quick check), yet only changes tokens when letters/digits have compatibility forms
    # (full-width ＡＢＣ１２３, compatibility ideographs, ligatures): normalise only then.
    if _COMPAT_RE.search(text):
        text = unicodedata.normalize("NFKC", text)
    return _TOKEN_RE.findall(text.lower())


class _TokenHasher:
    """xxh3-64 of token strings, memoised: web text reuses a small vocabulary."""

    _MAX_ENTRIES = 2_000_000  # ≈ 200 MB of dict; cleared (not evicted) when full

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.cache: dict[str, int] = {}

    def extend(self, out: list[int], tokens: list[str]) -> None:
        hashes = list(map(self.cache.get, tokens))
        if None in hashes:
            if len(self.cache) > self._MAX_ENTRIES:
                self.cache.clear()
            for i, h in enumerate(hashes):
                if h is None:
                    tok = tokens[i]
                    h = self.cache[tok] = xxhash.xxh3_64_intdigest(tok.encode("utf-8"), self.seed)
                    hashes[i] = h
        out.extend(hashes)


_HASHERS: dict[int, _TokenHasher] = {}


def _hasher(seed: int) -> _TokenHasher:
    if seed not in _HASHERS:
        _HASHERS[seed] = _TokenHasher(seed)
    return _HASHERS[seed]


def _finalize(h: np.ndarray) -> np.ndarray:
    """64-bit avalanche (splitmix64's finaliser), then the top 31 bits as the shingle hash."""
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h >> np.uint64(33)


def _batch_shingles(texts: Sequence[str], params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    """Distinct 31-bit shingle hashes of each text: ``(hashes, doc_index)``, sorted by doc.

    Every text yields at least one shingle: one shorter than ``shingle_size`` tokens is a single
    shingle of all its tokens, an empty one the shingle of no tokens.
    """
    k = params.shingle_size
    if k > len(POSITION_MULT):
        mult = np.random.default_rng(k).integers(1, 2**63, size=k, dtype=np.uint64) | np.uint64(1)
    else:
        mult = POSITION_MULT[:k]
    hasher = _hasher(params.seed)
    flat: list[int] = []
    counts = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        toks = tokenize(text)
        counts[i] = len(toks)
        hasher.extend(flat, toks)
    tok = np.array(flat, dtype=np.uint64)
    num_docs = len(texts)
    doc_of_tok = np.repeat(np.arange(num_docs), counts)
    n = len(tok)
    parts_h, parts_d = [], []
    if n >= k:
        windows = n - k + 1
        h = tok[:windows] * mult[0]
        for j in range(1, k):
            h += tok[j : j + windows] * mult[j]
        valid = doc_of_tok[:windows] == doc_of_tok[k - 1 :]
        parts_h.append(h[valid])
        parts_d.append(doc_of_tok[:windows][valid])
    short = np.flatnonzero(counts < k)
    if len(short):
        offsets = np.concatenate(([0], np.cumsum(counts)))
        h = np.zeros(len(short), dtype=np.uint64)
        for j, d in enumerate(short):
            seg = tok[offsets[d] : offsets[d + 1]]
            h[j] = (seg * mult[: len(seg)]).sum(dtype=np.uint64) if len(seg) else 0
        parts_h.append(h)
        parts_d.append(short)
    # One sort of (doc << 31 | hash) groups by document and puts repeated shingles side by side.
    key = np.concatenate(parts_d).astype(np.uint64) << _SHIFT_31
    key |= _finalize(np.concatenate(parts_h))
    key.sort()
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    return key & MERSENNE_31, (key >> _SHIFT_31).astype(np.int64)


def _permutations(params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(params.seed)
    a = rng.integers(1, MERSENNE_31, size=params.num_perm, dtype=np.uint64)
    b = rng.integers(0, MERSENNE_31, size=params.num_perm, dtype=np.uint64)
    return a, b


def _min_hashes(
    hashes: np.ndarray, docs: np.ndarray, num_docs: int, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Per-document minimum of ``(a·x + b)`` folded mod ``2^31 − 1`` over its shingle hashes."""
    num_perm = len(a)
    sig = np.full((num_docs, num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    # Permutations along rows, shingles along columns: numpy reduces a contiguous axis with
    # SIMD, eight times faster than reduceat down the other axis.
    buf = np.empty((num_perm, _CHUNK_SHINGLES), dtype=np.uint64)
    tmp = np.empty_like(buf)
    a_col, b_col = a[:, None], b[:, None]
    for lo in range(0, len(hashes), _CHUNK_SHINGLES):
        hi = min(lo + _CHUNK_SHINGLES, len(hashes))
        v, t = buf[:, : hi - lo], tmp[:, : hi - lo]
        np.multiply(a_col, hashes[None, lo:hi], out=v)
        v += b_col  # < 2^62: a, b, x are all below 2^31
        for _ in range(2):  # mod 2^31−1 (2^31 ≡ 1): fold the high bits onto the low ones
            np.right_shift(v, _SHIFT_31, out=t)
            v &= MERSENNE_31
            v += t
        d = docs[lo:hi]
        starts = np.flatnonzero(np.concatenate(([True], d[1:] != d[:-1])))
        mins = np.minimum.reduceat(v, starts, axis=1).T
        rows = d[starts]
        sig[rows] = np.minimum(sig[rows], mins)
    return sig


def compute_signatures(texts: Sequence[str], params: MinHashParams) -> np.ndarray:
    """MinHash signatures of ``texts``: a ``(len(texts), num_perm)`` uint32 array.

    Pure computation (no I/O); ``minhash_signatures`` calls it per record batch. A document's
    signature depends on its own text only, so the batch is hashed ``_SIGNATURE_DOCS`` documents
    at a time: the token list and shingle arrays (~50 B per token) then follow that many
    documents, not the record batch (for a batch of 2,048 documents of a few thousand tokens they
    were the job's peak).
    """
    if not len(texts):
        return np.empty((0, params.num_perm), dtype=np.uint32)
    a, b = _permutations(params)
    parts = []
    for lo in range(0, len(texts), _SIGNATURE_DOCS):
        chunk = texts[lo : lo + _SIGNATURE_DOCS]
        hashes, docs = _batch_shingles(chunk, params)
        parts.append(_min_hashes(hashes, docs, len(chunk), a, b).astype(np.uint32))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def shingle_hashes(text: str, params: MinHashParams) -> np.ndarray:
    """The distinct shingle hashes of one text (for exact Jaccard in tests and benchmarks)."""
    return _batch_shingles([text], params)[0]


def signature_schema(params: MinHashParams) -> pa.Schema:
    """Schema of a signature file: id, shard, crawl_date, then ``h000 …`` (uint32) per hash.

    One column per hash value, so a band job reads its ``rows`` columns and nothing else. The
    parameters are stored in the schema metadata and checked by ``minhash_buckets``.
    """
    cols = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("crawl_date", pa.string()),
    ] + [pa.field(hash_column(i), pa.uint32(), nullable=False) for i in range(params.num_perm)]
    return pa.schema(cols, metadata={META_KEY: params.to_json().encode()})


def hash_column(i: int) -> str:
    return f"h{i:03d}"


def minhash_signatures(
    docs_in: Path, shard: int, out: Path, params: MinHashParams
) -> dict[str, Any]:
    """Map step: write the MinHash signature of every document of one shard, one record batch
    at a time (signatures are written as they are computed, so memory is one batch).

    Args:
        docs_in: this shard's documents (``DOC_SCHEMA``), after exact dedup.
        shard: shard index written into each row.
        out: Parquet file (``signature_schema(params)``).
        params: shingle size, permutations and seed (identical for all shards).

    Returns:
        ``{"shard", "num_docs", "num_bytes", "seconds"}``.
    """
    t0 = time.perf_counter()
    num_docs = num_bytes = 0
    with TableWriter(out, signature_schema(params)) as writer:
        for batch in iter_doc_batches(docs_in):
            texts = batch.column("text").to_pylist()
            num_bytes += pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0
            sig = compute_signatures(texts, params)
            cols: dict[str, Any] = {
                "id": batch.column("id"),
                "shard": pa.array(np.full(len(sig), shard, np.int32)),
                "crawl_date": batch.column("crawl_date"),
            }
            for i in range(params.num_perm):
                cols[hash_column(i)] = pa.array(np.ascontiguousarray(sig[:, i]))
            writer.write_table(pa.table(cols))
            num_docs += len(sig)
    return {
        "shard": shard,
        "num_docs": num_docs,
        "num_bytes": num_bytes,
        "seconds": round(time.perf_counter() - t0, 3),
    }
