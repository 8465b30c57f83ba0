"""Megatron packs: round trip to the cleaned text, merge, empty shards, bad text, atomic writes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from skyforge.data.corpora import CORPUS_SCHEMA
from skyforge.tokenize import tokenizer as tokenizer_module
from skyforge.tokenize.packs import (
    merge_packs,
    pack_digests,
    pack_texts,
    read_pack_counts,
    tokenize_shard,
)
from skyforge.tokenize.tokenizer import (
    DEFAULT_SPECIAL_TOKENS,
    clean_text,
    load_tokenizer,
    train_tokenizer,
)

indexed_dataset = pytest.importorskip("megatron.core.datasets.indexed_dataset")

EN = "The council met on Tuesday to discuss the budget for the new library, {0} people came."
ZH = "市政府周四宣布，新图书馆将在明年春天开放，市民可以在网上预约参观时间，共{0}人。"
CODE = "def area(r):\n    return 3.14159 * r ** {0}\n"


def _rows(texts: list[str], corpus: str = "main-en") -> list[dict]:
    return [
        {
            "id": f"{corpus}-{i}",
            "text": text,
            "url": None,
            "lang": "en",
            "domain": None,
            "crawl_date": "2024-01-01",
            "corpus": corpus,
            "num_chars": len(text),
            "num_bytes": len(text.encode("utf-8")),
            "num_lines": text.count("\n") + 1,
            "cjk_share": 0.0,
        }
        for i, text in enumerate(texts)
    ]


def write_shard(path: Path, texts: list[str], corpus: str = "main-en") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(_rows(texts, corpus), schema=CORPUS_SCHEMA), path)
    return path


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    templates = [EN, ZH, CODE, EN + "\n\n" + ZH, "Emoji 😀 {0} 👍🏽 and a literal </s> tag"]
    return [rng.choice(templates).format(rng.randint(0, 10**6)) for _ in range(n)]


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packtok")
    train = {
        "main-en": [write_shard(root / "en.parquet", _texts(80, 1))],
        "main-zh": [write_shard(root / "zh.parquet", [ZH.format(i) for i in range(80)])],
    }
    train_tokenizer(
        train,
        {},
        root / "tok",
        vocab_size=600,
        mix={"main-en": 0.6, "main-zh": 0.4},
        sample_bytes=100_000,
        special_tokens=DEFAULT_SPECIAL_TOKENS,
        num_threads=1,
    )
    return root / "tok" / "tokenizer.json"


def _decoded(prefix: Path, tokenizer_path: Path, mmap: bool = True) -> list[str]:
    """The text of every document of a pack, EOD checked and stripped."""
    tokenizer = load_tokenizer(tokenizer_path)
    dataset = indexed_dataset.IndexedDataset(str(prefix), mmap=mmap)
    assert len(dataset) == len(dataset.document_indices) - 1  # one entry per document
    texts = []
    for i in range(len(dataset)):
        ids = dataset[i]
        assert ids[-1] == tokenizer.eod and tokenizer.eod not in ids[:-1]
        texts.append(tokenizer.detokenize(ids[:-1]))
    return texts


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_pack_round_trips_to_the_text(tmp_path, tokenizer_path):
    texts = _texts(300, 2)
    shard = write_shard(tmp_path / "in" / "00000.parquet", texts)
    prefix = tmp_path / "packs" / "00000"
    stats = tokenize_shard(shard, tokenizer_path, prefix, batch_size=64, num_threads=1)
    assert stats["docs"] == 300 and stats["dtype"] == "uint16" and stats["threads"] == 1
    assert _decoded(prefix, tokenizer_path) == texts
    dataset = indexed_dataset.IndexedDataset(str(prefix))
    assert dataset.index.dtype == np.uint16
    assert stats["tokens"] == int(dataset.sequence_lengths.sum())
    assert stats["bytes"] == sum(len(t.encode()) for t in texts)
    assert json.loads(Path(f"{prefix}.json").read_text())["docs"] == 300
    assert sorted(p.name for p in prefix.parent.iterdir()) == [
        "00000.bin",
        "00000.idx",
        "00000.json",
    ]


def test_without_eod(tmp_path, tokenizer_path):
    prefix = tmp_path / "p"
    stats = pack_texts(["ab", "cd"], tokenizer_path, prefix, append_eod=False, num_threads=1)
    tokenizer = load_tokenizer(tokenizer_path)
    dataset = indexed_dataset.IndexedDataset(str(prefix))
    assert [tokenizer.detokenize(dataset[i]) for i in range(2)] == ["ab", "cd"]
    assert stats["tokens"] == int(dataset.sequence_lengths.sum())


def test_merge_keeps_order_and_counts(tmp_path, tokenizer_path):
    parts = [_texts(50, 3), _texts(70, 4), _texts(5, 5)]
    prefixes = []
    for i, texts in enumerate(parts):
        shard = write_shard(tmp_path / "in" / f"{i}.parquet", texts)
        prefixes.append(tmp_path / "packs" / str(i))
        tokenize_shard(shard, tokenizer_path, prefixes[-1], num_threads=1)
    merged = tmp_path / "merged" / "main-en"
    stats = merge_packs(prefixes, merged)
    assert stats["docs"] == 125
    assert stats["tokens"] == sum(read_pack_counts(p)["tokens"] for p in prefixes)
    assert _decoded(merged, tokenizer_path) == parts[0] + parts[1] + parts[2]
    dataset = indexed_dataset.IndexedDataset(str(merged))
    assert dataset.document_indices.tolist() == list(range(126))
    assert json.loads(Path(f"{merged}.json").read_text())["tokens"] == stats["tokens"]
    assert _leftovers(merged.parent) == []


def test_zero_document_shard_gives_a_valid_empty_pack(tmp_path, tokenizer_path):
    empty = write_shard(tmp_path / "in" / "empty.parquet", [])
    prefix = tmp_path / "packs" / "empty"
    stats = tokenize_shard(empty, tokenizer_path, prefix, num_threads=1)
    assert (stats["docs"], stats["tokens"]) == (0, 0)
    assert Path(f"{prefix}.bin").stat().st_size == 0
    # megatron-core 0.16.1 cannot mmap a 0-byte file; unmapped, the pack opens with length 0.
    assert len(indexed_dataset.IndexedDataset(str(prefix), mmap=False)) == 0
    assert read_pack_counts(prefix) == {"docs": 0, "sequences": 0, "tokens": 0, "dtype": "uint16"}

    texts = _texts(20, 6)
    full = tmp_path / "packs" / "full"
    tokenize_shard(write_shard(tmp_path / "in" / "full.parquet", texts), tokenizer_path, full)
    merged = tmp_path / "merged"
    assert merge_packs([prefix, full, prefix], merged)["docs"] == 20
    assert _decoded(merged, tokenizer_path) == texts
    # A corpus whose every shard is empty merges into an empty pack too (docs = 0 in its stats).
    assert merge_packs([prefix, prefix], tmp_path / "none")["docs"] == 0
    assert read_pack_counts(tmp_path / "none")["docs"] == 0


def test_surrogates_are_replaced_and_counted(tmp_path, tokenizer_path):
    texts = ["fine", "lone \ud800 high", "pair \ud83d\ude00 joined", "two \udc80\udcff low"]
    prefix = tmp_path / "s"
    stats = pack_texts(texts, tokenizer_path, prefix, num_threads=1)
    assert (stats["num_replaced_chars"], stats["docs_repaired"]) == (3, 2)
    assert _decoded(prefix, tokenizer_path) == [clean_text(t)[0] for t in texts]
    assert _decoded(prefix, tokenizer_path)[2] == "pair 😀 joined"


def test_invalid_utf8_in_parquet_is_replaced(tmp_path, tokenizer_path):
    # pyarrow does not validate a binary column viewed as string; such shards do exist.
    raw = [b"good text", b"bad \xff\xfe bytes", b"encoded surrogate \xed\xa0\x80 here"]
    column = pa.array(raw, type=pa.binary()).view(pa.string())
    shard = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": column}), shard)
    stats = tokenize_shard(shard, tokenizer_path, tmp_path / "bad", num_threads=1)
    assert stats["docs"] == 3 and stats["docs_repaired"] == 2
    decoded = _decoded(tmp_path / "bad", tokenizer_path)
    assert decoded[0] == "good text"
    assert decoded[1] == "bad \ufffd\ufffd bytes"
    assert "\ufffd" in decoded[2] and decoded[2].endswith(" here")


def test_million_character_document(tmp_path, tokenizer_path):
    long_text = "".join(_texts(30, 7)) * 400
    long_text += "x" * (1_000_001 - len(long_text)) if len(long_text) < 1_000_001 else ""
    assert len(long_text) > 1_000_000
    prefix = tmp_path / "long"
    stats = pack_texts(["short", long_text, "after"], tokenizer_path, prefix, num_threads=1)
    assert stats["docs"] == 3
    assert _decoded(prefix, tokenizer_path) == ["short", long_text, "after"]


def test_no_temp_files_after_failure(tmp_path, tokenizer_path, monkeypatch):
    shard = write_shard(tmp_path / "in.parquet", _texts(100, 8))
    out = tmp_path / "packs"
    out.mkdir()
    with pytest.raises(ValueError, match="does not exist"):
        tokenize_shard(shard, tmp_path / "missing.json", out / "a")
    assert list(out.iterdir()) == []

    calls = {"n": 0}
    original = tokenizer_module.SkyforgeTokenizer.tokenize_batch

    def fail_on_third_batch(self, texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("encoder died")
        return original(self, texts)

    monkeypatch.setattr(tokenizer_module.SkyforgeTokenizer, "tokenize_batch", fail_on_third_batch)
    with pytest.raises(RuntimeError, match="encoder died"):
        tokenize_shard(shard, tokenizer_path, out / "a", batch_size=16)
    assert calls["n"] >= 3  # two batches were already in the temporary .bin
    assert list(out.iterdir()) == []


def test_merge_rejects_missing_and_mixed_packs(tmp_path, tokenizer_path):
    with pytest.raises(ValueError, match="no packs"):
        merge_packs([], tmp_path / "m")
    with pytest.raises(ValueError, match=r"missing\.bin"):
        merge_packs([tmp_path / "missing"], tmp_path / "m")
    small = tmp_path / "small"
    pack_texts(["a"], tokenizer_path, small, num_threads=1)
    wide = tmp_path / "wide"
    builder = indexed_dataset.IndexedDatasetBuilder(f"{wide}.bin", dtype=np.int32)
    builder.add_document(np.array([70_000, 1], dtype=np.int32), [2])
    builder.finalize(f"{wide}.idx")
    with pytest.raises(ValueError, match="different dtypes"):
        merge_packs([small, wide], tmp_path / "m")
    assert not Path(f"{tmp_path / 'm'}.bin").exists() and _leftovers(tmp_path) == []


def test_missing_shard(tmp_path, tokenizer_path):
    with pytest.raises(ValueError, match="nope.parquet"):
        tokenize_shard(tmp_path / "nope.parquet", tokenizer_path, tmp_path / "x")


def test_count_files_record_the_pack_digests_and_nothing_that_varies(
    tmp_path, tokenizer_path, monkeypatch
):
    import hashlib
    import os

    monkeypatch.chdir(tmp_path)  # the digest cache lives under the working directory
    texts = _texts(40, 7)
    shard = write_shard(tmp_path / "in" / "0.parquet", texts)
    a, b = tmp_path / "a" / "0", tmp_path / "b" / "0"
    tokenize_shard(shard, tokenizer_path, a, num_threads=1)
    stats = tokenize_shard(shard, tokenizer_path, b, num_threads=2)
    assert "seconds" in stats and "threads" in stats  # returned (logged), not written
    # Rebuilt with identical bytes: an identical count file (Snakemake's checksum agrees).
    assert Path(f"{a}.json").read_bytes() == Path(f"{b}.json").read_bytes()
    recorded = json.loads(Path(f"{a}.json").read_text())
    assert "seconds" not in recorded and "threads" not in recorded
    for kind in ("bin", "idx"):
        data = Path(f"{a}.{kind}").read_bytes()
        assert recorded["files"][kind] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    merged = tmp_path / "m" / "main-en"
    merge_packs([a], merged)
    merged_stats = json.loads(Path(f"{merged}.json").read_text())
    assert "seconds" not in merged_stats
    digests = pack_digests(merged)
    assert digests[f"{merged}.bin"] == merged_stats["files"]["bin"]["sha256"]
    # A .bin changed after its count file was written: hashed, not taken from the count file.
    Path(f"{merged}.bin").write_bytes(b"changed")
    st = Path(f"{merged}.json").stat()
    os.utime(f"{merged}.bin", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert pack_digests(merged)[f"{merged}.bin"] == hashlib.sha256(b"changed").hexdigest()
