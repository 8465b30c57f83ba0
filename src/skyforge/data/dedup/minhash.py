"""Near-duplicate dedup across all shards: MinHash signatures, LSH bands, connected components.

SkyPile removes near-duplicate pages ("hash-based semantic dedup") over the whole crawl, which
does not fit in one job's memory, so the work is staged as Snakemake jobs: ``minhash_signatures``
(map, per shard) → ``minhash_buckets`` (shuffle, per band and partition of its keys: candidate
pairs verified against ``threshold`` by their signature estimate; :data:`BUCKET_BYTES_PER_DOC`
per document of the partition + :data:`BUCKET_BYTES_PER_CANDIDATE` per candidate) →
``minhash_components`` (reduce, one job per partition of the pairs: connected components) →
``minhash_clusters`` (one merge: the first document by ``(crawl_date, id)`` of each component
kept) → ``apply_drop`` per shard.

**The reduce in two passes.** A pair belongs to partition ``shard_a mod num_partitions`` (its
first document's shard; ``minhash_buckets`` writes pairs sorted by ``shard_a``, so a partition
reads only the row groups that can hold it). :func:`minhash_components` finds the components of
its partition's pairs and writes, per document, the first document by ``(crawl_date, id)`` of
its component there (its local root); :func:`merge_components` takes each such row as an edge
``document — local root`` and finds their components. They are exactly the components of all
the pairs: every pair lies in one partition, inside one local component, so its two documents
are joined through the local root; every row joins two documents that some pairs connect. The
kept document of a component, its minimum by ``(crawl_date, id)``, and the outputs' row orders
(drop list by shard and id, cluster table by kept document then date and id, component tables
by id) depend on nothing else, so any number of partitions, record batches and compactions
gives the same files byte for byte as :func:`minhash_clusters` in one job (the tests check it).
Label propagation over partitioned edge files would bound the merge too, but needs as many
rounds as the longest chain of pairs, unknown when the DAG is built.

**Memory.** The reduce holds documents, not pairs (:class:`_Graph`): buffered pairs are folded
into a per-document state (id, shard, date, component label) once they reach 1/8 of it. Its
peak is :data:`COMPONENT_BYTES_PER_DOC` = 500 B per distinct document held in a components job
and :data:`MERGE_BYTES_PER_DOC` = 400 B in the merge (the state, the buffered rows, the
dictionary encoding and union-find of a compaction; measured by ``benchmarks/minhash.py
--memory-only`` at 0.25–1 million documents: 434–489 B and 352–386 B), plus ~350 MB for the
process, 2^20 buffered pairs and the record batches read. A ``minhash_components`` job
holds the documents of its pairs: together the partitions hold each document in a cluster once
per partition it has pairs in (its own shard's, and those of the earlier documents it pairs
with: 1.4–1.5 times on the synthetic crawl); the merge holds every document in a cluster once.
At Common Crawl scale (3 billion documents, 10–30 % of them in a cluster: D = 0.3–0.9 billion):
the one-job reduce of before read every pair row (~150 B each in Arrow, and a document is in
6 pair rows on the synthetic crawl, 15–60 in the benchmark's clusters, one per band it shares
and per bucket partner): 0.3–8 TB. Now the components jobs take ``dedup.near.memory_budget_gb``
each (16 GiB: 53 partitions at D = 0.9 billion), and the merge 400 B × D = 121–364 GB, within a
512 GB node up to D ≈ 1.2 billion (and at most 2^31 − 1 documents a job: Arrow's dictionary
codes are int32).

Shingles are word n-grams in English and character n-grams in Chinese (each CJK character is a
token), hashed for a whole record batch at once in numpy. The permutations are
``(a·x + b) mod (2^31 − 1)`` on 31-bit shingle hashes with a fold instead of a division; the
docs page says why that prime and why two folds. Defaults: 128 = 16 bands × 8 rows, threshold
0.7. No library (datasketch, datatrove) stages the work over Parquet shards or vectorises it.

Parameters, shingles and signatures live in :mod:`skyforge.data.dedup.signatures` (re-exported
here); this module holds the bands, buckets and clusters.

See docs/dedup.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from skyforge.config import DedupConfig, section_defaults
from skyforge.core.io import atomic_path
from skyforge.data.dedup.exact import (
    BATCH_ROWS,
    DROP_SCHEMA,
    MISSING_DATE,
    open_parquet,
    take_rows,
    write_rows,
)
from skyforge.data.dedup.signatures import (
    META_KEY,
    POSITION_MULT,
    MinHashParams,
    compute_signatures,
    hash_column,
    minhash_signatures,
    print_s_curve,
    s_curve_table,
    shingle_hashes,
    signature_schema,
    tokenize,
)
from skyforge.data.docs import iter_doc_batches

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
    "bucket_peak_bytes",
    "BUCKET_BYTES_PER_DOC",
    "BUCKET_BYTES_PER_CANDIDATE",
    "COMPONENT_SCHEMA",
    "minhash_components",
    "merge_components",
    "minhash_clusters",
]

log = logging.getLogger(__name__)

# Buckets up to this size are verified pair by pair (≤ 496 pairs); a larger bucket (a template
# shared by thousands of pages) is linked as a star to its first document plus a chain through
# its members in (crawl_date, id) order, keeping the pair count linear in the bucket size.
_MAX_ALL_PAIRS_BUCKET = 32

BUCKET_BYTES_PER_DOC = 48
"""Memory of a ``minhash_buckets`` job per document of its band partition (first pass: band
key and file/row reference, their sort order and sorted copies; :func:`minhash_buckets`)."""
BUCKET_BYTES_PER_CANDIDATE = 1_600
"""Memory of a ``minhash_buckets`` job per candidate (a document of its partition in a bucket
of two or more: its full signature, id and date, bucket order, pairs and output rows)."""


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
"""Columns of a ``minhash_buckets`` pair file: verified pairs only (similarity ≥ threshold),
sorted by ``shard_a``."""

PAIR_ROW_GROUP = 1 << 16
"""Rows per row group of a pair file: at Common Crawl scale a band file holds ~10^5 pairs per
shard, so a row group spans one or two shards and its statistics can rule a partition out."""

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
    stored = meta.get(META_KEY)
    if stored is None:
        raise ValueError(f"{path}: not a minhash signature file (no {META_KEY.decode()} metadata)")
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
        key = (key ^ values[:, j].astype(np.uint64)) * POSITION_MULT[j % len(POSITION_MULT)]
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


def bucket_peak_bytes(num_docs: float, num_candidates: float) -> float:
    """Peak memory of one ``minhash_buckets`` job above the process and the record batches it
    reads: the documents of its band partition and those of them in a bucket of two or more
    (the candidates), at :data:`BUCKET_BYTES_PER_DOC` and :data:`BUCKET_BYTES_PER_CANDIDATE`."""
    return BUCKET_BYTES_PER_DOC * num_docs + BUCKET_BYTES_PER_CANDIDATE * num_candidates


def minhash_buckets(
    signature_files: Sequence[Path],
    band: int,
    out: Path,
    params: MinHashParams,
    *,
    partition: int = 0,
    num_partitions: int = 1,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Shuffle step for one band (or one partition of it): bucket documents by band values,
    write verified pairs.

    With ``num_partitions > 1`` the job handles only the documents whose band key is
    ``partition`` modulo ``num_partitions``. The members of a bucket share its key, so a bucket
    never spans partitions, and the partitions' pair files together hold exactly the one-job
    file's rows (each file sorted by ``shard_a`` on its own): run one job per partition and
    pass every file to ``minhash_components``.

    Two streaming passes over the signature files, one row group at a time in record batches
    of ``batch_rows`` (:func:`skyforge.data.docs.iter_doc_batches`), holding only the
    partition's rows: the first reads the band's ``rows`` hash columns and keeps a 64-bit key
    and a 64-bit (file, row) reference per document of the partition, then sorts them
    (:data:`BUCKET_BYTES_PER_DOC` = 48 B a document); the second reads id, shard, date and the
    full signature of the candidates only (documents in a bucket of two or more), pairs them
    and writes the verified pairs (:data:`BUCKET_BYTES_PER_CANDIDATE` = 1,600 B a candidate:
    the 4 × ``num_perm`` bytes of its signature, its id and date as numpy strings for the
    ordering, the pairs and the output rows). Peak memory above the process and the batches
    read: ``bucket_peak_bytes(documents, candidates)`` of the partition, i.e.
    ``(48 + 1,600 × candidate share) × documents / num_partitions``; measured by
    ``benchmarks/minhash.py --memory-only`` (docs/dedup.md).

    Args:
        signature_files: ``minhash_signatures`` outputs of ALL shards.
        band: which band (0 … bands−1); only its ``rows`` columns are read in the first pass.
        out: pair file (``PAIR_SCHEMA``).
        params: the same parameters the signatures were made with.
        partition: with ``num_partitions > 1``, this job handles band keys ≡ partition.
        num_partitions: split of the band-key space, to bound memory on large corpora.
        batch_rows: rows per record batch read.

    Returns:
        ``{"band", "partition", "num_partitions", "num_docs", "num_candidates",
        "num_buckets", "num_candidate_pairs", "num_verified_pairs"}`` (buckets of ≥ 2
        documents; documents and candidates of this partition).

    Raises:
        ValueError: band or partition out of range, a signature file without the band's
            columns (naming it), or signatures made with other params.
    """
    if not 0 <= band < params.bands:
        raise ValueError(f"minhash band {band} out of range 0..{params.bands - 1}")
    if num_partitions < 1 or not 0 <= partition < num_partitions:
        raise ValueError(f"partition {partition} of {num_partitions}: need 0 <= partition < n")
    cols = [hash_column(band * params.rows + j) for j in range(params.rows)]
    keys, refs = [], []
    for fi, path in enumerate(signature_files):
        _check_params(path, params)
        open_parquet(path, cols)
        start = 0
        for batch in iter_doc_batches(path, batch_rows, columns=cols):
            values = np.column_stack([batch.column(c).to_numpy(zero_copy_only=False) for c in cols])
            key = _band_keys(values)
            # A document reference packs (file index, row) into one int64: 2^40 rows per shard.
            ref = (fi << 40) | np.arange(start, start + len(key), dtype=np.int64)
            start += len(key)
            if num_partitions > 1:
                sel = key % np.uint64(num_partitions) == partition
                key, ref = key[sel], ref[sel]
            keys.append(key)
            refs.append(ref)
            del batch, values
    key = np.concatenate(keys + [np.empty(0, np.uint64)])
    ref = np.concatenate(refs + [np.empty(0, np.int64)])
    del keys, refs
    num_docs = len(key)
    order = np.argsort(key, kind="stable")
    key = key[order]
    ref = ref[order]
    del order
    new = np.ones(num_docs, dtype=bool)
    new[1:] = key[1:] != key[:-1]
    del key
    starts = np.flatnonzero(new)
    del new
    sizes = np.diff(np.append(starts, num_docs))
    multi = sizes >= 2
    group_starts, group_sizes = starts[multi], sizes[multi]
    del starts, sizes, multi
    in_bucket = np.repeat(group_starts, group_sizes) + _ranges(group_sizes)
    ref = ref[in_bucket]
    del in_bucket, group_starts
    cand_ref = np.unique(ref)
    cand = _read_candidates(signature_files, cand_ref, params, batch_rows)

    # Members of each bucket as candidate indices, sorted by (crawl_date, id).
    pos = np.searchsorted(cand_ref, ref)
    del ref
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
    _write_pairs(out, table)
    return {
        "band": band,
        "partition": partition,
        "num_partitions": num_partitions,
        "num_docs": num_docs,
        "num_candidates": len(cand_ref),
        "num_buckets": int(len(group_sizes)),
        "num_candidate_pairs": int(ok.size),
        "num_verified_pairs": int(ok.sum()),
    }


def _write_pairs(out: Path, table: pa.Table) -> None:
    """Write a pair file sorted by ``shard_a`` (stable), in row groups of
    :data:`PAIR_ROW_GROUP` rows, so that a ``minhash_components`` job reads only the row groups
    whose ``shard_a`` range can hold its partition (Parquet statistics)."""
    table = table.take(pc.sort_indices(table, sort_keys=[("shard_a", "ascending")]))
    table = table.select(PAIR_SCHEMA.names).cast(PAIR_SCHEMA)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=PAIR_ROW_GROUP)


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s)`` for each ``s`` in ``sizes``."""
    total = int(sizes.sum()) if len(sizes) else 0
    if not total:
        return np.empty(0, np.int64)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(total) - starts


def _read_candidates(
    signature_files: Sequence[Path],
    cand_ref: np.ndarray,
    params: MinHashParams,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Second pass: id, shard, date and full signature of the candidate rows only, streamed a
    record batch at a time (``cand_ref`` sorted, so the rows come out in its order)."""
    ids, shards, dates, sigs = [], [], [], []
    file_of = cand_ref >> 40
    hash_cols = [hash_column(i) for i in range(params.num_perm)]
    all_cols = ["id", "shard", "crawl_date"] + hash_cols
    for fi in np.unique(file_of):
        rows = cand_ref[file_of == fi] & ((1 << 40) - 1)
        path = signature_files[int(fi)]
        open_parquet(path, all_cols)
        start = 0
        for batch in iter_doc_batches(path, batch_rows, columns=all_cols):
            lo, hi = np.searchsorted(rows, [start, start + batch.num_rows])
            if hi > lo:
                table = batch.take(pa.array(rows[lo:hi] - start))
                ids.append(table.column("id"))
                shards.append(table.column("shard").to_numpy(zero_copy_only=False))
                dates.append(table.column("crawl_date"))
                sigs.append(
                    np.column_stack(
                        [table.column(c).to_numpy(zero_copy_only=False) for c in hash_cols]
                    )
                )
            start += batch.num_rows
            del batch
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
# Clusters: components per partition of the pairs, then one merge → drop list
# ---------------------------------------------------------------------------------------------

COMPONENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("crawl_date", pa.string()),
        pa.field("root", pa.string(), nullable=False),  # first by (crawl_date, id) of its component
        pa.field("root_shard", pa.int32(), nullable=False),
        pa.field("root_crawl_date", pa.string()),
    ]
)
"""Columns of a ``minhash_components`` table: every document of the partition's pairs and the
first document by ``(crawl_date, id)`` of its component among those pairs; sorted by id."""

COMPONENT_BYTES_PER_DOC = 500
"""Peak memory of a ``minhash_components`` job (or the one-job :func:`minhash_clusters`) per
distinct document it holds, above the process, the 2^20 pairs buffered first and the batches
read (module docstring; measured by ``benchmarks/minhash.py --memory-only``)."""
MERGE_BYTES_PER_DOC = 400
"""The same for :func:`merge_components`, whose input has one or two rows per document."""

_PAIR_COLUMNS = ["id_a", "shard_a", "crawl_date_a", "id_b", "shard_b", "crawl_date_b"]
_MIN_PENDING = 1 << 20
"""Edges buffered before the first compaction of a :class:`_Graph`."""
_PENDING_SHARE = 0.125
"""A :class:`_Graph` compacts once its buffered edges reach this share of its documents."""


def _components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label (smallest member index) of nodes ``0 … n−1`` given edges.

    Union-find done in numpy: hook each edge's larger root under the smaller one
    (``np.minimum.at``), then compress paths by pointer jumping; repeat until every edge's ends
    share a root. Parents only ever decrease, so no cycle can form.
    """
    parent = np.arange(n, dtype=a.dtype)
    while True:
        ra, rb = parent[a], parent[b]
        if np.array_equal(ra, rb):
            return parent
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        del ra, rb
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


def _large(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A string column as one large_string array (64-bit offsets: no 2 GiB limit)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return pc.cast(values, pa.large_string())


class _Graph:
    """Connected components of a stream of edges between documents, held per document.

    Edges are buffered and, once they reach :data:`_PENDING_SHARE` of the documents seen (and
    at least ``min_pending``), folded in: the documents and the buffer are dictionary-encoded
    together, union-find runs over the buffered edges plus one edge per document to the label
    of its component so far, and the state becomes, per distinct document, its id, shard, date
    and label (an index of a document of its component). The edges are then dropped, so the
    memory follows the distinct documents, not the pairs (which repeat a document once per
    band and per bucket partner). The labels depend on the order edges came in; the first
    document by ``(crawl_date, id)`` per component (:meth:`roots`) does not.

    A document's shard and date are taken from its first row; every row of a document carries
    the same ones.
    """

    def __init__(self, min_pending: int = _MIN_PENDING) -> None:
        self.ids = pa.array([], pa.large_string())
        self.shard = np.empty(0, np.int32)
        self.date = pa.array([], pa.large_string())
        self.label = np.empty(0, np.int32)
        self.min_pending = min_pending
        self.num_edges = 0
        self.num_compactions = 0
        self._pending: list[tuple[pa.Array, pa.Array, np.ndarray, np.ndarray, pa.Array, pa.Array]]
        self._pending = []
        self._num_pending = 0

    def add(self, id_a, id_b, shard_a, shard_b, date_a, date_b) -> None:
        """Buffer the edges ``id_a[i] — id_b[i]`` (with each end's shard and crawl date)."""
        n = len(id_a)
        if not n:
            return
        self._pending.append(
            (
                _large(id_a),
                _large(id_b),
                np.asarray(shard_a, dtype=np.int32),
                np.asarray(shard_b, dtype=np.int32),
                _large(date_a),
                _large(date_b),
            )
        )
        self._num_pending += n
        self.num_edges += n
        if self._num_pending >= max(self.min_pending, _PENDING_SHARE * len(self.ids)):
            self.compact()

    def compact(self) -> None:
        """Fold the buffered edges into the per-document state."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        s, e = len(self.ids), self._num_pending
        self._num_pending = 0
        ids = pa.chunked_array(
            [self.ids] + [p[0] for p in pending] + [p[1] for p in pending], pa.large_string()
        )
        encoded = pc.dictionary_encode(ids)
        del ids
        self.ids = pa.array([], pa.large_string())
        dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
        n = len(dictionary)
        # Arrow's dictionary codes are int32: at most 2^31 − 1 distinct documents a job.
        index = np.concatenate([c.indices.to_numpy() for c in encoded.chunks])
        del encoded
        # Codes are given in order of first appearance (the state's documents first, as
        # 0 … s−1): a row is a document's first exactly where the running maximum grows.
        grows = np.empty(len(index), dtype=bool)
        grows[0] = True
        running = np.maximum.accumulate(index)
        grows[1:] = running[1:] > running[:-1]
        del running
        first = np.flatnonzero(grows)
        del grows
        shard_all = np.concatenate([self.shard] + [p[2] for p in pending] + [p[3] for p in pending])
        date_all = [self.date] + [p[4] for p in pending] + [p[5] for p in pending]
        del pending
        self.shard = shard_all[first]
        self.date = take_rows(date_all, first)
        del shard_all, date_all, first
        a = np.concatenate([np.arange(s, dtype=np.int32), index[s : s + e]])
        b = np.concatenate([self.label, index[s + e :]])
        del index
        self.label = _components(a, b, n)
        self.ids = dictionary
        self.num_compactions += 1
        pa.default_memory_pool().release_unused()

    def roots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fold in the buffer; return, per document, the index of its component's first
        document by ``(crawl_date, id)``, and the documents in cluster-table order.

        Returns:
            ``(root, order, cluster)``: ``order`` lists the documents by (their root's
            (crawl_date, id), their own (crawl_date, id)); ``cluster[j]`` numbers the component
            of document ``order[j]`` from 0 in that order.
        """
        self.compact()
        n = len(self.ids)
        date_key = pc.fill_null(self.date, MISSING_DATE)
        by_label = pc.sort_indices(
            pa.table({"c": self.label, "d": date_key, "i": self.ids}),
            sort_keys=[("c", "ascending"), ("d", "ascending"), ("i", "ascending")],
        ).to_numpy()
        label = self.label[by_label]
        head = np.ones(n, dtype=bool)
        head[1:] = label[1:] != label[:-1]
        del label
        component = np.cumsum(head) - 1
        heads = by_label[np.flatnonzero(head)]
        root = np.empty(n, dtype=np.int64)
        root[by_label] = heads[component]
        rank = np.empty(len(heads), dtype=np.int64)
        kept = pa.table({"d": date_key.take(pa.array(heads)), "i": self.ids.take(pa.array(heads))})
        rank[
            pc.sort_indices(kept, sort_keys=[("d", "ascending"), ("i", "ascending")]).to_numpy()
        ] = np.arange(len(heads))
        cluster = rank[component]
        regroup = np.argsort(cluster, kind="stable")
        return root, by_label[regroup], cluster[regroup]


def _hits(lo: int, hi: int, partition: int, num_partitions: int) -> bool:
    """Whether some shard in ``[lo, hi]`` is ``partition`` modulo ``num_partitions``."""
    return hi - lo + 1 >= num_partitions or (partition - lo) % num_partitions <= hi - lo


def _pair_batches(
    pair_files: Sequence[Path],
    threshold: float,
    partition: int,
    num_partitions: int,
    batch_rows: int,
):
    """Verified pairs (similarity ≥ threshold) whose ``shard_a`` is ``partition`` mod
    ``num_partitions``, a record batch at a time. Row groups whose ``shard_a`` statistics rule
    the partition out are not read (``minhash_buckets`` writes its pairs sorted by ``shard_a``).
    """
    cols = _PAIR_COLUMNS + ["similarity"]
    for path in pair_files:
        pf = open_parquet(path, cols)
        meta = pf.metadata
        col = [meta.schema.column(j).path for j in range(meta.num_columns)].index("shard_a")
        groups = []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(col).statistics
            if num_partitions > 1 and stats is not None and stats.has_min_max:
                if not _hits(int(stats.min), int(stats.max), partition, num_partitions):
                    continue
            groups.append(g)
        if not groups:
            continue
        for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=cols):
            keep = pc.greater_equal(batch.column("similarity"), threshold)
            if num_partitions > 1:
                shard_a = batch.column("shard_a").to_numpy(zero_copy_only=False).astype(np.int64)
                keep = pc.and_(keep, pa.array(shard_a % num_partitions == partition))
            yield batch.filter(keep)


_PAIR_EDGE = ("id_a", "id_b", "shard_a", "shard_b", "crawl_date_a", "crawl_date_b")
_ROOT_EDGE = ("id", "root", "shard", "root_shard", "crawl_date", "root_crawl_date")
"""Column names of an edge (ids, shards, crawl dates of both ends) in a pair or component row."""


def _add_edges(graph: _Graph, batch: pa.RecordBatch, names: tuple[str, ...]) -> None:
    """Add a batch's edges to ``graph``; ``names``: :data:`_PAIR_EDGE` or :data:`_ROOT_EDGE`."""
    id_a, id_b, shard_a, shard_b, date_a, date_b = (batch.column(n) for n in names)
    graph.add(
        id_a,
        id_b,
        shard_a.to_numpy(zero_copy_only=False),
        shard_b.to_numpy(zero_copy_only=False),
        date_a,
        date_b,
    )


def _add_pairs(graph: _Graph, batch: pa.RecordBatch) -> None:
    _add_edges(graph, batch, _PAIR_EDGE)


def minhash_components(
    pair_files: Sequence[Path],
    out: Path,
    params: MinHashParams,
    *,
    partition: int = 0,
    num_partitions: int = 1,
    batch_rows: int = BATCH_ROWS,
    min_pending: int = _MIN_PENDING,
) -> dict[str, Any]:
    """First reduce pass: connected components of one partition of the verified pairs.

    The partition holds the pairs whose first document's shard (``shard_a``) is ``partition``
    modulo ``num_partitions``; every pair lies in exactly one partition. Each component found
    is a connected part of a global component; :func:`merge_components` joins them.

    Args:
        pair_files: ``minhash_buckets`` outputs of all bands.
        out: component table (``COMPONENT_SCHEMA``), one row per document of the partition's
            pairs, sorted by id.
        params: pairs below ``params.threshold`` are ignored.
        partition: which partition this job handles.
        num_partitions: how many jobs split the pairs.
        batch_rows: rows per record batch read.
        min_pending: edges buffered before the first compaction (:class:`_Graph`).

    Returns:
        ``{"partition", "num_partitions", "num_pairs", "num_docs", "num_components",
        "num_compactions"}``.

    Raises:
        ValueError: bad partition arguments, or a pair file without the expected columns.
    """
    if num_partitions < 1 or not 0 <= partition < num_partitions:
        raise ValueError(f"partition {partition} of {num_partitions}: need 0 <= partition < n")
    graph = _Graph(min_pending)
    for batch in _pair_batches(pair_files, params.threshold, partition, num_partitions, batch_rows):
        _add_pairs(graph, batch)
    root, _, cluster = graph.roots()
    by_id = pc.sort_indices(graph.ids).to_numpy()
    write_rows(
        out,
        COMPONENT_SCHEMA,
        by_id,
        lambda part: {
            "id": graph.ids.take(pa.array(part)),
            "shard": graph.shard[part],
            "crawl_date": graph.date.take(pa.array(part)),
            "root": graph.ids.take(pa.array(root[part])),
            "root_shard": graph.shard[root[part]],
            "root_crawl_date": graph.date.take(pa.array(root[part])),
        },
    )
    return {
        "partition": partition,
        "num_partitions": num_partitions,
        "num_pairs": graph.num_edges,
        "num_docs": len(graph.ids),
        "num_components": int(cluster[-1]) + 1 if len(cluster) else 0,
        "num_compactions": graph.num_compactions,
    }


def merge_components(
    component_files: Sequence[Path],
    out: Path,
    *,
    out_clusters: Path | None = None,
    batch_rows: int = BATCH_ROWS,
    min_pending: int = _MIN_PENDING,
) -> dict[str, Any]:
    """Second reduce pass: join the partitions' components → drop list + cluster table.

    Each row ``id → root`` of a component table is an edge inside one global component, and
    every pair of the partitions lies inside one partition's component, so the components of
    these edges are exactly those of all the pairs (module docstring).

    Args:
        component_files: ``minhash_components`` outputs of every partition.
        out: drop list (``DROP_SCHEMA``) for ``apply_drop(step="near_dedup")``.
        out_clusters: cluster table (``CLUSTER_SCHEMA``); default ``<out stem>.clusters.parquet``
            beside ``out``.
        batch_rows: rows per record batch read.
        min_pending: edges buffered before the first compaction (:class:`_Graph`).

    Returns:
        ``{"num_pairs", "num_docs_in_clusters", "num_clusters", "num_drop",
        "largest_cluster"}`` (``num_pairs``: component rows read).

    Raises:
        ValueError: no component files, or one without the expected columns.
    """
    if not component_files:
        raise ValueError("merge_components: no component files given")
    graph = _Graph(min_pending)
    cols = [f.name for f in COMPONENT_SCHEMA]
    for path in component_files:
        for batch in open_parquet(path, cols).iter_batches(batch_size=batch_rows, columns=cols):
            _add_edges(graph, batch, _ROOT_EDGE)
    return _write_clusters(graph, out, out_clusters)


def minhash_clusters(
    pair_files: Sequence[Path],
    out: Path,
    params: MinHashParams,
    *,
    out_clusters: Path | None = None,
    batch_rows: int = BATCH_ROWS,
    min_pending: int = _MIN_PENDING,
) -> dict[str, Any]:
    """The whole reduce in one process: connected components of all verified pairs → drop list
    + cluster table; the same files as :func:`minhash_components` over any number of
    partitions followed by :func:`merge_components`.

    Args:
        pair_files: ``minhash_buckets`` outputs of all bands (and partitions).
        out: drop list (``dedup_exact.DROP_SCHEMA``) for ``apply_drop(step="near_dedup")``.
        params: pairs below ``params.threshold`` are ignored (the bucket jobs already dropped
            them when run with the same threshold).
        out_clusters: cluster table (``CLUSTER_SCHEMA``); default ``<out stem>.clusters.parquet``
            beside ``out``.
        batch_rows: rows per record batch read.
        min_pending: edges buffered before the first compaction (:class:`_Graph`).

    Returns:
        ``{"num_pairs", "num_docs_in_clusters", "num_clusters", "num_drop",
        "largest_cluster"}``.
    """
    graph = _Graph(min_pending)
    for batch in _pair_batches(pair_files, params.threshold, 0, 1, batch_rows):
        _add_pairs(graph, batch)
    return _write_clusters(graph, out, out_clusters)


def _write_clusters(graph: _Graph, out: Path, out_clusters: Path | None) -> dict[str, Any]:
    """Drop list (every document but its component's first by (crawl_date, id)) and cluster
    table of ``graph``; clusters are numbered in the order of their kept documents."""
    root, order, cluster = graph.roots()
    n = len(graph.ids)
    by_id = pc.sort_indices(graph.ids).to_numpy()
    by_shard_id = by_id[np.argsort(graph.shard[by_id], kind="stable")]
    drop = by_shard_id[root[by_shard_id] != by_shard_id]  # sorted by (shard, id)
    del by_id, by_shard_id
    write_rows(
        out,
        DROP_SCHEMA,
        drop,
        lambda part: {
            "id": graph.ids.take(pa.array(part)),
            "shard": graph.shard[part],
            "duplicate_of": graph.ids.take(pa.array(root[part])),
        },
    )
    if out_clusters is None:
        out_clusters = Path(out).with_name(Path(out).stem + ".clusters.parquet")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    write_rows(
        out_clusters,
        CLUSTER_SCHEMA,
        order,
        lambda part: {
            "cluster": cluster[position[part]],
            "id": graph.ids.take(pa.array(part)),
            "shard": graph.shard[part],
            "crawl_date": graph.date.take(pa.array(part)),
            "kept": root[part] == part,
        },
    )
    sizes = np.bincount(cluster) if n else np.zeros(1, np.int64)
    return {
        "num_pairs": graph.num_edges,
        "num_docs_in_clusters": n,
        "num_clusters": int(len(sizes)) if n else 0,
        "num_drop": len(drop),
        "largest_cluster": int(sizes.max()),
    }


if __name__ == "__main__":
    print_s_curve(MinHashParams.from_section(DedupConfig.from_dict(section_defaults("dedup"))))
