"""The funnel adds up, and refuses to when a document is lost."""

from __future__ import annotations

import pytest

from skyforge.data.docs import write_docs, write_removed
from skyforge.data.funnel import FunnelError, write_funnel


def _doc(i: int, text: str = "hello world") -> dict:
    return {"id": f"d{i}", "text": text, "shard": 0}


def _removed(i: int, step: str, reason: str) -> dict:
    return {"id": f"d{i}", "step": step, "reason": reason, "bytes": 11, "shard": 0}


def test_funnel_adds_up(tmp_path):
    write_docs(tmp_path / "extract.parquet", [_doc(i) for i in range(8)])
    write_removed(
        tmp_path / "extract.rm.parquet", [_removed(i, "extract", "request_record") for i in (8, 9)]
    )
    write_docs(tmp_path / "final.parquet", [_doc(i) for i in range(5)])
    write_removed(
        tmp_path / "late.rm.parquet",
        [
            _removed(5, "heuristic", "too_short"),
            _removed(6, "near_dedup", "near_duplicate"),
            _removed(7, "near_dedup", "near_duplicate"),
        ],
    )
    funnel = write_funnel(
        tmp_path / "out",
        [tmp_path / "extract.rm.parquet", tmp_path / "late.rm.parquet"],
        {"extract": [tmp_path / "extract.parquet"]},
        [tmp_path / "final.parquet"],
        records_in=10,
    )
    assert funnel.set_index("step").loc["extract", "docs_out"] == 8
    assert funnel.set_index("step").loc["near_dedup", "docs_removed"] == 2
    assert funnel.iloc[-1].docs_out == 5
    assert (tmp_path / "out/funnel.png").stat().st_size > 1000
    md = (tmp_path / "out/funnel.md").read_text()
    assert "| near_dedup | near_duplicate | 2 |" in md


def test_lost_document_is_an_error(tmp_path):
    write_docs(tmp_path / "final.parquet", [_doc(i) for i in range(5)])
    write_removed(tmp_path / "rm.parquet", [_removed(9, "extract", "request_record")])
    with pytest.raises(FunnelError, match="does not add up"):
        write_funnel(
            tmp_path / "out", [tmp_path / "rm.parquet"], {}, [tmp_path / "final.parquet"], 7
        )
    assert not (tmp_path / "out" / "funnel.csv").exists()


def test_repairs_are_counted_beside_the_removals(tmp_path):
    from skyforge.data.docs import write_table
    from skyforge.data.filters.heuristics import REPAIRED_SCHEMA

    write_docs(tmp_path / "final.parquet", [_doc(i) for i in range(3)])
    write_removed(tmp_path / "rm.parquet", [_removed(3, "encoding", "encoding:mojibake")])
    rows = [
        {"id": "d0", "codecs": "repaired:cp1252", "num_lines_repaired": 2, "num_lines_dropped": 0},
        {
            "id": "d1",
            "codecs": "repaired:cp1252,repaired:gbk",
            "num_lines_repaired": 2,
            "num_lines_dropped": 1,
        },
    ]
    write_table(tmp_path / "rep.parquet", rows, REPAIRED_SCHEMA)
    write_funnel(
        tmp_path / "out",
        [tmp_path / "rm.parquet"],
        {},
        [tmp_path / "final.parquet"],
        4,
        repaired=[tmp_path / "rep.parquet"],
    )
    md = (tmp_path / "out/funnel.md").read_text()
    assert "| encoding | encoding:mojibake | 1 |" in md
    assert "| encoding | repaired:cp1252 | 2 |" in md and "| encoding | repaired:gbk | 1 |" in md
