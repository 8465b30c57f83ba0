"""Exact dedup across shards: normalisation, recall, one survivor per cluster, shard-order
independence, partitions, and the generic ``apply_drop`` (kept + removed == input)."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from skyforge.data.dedup import exact as E
from skyforge.data.docs import read_docs, read_removed, write_docs, write_table


def _doc(i: int, text: str, shard: int, date: str) -> dict:
    return {
        "id": f"doc-{i:04d}",
        "url": f"https://e{i}.test/",
        "text": text,
        "crawl_date": date,
        "lang": "en",
        "shard": shard,
    }


def _variant(rng: random.Random, text: str) -> str:
    """The same text as an exact duplicate after normalisation: case, punctuation, spacing."""
    out = text.upper() if rng.random() < 0.5 else text
    out = out.replace(" ", "  \n ") if rng.random() < 0.5 else out
    return out.replace(".", "!") + " ..."


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[list[Path], dict[str, int]]:
    """Three shards; 20 clusters of 2–4 normalised copies spread over shards, 60 singletons."""
    rng = random.Random(7)
    words = [f"w{i}" for i in range(500)] + ["北京", "上海", "数据", "模型"]
    rows: list[list[dict]] = [[], [], []]
    cluster_of: dict[str, int] = {}
    i = 0
    for c in range(20):
        base = " ".join(rng.choices(words, k=40)) + "."
        for k in range(rng.randint(2, 4)):
            shard = rng.randrange(3)
            date = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            text = base if k == 0 else _variant(rng, base)
            rows[shard].append(_doc(i, text, shard, date))
            cluster_of[f"doc-{i:04d}"] = c
            i += 1
    for _ in range(60):
        shard = rng.randrange(3)
        rows[shard].append(_doc(i, " ".join(rng.choices(words, k=40)), shard, "2023-05-05"))
        i += 1
    paths = []
    for s in range(3):
        rng.shuffle(rows[s])
        paths.append(tmp_path / f"docs-{s}.parquet")
        write_docs(paths[-1], rows[s])
    return paths, cluster_of


def test_normalize_is_cjk_safe_and_folds_case_punct_space() -> None:
    assert E.normalize_text("Ｈｅｌｌｏ,  World!\n 你好，世界。 ") == "hello world 你好世界"
    assert E.normalize_text("数据集") != E.normalize_text("数据 集")  # spaces are not removed
    assert E.text_hash("A  b.") == E.text_hash("a b") and len(E.text_hash("x")) == 32


def _run(paths: list[Path], tmp: Path, order: list[int], num_partitions: int = 1) -> set:
    hash_files = []
    for s in order:
        hash_files.append(tmp / f"hash-{s}.parquet")
        E.exact_hashes(paths[s], s, hash_files[-1])
    drops = []
    for p in range(num_partitions):
        drops.append(tmp / f"drop-{p}.parquet")
        E.exact_duplicates(hash_files, drops[-1], partition=p, num_partitions=num_partitions)
    rows = set()
    for d in drops:
        rows |= {tuple(r.values()) for r in pq.read_table(d).to_pylist()}
    return rows


def test_exact_duplicates_full_recall_one_survivor_order_independent(corpus, tmp_path) -> None:
    paths, cluster_of = corpus
    drop = _run(paths, tmp_path / "a", [0, 1, 2])
    dropped = {r[0] for r in drop}
    members: dict[int, set[str]] = {}
    for doc_id, c in cluster_of.items():
        members.setdefault(c, set()).add(doc_id)
    for ids in members.values():
        assert len(ids - dropped) == 1  # exactly one kept, all other copies dropped
    assert dropped <= set(cluster_of)  # no singleton dropped
    # Survivor = first by (crawl_date, id), so shard order and partitioning change nothing.
    assert _run(paths, tmp_path / "b", [2, 0, 1]) == drop
    assert _run(paths, tmp_path / "c", [1, 2, 0], num_partitions=3) == drop
    dates = {r["id"]: r["crawl_date"] for p in paths for r in read_docs(p).to_pylist()}
    for doc_id, _, kept_id in drop:
        assert (dates[kept_id], kept_id) < (dates[doc_id], doc_id)


def test_apply_drop_accounts_every_row(corpus, tmp_path) -> None:
    paths, _ = corpus
    _run(paths, tmp_path, [0, 1, 2])
    drop_rows = pq.read_table(tmp_path / "drop-0.parquet").to_pylist()
    for s, path in enumerate(paths):
        out_docs, out_rm = tmp_path / f"kept-{s}.parquet", tmp_path / f"rm-{s}.parquet"
        stats = E.apply_drop(path, tmp_path / "drop-0.parquet", s, "exact_dedup", out_docs, out_rm)
        kept, removed = read_docs(out_docs), read_removed(out_rm)
        n_in = pq.read_metadata(path).num_rows
        assert kept.num_rows + removed.num_rows == n_in == stats["num_in"]
        want = {r["id"] for r in drop_rows if r["shard"] == s}
        assert set(removed.column("id").to_pylist()) == want
        assert set(removed.column("reason").to_pylist()) <= {"exact_duplicate"}
        assert set(removed.column("step").to_pylist()) <= {"exact_dedup"}
        assert stats["num_drop_ids_not_found"] == 0
        assert stats["bytes_in"] == stats["bytes_removed"] + sum(
            len(t.encode()) for t in kept.column("text").to_pylist()
        )


def test_apply_drop_rejects_unknown_step(corpus, tmp_path) -> None:
    paths, _ = corpus
    _run(paths, tmp_path, [0])
    with pytest.raises(ValueError, match="step"):
        E.apply_drop(
            paths[0], tmp_path / "drop-0.parquet", 0, "heuristic", tmp_path / "k", tmp_path / "r"
        )


def test_exact_duplicates_rejects_bad_partition(tmp_path) -> None:
    with pytest.raises(ValueError, match="partition"):
        E.exact_duplicates([], tmp_path / "d.parquet", partition=2, num_partitions=2)


@pytest.fixture(scope="module")
def synthetic_docs(tmp_path_factory) -> tuple[list[Path], object]:
    """The synthetic crawl (600 pages, 2 shards) extracted, minus what earlier steps remove."""
    synth = pytest.importorskip("skyforge.synthetic.crawl")
    extract = pytest.importorskip("skyforge.data.extract")
    import pyarrow as pa
    import pyarrow.compute as pc

    from skyforge.config import SyntheticCrawlConfig

    tmp = tmp_path_factory.mktemp("synth")
    synth.synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": 600}), 2, tmp)
    gt = pq.read_table(tmp / "ground_truth.parquet").to_pandas()
    survivors = gt[gt.expected_step.isna() | gt.expected_step.isin(list(E.DEDUP_STEPS))]
    lang = dict(zip(survivors.record_id, survivors.lang, strict=True))
    paths = []
    for s in range(2):
        raw = tmp / f"x-{s}.parquet"
        extract.extract_shard(tmp / synth.shard_name(s), s, raw, tmp / f"xr-{s}.parquet")
        t = read_docs(raw)
        t = t.filter(pc.is_in(t.column("id"), value_set=pa.array(list(lang))))
        t = t.set_column(
            t.schema.get_field_index("lang"),
            "lang",
            pa.array([lang[i] for i in t.column("id").to_pylist()], pa.string()),
        )
        paths.append(tmp / f"docs-{s}.parquet")
        write_docs(paths[-1], t)
    return paths, gt


def test_exact_dedup_on_synthetic_crawl(synthetic_docs, tmp_path) -> None:
    """Every exact copy of the crawl is found (recall 1.0), nothing else is removed."""
    paths, gt = synthetic_docs
    drop = _run(paths, tmp_path, [1, 0])
    by_id = gt.set_index("record_id")
    expected = by_id[by_id.dup_type == "exact"]
    # Which member survives is ours to choose, so score per cluster: every dropped document
    # must share an exact-dup cluster with the one it is dropped for.
    correct = sum(
        1
        for doc_id, _, kept in drop
        if by_id.at[doc_id, "dup_cluster"] >= 0
        and by_id.at[doc_id, "dup_cluster"] == by_id.at[kept, "dup_cluster"]
        and "near" not in {by_id.at[doc_id, "dup_type"], by_id.at[kept, "dup_type"]}
    )
    assert len(expected) > 10
    assert correct == len(expected) == len(drop)


def _hash_tables(tmp: Path, seed: int = 3) -> tuple[list[Path], list[dict]]:
    """Four hash tables: 400 documents, 60 groups of 2–6 copies of one hash spread over the
    shards (so every group's copies sit in several files), some dates missing."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for i in range(400):
        date = None if rng.random() < 0.1 else f"2023-{rng.randint(1, 3):02d}-0{rng.randint(1, 3)}"
        rows.append({"id": f"doc-{rng.randrange(10**6):06d}-{i}", "crawl_date": date})
    hashes = [f"{rng.getrandbits(128):032x}" for _ in rows]
    for g in range(60):
        for j in rng.sample(range(400), rng.randint(2, 6)):
            hashes[j] = f"{g:02d}" + hashes[g][2:]  # planted copies
    full = [dict(r, shard=k % 4, hash=h) for k, (r, h) in enumerate(zip(rows, hashes, strict=True))]
    paths = []
    for s in range(4):
        paths.append(tmp / f"hashes-{s}.parquet")
        write_table(paths[-1], [r for r in full if r["shard"] == s], E.HASH_SCHEMA)
    return paths, full


def test_partitions_stream_to_exactly_the_one_job_drop_list(tmp_path) -> None:
    paths, rows = _hash_tables(tmp_path)
    # Reference: per hash, the first by (date, missing last; id) is kept, the rest dropped.
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["hash"], []).append(r)
    want = set()
    for members in groups.values():
        members.sort(key=lambda r: (r["crawl_date"] or E.MISSING_DATE, r["id"]))
        want |= {(r["id"], r["shard"], members[0]["id"]) for r in members[1:]}
    spread = [m for m in groups.values() if len({r["shard"] for r in m}) >= 3]
    assert len(want) > 100 and spread  # copies of one text in three or more files
    one = tmp_path / "one.parquet"
    stats = E.exact_duplicates(paths, one)
    table = pq.read_table(one)
    assert {tuple(r.values()) for r in table.to_pylist()} == want
    assert table.to_pylist() == sorted(table.to_pylist(), key=lambda r: (r["shard"], r["id"]))
    assert stats["num_drop"] == len(want) and stats["num_docs"] == 400
    for n in (3, 7):
        got, docs = [], 0
        for p in range(n):  # record batches of 5 rows: every group crosses batch boundaries
            out = tmp_path / f"part-{p}-of-{n}.parquet"
            docs += E.exact_duplicates(paths, out, partition=p, num_partitions=n, batch_rows=5)[
                "num_docs"
            ]
            got += pq.read_table(out).to_pylist()
        assert docs == 400 and len(got) == len(want)
        assert sorted(got, key=lambda r: (r["shard"], r["id"])) == table.to_pylist()


def test_bad_hash_tables_are_named(tmp_path) -> None:
    bad = tmp_path / "bad.parquet"
    row = {"id": "a", "shard": 0, "hash": "xyz", "crawl_date": None}
    write_table(bad, [row], E.HASH_SCHEMA)
    with pytest.raises(ValueError, match=r"bad\.parquet: column 'hash' must hold 32 hex"):
        E.exact_duplicates([bad], tmp_path / "d.parquet")
    write_table(bad, [dict(row, hash="G" * 32)], E.HASH_SCHEMA)
    with pytest.raises(ValueError, match=r"bad\.parquet: column 'hash' must hold lower-case hex"):
        E.exact_duplicates([bad], tmp_path / "d.parquet")
    write_docs(bad, [])
    with pytest.raises(ValueError, match=r"bad\.parquet: no column 'hash'"):
        E.exact_duplicates([bad], tmp_path / "d.parquet")
