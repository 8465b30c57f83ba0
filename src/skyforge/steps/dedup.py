"""Steps of ``rules/dedup.smk``: exact, near (MinHash LSH) and substring (K-byte windows) dedup.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import arg, path, step

SHARD = arg("--shard", type=int, required=True)
PARTITION = arg("--partition", type=int, default=0, help="this job's partition (0 … n−1)")
NUM_PARTITIONS = arg("--num-partitions", type=int, default=1, help="jobs the reduce is split into")


def _minhash_params(cfg: dict[str, Any]):
    from skyforge.data.dedup.minhash import MinHashParams

    return MinHashParams.from_section(C.DedupConfig.from_dict(cfg["dedup"]))


@step(
    "exact-hashes",
    "map: normalised-text hashes",
    args=(path("docs"), path("out"), SHARD),
)
def exact_hashes(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Map: normalised-text hashes of one shard."""
    from skyforge.data.dedup.exact import exact_hashes as hashes

    return hashes(args.docs, args.shard, args.out)


@step(
    "exact-dups",
    "reduce: exact duplicates across shards",
    args=(path("out"), path("hashes", many=True), PARTITION, NUM_PARTITIONS),
)
def exact_dups(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Reduce: documents whose normalised text an earlier document already has (one partition
    of the hash space)."""
    from skyforge.data.dedup.exact import exact_duplicates

    return exact_duplicates(
        args.hashes, args.out, partition=args.partition, num_partitions=args.num_partitions
    )


@step(
    "apply-drop",
    "remove listed documents of one shard",
    args=(
        path("docs"),
        path("drop", many=True),
        path("out-docs"),
        path("out-removed"),
        SHARD,
        arg("--step", required=True, choices=["exact_dedup", "near_dedup"]),
    ),
)
def apply_drop(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Remove one shard's documents listed in the drop files (one per reduce partition)."""
    from skyforge.data.dedup.exact import apply_drop as drop

    return drop(args.docs, args.drop, args.shard, args.step, args.out_docs, args.out_removed)


@step(
    "minhash-signatures",
    "map: MinHash signatures",
    sections=("dedup",),
    args=(path("docs"), path("out"), SHARD),
)
def minhash_signatures(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Map: MinHash signatures of one shard."""
    from skyforge.data.dedup.minhash import minhash_signatures as signatures

    return signatures(args.docs, args.shard, args.out, _minhash_params(cfg))


@step(
    "minhash-buckets",
    "shuffle: one partition of one LSH band → pairs",
    sections=("dedup",),
    args=(
        path("out"),
        path("signatures", many=True),
        arg("--band", type=int, required=True),
        PARTITION,
        NUM_PARTITIONS,
    ),
)
def minhash_buckets(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Shuffle: one LSH band over all shards' signatures → verified candidate pairs, for the
    band keys that are the partition modulo the number of partitions."""
    from skyforge.data.dedup.minhash import minhash_buckets as buckets

    return buckets(
        args.signatures,
        args.band,
        args.out,
        _minhash_params(cfg),
        partition=args.partition,
        num_partitions=args.num_partitions,
    )


@step(
    "minhash-components",
    "reduce 1/2: components of one partition of the pairs",
    sections=("dedup",),
    args=(path("out"), path("pairs", many=True), PARTITION, NUM_PARTITIONS),
)
def minhash_components(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Reduce, first pass: connected components of the near-duplicate pairs whose first
    document's shard is the partition modulo the number of partitions."""
    from skyforge.data.dedup.minhash import minhash_components as components

    return components(
        args.pairs,
        args.out,
        _minhash_params(cfg),
        partition=args.partition,
        num_partitions=args.num_partitions,
    )


@step(
    "minhash-clusters",
    "reduce 2/2: merged components → drop list",
    args=(path("out"), path("out-clusters"), path("components", many=True)),
)
def minhash_clusters(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Reduce, second pass: the partitions' components joined → drop list and cluster table."""
    from skyforge.data.dedup.minhash import merge_components

    return merge_components(args.components, args.out, out_clusters=args.out_clusters)


@step(
    "substring-dedup",
    "exact substring dedup of a group (hash-partitioned windows)",
    sections=("dedup", "stream"),
    args=(
        arg("--group", required=True),
        arg("--shards", type=int, nargs="+", required=True),
        path("out-spans"),
        path("docs", many=True),
        path("out-docs", many=True),
        path("out-removed", many=True),
    ),
)
def substring_dedup(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Removal of repeated substrings in one language group of all shards (hash-partitioned
    K-byte windows, within ``dedup.substring.memory_budget_gb``)."""
    from skyforge.data.dedup.substring import default_min_length_bytes
    from skyforge.data.dedup.substring import substring_dedup as dedup
    from skyforge.data.docs import BatchLimits

    sub = cfg["dedup"]["substring"]
    langs = sub["groups"][args.group]
    return dedup(
        args.docs,
        args.shards,
        args.out_docs,
        args.out_removed,
        args.out_spans,
        min_length_bytes=sub["min_length_bytes"] or default_min_length_bytes(langs),
        langs=langs,
        memory_budget_bytes=int(sub["memory_budget_gb"] * 1024**3),
        limits=BatchLimits.from_section(cfg["stream"]),
    )
