"""MinHash LSH near-dup dedup: parameters, tokens, signature estimates, the staged
signatures → buckets → clusters → apply_drop chain on crafted EN/ZH near-duplicates and on the
synthetic crawl (recall ≥ 0.9 at precision ≥ 0.95)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from skyforge.config import DedupConfig, section_defaults
from skyforge.data.dedup import exact as E
from skyforge.data.dedup import minhash as M
from skyforge.data.docs import read_docs, read_removed, write_docs

PARAMS = M.MinHashParams.from_section(DedupConfig.from_dict(section_defaults("dedup")))
EN_WORDS = [
    f"{a}{b}"
    for a in ("ka", "lo", "mi", "nu", "pe", "ra", "si", "tu")
    for b in (
        "ban",
        "cor",
        "del",
        "fin",
        "gul",
        "hap",
        "jit",
        "kem",
        "lon",
        "mor",
        "nap",
        "pid",
        "qua",
        "rin",
        "sop",
        "tev",
        "urd",
        "vex",
        "wol",
        "yam",
    )
]
ZH_CHARS = [chr(c) for c in range(0x4E00, 0x4E00 + 2500, 3)]
# Shared by every document (a site template): unrelated documents must not match through it.
TEMPLATE_EN = "Share this article on social media. Subscribe to our newsletter for more."
TEMPLATE_ZH = "版权所有，未经许可不得转载。欢迎关注我们的公众号获取更多资讯。"


def _text(rng: random.Random, lang: str, n: int) -> list[str]:
    return rng.choices(EN_WORDS, k=n) if lang == "en" else rng.choices(ZH_CHARS, k=n)


def _join(tokens: list[str], lang: str) -> str:
    if lang == "en":
        return " ".join(tokens) + ". " + TEMPLATE_EN
    return "".join(tokens) + "。" + TEMPLATE_ZH


def _edit(rng: random.Random, tokens: list[str], lang: str, num_edits: int) -> list[str]:
    """Small edits: replace, delete or insert one token at a time."""
    out = list(tokens)
    for _ in range(num_edits):
        i, op = rng.randrange(len(out)), rng.choice("rdi")
        if op == "r":
            out[i] = _text(rng, lang, 1)[0]
        elif op == "d":
            del out[i]
        else:
            out.insert(i, _text(rng, lang, 1)[0])
    return out


@pytest.fixture
def crafted(tmp_path: Path) -> tuple[list[Path], dict[str, int]]:
    """Three shards: 30 EN + 30 ZH originals with 1–2 near copies each (≈2 % of tokens edited),
    plus 200 unrelated documents; returns doc paths and the cluster of each near-dup member."""
    rng = random.Random(11)
    shards: list[list[dict]] = [[], [], []]
    cluster_of: dict[str, int] = {}
    n = 0

    def add(text: str, cluster: int | None) -> None:
        nonlocal n
        s = rng.randrange(3)
        doc_id = f"d{n:05d}"
        date = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        shards[s].append(
            {"id": doc_id, "url": None, "text": text, "crawl_date": date, "lang": "en", "shard": s}
        )
        if cluster is not None:
            cluster_of[doc_id] = cluster
        n += 1

    for c in range(60):
        lang = "en" if c < 30 else "zh"
        base = _text(rng, lang, rng.randint(150, 400))
        add(_join(base, lang), c)
        for _ in range(rng.randint(1, 2)):
            add(_join(_edit(rng, base, lang, max(1, len(base) // 50)), lang), c)
    for k in range(200):
        lang = "en" if k % 2 else "zh"
        add(_join(_text(rng, lang, rng.randint(100, 400)), lang), None)
    paths = []
    for s, rows in enumerate(shards):
        paths.append(tmp_path / f"docs-{s}.parquet")
        write_docs(paths[-1], rows)
    return paths, cluster_of


def _pipeline(
    paths: list[Path], tmp: Path, params: M.MinHashParams, num_partitions: int = 1
) -> tuple[list[dict], dict]:
    sigs = []
    for s, p in enumerate(paths):
        sigs.append(tmp / f"sig-{s}.parquet")
        M.minhash_signatures(p, s, sigs[-1], params)
    pairs = []
    for band in range(params.bands):
        for part in range(num_partitions):
            pairs.append(tmp / f"pairs-{band}-{part}.parquet")
            M.minhash_buckets(
                sigs, band, pairs[-1], params, partition=part, num_partitions=num_partitions
            )
    stats = M.minhash_clusters(pairs, tmp / "drop.parquet", params)
    return pq.read_table(tmp / "drop.parquet").to_pylist(), stats


def _score(
    drop: list[dict], cluster_of: dict[str, int], expected: int | None = None
) -> tuple[float, float]:
    """Cluster-aware precision/recall: a removal is right if it shares a cluster with its
    survivor; by default each cluster of k members should lose k − 1."""
    if expected is None:
        sizes: dict[int, int] = {}
        for c in cluster_of.values():
            sizes[c] = sizes.get(c, 0) + 1
        expected = sum(v - 1 for v in sizes.values())
    correct = sum(
        1
        for r in drop
        if r["id"] in cluster_of and cluster_of[r["id"]] == cluster_of.get(r["duplicate_of"])
    )
    return correct / max(len(drop), 1), correct / expected


def test_params_validate_and_s_curve() -> None:
    with pytest.raises(ValueError, match="bands"):
        replace(PARAMS, num_perm=128, bands=10, rows=8)
    with pytest.raises(ValueError, match="dedup.near.shingles"):
        M.MinHashParams.from_section(
            DedupConfig.from_dict(
                dict(section_defaults("dedup"), near={**vars(PARAMS), "shingles": 5})
            )
        )
    p = replace(PARAMS, num_perm=128, bands=16, rows=8)
    assert p.candidate_probability(0.8) == pytest.approx(1 - (1 - 0.8**8) ** 16)
    assert p.candidate_probability(0.85) > 0.99 > 0.1 > p.candidate_probability(0.4)
    assert "← threshold" in M.s_curve_table(p)


def test_tokenize_words_and_cjk_characters() -> None:
    assert M.tokenize("Hello, WORLD—it's 2024!") == ["hello", "world", "it", "s", "2024"]
    assert M.tokenize("深度学习（ＡＩ）模型abc") == [
        "深",
        "度",
        "学",
        "习",
        "ai",
        "模",
        "型",
        "abc",
    ]


def test_signature_estimates_track_jaccard() -> None:
    rng = random.Random(3)
    for lang in ("en", "zh"):
        for edits in (5, 20, 60, 150):
            base = _text(rng, lang, 300)
            a, b = _join(base, lang), _join(_edit(rng, base, lang, edits), lang)
            sa, sb = set(M.shingle_hashes(a, PARAMS)), set(M.shingle_hashes(b, PARAMS))
            jaccard = len(sa & sb) / len(sa | sb)
            sig = M.compute_signatures([a, b], PARAMS)
            estimate = float((sig[0] == sig[1]).mean())
            assert abs(estimate - jaccard) < 0.15, (lang, edits, jaccard, estimate)
    # Unrelated texts sharing only the template estimate near zero.
    sig = M.compute_signatures([_join(_text(rng, "en", 300), "en") for _ in range(2)], PARAMS)
    assert (sig[0] == sig[1]).mean() < 0.1
    assert sig.dtype == np.uint32 and sig.shape == (2, PARAMS.num_perm)


def test_short_and_empty_texts_get_signatures() -> None:
    sig = M.compute_signatures(["", "one two", "one two", "!!!"], PARAMS)
    assert (sig[1] == sig[2]).all() and not (sig[0] == sig[1]).all()
    assert (sig[0] == sig[3]).all()  # no tokens at all: the same (empty) shingle


def test_a_batch_hashed_in_chunks_gives_each_document_its_own_signature() -> None:
    """compute_signatures hashes a record batch a few hundred documents at a time: a batch that
    spans several chunks equals the documents' signatures computed one by one."""
    rng = random.Random(7)
    langs = ["en" if i % 3 else "zh" for i in range(600)]
    texts = [_join(_text(rng, lang, 20 + i % 50), lang) for i, lang in enumerate(langs)]
    texts[300] = ""  # an empty document inside the second chunk
    batch = M.compute_signatures(texts, PARAMS)
    assert batch.shape == (600, PARAMS.num_perm)
    single = np.concatenate([M.compute_signatures([t], PARAMS) for t in texts])
    assert np.array_equal(batch, single)


def test_crafted_near_duplicates_recall_and_precision(crafted, tmp_path) -> None:
    paths, cluster_of = crafted
    drop, stats = _pipeline(paths, tmp_path, PARAMS)
    precision, recall = _score(drop, cluster_of)
    assert recall >= 0.9 and precision >= 0.95, (precision, recall, stats)
    dates = {r["id"]: r["crawl_date"] for p in paths for r in read_docs(p).to_pylist()}
    for r in drop:  # the survivor is the first by (crawl_date, id)
        assert (dates[r["duplicate_of"]], r["duplicate_of"]) < (dates[r["id"]], r["id"])


def test_result_independent_of_shard_order_and_partitions(crafted, tmp_path) -> None:
    paths, _ = crafted
    drop, _ = _pipeline(paths, tmp_path / "a", PARAMS)
    drop_rev, _ = _pipeline(paths[::-1], tmp_path / "b", PARAMS, num_partitions=2)
    key = [(r["id"], r["duplicate_of"]) for r in drop]
    assert sorted(key) == sorted((r["id"], r["duplicate_of"]) for r in drop_rev)


def test_clusters_feed_apply_drop(crafted, tmp_path) -> None:
    paths, _ = crafted
    drop, stats = _pipeline(paths, tmp_path, PARAMS)
    clusters = pq.read_table(tmp_path / "drop.clusters.parquet").to_pandas()
    assert clusters.groupby("cluster").kept.sum().eq(1).all()
    assert len(clusters) - stats["num_clusters"] == len(drop) == stats["num_drop"]
    for s, path in enumerate(paths):
        kept_p, rm_p = tmp_path / f"k{s}.parquet", tmp_path / f"r{s}.parquet"
        E.apply_drop(path, tmp_path / "drop.parquet", s, "near_dedup", kept_p, rm_p)
        removed = read_removed(rm_p)
        assert read_docs(kept_p).num_rows + removed.num_rows == pq.read_metadata(path).num_rows
        assert set(removed.column("step").to_pylist()) <= {"near_dedup"}
        assert set(removed.column("reason").to_pylist()) <= {"near_duplicate"}
        assert removed.num_rows == sum(1 for r in drop if r["shard"] == s)


def test_buckets_reject_mismatched_params(crafted, tmp_path) -> None:
    paths, _ = crafted
    M.minhash_signatures(paths[0], 0, tmp_path / "sig.parquet", PARAMS)
    other = replace(PARAMS, seed=PARAMS.seed + 1)
    with pytest.raises(ValueError, match="seed"):
        M.minhash_buckets([tmp_path / "sig.parquet"], 0, tmp_path / "p.parquet", other)
    with pytest.raises(ValueError, match="band"):
        M.minhash_buckets([tmp_path / "sig.parquet"], PARAMS.bands, tmp_path / "p.parquet", PARAMS)


def test_components_match_naive_union_find() -> None:
    rng = np.random.default_rng(5)
    n = 300
    a, b = rng.integers(0, n, 250), rng.integers(0, n, 250)
    label = M._components(a, b, n)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in zip(a, b, strict=True):
        parent[find(int(x))] = find(int(y))
    for x in range(n):
        for y in range(x + 1, min(n, x + 20)):
            assert (label[x] == label[y]) == (find(x) == find(y))


@pytest.fixture(scope="module")
def synthetic_docs(tmp_path_factory) -> tuple[list[Path], object]:
    """The synthetic crawl (600 pages, 2 shards) extracted, after exact dedup, minus what the
    steps before dedup remove (as if they were perfect)."""
    synth = pytest.importorskip("skyforge.synthetic.crawl")
    extract = pytest.importorskip("skyforge.data.extract")
    from skyforge.config import SyntheticCrawlConfig

    tmp = tmp_path_factory.mktemp("synth")
    synth.synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": 600}), 2, tmp)
    gt = pq.read_table(tmp / "ground_truth.parquet").to_pandas()
    survivors = gt[gt.expected_step.isna() | gt.expected_step.isin(list(E.DEDUP_STEPS))]
    keep_ids = pa.array(list(survivors.record_id))
    paths, hashes = [], []
    for s in range(2):
        raw = tmp / f"x-{s}.parquet"
        extract.extract_shard(tmp / synth.shard_name(s), s, raw, tmp / f"xr-{s}.parquet")
        t = read_docs(raw)
        write_docs(tmp / f"in-{s}.parquet", t.filter(pc.is_in(t.column("id"), value_set=keep_ids)))
        hashes.append(tmp / f"h-{s}.parquet")
        E.exact_hashes(tmp / f"in-{s}.parquet", s, hashes[-1])
    E.exact_duplicates(hashes, tmp / "exact-drop.parquet")
    for s in range(2):
        paths.append(tmp / f"docs-{s}.parquet")
        E.apply_drop(
            tmp / f"in-{s}.parquet",
            tmp / "exact-drop.parquet",
            s,
            "exact_dedup",
            paths[-1],
            tmp / f"er-{s}.parquet",
        )
    return paths, gt


def test_near_dedup_on_synthetic_crawl(synthetic_docs, tmp_path) -> None:
    paths, gt = synthetic_docs
    drop, stats = _pipeline(paths, tmp_path, PARAMS)
    dup = gt[gt.dup_cluster >= 0]
    cluster_of = dict(zip(dup.record_id, dup.dup_cluster, strict=True))
    # All cluster members count (exact dedup may have kept an exact copy instead of the
    # original); the number to remove is the number of near copies.
    precision, recall = _score(drop, cluster_of, expected=int((gt.dup_type == "near").sum()))
    assert recall >= 0.9 and precision >= 0.95, (precision, recall, stats)


def _pair_files(tmp: Path, seed: int = 5) -> tuple[list[Path], list[dict], list[tuple]]:
    """Pair files of 3 'bands' for 300 documents on 6 shards: 50 random clusters of 2–7 linked
    by random spanning edges, listed again in other bands, plus pairs below the threshold; and
    a chain d0 – d1 – … – d5 with one document per shard, whose pairs fall in 6 partitions."""
    rng = random.Random(seed)
    docs = [
        {
            "id": f"<urn:uuid:{rng.getrandbits(64):016x}-{i:04d}>",
            "shard": i % 6,
            "date": None
            if rng.random() < 0.1
            else f"2023-0{rng.randint(1, 3)}-1{rng.randint(0, 2)}",
        }
        for i in range(300)
    ]
    edges = [(k, k + 1) for k in range(5)]  # the chain: docs 0 … 5, shards 0 … 5
    free = list(range(6, 300))
    rng.shuffle(free)
    for _ in range(50):
        members = [free.pop() for _ in range(rng.randint(2, 7))]
        edges += [(members[rng.randrange(k)], members[k]) for k in range(1, len(members))]
        edges += [tuple(rng.sample(members, 2)) for _ in range(rng.randint(0, 3))]
    weak = [tuple(rng.sample(free, 2)) for _ in range(30)]  # below the threshold: no cluster
    tables = []
    for band in range(3):
        rows = [(a, b, 0.9) for a, b in edges if band == 0 or rng.random() < 0.6]
        rows += [(a, b, 0.3) for a, b in weak]
        rng.shuffle(rows)
        tables.append(
            pa.table(
                {
                    "id_a": [docs[a]["id"] for a, _, _ in rows],
                    "shard_a": pa.array([docs[a]["shard"] for a, _, _ in rows], pa.int32()),
                    "crawl_date_a": [docs[a]["date"] for a, _, _ in rows],
                    "id_b": [docs[b]["id"] for _, b, _ in rows],
                    "shard_b": pa.array([docs[b]["shard"] for _, b, _ in rows], pa.int32()),
                    "crawl_date_b": [docs[b]["date"] for _, b, _ in rows],
                    "similarity": pa.array([s for _, _, s in rows], pa.float32()),
                    "band": pa.array([band] * len(rows), pa.int16()),
                }
            )
        )
    paths = []
    for band, table in enumerate(tables):
        paths.append(tmp / f"band-{band}.parquet")
        M._write_pairs(paths[-1], table)
    return paths, docs, edges


def test_partitioned_components_and_merge_equal_the_one_job_reduce(tmp_path, monkeypatch):
    monkeypatch.setattr(M, "PAIR_ROW_GROUP", 16)  # many row groups: partitions skip most
    paths, docs, edges = _pair_files(tmp_path)
    # Reference: union-find over the verified pairs; each cluster keeps its first document by
    # (crawl date, missing last; id).
    parent = list(range(len(docs)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    clusters: dict[int, list[int]] = {}
    for a, b in edges:
        for x in (a, b):
            clusters.setdefault(find(x), [])
    for x in {x for e in edges for x in e}:
        clusters[find(x)].append(x)
    want = set()
    for members in clusters.values():
        members.sort(key=lambda x: (docs[x]["date"] or E.MISSING_DATE, docs[x]["id"]))
        keep = docs[members[0]]["id"]
        want |= {(docs[x]["id"], docs[x]["shard"], keep) for x in members[1:]}

    one = M.minhash_clusters(paths, tmp_path / "one.parquet", PARAMS, min_pending=10)
    drop = pq.read_table(tmp_path / "one.parquet").to_pylist()
    assert {tuple(r.values()) for r in drop} == want and one["num_drop"] == len(want)
    assert drop == sorted(drop, key=lambda r: (r["shard"], r["id"]))
    chain = {docs[k]["id"] for k in range(6)}
    chain_drop = [r for r in drop if r["id"] in chain]
    assert len(chain_drop) == 5 and len({r["duplicate_of"] for r in chain_drop}) == 1
    clusters_one = pq.read_table(tmp_path / "one.clusters.parquet").to_pandas()
    chain_rows = clusters_one[clusters_one.id.isin(chain)]
    assert chain_rows.cluster.nunique() == 1 and len(chain_rows) == 6  # one cluster over 6 jobs
    for n in (2, 3, 6):
        comps, pairs = [], 0
        for p in range(n):
            comps.append(tmp_path / f"part-{p}-of-{n}.parquet")
            stats = M.minhash_components(
                paths, comps[-1], PARAMS, partition=p, num_partitions=n, batch_rows=7, min_pending=5
            )
            pairs += stats["num_pairs"]
        assert pairs == one["num_pairs"]  # every verified pair in exactly one partition
        out = tmp_path / f"merged-{n}.parquet"
        M.merge_components(comps, out, out_clusters=tmp_path / f"merged-{n}.clusters.parquet")
        assert out.read_bytes() == (tmp_path / "one.parquet").read_bytes(), n
        assert (tmp_path / f"merged-{n}.clusters.parquet").read_bytes() == (
            tmp_path / "one.clusters.parquet"
        ).read_bytes(), n


def test_components_reject_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="partition 3 of 3"):
        M.minhash_components([], tmp_path / "c.parquet", PARAMS, partition=3, num_partitions=3)
    bad = tmp_path / "bad.parquet"
    write_docs(bad, [])
    with pytest.raises(ValueError, match=r"bad\.parquet: no column 'id_a'"):
        M.minhash_components([bad], tmp_path / "c.parquet", PARAMS)
    with pytest.raises(ValueError, match=r"bad\.parquet: no column 'root'"):
        M.merge_components([bad], tmp_path / "d.parquet")


def test_bucket_partitions_of_a_band_give_exactly_the_one_job_pairs(crafted, tmp_path) -> None:
    """P jobs per band (band keys ≡ p mod P), streamed in small record batches, write together
    the one job's pair rows, and the reduce over them gives the same drop list byte for byte
    (a pair found in several bands is in several files, as before)."""
    paths, _ = crafted
    sigs = []
    for s, p in enumerate(paths):
        sigs.append(tmp_path / f"sig-{s}.parquet")
        M.minhash_signatures(p, s, sigs[-1], PARAMS)
    one, parts = [], []
    for band in range(0, PARAMS.bands, 4):  # 4 of the 16 bands keep the test cheap
        one.append(tmp_path / f"one-{band}.parquet")
        whole = M.minhash_buckets(sigs, band, one[-1], PARAMS)
        stats = []
        for p in range(3):
            parts.append(tmp_path / f"band-{band}-part-{p}-of-3.parquet")
            stats.append(
                M.minhash_buckets(
                    sigs, band, parts[-1], PARAMS, partition=p, num_partitions=3, batch_rows=40
                )
            )
        for key in ("num_docs", "num_candidates", "num_buckets", "num_verified_pairs"):
            assert sum(s[key] for s in stats) == whole[key], key  # each in one partition
        got = pa.concat_tables([pq.read_table(f) for f in parts[-3:]])
        want = pq.read_table(one[-1])
        order = [(c, "ascending") for c in M.PAIR_SCHEMA.names]
        assert got.sort_by(order).equals(want.sort_by(order)), band
    assert min(pq.read_metadata(f).num_rows for f in one) > 20
    M.minhash_clusters(one, tmp_path / "drop-one.parquet", PARAMS)
    M.minhash_clusters(parts, tmp_path / "drop-parts.parquet", PARAMS)
    for p in range(2):
        M.minhash_components(
            parts, tmp_path / f"c{p}.parquet", PARAMS, partition=p, num_partitions=2
        )
    M.merge_components([tmp_path / "c0.parquet", tmp_path / "c1.parquet"], tmp_path / "m.parquet")
    want = (tmp_path / "drop-one.parquet").read_bytes()
    assert (tmp_path / "drop-parts.parquet").read_bytes() == want
    assert (tmp_path / "m.parquet").read_bytes() == want
    with pytest.raises(ValueError, match="partition 3 of 3"):
        M.minhash_buckets(sigs, 0, tmp_path / "x.parquet", PARAMS, partition=3, num_partitions=3)
    bad = tmp_path / "bad.parquet"
    pq.write_table(
        pq.read_table(sigs[0])
        .drop_columns(["h003"])
        .replace_schema_metadata(pq.read_schema(sigs[0]).metadata),
        bad,
    )
    with pytest.raises(ValueError, match=r"bad.parquet: no column 'h003'"):
        M.minhash_buckets([bad], 0, tmp_path / "x.parquet", PARAMS)
