"""Steps of ``rules/dedup.smk``: exact, near (MinHash LSH) and substring (K-byte windows) dedup.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import arg, path, step

SHARD = arg("--shard", type=int, required=True)


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
    args=(path("out"), path("hashes", many=True)),
)
def exact_dups(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Reduce: documents whose normalised text an earlier document already has."""
    from skyforge.data.dedup.exact import exact_duplicates

    return exact_duplicates(args.hashes, args.out)


@step(
    "apply-drop",
    "remove listed documents of one shard",
    args=(
        path("docs"),
        path("drop"),
        path("out-docs"),
        path("out-removed"),
        SHARD,
        arg("--step", required=True, choices=["exact_dedup", "near_dedup"]),
    ),
)
def apply_drop(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Remove one shard's documents listed in a drop file."""
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
    "shuffle: one LSH band → pairs",
    sections=("dedup",),
    args=(path("out"), path("signatures", many=True), arg("--band", type=int, required=True)),
)
def minhash_buckets(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Shuffle: one LSH band over all shards' signatures → verified candidate pairs."""
    from skyforge.data.dedup.minhash import minhash_buckets as buckets

    return buckets(args.signatures, args.band, args.out, _minhash_params(cfg))


@step(
    "minhash-clusters",
    "reduce: components → drop list",
    sections=("dedup",),
    args=(path("out"), path("out-clusters"), path("pairs", many=True)),
)
def minhash_clusters(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Reduce: connected components of near-duplicate pairs → drop list."""
    from skyforge.data.dedup.minhash import minhash_clusters as clusters

    return clusters(args.pairs, args.out, _minhash_params(cfg), out_clusters=args.out_clusters)


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
