"""Steps of ``rules/tokenize.smk``: tokenizer, megatron-core indexed-dataset packs, blends.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from skyforge.config import TrainConfig
from skyforge.steps.registry import arg, path, step

THREADS = arg("--threads", type=int, default=None, help="tokenizer threads (default: all cores)")


@step(
    "train-tokenizer",
    "train (or check) the tokenizer",
    sections=("tokenizer", "train"),
    args=(path("train", many=True), path("heldout", many=True), path("out-dir"), THREADS),
)
def train_tokenizer(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train the bilingual BPE (or check and copy the configured existing tokenizer)."""
    from skyforge.tokenize import tokenizer as T

    tok = cfg["tokenizer"]
    specials = tok["special_tokens"] or T.DEFAULT_SPECIAL_TOKENS
    heldout = T.files_by_corpus(args.heldout)
    if tok["existing"]:
        return T.check_tokenizer(
            Path(tok["existing"]),
            tok["vocab_size"],
            specials,
            args.out_dir,
            heldout_files=heldout,
            reference=tok["reference"],
        )
    return T.train_tokenizer(
        T.files_by_corpus(args.train),
        heldout,
        args.out_dir,
        vocab_size=tok["vocab_size"],
        mix={T.MIX_CORPORA[k]: v for k, v in cfg["train"]["stage1"]["mix"].items()},
        sample_bytes=int(tok["sample_bytes"]),
        split_digits=tok["split_digits"],
        byte_fallback=tok["byte_fallback"],
        special_tokens=specials,
        seed=tok["seed"],
        reference=tok["reference"],
        num_threads=args.threads,
    )


@step(
    "pack",
    "tokenize one corpus shard into a pack",
    args=(path("docs"), path("tokenizer"), path("out-prefix"), THREADS),
)
def pack(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Tokenize one corpus shard into a megatron-core indexed dataset."""
    from skyforge.tokenize.packs import tokenize_shard

    return tokenize_shard(args.docs, args.tokenizer, args.out_prefix, num_threads=args.threads)


@step(
    "merge-packs",
    "merge shard packs of a corpus split",
    args=(path("inputs", many=True), path("out-prefix")),
)
def merge_packs(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Merge the shard packs of one corpus split, in shard order."""
    from skyforge.tokenize.packs import merge_packs as merge

    return merge(list(args.inputs), args.out_prefix)


@step(
    "blends",
    "data blends of the training stages",
    sections=("train", "model", "blends"),
    args=(
        path("pack-stats", many=True),
        path("out-dir"),
        arg("--only", default=None, help="write only this stage's blend (no summary)"),
    ),
)
def blends(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Megatron data blends for every training (sub-)stage from the packs' token counts."""
    from skyforge.tokenize.blends import build_blends, build_stage_blend, read_pack_stats

    train_packs, heldout = read_pack_stats(args.pack_stats)
    if args.only:  # the DAG's case: one stage from its tracked slice (blends.tracked_config)
        out = build_stage_blend(cfg, args.only, train_packs, heldout, args.out_dir)
        return {args.only: str(out)}
    b = cfg["blends"]
    paths = build_blends(
        train_packs,
        heldout,
        TrainConfig.from_dict(cfg["train"]),
        cfg["model"]["seq_length"],
        args.out_dir,
        max_epochs=b["max_epochs"],
        parallel_share=b["parallel_share"],
        decay=b["decay"],
        only=args.only,
    )
    return {name: str(p) for name, p in paths.items()}


@step(
    "blends-summary",
    "tabulate blend files",
    args=(path("blends", many=True), path("out-dir")),
)
def blends_summary(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Tabulate stage blend files (summary.csv / summary.md): shares, tokens, epochs."""
    from skyforge.tokenize.blends import write_summary

    blend_files = {Path(p).stem: json.loads(Path(p).read_text()) for p in args.blends}
    max_epochs = min((b["max_epochs"] for b in blend_files.values()), default=5.0)
    write_summary(blend_files, args.out_dir, max_epochs)
