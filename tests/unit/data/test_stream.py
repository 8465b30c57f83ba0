"""Streaming data jobs (issue 19, item 1): a per-shard step reads and writes one record batch at
a time, its files do not depend on the batching, a record larger than the budget is one error
naming the key, and a failed write leaves nothing behind."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from skyforge.config import (
    ConfigError,
    EncodingConfig,
    FiltersConfig,
    HarmfulConfig,
    load_config_files,
)
from skyforge.data import docs as D
from skyforge.data.dedup import substring as S
from skyforge.data.extract import extract_shard
from skyforge.data.filters.heuristics import filter_shard


def _rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "id": f"doc-{i:05d}",
            "url": f"https://site{i % 7}.example/{i}",
            "text": "".join(rng.choice("abcde 文字") for _ in range(rng.randint(0, 60))),
            "lang": rng.choice(["en", "zh", None]),
            "shard": 3,
        }
        for i in range(n)
    ]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_writer_files_equal_one_write_whatever_the_batching(tmp_path) -> None:
    rows = _rows(5000)
    D.write_docs(tmp_path / "whole.parquet", rows)
    with D.doc_writer(tmp_path / "rows.parquet") as w:
        for row in rows:
            w.write(row)
    assert w.num_rows == 5000
    # Tables of uneven sizes are re-cut into the same row groups of ROW_GROUP_SIZE rows.
    import pyarrow as pa

    table = pa.Table.from_pylist(rows, schema=D.DOC_SCHEMA)
    with D.doc_writer(tmp_path / "tables.parquet") as w:
        lo = 0
        for size in (1, 999, 3000, 0, 1000):
            w.write_table(table.slice(lo, size))
            lo += size
    assert _sha(tmp_path / "rows.parquet") == _sha(tmp_path / "whole.parquet")
    assert _sha(tmp_path / "tables.parquet") == _sha(tmp_path / "whole.parquet")
    groups = -(-5000 // D.ROW_GROUP_SIZE)  # 10 row groups of 512 rows
    assert pq.ParquetFile(tmp_path / "rows.parquet").metadata.num_row_groups == groups
    # An empty table is written as pq.write_table writes one.
    D.write_docs(tmp_path / "e1.parquet", [])
    with D.doc_writer(tmp_path / "e2.parquet"):
        pass
    assert _sha(tmp_path / "e1.parquet") == _sha(tmp_path / "e2.parquet")


def test_byte_budget_cuts_row_groups_and_bounds_what_is_held(tmp_path) -> None:
    rows = [{"id": str(i), "text": "x" * 1000} for i in range(100)]
    limits = D.BatchLimits(docs=2048, bytes=10_000)
    with D.doc_writer(tmp_path / "d.parquet", limits) as w:
        for row in rows:
            w.write(row)
            assert w._bytes <= limits.bytes
    meta = pq.ParquetFile(tmp_path / "d.parquet").metadata
    # A row counts its strings (1,001-1,002 bytes here): 9 fit in 10 kB, so 12 row groups.
    assert meta.num_rows == 100 and meta.num_row_groups == 12
    assert [r["id"] for r in D.iter_doc_rows(tmp_path / "d.parquet", limits)] == [
        str(i) for i in range(100)
    ]


def test_record_over_budget_and_failed_block_leave_nothing(tmp_path) -> None:
    out = tmp_path / "d.parquet"
    with pytest.raises(ValueError, match=r"config key 'stream.batch_mb'.*'big'.*d\.parquet"):
        with D.doc_writer(out, D.BatchLimits(bytes=1 << 20)) as w:
            w.write({"id": "small", "text": "ok"})
            w.write({"id": "big", "text": "y" * (2 << 20)})
    assert list(tmp_path.iterdir()) == []
    D.write_docs(out, [{"id": "old", "text": "kept"}])
    before = _sha(out)
    with pytest.raises(RuntimeError, match="boom"):
        with D.doc_writer(out, D.BatchLimits(docs=2)) as w:
            for row in _rows(5):
                w.write(row)  # two row groups already written to the temp file
            raise RuntimeError("boom")
    assert _sha(out) == before and [p.name for p in tmp_path.iterdir()] == ["d.parquet"]


def test_limits_from_config_and_bad_values(tmp_path) -> None:
    assert D.BatchLimits.from_section({"batch_docs": 16, "batch_mb": 0.5}) == D.BatchLimits(
        16, 1 << 19
    )
    with pytest.raises(ValueError, match="stream.batch_docs"):
        D.BatchLimits.from_section({"batch_docs": 0, "batch_mb": 1})
    cfg = tmp_path / "c.yaml"
    cfg.write_text("stream:\n  batch_mb: 0\n")
    with pytest.raises(ConfigError, match="stream.batch_mb"):
        load_config_files([Path("config.yaml"), cfg])


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    """One extracted shard of the synthetic crawl (600 pages)."""
    from skyforge.config import SyntheticCrawlConfig
    from skyforge.synthetic import crawl as synth

    out = tmp_path_factory.mktemp("stream")
    synth.synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": 600}), 1, out)
    extract_shard(out / synth.shard_name(0), 0, out / "docs.parquet", out / "x.parquet")
    return out


def test_extract_and_filter_write_the_same_tables_in_small_batches(shard, tmp_path) -> None:
    """Batches of 7 documents or 20 kB give the same rows as the default batching, and every
    output (kept, removed, flagged, repaired) adds up."""
    from skyforge.synthetic import crawl as synth

    small = D.BatchLimits(docs=7, bytes=20_000)
    extract_shard(
        shard / synth.shard_name(0),
        0,
        tmp_path / "docs.parquet",
        tmp_path / "x.parquet",
        limits=small,
    )
    for name in ("docs.parquet", "x.parquet"):
        assert pq.read_table(tmp_path / name).equals(pq.read_table(shard / name)), name
    assert pq.ParquetFile(tmp_path / "docs.parquet").metadata.num_row_groups > 10
    outputs = {}
    for label, limits in (("default", None), ("small", small)):
        out = tmp_path / label
        stats = filter_shard(
            shard / "docs.parquet",
            0,
            out / "kept.parquet",
            out / "removed.parquet",
            FiltersConfig.with_defaults(),
            encoding=EncodingConfig.with_defaults(),
            harmful=HarmfulConfig.with_defaults(),
            out_flagged=out / "flagged.parquet",
            out_repaired=out / "repaired.parquet",
            limits=limits,
        )
        outputs[label] = stats
        assert stats["num_kept"] + stats["num_removed"] == stats["num_docs_in"] > 300
        assert stats["num_kept"] == pq.ParquetFile(out / "kept.parquet").metadata.num_rows
    assert {k: v for k, v in outputs["small"].items() if k not in ("seconds", "docs_per_s")} == {
        k: v for k, v in outputs["default"].items() if k not in ("seconds", "docs_per_s")
    }
    for name in ("kept", "removed", "flagged", "repaired"):
        a = pq.read_table(tmp_path / "small" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "default" / f"{name}.parquet")
        assert a.equals(b) and (name != "flagged" or a.num_rows > 0), name


def test_substring_dedup_in_small_batches_finds_the_same_spans(tmp_path) -> None:
    """Map and apply stream record batches; positions stay those of the whole shard, so a repeat
    whose copies sit in different batches (and shards) is still found, span for span."""
    rng = random.Random(5)
    menu = "Archives Select Month December 2023 November 2023 October 2023 September 2023"
    paths = []
    for s in range(2):
        rows = [
            {
                "id": f"{s}-{i}",
                "text": "".join(rng.choice("qwertyuiop文字数据") for _ in range(40))
                + (menu if i % 9 == 4 else ""),
                "lang": "en",
                "shard": s,
            }
            for i in range(40)
        ]
        paths.append(tmp_path / f"in-{s}.parquet")
        D.write_docs(paths[-1], rows)
    stats = {}
    for label, limits in (("one", None), ("small", D.BatchLimits(docs=3))):
        out = tmp_path / label
        stats[label] = S.substring_dedup(
            paths,
            [0, 1],
            [out / f"out-{s}.parquet" for s in range(2)],
            [out / f"rm-{s}.parquet" for s in range(2)],
            out / "spans.parquet",
            min_length_bytes=40,
            langs=["en"],
            memory_budget_bytes=72 * 4 * 2**20 + 5_000,
            limits=limits,
        )
    assert stats["small"]["num_spans"] == stats["one"]["num_spans"] == 8  # 4 per shard
    assert stats["small"]["partitions"] == stats["one"]["partitions"] > 1
    for name in ["spans.parquet", "out-0.parquet", "out-1.parquet", "rm-0.parquet"]:
        a = pq.read_table(tmp_path / "small" / name)
        assert a.equals(pq.read_table(tmp_path / "one" / name)), name


def test_a_shard_whose_documents_are_all_removed_gives_empty_tables_that_add_up(tmp_path):
    """Every document of the shard is removed (a blocklisted domain): the kept table is an
    empty table with the document schema, which the next streaming step reads as such."""
    rows = [
        {"id": f"d{i}", "url": f"https://pornhub.com/v/{i}", "text": "word " * 80, "shard": 0}
        for i in range(5)
    ]
    D.write_docs(tmp_path / "in.parquet", rows)
    stats = filter_shard(
        tmp_path / "in.parquet",
        0,
        tmp_path / "kept.parquet",
        tmp_path / "removed.parquet",
        FiltersConfig.with_defaults(),
        limits=D.BatchLimits(docs=2),
    )
    assert stats["num_kept"] == 0 and stats["num_removed"] == stats["num_docs_in"] == 5
    kept = pq.read_table(tmp_path / "kept.parquet")
    assert kept.num_rows == 0 and kept.schema.equals(D.DOC_SCHEMA)
    assert pq.read_table(tmp_path / "removed.parquet").num_rows == 5
    assert list(D.iter_doc_rows(tmp_path / "kept.parquet")) == []
