"""Scores per planted kind (skyforge.data.scoring.score_planted): benchmark leaks (recall, and
the precision of the item ids the ledger names), hard negatives (pages kept) and content farms
(precision by removal reason), on a hand-made ground truth."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from skyforge.data.scoring import render_planted, score_planted, write_scores

GT_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("kind", pa.string()),
        ("expected_step", pa.string()),
        ("leak_items", pa.list_(pa.string())),
        ("leak_equivalents", pa.list_(pa.string())),
        ("dup_cluster", pa.int64()),
        ("dup_type", pa.string()),
    ]
)

GT_ROWS = [
    # record, kind, expected step, planted items, their equivalents in other tasks
    ("v1", "leak_verbatim", "decontaminate", ["gsm8k/test/x/1"], None),
    ("v2", "leak_verbatim", "decontaminate", ["gsm8k/test/x/2"], ["mmlu/test/x/9"]),
    ("v3", "leak_verbatim", "decontaminate", ["ceval/val/y/1", "ceval/val/y/2"], None),
    ("t1", "leak_translated", "decontaminate", ["cmmlu/test/z/1", "cmmlu/test/z/2"], None),
    ("t2", "leak_translated", "decontaminate", ["cmmlu/test/z/3"], None),
    ("n1", "leak_negative_template", None, None, None),
    ("n2", "leak_negative_template", None, None, None),
    ("n3", "leak_negative_template", None, None, None),
    ("n4", "leak_negative_template", None, None, None),
    ("k1", "leak_negative_topic", None, None, None),
    ("f1", "farm_bracketed", "heuristic", None, None),
    ("f2", "farm_bracketed", "heuristic", None, None),
    ("f3", "farm_bracketed", "heuristic", None, None),
    ("s1", "farm_stitched", "heuristic", None, None),
    ("m1", "farm_mojibake", "encoding", None, None),
    ("c1", "en_article", None, None, None),
    ("c2", "zh_article", None, None, None),
]

REMOVED = [
    ("v1", "decontaminate", "contamination:gsm8k"),
    ("v2", "decontaminate", "contamination:mmlu"),
    ("v3", "quality_model", "low_quality:0.01"),  # another step got it first
    ("t1", "decontaminate", "contamination:cmmlu"),
    ("n2", "decontaminate", "contamination:gsm8k"),  # a hard negative removed
    ("f1", "heuristic", "farm:bracketed"),
    ("f2", "heuristic", "farm:bracketed"),
    ("c1", "heuristic", "farm:bracketed"),  # a clean article flagged as a farm
    ("s1", "heuristic", "farm:stitched"),
    ("c2", "heuristic", "farm:stitched"),
    ("zz", "heuristic", "farm:bracketed"),  # not in the ground truth: ignored
]

LEDGER = [
    ("v1", "gsm8k/test/x/1"),  # planted: right, found
    ("v2", "mmlu/test/x/9"),  # the planted item's equivalent: right, not a planted id found
    ("v3", "ceval/val/y/1"),  # right, found
    ("v3", "ceval/val/y/7"),  # wrong item
    ("t1", "cmmlu/test/z/1"),
    ("t1", "cmmlu/test/z/2"),
    ("t2", "cmmlu/test/z/99"),  # wrong item on a page that was kept
    ("n2", "gsm8k/test/x/5"),  # on a negative: not counted in any leak's precision
]


def _ground_truth() -> pd.DataFrame:
    rows = [
        {
            "record_id": r,
            "kind": k,
            "expected_step": s,
            "leak_items": li,
            "leak_equivalents": eq,
            "dup_cluster": -1,
            "dup_type": None,
        }
        for r, k, s, li, eq in GT_ROWS
    ]
    # as read from ground_truth.parquet: list cells are numpy arrays, empty ones None
    return pa.Table.from_pylist(rows, schema=GT_SCHEMA).to_pandas()


def _removed() -> pd.DataFrame:
    return pd.DataFrame(REMOVED, columns=["id", "step", "reason"])


def _ledger() -> pd.DataFrame:
    return pd.DataFrame(LEDGER, columns=["id", "item_id"])


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def test_scores_per_planted_kind():
    scores = score_planted(_ground_truth(), _removed(), _ledger())
    assert list(scores["kind"]) == [
        "farm_bracketed",
        "farm_mojibake",
        "farm_stitched",
        "leak_negative_template",
        "leak_negative_topic",
        "leak_translated",
        "leak_verbatim",
    ]  # the clean articles are no planted kind
    s = scores.set_index("kind")

    v = s.loc["leak_verbatim"]
    assert (v["step"], v["pages"], v["removed"], v["removed_elsewhere"]) == (
        "decontaminate",
        3,
        2,
        1,
    )
    assert v["recall"] == pytest.approx(2 / 3)
    # 4 ids named on its pages: v1's (planted), v2's (an equivalent), v3's y/1 (planted) right,
    # v3's y/7 wrong
    assert v["precision"] == pytest.approx(3 / 4)
    assert (v["items"], v["items_found"], v["unit"]) == (4, 2, "item ids named")

    t = s.loc["leak_translated"]
    assert (t["pages"], t["removed"], t["removed_elsewhere"]) == (2, 1, 0)
    assert t["recall"] == pytest.approx(1 / 2)
    assert t["precision"] == pytest.approx(2 / 3)  # z/99 on t2 is a wrong item
    assert (t["items"], t["items_found"]) == (3, 2)

    n = s.loc["leak_negative_template"]
    assert (n["step"], n["pages"], n["removed"], n["unit"]) == ("(kept)", 4, 1, "pages kept")
    assert n["precision"] == pytest.approx(3 / 4) and _nan(n["recall"])
    k = s.loc["leak_negative_topic"]
    assert (k["pages"], k["removed"], k["precision"]) == (1, 0, 1.0)

    f = s.loc["farm_bracketed"]
    assert (f["step"], f["pages"], f["removed"], f["removed_elsewhere"]) == (
        "heuristic",
        3,
        2,
        0,
    )
    assert f["recall"] == pytest.approx(2 / 3)
    # removals 'farm:bracketed' of ground-truth pages: f1, f2 and the clean c1
    assert f["precision"] == pytest.approx(2 / 3)
    assert f["unit"] == "removals 'farm:bracketed'"
    st = s.loc["farm_stitched"]
    assert (st["removed"], st["recall"], st["precision"]) == (1, 1.0, 0.5)
    mj = s.loc["farm_mojibake"]  # missed, and nothing removed with its reason
    assert (mj["step"], mj["removed"], mj["recall"]) == ("encoding", 0, 0.0)
    assert _nan(mj["precision"])
    assert _nan(f["items"])  # only leaks count items


def test_a_hard_negative_removed_by_any_step_lowers_pages_kept():
    removed = pd.concat(
        [
            _removed(),
            pd.DataFrame(
                [("n4", "quality_model", "low_quality:0.2")], columns=["id", "step", "reason"]
            ),
        ],
        ignore_index=True,
    )
    n = (
        score_planted(_ground_truth(), removed, _ledger())
        .set_index("kind")
        .loc["leak_negative_template"]
    )
    assert (n["removed"], n["precision"]) == (2, 0.5)


def test_a_wrong_item_does_not_count_but_a_named_equivalent_does():
    gt = _ground_truth()
    only_v2 = pd.DataFrame([("v2", "mmlu/test/x/9")], columns=["id", "item_id"])
    v = score_planted(gt, _removed(), only_v2).set_index("kind").loc["leak_verbatim"]
    assert (v["precision"], v["items_found"]) == (1.0, 0)
    wrong = pd.DataFrame([("v2", "mmlu/test/x/8")], columns=["id", "item_id"])
    v = score_planted(gt, _removed(), wrong).set_index("kind").loc["leak_verbatim"]
    assert (v["precision"], v["items_found"]) == (0.0, 0)
    # without the equivalents column, the equivalent is a wrong item too
    v = score_planted(gt.drop(columns="leak_equivalents"), _removed(), only_v2)
    assert v.set_index("kind").loc["leak_verbatim", "precision"] == 0.0


def test_without_a_ledger_leak_precision_is_undefined():
    s = score_planted(_ground_truth(), _removed()).set_index("kind")
    assert _nan(s.loc["leak_verbatim", "precision"]) and s.loc["leak_verbatim", "items_found"] == 0
    assert s.loc["leak_verbatim", "recall"] == pytest.approx(2 / 3)


def test_no_kind_column_gives_no_rows():
    gt = _ground_truth().drop(columns="kind")
    assert score_planted(gt, _removed(), _ledger()).empty


def test_rendered_table_and_the_files_written(tmp_path):
    md = render_planted(score_planted(_ground_truth(), _removed(), _ledger()))
    assert (
        "| leak_verbatim | decontaminate | 3 | 2 | 1 | 0.667 | 0.750 | item ids named | 2 / 4 |"
        in md
    )
    assert "| leak_negative_template | (kept) | 4 | 1 | 0 | — | 0.750 | pages kept |  |" in md

    # write_scores reads the same from files: ground truth, removal tables, ledgers
    pq.write_table(pa.Table.from_pandas(_ground_truth(), preserve_index=False), tmp_path / "gt.pq")
    pq.write_table(pa.Table.from_pandas(_removed()), tmp_path / "removed.pq")
    ledger = _ledger().assign(benchmark="x")
    pq.write_table(pa.Table.from_pandas(ledger.iloc[:4]), tmp_path / "m0.pq")
    pq.write_table(pa.Table.from_pandas(ledger.iloc[4:]), tmp_path / "m1.pq")
    out = tmp_path / "scores"
    write_scores(
        tmp_path / "gt.pq",
        [tmp_path / "removed.pq"],
        [],
        out,
        matches=[tmp_path / "m0.pq", tmp_path / "m1.pq"],
    )
    planted = pd.read_csv(out / "planted.csv").set_index("kind")
    assert planted.loc["leak_verbatim", "precision"] == pytest.approx(0.75)
    assert planted.loc["leak_translated", "items_found"] == 2
    assert "## Planted kinds" in (out / "scores.md").read_text(encoding="utf-8")
