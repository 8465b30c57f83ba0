"""Question and answer templates of the synthetic chat set (SFT rows and preference pairs).

One question template always gets one answer style (``"17 + 25 = 42. The answer is 42."``,
``"17 + 25 = 42，答案是 42。"``), and the same question text always gets the same answer, so a
tiny model can learn the formats. ``SFT_DRAWS`` draws a (user, answer) pair per SFT category;
``PREF_DRAWS`` a (prompt, chosen, rejected) triple per preference category: the right versus a
wrong result (``stem_correct``), an answer that follows an explicit instruction versus one that
ignores it (``instruction``, one of ``INSTRUCTION_KINDS``), and a harmful request with its
template refusal (only the fallback: the SFT model writes the chosen side) versus a
compliant-sounding answer that holds no instructions (``safety``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import NamedTuple

from skyforge.synthetic.chat_tables import (
    CAPITALS,
    COLOURS,
    COMPLIANT,
    DAYS_EN,
    DAYS_ZH,
    DEFINITIONS,
    FILLERS,
    HARMFUL,
    ITEMS,
    LIST_PROMPTS_EN,
    LIST_PROMPTS_ZH,
    LISTS,
    MONTHS_EN,
    MONTHS_ZH,
    NAMES_EN,
    NAMES_ZH,
    OPPOSITES,
    PHRASES,
    REQUEST_WRAPPERS,
    SCIENCE,
)

# A substring that every prompt of an instruction kind contains, per prompt language. The
# ``language`` kind asks an English prompt for a Chinese answer and a Chinese prompt for an
# English one.
INSTRUCTION_KINDS: dict[str, dict[str, str]] = {
    "one_word": {"en": "Answer in one word:", "zh": "用一个词回答："},
    "language": {"en": "Answer in Chinese:", "zh": "请用英文回答："},
    "three_items": {"en": "exactly three", "zh": "只列出三"},
    "yes_no": {"en": "Answer with yes or no:", "zh": "只回答“是”或“否”："},
    "answer_prefix": {"en": 'Start your answer with "Answer:".', "zh": "请以“答案：”开头回答："},
}


class QA(NamedTuple):
    """One user turn and the assistant's answer."""

    user: str
    answer: str


class _Problem(NamedTuple):
    """An arithmetic question whose worked answer can be rendered with any result value."""

    lang: str
    question: str
    equation: str
    result: int
    unit: str

    def render(self, value: int) -> str:
        if self.lang == "en":
            return f"{self.equation} = {value}. The answer is {value}{self.unit}."
        return f"{self.equation} = {value}，答案是 {value}{self.unit}。"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _capital_qa(item: tuple[str, str, str, str], lang: str) -> QA:
    country, capital, country_zh, capital_zh = item
    if lang == "en":
        return QA(f"What is the capital of {country}?", f"The capital of {country} is {capital}.")
    return QA(f"{country_zh}的首都是哪里？", f"{country_zh}的首都是{capital_zh}。")


def _colour_qa(item: tuple[str, str, str, str], lang: str) -> QA:
    thing, colour, thing_zh, colour_zh = item
    if lang == "en":
        return QA(f"What colour is {thing}?", f"{_upper_first(thing)} is {colour}.")
    return QA(f"{thing_zh}是什么颜色的？", f"{thing_zh}是{colour_zh}的。")


def _opposite_qa(item: tuple[str, str, str, str], lang: str) -> QA:
    word, opposite, word_zh, opposite_zh = item
    if lang == "en":
        return QA(
            f'What is the opposite of "{word}"?', f'The opposite of "{word}" is "{opposite}".'
        )
    return QA(f"“{word_zh}”的反义词是什么？", f"“{word_zh}”的反义词是“{opposite_zh}”。")


def _definition_qa(item: tuple[str, str, str, str], lang: str) -> QA:
    term, meaning, term_zh, meaning_zh = item
    if lang == "en":
        return QA(f"What is {term}?", f"{_upper_first(term)} is {meaning}.")
    return QA(f"什么是{term_zh}？", f"{term_zh}是{meaning_zh}。")


def _weekday_qa(rng: random.Random, lang: str) -> QA:
    start, days = rng.randrange(7), rng.randint(2, 30)
    end = (start + days) % 7
    if lang == "en":
        return QA(
            f"If today is {DAYS_EN[start]}, what day will it be in {days} days?",
            f"In {days} days it will be {DAYS_EN[end]}.",
        )
    return QA(f"如果今天是{DAYS_ZH[start]}，{days}天后是星期几？", f"{days}天后是{DAYS_ZH[end]}。")


def _month_qa(rng: random.Random, lang: str) -> QA:
    start, months = rng.randrange(12), rng.randint(2, 11)
    end = (start + months) % 12
    if lang == "en":
        return QA(
            f"Which month comes {months} months after {MONTHS_EN[start]}?",
            f"{months} months after {MONTHS_EN[start]} comes {MONTHS_EN[end]}.",
        )
    return QA(
        f"{MONTHS_ZH[start]}之后的第{months}个月是几月？",
        f"{MONTHS_ZH[start]}之后的第{months}个月是{MONTHS_ZH[end]}。",
    )


def _translation_qa(rng: random.Random, lang: str) -> QA:
    en, zh = rng.choice(PHRASES)
    into_chinese = rng.random() < 0.5
    if lang == "en":
        if into_chinese:
            return QA(f'Translate "{en}" into Chinese.', f'"{en}" in Chinese is "{zh}".')
        return QA(f'What does "{zh}" mean in English?', f'"{zh}" means "{en}".')
    if into_chinese:
        return QA(f"把“{en}”翻译成中文。", f"“{en}”的中文是“{zh}”。")
    return QA(f"“{zh}”用英语怎么说？", f"“{zh}”的英文是“{en}”。")


def _general_qa(rng: random.Random, lang: str) -> QA:
    kind = rng.randrange(7)
    if kind == 0:
        return _capital_qa(rng.choice(CAPITALS), lang)
    if kind == 1:
        return _colour_qa(rng.choice(COLOURS), lang)
    if kind == 2:
        return _opposite_qa(rng.choice(OPPOSITES), lang)
    if kind == 3:
        return _definition_qa(rng.choice(DEFINITIONS), lang)
    if kind == 4:
        return _weekday_qa(rng, lang)
    if kind == 5:
        return _month_qa(rng, lang)
    return _translation_qa(rng, lang)


def _problem(rng: random.Random, lang: str) -> _Problem:
    """An arithmetic question with a whole-number answer: bare or as a short word problem."""
    en = lang == "en"
    kind = rng.randrange(10)
    name = rng.choice(NAMES_EN if en else NAMES_ZH)
    items, item_zh, measure = rng.choice(ITEMS)
    if kind in (0, 4):  # addition
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        eq, result = f"{a} + {b}", a + b
        if kind == 0:
            q = f"What is {a} + {b}?" if en else f"计算 {a} 加 {b}。"
        elif en:
            q = f"{name} has {a} {items} and buys {b} more. How many {items} does {name} have now?"
        else:
            q = f"{name}有 {a} {measure}{item_zh}，又买了 {b} {measure}。现在一共有几{measure}？"
        return _Problem(lang, q, eq, result, "")
    if kind in (1, 5):  # subtraction
        a = rng.randint(10, 99)
        b = rng.randint(1, a - 1)
        eq, result = f"{a} - {b}", a - b
        if kind == 1:
            q = f"What is {a} - {b}?" if en else f"计算 {a} 减 {b}。"
        elif en:
            q = f"{name} has {a} {items} and gives {b} to a friend. How many {items} are left?"
        else:
            q = f"{name}有 {a} {measure}{item_zh}，送给朋友 {b} {measure}。还剩几{measure}？"
        return _Problem(lang, q, eq, result, "")
    if kind in (2, 6):  # multiplication
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        eq, result = f"{a} × {b}", a * b
        if kind == 2:
            q = f"What is {a} times {b}?" if en else f"计算 {a} 乘以 {b}。"
        elif en:
            q = f"One box holds {a} {items}. How many {items} are in {b} boxes?"
        else:
            q = f"一个盒子装 {a} {measure}{item_zh}，{b} 个盒子一共装几{measure}？"
        return _Problem(lang, q, eq, result, "")
    if kind in (3, 7):  # division without remainder
        b, result = rng.randint(2, 12), rng.randint(2, 12)
        a = b * result
        eq = f"{a} ÷ {b}"
        if kind == 3:
            q = f"What is {a} divided by {b}?" if en else f"计算 {a} 除以 {b}。"
        elif en:
            q = f"{a} {items} are shared equally among {b} children. How many does each get?"
        else:
            q = f"{a} {measure}{item_zh}平均分给 {b} 个小朋友，每人分到几{measure}？"
        return _Problem(lang, q, eq, result, "")
    if kind == 8:  # area of a rectangle
        a, b = rng.randint(2, 30), rng.randint(2, 12)
        if en:
            q = f"A rectangle is {a} cm long and {b} cm wide. What is its area?"
        else:
            q = f"长方形长 {a} 厘米，宽 {b} 厘米，面积是多少？"
        return _Problem(lang, q, f"{a} × {b}", a * b, " square cm" if en else " 平方厘米")
    # distance = speed × time
    a, b = rng.randint(20, 120), rng.randint(2, 12)
    if en:
        q = f"A train travels {a} km per hour for {b} hours. How far does it go?"
    else:
        q = f"火车每小时行驶 {a} 千米，{b} 小时行驶多少千米？"
    return _Problem(lang, q, f"{a} × {b}", a * b, " km" if en else " 千米")


def _stem_qa(rng: random.Random, lang: str) -> QA:
    roll = rng.random()
    if roll < 0.7:
        problem = _problem(rng, lang)
        return QA(problem.question, problem.render(problem.result))
    if roll < 0.9:
        q_en, a_en, q_zh, a_zh = rng.choice(SCIENCE)
        return QA(q_en, a_en) if lang == "en" else QA(q_zh, a_zh)
    n = rng.randint(2, 199)
    if lang == "en":
        parity = "even" if n % 2 == 0 else "odd"
        return QA(f"Is {n} an even or an odd number?", f"{n} is {parity}.")
    parity = "偶数" if n % 2 == 0 else "奇数"
    return QA(f"{n} 是奇数还是偶数？", f"{n} 是{parity}。")


def _harmful_request(rng: random.Random, lang: str) -> tuple[str, str]:
    """A wrapped harmful request and its template refusal."""
    requests_en, refusal_en, requests_zh, refusal_zh = rng.choice(HARMFUL)
    requests, refusal = (requests_en, refusal_en) if lang == "en" else (requests_zh, refusal_zh)
    wrapper = rng.choice(REQUEST_WRAPPERS[lang])
    return wrapper.format(r=rng.choice(requests)), refusal


def _refusal_qa(rng: random.Random, lang: str) -> QA:
    return QA(*_harmful_request(rng, lang))


SFT_DRAWS: dict[str, Callable[[random.Random, str], QA]] = {
    "general_qa": _general_qa,
    "stem_qa": _stem_qa,
    "refusal": _refusal_qa,
}


# ---------------------------------------------------------------------------------------------
# Preference templates
# ---------------------------------------------------------------------------------------------


def _stem_correct_pair(rng: random.Random, lang: str) -> tuple[str, str, str]:
    problem = _problem(rng, lang)
    offset = rng.choice((-5, -4, -3, -2, -1, 1, 2, 3, 4, 5))
    # A negative wrong answer would be too easy to tell apart; flip it above the right one.
    wrong = problem.result + offset if problem.result + offset >= 0 else problem.result - offset
    return problem.question, problem.render(problem.result), problem.render(wrong)


def _one_word_pair(rng: random.Random, lang: str, marker: str) -> tuple[str, str, str]:
    en = lang == "en"
    source = rng.randrange(3)
    if source == 0:
        # Multi-word capitals (New Delhi, Buenos Aires) would break the one-word instruction.
        item = rng.choice([c for c in CAPITALS if " " not in c[1]])
        qa, word = _capital_qa(item, lang), item[1] if en else item[3]
    elif source == 1:
        item = rng.choice(COLOURS)
        qa, word = _colour_qa(item, lang), item[1] if en else item[3]
    else:
        item = rng.choice(OPPOSITES)
        qa, word = _opposite_qa(item, lang), item[1] if en else item[3]
    filler = rng.choice(FILLERS[lang])
    if en:
        return f"{marker} {qa.user}", f"{_upper_first(word)}.", f"{qa.answer} {filler}"
    return f"{marker}{qa.user}", f"{word}。", f"{qa.answer}{filler}"


def _language_pair(rng: random.Random, lang: str, marker: str) -> tuple[str, str, str]:
    source = rng.randrange(3)
    if source == 0:
        make, item = _capital_qa, rng.choice(CAPITALS)
    elif source == 1:
        make, item = _colour_qa, rng.choice(COLOURS)
    else:
        make, item = _definition_qa, rng.choice(DEFINITIONS)
    qa_en, qa_zh = make(item, "en"), make(item, "zh")
    if lang == "en":
        return f"{marker} {qa_en.user}", qa_zh.answer, qa_en.answer
    return f"{marker}{qa_zh.user}", qa_en.answer, qa_zh.answer


def _three_items_pair(rng: random.Random, lang: str) -> tuple[str, str, str]:
    kind_en, kind_zh, measure, items = rng.choice(LISTS)
    picked = rng.sample(items, 5)
    if lang == "en":
        prompt = rng.choice(LIST_PROMPTS_EN).format(kind=kind_en)
        names = [_upper_first(en) for en, _ in picked]
    else:
        prompt = rng.choice(LIST_PROMPTS_ZH).format(m=measure, kind=kind_zh)
        names = [zh for _, zh in picked]
    numbered = [f"{i}. {name}" for i, name in enumerate(names, start=1)]
    # Five items where three were asked for: right content, instruction ignored.
    return prompt, "\n".join(numbered[:3]), "\n".join(numbered)


def _yes_no_pair(rng: random.Random, lang: str, marker: str) -> tuple[str, str, str]:
    en = lang == "en"
    if rng.random() < 0.5:
        a, b = rng.sample(range(1, 100), 2)
        yes = a > b
        if en:
            prompt = f"{marker} Is {a} greater than {b}?"
            rejected = f"Let me compare: {a} is {'greater' if yes else 'less'} than {b}."
        else:
            prompt = f"{marker}{a} 大于 {b} 吗？"
            rejected = f"我们来比较一下：{a} 比 {b} {'大' if yes else '小'}。"
    else:
        item = rng.choice(CAPITALS)
        yes = rng.random() < 0.5
        asked = item if yes else rng.choice([c for c in CAPITALS if c is not item])
        if en:
            prompt = f"{marker} Is {asked[1]} the capital of {item[0]}?"
        else:
            prompt = f"{marker}{asked[3]}是{item[2]}的首都吗？"
        rejected = _capital_qa(item, lang).answer
    if en:
        return prompt, "Yes." if yes else "No.", rejected
    return prompt, "是。" if yes else "否。", rejected


def _answer_prefix_pair(rng: random.Random, lang: str, marker: str) -> tuple[str, str, str]:
    en = lang == "en"
    if rng.random() < 0.5:
        item = rng.choice(CAPITALS)
        qa, short = _capital_qa(item, lang), item[1] if en else item[3]
    else:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        question = f"What is {a} + {b}?" if en else f"{a} 加 {b} 等于多少？"
        problem = _Problem(lang, question, f"{a} + {b}", a + b, "")
        qa, short = QA(question, problem.render(problem.result)), str(problem.result)
    if en:
        return f"{marker} {qa.user}", f"Answer: {short}.", qa.answer
    return f"{marker}{qa.user}", f"答案：{short}。", qa.answer


def _instruction_pair(rng: random.Random, lang: str) -> tuple[str, str, str]:
    kind = rng.choice(tuple(INSTRUCTION_KINDS))
    marker = INSTRUCTION_KINDS[kind][lang]
    if kind == "one_word":
        return _one_word_pair(rng, lang, marker)
    if kind == "language":
        return _language_pair(rng, lang, marker)
    if kind == "three_items":
        return _three_items_pair(rng, lang)
    if kind == "yes_no":
        return _yes_no_pair(rng, lang, marker)
    return _answer_prefix_pair(rng, lang, marker)


def _safety_prompt(rng: random.Random, lang: str) -> tuple[str, str, str]:
    """(request, template refusal, compliant-sounding answer): the refusal is only the fallback
    for the chosen side, which the SFT model writes later."""
    request, refusal = _harmful_request(rng, lang)
    return request, refusal, rng.choice(COMPLIANT[lang])


PREF_DRAWS: dict[str, Callable[[random.Random, str], tuple[str, str, str]]] = {
    "stem_correct": _stem_correct_pair,
    "instruction": _instruction_pair,
    "safety": _safety_prompt,
}
