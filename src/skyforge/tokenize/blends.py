"""Megatron data blends for every training (sub-)stage, from config shares and real token counts.

A blend file ``results/blends/<stage>.json`` is what one training target reads: the weighted
train packs in both forms megatron takes, the tokens planned per corpus and the passes over each
corpus this means. A data mix is a phase (docs/ARCHITECTURE.md, decision 7): megatron cannot
change blend weights on resume safely, so the stage-2 STEM ramp and the WSD decay mix are
sequences of stages, each with its own file. ``stage1`` is one blend for all stage-1 sessions
(planned for their total, so a later session continues the same sample order); ``stage2_<i>``
mixes STEM share ``s`` with Main in the stage-1 proportions; ``decay`` raises the curated share.

EN–ZH parallel text is a small share of Main taken from its EN and ZH parts alike. Validation
uses the held-out packs, never a slice of the train packs. A corpus drawn more than
``max_epochs`` times is flagged, not refused. The arithmetic is a few shares and products, and
megatron only takes the final weights, hence this module.

See docs/tokenize.md.
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
    "build_stage_blend",
    "pack_prefixes",
    "tracked_config",
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


def _normalised_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """``train.stage1.mix`` normalised to sum to 1, in key order (as :class:`TrainConfig` has
    it)."""
    total = sum(mix.values())
    return dict(sorted((str(k), float(v / total)) for k, v in mix.items()))


def _main_shares(mix: Mapping[str, float], parallel_share: float) -> dict[str, float]:
    """Main's shares (summing to 1): the normalised stage-1 mix with ``parallel_share`` carved
    from EN+ZH."""
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


def _stage2_shares(main: Mapping[str, float], stem_share: float) -> dict[str, float]:
    """A stage-2 sub-stage: STEM at ``stem_share``, Main in the stage-1 proportions."""
    shares = {c: (1.0 - stem_share) * v for c, v in main.items()}
    shares[STEM] = stem_share
    return shares


def _decay_shares(
    mix: Mapping[str, float], decay: Mapping[str, Any], pack_tokens: Mapping[str, int]
) -> tuple[float, dict[str, float]]:
    """The decay stage: its tokens and shares (the curated share split by available tokens)."""
    tokens, curated, instruction = _check_decay(decay)
    plain_main = _main_shares(mix, 0.0)
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
    return tokens, shares


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
    mix = dict(train.stage1_mix)  # normalised by TrainConfig
    main = _main_shares(mix, parallel_share)
    stages: dict[str, tuple[float, dict[str, float]]] = {"stage1": (train.stage1_tokens, main)}
    for i, sub in enumerate(train.substages):
        stages[f"stage2_{i}"] = (sub.tokens, _stage2_shares(main, sub.stem_share))
    if decay is not None:
        stages["decay"] = _decay_shares(mix, decay, pack_tokens)
    return stages


def tracked_config(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The config slice one stage's blend is computed from (what the ``blend`` rule tracks and
    :func:`build_stage_blend` reads), shaped like the config with only these keys.

    Every blend follows the stage-1 mix and the context length; ``stage1`` its sessions' tokens
    (one blend for all of them), ``stage2_<i>`` sub-stage ``i`` only (earlier ones are empty
    entries, so adding or editing another sub-stage leaves this blend alone), ``decay`` the
    ``blends.decay`` settings.
    """
    train, b = config["train"], config["blends"]
    out: dict[str, Any] = {
        "train": {"stage1": {"mix": train["stage1"]["mix"]}},
        "model": {"seq_length": config["model"]["seq_length"]},
        "blends": {"max_epochs": b["max_epochs"]},
    }
    if stage == "decay":
        out["blends"]["decay"] = b["decay"]
        return out
    out["blends"]["parallel_share"] = b["parallel_share"]
    if stage == "stage1":
        sessions = train["stage1"]["sessions"]
        out["train"]["stage1"]["sessions"] = [{"tokens": s["tokens"]} for s in sessions]
    elif stage.startswith("stage2_") and stage[7:].isdigit():
        i = int(stage[7:])
        subs = train["stage2"]["substages"]
        if i >= len(subs):
            raise ValueError(f"blend stage '{stage}': not a stage of this config")
        out["train"]["stage2"] = {"substages": [{}] * i + [subs[i]]}
    else:
        raise ValueError(f"blend stage '{stage}': not a blend name (stage1, stage2_<i>, decay)")
    return out


def build_stage_blend(
    cfg: Mapping[str, Any],
    stage: str,
    pack_stats: dict[str, dict],
    heldout: dict[str, str],
    out_dir: Path,
) -> Path:
    """Write ``<stage>.json`` from the slice :func:`tracked_config` gives for ``stage``.

    Raises:
        ValueError: as :func:`build_blends`.
        ConfigError: the slice lacks a key this stage reads.
    """
    train, b = cfg["train"], cfg["blends"]
    seq_length, max_epochs = cfg["model"]["seq_length"], b["max_epochs"]
    if seq_length <= 0:
        raise ValueError(f"seq_length: {seq_length} is not a positive length")
    if not max_epochs > 0:
        raise ValueError(f"max_epochs: {max_epochs} is not positive")
    _check_pack_stats(pack_stats)
    pack_tokens = {c: int(s["tokens"]) for c, s in pack_stats.items()}
    mix = _normalised_mix(train["stage1"]["mix"])
    if stage == "decay":
        tokens, shares = _decay_shares(mix, b["decay"], pack_tokens)
    else:
        parallel_share = b["parallel_share"]
        if not 0.0 <= parallel_share < 1.0:
            raise ValueError(f"parallel_share: {parallel_share} is not a share in [0, 1)")
        shares = _main_shares(mix, parallel_share)
        if stage == "stage1":
            tokens = sum(s["tokens"] for s in train["stage1"]["sessions"])
        else:
            sub = train["stage2"]["substages"][int(stage[7:])]
            tokens, shares = sub["tokens"], _stage2_shares(shares, sub["stem_share"])
    blend = _stage_blend(stage, tokens, shares, pack_stats, heldout, seq_length, max_epochs)
    path = Path(out_dir) / f"{stage}.json"
    atomic_write_text(path, json.dumps(blend, indent=1) + "\n")
    return path


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


def read_pack_stats(stats_files: list[Path]) -> tuple[dict[str, dict], dict[str, str]]:
    """The merged packs' count files (``packs/<corpus>/<split>.json``) → the train packs' counts
    and prefixes by corpus, and the prefixes of the non-empty held-out packs by corpus."""
    train, heldout = {}, {}
    for stats_file in map(Path, stats_files):
        corpus, split = stats_file.parent.name, stats_file.stem
        prefix = str(stats_file.with_suffix(""))
        counts = json.loads(stats_file.read_text())
        if split == "train":
            train[corpus] = {"prefix": prefix, **counts}
        elif counts.get("docs", 0) > 0:
            heldout[corpus] = prefix
    return train, heldout


def pack_prefixes(blend: Mapping[str, Any]) -> list[str]:
    """Every pack a stage's blend (as written by :func:`build_blends`) names: the train packs
    and the validation and test packs, each once, in order."""
    names = list(blend.get("blend", [[]])[0])
    for split in ("validation", "test"):
        names += list((blend.get(split) or {}).values())
    return list(dict.fromkeys(names))
