"""Benchmark decontamination (skyforge.data.decontam): n-gram and cross-lingual matching.

The items and their translations are written by hand here, in the styles of GSM8K, MMLU and
C-Eval (word problems with numbers, multiple choice with numeric, formula and fact options);
every negative is a near miss the matcher must reject.
"""

from __future__ import annotations

import pytest

from skyforge.data.decontam import (
    BenchmarkItem,
    DecontamConfig,
    Decontaminator,
    Match,
    fingerprint,
    remove_spans,
)
from skyforge.data.decontam_text import anchors, fold_table, normalize, units
from skyforge.data.filters.harmful import fold_traditional, to_traditional

GSM = BenchmarkItem(
    "gsm8k",
    "test/7",
    "en",
    "A bakery sold 145 loaves of bread on Saturday for $3.25 each and 87 loaves on Sunday for "
    "$2.75 each. It spent $96 on flour for the weekend. How much profit did the bakery make "
    "over the weekend?",
    answer="145 * 3.25 + 87 * 2.75 - 96 = 604.5\n#### 604.5",
)
GSM_ZH = (
    "一家面包店周六卖出了145个面包，每个3.25美元；周日卖出了87个面包，每个2.75美元。"
    "这个周末面包店买面粉花了96美元。这个周末面包店赚了多少利润？"
)
CEVAL = BenchmarkItem(
    "ceval",
    "val/high_school_physics/3",
    "zh",
    "一辆汽车以72千米/时的速度匀速行驶，行驶2.5小时后，汽车通过的路程是多少千米？",
    ("180", "150", "28.8", "200"),
    "A",
)
CEVAL_EN = (
    "A car moves at a constant speed of 72 km/h. How many kilometres has it covered after "
    "2.5 hours?\nA. 180\nB. 150\nC. 28.8\nD. 200\nAnswer: A"
)
MMLU = BenchmarkItem(
    "mmlu",
    "high_school_chemistry/12",
    "en",
    "Which of the following is the chemical formula of baking soda?",
    ("Na2CO3", "NaHCO3", "CaCO3", "NaOH"),
    "B",
)
MMLU_ZH = "下列哪一项是小苏打的化学式？\nA. Na2CO3\nB. NaHCO3\nC. CaCO3\nD. NaOH"
SHORT_MC = BenchmarkItem(
    "mmlu", "arithmetic/1", "en", "What is 37 plus 45?", ("82", "72", "83", "81")
)
WEAK = BenchmarkItem(
    "gsm8k", "test/9", "en", "Tom buys 7 boxes of pencils. Each box holds 12 pencils. How many?"
)
ITEMS = [GSM, CEVAL, MMLU, SHORT_MC, WEAK]

FILLER_EN = (
    "Our school newsletter collects the best puzzles of the month. Readers sent in many "
    "answers, and the editors thank everyone who took part in the competition this spring.\n"
)
FILLER_ZH = (
    "本报讯：学校数学兴趣小组本周继续开展活动，同学们积极参加，老师对大家的表现给予了肯定。\n"
)


@pytest.fixture(scope="module")
def dec() -> Decontaminator:
    return Decontaminator(ITEMS)


def found(matches: list[Match]) -> set[tuple[str, str, str]]:
    return {(m.benchmark, m.item_id, m.method) for m in matches}


# -- same language ----------------------------------------------------------------------------


def test_verbatim_item_inside_a_long_page_is_found_with_its_span(dec):
    page = FILLER_EN * 5 + "Puzzle 3: " + GSM.question + "\n" + FILLER_EN * 5
    matches = dec.match(page)
    assert found(matches) == {("gsm8k", "test/7", "ngram")}
    (m,) = matches
    assert page[m.start : m.end].startswith("A bakery sold 145")
    assert page[m.start : m.end].endswith("over the weekend?")
    assert m.score == 1.0
    cleaned = remove_spans(page, matches)
    assert "bakery" not in cleaned and cleaned.count("newsletter") == 10


def test_lightly_edited_copy_is_found(dec):
    edited = (
        GSM.question.replace("A bakery", "The corner bakery")
        .replace("loaves of bread", "loaves")
        .replace("How much profit", "What profit")
    )
    matches = dec.match(FILLER_EN + edited)
    assert ("gsm8k", "test/7", "ngram") in found(matches)
    assert 0.5 <= next(m.score for m in matches if m.method == "ngram") < 1.0


def test_traditional_script_and_full_width_copy_is_found(dec):
    text = CEVAL.probe_text
    trad = to_traditional(text).replace("辆", "輛").replace("时", "時").replace("驶", "駛")
    trad = trad.replace("2.5", "２.５").replace("72", "７２")
    assert trad != text
    matches = dec.match(FILLER_ZH + trad)
    assert ("ceval", "val/high_school_physics/3", "ngram") in found(matches)
    (m,) = [m for m in matches if m.benchmark == "ceval"]
    assert trad[m.start - len(FILLER_ZH) :].startswith("一輛汽車")


def test_digit_groups_are_one_number_and_spans_map_back():
    item = BenchmarkItem(
        "gsm8k",
        "g",
        "en",
        "A farm harvested 12,500 kilograms of rice and sold 3 400 kilograms of it to a "
        "supermarket in the city. How many kilograms of rice were left on the farm?",
    )
    d = Decontaminator([item])
    copy = item.question.replace("12,500", "12500").replace("3 400", "3,400")
    page = "Intro 1,000 words.\n" + copy
    (m,) = d.match(page)
    assert page[m.start : m.end] == copy


def test_short_multiple_choice_item_is_matched_with_its_options_only(dec):
    assert dec.stats.options_only >= 1
    # the question alone is no evidence: a page of sums that asks it is not a copy
    assert not dec.match("Quiz: What is 37 plus 45? Write your answer below.")
    with_options = "Quiz: What is 37 plus 45?\n(A) 82 (B) 72 (C) 83 (D) 81"
    assert ("mmlu", "arithmetic/1", "ngram") in found(dec.match(with_options))


def test_short_probes_exact_or_skipped_are_counted():
    short = BenchmarkItem("gsm8k", "s", "en", "Add 2 and 3 quickly now.")  # 6 units
    tiny = BenchmarkItem("gsm8k", "t", "en", "Add 2 and 3.")  # 4 units
    d = Decontaminator([short, tiny])
    assert (d.stats.exact_items, d.stats.skipped_items) == (1, 1)
    assert d.stats.skipped == (("gsm8k", "t"),)
    assert found(d.match("Please: add 2 and 3 quickly now!")) == {("gsm8k", "s", "ngram")}
    assert not d.match("Please add 2 and 4 quickly now.")
    skip = Decontaminator([short, tiny], DecontamConfig(short_items="skip"))
    assert (skip.stats.exact_items, skip.stats.skipped_items) == (0, 2)
    assert not skip.match("add 2 and 3 quickly now")


def test_boilerplate_ngrams_shared_by_many_items_are_not_indexed():
    stem = "Which of the following statements about the economy of the country is true"
    items = [BenchmarkItem("mmlu", str(i), "en", f"{stem} in year {1900 + i}?") for i in range(6)]
    d = Decontaminator(items, DecontamConfig(max_ngram_items=3))
    assert d.stats.boilerplate_ngrams > 0
    assert not d.match(f"{stem}, asked the teacher.")
    assert found(d.match(f"{stem} in year 1903?")) == {("mmlu", "3", "ngram")}


# -- cross-lingual --------------------------------------------------------------------------


def test_english_word_problem_translated_into_chinese_is_found(dec):
    page = FILLER_ZH * 3 + GSM_ZH + "\n" + FILLER_ZH * 3
    matches = dec.match(page)
    assert found(matches) == {("gsm8k", "test/7", "crosslingual")}
    (m,) = matches
    assert page[m.start : m.end].startswith("一家面包店")
    assert page[m.start : m.end].endswith("利润？")
    assert m.score >= 0.7


def test_chinese_multiple_choice_item_translated_into_english_is_found(dec):
    matches = dec.match(FILLER_EN + CEVAL_EN + "\n" + FILLER_EN)
    assert found(matches) == {("ceval", "val/high_school_physics/3", "crosslingual")}


def test_science_fact_item_translated_into_chinese_is_found(dec):
    matches = dec.match(FILLER_ZH + MMLU_ZH)
    assert found(matches) == {("mmlu", "high_school_chemistry/12", "crosslingual")}
    (m,) = matches
    assert (FILLER_ZH + MMLU_ZH)[m.start : m.end].startswith("下列哪一项是小苏打")


def test_chinese_numerals_in_a_translation_count_as_numbers():
    item = BenchmarkItem(
        "gsm8k",
        "n",
        "en",
        "A school has 15 classes with 42 students each, and 236 of the students walk to "
        "school. How many students do not walk?",
    )
    d = Decontaminator([item])
    zh = "一所学校有十五个班，每班四十二名学生，其中两百三十六名学生步行上学。有多少学生不步行？"
    assert found(d.match(zh)) == {("gsm8k", "n", "crosslingual")}


def test_weak_fingerprint_is_counted_and_not_matched(dec):
    assert not fingerprint(WEAK).eligible
    assert ("gsm8k", "test/9") in dec.stats.weak
    assert not dec.is_fingerprinted("gsm8k", "test/9")
    assert dec.is_fingerprinted("gsm8k", "test/7")
    assert not dec.match("汤姆买了7盒铅笔，每盒有12支。一共有多少支？")


# -- hard negatives -------------------------------------------------------------------------


def test_same_template_with_other_numbers_is_not_a_match(dec):
    other = (
        GSM.question.replace("145", "152")
        .replace("3.25", "3.50")
        .replace("87", "64")
        .replace("2.75", "2.40")
        .replace("$96", "$81")
    )
    assert not dec.match(other)
    other_zh = (
        GSM_ZH.replace("145", "152")
        .replace("3.25", "3.5")
        .replace("87", "64")
        .replace("2.75", "2.4")
        .replace("96", "81")
    )
    assert not dec.match(other_zh)
    assert not dec.match("What is 38 plus 44?\nA. 82\nB. 70\nC. 84\nD. 80")


def test_same_topic_without_the_item_is_not_a_match(dec):
    page = (
        "小苏打（NaHCO3）受热分解生成碳酸钠（Na2CO3）、水和二氧化碳。烧碱NaOH是强碱，"
        "石灰石的主要成分是CaCO3。汽车在高速公路上的限速一般为120千米/时。\n"
        "Baking soda, NaHCO3, is used in cooking; washing soda is Na2CO3 and chalk is CaCO3."
    )
    assert not dec.match(page)


def test_page_of_other_word_problems_is_not_a_match(dec):
    page = "\n".join(
        [
            "1. A bakery sold 120 muffins on Saturday for $2.25 each. How much money did it make?",
            "2. Lena reads 45 pages a day. How many pages does she read in 14 days?",
            "3. A bus carries 58 people and 23 get off at the first stop. How many remain?",
            "4. A shop sells 87 apples for $0.75 each and 96 pears. How much for the apples?",
            "5. A car drives at 72 km/h for 3 hours and then 150 km more. How far in total?",
            "6. 一家面包店周日卖出了145个蛋糕，每个9.5美元，一共卖了多少钱？",
        ]
    )
    assert not dec.match(page)


def test_a_table_of_numbers_is_not_a_match(dec):
    rows = "\n".join(f"{a} | {b} | {c}" for a, b, c in [(145, 3.25, 87), (2.75, 96, 604.5)])
    assert not dec.match(rows)


# -- API, normalisation, bad input -----------------------------------------------------------


def test_bad_input_names_benchmark_and_item():
    with pytest.raises(ValueError, match="no benchmark items"):
        Decontaminator([])
    with pytest.raises(ValueError, match=r"benchmark 'ceval' item 'val/x/1': empty question"):
        Decontaminator([GSM, BenchmarkItem("ceval", "val/x/1", "zh", "  ")])
    with pytest.raises(ValueError, match=r"benchmark 'gsm8k' item 'test/7': repeated id"):
        Decontaminator([GSM, GSM])
    with pytest.raises(ValueError, match="min_overlap"):
        DecontamConfig(min_overlap=0)
    with pytest.raises(ValueError, match="short_items"):
        DecontamConfig(short_items="drop")  # type: ignore[arg-type]


def test_stats_account_for_every_item(dec):
    s = dec.stats
    assert s.items == len(ITEMS)
    assert s.ngram_items + s.exact_items + s.skipped_items == s.items
    assert s.fingerprinted + s.weak_fingerprints == s.items
    assert sum(c["items"] for c in s.per_benchmark.values()) == s.items
    assert any("gsm8k: 2 items" in line for line in s.lines())


def test_crosslingual_can_be_switched_off():
    d = Decontaminator(ITEMS, DecontamConfig(crosslingual=False))
    assert d.stats.fingerprinted == 0 and not d.match(GSM_ZH)


def test_units_and_anchors():
    n = normalize("Ｔｈｅ 體積 is 1,000 m³; A. 3.5 (B) x")
    assert units(n.lower) == ["the", "体", "积", "is", "1000", "m3", "3.5", "x"]
    tokens = [a.token for a in anchors(normalize("十五 两百 三点五 三分之一 百分之十五 3万").text)]
    assert tokens == ["15", "200", "3.5", "1/3", "15", "30000"]
    tokens = [a.token for a in anchors(normalize("twenty-five, a dozen, 3 thousand, H2O").text)]
    assert tokens == ["25", "12", "3000", "h2o"]
    assert [a.token for a in anchors(normalize("On March 8, 2017 Mia met Tom").text)] == [
        "2017-3-8",
        "mia",
        "tom",
    ]
    assert [a.token for a in anchors(normalize("2017年3月8日，一些人和Mia").text)] == [
        "2017-3-8",
        "mia",
    ]


def test_fold_table_covers_the_harmful_rules_traditional_characters():
    table = fold_table()
    for cp in range(0x4E00, 0xA000):
        c = chr(cp)
        if fold_traditional(c) != c:
            assert table.get(cp) == fold_traditional(c), c


def test_remove_spans_keeps_words_apart():
    text = "alpha BETA gamma\ndelta"
    ms = [Match("b", "1", "ngram", 6, 10, 1.0), Match("b", "2", "ngram", 8, 17, 1.0)]
    assert remove_spans(text, ms) == "alpha delta"
    assert remove_spans("abcXYZdef", [Match("b", "1", "ngram", 3, 6, 1.0)]) == "abc def"
    assert remove_spans("abc", []) == "abc"


def test_same_template_sharing_one_number_is_not_a_match():
    item = BenchmarkItem(
        "gsm8k",
        "s",
        "en",
        "Ravi has 33 stickers and shares them equally among 3 friends. How many stickers does "
        "each friend get?",
    )
    d = Decontaminator([item])
    assert found(d.match(item.question)) == {("gsm8k", "s", "ngram")}
    assert not d.match(item.question.replace("Ravi has 33", "Mia has 36"))


def test_word_problem_with_its_solution_is_fingerprinted_by_both():
    solved = BenchmarkItem(
        "gsm8k",
        "p",
        "en",
        "Sara has 47 apples. Sara buys 26 more apples and then gives 8 apples to a friend. How "
        "many apples does Sara have now?",
        answer="After buying, Sara has 47 + 26 = <<47+26=73>>73 apples.\n"
        "After giving some away, Sara has 73 - 8 = <<73-8=65>>65 apples.\n#### 65",
    )
    # three values of its own (and a name): the question alone is a fingerprint; the solution
    # adds two values more
    assert fingerprint(solved).eligible
    assert fingerprint(solved, with_answer=True).core_bits > fingerprint(solved).core_bits
    d = Decontaminator([solved])
    assert d.is_fingerprinted("gsm8k", "p")
    page = (
        "萨拉有47个苹果。她又买了26个苹果，然后送给朋友8个苹果。萨拉现在有多少个苹果？\n"
        "解：买完后萨拉有 47 + 26 = 73 个苹果。\n送出一些后，萨拉有 73 - 8 = 65 个苹果。\n#### 65"
    )
    assert found(d.match(FILLER_ZH + page)) == {("gsm8k", "p", "crosslingual")}
    # the translated question alone keeps three values (16.5 bits) but not the name: too weak
    assert not d.match(FILLER_ZH + page.split("\n")[0])
    # the same template with other numbers is another problem
    other = page.replace("47", "52").replace("73", "78").replace("65", "70")
    assert not d.match(FILLER_ZH + other)


def test_a_value_said_again_adds_no_strength():
    """Two small numbers and their product are any multiplication drill: the solution repeats
    them ("6 * 10 = 60 ... #### 60") but adds no value of its own, so the item stays weak
    (counted in the stats) and a physics exercise with the same numbers is not a match."""
    drill = BenchmarkItem(
        "gsm8k",
        "d",
        "en",
        "A box holds 6 pencils. Sara buys 10 boxes. How many pencils does Sara buy?",
        answer="Sara buys 6 * 10 = <<6*10=60>>60 pencils.\n#### 60",
    )
    assert not fingerprint(drill, with_answer=True).eligible
    d = Decontaminator([drill])
    assert not d.is_fingerprinted("gsm8k", "d") and d.stats.weak_fingerprints == 1
    assert not d.match(FILLER_ZH + "一个6 Ω的电阻通过10 A的电流，电压是 6 × 10 = 60 V。答：60 V")


def test_options_under_another_question_are_not_the_item(dec):
    # the same four option values (82, 72, 83, 81) after a question with other numbers
    assert not dec.match("38 加 44 等于多少？\nA. 82\nB. 72\nC. 83\nD. 81")
    assert found(dec.match("37 加 45 等于多少？\nA. 82\nB. 72\nC. 83\nD. 81")) == {
        ("mmlu", "arithmetic/1", "crosslingual")
    }
