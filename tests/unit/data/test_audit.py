"""The corpus audit (skyforge.data.audit): removal samples per step, reason group and language,
picked per shard and merged, and the benchmark audit of the decontamination ledgers."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash

from skyforge.data.audit import (
    SAMPLE_SCHEMA,
    audit_shard,
    benchmark_audit,
    reason_group,
    write_audit,
)
from skyforge.data.decontam_step import MATCH_SCHEMA
from skyforge.data.docs import write_docs, write_removed


def test_reason_group_strips_numeric_suffixes_only():
    assert reason_group("low_quality:0.02") == "low_quality"
    assert reason_group("low_quality:1e-05") == "low_quality"
    assert reason_group("url_pattern:3") == "url_pattern"
    assert reason_group("low_confidence:zh:0.41") == "low_confidence:zh"
    assert reason_group("contamination:gsm8k") == "contamination:gsm8k"
    assert reason_group("blocklist:adult") == "blocklist:adult"
    assert reason_group("too_short") == "too_short"


def _make_shard(root: Path, shard: int, rng: random.Random) -> tuple[list, list[dict]]:
    """Removal tables of one shard: extraction (no text), heuristic and quality model (with
    their input tables). Returns the (removed, input) pairs and every removal as a dict."""
    root.mkdir(parents=True, exist_ok=True)
    every: list[dict] = []
    pairs: list[tuple[Path, Path | None]] = []

    ext = [
        {
            "id": f"s{shard}-x{i}",
            "url": f"https://x{i}.example/{shard}",
            "step": "extract",
            "reason": rng.choice(["truncated", "revisit"]),
        }
        for i in range(12)
    ]
    write_removed(root / "extract.removed.parquet", ext)
    pairs.append((root / "extract.removed.parquet", None))
    every += [{**r, "lang": "?", "text": None} for r in ext]

    for step, reasons in (
        ("heuristic", ["too_short", "url_pattern:2", "url_pattern:7"]),
        ("quality_model", ["low_quality:0.02", "low_quality:0.31", "low_quality:0.5"]),
    ):
        docs, rem = [], []
        for i in range(15):
            doc_id = f"s{shard}-{step}-{i}"
            lang = rng.choice(["en", "zh"])
            text = f"Title {doc_id}\n\nBody of {doc_id} in {lang}. " + "More words. " * 10
            docs.append(
                {
                    "id": doc_id,
                    "url": f"https://{step}.example/{doc_id}",
                    "text": text,
                    "lang": lang,
                }
            )
            if i % 5 != 4:  # some documents of the input table were kept
                rem.append(
                    {
                        "id": doc_id,
                        "url": docs[-1]["url"],
                        "step": step,
                        "reason": rng.choice(reasons),
                    }
                )
                every.append({**rem[-1], "lang": lang, "text": text})
        write_docs(root / f"{step}.in.parquet", docs)
        write_removed(root / f"{step}.removed.parquet", rem)
        pairs.append((root / f"{step}.removed.parquet", root / f"{step}.in.parquet"))
    return pairs, every


@pytest.fixture
def shards(tmp_path):
    rng = random.Random(7)
    a = _make_shard(tmp_path / "a", 0, rng)
    b = _make_shard(tmp_path / "b", 1, rng)
    return a, b


def _key(seed: int, doc_id: str) -> int:
    return xxhash.xxh64_intdigest(f"{seed}:{doc_id}".encode())


def test_samples_are_the_smallest_hashes_per_step_reason_group_and_language(tmp_path, shards):
    (pairs_a, every_a), (pairs_b, every_b) = shards
    out = tmp_path / "all.parquet"
    stats = audit_shard(pairs_a + pairs_b, out, per_reason=3, seed=11)

    # reference: group every removal by (step, grouped reason, language), keep the 3 smallest
    groups = defaultdict(list)
    for r in every_a + every_b:
        group = r["reason"].split(":")[0] if r["reason"][-1].isdigit() else r["reason"]
        groups[(r["step"], group, r["lang"])].append(r)
    expected = {
        k: sorted(v, key=lambda r: _key(11, r["id"]))[:3] for k, v in sorted(groups.items())
    }

    table = pq.read_table(out)
    assert table.schema.equals(SAMPLE_SCHEMA)
    got = table.to_pylist()
    assert stats == {"samples": len(got), "removal_rows": 2 * (12 + 12 + 12)}
    by_group = defaultdict(list)
    for r in got:
        by_group[(r["step"], r["reason"], r["lang"])].append(r["id"])
    assert by_group == {k: [r["id"] for r in v] for k, v in expected.items()}
    # every (step, group, language) with at least 3 removals gave 3; reasons grouped
    assert {k[:2] for k in by_group} == {
        ("extract", "truncated"),
        ("extract", "revisit"),
        ("heuristic", "too_short"),
        ("heuristic", "url_pattern"),
        ("quality_model", "low_quality"),
    }
    # pipeline order of steps, then reason, language, key
    steps = [r["step"] for r in got]
    assert steps == sorted(steps, key=["extract", "heuristic", "quality_model"].index)

    full = {r["id"]: r for r in every_a + every_b}
    for r in got:
        src = full[r["id"]]
        assert r["key"] == _key(11, r["id"])
        assert r["full_reason"] == src["reason"] and r["url"] == src["url"]
        if r["step"] == "extract":  # no text was made: the URL only
            assert (r["lang"], r["excerpt"]) == ("?", "")
        else:  # a title line takes the next paragraph with it
            assert r["excerpt"] == src["text"].strip().replace("\n\n", "\n")


def test_per_reason_bounds_each_group(tmp_path, shards):
    (pairs_a, _), _ = shards
    audit_shard(pairs_a, tmp_path / "one.parquet", per_reason=1)
    frame = pq.read_table(tmp_path / "one.parquet").to_pandas()
    assert frame.groupby(["step", "reason", "lang"]).size().max() == 1
    # quality_model removals, grouped into one reason, in both languages
    assert sorted(frame[frame.step == "quality_model"].lang) == ["en", "zh"]


@pytest.mark.parametrize("candidates", [64, 5])
def test_picking_per_shard_then_merging_equals_one_pick_over_both(tmp_path, shards, candidates):
    (pairs_a, _), (pairs_b, _) = shards
    kw = {"per_reason": 2, "candidates": candidates, "seed": 3}
    audit_shard(pairs_a, tmp_path / "a.parquet", **kw)
    audit_shard(pairs_b, tmp_path / "b.parquet", **kw)
    audit_shard(pairs_a + pairs_b, tmp_path / "ab.parquet", **kw)
    # a third shard that removed nothing
    write_removed(tmp_path / "empty.removed.parquet", [])
    audit_shard([(tmp_path / "empty.removed.parquet", None)], tmp_path / "c.parquet", **kw)

    shard_files = [tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"]
    merged = write_audit(shard_files, [], {}, tmp_path / "merged", per_reason=2)
    whole = write_audit([tmp_path / "ab.parquet"], [], {}, tmp_path / "whole", per_reason=2)
    assert merged == whole
    samples = (tmp_path / "merged" / "samples.csv").read_text(encoding="utf-8")
    assert samples == (tmp_path / "whole" / "samples.csv").read_text(encoding="utf-8")

    # and the merge is the one-pass pick itself (its key column dropped)
    one = pq.read_table(tmp_path / "ab.parquet").to_pandas()
    csv = pd.read_csv(tmp_path / "merged" / "samples.csv", keep_default_na=False)
    assert list(csv.columns) == [c for c in SAMPLE_SCHEMA.names if c != "key"]
    assert list(csv["id"]) == list(one["id"])
    # both shards contribute: the per-shard picks are not simply one shard's
    assert {i[:2] for i in csv["id"]} == {"s0", "s1"}
    assert merged["reasons"] == 5 and merged["samples"] == len(one)


def test_empty_removal_tables_give_an_empty_sample_table(tmp_path):
    write_removed(tmp_path / "r.parquet", [])
    write_docs(tmp_path / "in.parquet", [])
    stats = audit_shard([(tmp_path / "r.parquet", tmp_path / "in.parquet")], tmp_path / "s.parquet")
    assert stats == {"samples": 0, "removal_rows": 0}
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.num_rows == 0 and table.schema.equals(SAMPLE_SCHEMA)


def test_long_text_is_cut_to_max_chars(tmp_path):
    text = "A first paragraph that is long enough not to be a title line. " * 5 + "\n\nNext."
    write_docs(tmp_path / "in.parquet", [{"id": "d", "text": text, "lang": "en"}])
    write_removed(
        tmp_path / "r.parquet", [{"id": "d", "url": "u", "step": "heuristic", "reason": "x"}]
    )
    audit_shard(
        [(tmp_path / "r.parquet", tmp_path / "in.parquet")], tmp_path / "s.parquet", max_chars=39
    )
    (row,) = pq.read_table(tmp_path / "s.parquet").to_pylist()
    # 38 characters, the trailing space dropped, and the ellipsis
    assert row["excerpt"] == "A first paragraph that is long enough…"


LEDGER = [
    # id, domain, benchmark, item, method, score, removed
    ("p1", "a.com", "gsm8k", "test/1", "ngram", 1.0, True),
    ("p1", "a.com", "gsm8k", "test/2", "crosslingual", 0.8, True),
    ("p2", "a.com", "gsm8k", "test/1", "ngram", 0.9, False),  # span cut, page kept
    ("p3", "b.org", "gsm8k", "test/1", "crosslingual", 0.75, True),
    ("p4", "c.net", "ceval", "val/physics/1", "ngram", 1.0, True),
]
ITEMS = {"gsm8k": 1319, "ceval": 1346, "mmlu": 14042}


def _ledger_rows() -> list[dict]:
    return [
        {
            "id": i,
            "url": f"https://{d}/{i}",
            "domain": d,
            "lang": "en",
            "shard": 0,
            "benchmark": b,
            "item_id": it,
            "method": m,
            "score": s,
            "start": 0,
            "end": 10,
            "removed": rm,
            "excerpt": f"text of {it}",
        }
        for i, d, b, it, m, s, rm in LEDGER
    ]


def test_benchmark_audit_counts_items_pages_methods_and_removed_pages():
    summary, found = benchmark_audit(pd.DataFrame(_ledger_rows()), ITEMS)
    assert summary.to_dict("records") == [
        {
            "benchmark": "ceval",
            "items": 1346,
            "items_found": 1,
            "pages": 1,
            "pages_removed": 1,
            "by_ngram": 1,
            "by_crosslingual": 0,
            "top_domains": "c.net (1)",
        },
        {
            "benchmark": "gsm8k",
            "items": 1319,
            "items_found": 2,
            "pages": 3,
            "pages_removed": 2,
            "by_ngram": 2,
            "by_crosslingual": 2,
            "top_domains": "a.com (2), b.org (1)",
        },
        {
            "benchmark": "mmlu",
            "items": 14042,
            "items_found": 0,
            "pages": 0,
            "pages_removed": 0,
            "by_ngram": 0,
            "by_crosslingual": 0,
            "top_domains": "",
        },
    ]
    assert list(zip(found["item_id"], found["url"], strict=True)) == [
        ("val/physics/1", "https://c.net/p4"),
        ("test/1", "https://a.com/p1"),
        ("test/1", "https://a.com/p2"),
        ("test/1", "https://b.org/p3"),
        ("test/2", "https://a.com/p1"),
    ]


def test_benchmark_audit_of_an_empty_ledger():
    summary, found = benchmark_audit(pd.DataFrame(), {"gsm8k": 5})
    assert summary.to_dict("records") == [
        {
            "benchmark": "gsm8k",
            "items": 5,
            "items_found": 0,
            "pages": 0,
            "pages_removed": 0,
            "by_ngram": 0,
            "by_crosslingual": 0,
            "top_domains": "",
        }
    ]
    assert len(found) == 0 and "excerpt" in found.columns


def test_write_audit_merges_ledgers_and_writes_the_report(tmp_path, shards):
    (pairs_a, _), _ = shards
    audit_shard(pairs_a, tmp_path / "a.parquet", per_reason=1)
    rows = _ledger_rows()
    ledgers = [tmp_path / "m0.parquet", tmp_path / "m1.parquet", tmp_path / "m2.parquet"]
    pq.write_table(pa.Table.from_pylist(rows[:2], schema=MATCH_SCHEMA), ledgers[0])
    pq.write_table(pa.Table.from_pylist(rows[2:], schema=MATCH_SCHEMA), ledgers[1])
    pq.write_table(MATCH_SCHEMA.empty_table(), ledgers[2])  # a shard without matches

    out = tmp_path / "audit"
    stats = write_audit([tmp_path / "a.parquet"], ledgers, ITEMS, out, per_reason=1)

    samples = pd.read_csv(out / "samples.csv")
    assert stats == {"samples": len(samples), "reasons": 5, "items_found": 3}
    assert samples.groupby(["step", "reason", "lang"]).size().max() == 1
    bench = pd.read_csv(out / "benchmarks.csv", keep_default_na=False)
    assert list(bench["items_found"]) == [1, 2, 0]
    assert len(pd.read_csv(out / "items_found.csv")) == 5
    md = (out / "audit.md").read_text(encoding="utf-8")
    assert "| gsm8k | 1319 | 2 | 3 | 2 | 2 | 2 | a.com (2), b.org (1) |" in md
    assert "| mmlu | 14042 | 0 | 0 | 0 | 0 | 0 |  |" in md
    # one line per sample, the full reason shown
    assert md.count("| quality_model | low_quality:") == 2  # en and zh
