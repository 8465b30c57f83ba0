"""Score every removal step against the synthetic crawl's ground truth.

The synthetic crawl knows, for each fetched record, which step should remove it and why
(``ground_truth.parquet``: ``expected_step``, ``dup_cluster``, ``dup_type``). This module
compares that with the removal tables the pipeline wrote and reports precision and recall of the
removals per step.

Dedup steps are scored per duplicate cluster: a cluster of one original and k copies should lose
exactly k members at that step, but WHICH member survives is the dedup's choice (it keeps the
earliest crawl date; the ground truth names the first in reading order). So a removal at a dedup
step counts as correct while its cluster still has more members removed-as-expected than it should
lose; the rest are false removals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from skyforge.core.tables import write_csv, write_table
from skyforge.data.docs import STEPS

DEDUP_TYPES = {"exact_dedup": "exact", "near_dedup": "near"}


# Steps added for harmful / spam text and encoding damage (issue 13): the corpora must lose
# less than 2 % of their clean documents to them.
NEW_CONTENT_STEPS = ("encoding", "harmful", "harmful_model")
# The quality classifier's planted pages (issue 12): the clean corpora must lose only a few % of
# their documents to it.
QUALITY_STEP = "quality_model"


def score_removals(
    ground_truth: pd.DataFrame, removed: pd.DataFrame, repaired: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Precision and recall of removals per step (and of the mojibake repair).

    Args:
        ground_truth: one row per fetched record (record_id, expected_step, dup_cluster, dup_type,
            kind).
        removed: the pipeline's removal rows (id, step, reason), any step.
        repaired: ids of the documents whose encoding damage the filter repaired, or None.

    Returns:
        One row per step: expected, removed, correct, precision, recall, how many of the
        expected ones another step removed first (``removed_elsewhere``), and how many clean
        records (expected to survive, in no duplicate cluster) the step removed
        (``clean_removed``, of ``clean_total``). With ``repaired``, a row ``encoding_repair``:
        pages of kind ``mojibake_fixable`` against the pages repaired.
    """
    gt = ground_truth.set_index("record_id")
    rem = removed[removed["id"].isin(gt.index)]
    step_of = dict(zip(rem["id"], rem["step"], strict=True))
    clean = set(gt.index[gt["expected_step"].isna() & (gt["dup_cluster"] < 0)])
    rows = []
    for step in STEPS:
        expected_ids = set(gt.index[gt["expected_step"] == step])
        removed_ids = set(rem["id"][rem["step"] == step])
        if step in DEDUP_TYPES:
            kind = DEDUP_TYPES[step]
            quota = (
                Counter(gt.loc[list(expected_ids), "dup_cluster"]) if expected_ids else Counter()
            )
            correct = 0
            for rid in sorted(removed_ids):
                cluster = gt.at[rid, "dup_cluster"]
                if cluster >= 0 and quota[cluster] > 0 and _in_dup_family(gt, rid, kind):
                    quota[cluster] -= 1
                    correct += 1
        else:
            correct = len(expected_ids & removed_ids)
        elsewhere = sum(1 for i in expected_ids - removed_ids if step_of.get(i) not in (None, step))
        reached = len(expected_ids) - elsewhere
        rows.append(
            {
                "step": step,
                "expected": len(expected_ids),
                "removed": len(removed_ids),
                "correct": correct,
                "precision": correct / len(removed_ids) if removed_ids else float("nan"),
                "recall": correct / len(expected_ids) if expected_ids else float("nan"),
                "removed_elsewhere": elsewhere,
                # Of the expected ones that reached this step (not removed earlier), the share
                # this step removed: the step's own recall.
                "recall_reached": correct / reached if reached else float("nan"),
                "clean_removed": len(removed_ids & clean),
                "clean_total": len(clean),
            }
        )
    # Overall: outside duplicate clusters a record must be removed iff it is expected to be;
    # inside a cluster only the NUMBER removed matters (which member survives is free).
    removed_set = set(rem["id"])
    is_removed = gt.index.isin(list(removed_set))
    expected = gt["expected_step"].notna().to_numpy()
    solo = (gt["dup_cluster"] < 0).to_numpy()
    false_removed = int((solo & is_removed & ~expected).sum())
    missed = int((solo & ~is_removed & expected).sum())
    clusters = gt[~solo].assign(removed=is_removed[~solo], expected=expected[~solo])
    per_cluster = clusters.groupby("dup_cluster")[["removed", "expected"]].sum()
    false_removed += int((per_cluster.removed - per_cluster.expected).clip(lower=0).sum())
    missed += int((per_cluster.expected - per_cluster.removed).clip(lower=0).sum())
    n_expected, n_removed = int(expected.sum()), len(removed_set)
    rows.append(
        {
            "step": "all",
            "expected": n_expected,
            "removed": n_removed,
            "correct": n_removed - false_removed,
            "precision": 1 - false_removed / n_removed if n_removed else float("nan"),
            "recall": 1 - missed / n_expected if n_expected else float("nan"),
            "removed_elsewhere": 0,
            "recall_reached": 1 - missed / n_expected if n_expected else float("nan"),
            "clean_removed": len(removed_set & clean),
            "clean_total": len(clean),
        }
    )
    if repaired is not None and "kind" in gt.columns:
        expected_ids = set(gt.index[gt["kind"] == "mojibake_fixable"])
        repaired_ids = set(repaired["id"]) & set(gt.index)
        correct = len(expected_ids & repaired_ids)
        elsewhere = sum(1 for i in expected_ids - repaired_ids if i in step_of)
        reached = len(expected_ids) - elsewhere
        rows.append(
            {
                "step": "encoding_repair",
                "expected": len(expected_ids),
                "removed": len(repaired_ids),
                "correct": correct,
                "precision": correct / len(repaired_ids) if repaired_ids else float("nan"),
                "recall": correct / len(expected_ids) if expected_ids else float("nan"),
                "removed_elsewhere": elsewhere,
                "recall_reached": correct / reached if reached else float("nan"),
                "clean_removed": 0,
                "clean_total": len(clean),
            }
        )
    return pd.DataFrame(rows)


PLANTED_REASONS = {
    "farm_bracketed": "farm:bracketed",
    "farm_stitched": "farm:stitched",
    "farm_mojibake": "encoding:mojibake_fragments",
}
"""Planted content-farm kinds → the removal reason that answers for them."""
NEGATIVE_PREFIX = "leak_negative"
"""Hard negatives of decontamination (same template other numbers, same topic no item): kept."""


def _ids(value: object) -> set[str]:
    """The planted item ids of a ground-truth cell (a list or array; null for none)."""
    return set() if value is None or (isinstance(value, float) and pd.isna(value)) else set(value)


def _is_planted(kind: str) -> bool:
    return kind.startswith("leak_") or kind in PLANTED_REASONS


def score_planted(
    ground_truth: pd.DataFrame, removed: pd.DataFrame, matches: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Precision and recall per planted kind: benchmark leaks, their hard negatives, content farms.

    Args:
        ground_truth: as :func:`score_removals`, with ``kind``, ``leak_items``.
        removed: the removal rows (id, step, reason).
        matches: the decontaminate ledger (id, benchmark, item_id), or None.

    Returns:
        One row per planted kind present: ``pages``, its ``step``, ``removed`` (by that step),
        ``removed_elsewhere`` (by another one), ``recall`` (pages removed by the step / pages),
        ``precision`` and ``unit`` (what precision counts). Leaks: ``items`` (planted),
        ``items_found`` (planted ids the ledger names on the page) and precision = the ledger's
        ids on those pages that were planted there (or are the same item in another task:
        ``leak_equivalents``) / all it names there (a leak page matched to the wrong item is not a
        correct find); ``items_found`` counts the planted ids only. Content farms: precision =
        the kind's pages among every removal with its reason. Hard negatives: ``removed`` counts
        removals by any step (every one is a false removal); they have no recall.
    """
    gt = ground_truth.set_index("record_id")
    if "kind" not in gt.columns:
        return pd.DataFrame()
    rem = removed[removed["id"].isin(gt.index)]
    step_of = dict(zip(rem["id"], rem["step"], strict=True))
    reason_of = dict(zip(rem["id"], rem["reason"], strict=True))
    found: dict[str, set[str]] = {}
    if matches is not None:
        for rid, item in zip(matches["id"], matches["item_id"], strict=True):
            found.setdefault(rid, set()).add(item)
    rows = []
    for kind in sorted(k for k in gt["kind"].dropna().unique() if _is_planted(k)):
        pages = gt.index[gt["kind"] == kind]
        steps = [step_of.get(r) for r in pages]
        if kind.startswith(NEGATIVE_PREFIX):
            gone = sum(s is not None for s in steps)
            rows.append(
                {
                    "kind": kind,
                    "step": "(kept)",
                    "pages": len(pages),
                    "removed": gone,
                    "removed_elsewhere": 0,
                    "recall": float("nan"),
                    "precision": 1 - gone / len(pages),
                    "unit": "pages kept",
                }
            )
            continue
        step = gt.loc[pages, "expected_step"].dropna().iloc[0]
        hit = [r for r, s in zip(pages, steps, strict=True) if s == step]
        row = {
            "kind": kind,
            "step": step,
            "pages": len(pages),
            "removed": len(hit),
            "removed_elsewhere": sum(s not in (None, step) for s in steps),
            "recall": len(hit) / len(pages),
        }
        if kind.startswith("leak_"):
            planted = {r: _ids(gt.at[r, "leak_items"]) for r in pages}
            same = (
                {r: _ids(gt.at[r, "leak_equivalents"]) for r in pages}
                if "leak_equivalents" in gt.columns
                else {r: set() for r in pages}
            )
            named = sum(len(found.get(r, set())) for r in pages)
            right = sum(len(found.get(r, set()) & (planted[r] | same[r])) for r in pages)
            hits = sum(len(found.get(r, set()) & planted[r]) for r in pages)
            row |= {
                "items": sum(len(v) for v in planted.values()),
                "items_found": hits,
                "precision": right / named if named else float("nan"),
                "unit": "item ids named",
            }
        else:
            reason = PLANTED_REASONS[kind]
            flagged = [r for r, why in reason_of.items() if why == reason]
            mine = sum(gt.at[r, "kind"] == kind for r in flagged)
            row |= {
                "precision": mine / len(flagged) if flagged else float("nan"),
                "unit": f"removals '{reason}'",
            }
        rows.append(row)
    return pd.DataFrame(rows)


def render_planted(planted: pd.DataFrame) -> str:
    """The per-kind scores as Markdown."""
    if planted.empty:
        return ""

    def fmt(x: float) -> str:
        return "—" if pd.isna(x) else f"{x:.3f}"

    lines = [
        "",
        "## Planted kinds: benchmark leaks, hard negatives, content farms",
        "",
        "| kind | step | pages | removed by the step | removed elsewhere | recall | precision "
        "| precision counts | planted items found |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in planted.to_dict("records"):
        items = r.get("items")
        items_cell = (
            "" if items is None or pd.isna(items) else f"{int(r['items_found'])} / {int(items)}"
        )
        lines.append(
            f"| {r['kind']} | {r['step']} | {r['pages']} | {r['removed']} | "
            f"{r['removed_elsewhere']} | {fmt(r['recall'])} | {fmt(r['precision'])} | "
            f"{r['unit']} | {items_cell} |"
        )
    return "\n".join(lines) + "\n"


def _in_dup_family(gt: pd.DataFrame, rid: str, kind: str) -> bool:
    """The record is the original or a copy of the given type in its cluster."""
    dup_type = gt.at[rid, "dup_type"]
    return dup_type is None or pd.isna(dup_type) or dup_type == kind


def load_removed(paths: Sequence[Path]) -> pd.DataFrame:
    """All removal rows of a run."""
    frames = [pq.read_table(p, columns=["id", "step", "reason"]).to_pandas() for p in paths]
    return pd.concat(frames, ignore_index=True)


def render_markdown(scores: pd.DataFrame) -> str:
    """The scores as a Markdown table, and the clean documents lost to the content steps."""
    lines = [
        "# Removals scored against the synthetic crawl's ground truth",
        "",
        "| step | expected | removed | correct | precision | recall | removed by an earlier "
        "step | recall of those reaching the step | clean records removed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(x: float) -> str:
        return "—" if pd.isna(x) else f"{x:.3f}"

    for r in scores.itertuples():
        lines.append(
            f"| {r.step} | {r.expected} | {r.removed} | {r.correct} | {fmt(r.precision)} | "
            f"{fmt(r.recall)} | {r.removed_elsewhere} | {fmt(r.recall_reached)} | "
            f"{r.clean_removed} |"
        )
    new = scores[scores.step.isin(NEW_CONTENT_STEPS)]
    if len(new):
        lost, total = int(new.clean_removed.sum()), int(new.clean_total.iloc[0])
        lines += [
            "",
            f"Clean records (expected in the corpora, not duplicates) removed by "
            f"{', '.join(NEW_CONTENT_STEPS)}: {lost} of {total} ({lost / max(1, total):.2%}).",
        ]
    quality = scores[scores.step == QUALITY_STEP]
    if len(quality) and quality.expected.iloc[0] > 0:
        lost, total = int(quality.clean_removed.iloc[0]), int(quality.clean_total.iloc[0])
        lines += [
            "",
            f"Clean records removed by the quality classifier ({QUALITY_STEP}): {lost} of "
            f"{total} ({lost / max(1, total):.2%}).",
        ]
    return "\n".join(lines) + "\n"


def write_scores(
    ground_truth: Path,
    removed: Sequence[Path],
    repaired: Sequence[Path],
    out_dir: Path,
    matches: Sequence[Path] = (),
) -> pd.DataFrame:
    """Score a run's removals against the ground truth; write scores.csv, planted.csv and
    scores.md (per step, then per planted kind)."""
    gt = pd.read_parquet(ground_truth)
    fixed = None
    if repaired:
        fixed = pd.concat([pd.read_parquet(p, columns=["id"]) for p in repaired], ignore_index=True)
    rem = load_removed(removed)
    scores = score_removals(gt, rem, fixed)
    ledger = (
        pd.concat(
            [pd.read_parquet(p, columns=["id", "item_id"]) for p in matches], ignore_index=True
        )
        if matches
        else None
    )
    planted = score_planted(gt, rem, ledger)
    write_csv(Path(out_dir) / "planted.csv", planted)
    write_table(out_dir, "scores", scores, render_markdown(scores) + render_planted(planted))
    return scores
