"""Near-duplicate dedup across all shards: MinHash signatures, LSH bands, connected components.

SkyPile removes near-duplicate pages ("hash-based semantic dedup") over the whole crawl, not per
shard, and the crawl does not fit in one job's memory. So the work is staged as Snakemake jobs:

1. **map** — ``minhash_signatures`` (one job per shard): a ``num_perm``-value MinHash signature
   per document. Memory: one record batch of text plus its shingle matrix chunk, independent of
   corpus size.
2. **shuffle** — ``minhash_buckets`` (one job per band, optionally split further into
   ``num_partitions`` jobs by band key): reads only that band's ``rows`` signature columns of
   every shard, groups documents whose band values are equal, turns each bucket into candidate
   pairs, and keeps a pair only if its signature-estimated Jaccard reaches ``threshold`` (LSH
   alone lets through pairs that happen to share one band). Memory: 16 bytes per document of the
   partition (band key + file/row reference) plus the full signatures of the candidates only;
   ``num_partitions`` bounds the first term.
3. **reduce** — ``minhash_clusters`` (one job): union-find over the verified pairs of all bands;
   per connected component the first document by ``(crawl_date, id)`` is kept and the others
   are listed in a drop list (``dedup_exact.DROP_SCHEMA``), plus a cluster table. This is the one
   job whose memory grows with the corpus: it holds the pair lists (≈ 150 bytes per verified
   pair), i.e. it scales with the number of near-duplicates, not with the number of documents.
4. **filter** — ``dedup_exact.apply_drop(..., step="near_dedup")`` per shard.

Shingles. Text is NFKC-normalised and lower-cased, then split into tokens: each CJK character
(Han, kana) is one token, any other run of letters/digits is one token, punctuation is dropped.
A shingle is ``shingle_size`` consecutive tokens, so English shingles are word n-grams and
Chinese ones (no spaces to split on) character n-grams, and mixed text works without language
ID. Each distinct token is hashed once per process with xxh3-64 (cached), and a shingle's 64-bit
hash is a position-weighted sum of its token hashes passed through a 64-bit finaliser —
computed for a whole record batch at once in numpy instead of one Python call per shingle.

Permutations. Each of the ``num_perm`` hash functions is ``h(x) = (a·x + b) mod p`` with the
Mersenne prime ``p = 2^31 − 1``, applied to the top 31 bits ``x`` of the 64-bit shingle hash, with
``a ∈ [1, p)`` and ``b ∈ [0, p)``: then ``y = a·x + b < 2^62`` never overflows uint64. A prime
below 2^32 is what makes the family work: ``a·x`` wraps around ``p`` many times. (With
``p = 2^61 − 1`` and 32-bit ``a`` the product would wrap at most 8 times, ``h`` would be nearly
monotone in ``x``, and most permutations would pick the same minimum shingle — signature
estimates of 0.86 for pairs of true Jaccard 0.06, which is how this was found.) Instead of a
division, ``mod p`` uses ``2^31 ≡ 1``: two folds ``y ← (y & p) + (y >> 31)`` leave a value in
``[0, p + 1]`` that is the canonical residue except that ``p`` and ``p + 1`` stand for 0 and 1 —
values at the top that never win a minimum over more than a couple of shingles, so the final
compare-and-subtract is skipped. Two folds are needed: after one, the value (below 2^32) is still
congruent and injective in ``x``, but its order is not that of the residue, and on crafted pairs
the estimates' spread doubled (σ 0.08 against the theoretical 0.044 at 128 permutations). The
folds cost two numpy passes each, half of what ``np.remainder`` costs. Since ``x < p``, each
``h`` permutes the shingle hashes. Signatures are uint32. Reducing shingle hashes to 31 bits
means two different shingles of a pair of documents collide with probability
≈ (shingles per doc)² / 2^32: for 1,000-shingle documents a shift of the Jaccard estimate far
below its sampling error.

LSH. ``bands × rows == num_perm``; a pair with Jaccard ``s`` becomes a candidate with
probability ``1 − (1 − s^rows)^bands`` (``MinHashParams.candidate_probability``,
``s_curve_table``). The defaults (128 = 16 × 8, threshold 0.7) make pairs at s = 0.8 candidates
with probability 0.95 and at 0.85 with 0.99.

Why no library: datasketch (MinHash, MinHashLSH) keeps its index in one process's memory and
hashes one shingle per Python call; datatrove's MinhashDedup* blocks are written for its own
pipeline/reader objects and on-disk format. The staged map/shuffle/reduce over our Parquet
tables, and the batch-vectorised hashing that makes it fast, are the point of this module.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from skyforge.data.dedup.exact import DROP_SCHEMA, MISSING_DATE, first_by_date_then_id
from skyforge.data.docs import iter_doc_batches, write_table

__all__ = [
    "MinHashParams",
    "PAIR_SCHEMA",
    "CLUSTER_SCHEMA",
    "s_curve_table",
    "print_s_curve",
    "tokenize",
    "shingle_hashes",
    "compute_signatures",
    "signature_schema",
    "minhash_signatures",
    "minhash_buckets",
    "minhash_clusters",
]

log = logging.getLogger(__name__)

MERSENNE_31 = np.uint64((1 << 31) - 1)
# Odd 64-bit multipliers (from splitmix64 / xxhash's primes) weighting token positions in a
# shingle, so that "a b c" and "c b a" hash differently.
_POSITION_MULT = np.array(
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
_META_KEY = b"skyforge.minhash"
# Shingles whose permuted values are computed in one numpy block: 128 × 4,096 × 8 bytes = 4 MiB
# per buffer, so the seven passes over it stay in cache (512…4,096 measured within noise).
_CHUNK_SHINGLES = 4096
# Buckets up to this size are verified pair by pair (≤ 496 pairs); a larger bucket (a template
# shared by thousands of pages) is linked as a star to its first document plus a chain through
# its members in (crawl_date, id) order, keeping the pair count linear in the bucket size.
_MAX_ALL_PAIRS_BUCKET = 32

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
    """Parameters of near-duplicate detection (config ``dedup.near``)."""

    shingle_size: int = 5
    """Tokens per shingle: words for English, characters for Chinese (see module docstring)."""
    num_perm: int = 128
    """Hash functions per signature; must equal ``bands × rows``."""
    bands: int = 16
    """LSH bands: one ``minhash_buckets`` job each."""
    rows: int = 8
    """Signature values per band."""
    seed: int = 42
    """Seeds the permutations (all shards must use the same one)."""
    threshold: float = 0.7
    """Jaccard estimate (share of equal signature values) a candidate pair must reach."""

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
    def from_dict(cls, d: Mapping[str, Any]) -> MinHashParams:
        """Build from a config mapping; unknown keys are a ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown minhash param(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

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
    if k > len(_POSITION_MULT):
        mult = np.random.default_rng(k).integers(1, 2**63, size=k, dtype=np.uint64) | np.uint64(1)
    else:
        mult = _POSITION_MULT[:k]
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

    Pure computation (no I/O); ``minhash_signatures`` calls it per record batch.
    """
    if not len(texts):
        return np.empty((0, params.num_perm), dtype=np.uint32)
    hashes, docs = _batch_shingles(texts, params)
    a, b = _permutations(params)
    return _min_hashes(hashes, docs, len(texts), a, b).astype(np.uint32)


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
    ] + [pa.field(_hcol(i), pa.uint32(), nullable=False) for i in range(params.num_perm)]
    return pa.schema(cols, metadata={_META_KEY: params.to_json().encode()})


def _hcol(i: int) -> str:
    return f"h{i:03d}"


def minhash_signatures(
    docs_in: Path, shard: int, out: Path, params: MinHashParams
) -> dict[str, Any]:
    """Map step: write the MinHash signature of every document of one shard.

    Args:
        docs_in: this shard's documents (``DOC_SCHEMA``), after exact dedup.
        shard: shard index written into each row.
        out: Parquet file (``signature_schema(params)``).
        params: shingle size, permutations and seed (identical for all shards).

    Returns:
        ``{"shard", "num_docs", "num_bytes", "seconds"}``.
    """
    t0 = time.perf_counter()
    ids, dates, sigs = [], [], []
    num_bytes = 0
    for batch in iter_doc_batches(docs_in):
        texts = batch.column("text").to_pylist()
        num_bytes += pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0
        ids.append(batch.column("id"))
        dates.append(batch.column("crawl_date"))
        sigs.append(compute_signatures(texts, params))
    sig = np.concatenate(sigs) if sigs else np.empty((0, params.num_perm), np.uint32)
    cols: dict[str, Any] = {
        "id": pa.chunked_array(ids, pa.string()),
        "shard": pa.array(np.full(len(sig), shard, np.int32)),
        "crawl_date": pa.chunked_array(dates, pa.string()),
    }
    for i in range(params.num_perm):
        cols[_hcol(i)] = pa.array(np.ascontiguousarray(sig[:, i]))
    write_table(out, pa.table(cols), signature_schema(params))
    return {
        "shard": shard,
        "num_docs": len(sig),
        "num_bytes": num_bytes,
        "seconds": round(time.perf_counter() - t0, 3),
    }


# ---------------------------------------------------------------------------------------------
# Buckets (one job per band) and verified candidate pairs
# ---------------------------------------------------------------------------------------------

PAIR_SCHEMA = pa.schema(
    [
        pa.field("id_a", pa.string(), nullable=False),
        pa.field("shard_a", pa.int32(), nullable=False),
        pa.field("crawl_date_a", pa.string()),
        pa.field("id_b", pa.string(), nullable=False),
        pa.field("shard_b", pa.int32(), nullable=False),
        pa.field("crawl_date_b", pa.string()),
        pa.field("similarity", pa.float32(), nullable=False),  # signature Jaccard estimate
        pa.field("band", pa.int16(), nullable=False),
    ]
)
"""Columns of a ``minhash_buckets`` pair file: verified pairs only (similarity ≥ threshold)."""

CLUSTER_SCHEMA = pa.schema(
    [
        pa.field("cluster", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("crawl_date", pa.string()),
        pa.field("kept", pa.bool_(), nullable=False),
    ]
)
"""Columns of the cluster table: every document in a near-duplicate cluster of ≥ 2 documents."""


def _check_params(path: Path, params: MinHashParams) -> None:
    meta = pq.read_schema(path).metadata or {}
    stored = meta.get(_META_KEY)
    if stored is None:
        raise ValueError(f"{path}: not a minhash signature file (no {_META_KEY.decode()} metadata)")
    got = json.loads(stored)
    for key in ("shingle_size", "num_perm", "seed"):
        if got.get(key) != getattr(params, key):
            raise ValueError(
                f"{path}: signatures were made with {key}={got.get(key)}, "
                f"but this job has {key}={getattr(params, key)}"
            )


def _band_keys(values: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of a ``(n, rows)`` uint32 band; equal bands give equal keys."""
    key = np.zeros(len(values), dtype=np.uint64)
    for j in range(values.shape[1]):
        key = (key ^ values[:, j].astype(np.uint64)) * _POSITION_MULT[j % len(_POSITION_MULT)]
        key ^= key >> np.uint64(29)
    return key


def _bucket_pairs(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of one bucket whose members are already in (crawl_date, id) order."""
    m = len(members)
    if m <= _MAX_ALL_PAIRS_BUCKET:
        i, j = np.triu_indices(m, k=1)
        return members[i], members[j]
    star = (np.full(m - 1, members[0]), members[1:])
    chain = (members[1:-1], members[2:])
    return np.concatenate((star[0], chain[0])), np.concatenate((star[1], chain[1]))


def minhash_buckets(
    signature_files: Sequence[Path],
    band: int,
    out: Path,
    params: MinHashParams,
    *,
    partition: int = 0,
    num_partitions: int = 1,
) -> dict[str, Any]:
    """Shuffle step for one band: bucket documents by band values, write verified pairs.

    Args:
        signature_files: ``minhash_signatures`` outputs of ALL shards.
        band: which band (0 … bands−1); only its ``rows`` columns are read in the first pass.
        out: pair file (``PAIR_SCHEMA``).
        params: the same parameters the signatures were made with.
        partition: with ``num_partitions > 1``, this job handles band keys ≡ partition.
        num_partitions: split of the band-key space, to bound memory on large corpora.

    Returns:
        ``{"band", "partition", "num_docs", "num_buckets", "num_candidate_pairs",
        "num_verified_pairs"}`` (buckets of ≥ 2 documents).

    Raises:
        ValueError: band or partition out of range, or signatures made with other params.
    """
    if not 0 <= band < params.bands:
        raise ValueError(f"minhash band {band} out of range 0..{params.bands - 1}")
    if num_partitions < 1 or not 0 <= partition < num_partitions:
        raise ValueError(f"partition {partition} of {num_partitions}: need 0 <= partition < n")
    cols = [_hcol(band * params.rows + j) for j in range(params.rows)]
    keys, file_idx, rows = [], [], []
    for fi, path in enumerate(signature_files):
        _check_params(path, params)
        table = pq.read_table(path, columns=cols)
        values = np.column_stack([table.column(c).to_numpy() for c in cols])
        key = _band_keys(values)
        row = np.arange(len(key), dtype=np.int64)
        if num_partitions > 1:
            sel = key % np.uint64(num_partitions) == partition
            key, row = key[sel], row[sel]
        keys.append(key)
        rows.append(row)
        file_idx.append(np.full(len(key), fi, dtype=np.int64))
    key = np.concatenate(keys + [np.empty(0, np.uint64)])
    # A document reference packs (file index, row) into one int64: 2^40 rows per shard.
    ref = (np.concatenate(file_idx + [np.empty(0, np.int64)]) << 40) | np.concatenate(
        rows + [np.empty(0, np.int64)]
    )
    num_docs = len(key)
    order = np.argsort(key, kind="stable")
    key, ref = key[order], ref[order]
    new = np.ones(num_docs, dtype=bool)
    new[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, num_docs))
    multi = sizes >= 2
    group_starts, group_sizes = starts[multi], sizes[multi]
    in_bucket = np.repeat(group_starts, group_sizes) + _ranges(group_sizes)
    cand_ref = np.unique(ref[in_bucket])
    cand = _read_candidates(signature_files, cand_ref, params)

    # Members of each bucket as candidate indices, sorted by (crawl_date, id).
    pos = np.searchsorted(cand_ref, ref[in_bucket])
    group_of = np.repeat(np.arange(len(group_sizes)), group_sizes)
    rank = np.lexsort((cand["ids"], cand["dates"]))
    rank_of = np.empty_like(rank)
    rank_of[rank] = np.arange(len(rank))
    order = np.lexsort((rank_of[pos], group_of))
    pos = pos[order]
    bounds = np.concatenate(([0], np.cumsum(group_sizes)))
    pa_list, pb_list = [], []
    for g in range(len(group_sizes)):
        ia, ib = _bucket_pairs(pos[bounds[g] : bounds[g + 1]])
        pa_list.append(ia)
        pb_list.append(ib)
    ia = np.concatenate(pa_list) if pa_list else np.empty(0, np.int64)
    ib = np.concatenate(pb_list) if pb_list else np.empty(0, np.int64)
    sim = _estimate(cand["sig"], ia, ib)
    ok = sim >= params.threshold
    ia, ib, sim = ia[ok], ib[ok], sim[ok]
    table = pa.table(
        {
            "id_a": pa.array(cand["ids"][ia], pa.string()),
            "shard_a": pa.array(cand["shards"][ia], pa.int32()),
            "crawl_date_a": cand["raw_dates"].take(pa.array(ia, pa.int64())),
            "id_b": pa.array(cand["ids"][ib], pa.string()),
            "shard_b": pa.array(cand["shards"][ib], pa.int32()),
            "crawl_date_b": cand["raw_dates"].take(pa.array(ib, pa.int64())),
            "similarity": pa.array(sim.astype(np.float32)),
            "band": pa.array(np.full(len(ia), band, np.int16)),
        }
    )
    write_table(out, table, PAIR_SCHEMA)
    return {
        "band": band,
        "partition": partition,
        "num_docs": num_docs,
        "num_buckets": int(len(group_sizes)),
        "num_candidate_pairs": int(ok.size),
        "num_verified_pairs": int(ok.sum()),
    }


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s)`` for each ``s`` in ``sizes``."""
    total = int(sizes.sum()) if len(sizes) else 0
    if not total:
        return np.empty(0, np.int64)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(total) - starts


def _read_candidates(
    signature_files: Sequence[Path], cand_ref: np.ndarray, params: MinHashParams
) -> dict[str, Any]:
    """Second pass: id, shard, date and full signature of the candidate rows only."""
    ids, shards, dates, sigs = [], [], [], []
    file_of = cand_ref >> 40
    all_cols = ["id", "shard", "crawl_date"] + [_hcol(i) for i in range(params.num_perm)]
    for fi in np.unique(file_of):
        rows = cand_ref[file_of == fi] & ((1 << 40) - 1)
        table = pq.read_table(signature_files[int(fi)], columns=all_cols).take(pa.array(rows))
        ids.append(table.column("id").combine_chunks())
        shards.append(table.column("shard").to_numpy())
        dates.append(table.column("crawl_date").combine_chunks())
        sigs.append(
            np.column_stack([table.column(_hcol(i)).to_numpy() for i in range(params.num_perm)])
        )
    raw_dates = pa.concat_arrays(dates) if dates else pa.array([], pa.string())
    id_arr = pa.concat_arrays(ids) if ids else pa.array([], pa.string())
    return {
        "ids": id_arr.to_numpy(zero_copy_only=False).astype(str),
        "shards": np.concatenate(shards) if shards else np.empty(0, np.int32),
        "raw_dates": raw_dates,
        "dates": pc.fill_null(raw_dates, MISSING_DATE).to_numpy(zero_copy_only=False).astype(str),
        "sig": np.concatenate(sigs) if sigs else np.empty((0, params.num_perm), np.uint32),
    }


def _estimate(sig: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Share of equal signature values for each pair (chunked: pairs × num_perm booleans)."""
    out = np.empty(len(ia), dtype=np.float64)
    step = 65536
    for lo in range(0, len(ia), step):
        out[lo : lo + step] = (sig[ia[lo : lo + step]] == sig[ib[lo : lo + step]]).mean(axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# Clusters (one job) → drop list
# ---------------------------------------------------------------------------------------------


def _components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label (smallest member index) of nodes ``0 … n−1`` given edges.

    Union-find done in numpy: hook each edge's larger root under the smaller one
    (``np.minimum.at``), then compress paths by pointer jumping; repeat until every edge's ends
    share a root. Parents only ever decrease, so no cycle can form.
    """
    parent = np.arange(n)
    while True:
        ra, rb = parent[a], parent[b]
        if np.array_equal(ra, rb):
            return parent
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


def minhash_clusters(
    pair_files: Sequence[Path],
    out: Path,
    params: MinHashParams,
    *,
    out_clusters: Path | None = None,
) -> dict[str, Any]:
    """Reduce step: connected components of verified pairs → drop list + cluster table.

    Args:
        pair_files: ``minhash_buckets`` outputs of all bands (and partitions).
        out: drop list (``dedup_exact.DROP_SCHEMA``) for ``apply_drop(step="near_dedup")``.
        params: pairs below ``params.threshold`` are ignored (the bucket jobs already dropped
            them when run with the same threshold).
        out_clusters: cluster table (``CLUSTER_SCHEMA``); default ``<out stem>.clusters.parquet``
            beside ``out``.

    Returns:
        ``{"num_pairs", "num_docs_in_clusters", "num_clusters", "num_drop",
        "largest_cluster"}``.
    """
    cols = [f.name for f in PAIR_SCHEMA]
    tables = [pq.read_table(p, columns=cols) for p in pair_files]
    pairs = pa.concat_tables(tables) if tables else PAIR_SCHEMA.empty_table()
    pairs = pairs.filter(pc.greater_equal(pairs.column("similarity"), params.threshold))
    ids = pa.concat_arrays(
        [pairs.column("id_a").combine_chunks(), pairs.column("id_b").combine_chunks()]
    )
    shards = np.concatenate(
        [pairs.column("shard_a").to_numpy(), pairs.column("shard_b").to_numpy()]
    )
    dates = pa.concat_arrays(
        [
            pairs.column("crawl_date_a").combine_chunks(),
            pairs.column("crawl_date_b").combine_chunks(),
        ]
    )
    codes = pc.dictionary_encode(ids)
    index = codes.indices.to_numpy()
    uniq_ids = codes.dictionary.to_numpy(zero_copy_only=False).astype(str)
    n = len(uniq_ids)
    # Per distinct document: its shard and date (the first row it appears in).
    first_row = np.full(n, len(index), dtype=np.int64)
    np.minimum.at(first_row, index, np.arange(len(index)))
    doc_shard = shards[first_row] if n else np.empty(0, np.int32)
    doc_date_raw = dates.take(pa.array(first_row)) if n else pa.array([], pa.string())
    doc_date = pc.fill_null(doc_date_raw, MISSING_DATE).to_numpy(zero_copy_only=False).astype(str)
    num_pairs = pairs.num_rows
    label = _components(index[:num_pairs], index[num_pairs:], n)
    order, first = first_by_date_then_id(label, doc_date, uniq_ids)
    drop = order[first != order]
    drop_table = pa.table(
        {
            "id": pa.array(uniq_ids[drop], pa.string()),
            "shard": pa.array(doc_shard[drop], pa.int32()),
            "duplicate_of": pa.array(uniq_ids[first[first != order]], pa.string()),
        }
    ).sort_by([("shard", "ascending"), ("id", "ascending")])
    write_table(out, drop_table, DROP_SCHEMA)
    _, cluster = np.unique(label, return_inverse=True)
    kept = np.zeros(n, dtype=bool)
    kept[first] = True
    cluster_table = pa.table(
        {
            "cluster": pa.array(cluster[order].astype(np.int64)),
            "id": pa.array(uniq_ids[order], pa.string()),
            "shard": pa.array(doc_shard[order], pa.int32()),
            "crawl_date": doc_date_raw.take(pa.array(order)) if n else doc_date_raw,
            "kept": pa.array(kept[order]),
        }
    )
    if out_clusters is None:
        out_clusters = Path(out).with_name(Path(out).stem + ".clusters.parquet")
    write_table(out_clusters, cluster_table, CLUSTER_SCHEMA)
    sizes = np.bincount(cluster) if n else np.zeros(1, np.int64)
    return {
        "num_pairs": num_pairs,
        "num_docs_in_clusters": n,
        "num_clusters": int(len(sizes)) if n else 0,
        "num_drop": int(len(drop)),
        "largest_cluster": int(sizes.max()),
    }


if __name__ == "__main__":
    print_s_curve(MinHashParams())
