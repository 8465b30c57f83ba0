"""Corpus routing and the held-out split by crawl date."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from skyforge.data.corpora import (
    CORPORA,
    SPLITS,
    corpus_of,
    date_histogram,
    heldout_cutoffs,
    split_shard,
)
from skyforge.data.docs import write_docs

EN = "The council met on Tuesday to discuss the budget for the new library and its opening hours."
ZH = "市政府周四宣布，新图书馆将在明年春天开放，市民可以在网上预约参观时间。"


def test_routing():
    assert corpus_of("def f(x):\n    return x\n", "code") == "main-code"
    assert corpus_of(EN, "en") == "main-en"
    assert corpus_of(ZH, "zh") == "main-zh"
    stem = "Question 1\nSolve 2x + 3 = 7.\nSolution:\n2x = 7 - 3 = 4\nx = 4 / 2 = 2\nAnswer: 2"
    assert corpus_of(stem, "en") == "stem"
    stem_zh = "第1题\n解方程 2x + 3 = 7。\n解：\n2x = 7 - 3 = 4\nx = 2\n答：x = 2"
    assert corpus_of(stem_zh, "zh") == "stem"
    parallel = "\n".join([EN, ZH] * 3)
    assert corpus_of(parallel, "en") == "parallel"
    # One Chinese sentence quoted in an English article does not make it parallel text.
    assert corpus_of("\n".join([EN] * 5 + [ZH]), "en") == "main-en"


def _docs(n: int, lang: str, text: str, shard: int) -> list[dict]:
    return [
        {
            "id": f"<urn:{lang}:{shard}:{i}>",
            "url": f"https://example.{lang}/{i}",
            "domain": f"example.{lang}",
            "title": "t",
            "text": f"{text} {i}",
            "crawl_date": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "encoding": "utf-8",
            "lang": lang,
            "lang_score": 0.99,
            "shard": shard,
        }
        for i in range(n)
    ]


def test_heldout_is_newest_and_sized(tmp_path):
    shards = []
    for s in range(2):
        path = tmp_path / f"{s}.parquet"
        write_docs(path, _docs(100, "en", EN, s) + _docs(60, "zh", ZH, s))
        shards.append(path)
    hists = [date_histogram([p], tmp_path / f"h{s}.json") for s, p in enumerate(shards)]
    assert sum(hists[0]["main-en"].values()) == 100
    cut = heldout_cutoffs([tmp_path / "h0.json", tmp_path / "h1.json"], tmp_path / "c.json", 0.1)
    assert cut["main-en"]["heldout_target"] == 20 and cut["main-zh"]["heldout_target"] == 12
    assert cut["stem"]["heldout_target"] == 0
    got = {}
    for s, path in enumerate(shards):
        outs = {(c, sp): tmp_path / c / sp / f"{s}.parquet" for c in CORPORA for sp in SPLITS}
        split_shard([path], tmp_path / "c.json", outs)
        for key, out in outs.items():
            got.setdefault(key, []).extend(pq.read_table(out).to_pylist())
    for corpus, n_total in (("main-en", 200), ("main-zh", 120)):
        train, held = got[(corpus, "train")], got[(corpus, "heldout")]
        assert len(train) + len(held) == n_total
        assert len(held) == cut[corpus]["heldout_target"]
        assert max(d["crawl_date"] for d in train) <= min(d["crawl_date"] for d in held)
        assert all(d["num_bytes"] == len(d["text"].encode()) for d in train)
    assert json.loads((tmp_path / "c.json").read_text())["parallel"]["date"] is None
