"""Mojibake: certain repairs, removals of lossy damage, and clean text in every script untouched."""

from __future__ import annotations

import random
from datetime import date

import pytest

from skyforge.config import EncodingConfig, validate_sections
from skyforge.data.filters.encoding import MojibakeRepair
from skyforge.synthetic.pages import junk
from skyforge.synthetic.pages.articles import article_doc
from skyforge.synthetic.pages.sites import Sites
from skyforge.synthetic.pages.text import Doc

REPAIR = MojibakeRepair(EncodingConfig.with_defaults())

ZH = "本站内容每天更新，我们的新闻报道欢迎关注城市发展和科技创新，也欢迎读者来信讨论。"
EN = "The caf\u00e9 owner said \u201cwe will reopen in May\u201d \u2014 and she meant it."


def _cp1252_misread(text: str) -> str:
    """UTF-8 bytes read as Windows-1252 (undefined bytes as Latin-1: lossless)."""
    return junk.decode_bytewise(text.encode("utf-8"), "cp1252", "latin-1")


@pytest.mark.parametrize(
    "clean",
    [
        ZH,
        "國際新聞：這是一個繁體中文的句子，我們測試一下簡單的內容是否保持不變。",
        "これは日本語の文章です。今日は天気がいいので、公園に散歩に行きました。",
        EN,
        "Naïve résumés from São Paulo and Köln, © 2024 • ½ price",
        "你今天去哪里了?我们一起去吃饭好吗?明天见?",  # ASCII question marks in Chinese
        "文章归档",
        "",
        "plain ASCII only",
    ],
)
def test_clean_text_is_untouched(clean):
    text, reason, counts = REPAIR.check(clean)
    assert (text, reason, dict(counts)) == (clean, None, {})


@pytest.mark.parametrize("original", [ZH, EN, "混合 mixed 文本：价格 12 元 \u2014 “好”"])
def test_lossless_misreading_is_repaired_exactly(original):
    broken = _cp1252_misread(original)
    assert broken != original
    text, reason, counts = REPAIR.check(f"{original}\n{broken}\nshort line")
    assert reason is None
    assert text == f"{original}\n{original}\nshort line"
    assert counts == {"repaired:cp1252": 1}


def test_latin1_misreading_is_repaired_too():
    broken = EN.encode("utf-8").decode("latin-1")  # C1 controls where cp1252 has printables
    assert REPAIR.check(broken)[0] == EN


@pytest.mark.parametrize(
    "broken",
    [
        # The real crawl's case: UTF-8 read as GBK, '?' where a byte did not decode.
        ZH.encode("utf-8").decode("gbk", "replace").replace("\ufffd", "?"),
        ZH.encode("utf-8").decode("gbk", "replace"),  # U+FFFD kept
        EN.encode("utf-8").decode("cp1252", "replace").replace("\ufffd", "?"),
        "我们" + "??" + "的新闻" + "??" + "报道每天更新",  # characters lost to '?' runs
    ],
)
def test_lossy_damage_removes_the_document(broken):
    text, reason, counts = REPAIR.check(broken)
    assert reason == "encoding:mojibake"
    assert counts["damaged"] == 1


def test_mixed_encodings_drop_a_few_damaged_lines_and_repair_the_rest():
    damaged = ZH.encode("utf-8").decode("gbk", "replace").replace("\ufffd", "?")
    lines = [ZH] * 6 + [_cp1252_misread(ZH), damaged]
    text, reason, counts = REPAIR.check("\n".join(lines))
    assert reason is None
    assert text == "\n".join([ZH] * 7)
    assert counts == {"repaired:cp1252": 1, "damaged": 1}
    # Most of the page damaged: removed, not cut down to a stub.
    text, reason, _ = REPAIR.check("\n".join([ZH, damaged, damaged]))
    assert reason == "encoding:mojibake"


def test_empty_after_repair_is_a_removal_reason():
    keep_all = MojibakeRepair(EncodingConfig.with_defaults(max_damaged_share=1.0))
    damaged = ZH.encode("utf-8").decode("gbk", "replace").replace("\ufffd", "?")
    text, reason, counts = keep_all.check(f"{damaged}\n  \n{damaged}")
    assert reason == "encoding:empty_after_repair" and counts["damaged"] == 2


def test_synthetic_pages_repair_to_their_article_or_are_removed():
    sites = Sites(random.Random(0))
    for seed in range(6):
        for lang in ("zh", "en"):
            site = sites.make(lang)
            when = date(2024, 1, 2)
            fixable = junk.mojibake_doc(random.Random(seed), lang, when, site, fixable=True)
            # The same draws without the damage step: the article it was made from.
            r = random.Random(seed)
            article = article_doc(r, lang, when, site)
            if lang == "en":
                article = Doc(
                    article.title,
                    article.byline,
                    tuple(b._replace(text=junk._typeset(r, b.text)) for b in article.blocks),
                )
            assert fixable.main_text != article.main_text
            text, reason, _ = REPAIR.check(fixable.main_text)
            assert reason is None and text == article.main_text
            lossy = junk.mojibake_doc(random.Random(seed), lang, when, site, fixable=False)
            assert REPAIR.check(lossy.main_text)[1] == "encoding:mojibake"


def test_params_validate():
    with pytest.raises(ValueError, match=r"encoding\.max_damaged_share"):
        validate_sections({"encoding": {"max_damaged_share": 1.5}}, ("encoding",))
    with pytest.raises(ValueError, match=r"encoding\.colour"):
        EncodingConfig.with_defaults(colour=1)


def test_lossless_gbk_misreading_is_repaired_and_chance_matches_are_not():
    # Six CJK characters are 18 UTF-8 bytes, 9 GBK characters when misread, all valid here.
    assert "我们今天城市".encode().decode("gbk") == "鎴戜滑浠婂ぉ鍩庡競"
    assert REPAIR.line_state("鎴戜滑浠婂ぉ鍩庡競") == ("repaired", "gbk", "我们今天城市")
    # Correct traditional Chinese whose GB18030 bytes happen to be valid UTF-8 ("̫ꖳǹپW"):
    # not a repair (more characters, not CJK), and too short to call damaged.
    assert "太陽城官網".encode("gb18030").decode("utf-8") == "̫ꖳǹپW"
    assert REPAIR.line_state("太陽城官網")[0] == "clean"


def test_random_common_characters_are_never_judged():
    # GB2312 level 1 and Big5 frequent characters in random lines of 3 to 40.
    pools = []
    for codec, rows, cols in (
        ("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)),
        ("big5", range(0xA4, 0xC6), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]),
    ):
        pool = []
        for hi in rows:
            for lo in cols:
                try:
                    pool.append(bytes([hi, lo]).decode(codec))
                except UnicodeDecodeError:
                    pass
        pools.append(pool)
    rng = random.Random(0)
    for pool in pools:
        for n in (3, 4, 5, 6, 8, 12, 40):
            for _ in range(300):
                line = "".join(rng.choice(pool) for _ in range(n))
                assert REPAIR.line_state(line)[0] == "clean", line
