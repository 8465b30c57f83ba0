"""Exact-substring dedup: repeated spans removed from every document that has them, the rest
byte for byte intact, spans on UTF-8 character boundaries and inside documents, emptied
documents removed with a row, and bytes and rows accounted (kept + removed == input)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from skyforge.data.dedup import substring as S
from skyforge.data.docs import read_docs, read_removed, write_docs

K = 64
# Repeated blocks (≥ K bytes); REPEAT_ZH is multi-byte so that byte matches could split chars.
REPEAT_EN = "Archives Select Month December 2023 November 2023 October 2023 September 2023"
REPEAT_ZH = "文章归档 选择月份 2023年12月 2023年11月 2023年10月 2023年9月"


def _unique(rng: random.Random, n: int) -> str:
    """Text that repeats nothing of K bytes: random letters and CJK characters."""
    pool = "abcdefghijklmnopqrstuvwxyz" + "".join(chr(c) for c in range(0x4E00, 0x4E40))
    return "".join(rng.choice(pool) for _ in range(n))


def _write(tmp: Path, shards: list[list[tuple[str, str, str]]]) -> list[Path]:
    paths = []
    for s, docs in enumerate(shards):
        paths.append(tmp / f"in-{s}.parquet")
        write_docs(
            paths[-1],
            [
                {
                    "id": i,
                    "url": f"https://x/{i}",
                    "text": t,
                    "lang": lang,
                    "crawl_date": "2024-01-01",
                    "shard": s,
                }
                for i, t, lang in docs
            ],
        )
    return paths


def _run(tmp: Path, paths: list[Path], langs: list[str], k: int = K, **kw) -> dict:
    n = len(paths)
    return S.substring_dedup(
        paths,
        list(range(n)),
        [tmp / f"out-{s}.parquet" for s in range(n)],
        [tmp / f"rm-{s}.parquet" for s in range(n)],
        tmp / "spans.parquet",
        min_length_bytes=k,
        langs=langs,
        **kw,
    )


def _outputs(tmp: Path, n: int) -> tuple[dict[str, str], dict[str, dict]]:
    kept = {
        r["id"]: r["text"]
        for s in range(n)
        for r in read_docs(tmp / f"out-{s}.parquet").to_pylist()
    }
    removed = {
        r["id"]: r for s in range(n) for r in read_removed(tmp / f"rm-{s}.parquet").to_pylist()
    }
    return kept, removed


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[list[Path], dict[str, tuple[str, str]]]:
    """Two shards. Docs carry REPEAT_* at varied positions between unique text whose neighbouring
    characters differ per doc, so the repeated span is exactly the block; plus plain docs, a doc
    that is only the block, and French docs outside the group."""
    rng = random.Random(5)
    expected: dict[str, tuple[str, str]] = {}  # id → (input, expected output)
    shards: list[list[tuple[str, str, str]]] = [[], []]
    for i in range(12):
        block = REPEAT_ZH if i % 2 else REPEAT_EN
        before, after = _unique(rng, rng.randint(0, 300)), _unique(rng, rng.randint(40, 300))
        # Distinct single characters around the block keep the match from growing into them.
        before += chr(0x5000 + i) if before or i % 3 else ""
        after = chr(0x6000 + i) + after
        text = before + block + after
        expected[f"b{i}"] = (text, before + after)
        shards[i % 2].append((f"b{i}", text, "zh" if i % 2 else "en"))
    for i in range(10):
        text = _unique(rng, rng.randint(50, 400))
        expected[f"u{i}"] = (text, text)
        shards[i % 2].append((f"u{i}", text, "en"))
    shards[0].append(("only", REPEAT_EN + "!", "en"))
    expected["only"] = (REPEAT_EN + "!", "")
    shards[1].append(("fr", REPEAT_EN + _unique(rng, 100), "fr"))
    return _write(tmp_path, shards), expected


def test_repeated_blocks_removed_everywhere_rest_untouched(corpus, tmp_path) -> None:
    paths, expected = corpus
    stats = _run(tmp_path, paths, ["en", "zh"])
    kept, removed = _outputs(tmp_path, 2)
    assert "fr" not in kept and "fr" not in removed and stats["num_other_lang"] == 1
    assert set(removed) == {"only"}
    assert removed["only"]["step"] == "substring_dedup"
    assert removed["only"]["reason"] == "empty_after_substring_dedup"
    for doc_id, (_, want) in expected.items():
        if doc_id != "only":
            assert kept[doc_id] == want, doc_id  # byte for byte
    assert stats["num_in"] == stats["num_kept"] + stats["num_removed"] == len(expected)


def test_accounting_and_span_table(corpus, tmp_path) -> None:
    paths, expected = corpus
    stats = _run(tmp_path, paths, ["en", "zh"])
    kept, removed = _outputs(tmp_path, 2)
    spans = pq.read_table(tmp_path / "spans.parquet").to_pylist()
    kept_bytes = sum(len(t.encode()) for t in kept.values())
    removed_bytes = sum(r["bytes"] for r in removed.values())
    span_bytes = sum(r["bytes"] for r in spans)
    assert stats["bytes_in"] == kept_bytes + span_bytes + removed_bytes
    for r in spans:
        raw = expected[r["id"]][0].encode()
        assert 0 <= r["start"] < r["end"] <= len(raw)  # never past the document (separator)
        assert r["bytes"] == r["end"] - r["start"]
        piece = raw[r["start"] : r["end"]].decode("utf-8")  # raises if a char was split
        assert piece in (REPEAT_EN, REPEAT_ZH, REPEAT_EN + "!"[: r["bytes"] - len(REPEAT_EN)])


def test_spans_snap_to_character_boundaries(tmp_path) -> None:
    """'À' (C3 80) and '一' (E4 B8 80) share their last byte, 'é' (C3 A9) and 'è' (C3 A8) their
    first: the raw byte match is one byte longer on each side than the whole-character one."""
    docs = [
        ("a", "xyz À" + REPEAT_EN + "é tail one", "en"),
        ("b", "pqr 一" + REPEAT_EN + "è tail two", "en"),
    ]
    paths = _write(tmp_path, [docs])
    _run(tmp_path, paths, ["en"], min_chars_after=1)
    kept, _ = _outputs(tmp_path, 1)
    assert kept == {"a": "xyz Àé tail one", "b": "pqr 一è tail two"}


def test_blocks_at_document_edges_do_not_cross_separators(tmp_path) -> None:
    # a ends and b starts with the block, so in the concatenation the two occurrences sit on
    # either side of a separator; the characters next to the block differ between documents.
    docs = [
        ("a", "alpha:" + REPEAT_EN, "en"),
        ("b", REPEAT_EN + "!beta", "en"),
        ("c", "gamma;" + REPEAT_EN, "en"),
        ("d", REPEAT_EN + "?delta", "en"),
    ]
    paths = _write(tmp_path, [docs])
    stats = _run(tmp_path, paths, ["en"], min_chars_after=1)
    kept, _ = _outputs(tmp_path, 1)
    assert kept == {"a": "alpha:", "b": "!beta", "c": "gamma;", "d": "?delta"}
    assert stats["num_spans"] == 4


def test_overlapping_repeats_merge_and_short_repeats_stay(tmp_path) -> None:
    rng = random.Random(9)
    x, y = _unique(rng, 80), _unique(rng, 80)
    short = "short repeated bit"  # < K: must survive
    docs = [
        ("a", "1" + x + y + "2" + short, "en"),
        ("b", "3" + x + "4" + short, "en"),
        ("c", "5" + y + "6", "en"),
    ]
    paths = _write(tmp_path, [docs])
    _run(tmp_path, paths, ["en"], min_chars_after=1)
    spans = pq.read_table(tmp_path / "spans.parquet").to_pylist()
    kept, _ = _outputs(tmp_path, 1)
    assert kept == {"a": "12" + short, "b": "34" + short, "c": "56"}
    assert len([s for s in spans if s["id"] == "a"]) == 1  # x and y touch: one merged span


def test_duplicate_spans_on_raw_buffer() -> None:
    text = b"0123456789abcdefghij|0123456789abcdefghij"
    buf = np.frombuffer(text, np.uint8).copy()
    starts, ends = S.duplicate_spans(buf, np.array([0, 21]), np.array([20, 41]), 10)
    assert starts.tolist() == [0, 21] and ends.tolist() == [20, 41]


def test_defaults_and_argument_errors(corpus, tmp_path) -> None:
    assert S.default_min_length_bytes(["en"]) == 200
    assert S.default_min_length_bytes(["zh"]) == 225
    assert S.default_min_length_bytes(["en", "zh"]) == 225
    paths, _ = corpus
    with pytest.raises(ValueError, match="equal lengths"):
        S.substring_dedup(
            paths,
            [0],
            [tmp_path / "o"],
            [tmp_path / "r"],
            tmp_path / "s",
            min_length_bytes=K,
            langs=["en"],
        )
    with pytest.raises(ValueError, match="langs"):
        _run(tmp_path, paths, [])


@pytest.fixture(scope="module")
def synthetic_docs(tmp_path_factory) -> tuple[list[Path], object]:
    """The synthetic crawl extracted with form fields kept (so its month drop-down reaches this
    step, as it did Index-1.9B's), minus what earlier steps remove, languages from the ground
    truth (as language ID would set them)."""
    synth = pytest.importorskip("skyforge.synthetic.crawl")
    extract = pytest.importorskip("skyforge.data.extract")
    from skyforge.config import SyntheticCrawlConfig

    tmp = tmp_path_factory.mktemp("synth")
    synth.synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": 600}), 2, tmp)
    gt = pq.read_table(tmp / "ground_truth.parquet").to_pandas()
    survivors = gt[gt.expected_step.isna()]
    lang = dict(zip(survivors.record_id, survivors.lang, strict=True))
    paths = []
    for s in range(2):
        raw = tmp / f"x-{s}.parquet"
        extract.extract_shard(
            tmp / synth.shard_name(s), s, raw, tmp / f"xr-{s}.parquet", form_fields=True
        )
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


@pytest.mark.parametrize("langs", [["en"], ["zh"]])
def test_dropdown_removed_from_synthetic_crawl(synthetic_docs, tmp_path, langs) -> None:
    paths, gt = synthetic_docs
    marker = "Select Month" if langs == ["en"] else "选择月份"
    before = {
        r["id"]: r["text"] for p in paths for r in read_docs(p).to_pylist() if r["lang"] in langs
    }
    with_menu = {i for i, t in before.items() if marker in t}
    has_dropdown = set(gt.record_id[gt.has_dropdown]) & set(before)
    assert with_menu == has_dropdown and len(with_menu) > 20
    stats = _run(tmp_path, paths, langs, k=S.default_min_length_bytes(langs))
    kept, removed = _outputs(tmp_path, 2)
    assert not any(marker in t for t in kept.values())
    assert stats["num_in"] == len(before) == len(kept) + len(removed)
    # Pages without the menu are untouched; pages with it lose it and little else.
    untouched = [i for i in before if i not in with_menu and i in kept]
    assert sum(kept[i] == before[i] for i in untouched) >= 0.95 * len(untouched)
    spans = pq.read_table(tmp_path / "spans.parquet").to_pandas()
    menu_bytes = min(
        len(t.encode()) - len(kept.get(i, "").encode()) for i, t in before.items() if i in with_menu
    )
    assert spans[spans.id.isin(with_menu)].groupby("id").bytes.sum().max() < menu_bytes + 64


def test_windowed_partitions_write_what_the_suffix_array_writes(tmp_path) -> None:
    """The step's default (hash-partitioned windows, here ~20 partitions from a small budget)
    writes the same documents, removals and span table as the whole-group suffix array."""
    rng = random.Random(11)
    shards = [
        [
            (
                f"{s}-{i}",
                _unique(rng, 30) + rng.choice([REPEAT_EN, REPEAT_ZH, ""]) + _unique(rng, 9),
                rng.choice(["en", "zh"]),
            )
            for i in range(25)
        ]
        + [(f"{s}-menu", REPEAT_ZH, "zh")]  # nothing left after the cut: removed
        for s in range(3)
    ]
    paths = _write(tmp_path, shards)
    results = {}
    for method, budget in (("suffix_array", None), ("windows", 72 * 4 * 2**20 + 20_000)):
        out = tmp_path / method
        out.mkdir()
        results[method] = _run(out, paths, ["en", "zh"], method=method, memory_budget_bytes=budget)
    from skyforge.data.dedup.substring_windows import partitions_for_budget

    expected = partitions_for_budget(results["windows"]["bytes_in"], 72 * 4 * 2**20 + 20_000)
    assert results["windows"]["partitions"] == expected > 5
    assert results["suffix_array"]["partitions"] == 1
    for key in ("num_kept", "num_removed", "num_edited", "num_spans", "bytes_kept", "bytes_spans"):
        assert results["windows"][key] == results["suffix_array"][key], key
    assert results["windows"]["num_spans"] > 20 and results["windows"]["num_removed"] >= 3
    for name in ["spans.parquet"] + [f"{k}-{s}.parquet" for k in ("out", "rm") for s in range(3)]:
        a = pq.read_table(tmp_path / "windows" / name)
        b = pq.read_table(tmp_path / "suffix_array" / name)
        assert a.equals(b), name
