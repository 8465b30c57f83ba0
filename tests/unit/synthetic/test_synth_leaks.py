"""Benchmark leaks in the synthetic crawl: the items in memory are the files' items, translations
are really the other language, every leak kind is planted with its ground truth, negatives carry
other numbers, and no page holds an item the ground truth does not name."""

from __future__ import annotations

import hashlib
import random
import re

import pandas as pd
import pytest

from skyforge.config import SyntheticCrawlConfig, schema_defaults
from skyforge.data.filters.text import CJK_RE
from skyforge.eval.benchmark_files import EVAL_SPLIT, LETTERS, load_benchmark
from skyforge.synthetic import crawl as sc
from skyforge.synthetic.benchmarks import (
    mc_text,
    synthetic_benchmark_items,
    write_synthetic_benchmarks,
)
from skyforge.synthetic.pages.leaks import LEAK_TASKS, TASK_LANG, LeakPool, edit_text

DEFAULTS = schema_defaults("eval", "benchmarks", "synthetic")
SETS = synthetic_benchmark_items(**DEFAULTS)
NUMBER = re.compile(r"\d+")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pd.DataFrame]:
    out = tmp_path_factory.mktemp("leak_crawl")
    summary = sc.synthesize_crawl(SyntheticCrawlConfig.with_defaults(), 2, out)
    return summary, pd.read_parquet(out / "ground_truth.parquet")


# ---------------------------------------------------------------------------------------------
# The benchmark sets in memory
# ---------------------------------------------------------------------------------------------


def test_default_files_are_byte_identical_to_before_the_refactor(tmp_path):
    """The writer now renders ``synthetic_benchmark_items``; the default sets' bytes are the
    ones the DAG wrote before (digest of every relative path and file)."""
    write_synthetic_benchmarks(tmp_path, **DEFAULTS)
    digest = hashlib.sha256()
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(tmp_path)).encode() + b"\0" + path.read_bytes() + b"\0")
    assert digest.hexdigest() == "238f3370e9ce38bd277662e54b75ffb25964d5bfe999860d41f233ff67d6e01e"


def test_items_in_memory_are_the_items_the_readers_load(tmp_path):
    write_synthetic_benchmarks(tmp_path, **DEFAULTS)
    for task in LEAK_TASKS:
        loaded = load_benchmark(task, tmp_path / task)
        assert set(loaded) == set(SETS[task])
        for subject, splits in loaded.items():
            for split, items in splits.items():
                mine = SETS[task][subject][split]
                keys = ("question", "answer") + (LETTERS if task != "gsm8k" else ("reference",))
                assert [{k: it[k] for k in keys} for it in items] == [
                    {k: it[k] for k in keys} for it in mine
                ]
                assert [it["id"] for it in mine] == [
                    f"{task}/{split}/{subject}/{i}" for i in range(len(mine))
                ]


def test_translations_are_the_other_language_with_the_same_numbers():
    checked = 0
    for task in LEAK_TASKS:
        native = TASK_LANG[task]
        for splits in SETS[task].values():
            for it in splits[EVAL_SPLIT[task]]:
                tr = it["translation"]
                q_cjk, tr_cjk = CJK_RE.search(it["question"]), CJK_RE.search(tr["question"])
                assert (q_cjk is not None, tr_cjk is not None) == (native == "zh", native == "en")
                assert tr["question"] != it["question"]
                if task == "gsm8k":
                    # Ordered numbers of the problem and of its worked solution are kept.
                    assert NUMBER.findall(tr["question"]) == NUMBER.findall(it["question"])
                    assert NUMBER.findall(tr["answer"]) == NUMBER.findall(it["answer"])
                    assert tr["answer"].rsplit("####", 1)[1].strip() == it["reference"]
                    assert it["name"] not in tr["question"]  # transliterated
                else:
                    assert tr["answer"] == it["answer"]
                    assert NUMBER.findall(tr["question"]) == NUMBER.findall(it["question"])
                    other = "en" if native == "zh" else "zh"
                    assert tr[tr["answer"]] == mc_text(tuple(it["spec"]), other)[1]
                    if it["spec"][0] != "science":
                        assert [tr[x] for x in LETTERS] == [it[x] for x in LETTERS]
                checked += 1
    assert checked == 3 * 3 * 20 + 60


def test_edits_keep_the_numbers_and_change_the_text():
    rng = random.Random(0)
    pool = LeakPool(SETS)
    for task in LEAK_TASKS:
        lang = TASK_LANG[task]
        assert len(pool.plantable[task]) >= 30
        for item_id in pool.plantable[task]:
            it = pool.item(item_id)
            edited = edit_text(rng, it["question"], lang)
            digits = edited.translate({c + 0xFEE0: c for c in range(0x30, 0x3A)})
            assert NUMBER.findall(digits) == NUMBER.findall(it["question"])
            assert _norm(edited) != _norm(it["question"]), it["question"]


def test_negatives_have_numbers_no_item_has():
    pool = LeakPool(SETS)
    rng = random.Random(1)
    questions = {
        _norm(q)
        for subjects in SETS.values()
        for splits in subjects.values()
        for items in splits.values()
        for it in items
        for q in (it["question"], it["translation"]["question"])
    }
    for task in ("ceval", "cmmlu", "mmlu"):
        for lang in ("zh", "en"):
            for _ in range(50):
                item = pool.negative_mc(rng, task, lang)
                assert _norm(item["question"]) not in questions
                assert item[item["answer"]] not in [item[x] for x in LETTERS if x != item["answer"]]

    def template(q: str) -> str:
        return re.sub(r"\b[A-Z][a-z]+\b|\d+", "#", q)

    by_template: dict[str, list[list[str]]] = {}
    for items in SETS["gsm8k"]["main"].values():
        for it in items:
            by_template.setdefault(template(it["question"]), []).append(
                NUMBER.findall(it["question"])
            )
    assert len(by_template) == 5
    for _ in range(100):
        q, answer = pool.negative_gsm8k(rng, "en")
        assert _norm(q) not in questions and "####" in answer
        nums = NUMBER.findall(q)
        assert template(q) in by_template
        for other in by_template[template(q)]:
            if len(other) == len(nums):
                assert sum(a != b for a, b in zip(nums, other, strict=True)) >= min(2, len(nums))


# ---------------------------------------------------------------------------------------------
# The crawl
# ---------------------------------------------------------------------------------------------


def test_every_leak_kind_is_planted_with_its_ground_truth(crawl):
    summary, gt = crawl
    pages = gt[gt.kind.isin([*sc.LEAK_KINDS, *sc.LEAK_NEGATIVE_KINDS])]
    counts = pages.kind.value_counts()
    for kind in (*sc.LEAK_KINDS, *sc.LEAK_NEGATIVE_KINDS):
        assert counts[kind] >= 8, kind
    leaks = gt[gt.kind.isin(sc.LEAK_KINDS)]
    assert set(leaks.expected_step) == {"decontaminate"}
    assert leaks.leak_benchmark.notna().all() and leaks.leak_items.notna().all()
    for row in leaks.itertuples():
        assert row.leak_items.size >= 1
        assert all(
            i.startswith(f"{row.leak_benchmark}/{EVAL_SPLIT[row.leak_benchmark]}/")
            for i in row.leak_items
        )
    for kind in sc.LEAK_KINDS:
        assert set(leaks[leaks.kind == kind].leak_benchmark) == set(LEAK_TASKS), kind
    others = gt[~gt.kind.isin(sc.LEAK_KINDS)]
    assert others.leak_benchmark.isna().all() and others.leak_items.isna().all()
    negatives = gt[gt.kind.isin(sc.LEAK_NEGATIVE_KINDS)]
    assert negatives.expected_step.isna().all() and negatives.dup_cluster.lt(0).all()
    planted = [i for items in leaks.leak_items for i in items]
    assert len(planted) == len(set(planted)), "an item is planted on two pages"
    assert 40 <= len(planted) <= 120
    assert summary["leak_items_per_kind"]["leak_translated"] >= 24
    assert summary["expected_removals"]["decontaminate"] == len(leaks)


def _pool() -> LeakPool:
    return LeakPool(SETS)


def test_planted_items_are_on_their_pages_in_the_right_language(crawl):
    _, gt = crawl
    pool = _pool()
    for row in gt[gt.kind.isin(sc.LEAK_KINDS)].itertuples():
        text = _norm(row.main_text)
        for item_id in row.leak_items:
            it = pool.item(item_id)
            native = TASK_LANG[it["task"]]
            if row.kind == "leak_translated":
                assert row.lang != native
                assert _norm(it["translation"]["question"]) in text
                assert _norm(it["question"]) not in text
            else:
                assert row.lang == native
                if row.kind == "leak_edited":
                    assert _norm(it["question"]) not in text
                else:
                    assert _norm(it["question"]) in text
                    if it["task"] != "gsm8k":
                        assert all(_norm(it[x]) in text for x in LETTERS)
        if row.kind == "leak_embedded":
            assert len(row.main_text) > 700 and row.leak_items.size == 1


def test_no_page_holds_an_item_the_ground_truth_does_not_name(crawl):
    """Every eval-split question, in either language, occurs only on the pages that plant it:
    not on other kinds' pages, not on negatives, not as a second item of a leak page."""
    _, gt = crawl
    texts = {
        r.record_id: _norm(r.main_text) for r in gt.itertuples() if isinstance(r.main_text, str)
    }
    planted = {r.record_id: set(r.leak_items) for r in gt.itertuples() if r.leak_items is not None}
    for task in LEAK_TASKS:
        for splits in SETS[task].values():
            for it in splits[EVAL_SPLIT[task]]:
                for q in (_norm(it["question"]), _norm(it["translation"]["question"])):
                    if len(q) < 12:
                        continue
                    for rid, text in texts.items():
                        if q in text:
                            assert it["id"] in planted.get(rid, set()), (it["id"], rid)


def test_leak_and_negative_pages_are_ordinary_pages(crawl):
    """A site, a title, a byline and prose: several paragraphs of running text."""
    _, gt = crawl
    pages = gt[gt.kind.isin([*sc.LEAK_KINDS, *sc.LEAK_NEGATIVE_KINDS])]
    for row in pages.itertuples():
        assert row.title and row.url.startswith("https://")
        lines = [ln for ln in row.main_text.split("\n") if len(ln) > 60]
        assert len(lines) >= 3, row.main_text
