"""Scoring removals against ground truth, with dedup scored per cluster."""

from __future__ import annotations

import pandas as pd
import pytest

from skyforge.data.scoring import score_removals


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
