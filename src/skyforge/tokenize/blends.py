"""Megatron data blends for every training (sub-)stage, from config shares and real token counts.

A blend file ``results/blends/<stage>.json`` is what one training target reads: the weighted list
of train packs in both forms Megatron takes (``--data-path w1 p1 w2 p2 …`` and
``GPTDatasetConfig.blend = (prefixes, weights)``), the tokens the stage plans to draw from each
corpus, and how many passes over that corpus this means. ARCHITECTURE.md decision 7: a data mix
is a phase, so the stage-2 STEM ramp (SPEC.md §11) and the WSD decay mix (§10) are sequences of
stages, each with its own file; Megatron cannot change blend weights on resume safely.

Stages written:

* ``stage1`` — SkyPile-Main with ``train.stage1.mix`` (en → ``main-en``, zh → ``main-zh``,
  code → ``main-code``). One blend for all stage-1 sessions, planned for their SUM of tokens, so
  that a later session resumes on the very same sample order (a blend planned per session would
  build different indices and repeat or skip samples).
* ``stage2_<i>`` (0-based index into ``train.stage2.substages``) — STEM share ``s`` of the
  sub-stage, the remaining ``1 - s`` is Main in the stage-1 proportions.
* ``decay`` (only when a ``decay`` dict is passed) — the WSD decay phase: ``curated_share`` of
  curated data (``stem`` + ``parallel``), optionally ``instruction_share`` of an ``instruction``
  corpus (Index-1.9B's "boost" variant, 7 %), the rest Main in the stage-1 proportions.

Where the EN–ZH parallel text goes (a decision SPEC.md leaves open): in stage 1 and stage 2 it is
a small fixed share (``parallel_share``, default 1 %) of Main, carved out of Main's EN and ZH
parts in proportion to them. Parallel text is half Chinese, half English, so taking it from both
keeps the configured zh:en balance and leaves the code share exactly as configured; it is kept
small because the parallel corpus is a few per cent of the crawl and must not be repeated past
the epoch cap. In the decay stage it moves into the curated part, where the curated share is
split between ``stem`` and ``parallel`` in proportion to their available tokens (both are then
repeated equally often, the split that keeps the larger repetition lowest).

Validation and test are the held-out packs, one per domain (corpus), never a slice of the train
packs (SPEC.md §12: held-out text is newer than the training text). Train blends are therefore
built with Megatron's split ``"100,0,0"`` and each held-out pack is its own validation dataset.
There is one held-out split per corpus, so ``test`` names the same packs as ``validation``.

Token counts are those of the packs (EOD included), which is what Megatron's sample index
counts; epochs = planned tokens / available tokens, and any corpus above ``max_epochs`` (Skywork's
cap: 5 passes) is flagged, not refused: the table says which corpus to grow.

The arithmetic is a few lines of shares and products, and Megatron itself only takes the final
weights; no library computes stage blends from a curriculum, hence this module.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skyforge.config import TrainConfig
from skyforge.core.io import atomic_write_text

__all__ = [
    "MAIN_CORPORA",
    "DECAY_KEYS",
    "build_blends",
    "stage_shares",
]

# stage-1 mix key → corpus (skyforge.data.corpora.CORPORA).
MAIN_CORPORA = {"en": "main-en", "zh": "main-zh", "code": "main-code"}
STEM = "stem"
PARALLEL = "parallel"
INSTRUCTION = "instruction"
# Table order: Main, then the curated corpora, then anything else in alphabetical order.
_ORDER = ("main-en", "main-zh", "main-code", STEM, PARALLEL, INSTRUCTION)

DECAY_KEYS = ("tokens", "curated_share", "instruction_share")
TRAIN_SPLIT = "100,0,0"
SUMMARY_COLUMNS = (
    "stage",
    "corpus",
    "share",
    "tokens_planned",
    "tokens_available",
    "epochs",
    "over_repeated",
)


def _main_shares(train: TrainConfig, parallel_share: float) -> dict[str, float]:
    """Main's shares (summing to 1): the stage-1 mix with ``parallel_share`` carved from EN+ZH."""
    mix = dict(train.stage1_mix)  # normalised by TrainConfig
    shares = {MAIN_CORPORA[k]: v for k, v in mix.items()}
    text = shares["main-en"] + shares["main-zh"]
    if parallel_share > 0:
        if text <= 0:
            raise ValueError(
                "train.stage1.mix: en and zh are both 0, so there is no EN/ZH part of Main to "
                f"carve the parallel share ({parallel_share}) from"
            )
        for corpus in ("main-en", "main-zh"):
            shares[corpus] -= parallel_share * shares[corpus] / text
        shares[PARALLEL] = parallel_share
    return shares


def _check_decay(decay: Mapping[str, Any]) -> tuple[float, float, float]:
    """Validate the decay dict; return (tokens, curated_share, instruction_share)."""
    unknown = sorted(set(decay) - set(DECAY_KEYS))
    if unknown:
        raise ValueError(f"decay.{unknown[0]}: unknown key (allowed: {', '.join(DECAY_KEYS)})")
    if "tokens" not in decay:
        raise ValueError("decay.tokens: required key is missing")
    tokens = float(decay["tokens"])
    if not tokens > 0:
        raise ValueError(f"decay.tokens: {decay['tokens']} is not a positive token count")
    curated = float(decay.get("curated_share", 0.0))
    instruction = float(decay.get("instruction_share", 0.0))
    for key, value in (("curated_share", curated), ("instruction_share", instruction)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"decay.{key}: {value} is not a share in [0, 1]")
    if curated + instruction > 1.0 + 1e-9:
        raise ValueError(
            f"decay.instruction_share: curated_share {curated} + instruction_share "
            f"{instruction} exceed 1"
        )
    return tokens, curated, instruction


def stage_shares(
    train: TrainConfig,
    pack_tokens: Mapping[str, int],
    *,
    parallel_share: float = 0.01,
    decay: Mapping[str, Any] | None = None,
) -> dict[str, tuple[float, dict[str, float]]]:
    """Token budget and corpus shares of every stage, before any check against the packs.

    Args:
        train: the training config (stage-1 mix and sessions, stage-2 sub-stages).
        pack_tokens: corpus → available train tokens; only used to split the decay stage's
            curated share between ``stem`` and ``parallel``.
        parallel_share: share of Main given to EN–ZH parallel text in stages 1 and 2.
        decay: optional WSD decay stage (``tokens``, ``curated_share``, ``instruction_share``).

    Returns:
        stage name → (planned tokens, corpus → share); shares of a stage sum to 1.

    Raises:
        ValueError: a share out of range or an unknown/missing decay key, naming the key.
    """
    if not 0.0 <= parallel_share < 1.0:
        raise ValueError(f"parallel_share: {parallel_share} is not a share in [0, 1)")
    main = _main_shares(train, parallel_share)
    stages: dict[str, tuple[float, dict[str, float]]] = {"stage1": (train.stage1_tokens, main)}
    for i, sub in enumerate(train.substages):
        shares = {c: (1.0 - sub.stem_share) * v for c, v in main.items()}
        shares[STEM] = sub.stem_share
        stages[f"stage2_{i}"] = (sub.tokens, shares)
    if decay is not None:
        tokens, curated, instruction = _check_decay(decay)
        plain_main = _main_shares(train, 0.0)
        rest = 1.0 - curated - instruction
        shares = {c: rest * v for c, v in plain_main.items()}
        avail = {c: max(0, int(pack_tokens.get(c, 0))) for c in (STEM, PARALLEL)}
        total = sum(avail.values())
        for corpus in (STEM, PARALLEL):
            # With neither corpus available the whole curated share is put on STEM so that the
            # zero-token check names it instead of silently dropping the curated share.
            frac = avail[corpus] / total if total else float(corpus == STEM)
            shares[corpus] = curated * frac
        shares[INSTRUCTION] = instruction
        stages["decay"] = (tokens, shares)
    return stages


def _check_pack_stats(pack_stats: Mapping[str, Mapping[str, Any]]) -> None:
    for corpus, stats in pack_stats.items():
        for key in ("prefix", "tokens", "docs"):
            if key not in stats:
                raise ValueError(f"pack stats of corpus '{corpus}': key '{key}' is missing")
        for key in ("tokens", "docs"):
            if int(stats[key]) < 0:
                raise ValueError(
                    f"pack stats of corpus '{corpus}': '{key}' is negative ({stats[key]})"
                )


def _sort_key(corpus: str) -> tuple[int, str]:
    return (_ORDER.index(corpus) if corpus in _ORDER else len(_ORDER), corpus)


def _stage_blend(
    stage: str,
    tokens: float,
    shares: Mapping[str, float],
    pack_stats: Mapping[str, Mapping[str, Any]],
    heldout: Mapping[str, str],
    seq_length: int,
    max_epochs: float,
) -> dict[str, Any]:
    """The blend document of one stage."""
    planned_total = int(round(tokens))
    corpora: dict[str, dict[str, Any]] = {}
    prefixes: list[str] = []
    weights: list[float] = []
    for corpus in sorted(shares, key=_sort_key):
        share = shares[corpus]
        stats = pack_stats.get(corpus)
        if share == 0 and stats is None:
            continue  # an optional corpus that is not built (e.g. no instruction data)
        available = int(stats["tokens"]) if stats else 0
        if share > 0 and available == 0:
            why = "has no train pack" if stats is None else "has 0 tokens"
            raise ValueError(
                f"blend stage '{stage}': corpus '{corpus}' {why} but a share of {share:.4f}"
                + (
                    " (pass parallel_share=0 to leave parallel text out)"
                    if corpus == PARALLEL
                    else ""
                )
            )
        planned = int(round(share * tokens))
        epochs = planned / available if available else 0.0
        corpora[corpus] = {
            "share": share,
            "tokens_planned": planned,
            "tokens_available": available,
            "docs_available": int(stats["docs"]) if stats else 0,
            "epochs": epochs,
            "over_repeated": epochs > max_epochs,
            "prefix": str(stats["prefix"]) if stats else None,
        }
        # Zero-share corpora stay in the table but not in the blend: Megatron would build an
        # empty dataset for them.
        if share > 0:
            prefixes.append(str(stats["prefix"]))
            weights.append(share)
    total = sum(weights)
    weights = [w / total for w in weights]  # Megatron normalises too; keep the file exact
    data_path: list[float | str] = []
    for w, p in zip(weights, prefixes, strict=True):
        data_path += [w, p]
    domains = {d: str(heldout[d]) for d in sorted(heldout, key=_sort_key)}
    return {
        "stage": stage,
        "tokens": planned_total,
        "seq_length": seq_length,
        # Each sample consumes seq_length tokens (its extra label token starts the next one).
        "num_samples": math.ceil(planned_total / seq_length),
        "split": TRAIN_SPLIT,
        "data_path": data_path,
        "blend": [prefixes, weights],
        "corpora": corpora,
        "max_epochs": max_epochs,
        "over_repeated": [c for c, row in corpora.items() if row["over_repeated"]],
        "validation": domains,
        "test": dict(domains),
    }


def _summary_rows(blends: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for stage, blend in blends.items():
        for corpus, row in blend["corpora"].items():
            rows.append(
                {
                    "stage": stage,
                    "corpus": corpus,
                    "share": row["share"],
                    "tokens_planned": row["tokens_planned"],
                    "tokens_available": row["tokens_available"],
                    "epochs": row["epochs"],
                    "over_repeated": row["over_repeated"],
                }
            )
    return rows


def _summary_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "share": f"{row['share']:.6f}", "epochs": f"{row['epochs']:.6f}"})
    return buf.getvalue()


def _summary_md(rows: list[dict[str, Any]], max_epochs: float) -> str:
    lines = [
        "# Data blends per training stage",
        "",
        f"Epochs = tokens planned / tokens available in the corpus's train pack; corpora above "
        f"{max_epochs:g} passes (Skywork's cap) are flagged. Validation uses the held-out packs.",
        "",
        "| stage | corpus | share | tokens planned | tokens available | epochs | flag |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        flag = f"over {max_epochs:g} epochs" if r["over_repeated"] else ""
        lines.append(
            f"| {r['stage']} | {r['corpus']} | {100 * r['share']:.2f} % | "
            f"{r['tokens_planned']:,} | {r['tokens_available']:,} | {r['epochs']:.2f} | {flag} |"
        )
    return "\n".join(lines) + "\n"


def build_blends(
    pack_stats: dict[str, dict],
    heldout: dict[str, str],
    train: TrainConfig,
    seq_length: int,
    out_dir: Path,
    *,
    max_epochs: float = 5.0,
    parallel_share: float = 0.01,
    decay: dict | None = None,
    only: str | None = None,
) -> dict[str, Path]:
    """Write ``<stage>.json`` for every training (sub-)stage plus ``summary.csv``/``summary.md``.

    Args:
        pack_stats: corpus → ``{"prefix": pack path without suffix, "tokens": int, "docs": int}``
            of the TRAIN split.
        heldout: corpus (validation domain) → held-out pack prefix.
        train: the training config.
        seq_length: model context length (sets the stage's ``num_samples``).
        out_dir: directory of the blend files (``results/blends``).
        max_epochs: passes over a corpus above which it is flagged as over-repeated.
        parallel_share: share of Main given to EN–ZH parallel text in stages 1 and 2.
        decay: optional WSD decay stage: ``{"tokens", "curated_share", "instruction_share"}``.
        only: write just this stage's file and no summary (the DAG makes one job per stage, so
            that a new sub-stage does not rewrite, and retrain from, the stage-1 blend);
            :func:`write_summary` then tabulates the files.

    Returns:
        stage name → path of its blend JSON, in training order.

    Raises:
        ValueError: a corpus with a non-zero share but no tokens (naming stage and corpus), bad
            pack stats (naming the corpus and key), or a bad argument (naming it).
    """
    if seq_length <= 0:
        raise ValueError(f"seq_length: {seq_length} is not a positive length")
    if not max_epochs > 0:
        raise ValueError(f"max_epochs: {max_epochs} is not positive")
    _check_pack_stats(pack_stats)
    pack_tokens = {c: int(s["tokens"]) for c, s in pack_stats.items()}
    stages = stage_shares(train, pack_tokens, parallel_share=parallel_share, decay=decay)
    if only is not None:
        if only not in stages:
            raise ValueError(f"blend stage '{only}': not a stage of this config ({list(stages)})")
        stages = {only: stages[only]}
    # Build every stage before writing any file, so an error leaves no partial set behind.
    blends = {
        stage: _stage_blend(stage, tokens, shares, pack_stats, heldout, seq_length, max_epochs)
        for stage, (tokens, shares) in stages.items()
    }
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for stage, blend in blends.items():
        paths[stage] = out_dir / f"{stage}.json"
        atomic_write_text(paths[stage], json.dumps(blend, indent=1) + "\n")
    if only is None:
        write_summary(blends, out_dir, max_epochs)
    return paths


def write_summary(
    blends: Mapping[str, Mapping[str, Any]], out_dir: Path, max_epochs: float
) -> tuple[Path, Path]:
    """``summary.csv`` and ``summary.md`` of the given stage blends (stage → blend document)."""
    rows = _summary_rows(blends)
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "summary.csv", _summary_csv(rows))
    atomic_write_text(out_dir / "summary.md", _summary_md(rows, max_epochs))
    return out_dir / "summary.csv", out_dir / "summary.md"
