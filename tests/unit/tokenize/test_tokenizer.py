"""Tokenizer training on EN + ZH + code fixtures: coverage, specials, round trips, stats, errors."""

from __future__ import annotations

import csv
import json
import random
from collections import OrderedDict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, decoders, pre_tokenizers

from skyforge.data.corpora import CORPUS_SCHEMA
from skyforge.tokenize.tokenizer import (
    BYTE_ALPHABET_SIZE,
    CJK_CHUNK_CHARS,
    DEFAULT_SPECIAL_TOKENS,
    EOS,
    UNK,
    build_pre_tokenizer,
    check_tokenizer,
    clean_text,
    load_tokenizer,
    train_tokenizer,
)

VOCAB = 700
MIX = {"main-en": 0.5, "main-zh": 0.4, "main-code": 0.1}

EN_WORDS = (
    "the council met on tuesday to discuss budget for new library and its opening hours city "
    "people said that this year market prices rose while schools report more students"
).split()
ZH_WORDS = (
    "市政府 周四 宣布 新 图书馆 将 在 明年 春天 开放 市民 可以 网上 预约 参观 时间 的 了 我们 "
    "今天 经济 发展 学校 学生 价格 上涨 研究 表示 认为 公司"
).split()
CODE = [
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n    print(i * 2)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "if value is None:\n    raise ValueError('missing value')\n",
]

ROUND_TRIP = [
    "The council met on Tuesday, 12 March 2024, at 10:30.",
    "市政府周四宣布，新图书馆将在明年春天开放。",
    "def f(x):\n\tif x > 1_000:\n        return {'k': [x, -x]}\n\n",
    "Emoji 😀👍🏽 flags 🇨🇳🇬🇧 and ZWJ 👩‍💻 family",
    "  leading and trailing spaces   \r\n\n",
    "混合 English 和中文 with 数字 42 和 𠀀𠀁 rare 龘 characters",
    "",
]


def _doc(i: int, corpus: str, lang: str, text: str) -> dict:
    data = text.encode("utf-8")
    return {
        "id": f"{corpus}-{i}",
        "text": text,
        "url": f"https://example.org/{corpus}/{i}",
        "lang": lang,
        "domain": "example.org",
        "crawl_date": "2024-01-01",
        "corpus": corpus,
        "num_chars": len(text),
        "num_bytes": len(data),
        "num_lines": text.count("\n") + 1,
        "cjk_share": 0.0,
    }


def _text(rng: random.Random, lang: str) -> str:
    if lang == "en":
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(20, 60))]
        return " ".join(words).capitalize() + f" {rng.randint(0, 99999)}."
    if lang == "zh":
        sentences = ["".join(rng.choices(ZH_WORDS, k=rng.randint(5, 15))) for _ in range(3)]
        return "，".join(sentences) + f"，{rng.randint(0, 999)}元。"
    return "".join(rng.choices(CODE, k=3))


def write_shard(path: Path, corpus: str, lang: str, num_docs: int, seed: int = 0) -> Path:
    """A corpus shard with CORPUS_SCHEMA columns and generated text."""
    rng = random.Random(f"{corpus}{seed}")
    rows = [_doc(i, corpus, lang, _text(rng, lang)) for i in range(num_docs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA), path)
    return path


def make_corpora(root: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    train, heldout = {}, {}
    for corpus, lang in (("main-en", "en"), ("main-zh", "zh"), ("main-code", "code")):
        train[corpus] = [
            write_shard(root / corpus / "train" / f"{i:05d}.parquet", corpus, lang, 60, seed=i)
            for i in range(2)
        ]
        heldout[corpus] = [
            write_shard(root / corpus / "heldout" / "00000.parquet", corpus, lang, 10, seed=9)
        ]
    return train, heldout


def _train(root: Path, out: Path, **overrides) -> dict:
    train, heldout = make_corpora(root)
    kwargs = dict(
        vocab_size=VOCAB,
        mix=MIX,
        sample_bytes=200_000,
        special_tokens=DEFAULT_SPECIAL_TOKENS,
        num_threads=1,
    )
    kwargs.update(overrides)
    return train_tokenizer(train, heldout, out, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("tok")
    result = _train(root / "corpora", root / "out")
    return root / "out", result


def test_trains_and_saves_hf_files(trained):
    out, result = trained
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (out / name).is_file(), name
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tokenizer.get_vocab_size() == result["vocab_size"]
    # Merges were learned beyond the bytes and the specials, within the requested size.
    assert BYTE_ALPHABET_SIZE + len(DEFAULT_SPECIAL_TOKENS) < result["vocab_size"] <= VOCAB
    assert set(result["sample_bytes_per_corpus"]) == set(MIX)
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert (config["bos_token"], config["eos_token"]) == ("<s>", "</s>")
    assert (config["pad_token"], config["unk_token"]) == ("<pad>", "<unk>")
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    special_map = json.loads((out / "special_tokens_map.json").read_text())
    assert "<|assistant|>" in special_map["additional_special_tokens"]


def test_transformers_loads_it(trained):
    transformers = pytest.importorskip("transformers")
    out, _ = trained
    hf = transformers.AutoTokenizer.from_pretrained(str(out))
    assert hf.eos_token == "</s>" and hf.pad_token_id == 2
    text = ROUND_TRIP[5]
    assert hf.decode(hf(text, add_special_tokens=False)["input_ids"]) == text


def test_digits_are_split(trained):
    out, _ = trained
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    for text in ("Call 5551234 now", "2024年3月12日", "x = 3.14159"):
        encoding = tokenizer.encode(text)
        for token, (start, end) in zip(encoding.tokens, encoding.offsets, strict=True):
            piece = text[start:end]
            if any(ch.isdigit() for ch in piece):
                assert len(piece) == 1, (text, token, piece)


def test_no_unk_on_arbitrary_input(trained):
    out, _ = trained
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    unk = tokenizer.token_to_id(UNK)
    assert set(pre_tokenizers.ByteLevel.alphabet()) <= set(tokenizer.get_vocab())
    rng = random.Random(0)
    # Every byte value via latin-1 code points, control characters, astral planes.
    samples = ["".join(chr(b) for b in range(256)), "\x00\x01\x7f", "🦜🧬 𠀀𪚥𫝀 ꙮ ﷽"]
    # Random code points up to plane 2 (surrogates among them are cleaned below).
    samples.append("".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(500)))
    for text in samples:
        text, _ = clean_text(text)
        ids = tokenizer.encode(text).ids
        assert unk not in ids
        assert tokenizer.decode(ids) == text


def test_without_byte_fallback_unseen_bytes_are_unk(tmp_path):
    _train(tmp_path / "c", tmp_path / "out", byte_fallback=False)
    tokenizer = Tokenizer.from_file(str(tmp_path / "out" / "tokenizer.json"))
    # The fixtures hold no 4-byte UTF-8 character, so the lead byte 0xF0 was never seen.
    assert tokenizer.token_to_id(UNK) in tokenizer.encode("😀").ids


def test_specials_are_single_ids_first(trained):
    out, _ = trained
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert [tokenizer.token_to_id(t) for t in DEFAULT_SPECIAL_TOKENS] == list(
        range(len(DEFAULT_SPECIAL_TOKENS))
    )
    for token in DEFAULT_SPECIAL_TOKENS:
        assert tokenizer.encode(token).ids == [tokenizer.token_to_id(token)]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip(trained, text):
    out, _ = trained
    tokenizer = load_tokenizer(out / "tokenizer.json")
    assert tokenizer.detokenize(tokenizer.tokenize(text)) == text


def test_chinese_pre_tokens_are_bounded_and_apart_from_latin():
    pre = build_pre_tokenizer()

    def pre_tokens(text: str) -> list[str]:
        # The byte-level decoder maps GPT-2's byte symbols back to text.
        return [decoders.ByteLevel().decode([piece]) for piece, _ in pre.pre_tokenize_str(text)]

    assert pre_tokens("中文English混合") == ["中文", "English", "混合"]
    # GPT-2's regex makes this unpunctuated paragraph one pre-token; ours cuts it into chunks.
    paragraph = "我们今天去公园玩天气很好这是一个没有标点的很长的中文段落" * 3
    pieces = pre_tokens(paragraph)
    assert "".join(pieces) == paragraph
    assert max(len(p) for p in pieces) == CJK_CHUNK_CHARS


def test_stats_table(trained):
    out, result = trained
    with open(out / "stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["corpus"], r["lang"]) for r in rows} == {
        ("main-en", "en"),
        ("main-zh", "zh"),
        ("main-code", "code"),
    }
    for row in rows:
        assert float(row["chars_per_token"]) > 1.0
        assert float(row["bytes_per_token"]) >= float(row["chars_per_token"])
        assert int(row["vocab_size"]) == result["vocab_size"]
        assert "ref_tokens" not in row
    zh = next(r for r in rows if r["lang"] == "zh")
    # 3 UTF-8 bytes per Han character.
    assert float(zh["bytes_per_token"]) > 2 * float(zh["chars_per_token"])
    assert f"{result['vocab_size']:,}" in (out / "stats.md").read_text()


def test_stats_with_reference(tmp_path, trained):
    out, _ = trained
    _, heldout = make_corpora(tmp_path / "corpora")
    from skyforge.tokenize.tokenizer import tokenizer_stats

    rows = tokenizer_stats(
        out / "tokenizer.json", heldout, tmp_path, reference=str(out / "tokenizer.json")
    )
    assert all(row["tokens_vs_ref"] == 1.0 for row in rows)
    assert "ref_chars_per_token" in (tmp_path / "stats.csv").read_text()
    with pytest.raises(ValueError, match="tokenizer.reference"):
        tokenizer_stats(out / "tokenizer.json", heldout, tmp_path, reference=str(tmp_path / "no"))


def test_training_is_deterministic_and_within_budget(tmp_path):
    first = _train(tmp_path / "c", tmp_path / "a", sample_bytes=20_000)
    second = _train(tmp_path / "c", tmp_path / "b", sample_bytes=20_000)
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (
        tmp_path / "b" / "tokenizer.json"
    ).read_bytes()
    assert first["sample_bytes"] <= 20_000
    per_corpus = first["sample_bytes_per_corpus"]
    # The mix is honoured to within a document or two.
    assert per_corpus["main-en"] > per_corpus["main-zh"] > per_corpus["main-code"] > 0
    assert second["sample_docs"] == first["sample_docs"]


def test_vocab_too_small_names_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"tokenizer\.vocab_size"):
        _train(tmp_path / "c", tmp_path / "out", vocab_size=BYTE_ALPHABET_SIZE + 3)
    assert not (tmp_path / "out").exists()


def test_empty_training_corpus_names_the_files(tmp_path):
    train, heldout = make_corpora(tmp_path / "c")
    empty = tmp_path / "empty" / "00000.parquet"
    empty.parent.mkdir()
    pq.write_table(CORPUS_SCHEMA.empty_table(), empty)
    train["main-zh"] = [empty]
    with pytest.raises(ValueError, match=str(empty)):
        train_tokenizer(
            train,
            heldout,
            tmp_path / "out",
            vocab_size=VOCAB,
            mix=MIX,
            sample_bytes=10_000,
            special_tokens=DEFAULT_SPECIAL_TOKENS,
        )


def test_bad_special_tokens_and_mix(tmp_path):
    with pytest.raises(ValueError, match=r"tokenizer\.special_tokens"):
        _train(tmp_path / "c", tmp_path / "out", special_tokens=["<s>", "<pad>", "<unk>"])
    with pytest.raises(ValueError, match=r"tokenizer\.mix"):
        _train(tmp_path / "c", tmp_path / "out", mix={"stem": 1.0})
    with pytest.raises(ValueError, match=r"tokenizer\.sample_bytes"):
        _train(tmp_path / "c", tmp_path / "out", sample_bytes=1)
    assert not (tmp_path / "out" / "tokenizer.json").exists()


def test_check_tokenizer_copies_and_rejects(tmp_path, trained):
    out, result = trained
    path = out / "tokenizer.json"
    _, heldout = make_corpora(tmp_path / "corpora")
    info = check_tokenizer(
        path, VOCAB, DEFAULT_SPECIAL_TOKENS, tmp_path / "copy", heldout_files=heldout
    )
    assert info["vocab_size"] == result["vocab_size"]
    assert {row["corpus"] for row in info["stats"]} == set(heldout)
    assert (tmp_path / "copy" / "stats.md").is_file()
    assert (tmp_path / "copy" / "tokenizer.json").read_bytes() == path.read_bytes()
    assert (tmp_path / "copy" / "special_tokens_map.json").is_file()
    with pytest.raises(ValueError, match=str(path)):
        check_tokenizer(path, 300, DEFAULT_SPECIAL_TOKENS)
    with pytest.raises(ValueError, match="<\\|tool\\|>"):
        check_tokenizer(path, VOCAB, [*DEFAULT_SPECIAL_TOKENS, "<|tool|>"])
    with pytest.raises(ValueError, match="does not exist"):
        check_tokenizer(tmp_path / "nope.json", VOCAB, DEFAULT_SPECIAL_TOKENS)
    assert [p.name for p in (tmp_path / "copy").iterdir() if p.name.startswith(".")] == []


def test_megatron_adapter(trained):
    out, _ = trained
    tokenizer = load_tokenizer(out / "tokenizer.json")
    raw = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tokenizer.vocab_size == raw.get_vocab_size()
    assert tokenizer.eod == raw.token_to_id(EOS) and tokenizer.pad == raw.token_to_id("<pad>")
    assert isinstance(tokenizer.unique_identifiers, OrderedDict)
    assert tokenizer.unique_identifiers["tokenizer_path"] == str(out / "tokenizer.json")
    assert len(tokenizer.unique_identifiers["sha256"]) == 64
    json.dumps(tokenizer.unique_identifiers)  # megatron-core hashes its JSON
    # A page that spells "</s>" is text: no EOD appears in the middle of a document.
    ids = tokenizer.tokenize("closing tag </s> in HTML")
    assert tokenizer.eod not in ids
    assert tokenizer.detokenize(ids) == "closing tag </s> in HTML"


def test_clean_text_surrogates():
    assert clean_text("plain 文字") == ("plain 文字", 0)
    assert clean_text("a\ud800b") == ("a\ufffdb", 1)
    # A pair left split by a bad decoder is joined back into its character.
    assert clean_text("x\ud83d\ude00y") == ("x😀y", 0)
    assert clean_text("\udcff\ufffd") == ("\ufffd\ufffd", 1)
