"""Scoring removals against ground truth, with dedup scored per cluster."""

from __future__ import annotations

import pandas as pd
import pytest

from skyforge.data.scoring import render_markdown, score_removals


def test_scores_per_step_and_cluster():
    gt = pd.DataFrame(
        [
            # record, expected step, cluster, dup type
            ("a", None, 1, None),  # original of cluster 1
            ("b", "exact_dedup", 1, "exact"),
            ("c", "exact_dedup", 1, "exact"),
            ("d", "url_filter", -1, None),
            ("e", None, -1, None),
            ("f", "heuristic", -1, None),
        ],
        columns=["record_id", "expected_step", "dup_cluster", "dup_type"],
    )
    removed = pd.DataFrame(
        [
            ("a", "exact_dedup", "duplicate"),  # dedup kept c instead of a: still correct
            ("b", "exact_dedup", "duplicate"),
            ("d", "url_filter", "blocklist:adult"),
            ("e", "heuristic", "too_short"),  # false removal
        ],
        columns=["id", "step", "reason"],
    )
    s = score_removals(gt, removed).set_index("step")
    assert s.loc["exact_dedup", "precision"] == 1.0 and s.loc["exact_dedup", "recall"] == 1.0
    assert s.loc["url_filter", "recall"] == 1.0
    assert s.loc["heuristic", "precision"] == 0.0 and s.loc["heuristic", "recall"] == 0.0
    assert s.loc["all", "precision"] == pytest.approx(3 / 4)
    assert s.loc["all", "recall"] == pytest.approx(3 / 4)  # f was kept


def test_clean_records_removed_and_the_repair_row():
    gt = pd.DataFrame(
        [
            ("a", None, -1, None, "zh_article"),
            ("b", None, -1, None, "mojibake_fixable"),
            ("c", None, -1, None, "mojibake_fixable"),
            ("d", "harmful", -1, None, "gambling_promo"),
            ("e", None, 2, None, "en_article"),  # original of a cluster: not counted as clean
            ("f", "exact_dedup", 2, "exact", "en_article"),
        ],
        columns=["record_id", "expected_step", "dup_cluster", "dup_type", "kind"],
    )
    removed = pd.DataFrame(
        [
            ("a", "harmful", "harmful:gambling"),  # a clean article lost to the rules
            ("d", "harmful", "harmful:gambling"),
            ("e", "exact_dedup", "exact_duplicate"),
            ("c", "language", "low_confidence:zh"),
        ],
        columns=["id", "step", "reason"],
    )
    repaired = pd.DataFrame({"id": ["b", "a"]})
    s = score_removals(gt, removed, repaired).set_index("step")
    assert s.loc["harmful", "clean_removed"] == 1 and s.loc["harmful", "clean_total"] == 3
    assert s.loc["harmful", "precision"] == 0.5 and s.loc["harmful", "recall"] == 1.0
    assert s.loc["exact_dedup", "clean_removed"] == 0
    row = s.loc["encoding_repair"]
    assert (row.expected, row.removed, row.correct) == (2, 2, 1)
    assert row.removed_elsewhere == 1 and row.recall_reached == 1.0
    md = render_markdown(s.reset_index())
    assert "removed by encoding, harmful, harmful_model: 1 of 3 (33.33%)" in md
