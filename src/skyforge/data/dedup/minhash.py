"""Near-duplicate dedup across all shards: MinHash signatures, LSH bands, connected components.

SkyPile removes near-duplicate pages ("hash-based semantic dedup") over the whole crawl, which
does not fit in one job's memory, so the work is staged as Snakemake jobs: ``minhash_signatures``
(map, per shard) → ``minhash_buckets`` (shuffle, per band: candidate pairs verified against
``threshold`` by their signature estimate) → ``minhash_clusters`` (reduce: union-find, the first
document by ``(crawl_date, id)`` of each component kept) → ``apply_drop`` per shard. Only the
reduce job's memory grows with the corpus, with the number of near-duplicate pairs.

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
from skyforge.data.dedup.exact import DROP_SCHEMA, MISSING_DATE, first_by_date_then_id
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
from skyforge.data.docs import write_table

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

# Buckets up to this size are verified pair by pair (≤ 496 pairs); a larger bucket (a template
# shared by thousands of pages) is linked as a star to its first document plus a chain through
# its members in (crawl_date, id) order, keeping the pair count linear in the bucket size.
_MAX_ALL_PAIRS_BUCKET = 32


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
    cols = [hash_column(band * params.rows + j) for j in range(params.rows)]
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
    all_cols = ["id", "shard", "crawl_date"] + [hash_column(i) for i in range(params.num_perm)]
    for fi in np.unique(file_of):
        rows = cand_ref[file_of == fi] & ((1 << 40) - 1)
        table = pq.read_table(signature_files[int(fi)], columns=all_cols).take(pa.array(rows))
        ids.append(table.column("id").combine_chunks())
        shards.append(table.column("shard").to_numpy())
        dates.append(table.column("crawl_date").combine_chunks())
        sigs.append(
            np.column_stack(
                [table.column(hash_column(i)).to_numpy() for i in range(params.num_perm)]
            )
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
    print_s_curve(MinHashParams.from_section(DedupConfig.from_dict(section_defaults("dedup"))))
