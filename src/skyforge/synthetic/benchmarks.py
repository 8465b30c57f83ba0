"""Small benchmark sets in the official C-Eval, CMMLU, MMLU and GSM8K layouts, for the default.

No benchmark data ships with the repository (and the licences of C-Eval and CMMLU are
non-commercial), yet the embedded default must run the benchmark table and the contamination
check end to end. ``write_synthetic_benchmarks`` writes sets that the real readers
(``eval.benchmarks``) accept unchanged: multiple-choice questions on arithmetic, unit and time
conversion and science facts, in Chinese (C-Eval, CMMLU) and English (MMLU), with shuffled
options and the correct letter; GSM8K-style word problems with worked answers ending in
``#### N``, whose train, test and look-alike ``ref`` files share templates but never numbers (the
contamination table's L_ref). The output depends only on the arguments.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyforge.core.io import atomic_write_text
from skyforge.eval.benchmark_files import (
    CEVAL_COLUMNS,
    CMMLU_COLUMNS,
    EVAL_SPLIT,
    FEWSHOT_SPLIT,
    LETTERS,
    item_id,
    subject_file_name,
)

__all__ = [
    "GSM8K_NAMES",
    "MC_SUBJECTS",
    "NUM_GSM8K_TEMPLATES",
    "draw_gsm8k_numbers",
    "gsm8k_text",
    "item_id",
    "mc_item",
    "mc_text",
    "synthetic_benchmark_items",
    "write_synthetic_benchmarks",
]

# Facts for the "science" subject: (question, correct option, three wrong options).
_SCIENCE_ZH = [
    ("水的化学式是什么？", "H2O", "CO2", "O2", "NaCl"),
    ("地球绕太阳一周大约需要多长时间？", "一年", "一天", "一个月", "十年"),
    ("人体最大的器官是什么？", "皮肤", "心脏", "肝脏", "肺"),
    ("植物进行光合作用主要吸收哪种气体？", "二氧化碳", "氧气", "氮气", "氢气"),
    ("在标准大气压下，水的沸点是多少摄氏度？", "100", "90", "80", "120"),
    ("太阳系中最大的行星是哪一颗？", "木星", "地球", "火星", "金星"),
    ("在标准大气压下，冰的熔点是多少摄氏度？", "0", "10", "-10", "100"),
    ("声音不能在哪种环境中传播？", "真空", "水", "空气", "钢铁"),
    ("月球绕地球一周大约需要多少天？", "27", "7", "365", "100"),
    ("哪种金属在常温下是液体？", "汞", "铁", "铜", "铝"),
]
_SCIENCE_EN = [
    ("What is the chemical formula of water?", "H2O", "CO2", "O2", "NaCl"),
    (
        "About how long does the Earth take to go once around the Sun?",
        "one year",
        "one day",
        "one month",
        "ten years",
    ),
    (
        "What is the largest organ of the human body?",
        "the skin",
        "the heart",
        "the liver",
        "the lungs",
    ),
    (
        "Which gas do plants mainly take in for photosynthesis?",
        "carbon dioxide",
        "oxygen",
        "nitrogen",
        "hydrogen",
    ),
    (
        "At sea-level pressure, at how many degrees Celsius does water boil?",
        "100",
        "90",
        "80",
        "120",
    ),
    ("Which is the largest planet of the solar system?", "Jupiter", "Earth", "Mars", "Venus"),
    ("At sea-level pressure, at how many degrees Celsius does ice melt?", "0", "10", "-10", "100"),
    ("Where can sound not travel?", "in a vacuum", "in water", "in air", "in steel"),
    (
        "About how many days does the Moon take to go once around the Earth?",
        "27",
        "7",
        "365",
        "100",
    ),
    ("Which metal is liquid at room temperature?", "mercury", "iron", "copper", "aluminium"),
]

MC_SUBJECTS = ("arithmetic", "units", "science", "time")
"""Subjects of the synthetic multiple-choice sets, in the order ``subjects_per_task`` takes them."""
_ZH_SUBJECT_NAMES = {
    "arithmetic": "算术",
    "units": "单位换算",
    "science": "科学常识",
    "time": "时间换算",
}


def _distractors(rng: random.Random, correct: int) -> list[int]:
    """Three distinct wrong numbers near ``correct`` (plausible, all positive)."""
    pool = {correct + d for d in (-10, -2, -1, 1, 2, 10, correct)} - {correct}
    return rng.sample(sorted(v for v in pool if v > 0), 3)


# Unit pairs of the "units" and "time" subjects: (big zh, small zh, big en, small en, factor).
_UNITS = [
    ("千米", "米", "kilometres", "metres", 1000),
    ("米", "厘米", "metres", "centimetres", 100),
    ("千克", "克", "kilograms", "grams", 1000),
    ("升", "毫升", "litres", "millilitres", 1000),
]
_TIMES = [
    ("小时", "分钟", "hours", "minutes", 60),
    ("分钟", "秒", "minutes", "seconds", 60),
    ("天", "小时", "days", "hours", 24),
    ("星期", "天", "weeks", "days", 7),
]


def mc_text(spec: tuple, lang: str) -> tuple[str, str, list[str]]:
    """(question, correct option, wrong options) of an item ``spec`` in ``lang`` (zh / en).

    ``spec`` is what :func:`_mc_spec` drew: ``("arithmetic", "plus" | "times", a, b)``,
    ``("units" | "time", pair index, n)`` or ``("science", fact index)``. The Chinese and the
    English text of one spec say the same thing (the other language's template, same numbers or
    the parallel fact): what a translated copy of the item looks like.
    """
    zh = lang == "zh"
    subject = spec[0]
    if subject == "arithmetic":
        _, op, a, b = spec
        if op == "plus":
            q, c = (f"{a} 加 {b} 等于多少？" if zh else f"What is {a} plus {b}?"), a + b
        else:
            q, c = (f"{a} 乘以 {b} 等于多少？" if zh else f"What is {a} times {b}?"), a * b
        return q, str(c), []
    if subject in ("units", "time"):
        _, k, n = spec
        big_zh, small_zh, big_en, small_en, f = (_UNITS if subject == "units" else _TIMES)[k]
        q = f"{n} {big_zh}等于多少{small_zh}？" if zh else f"How many {small_en} are {n} {big_en}?"
        c = n * f
        wrong = [c // 10, c * 10, c + f] if subject == "units" else [c + f, c - f, 2 * c]
        return q, str(c), [str(v) for v in wrong]
    q, c, *wrong = (_SCIENCE_ZH if zh else _SCIENCE_EN)[spec[1]]
    return q, c, list(wrong)


def _mc_spec(rng: random.Random, subject: str) -> tuple[tuple, list[str] | None]:
    """One item's spec (see :func:`mc_text`) and, for arithmetic, its wrong options (drawn)."""
    if subject == "arithmetic":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        if rng.random() < 0.5:
            return ("arithmetic", "plus", a, b), [str(v) for v in _distractors(rng, a + b)]
        a, b = rng.randint(2, 19), rng.randint(2, 19)
        return ("arithmetic", "times", a, b), [str(v) for v in _distractors(rng, a * b)]
    if subject in ("units", "time"):
        n = rng.randint(2, 99) if subject == "units" else rng.randint(2, 60)
        pairs = _UNITS if subject == "units" else _TIMES
        return (subject, rng.choice(range(len(pairs))), n), None
    return ("science", rng.choice(range(len(_SCIENCE_ZH)))), None


def mc_item(spec: tuple, wrong: list[str] | None, order: list[int], lang: str) -> dict:
    """The item ``{question, A, B, C, D, answer}`` of ``spec`` in ``lang``; ``order[i]`` is the
    option (0 = correct) shown under letter i, ``wrong`` overrides drawn wrong options."""
    q, correct, drawn = mc_text(spec, lang)
    options = [correct, *(wrong if wrong is not None else drawn)]
    shown = [options[i] for i in order]
    return {
        "question": q,
        **dict(zip(LETTERS, shown, strict=True)),
        "answer": LETTERS[order.index(0)],
    }


def _mc_items(rng: random.Random, subject: str, lang: str, n: int) -> list[dict]:
    """``n`` items with shuffled options; numeric questions do not repeat within a subject.

    Each item also carries ``spec`` (see :func:`mc_text`) and ``translation``: the same item in
    the other language, options in the same order (so the same answer letter).
    """
    other = "en" if lang == "zh" else "zh"
    items, seen = [], set()
    for _ in range(200 * n):
        if len(items) == n:
            break
        spec, wrong = _mc_spec(rng, subject)
        q, correct, drawn = mc_text(spec, lang)
        if q in seen and subject != "science":  # 10 facts: science repeats, reshuffled
            continue
        options = [correct, *(wrong if wrong is not None else drawn)]
        if len(set(options)) < len(options):
            continue
        seen.add(q)
        order = list(range(len(options)))
        rng.shuffle(order)  # the same draws as shuffling the options themselves
        item = mc_item(spec, wrong, order, lang)
        translation = mc_item(spec, wrong, order, other)
        items.append({**item, "spec": spec, "translation": translation})
    assert len(items) == n, f"could not draw {n} distinct {subject} questions"
    return items


def _csv_text(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _explanation(item: dict) -> str:
    return f"1. {item['question']}正确答案是{item[item['answer']]}，所以选{item['answer']}。"


# GSM8K-style templates: (question, worked answer, result), numbers drawn by ``draw``.
_NAMES = ("Mia", "Tom", "Ana", "Liam", "Zoe", "Omar", "Lena", "Ravi", "Sara", "Ken")


def _gsm8k_templates() -> list[tuple[Callable[[random.Random], tuple], Callable[..., tuple]]]:
    """(draw numbers, build (question, answer, result)) pairs; the answers follow GSM8K's style
    (calculator annotations ``<<a+b=c>>``, a final ``#### N``)."""

    def t0(name, a, b, c):
        s, r = a + b, a + b - c
        return (
            f"{name} has {a} apples. {name} buys {b} more apples and then gives {c} apples to a "
            f"friend. How many apples does {name} have now?",
            f"After buying, {name} has {a} + {b} = <<{a}+{b}={s}>>{s} apples.\n"
            f"After giving some away, {name} has {s} - {c} = <<{s}-{c}={r}>>{r} apples.\n#### {r}",
            r,
        )

    def t1(name, a, b):
        r = a * b
        return (
            f"A box holds {a} pencils. {name} buys {b} boxes. How many pencils does {name} buy?",
            f"{name} buys {a} * {b} = <<{a}*{b}={r}>>{r} pencils.\n#### {r}",
            r,
        )

    def t2(name, a, b, c):
        w, r = a * b, a * b + c
        return (
            f"{name} earns ${a} per hour and works {b} hours. {name} also gets a ${c} tip. "
            f"How much money does {name} get in total?",
            f"For the work {name} gets {a} * {b} = <<{a}*{b}={w}>>{w} dollars.\n"
            f"With the tip it is {w} + {c} = <<{w}+{c}={r}>>{r} dollars.\n#### {r}",
            r,
        )

    def t3(name, q, b):
        a = q * b
        return (
            f"{name} has {a} stickers and shares them equally among {b} friends. How many "
            "stickers does each friend get?",
            f"Each friend gets {a} / {b} = <<{a}/{b}={q}>>{q} stickers.\n#### {q}",
            q,
        )

    def t4(name, a, b):
        r = a - b
        return (
            f"There are {a} students in {name}'s class and {b} of them are girls. How many boys "
            "are in the class?",
            f"There are {a} - {b} = <<{a}-{b}={r}>>{r} boys.\n#### {r}",
            r,
        )

    return [
        (lambda g: (g.randint(10, 99), g.randint(2, 50), g.randint(1, 9)), t0),
        (lambda g: (g.randint(3, 24), g.randint(2, 12)), t1),
        (lambda g: (g.randint(8, 30), g.randint(2, 10), g.randint(1, 20)), t2),
        (lambda g: (g.randint(2, 20), g.randint(2, 9)), t3),
        (lambda g: (g.randint(20, 40), g.randint(5, 19)), t4),
    ]


# The names of ``_NAMES`` as a Chinese site transliterates them.
_NAMES_ZH = {
    "Mia": "米娅",
    "Tom": "汤姆",
    "Ana": "安娜",
    "Liam": "利亚姆",
    "Zoe": "佐伊",
    "Omar": "奥马尔",
    "Lena": "莉娜",
    "Ravi": "拉维",
    "Sara": "萨拉",
    "Ken": "肯",
}


def _gsm8k_templates_zh() -> list[Callable[..., tuple[str, str]]]:
    """Chinese versions of :func:`_gsm8k_templates`, template by template: (question, worked
    answer) with the same numbers in the same order and the name transliterated, as a Chinese
    site republishes the English problem."""

    def t0(name, a, b, c):
        s, r = a + b, a + b - c
        return (
            f"{name}有{a}个苹果。{name}又买了{b}个苹果，然后送给朋友{c}个苹果。{name}现在有多少个苹果？",
            f"买完以后，{name}有 {a} + {b} = <<{a}+{b}={s}>>{s} 个苹果。\n"
            f"送出一些以后，{name}有 {s} - {c} = <<{s}-{c}={r}>>{r} 个苹果。\n#### {r}",
        )

    def t1(name, a, b):
        r = a * b
        return (
            f"一盒装有{a}支铅笔。{name}买了{b}盒。{name}一共买了多少支铅笔？",
            f"{name}买了 {a} * {b} = <<{a}*{b}={r}>>{r} 支铅笔。\n#### {r}",
        )

    def t2(name, a, b, c):
        w, r = a * b, a * b + c
        return (
            f"{name}每小时挣{a}美元，工作了{b}小时。{name}还得到了{c}美元的小费。"
            f"{name}一共得到多少钱？",
            f"工作收入是 {a} * {b} = <<{a}*{b}={w}>>{w} 美元。\n"
            f"加上小费一共是 {w} + {c} = <<{w}+{c}={r}>>{r} 美元。\n#### {r}",
        )

    def t3(name, q, b):
        a = q * b
        return (
            f"{name}有{a}张贴纸，平均分给{b}个朋友。每个朋友能得到多少张贴纸？",
            f"每个朋友得到 {a} / {b} = <<{a}/{b}={q}>>{q} 张贴纸。\n#### {q}",
        )

    def t4(name, a, b):
        r = a - b
        return (
            f"{name}的班上有{a}名学生，其中{b}名是女生。班上有多少名男生？",
            f"男生有 {a} - {b} = <<{a}-{b}={r}>>{r} 名。\n#### {r}",
        )

    return [t0, t1, t2, t3, t4]


def gsm8k_text(template: int, name: str, numbers: tuple, lang: str) -> tuple[str, str]:
    """(question, worked answer) of GSM8K-style template ``template`` with ``name`` (one of the
    English names) and ``numbers``, in English or Chinese (the translation)."""
    if lang == "zh":
        return _gsm8k_templates_zh()[template](_NAMES_ZH[name], *numbers)
    question, answer, _ = _gsm8k_templates()[template][1](name, *numbers)
    return question, answer


def draw_gsm8k_numbers(rng: random.Random, template: int) -> tuple:
    """Numbers for ``template``, from the ranges its benchmark items are drawn from."""
    return _gsm8k_templates()[template][0](rng)


GSM8K_NAMES = _NAMES
"""The names the GSM8K-style problems use."""
NUM_GSM8K_TEMPLATES = 5


def synthetic_benchmark_items(
    *,
    seed: int,
    subjects_per_task: int = 3,
    questions_per_subject: int = 20,
    gsm8k_train: int = 200,
    gsm8k_test: int = 60,
    gsm8k_ref: int = 60,
) -> dict[str, dict[str, dict[str, list[dict]]]]:
    """The items :func:`write_synthetic_benchmarks` writes, in memory (same arguments).

    Returns:
        task → subject → split → items, as ``eval.benchmark_files.load_benchmark`` returns them
        (GSM8K has the one subject ``main``). Every item has ``id`` (:func:`item_id`) and
        ``translation`` (the item in the other language: Chinese for MMLU and GSM8K, English for
        C-Eval and CMMLU). Multiple-choice items: ``question``, ``A``-``D``, ``answer`` and
        ``spec`` (what :func:`mc_text` renders); GSM8K items: ``question``, ``answer`` (the worked
        solution), ``reference`` (the final number), ``template``, ``name`` and ``numbers``.

    Raises:
        ValueError: if ``subjects_per_task`` is not in 1..4 or a count is negative.
    """
    if not 1 <= subjects_per_task <= len(MC_SUBJECTS):
        raise ValueError(f"subjects_per_task={subjects_per_task}: expected 1..{len(MC_SUBJECTS)}")
    if min(questions_per_subject, gsm8k_train, gsm8k_test, gsm8k_ref) < 0:
        raise ValueError("synthetic benchmark counts must not be negative")
    subjects = MC_SUBJECTS[:subjects_per_task]
    out: dict[str, dict[str, dict[str, list[dict]]]] = {}
    for t_index, task in enumerate(("ceval", "cmmlu", "mmlu")):
        lang = "en" if task == "mmlu" else "zh"
        out[task] = {}
        for s_index, subject in enumerate(subjects):
            rng = random.Random(f"{seed}/{t_index}/{s_index}")
            out[task][subject] = {}
            for split, n in ((FEWSHOT_SPLIT[task], 5), (EVAL_SPLIT[task], questions_per_subject)):
                items = _mc_items(rng, subject, lang, n)
                for i, it in enumerate(items):
                    it["id"] = item_id(task, split, subject, i)
                out[task][subject][split] = items

    rng = random.Random(f"{seed}/gsm8k")
    templates = _gsm8k_templates()
    seen: set[tuple] = set()
    out["gsm8k"] = {"main": {}}
    for split, n in (("train", gsm8k_train), ("test", gsm8k_test), ("ref", gsm8k_ref)):
        rows: list[dict] = []
        while len(rows) < n:
            k = rng.randrange(len(templates))
            draw, build = templates[k]
            numbers = draw(rng)
            if (k, numbers) in seen:  # disjoint splits: each (template, numbers) once
                continue
            seen.add((k, numbers))
            name = rng.choice(_NAMES)
            question, answer, result = build(name, *numbers)
            zh_q, zh_a = _gsm8k_templates_zh()[k](_NAMES_ZH[name], *numbers)
            rows.append(
                {
                    "question": question,
                    "answer": answer,
                    "reference": str(result),
                    "template": k,
                    "name": name,
                    "numbers": numbers,
                    "id": item_id("gsm8k", split, "main", len(rows)),
                    "translation": {"question": zh_q, "answer": zh_a},
                }
            )
        out["gsm8k"]["main"][split] = rows
    return out


def write_synthetic_benchmarks(
    out_dir: Path,
    *,
    seed: int,
    subjects_per_task: int = 3,
    questions_per_subject: int = 20,
    gsm8k_train: int = 200,
    gsm8k_test: int = 60,
    gsm8k_ref: int = 60,
) -> dict:
    """Writes small benchmark sets in the official layouts, for the embedded default.

    ``out_dir/ceval`` (Chinese; ``{dev,val}/<subject>_{dev,val}.csv`` and the official
    ``subject_mapping.json``), ``out_dir/cmmlu`` (Chinese; ``{dev,test}/<subject>.csv``, plus a
    ``subject_mapping.json`` for the Chinese subject names), ``out_dir/mmlu`` (English; the
    official header-less ``{dev,test}/<subject>_{dev,test}.csv``): the first
    ``subjects_per_task`` of :data:`MC_SUBJECTS` (arithmetic, unit conversion, science facts,
    time conversion), 5 dev items and ``questions_per_subject`` scored items each, options
    shuffled, correct answers. Science has ten facts a language, so its items repeat with the
    options reshuffled; the numeric subjects do not repeat within a subject.

    ``out_dir/gsm8k/{train,test,ref}.jsonl``: English word problems from five templates, each
    answer a worked solution ending with ``#### N``. The three files use the SAME templates with
    DISJOINT numbers: no (template, numbers) pair occurs twice anywhere, so ``ref`` is a set of
    fresh look-alike problems for the contamination table (L_ref).

    Files are written atomically; the output depends only on the arguments.

    Args:
        out_dir: created if needed; existing files of the same names are replaced.
        seed: the random seed.
        subjects_per_task: 1 to 4.
        questions_per_subject: scored items per subject (val for C-Eval, test otherwise).
        gsm8k_train: GSM8K train rows (few-shot pool, contamination L_train).
        gsm8k_test: GSM8K test rows.
        gsm8k_ref: look-alike reference rows.

    Returns:
        Counts: ``{task: {"subjects": …, "<split>": items, …}}`` (GSM8K: rows per file).

    Raises:
        ValueError: if ``subjects_per_task`` is not in 1..4 or a count is negative.
    """
    sets = synthetic_benchmark_items(
        seed=seed,
        subjects_per_task=subjects_per_task,
        questions_per_subject=questions_per_subject,
        gsm8k_train=gsm8k_train,
        gsm8k_test=gsm8k_test,
        gsm8k_ref=gsm8k_ref,
    )
    out_dir = Path(out_dir)
    subjects = MC_SUBJECTS[:subjects_per_task]
    counts: dict[str, dict[str, int]] = {}
    for task in ("ceval", "cmmlu", "mmlu"):
        root = out_dir / task
        eval_split, shot_split = EVAL_SPLIT[task], FEWSHOT_SPLIT[task]
        counts[task] = {"subjects": len(subjects), shot_split: 0, eval_split: 0}
        for subject in subjects:
            for split in (shot_split, eval_split):
                items = sets[task][subject][split]
                counts[task][split] += len(items)
                path = root / split / subject_file_name(task, subject, split)
                rows: list[list[Any]]
                if task == "ceval":
                    cols = CEVAL_COLUMNS + (["explanation"] if split == "dev" else [])
                    rows = [cols] + [
                        [i, it["question"], *(it[x] for x in LETTERS), it["answer"]]
                        + ([_explanation(it)] if split == "dev" else [])
                        for i, it in enumerate(items)
                    ]
                elif task == "cmmlu":
                    rows = [CMMLU_COLUMNS] + [
                        [i, it["question"], *(it[x] for x in LETTERS), it["answer"]]
                        for i, it in enumerate(items)
                    ]
                else:
                    rows = [
                        [it["question"], *(it[x] for x in LETTERS), it["answer"]] for it in items
                    ]
                atomic_write_text(path, _csv_text(rows))
        if task != "mmlu":
            mapping = {s: [s.replace("_", " "), _ZH_SUBJECT_NAMES[s], "STEM"] for s in subjects}
            atomic_write_text(
                root / "subject_mapping.json",
                json.dumps(mapping, ensure_ascii=False, indent=2) + "\n",
            )

    counts["gsm8k"] = {}
    for split, rows in sets["gsm8k"]["main"].items():
        lines = [
            json.dumps({"question": r["question"], "answer": r["answer"]}) + "\n" for r in rows
        ]
        atomic_write_text(out_dir / "gsm8k" / f"{split}.jsonl", "".join(lines))
        counts["gsm8k"][split] = len(rows)
    return counts
