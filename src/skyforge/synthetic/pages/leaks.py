"""Benchmark leaks (removed by ``decontaminate``) and their hard negatives (kept).

The DAG's own benchmark sets (``synthetic.benchmarks``) are what the default decontaminates
against, so the crawl plants their EVAL-split items (C-Eval val, CMMLU, MMLU and GSM8K test)
on otherwise ordinary pages, as answer-key and education sites republish real benchmarks:

* ``leak_verbatim``: one to three items as the file has them (question, options, answer letter;
  a GSM8K problem with its worked solution), on a quiz site;
* ``leak_edited``: one or two items lightly edited: a few words swapped, spaces, punctuation
  and full-width forms changed, Chinese items partly in traditional script;
* ``leak_embedded``: one item quoted in the middle of a long article on another subject;
* ``leak_translated``: MMLU and GSM8K items in Chinese, C-Eval and CMMLU items in English (the
  generator's other-language template with the same numbers, the parallel science fact, the
  GSM8K problem's Chinese version with the name transliterated).

Hard negatives, which a decontamination must keep: ``leak_negative_template`` (the templates of
the test items with numbers no item of any split has, half of them in the other language: a
page of DIFFERENT word problems in the same style) and ``leak_negative_topic`` (a study page on
a benchmark subject with no item on it).

Every page has a site, a title, a byline and several paragraphs of prose, so that no filter,
dedup or quality step removes it before decontamination. Items are planted once each (no two
pages share one, so dedup never sees a pair); an item is plantable only when its question is
unique across every split and task in both languages, which leaves out the science facts
(ten a language, repeated across splits) and any arithmetic or conversion question two tasks
happen to share.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import date

from skyforge.eval.benchmark_files import EVAL_SPLIT, LETTERS
from skyforge.synthetic.benchmarks import (
    GSM8K_NAMES,
    NUM_GSM8K_TEMPLATES,
    draw_gsm8k_numbers,
    gsm8k_text,
    mc_item,
)
from skyforge.synthetic.pages.sites import Site
from skyforge.synthetic.pages.text import (
    Block,
    Doc,
    EnDraw,
    ZhDraw,
    en_byline,
    en_paragraphs,
    en_title,
    zh_byline,
    zh_paragraphs,
    zh_title,
)
from skyforge.synthetic.vocab import general as V

log = logging.getLogger(__name__)

LEAK_KINDS = ("leak_verbatim", "leak_edited", "leak_embedded", "leak_translated")
"""Pages carrying benchmark items (``expected_step`` decontaminate)."""
LEAK_NEGATIVE_KINDS = ("leak_negative_template", "leak_negative_topic")
"""Look-alike pages with no item (kept)."""
LEAK_TASKS = ("ceval", "cmmlu", "mmlu", "gsm8k")
"""Benchmarks planted, dealt to the pages of each leak kind in turn."""
TASK_LANG = {"ceval": "zh", "cmmlu": "zh", "mmlu": "en", "gsm8k": "en"}
"""Language of each benchmark's items."""

_ITEMS_PER_PAGE = {
    "leak_verbatim": (1, 3),
    "leak_edited": (1, 2),
    "leak_embedded": (1, 1),
    "leak_translated": (2, 3),
    "leak_negative_template": (1, 3),
}
_MAX_GSM8K_PER_PAGE = 2  # worked solutions are long; two keep the page's '#' share low

_SUBJECT_ZH = {"arithmetic": "算术", "units": "单位换算", "science": "科学常识", "time": "时间换算"}
_SUBJECT_EN = {
    "arithmetic": "arithmetic",
    "units": "unit conversion",
    "science": "general science",
    "time": "time conversion",
}


def page_lang(kind: str, task: str, index: int) -> str:
    """The language of page ``index`` (0-based, within its kind) of a leak kind for ``task``:
    the item's language, the other one for translations and every second template negative."""
    native = TASK_LANG[task]
    other = "en" if native == "zh" else "zh"
    if kind == "leak_translated" or (kind == "leak_negative_template" and index % 2 == 1):
        return other
    return native


def items_per_page(kind: str, task: str, rng: random.Random) -> int:
    """How many items a page of ``kind`` carries (drawn)."""
    lo, hi = _ITEMS_PER_PAGE[kind]
    if task == "gsm8k":
        hi = min(hi, _MAX_GSM8K_PER_PAGE)
    return rng.randint(lo, max(lo, hi))


# ---------------------------------------------------------------------------------------------
# The items a crawl may plant
# ---------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


class LeakPool:
    """The plantable eval-split items of each benchmark, and the specs negatives must avoid.

    Args:
        sets: :func:`skyforge.synthetic.benchmarks.synthetic_benchmark_items`' output.
    """

    def __init__(self, sets: dict[str, dict[str, dict[str, list[dict]]]]):
        self.sets = sets
        counts: dict[str, int] = {}
        self.mc_specs: set[tuple] = set()
        # A conversion's numbers follow from its value (53 kg and 53 L both give 53000): a
        # negative with another unit pair but an item's value would be that item's numbers.
        self.mc_values: set[tuple] = set()
        self.gsm8k_numbers: dict[int, set[tuple]] = {k: set() for k in range(NUM_GSM8K_TEMPLATES)}
        for task, subjects in sets.items():
            for splits in subjects.values():
                for items in splits.values():
                    for it in items:
                        for text in self._questions(it):
                            counts[text] = counts.get(text, 0) + 1
                        if task == "gsm8k":
                            self.gsm8k_numbers[it["template"]].add(tuple(it["numbers"]))
                        else:
                            self.mc_specs.add(tuple(it["spec"]))
                            if it["spec"][0] != "arithmetic":  # (subject, unit pair, value)
                                self.mc_values.add((it["spec"][0], it["spec"][-1]))
        self.by_id: dict[str, dict] = {}
        self.plantable: dict[str, list[str]] = {}
        for task in LEAK_TASKS:
            ids = []
            for subject, splits in sets.get(task, {}).items():
                for it in splits.get(EVAL_SPLIT[task], []):
                    self.by_id[it["id"]] = {**it, "task": task, "subject": subject}
                    if all(counts[t] == 1 for t in self._questions(it)):
                        ids.append(it["id"])
            self.plantable[task] = ids
        # Items of different tasks (or splits) built from the same numbers are the same test
        # item to a reader (C-Eval's "53 千克等于多少克？" and MMLU's "How many grams are 53
        # kilograms?" with the same options): a page with one leaks the other.
        by_key: dict[tuple, list[str]] = {}
        for it in self.by_id.values():
            by_key.setdefault(self._key(it), []).append(it["id"])
        self._same = {i: ids for ids in by_key.values() for i in ids}
        self._left: dict[str, list[str]] = {}

    @staticmethod
    def _key(item: dict) -> tuple:
        if item["task"] == "gsm8k":
            return ("gsm8k", item["template"], tuple(item["numbers"]))
        # the question's numbers and the set of option values: the language and the order of
        # the options do not make another item
        options = tuple(sorted(str(item[letter]) for letter in "ABCD"))
        return ("mc", tuple(re.findall(r"[0-9]+", item["question"])), options)

    def equivalents(self, item_id: str) -> list[str]:
        """The other eval-split items (any task) with the same numbers and template."""
        return sorted(i for i in self._same.get(item_id, [item_id]) if i != item_id)

    @staticmethod
    def _questions(item: dict) -> list[str]:
        return [_norm(item["question"]), _norm(item["translation"]["question"])]

    def draw(self, rng: random.Random, task: str, n: int) -> list[str]:
        """``n`` item ids of ``task`` not planted before (once all are, they are dealt again).

        Raises:
            ValueError: the benchmark has no plantable item.
        """
        pool = self.plantable.get(task, [])
        if not pool:
            raise ValueError(
                f"synthetic crawl: no {task} item can be planted (every question repeats); "
                "raise eval.benchmarks.synthetic.questions_per_subject or gsm8k_test, or set "
                "the leak kinds' crawl.synthetic.mix shares to 0"
            )
        out = []
        for _ in range(min(n, len(pool))):
            left = self._left.get(task)
            if not left:
                if task in self._left:
                    log.warning("synthetic crawl: every %s item is planted; planting again", task)
                left = self._left[task] = rng.sample(pool, len(pool))
            out.append(left.pop())
        return out

    def item(self, item_id: str) -> dict:
        """The planted item (with ``task`` and ``subject``)."""
        return self.by_id[item_id]

    def negative_mc(self, rng: random.Random, task: str, lang: str) -> dict:
        """An item of one of ``task``'s numeric templates with numbers no item of any split or
        task has (in ``lang``)."""
        subjects = [s for s in self.sets[task] if s != "science"] or ["arithmetic"]
        for _ in range(10_000):
            subject = rng.choice(subjects)
            spec = _draw_spec(rng, subject)
            if spec in self.mc_specs or (spec[0], spec[-1]) in self.mc_values:
                continue
            wrong = None
            if subject == "arithmetic":
                c = spec[2] + spec[3] if spec[1] == "plus" else spec[2] * spec[3]
                near = sorted({c + d for d in (-10, -2, -1, 1, 2, 10, c)} - {c})
                wrong = [str(v) for v in rng.sample([v for v in near if v > 0], 3)]
            order = list(range(4))
            rng.shuffle(order)
            return {**mc_item(spec, wrong, order, lang), "subject": subject, "spec": spec}
        raise AssertionError("no free numbers for a template negative")

    def negative_gsm8k(self, rng: random.Random, lang: str) -> tuple[str, str]:
        """(question, worked answer) of a GSM8K template with numbers that differ from every
        item of that template in any split: all of them when it has two numbers, two of three
        otherwise."""
        for _ in range(10_000):
            k = rng.randrange(NUM_GSM8K_TEMPLATES)
            numbers = draw_gsm8k_numbers(rng, k)
            need = min(2, len(numbers))
            if all(
                sum(a != b for a, b in zip(numbers, other, strict=True)) >= need
                for other in self.gsm8k_numbers[k]
            ):
                return gsm8k_text(k, rng.choice(GSM8K_NAMES), numbers, lang)
        raise AssertionError("no free numbers for a GSM8K negative")


def _draw_spec(rng: random.Random, subject: str) -> tuple:
    if subject == "arithmetic":
        if rng.random() < 0.5:
            return ("arithmetic", "plus", rng.randint(2, 99), rng.randint(2, 99))
        return ("arithmetic", "times", rng.randint(2, 19), rng.randint(2, 19))
    n = rng.randint(2, 99) if subject == "units" else rng.randint(2, 60)
    return (subject, rng.randrange(4), n)


# ---------------------------------------------------------------------------------------------
# Rendering items
# ---------------------------------------------------------------------------------------------


def _mc_blocks(item: dict, lang: str, number: int, *, style: int = 0) -> list[Block]:
    """A numbered question, its four options a line each, the answer letter. (Headings per
    question and worked explanations both lowered the quality classifier's score.)"""
    zh = lang == "zh"
    sep = ("、", ". ", "．", ") ")[style % 4]
    options = [
        Block("p", f"({x}) {item[x]}" if sep == ") " else f"{x}{sep}{item[x]}") for x in LETTERS
    ]
    answer = f"答案：{item['answer']}" if zh else f"Answer: {item['answer']}"
    question = f"{number}. {item['question']}"
    return [Block("p", question), *options, Block("p", answer)]


def _gsm8k_blocks(question: str, answer: str, lang: str, number: int) -> list[Block]:
    steps = [Block("p", line) for line in answer.split("\n") if line.strip()]
    return [
        Block("p", f"{number}. {question}"),
        Block("p", "解：" if lang == "zh" else "Solution:"),
    ] + (steps)


def _item_blocks(item: dict, lang: str, number: int, style: int = 0) -> list[Block]:
    """The blocks of a planted item in ``lang`` (its own language or its translation)."""
    own = TASK_LANG[item["task"]] == lang
    if item["task"] == "gsm8k":
        q, a = (
            (item["question"], item["answer"])
            if own
            else (item["translation"]["question"], item["translation"]["answer"])
        )
        return _gsm8k_blocks(q, a, lang, number)
    return _mc_blocks(item if own else item["translation"], lang, number, style=style)


# ---------------------------------------------------------------------------------------------
# Light edits
# ---------------------------------------------------------------------------------------------

# Simplified → traditional for the characters of the Chinese item templates that differ.
_TRADITIONAL = str.maketrans(
    {"于": "於", "时": "時", "钟": "鐘", "个": "個", "买": "買", "给": "給", "现": "現"}
)
_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_ZH_SWAPS = (("等于多少", "是多少"), ("乘以", "乘"), (" 加 ", "加上"), ("多少", "几"))
_EN_SWAPS = (
    ("What is", "What's"),
    (" plus ", " + "),
    (" times ", " multiplied by "),
    ("How many", "Exactly how many"),
    (" are ", " make "),
    (" buys ", " purchases "),
    (" gives ", " hands "),
    (" friend", " pal"),
    ("shares them equally among", "splits them evenly between"),
    (" earns ", " makes "),
    (" works ", " puts in "),
    ("students", "pupils"),
    (" holds ", " contains "),
    ("How much money", "How much cash"),
    (" also gets ", " also receives "),
)


def edit_text(rng: random.Random, text: str, lang: str) -> str:
    """``text`` lightly edited: up to three words swapped, and for Chinese (each with even odds)
    spaces dropped, digits and punctuation in full width, traditional script; for English
    spacing and final punctuation changed. Numbers stay as they are; the text always changes
    (when nothing else did, Chinese goes full width, English loses its final punctuation)."""
    edited = _edit(rng, text, lang)
    if edited != text:
        return edited
    if lang == "zh":
        return text.translate(_FULL_WIDTH) if text.translate(_FULL_WIDTH) != text else text + " "
    return text.rstrip(".?!") if text.rstrip(".?!") != text else text + "."


def _edit(rng: random.Random, text: str, lang: str) -> str:
    swaps = [(a, b) for a, b in (_ZH_SWAPS if lang == "zh" else _EN_SWAPS) if a in text]
    for a, b in rng.sample(swaps, min(3, len(swaps))):
        text = text.replace(a, b, 1)
    if lang == "zh":
        if rng.random() < 0.5:
            text = text.replace(" ", "")
        if rng.random() < 0.5:
            text = text.translate(_FULL_WIDTH)
        else:
            text = text.replace("？", "?").replace("，", ",")
        if rng.random() < 0.5:
            text = text.translate(_TRADITIONAL)
        return text
    text = text.replace(". ", ".  ") if rng.random() < 0.5 else text
    if text.endswith("?") and rng.random() < 0.5:
        text = text[:-1] + " ?"
    return text


def _edited(rng: random.Random, item: dict, lang: str) -> dict:
    """The item with its question (and, for GSM8K, its solution) edited; options untouched."""
    out = dict(item)
    out["question"] = edit_text(rng, item["question"], lang)
    if item["task"] == "gsm8k":
        out["answer"] = edit_text(rng, item["answer"], lang)
    return out


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

_ZH_INTROS = (
    "本页整理了{s}练习题和参考答案，供同学们考前复习时使用。",
    "下面是老师们收集的{s}题目，每道题后面都附有答案，建议先独立完成再对照。",
    "很多家长希望孩子在假期里多做一些{s}练习，我们挑选了几道有代表性的题目。",
    "这一期继续分享{s}题库中的题目，欢迎在评论区交流解题思路。",
)
_EN_INTROS = (
    "This page collects {s} practice questions with the answer key, for revision before the test.",
    "Below are a few {s} questions our teachers picked, each followed by its answer; try them "
    "on your own first.",
    "Parents often ask for extra {s} practice over the holidays, so here are some questions "
    "worth working through.",
    "This week's set continues our {s} question bank; share your working in the comments.",
)
_ZH_EMBED = (
    "有读者给编辑部发来了一道题，下面原样刊出：",
    "一位家长在采访中拿出了孩子的练习册，其中有这样一道题：",
    "文章里提到的测试题如下：",
)
_EN_EMBED = (
    "One reader sent us a question from a practice test, reproduced here as it was sent:",
    "A parent showed us a page of her son's workbook, with this question on it:",
    "The test question mentioned above reads as follows:",
)


_EDUCATION = ("教育", "education")


def _prose(rng: random.Random, lang: str, num: int, topic: str | None = None) -> list[str]:
    if lang == "zh":
        return zh_paragraphs(rng, ZhDraw(rng, topic or "教育"), num)
    return en_paragraphs(rng, EnDraw(rng, topic or "education"), num)


def _subject_name(subject: str, task: str, lang: str) -> str:
    if task == "gsm8k":
        return "数学应用题" if lang == "zh" else "maths word problem"
    return _SUBJECT_ZH[subject] if lang == "zh" else _SUBJECT_EN[subject]


def _byline(rng: random.Random, lang: str, when: date, site: Site) -> str:
    return zh_byline(rng, when, site.name) if lang == "zh" else en_byline(rng, when)


def _quiz_page(
    rng: random.Random,
    lang: str,
    when: date,
    site: Site,
    subject: str,
    task: str,
    item_blocks: list[list[Block]],
) -> Doc:
    """An answer-key page: title, byline, an intro and two paragraphs on schooling, the items,
    then three paragraphs of the site's other news and one more per item. A quiz page short of
    prose is what the quality classifier removes (option lines, question headings, worked
    explanations all lower its score); with the news after it the page scores like the crawl's
    articles, so the decontamination is what it is scored on."""
    s = _subject_name(subject, task, lang)
    n = rng.randint(2, 300)
    if lang == "zh":
        title = rng.choice((f"{s}练习题及答案（第{n}期）", f"{s}每日一练：第{n}期"))
        intro = rng.choice(_ZH_INTROS).format(s=s)
    else:
        title = rng.choice(
            (f"{s.capitalize()} quiz with answers, part {n}", f"Daily {s} drill #{n}")
        )
        intro = rng.choice(_EN_INTROS).format(s=s)
    prose = _prose(rng, lang, 2)
    blocks = [Block("p", intro + ("" if lang == "zh" else " ") + prose[0]), Block("p", prose[1])]
    for group in item_blocks:
        blocks += group
    topics = [t for t in (V.ZH_TOPICS if lang == "zh" else V.EN_TOPICS) if t not in _EDUCATION]
    news = _prose(rng, lang, 3 + len(item_blocks), topic=rng.choice(topics))
    blocks += [Block("p", p) for p in news]
    return Doc(title, _byline(rng, lang, when, site), tuple(blocks))


def leak_doc(
    rng: random.Random,
    kind: str,
    lang: str,
    when: date,
    site: Site,
    pool: LeakPool,
    item_ids: list[str],
) -> Doc:
    """The page of a leak kind carrying the items ``item_ids`` (in the page's ``lang``)."""
    items = [pool.item(i) for i in item_ids]
    task, subject = items[0]["task"], items[0]["subject"]
    style = rng.randrange(4)
    if kind == "leak_embedded":
        # A long article (8-12 paragraphs) on a subject other than education, the item quoted
        # in its middle.
        if lang == "zh":
            draw = ZhDraw(rng, rng.choice([t for t in V.ZH_TOPICS if t != "教育"]))
            title, paras = zh_title(rng, draw), zh_paragraphs(rng, draw, rng.randint(8, 12))
        else:
            draw = EnDraw(rng, rng.choice([t for t in V.EN_TOPICS if t != "education"]))
            title, paras = en_title(rng, draw), en_paragraphs(rng, draw, rng.randint(8, 12))
        blocks = [Block("p", p) for p in paras]
        at = len(blocks) // 2
        lead = rng.choice(_ZH_EMBED if lang == "zh" else _EN_EMBED)
        quoted = [
            b._replace(text=b.text.removeprefix("1. "))
            for b in _item_blocks(items[0], lang, 1, style)
        ]
        blocks[at:at] = [Block("p", lead), *quoted]
        return Doc(title, _byline(rng, lang, when, site), tuple(blocks))
    groups = []
    for number, it in enumerate(items, start=1):
        if kind == "leak_edited":
            it = _edited(rng, it, lang)
        groups.append(_item_blocks(it, lang, number, style))
    return _quiz_page(rng, lang, when, site, subject, task, groups)


_ZH_TOPIC_TEXT = {
    "arithmetic": (
        "加法和乘法是小学数学里最基础的两种运算，熟练掌握它们是学好后面内容的前提。",
        "计算两位数加法时，可以先把个位上的数相加，满十就向十位进一，再把十位上的数相加。",
        "乘法口诀要在理解的基础上记忆，孩子明白了乘法是相同加数连加的简便算法，背起来就轻松得多。",
        "做完计算题以后，可以用估算的方法检查结果是否合理，这是一个很好的习惯。",
    ),
    "units": (
        "长度、质量和容积的单位换算是小学数学的重要内容，也是生活中经常用到的知识。",
        "常用的进率要记牢：1 千米等于 1000 米，1 米等于 100 厘米，"
        "1 千克等于 1000 克，1 升等于 1000 毫升。",
        "把大单位换算成小单位要乘进率，把小单位换算成大单位要除以进率，这是换算的基本方法。",
        "在实际生活中，量一量课桌的长度、称一称书包的质量，都能帮助孩子建立单位的概念。",
    ),
    "science": (
        "水是由氢和氧两种元素组成的，它在自然界中以固态、液态和气态三种形式存在。",
        "太阳系有八大行星，其中体积最大的是木星，离太阳最近的是水星。",
        "植物通过光合作用把二氧化碳和水转化为有机物，同时释放出氧气。",
        "声音的传播需要介质，它在固体中传播得最快，在气体中传播得较慢。",
    ),
    "gsm8k": (
        "解应用题的第一步是读懂题目，弄清楚已知条件是什么，要求的问题又是什么。",
        "可以把题目中的数量关系画成线段图，这样哪些量相加、哪些量相减就一目了然了。",
        "列式计算以后，要把答案代回题目中检验，看看是否符合题意，最后别忘了写上单位。",
        "多数学生的困难不在计算，而在于把文字转化为算式，因此平时要多练习分析数量关系。",
    ),
}
_EN_TOPIC_TEXT = {
    "arithmetic": (
        "Addition and multiplication are the first operations children learn, and everything "
        "later in school mathematics builds on them.",
        "When adding two-digit numbers, add the ones first, carry a ten when the sum passes "
        "nine, and then add the tens.",
        "Times tables are easier to remember once a child sees multiplication as repeated "
        "addition of the same number.",
        "Estimating the result before calculating is a good habit: it shows at once whether an "
        "answer is in the right range.",
    ),
    "units": (
        "Converting between units of length, mass and volume is a core part of the primary "
        "curriculum and of everyday life.",
        "The common factors are worth learning by heart: a kilometre is 1000 metres, a metre is "
        "100 centimetres, a kilogram is 1000 grams and a litre is 1000 millilitres.",
        "To go from a larger unit to a smaller one, multiply by the factor; to go the other way, "
        "divide by it.",
        "Measuring a desk or weighing a school bag helps children get a feel for what the units "
        "mean.",
    ),
    "science": (
        "Water is made of hydrogen and oxygen, and in nature it occurs as ice, as liquid and as "
        "vapour.",
        "The solar system has eight planets; the largest of them is Jupiter and the closest to "
        "the Sun is Mercury.",
        "Plants turn carbon dioxide and water into sugars by photosynthesis and release oxygen "
        "as they do so.",
        "Sound needs a medium to travel through, and it moves faster through solids than "
        "through air.",
    ),
    "gsm8k": (
        "The first step in solving a word problem is to read it carefully and note what is "
        "given and what is asked.",
        "Drawing a simple bar model often shows which quantities should be added and which "
        "should be subtracted.",
        "After computing an answer, put it back into the story to check that it makes sense, "
        "and do not forget the units.",
        "Most pupils struggle less with the arithmetic than with turning the words into a "
        "calculation, so that is the skill to practise.",
    ),
}


def negative_doc(
    rng: random.Random, kind: str, task: str, lang: str, when: date, site: Site, pool: LeakPool
) -> Doc:
    """A hard negative for ``task`` in ``lang``: a quiz page of template look-alikes with other
    numbers, or a study page on one of the task's subjects with no item."""
    if kind == "leak_negative_template":
        groups = []
        n = items_per_page(kind, task, rng)
        subject = "arithmetic"
        for number in range(1, n + 1):
            if task == "gsm8k":
                q, a = pool.negative_gsm8k(rng, lang)
                groups.append(_gsm8k_blocks(q, a, lang, number))
            else:
                item = pool.negative_mc(rng, task, lang)
                subject = item["subject"]
                groups.append(_mc_blocks(item, lang, number, style=rng.randrange(4)))
        return _quiz_page(rng, lang, when, site, subject, task, groups)
    subjects = ["gsm8k"] if task == "gsm8k" else list(pool.sets[task])
    subject = rng.choice(subjects)
    texts = (_ZH_TOPIC_TEXT if lang == "zh" else _EN_TOPIC_TEXT)[subject]
    facts = rng.sample(texts, len(texts))
    prose = _prose(rng, lang, 3)
    name = _subject_name(subject if subject != "gsm8k" else "arithmetic", task, lang)
    if lang == "zh":
        title = rng.choice((f"如何学好{name}：老师的几点建议", f"{name}知识点总结"))
    else:
        title = rng.choice(
            (
                f"How to get better at {name}: advice from teachers",
                f"{name.capitalize()}: what pupils need to know",
            )
        )
    sep = "" if lang == "zh" else " "
    blocks = (
        Block("p", sep.join(facts[:2])),
        Block("p", prose[0]),
        Block("p", sep.join(facts[2:])),
        Block("p", prose[1]),
        Block("p", prose[2]),
    )
    return Doc(title, _byline(rng, lang, when, site), blocks)
