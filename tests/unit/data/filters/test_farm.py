"""Content farms: bracket-wrapped characters, stitched stories and mojibake fragments are caught;
the synthetic crawl's ordinary pages (articles, STEM pages, quizzes, bilingual pages) are not."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from skyforge.config import EncodingConfig, FiltersConfig, HarmfulConfig, validate_sections
from skyforge.data.docs import DOC_SCHEMA
from skyforge.data.filters.encoding import MojibakeRepair, repair_fragments
from skyforge.data.filters.farm import (
    ContentFarmRules,
    bracketed_chars,
    isolated_share,
    stitch_marks,
)
from skyforge.data.filters.heuristics import filter_shard
from skyforge.synthetic import crawl as sc
from skyforge.synthetic.pages.farms import mojibake

RULES = ContentFarmRules(FiltersConfig.with_defaults())
REPAIR = MojibakeRepair(EncodingConfig.with_defaults())

ZH_STORY = (
    "新华社北京3月5日电 今年以来，北京的公共交通客流持续回升，地铁日均客流已经恢复到往年水平。"
    "交通部门表示，地铁客流回升与通勤需求增加有关，部分线路在早高峰加开了列车。"
    "业内人士认为，公共交通客流的回升说明城市通勤正在恢复，地铁运营还需要进一步优化。"
)
EN_STORY = (
    "LONDON, May 3 (Reuters) - British retailers reported stronger sales in April as warmer "
    "weather brought shoppers back to high streets. Retailers said clothing and garden sales "
    "led the rise, while food sales were flat. Analysts said the retail figures suggested "
    "that household spending was holding up better than expected."
)


# ---------------------------------------------------------------------------------------------
# farm:bracketed
# ---------------------------------------------------------------------------------------------


def test_wrapped_characters_count_in_runs_of_two_or_more():
    assert bracketed_chars("【随】【着】【经】【济】的发展") == 4
    assert bracketed_chars("〖发〗〖展〗和[经][济]") == 4
    assert bracketed_chars("（一）总则（二）适用范围（三）附则") == 0  # numbering stands alone
    assert bracketed_chars("《诗》《书》《礼》《易》《春秋》") == 0  # book titles are not counted
    assert bracketed_chars("[1] [2] (a)(b)") == 0  # not CJK


def test_bracketed_page_is_removed_and_prose_with_numbering_is_kept():
    wrapped = "".join(f"【{c}】" for c in "随着经济的发展城市的面貌发生了很大变化")
    assert RULES.check(ZH_STORY + "\n" + wrapped, "zh") == "farm:bracketed"
    numbered = "（一）" + ZH_STORY + "\n（二）" + ZH_STORY + "\n《诗》《书》《礼》《易》都是经典。"
    assert RULES.check(numbered, "zh") is None
    # Below the share: a long page with one short wrapped word.
    assert RULES.check("\n".join([ZH_STORY] * 4) + "【随】【着】", "zh") is None
    loose = ContentFarmRules(FiltersConfig.with_defaults(farm_max_bracketed_share=0.9))
    assert loose.check(ZH_STORY + "\n" + wrapped, "zh") is None


# ---------------------------------------------------------------------------------------------
# farm:stitched
# ---------------------------------------------------------------------------------------------


def test_datelines_count_only_in_the_middle_of_a_paragraph():
    assert stitch_marks(ZH_STORY) == (0, 1)
    assert stitch_marks(EN_STORY) == (0, 1)
    assert stitch_marks("CAPE TOWN, Feb. 23 (Xinhua) - Rain fell.") == (0, 1)
    mid = "Markets rose. PARIS, June 2 (AFP) - Rain fell. 中新网上海5月2日电 天气转晴。"
    assert stitch_marks(mid) == (2, 2)


def test_a_story_and_a_digest_of_briefs_are_kept():
    assert RULES.check(ZH_STORY, "zh") is None
    assert RULES.check(EN_STORY, "en") is None
    digest = "\n".join([EN_STORY, EN_STORY.replace("LONDON", "PARIS"), EN_STORY])
    assert RULES.check(digest, "en") is None  # every dateline opens its paragraph


def test_stitched_sentences_with_datelines_mid_paragraph_are_removed():
    stitched = (
        "Rain is expected in the north. BERLIN, June 1 (AP) - Carmakers cut output. "
        "Tea prices climbed in Kenya. TOKYO, June 2 (Kyodo) - A typhoon closed schools."
    )
    assert RULES.check(stitched, "en") == "farm:stitched"
    zh = (
        "今天北方有雨。新华社重庆6月1日电 汽车厂商削减了产量。"
        "茶叶价格上涨。中新网厦门6月2日电 台风关闭了学校。"
    )
    assert RULES.check(zh, "zh") == "farm:stitched"
    # One mid-paragraph dateline: enough with two more opening paragraphs ...
    one = "Rain is expected. BERLIN, June 1 (AP) - Carmakers cut output."
    assert RULES.check(one, "en") is None
    assert RULES.check("\n".join([EN_STORY, EN_STORY, one]), "en") == "farm:stitched"
    # ... and the limit is a config key.
    lax = ContentFarmRules(FiltersConfig.with_defaults(farm_max_stitch_marks=5))
    assert lax.check(stitched, "en") is None
    assert RULES.check(stitched, "code") is None


def test_one_mid_paragraph_dateline_and_incoherent_sentences_are_stitched():
    topics = [
        "Carmakers in Bavaria reduced production of diesel engines this spring.",
        "Orchestras across Vienna rehearsed symphonies for the festival season.",
        "Farmers near Nairobi harvested avocados earlier than anticipated.",
        "Astronomers photographed comets with improved telescopes overnight.",
        "Bakeries throughout Lisbon raised bread prices sharply yesterday.",
        "Swimmers trained intensively ahead of championships held in Budapest.",
        "Volcanologists monitored eruptions closely around Iceland recently.",
        "Programmers released compilers supporting quantum hardware.",
    ]
    text = " ".join(topics[:4]) + " OSLO, May 2 (Reuters) - " + " ".join(topics[4:])
    share, num = isolated_share(text, zh=False)
    assert num == 8 and share == 1.0
    assert RULES.check(text, "en") == "farm:stitched"
    coherent = " ".join(
        f"The council said the harbour project would change harbour traffic, number {i}."
        for i in range(8)
    )
    text = coherent + " OSLO, May 2 (Reuters) - The harbour project council met again."
    assert isolated_share(text, zh=False)[0] == 0.0
    assert RULES.check(text, "en") is None


# ---------------------------------------------------------------------------------------------
# encoding:mojibake_fragments
# ---------------------------------------------------------------------------------------------


def test_fragments_beside_correct_text_are_repaired_exactly():
    line = f"今天的{mojibake('新闻')}很多{mojibake('，')}大家都在看。"
    fixed, found = repair_fragments(line)
    assert fixed == "今天的新闻很多，大家都在看。" and found == ["新闻", "，"]
    en = f"The caf{mojibake('é')} owner said \u201cyes\u201d"
    assert repair_fragments(en) == ("The café owner said \u201cyes\u201d", ["é"])
    # Only fragments and ASCII: the whole-line round trip decides, not this test.
    assert repair_fragments(mojibake("Café owner")) is None
    # Correct text that merely looks like a lead + continuation is left alone: the bytes of
    # "é—“" are strict UTF-8 of a CJK character, which an English line cannot hold.
    assert repair_fragments("The café—“best in town”") is None
    assert repair_fragments("Naïve résumés from São Paulo, © 2024") is None


def test_a_document_with_few_fragments_is_repaired_and_one_with_many_is_removed():
    two = f"今天的{mojibake('新闻')}很多，大家都在看。\n第二段{mojibake('内容')}也很好。"
    text, why, counts = REPAIR.check(two)
    assert why is None and text == "今天的新闻很多，大家都在看。\n第二段内容也很好。"
    assert counts == Counter({"repaired:fragment": 2})
    many = two + f"\n第三段的{mojibake('天气')}不错{mojibake('。')}"
    assert REPAIR.check(many)[1] == "encoding:mojibake_fragments"
    # The same fragment repeated (a name misspelled throughout) is one fragment.
    same = "\n".join(f"第{i}段提到了{mojibake('新闻')}。" for i in range(5))
    assert REPAIR.check(same)[1] is None
    lax = MojibakeRepair(EncodingConfig.with_defaults(max_fragments=5))
    assert lax.check(many)[1] is None


def test_broken_fragments_stay_damaged():
    lost = mojibake("“quoted” text — here").replace("\x9d", "?")  # a byte lost
    state = REPAIR.line_state(lost + " and the rest of a long enough line")[0]
    assert state in ("damaged", "clean") and state != "fragments"


def test_config_keys_are_checked():
    with pytest.raises(ValueError, match="farm_max_bracketed_share"):
        ContentFarmRules(FiltersConfig.with_defaults(farm_max_bracketed_share=2.0))
    validate_sections({"encoding": {"max_fragments": 0}}, ("encoding",))
    with pytest.raises(Exception, match="max_fragments"):
        validate_sections({"encoding": {"max_fragments": -1}}, ("encoding",))


# ---------------------------------------------------------------------------------------------
# The synthetic crawl through the filter step
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ground truth's text of a 1,500-page crawl through ``filter_shard`` (as one shard)."""
    out = tmp_path_factory.mktemp("farm_crawl")
    cfg = sc.SyntheticCrawlConfig.with_defaults({"seed": 7, "num_pages": 1500})
    sc.synthesize_crawl(cfg, 1, out)
    gt = pd.read_parquet(out / "ground_truth.parquet")
    gt = gt[gt.main_text.notna() & gt.kind.isin(sc.PAGE_KINDS)]
    rows = [
        {
            "id": r.record_id,
            "url": r.url,
            "domain": r.url.split("/")[2],
            "title": r.title,
            "text": r.main_text,
            "crawl_date": "2024-01-01",
            "encoding": "utf-8",
            "lang": None,
            "lang_score": None,
            "shard": 0,
        }
        for r in gt.itertuples()
    ]
    docs = out / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=DOC_SCHEMA), docs)
    filter_shard(
        docs,
        0,
        out / "kept.parquet",
        out / "removed.parquet",
        FiltersConfig.with_defaults(),
        encoding=EncodingConfig.with_defaults(),
        harmful=HarmfulConfig.with_defaults(),
    )
    removed = pd.read_parquet(Path(out / "removed.parquet"))
    return gt, removed


def test_farm_pages_are_removed_with_their_reasons(filtered):
    gt, removed = filtered
    why = dict(zip(removed.id, removed.reason, strict=True))
    expected = {
        "farm_stitched": "farm:stitched",
        "farm_bracketed": "farm:bracketed",
        "farm_mojibake": "encoding:mojibake_fragments",
    }
    for kind, reason in expected.items():
        ids = gt.record_id[gt.kind == kind]
        assert len(ids) >= 8, kind
        got = Counter(why.get(i) for i in ids)
        assert got[reason] >= 0.9 * len(ids), (kind, got)


def test_no_ordinary_page_is_taken_for_a_farm(filtered):
    gt, removed = filtered
    farm = set(removed.id[removed.reason.str.startswith("farm:")]) | set(
        removed.id[removed.reason == "encoding:mojibake_fragments"]
    )
    others = gt[~gt.kind.isin(["farm_stitched", "farm_bracketed", "farm_mojibake"])]
    hit = others[others.record_id.isin(farm)]
    assert hit.empty, hit[["kind", "url"]]
    kept_kinds = ("en_article", "zh_article", "stem_qa", "parallel", *sc.LEAK_KINDS)
    assert others.kind.isin(kept_kinds).sum() > 900


def test_leak_pages_and_negatives_pass_every_filter(filtered):
    """Pages planted for decontamination must reach it: no filter removes them."""
    gt, removed = filtered
    pages = gt[gt.kind.isin([*sc.LEAK_KINDS, *sc.LEAK_NEGATIVE_KINDS])]
    assert len(pages) >= 30
    hit = removed[removed.id.isin(pages.record_id)]
    assert hit.empty, hit[["url", "step", "reason"]]
