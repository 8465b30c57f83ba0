"""The ``decontaminate`` step (skyforge.data.decontam_step): one shard's documents scanned for
benchmark items, removed whole or with the items cut out, every match in the ledger; and the
same matcher over the SFT / DPO JSON lines.

The benchmark items are written by hand: an English word problem in the GSM8K style with its
worked answer, and a Chinese multiple-choice item in the C-Eval style."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from skyforge.data.decontam import BenchmarkItem, Decontaminator
from skyforge.data.decontam_step import MATCH_SCHEMA, decontaminate_records, decontaminate_shard
from skyforge.data.docs import DOC_SCHEMA, REMOVED_SCHEMA, BatchLimits, write_docs

GSM = BenchmarkItem(
    "gsm8k",
    "test/21",
    "en",
    "Marisol picks 48 apples on Monday and 35 apples on Tuesday. She gives 27 apples to her "
    "neighbours and sells the rest at the market for $2 each. How much money does she make?",
    answer="She picks 48 + 35 = <<48+35=83>>83 apples.\nShe sells 83 - 27 = <<83-27=56>>56 "
    "apples.\nShe makes 56 * 2 = <<56*2=112>>112 dollars.\n#### 112",
)
CEVAL = BenchmarkItem(
    "ceval",
    "val/middle_school_chemistry/4",
    "zh",
    "实验室用高锰酸钾制取氧气时，试管口略向下倾斜的主要原因是什么？",
    ("防止冷凝水倒流使试管炸裂", "便于氧气逸出", "使高锰酸钾受热均匀", "防止高锰酸钾粉末进入导管"),
    "A",
)
# the word problem in Chinese: no n-gram in common, its numbers in order (cross-lingual)
GSM_ZH = (
    "玛丽索尔周一摘了48个苹果，周二摘了35个苹果。她送给邻居27个苹果，剩下的在集市上以每个2美元"
    "的价格卖掉。她能赚多少钱？"
)
FEN = (
    "Our community garden opened a new plot this spring, and volunteers meet every weekend to "
    "water the beds and share seeds with their neighbours.\n"
)
FZH = "本报讯：社区图书馆本周举办了读书分享会，许多居民带着孩子前来参加，气氛十分热烈。\n"

TEXTS = {
    "clean-en": FEN * 3,
    "leak-en": FEN * 2 + GSM.question + "\n" + FEN * 2,
    "leak-zh": FZH * 2 + CEVAL.probe_text + "\n" + FZH * 2,
    "leak-xl": FZH * 2 + GSM_ZH + "\n" + FZH * 2,
    "clean-zh": FZH * 3,
    # the Chinese item first, then the English one: the reason is the first one's benchmark
    "both": FZH + CEVAL.probe_text + "\n" + FEN + GSM.question + "\n" + FEN,
}
LANGS = {"clean-en": "en", "leak-en": "en"}


@pytest.fixture(scope="module")
def matcher() -> Decontaminator:
    return Decontaminator([GSM, CEVAL])


def _doc(doc_id: str) -> dict:
    return {
        "id": doc_id,
        "url": f"https://{doc_id}.example/page",
        "domain": f"{doc_id}.example",
        "text": TEXTS[doc_id],
        "lang": LANGS.get(doc_id, "zh"),
        "shard": 0,
    }


def _run(tmp_path: Path, matcher, ids, **kwargs) -> tuple[dict, Path, Path, Path]:
    docs_in = tmp_path / "in.parquet"
    write_docs(docs_in, [_doc(i) for i in ids])
    out = tmp_path / "out"
    paths = out / "docs.parquet", out / "removed.parquet", out / "matches.parquet"
    stats = decontaminate_shard(docs_in, 5, matcher, *paths, limits=BatchLimits(docs=2), **kwargs)
    return stats, *paths


def test_document_action_removes_every_page_with_an_item_and_ledgers_each_match(tmp_path, matcher):
    stats, docs, removed, ledger = _run(tmp_path, matcher, list(TEXTS))

    kept = pq.read_table(docs).to_pylist()
    assert [(d["id"], d["text"], d["shard"]) for d in kept] == [
        ("clean-en", TEXTS["clean-en"], 5),
        ("clean-zh", TEXTS["clean-zh"], 5),
    ]
    rem = pq.read_table(removed).to_pylist()
    assert [(r["id"], r["step"], r["reason"], r["bytes"], r["shard"]) for r in rem] == [
        (i, "decontaminate", f"contamination:{b}", len(TEXTS[i].encode("utf-8")), 5)
        for i, b in [
            ("leak-en", "gsm8k"),
            ("leak-zh", "ceval"),
            ("leak-xl", "gsm8k"),
            ("both", "ceval"),
        ]
    ]
    assert rem[0]["url"] == "https://leak-en.example/page"

    rows = pq.read_table(ledger).to_pylist()
    assert [(r["id"], r["benchmark"], r["item_id"], r["method"], r["removed"]) for r in rows] == [
        ("leak-en", "gsm8k", "test/21", "ngram", True),
        ("leak-zh", "ceval", "val/middle_school_chemistry/4", "ngram", True),
        ("leak-xl", "gsm8k", "test/21", "crosslingual", True),
        ("both", "ceval", "val/middle_school_chemistry/4", "ngram", True),
        ("both", "gsm8k", "test/21", "ngram", True),
    ]
    by_doc = {(r["id"], r["benchmark"]): r for r in rows}
    # the span is the item, the excerpt its text
    assert by_doc["leak-en", "gsm8k"]["excerpt"] == GSM.question
    assert by_doc["leak-zh", "ceval"]["excerpt"] == CEVAL.probe_text
    assert by_doc["leak-xl", "gsm8k"]["excerpt"] == GSM_ZH
    for r in rows:
        assert TEXTS[r["id"]][r["start"] : r["end"]] == r["excerpt"]
        assert (r["shard"], r["url"], r["domain"]) == (
            5,
            f"https://{r['id']}.example/page",
            f"{r['id']}.example",
        )
        assert r["lang"] == LANGS.get(r["id"], "zh")
    assert by_doc["leak-en", "gsm8k"]["score"] == 1.0
    assert 0.7 <= by_doc["leak-xl", "gsm8k"]["score"] <= 1.0

    assert stats["num_docs_in"] == 6
    assert (stats["num_kept"], stats["num_removed"], stats["num_edited"]) == (2, 4, 0)
    assert stats["num_matches"] == 5
    assert stats["matches_per_benchmark"] == {"ceval": 2, "gsm8k": 3}
    assert stats["matches_per_method"] == {"crosslingual": 1, "ngram": 4}


def test_span_action_cuts_the_items_and_removes_pages_left_too_short(tmp_path, matcher):
    # left after the cut: 4 English lines (573 characters), 4 Chinese ones (165), and one
    # Chinese + 2 English (329); 200 is the limit in between
    assert len(FZH * 4) < 200 < len(FZH + FEN * 2)
    stats, docs, removed, ledger = _run(
        tmp_path, matcher, list(TEXTS), action="span", min_chars_after=200
    )
    kept = {d["id"]: d for d in pq.read_table(docs).to_pylist()}
    assert list(kept) == ["clean-en", "leak-en", "clean-zh", "both"]
    assert kept["leak-en"]["text"] == FEN * 2 + "\n" + FEN * 2
    assert kept["both"]["text"] == FZH + "\n" + FEN + "\n" + FEN
    assert kept["clean-en"]["text"] == TEXTS["clean-en"]
    assert kept["leak-en"]["shard"] == 5 and kept["leak-en"]["url"] == _doc("leak-en")["url"]

    rem = pq.read_table(removed).to_pylist()
    assert [(r["id"], r["reason"]) for r in rem] == [
        ("leak-zh", "contamination:ceval"),
        ("leak-xl", "contamination:gsm8k"),
    ]
    rows = pq.read_table(ledger).to_pylist()
    assert [(r["id"], r["benchmark"], r["removed"]) for r in rows] == [
        ("leak-en", "gsm8k", False),
        ("leak-zh", "ceval", True),
        ("leak-xl", "gsm8k", True),
        ("both", "ceval", False),
        ("both", "gsm8k", False),
    ]
    # the ledger's offsets are in the text read, before the cut
    assert all(TEXTS[r["id"]][r["start"] : r["end"]] == r["excerpt"] for r in rows)
    assert (stats["num_kept"], stats["num_removed"], stats["num_edited"]) == (4, 2, 2)


def test_span_action_with_no_minimum_keeps_what_is_left(tmp_path, matcher):
    stats, docs, removed, _ = _run(
        tmp_path, matcher, ["leak-zh", "leak-xl"], action="span", min_chars_after=0
    )
    kept = pq.read_table(docs).to_pylist()
    assert [d["text"] for d in kept] == [FZH * 2 + "\n" + FZH * 2, FZH * 2 + "\n" + FZH * 2]
    assert pq.read_table(removed).num_rows == 0
    assert stats["num_edited"] == 2


def test_a_page_that_is_only_the_item_is_removed_even_with_no_minimum(tmp_path, matcher):
    # nothing is left after the cut: no empty document is kept, whatever min_chars_after
    docs_in = tmp_path / "in.parquet"
    write_docs(docs_in, [{"id": "only", "text": GSM.question + "\n", "lang": "en"}])
    out = [tmp_path / f"{n}.parquet" for n in ("docs", "removed", "matches")]
    stats = decontaminate_shard(docs_in, 0, matcher, *out, action="span", min_chars_after=0)
    assert pq.read_table(out[0]).num_rows == 0
    assert pq.read_table(out[1]).column("reason").to_pylist() == ["contamination:gsm8k"]
    assert pq.read_table(out[2]).column("removed").to_pylist() == [True]
    assert (stats["num_removed"], stats["num_edited"]) == (1, 0)


def test_excerpt_is_cut_at_300_characters(tmp_path, matcher):
    # the question with its worked solution: one match spanning both, longer than 300
    text = FEN + GSM.question + "\n" + GSM.answer
    docs_in = tmp_path / "in.parquet"
    write_docs(docs_in, [{"id": "sol", "text": text, "lang": "en"}])
    out = [tmp_path / f"{n}.parquet" for n in ("docs", "removed", "matches")]
    decontaminate_shard(docs_in, 0, matcher, *out)
    (row,) = pq.read_table(out[2]).to_pylist()
    assert row["end"] - row["start"] > len(GSM.question) + 100
    assert len(row["excerpt"]) == 300
    assert row["excerpt"] == text[row["start"] : row["start"] + 300]
    assert row["excerpt"].startswith("Marisol picks 48 apples")


def test_a_shard_whose_documents_all_go_gives_empty_tables_with_their_schemas(tmp_path, matcher):
    stats, docs, removed, ledger = _run(tmp_path, matcher, ["leak-en", "leak-zh"])
    kept = pq.read_table(docs)
    assert kept.num_rows == 0 and kept.schema.equals(DOC_SCHEMA)
    rem = pq.read_table(removed)
    assert rem.num_rows == 2 and rem.schema.equals(REMOVED_SCHEMA)
    assert pq.read_table(ledger).schema.equals(MATCH_SCHEMA)
    assert (stats["num_kept"], stats["num_removed"]) == (0, 2)


def test_a_clean_shard_gives_an_empty_ledger_and_no_removals(tmp_path, matcher):
    stats, docs, removed, ledger = _run(tmp_path, matcher, ["clean-en", "clean-zh"])
    assert pq.read_table(docs).num_rows == 2
    rem, led = pq.read_table(removed), pq.read_table(ledger)
    assert rem.num_rows == 0 and rem.schema.equals(REMOVED_SCHEMA)
    assert led.num_rows == 0 and led.schema.equals(MATCH_SCHEMA)
    assert stats["matches_per_benchmark"] == {} and stats["num_matches"] == 0


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"action": "paragraph"}, r"decontam\.action"),
        ({"action": "span", "min_chars_after": -1}, r"decontam\.min_chars_after"),
    ],
)
def test_bad_settings_are_errors_naming_the_key(tmp_path, matcher, kwargs, key):
    with pytest.raises(ValueError, match=key):
        _run(tmp_path, matcher, ["clean-en"], **kwargs)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


class _FailsOn:
    """A matcher that raises on one document, after others were written."""

    def __init__(self, inner: Decontaminator, doc_text: str):
        self.inner, self.doc_text, self.calls = inner, doc_text, 0

    def match(self, text, lang=None):
        self.calls += 1
        if text == self.doc_text:
            raise RuntimeError("matcher failed")
        return self.inner.match(text, lang)


def test_an_exception_mid_shard_leaves_no_output_file(tmp_path, matcher):
    failing = _FailsOn(matcher, TEXTS["clean-zh"])
    out = tmp_path / "out"
    out.mkdir()
    old = out / "docs.parquet"
    old.write_bytes(b"from an earlier run")
    with pytest.raises(RuntimeError, match="matcher failed"):
        # batches of 2 rows: kept, removed and ledger rows were flushed before the failure
        _run(tmp_path, failing, list(TEXTS))
    assert failing.calls == 5
    # no new file, no temporary left behind, the earlier output untouched
    assert sorted(p.name for p in out.iterdir()) == ["docs.parquet"]
    assert old.read_bytes() == b"from an earlier run"


# -- SFT / DPO records ---------------------------------------------------------------------


def _chat(user: str, assistant: str) -> dict:
    return {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    }


def test_records_quoting_an_item_are_dropped_and_the_others_copied_byte_for_byte(tmp_path, matcher):
    sft_lines = [
        # odd spacing, key order and escapes: copied as they are, not re-serialised
        '{"messages": [{"content": "How do I water tomatoes?",  "role": "user"}, '
        '{"role": "assistant", "content": "Early in the morning, at the roots."}], "id": 1}\n',
        "\n",
        json.dumps(_chat(GSM.question, "She makes 112 dollars.")) + "\n",
        '{"messages":[{"role":"user","content":"\\u4f60\\u597d"},'
        '{"role":"assistant","content":"你好！有什么可以帮你？"}]}\n',
        json.dumps(_chat("Name a prime number.", "Seven."), ensure_ascii=False),  # no newline
    ]
    dpo_lines = [
        json.dumps({"prompt": CEVAL.probe_text, "chosen": "A", "rejected": "B"}, ensure_ascii=False)
        + "\n",
        json.dumps(
            {"prompt": "写一首关于春天的短诗。", "chosen": "春风拂面。", "rejected": "不知道。"},
            ensure_ascii=False,
        )
        + "\n",
        json.dumps(
            {"prompt": "请解这道题。", "chosen": GSM_ZH + " 答案：112美元。", "rejected": "100"},
            ensure_ascii=False,
        )
        + "\n",
    ]
    src_sft, src_dpo = tmp_path / "sft.jsonl", tmp_path / "dpo.jsonl"
    src_sft.write_text("".join(sft_lines), encoding="utf-8")
    src_dpo.write_text("".join(dpo_lines), encoding="utf-8")
    dst_sft, dst_dpo = tmp_path / "out" / "sft.jsonl", tmp_path / "out" / "dpo.jsonl"

    stats = decontaminate_records({"sft": (src_sft, dst_sft), "dpo": (src_dpo, dst_dpo)}, matcher)

    assert dst_sft.read_bytes() == (sft_lines[0] + sft_lines[3] + sft_lines[4] + "\n").encode()
    assert dst_dpo.read_bytes() == dpo_lines[1].encode()
    assert stats["sft"] == {
        "records_in": 4,
        "records_dropped": 1,
        "matches": [{"line": 3, "benchmark": "gsm8k", "item_id": "test/21", "method": "ngram"}],
    }
    assert stats["dpo"]["records_in"] == 3 and stats["dpo"]["records_dropped"] == 2
    assert [(m["line"], m["benchmark"], m["method"]) for m in stats["dpo"]["matches"]] == [
        (1, "ceval", "ngram"),
        (3, "gsm8k", "crosslingual"),
    ]


def test_a_line_that_is_not_json_is_an_error_naming_file_and_line(tmp_path, matcher):
    src = tmp_path / "sft.jsonl"
    good = json.dumps(_chat("Hello there, how are you?", "Fine, thanks.")) + "\n"
    src.write_text(good + "\n" + '{"messages": [oops]}\n' + good, encoding="utf-8")
    dst = tmp_path / "out" / "sft.jsonl"
    with pytest.raises(ValueError, match=re.escape(f"{src}:3:") + ".*not JSON"):
        decontaminate_records({"sft": (src, dst)}, matcher)
    assert not dst.exists()
    assert list(dst.parent.iterdir()) == []
