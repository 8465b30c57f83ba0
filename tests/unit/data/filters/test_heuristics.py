"""URL, language, line and heuristic filters: each rule on crafted English and Chinese text,
blocklist matching, language ID, the shard runner's accounting, and a score against the
synthetic crawl's ground truth."""

from __future__ import annotations

import random
from collections import Counter

import pandas as pd
import pytest

from skyforge import config as C
from skyforge.config import FiltersConfig
from skyforge.data.docs import read_docs, read_removed, write_docs
from skyforge.data.filters import heuristics as F

PARAMS = FiltersConfig.with_defaults()

EN_PROSE = """The city council met on Tuesday evening to discuss the new budget for public \
libraries. After a long debate, the members agreed to extend opening hours at the central branch \
and to hire four additional librarians.

Residents have asked for longer hours for years. Many students said that they need a quiet place \
to study after school, and that the reading rooms are often full by the middle of the afternoon.

The plan will cost about two million dollars over three years. Part of the money comes from a \
state grant, and the rest will be found by delaying repairs to the parking garage near the river.

Critics argued that the council should first fix the roof of the old museum, which has been \
leaking since last winter. The mayor replied that both projects matter and that the museum will \
be repaired in the spring."""

# Chinese prose with a five-character name repeated (中心图书馆): character 5-grams would call
# that repetition; Gopher's word n-grams, which the Chinese rules approximate, do not.
ZH_PROSE = """周二晚上，市议会召开会议，讨论公共图书馆的新预算。经过长时间的辩论，议员们同意延长\
中心图书馆的开放时间，并增聘四名图书管理员。

多年来，居民一直希望图书馆能够延长开放时间。不少学生表示，他们放学后需要一个安静的地方学习，\
而中心图书馆的阅览室往往在下午就已经坐满了。

这项计划在三年内大约需要花费两百万元。其中一部分资金来自省里的专项拨款，其余部分将通过推迟河边\
停车场的维修来筹集。

批评者认为，议会应该先修好老博物馆的屋顶，因为它从去年冬天起就一直漏水。市长回应说，两个项目\
都很重要，中心图书馆的改造不会影响博物馆在明年春天完成修缮。"""

ZH_STEM = """第1题
一辆汽车以5 m/s的速度行驶，以2 m/s²的加速度匀加速运动3 s，求末速度和位移。
解：
末速度 v = v0 + at = 5 + 2 × 3 = 11 m/s。
位移 s = v0t + at²/2 = 5 × 3 + 2 × 3²/2 = 24 m。
答：v = 11 m/s，s = 24 m
第2题
质量为18 kg的物体以22 m/s的速度运动，它的动能是多少？
解：
动能 E = mv²/2，把数据代入公式可以得到它的动能。
E = 18 × 22² ÷ 2 = 18 × 484 ÷ 2 = 4356 J。
答：E = 4356 J"""

EN_STEM = """Question 1
A car moving at 5 m/s accelerates uniformly at 2 m/s² for 3 s. Find its final speed and the \
distance covered.
Solution:
v = v0 + a·t = 5 + 2 × 3 = 11 m/s.
s = v0·t + a·t²/2 = 5 × 3 + 2 × 3²/2 = 24 m.
Answer: v = 11 m/s, s = 24 m
Question 2
How many moles are there in 84 g of iron(III) oxide (Fe2O3)?
Solution:
Molar mass of Fe2O3: 2 × 55.845 + 3 × 15.999 = 159.687 g/mol.
n = m / M = 84 g / 159.687 g/mol ≈ 0.526 mol.
Answer: n ≈ 0.526 mol. The mass is divided by the molar mass to give the amount of substance."""

FR_PROSE = """Le conseil municipal s'est réuni mardi soir pour discuter du nouveau budget des \
bibliothèques publiques. Après un long débat, les élus ont accepté de prolonger les horaires \
d'ouverture de la médiathèque centrale et de recruter quatre bibliothécaires supplémentaires. \
Les habitants réclament depuis des années des horaires plus longs, et de nombreux étudiants \
disent avoir besoin d'un endroit calme pour travailler après les cours."""

PY_CODE = '''def merge_intervals(intervals):
    """Merge overlapping [start, end] intervals and return them sorted."""
    if not intervals:
        return []
    ordered = sorted(intervals, key=lambda item: item[0])
    merged = [list(ordered[0])]
    for start, end in ordered[1:]:
        last = merged[-1]
        if start <= last[1]:
            last[1] = max(last[1], end)
        else:
            merged.append([start, end])
    return merged


class IntervalIndex:
    def __init__(self, intervals):
        self.intervals = merge_intervals(intervals)

    def contains(self, point):
        return any(start <= point <= end for start, end in self.intervals)
'''

C_CODE = """#include <stdio.h>
#include <stdlib.h>

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    if (x < y) {
        return -1;
    }
    if (x > y) {
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int values[] = {42, 7, 19, 3, 25, 11};
    size_t count = sizeof(values) / sizeof(values[0]);
    qsort(values, count, sizeof(int), compare_ints);
    for (size_t i = 0; i < count; i++) {
        printf("%d\\n", values[i]);
    }
    return 0;
}
"""

JS_CODE = """const express = require('express');
const app = express();

app.get('/api/items/:id', async (req, res) => {
  const item = await db.findItem(req.params.id);
  if (!item) {
    return res.status(404).json({ error: 'not found' });
  }
  res.json(item);
});

app.listen(3000, () => console.log('listening on port 3000'));
"""

FILLER_EN = (
    "river window garden silver forest market bridge candle harbor meadow pencil rocket "
    "valley thunder planet castle button lantern mirror ocean orchard pillow saddle tunnel "
    "violin wagon anchor basket cabin dragon engine falcon glacier hammer island jacket "
    "kettle ladder magnet needle oyster parrot quilt ribbon shovel ticket umbrella vessel "
    "walnut yogurt zipper acorn blanket compass dolphin feather goblet helmet"
).split()
# Two-character Chinese nouns with no function character of ZH_STOP_WORDS in them.
FILLER_ZH = (
    "春天 河流 山脉 城市 学校 医院 铁路 花园 森林 农民 工厂 商店 桥梁 港口 机场 公园 湖泊 "
    "草原 沙漠 海洋 雪山 果园 茶叶 丝绸 瓷器 书法 绘画 音乐 舞蹈 戏剧 电影 诗歌 小说 历史 "
    "地理 数学 物理 化学 生物 天文"
).split()


def lines_of(sentences: list[str]) -> str:
    return "\n".join(sentences)


SENTENCES_EN = [
    "Heavy rain fell across the northern valley for most of the week.",
    "Farmers said that the late harvest would push up the price of grain.",
    "A new bridge over the river is expected to open early next year.",
    "Engineers have tested the steel cables with loads twice the legal limit.",
    "The museum reopened its east wing after two years of careful restoration.",
    "Visitors can now see the painted ceiling from a raised wooden walkway.",
    "Local schools will teach a short course on first aid to older pupils.",
    "Teachers hope the lessons give students confidence in an emergency.",
    "The football club signed a young goalkeeper from a rival team on Friday.",
    "Ticket sales for the opening match have already broken last season's record.",
    "A small bakery on Station Road has won a regional prize for its bread.",
    "Its owner credits an old family recipe and a very patient oven.",
]


def sentences(num: int) -> list[str]:
    """Distinct, ordinary English sentences (each with stop words)."""
    assert num <= len(SENTENCES_EN)
    return SENTENCES_EN[:num]


def check(text: str, lang: str, params: FiltersConfig = PARAMS) -> str | None:
    return F.HeuristicFilter(params).check(text, lang)


# ---------------------------------------------------------------------------------------------
# Words and good text
# ---------------------------------------------------------------------------------------------


def test_chinese_words_are_characters():
    assert F.tokenize_words("我们today去 park。好") == ["我", "们", "today", "去", "park", "好"]
    assert F.tokenize_words("plain english words") == ["plain", "english", "words"]
    # Whitespace tokenisation would see a handful of "words" in Chinese prose.
    assert len(ZH_PROSE.split()) < 10 and len(F.tokenize_words(ZH_PROSE)) > 200


@pytest.mark.parametrize(
    "text, lang", [(EN_PROSE, "en"), (ZH_PROSE, "zh"), (ZH_STEM, "zh"), (EN_STEM, "en")]
)
def test_good_text_passes_every_rule(text, lang):
    assert check(text, lang) is None
    cleaned, dropped = F.LineCleaner().clean(text)
    assert not dropped and check(cleaned, lang) is None


@pytest.mark.parametrize("text", [PY_CODE, C_CODE])
def test_code_passes_length_and_repetition(text):
    # C closes many blocks with identical "}" lines; short lines do not count as repeats.
    assert check(text, "code") is None


# ---------------------------------------------------------------------------------------------
# Each rule, with the reason it gives
# ---------------------------------------------------------------------------------------------


def _stuffed_en() -> str:
    words = []
    for i, filler in enumerate(FILLER_EN[:60]):
        words += [("casino", "bonus", "jackpot")[i % 3], filler]
    return " ".join(words)


def _stuffed_zh() -> str:
    runs = []
    for i, filler in enumerate(FILLER_ZH):
        runs += [("免费", "下载", "高清")[i % 3], filler]
    return "，".join(runs) + "。"


def _no_stop_words_zh() -> str:
    assert not set("".join(FILLER_ZH)) & F.ZH_STOP_WORDS
    return "、".join(FILLER_ZH + FILLER_ZH[::-1][:20]) + "。"


CASES = [
    ("short", "A short note about the weather and the sea.", "en", "too_short"),
    ("short_zh", "今天天气很好，我们去公园散步了。", "zh", "too_short"),
    ("lorem", EN_PROSE + "\nLorem ipsum dolor sit amet.", "en", "lorem_ipsum"),
    (
        "dup_lines",
        lines_of(sentences(8) + ["Click the button below to continue."] * 6),
        "en",
        "dup_lines",
    ),
    (
        "dup_lines_zh",
        lines_of(ZH_PROSE.split("\n\n") + ["点击下方按钮继续阅读全文。"] * 6),
        "zh",
        "dup_lines",
    ),
    ("top_2gram", " ".join(f"click here {w}" for w in FILLER_EN), "en", "top_2gram"),
    (
        "dup_5gram",
        " ".join(sentences(10) + ["This offer is only valid for new customers today."] * 3),
        "en",
        "dup_5gram",
    ),
    ("stuffing", _stuffed_en(), "en", "keyword_stuffing"),
    ("stuffing_zh", _stuffed_zh(), "zh", "keyword_stuffing"),
    (
        "mean_word_length",
        " ".join(
            a + b
            for a in (
                "international",
                "organization",
                "communication",
                "administration",
                "responsibility",
                "understanding",
            )
            for b in (
                "representative",
                "characteristic",
                "infrastructure",
                "accountability",
                "determination",
                "establishment",
                "implementation",
                "transformation",
                "consideration",
            )
        )
        + " the and of",
        "en",
        "mean_word_length",
    ),
    (
        "symbol_ratio",
        EN_PROSE + "\n" + " ".join(f"#{w}" for w in FILLER_EN[:40]),
        "en",
        "symbol_ratio",
    ),
    ("ellipsis_lines", lines_of([s[:-1] + "..." for s in sentences(10)]), "en", "ellipsis_lines"),
    ("bullet_lines", lines_of(["• " + s for s in sentences(10)]), "en", "bullet_lines"),
    ("alpha_words", EN_PROSE + "\n" + " ".join(f"@{i}@" for i in range(80)), "en", "alpha_words"),
    ("stop_words", ", ".join(FILLER_EN) + ".", "en", "stop_words"),
    ("stop_words_zh", _no_stop_words_zh(), "zh", "stop_words"),
    (
        "caps_lines",
        lines_of([s.upper() if i % 2 else s for i, s in enumerate(sentences(10))]),
        "en",
        "caps_lines",
    ),
]


@pytest.mark.parametrize("name, text, lang, reason", CASES, ids=[c[0] for c in CASES])
def test_rule_fails_with_its_reason(name, text, lang, reason):
    assert check(text, lang) == reason


def test_length_limits_come_from_params():
    assert check(EN_PROSE, "en", FiltersConfig.with_defaults(max_words=100)) == "too_long"
    assert check(ZH_PROSE, "zh", FiltersConfig.with_defaults(min_words_zh=1000)) == "too_short"


def test_keyword_spam_page_is_removed_as_repetition():
    rng = random.Random(3)
    kws = ["cheap watches", "best price", "free shipping", "buy now", "replica"]
    para = " ".join(rng.choice(kws) for _ in range(60))
    text = lines_of([para, "BUY NOW AND SAVE 90%!!!", " ".join(rng.choice(kws) for _ in range(60))])
    repetition = {f"top_{n}gram" for n in (2, 3, 4)} | {f"dup_{n}gram" for n in range(5, 11)}
    assert check(text, "en") in repetition | {"keyword_stuffing"}
    zh = "".join(rng.choice(["免费下载", "高清", "特价", "包邮"]) for _ in range(80))
    assert check(zh, "zh") in repetition | {"keyword_stuffing"}


# ---------------------------------------------------------------------------------------------
# Line cleanup
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, reason",
    [
        ("We use cookies to improve your experience. By continuing you agree.", "boilerplate"),
        ("Please enable JavaScript to view this page.", "boilerplate"),
        ("© 2023 The Daily Planet. All rights reserved.", "boilerplate"),
        ("Privacy Policy | Terms of Use | Contact Us", "boilerplate"),
        ("本网站使用Cookie以提升您的浏览体验。", "boilerplate"),
        ("版权所有 © 2023 江南日报 京ICP备12345678号", "boilerplate"),
        ("Home | News | Sports | Business | Contact", "navigation"),
        ("首页｜新闻｜体育｜财经｜科技", "navigation"),
        ("* * * * *", "no_letters"),
        ("She baked a chocolate cookie for her grandmother.", None),
        ("JavaScript is the language most web pages are written in.", None),
        ("By Hugo Quinn | Published March 21, 2023, 22:03", None),
        ("(x + 7)(x - 3) = 0.", None),
    ],
)
def test_line_cleaner(line, reason):
    assert F.LineCleaner().line_reason(line) == reason


def test_boilerplate_only_page_is_too_short_after_cleanup():
    page = lines_of(
        [
            "Home | News | Sports | Login",
            "Sorry, the page you are looking for cannot be found.",
            "We use cookies to improve your experience on our website.",
            "© 2024 Example Media. All rights reserved.",
        ]
    )
    cleaned, dropped = F.LineCleaner().clean(page)
    assert dropped == {"navigation": 1, "boilerplate": 2}
    assert check(cleaned, "en") == "too_short"


# ---------------------------------------------------------------------------------------------
# URL filter
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, expected",
    [
        ("velvetnight-cams.com", "blocklist:adult"),
        ("www.velvetnight-cams.com", "blocklist:adult"),
        ("m.cn.velvetnight-cams.com", "blocklist:adult"),
        ("VELVETNIGHT-CAMS.COM.", "blocklist:adult"),
        ("golden-jackpot-888.net", "blocklist:gambling"),
        ("cdn.seo-backlinks-fast.xyz", "blocklist:spam"),
        ("notvelvetnight-cams.com", None),
        ("velvetnight-cams.com.example.org", None),
        ("www.example.org", None),
    ],
)
def test_blocklist_matches_host_and_parent_domains(host, expected):
    f = F.UrlFilter(PARAMS.blocklists, ())
    assert f.reason({"domain": host, "url": f"https://{host}/"}) == expected


def test_blocklist_from_file_and_url_patterns(tmp_path):
    lst = tmp_path / "malware.txt"
    lst.write_text("# my list\nbad-example.org\n\n*.evil-cdn.net  # wildcard written out\n")
    patterns = C.section_defaults("filters")["url_patterns"]
    f = F.UrlFilter([str(lst)], [r"/wp-login\.php", *patterns])
    assert f.reason({"url": "https://x.bad-example.org/a"}) == "blocklist:malware"
    assert f.reason({"url": "http://img.evil-cdn.net:8080/"}) == "blocklist:malware"
    assert f.reason({"url": "https://blog.example.com/wp-login.php"}) == "url_pattern:0"
    assert f.reason({"url": "https://tube.example.com/free-porn/123"}) == "url_pattern:1"
    assert f.reason({"url": "https://www.sussex.ac.uk/essex-sextant.html"}) is None
    with pytest.raises(ValueError, match="filters.blocklists.*no-such-list"):
        F.UrlFilter(["no-such-list"], ())


# ---------------------------------------------------------------------------------------------
# Language ID
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lang_filter() -> F.LanguageFilter:
    return F.LanguageFilter(PARAMS.keep_langs, PARAMS.min_lang_score, PARAMS.min_code_score)


@pytest.mark.parametrize(
    "text, lang, reason",
    [
        (EN_PROSE, "en", None),
        (ZH_PROSE, "zh", None),
        (ZH_STEM, "zh", None),
        (EN_STEM, "en", None),
        (PY_CODE, "code", None),
        (C_CODE, "code", None),
        (JS_CODE, "code", None),
        (FR_PROSE, "fr", "lang:fr"),
        (EN_PROSE.split("\n\n")[0] + "\n" + ZH_PROSE.split("\n\n")[0], None, None),  # parallel
    ],
)
def test_language_id(lang_filter, text, lang, reason):
    doc = {"text": text}
    assert lang_filter.reason(doc) == reason
    if lang is not None:
        assert doc["lang"] == lang
    else:
        assert doc["lang"] in ("en", "zh")
    if doc["lang"] != "code":
        assert doc["lang_score"] >= PARAMS.min_lang_score


def test_code_score_separates_code_from_prose_and_math():
    for text in (PY_CODE, C_CODE, JS_CODE):
        assert F.code_score(text) >= PARAMS.min_code_score
    for text in (EN_PROSE, ZH_PROSE, EN_STEM, ZH_STEM, FR_PROSE):
        assert F.code_score(text) < 0.2


def test_short_text_is_left_to_the_length_rule(lang_filter):
    doc = {"text": "Loading..."}
    assert lang_filter.reason(doc) is None  # not "low_confidence": too little text to judge
    assert check(doc["text"], doc["lang"]) == "too_short"


def test_fasttext_model_path_and_chinese_varieties(tmp_path):
    """A tiny fastText model in lid.176's label format stands in for lid.176 here."""
    from skyforge.data.classifiers.quality import train_fasttext

    rng = random.Random(0)
    zh_sents = [s for p in ZH_PROSE.split("\n\n") for s in p.split("。") if s]
    lines = []
    for _ in range(200):
        en = " ".join(rng.sample(EN_PROSE.split(), 12)).lower()
        zh = " ".join(rng.sample("".join(zh_sents), 12))
        fr = " ".join(rng.sample(FR_PROSE.split(), 12)).lower()
        # Chinese split between two labels, as lid.176 splits zh / wuu / yue.
        lines += [
            f"__label__en {en}",
            f"__label__{rng.choice(['zh', 'wuu'])} {zh}",
            f"__label__fr {fr}",
        ]
    train = tmp_path / "lid.txt"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = train_fasttext(train, seed=1, dim=16, bucket=20_000, epoch=10, wordNgrams=2)
    path = tmp_path / "lid.bin"
    model.save_model(str(path))

    f = F.LanguageFilter(("en", "zh", "code"), 0.65, 0.4, fasttext_model_path=str(path))
    assert f.identify(EN_PROSE.lower())[0] == "en"
    zh_text = " ".join(ZH_PROSE)
    lang, score = f.identify(zh_text)
    labels, probs = model.predict([" ".join(zh_text.split())], k=5)
    raw = dict(zip(labels[0], probs[0], strict=True))
    parts = raw.get("__label__zh", 0.0), raw.get("__label__wuu", 0.0)
    assert lang == "zh" and score == pytest.approx(sum(parts), abs=1e-4) and score > max(parts)
    assert f.identify(PY_CODE)[0] == "code"
    with pytest.raises(ValueError, match="fasttext_model_path"):
        F.LanguageFilter(("en",), 0.5, 0.4, fasttext_model_path=str(tmp_path / "none.bin"))


# ---------------------------------------------------------------------------------------------
# Params and the shard runner
# ---------------------------------------------------------------------------------------------


def test_params_validate():
    with pytest.raises(ValueError, match="filters.min_alpha_words"):
        F.HeuristicFilter(FiltersConfig.with_defaults(min_alpha_words=1.5))
    with pytest.raises(ValueError, match="filters.max_dup_ngram_frac"):
        F.HeuristicFilter(FiltersConfig.with_defaults(max_dup_ngram_frac=[0.1]))
    with pytest.raises(ValueError, match=r"filters.url_patterns\[0\]"):
        F.HeuristicFilter(FiltersConfig.with_defaults(url_patterns=["("]))
    with pytest.raises(ValueError, match="filters.min_wrods"):
        FiltersConfig.with_defaults(min_wrods=3)
    p = FiltersConfig.with_defaults(keep_langs=["zh", "en"], min_words=10)
    assert p.keep_langs == ["zh", "en"] and p.min_words == 10


def _doc(i: int, text: str, url: str) -> dict:
    host = url.split("/")[2]
    return {
        "id": f"<urn:uuid:{i:08d}>",
        "url": url,
        "domain": host,
        "title": None,
        "text": text,
        "crawl_date": "2024-01-01",
        "encoding": "utf-8",
        "lang": None,
        "lang_score": None,
        "shard": 0,
    }


def test_filter_shard_accounts_for_every_document(tmp_path):
    cookie = "We use cookies to improve your experience. By continuing you agree to our use."
    docs = [
        _doc(0, EN_PROSE + "\n" + cookie, "https://news.example.com/a"),
        _doc(1, ZH_PROSE, "https://www.example.cn/b"),
        _doc(2, PY_CODE, "https://dev.example.io/c"),
        _doc(3, EN_PROSE, "https://www.velvetnight-cams.com/d"),
        _doc(4, FR_PROSE, "https://www.exemple.fr/e"),
        _doc(5, "Sorry, this page does not exist.\n" + cookie, "https://news.example.com/404"),
        _doc(6, _stuffed_en(), "https://cheap-deals.example.biz/f"),
    ]
    src = tmp_path / "docs.parquet"
    write_docs(src, docs)
    stats = F.filter_shard(src, 3, tmp_path / "kept.parquet", tmp_path / "removed.parquet", PARAMS)

    kept = read_docs(tmp_path / "kept.parquet").to_pandas().set_index("id")
    removed = read_removed(tmp_path / "removed.parquet").to_pandas().set_index("id")
    assert sorted([*kept.index, *removed.index]) == sorted(d["id"] for d in docs)
    assert not set(kept.index) & set(removed.index)
    ids = [d["id"] for d in docs]
    assert list(kept.loc[ids[:3], "lang"]) == ["en", "zh", "code"]
    assert (kept["shard"] == 3).all() and kept["lang_score"].notna().all()
    assert cookie not in kept.at[ids[0], "text"]  # cleaned text is what is written
    assert kept.at[ids[2], "text"] == PY_CODE
    expected = {
        ids[3]: ("url_filter", "blocklist:adult"),
        ids[4]: ("language", "lang:fr"),
        ids[5]: ("heuristic", "too_short"),
        ids[6]: ("heuristic", "keyword_stuffing"),
    }
    assert {i: (r.step, r.reason) for i, r in removed.iterrows()} == expected
    assert stats["num_docs_in"] == 7 and stats["num_kept"] == 3 and stats["num_removed"] == 4
    assert stats["removed_per_step"] == {"url_filter": 1, "language": 1, "heuristic": 2}
    assert stats["lines_dropped"] == {"boilerplate": 2}
    assert (
        stats["bytes_in"]
        == stats["bytes_kept"] + stats["bytes_removed_docs"] + stats["bytes_removed_lines"]
    )
    assert removed["bytes"].sum() == stats["bytes_removed_docs"]


# ---------------------------------------------------------------------------------------------
# Against the synthetic crawl's ground truth
# ---------------------------------------------------------------------------------------------

# Floors, as measured on this crawl (seed 1234, 600 pages) with these margins:
#   url_filter: precision 1.0, recall 1.0 (every adult page sits on a listed domain);
#   language:   precision >= 0.95, recall >= 0.95 (measured 1.0 / 1.0);
#   heuristic:  recall >= 0.95 (measured 1.0) at precision >= 0.75 (measured ~0.82): the
#   misses are kept-kind pages that Gopher's rules, unchanged, remove: STEM worksheets that
#   repeat one problem template (dup_5gram), a Chinese worksheet of two linear equations with
#   no function word (stop_words), and code pages quoting generated codec tables (top_2gram).
#   Reported to the lead rather than fitted away.
#   kept documents: language label = ground-truth language for >= 0.98 of them.
FLOORS = {
    "url_filter": (1.0, 1.0),
    "language": (0.95, 0.95),
    "heuristic": (0.75, 0.95),
}


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    synth = pytest.importorskip("skyforge.synthetic.crawl")
    extract = pytest.importorskip("skyforge.data.extract")
    from skyforge.config import SyntheticCrawlConfig

    out = tmp_path_factory.mktemp("synthetic")
    cfg = SyntheticCrawlConfig.with_defaults({"seed": 1234, "num_pages": 600})
    synth.synthesize_crawl(cfg, 2, out / "crawl")
    kept, removed = [], []
    for shard in range(2):
        docs = out / f"docs-{shard}.parquet"
        extract.extract_shard(
            out / "crawl" / synth.shard_name(shard), shard, docs, out / f"x-{shard}.parquet"
        )
        F.filter_shard(docs, shard, out / f"k-{shard}.parquet", out / f"r-{shard}.parquet", PARAMS)
        kept.append(read_docs(out / f"k-{shard}.parquet").to_pandas())
        removed.append(read_removed(out / f"r-{shard}.parquet").to_pandas())
    gt = pd.read_parquet(out / "crawl" / "ground_truth.parquet").set_index("record_id")
    return gt, pd.concat(kept), pd.concat(removed)


def test_scores_against_ground_truth(synthetic_run):
    gt, kept, removed = synthetic_run
    seen = gt.loc[[*kept["id"], *removed["id"]]]  # the records extraction passed on
    predicted = pd.Series("kept", index=seen.index)
    predicted[removed["id"].to_numpy()] = removed["step"].to_numpy()
    mine = set(FLOORS)
    expected = seen["expected_step"].where(seen["expected_step"].isin(mine), "kept")
    print("\n" + pd.crosstab(seen["kind"], predicted, margins=True).to_string())
    reasons = removed.set_index("id")["reason"]
    for step, (min_precision, min_recall) in FLOORS.items():
        tp = int(((predicted == step) & (expected == step)).sum())
        num_pred, num_exp = int((predicted == step).sum()), int((expected == step).sum())
        precision, recall = tp / max(1, num_pred), tp / max(1, num_exp)
        print(f"{step}: precision {precision:.3f} recall {recall:.3f} ({tp}/{num_pred}/{num_exp})")
        wrong = seen.index[(predicted == step) != (expected == step)]
        for rid in wrong:
            print(f"  {seen.at[rid, 'kind']:<16} {predicted[rid]:<10} {reasons.get(rid)}")
        assert precision >= min_precision and recall >= min_recall, step
    lang_ok = kept["lang"].to_numpy() == gt.loc[kept["id"], "lang"].to_numpy()
    print(f"kept-language accuracy {lang_ok.mean():.3f}")
    assert lang_ok.mean() >= 0.98
    assert Counter(kept["lang"]).keys() <= {"en", "zh", "code"}
