"""CLI sub-commands of the tokenize stage (``python -m skyforge.cli <step>``).

Thin glue between argparse and the library functions of this package (tokenizer training, packs,
blends); no logic lives here. Corpus files are grouped by their place in the results tree
(``.../corpora/<corpus>/<split>/<shard>.parquet``), which the rules guarantee.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyforge.config import TrainConfig

log = logging.getLogger("skyforge")

Loader = Callable[[argparse.Namespace, tuple[str, ...]], dict[str, Any]]

# Stage-1 mix keys (train.stage1.mix) → corpora.
MIX_CORPORA = {"en": "main-en", "zh": "main-zh", "code": "main-code"}


def _by_corpus(paths: list[Path]) -> dict[str, list[Path]]:
    grouped: dict[str, list[Path]] = defaultdict(list)
    for p in paths:
        grouped[Path(p).parent.parent.name].append(Path(p))
    return dict(grouped)


def cmd_train_tokenizer(args: argparse.Namespace, load: Loader) -> int:
    """Train the bilingual BPE (or check and copy the configured existing tokenizer)."""
    from skyforge.tokenize.tokenizer import (
        DEFAULT_SPECIAL_TOKENS,
        check_tokenizer,
        train_tokenizer,
    )

    cfg = load(args, ("tokenizer", "train"))
    tok = cfg["tokenizer"]
    specials = tok["special_tokens"] or DEFAULT_SPECIAL_TOKENS
    if tok["existing"]:
        stats = check_tokenizer(
            Path(tok["existing"]),
            tok["vocab_size"],
            specials,
            args.out_dir,
            heldout_files=_by_corpus(args.heldout),
            reference=tok["reference"],
        )
    else:
        mix = {MIX_CORPORA[k]: v for k, v in cfg["train"]["stage1"]["mix"].items()}
        stats = train_tokenizer(
            _by_corpus(args.train),
            _by_corpus(args.heldout),
            args.out_dir,
            vocab_size=tok["vocab_size"],
            mix=mix,
            sample_bytes=int(tok["sample_bytes"]),
            split_digits=tok["split_digits"],
            byte_fallback=tok["byte_fallback"],
            special_tokens=specials,
            seed=tok["seed"],
            reference=tok["reference"],
            num_threads=args.threads,
        )
    log.info("train-tokenizer: %s", json.dumps(stats, default=str)[:2000])
    return 0


def cmd_pack(args: argparse.Namespace, load: Loader) -> int:
    """Tokenize one corpus shard into a megatron-core indexed dataset."""
    from skyforge.tokenize.packs import tokenize_shard

    stats = tokenize_shard(args.docs, args.tokenizer, args.out_prefix, num_threads=args.threads)
    log.info("pack: %s", json.dumps(stats, default=str))
    return 0


def cmd_merge_packs(args: argparse.Namespace, load: Loader) -> int:
    """Merge the shard packs of one corpus split, in shard order."""
    from skyforge.tokenize.packs import merge_packs

    stats = merge_packs(list(args.inputs), args.out_prefix)
    log.info("merge-packs: %s", json.dumps(stats, default=str))
    return 0


def cmd_blends(args: argparse.Namespace, load: Loader) -> int:
    """Megatron data blends for every training (sub-)stage from the packs' token counts."""
    from skyforge.tokenize.blends import build_blends

    cfg = load(args, ("train", "model", "blends"))
    pack_stats, heldout = {}, {}
    for stats_file in args.pack_stats:
        stats_file = Path(stats_file)
        corpus, split = stats_file.parent.name, stats_file.stem
        prefix = str(stats_file.with_suffix(""))
        counts = json.loads(stats_file.read_text())
        if split == "train":
            pack_stats[corpus] = {"prefix": prefix, **counts}
        elif counts.get("docs", 0) > 0:
            heldout[corpus] = prefix
    blends = cfg["blends"]
    paths = build_blends(
        pack_stats,
        heldout,
        TrainConfig.from_dict(cfg["train"]),
        cfg["model"]["seq_length"],
        args.out_dir,
        max_epochs=blends["max_epochs"],
        parallel_share=blends["parallel_share"],
        decay=blends["decay"],
        only=args.only,
    )
    log.info("blends: %s", ", ".join(str(p) for p in paths.values()))
    return 0


def cmd_blends_summary(args: argparse.Namespace, load: Loader) -> int:
    """Tabulate stage blend files (summary.csv / summary.md): shares, tokens, epochs."""
    from skyforge.tokenize.blends import write_summary

    blends = {Path(p).stem: json.loads(Path(p).read_text()) for p in args.blends}
    max_epochs = min((b["max_epochs"] for b in blends.values()), default=5.0)
    write_summary(blends, args.out_dir, max_epochs)
    return 0


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the tokenize sub-commands (``add`` from :func:`skyforge.cli.step_adder`)."""

    threads = {"type": int, "default": None, "help": "tokenizer threads (default: all cores)"}
    p = add("train-tokenizer", cmd_train_tokenizer, "train (or check) the tokenizer")
    p.add_argument("--train", type=Path, nargs="+", required=True)
    p.add_argument("--heldout", type=Path, nargs="+", required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--threads", **threads)

    p = add("pack", cmd_pack, "tokenize one corpus shard into a pack", config=False)
    p.add_argument("--docs", type=Path, required=True)
    p.add_argument("--tokenizer", type=Path, required=True)
    p.add_argument("--out-prefix", type=Path, required=True)
    p.add_argument("--threads", **threads)

    p = add("merge-packs", cmd_merge_packs, "merge shard packs of a corpus split", config=False)
    p.add_argument("--inputs", type=Path, nargs="+", required=True)
    p.add_argument("--out-prefix", type=Path, required=True)

    p = add("blends", cmd_blends, "data blends of the training stages")
    p.add_argument("--pack-stats", type=Path, nargs="+", required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--only", default=None, help="write only this stage's blend (no summary)")

    p = add("blends-summary", cmd_blends_summary, "tabulate blend files", config=False)
    p.add_argument("--blends", type=Path, nargs="+", required=True)
    p.add_argument("--out-dir", type=Path, required=True)
