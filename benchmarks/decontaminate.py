"""Decontamination benchmark: documents/s per core and recall, ours vs lm-eval's 13-gram janitor.

Not a test: run it by hand and quote the command and its output.

Items: the embedded default's synthetic benchmark sets (``write_synthetic_benchmarks``, read back
with ``load_benchmark``: C-Eval val, CMMLU test, MMLU test, GSM8K test), and with ``--real-dir``
also the real sets found there (``gsm8k/test.jsonl``, ``ceval/val``, ``cmmlu/dev``,
``mmlu/dev`` CSVs), all in one index, as the data DAG would hold them.

Documents (``--pages``, half Chinese, half English): background pages of sentences (from the
WMT news CSVs of ``--wmt-dir``, columns zh,en; generated sentences without it) and, planted in
them with ground truth:

* ``verbatim`` — an item (question, options "A. …", answer) inside a page;
* ``edited`` — the same with a few words swapped or dropped, digits full-width, Chinese partly
  traditional;
* ``translated`` — a synthetic item in the other language (our own renderings of the generator's
  templates: the numbers and options kept, GSM8K names transliterated, with the worked solution);
* negatives: ``template`` (the GSM8K ``ref`` split, same templates and other numbers, in both
  languages, and arithmetic questions with numbers no item has) and, with ``--real-dir``,
  ``gsm8k-train`` pages (ten real GSM8K training problems each: other problems, same style).

Figures: documents/s and MB/s per CPU second (``time.process_time``, so per core whatever the
machine) of ``Decontaminator.match`` and of lm-eval 0.4.13's ``Janitor.clean_python`` (13-grams,
its defaults) on the same pages, after each registered the same probes (question; question +
options); recall per leak kind (ours: the planted item is among the matches; the janitor: the
page is cut at all) and false flags per negative kind. With ``--wmt-dir`` also a cross-lingual
recall on human translations: WMT English sentences taken as items, each planted as its Chinese
reference sentence (and the reverse), among the items the fingerprint accepts.

lm-eval must not go into the project's venv. Make a separate one and pass its interpreter (the
janitor module needs nothing but the package; ``--no-deps`` keeps torch out)::

    python3 -m venv /tmp/lmeval-venv
    /tmp/lmeval-venv/bin/pip install --no-deps lm-eval==0.4.13
    .venv/bin/python benchmarks/decontaminate.py --lmeval-python /tmp/lmeval-venv/bin/python \\
        --real-dir <dir with gsm8k/ ceval/ cmmlu/ mmlu/> --wmt-dir <dir with the WMT CSVs>

This file is also the janitor worker (``--janitor-worker``, run under the other interpreter), so
it imports nothing from skyforge at module level.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LETTERS = ("A", "B", "C", "D")


# ---------------------------------------------------------------------------------------------
# lm-eval worker (runs under --lmeval-python)
# ---------------------------------------------------------------------------------------------


def janitor_worker(path: str) -> None:
    """Registers the probes, cleans every page; prints one JSON line (flags, CPU seconds)."""
    from lm_eval.decontamination.janitor import Janitor

    data = json.loads(Path(path).read_text())
    t0 = time.process_time()
    janitor = Janitor()  # ngram_n=13, window_to_remove=200, too_dirty_cutoff=10
    for text in data["probes"]:
        janitor.register_contaminant(text)
    build = time.process_time() - t0
    t0 = time.process_time()
    flags = [janitor.clean_python(page) != [page] for page in data["pages"]]
    scan = time.process_time() - t0
    print(json.dumps({"flags": flags, "build_s": build, "scan_s": scan}))


# ---------------------------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------------------------


def _mc_items(task: str, root: Path, lang: str, splits: tuple[str, ...]) -> list:
    from skyforge.data.decontam import BenchmarkItem
    from skyforge.eval.benchmark_files import load_benchmark

    out = []
    for subject, by_split in sorted(load_benchmark(task, root).items()):
        for split in splits:
            for i, it in enumerate(by_split.get(split, [])):
                out.append(
                    BenchmarkItem(
                        task,
                        f"{split}/{subject}/{i}",
                        lang,
                        it["question"],
                        tuple(it[x] for x in LETTERS),
                        it["answer"],
                    )
                )
    return out


def _gsm8k_items(path: Path, prefix: str = "test") -> list:
    from skyforge.data.decontam import BenchmarkItem

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [
        BenchmarkItem("gsm8k", f"{prefix}/{i}", "en", r["question"], (), r["answer"])
        for i, r in enumerate(rows)
    ]


def _real_items(root: Path) -> list:
    """Real sets under ``root`` in their official layouts (the splits a small copy has)."""
    from skyforge.data.decontam import BenchmarkItem

    items = []
    if (root / "gsm8k" / "test.jsonl").is_file():
        items += [
            BenchmarkItem("real-gsm8k", it.item_id, "en", it.question, (), it.answer)
            for it in _gsm8k_items(root / "gsm8k" / "test.jsonl")
        ]
    for task, lang in (("ceval", "zh"), ("cmmlu", "zh"), ("mmlu", "en")):
        for split in ("val", "test", "dev"):
            d = root / task / split
            for f in sorted(d.glob("*.csv")) if d.is_dir() else []:
                rows = list(csv.reader(f.open(encoding="utf-8-sig")))
                if task == "mmlu":
                    body = rows[1:] if rows and rows[0][0] == "question" else rows
                    q, a = 0, 1
                else:
                    body, q = rows[1:], rows[0].index("question" if task == "ceval" else "Question")
                    a = rows[0].index("A")
                for r, row in enumerate(body):
                    items.append(
                        BenchmarkItem(
                            f"real-{task}",
                            f"{split}/{f.stem}/{r}",
                            lang,
                            row[q],
                            tuple(row[a : a + 4]),
                        )
                    )
    return items


# ---------------------------------------------------------------------------------------------
# Renderings of the synthetic items in the other language (our own, from the generator's
# templates in src/skyforge/synthetic/benchmarks.py)
# ---------------------------------------------------------------------------------------------

_UNITS = [
    ("千米", "米", "kilometres", "metres"),
    ("米", "厘米", "metres", "centimetres"),
    ("千克", "克", "kilograms", "grams"),
    ("升", "毫升", "litres", "millilitres"),
    ("小时", "分钟", "hours", "minutes"),
    ("分钟", "秒", "minutes", "seconds"),
    ("天", "小时", "days", "hours"),
    ("星期", "天", "weeks", "days"),
]
_NAMES_ZH = {
    "Mia": "米娅", "Tom": "汤姆", "Ana": "安娜", "Liam": "利亚姆", "Zoe": "佐伊",
    "Omar": "奥马尔", "Lena": "莉娜", "Ravi": "拉维", "Sara": "萨拉", "Ken": "肯",
}  # fmt: skip
_N = r"(\d+)"
_GSM_EN = [
    (
        rf"(\w+) has {_N} apples\. \w+ buys {_N} more apples and then gives {_N} apples",
        lambda n, a, b, c: (
            f"{n}有{a}个苹果。{n}又买了{b}个苹果，然后送给朋友{c}个苹果。{n}现在有多少个苹果？",
            f"买完以后{n}有 {a} + {b} = {a + b} 个苹果。送出以后有 {a + b} - {c} = "
            f"{a + b - c} 个。\n#### {a + b - c}",
        ),
    ),
    (
        rf"A box holds {_N} pencils\. (\w+) buys {_N} boxes",
        lambda a, n, b: (
            f"一盒有{a}支铅笔。{n}买了{b}盒。{n}一共买了多少支铅笔？",
            f"{n}买了 {a} * {b} = {a * b} 支铅笔。\n#### {a * b}",
        ),
    ),
    (
        rf"(\w+) earns \${_N} per hour and works {_N} hours\. \w+ also gets a \${_N} tip",
        lambda n, a, b, c: (
            f"{n}每小时挣{a}美元，工作了{b}小时，还得到{c}美元小费。{n}一共得到多少钱？",
            f"工作收入 {a} * {b} = {a * b} 美元，加上小费 {a * b} + {c} = {a * b + c} 美元。\n"
            f"#### {a * b + c}",
        ),
    ),
    (
        rf"(\w+) has {_N} stickers and shares them equally among {_N} friends",
        lambda n, a, b: (
            f"{n}有{a}张贴纸，平均分给{b}个朋友。每个朋友得到多少张？",
            f"每个朋友得到 {a} / {b} = {a // b} 张。\n#### {a // b}",
        ),
    ),
    (
        rf"There are {_N} students in (\w+)'s class and {_N} of them are girls",
        lambda a, n, b: (
            f"{n}的班上有{a}名学生，其中{b}名是女生。班上有多少名男生？",
            f"男生有 {a} - {b} = {a - b} 名。\n#### {a - b}",
        ),
    ),
]


def translate(item) -> str | None:
    """The synthetic item in the other language as a page would show it, or None (science
    facts and real items have no rendering here)."""
    opts = "".join(f"\n{x}. {o}" for x, o in zip(LETTERS, item.options, strict=False))
    q = item.question
    for pattern, render in _GSM_EN:
        m = re.search(pattern, q)
        if m:
            args = [_NAMES_ZH.get(g, g) if not g.isdigit() else int(g) for g in m.groups()]
            question, answer = render(*args)
            return f"{question}\n解：\n{answer}"
    if m := re.fullmatch(r"(\d+) (加|乘以) (\d+) 等于多少？", q):
        op = "plus" if m[2] == "加" else "times"
        return f"What is {m[1]} {op} {m[3]}?{opts}\nAnswer: {item.answer}"
    if m := re.fullmatch(r"What is (\d+) (plus|times) (\d+)\?", q):
        op = "加" if m[2] == "plus" else "乘以"
        return f"{m[1]} {op} {m[3]} 等于多少？{opts}\n答案：{item.answer}"
    for big_zh, small_zh, big_en, small_en in _UNITS:
        if m := re.fullmatch(rf"(\d+) {big_zh}等于多少{small_zh}？", q):
            return f"How many {small_en} are {m[1]} {big_en}?{opts}\nAnswer: {item.answer}"
        if m := re.fullmatch(rf"How many {small_en} are (\d+) {big_en}\?", q):
            return f"{m[1]} {big_zh}等于多少{small_zh}？{opts}\n答案：{item.answer}"
    return None


def render(item) -> str:
    """The item as a quiz page prints it."""
    opts = "".join(f"\n{x}. {o}" for x, o in zip(LETTERS, item.options, strict=False))
    tail = f"\n{'答案' if item.lang == 'zh' else 'Answer'}: {item.answer}" if item.options else ""
    solution = f"\n{item.answer}" if not item.options else ""
    return f"{item.question}{opts}{tail}{solution}"


_EN_EDITS = [
    ("How many", "Exactly how many"),
    (" then ", " "),
    ("What is", "What's"),
    (" buys ", " purchases "),
    (" the ", " a "),
    (" and ", " & "),
]
_ZH_EDITS = [("等于多少", "是多少"), ("多少", "几"), ("然后", ""), ("一共", "总共")]


def edit(rng: random.Random, text: str, lang: str) -> str:
    """A light edit: two word swaps, and full-width digits / traditional characters for Chinese."""
    from skyforge.data.filters.harmful import to_traditional

    edits = [e for e in (_ZH_EDITS if lang == "zh" else _EN_EDITS) if e[0] in text]
    for a, b in rng.sample(edits, min(2, len(edits))):
        text = text.replace(a, b, 1)
    if lang == "zh":
        text = to_traditional(text).translate({ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789"})
    return text.replace(". ", ".  ")


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

_GEN_EN = (
    "The city council met on Tuesday to discuss the new budget for parks and libraries",
    "Local farmers said the harvest this year was better than expected despite the dry summer",
    "Students at the university organised a fair to raise money for the children's hospital",
    "The museum opened an exhibition of paintings from the early twentieth century",
    "Traffic on the main road was slow after heavy rain flooded two of the lanes",
)
_GEN_ZH = (
    "市政府周二召开会议，讨论公园和图书馆的新预算",
    "当地农民表示，尽管夏季干旱，今年的收成比预期要好",
    "大学生们组织了一次义卖活动，为儿童医院筹集资金",
    "博物馆开幕了一个展览，展出二十世纪初的绘画作品",
    "大雨淹没了两条车道，主干道上的交通十分缓慢",
)


def _background(wmt_dir: Path | None) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(zh sentences, en sentences, parallel pairs)."""
    pairs: list[tuple[str, str]] = []
    if wmt_dir is not None:
        for f in sorted(wmt_dir.glob("*.csv")):
            for row in list(csv.reader(f.open(encoding="utf-8")))[1:]:
                if len(row) >= 2 and row[0].strip() and row[1].strip():
                    pairs.append((row[0].strip(), row[1].strip()))
    if not pairs:
        rng = random.Random(0)
        for i in range(2000):
            k = rng.randrange(len(_GEN_EN))
            pairs.append((f"{_GEN_ZH[k]}（第{i}期）。", f"{_GEN_EN[k]} (issue {i})."))
    return [p[0] for p in pairs], [p[1] for p in pairs], pairs


def _page(rng: random.Random, sentences: list[str], planted: str | None, lang: str) -> str:
    body = rng.sample(sentences, 12)
    if planted is not None:
        body.insert(rng.randrange(len(body) + 1), planted)
    sep = "" if lang == "zh" else " "
    paras = [sep.join(body[i : i + 4]) for i in range(0, len(body), 4)]
    return "\n\n".join(paras)


def build_pages(args, items, synth_root: Path, real_root: Path | None):
    """Pages with ground truth: (text, kind, expected (benchmark, item_id) or None)."""
    rng = random.Random(args.seed)
    zh, en, _ = _background(args.wmt_dir)
    pages: list[tuple[str, str, tuple[str, str] | None]] = []
    synthetic = [it for it in items if not it.benchmark.startswith("real-")]
    translatable = [it for it in synthetic if translate(it) is not None]
    n_leak = args.pages // 10
    for kind in ("verbatim", "edited"):
        for it in rng.sample(items, min(n_leak, len(items))):
            text = render(it) if kind == "verbatim" else edit(rng, render(it), it.lang)
            pages.append((_page(rng, zh if it.lang == "zh" else en, text, it.lang), kind, _key(it)))
    for it in rng.sample(translatable, min(n_leak, len(translatable))):
        lang = "en" if it.lang == "zh" else "zh"
        text = translate(it)
        pages.append((_page(rng, zh if lang == "zh" else en, text, lang), "translated", _key(it)))
    # negatives: same templates, other numbers (the GSM8K ref split; fresh arithmetic)
    from skyforge.data.decontam import BenchmarkItem

    ref = _gsm8k_items(synth_root / "gsm8k" / "ref.jsonl", "ref")
    asked = {it.question for it in items}
    for i, it in enumerate(rng.sample(ref, min(n_leak // 2, len(ref)))):
        text = render(it) if i % 2 else translate(it) or render(it)
        lang = "en" if i % 2 else "zh"
        pages.append((_page(rng, zh if lang == "zh" else en, text, lang), "template", None))
    while sum(1 for p in pages if p[1] == "template") < n_leak:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        q = f"What is {a} plus {b}?"
        if q in asked or f"{a} 加 {b} 等于多少？" in asked:
            continue
        opts = tuple(str(a + b + d) for d in rng.sample([-10, -1, 0, 1, 2, 10], 4))
        it = BenchmarkItem("x", "x", "en", q, opts, "A")
        lang = rng.choice(("en", "zh"))
        text = render(it) if lang == "en" else translate(it) or ""
        pages.append((_page(rng, zh if lang == "zh" else en, text, lang), "template", None))
    if real_root is not None and (real_root / "gsm8k" / "train.jsonl").is_file():
        train = _gsm8k_items(real_root / "gsm8k" / "train.jsonl", "train")
        for _ in range(n_leak):
            probs = rng.sample(train, 10)
            pages.append(("\n\n".join(p.question for p in probs), "gsm8k-train", None))
    while len(pages) < args.pages:
        lang = rng.choice(("en", "zh"))
        pages.append((_page(rng, zh if lang == "zh" else en, None, lang), "clean", None))
    rng.shuffle(pages)
    return pages


def _key(it) -> tuple[str, str]:
    return (it.benchmark, it.item_id)


def _probes(items) -> list[str]:
    out = []
    for it in items:
        out.append(it.question)
        if it.options:
            out.append("\n".join((it.question, *it.options)))
    return out


# ---------------------------------------------------------------------------------------------
# Ours, the baseline, the comparison
# ---------------------------------------------------------------------------------------------


def wmt_recall(args, cfg) -> list[str]:
    """Cross-lingual recall on human translations (WMT sentences as items)."""
    from skyforge.data.decontam import BenchmarkItem, Decontaminator, fingerprint

    zh, en, pairs = _background(args.wmt_dir)
    rng = random.Random(args.seed)
    lines = []
    for src_lang, src_i, tgt in (("en", 1, zh), ("zh", 0, en)):
        items = [BenchmarkItem("wmt", str(i), src_lang, p[src_i]) for i, p in enumerate(pairs)]
        ok = [it for it in items if fingerprint(it, cfg).eligible]
        sample = rng.sample(ok, min(500, len(ok)))
        dec = Decontaminator(sample, cfg)
        hit = 0
        for it in sample:
            page = _page(rng, tgt, pairs[int(it.item_id)][1 - src_i], "zh" if src_i else "en")
            hit += any(m.item_id == it.item_id for m in dec.match(page))
        lines.append(
            f"  WMT {src_lang}→{'zh' if src_i else 'en'}: {len(ok)}/{len(items)} sentences "
            f"fingerprinted; recall {hit / len(sample):.3f} on {len(sample)} planted translations"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=3000, help="documents (≥ 10 × leak pages)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lmeval-python", help="interpreter of a venv with lm-eval==0.4.13")
    ap.add_argument("--real-dir", type=Path, help="real benchmark sets (gsm8k/, ceval/, ...)")
    ap.add_argument("--wmt-dir", type=Path, help="WMT zh-en CSVs: background text, WMT recall")
    ap.add_argument("--janitor-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.janitor_worker:
        janitor_worker(args.janitor_worker)
        return

    from skyforge.data.decontam import DecontamConfig, Decontaminator
    from skyforge.synthetic.benchmarks import write_synthetic_benchmarks

    work = Path(tempfile.mkdtemp(prefix="decontam-bench-"))
    write_synthetic_benchmarks(work / "bench", seed=args.seed)
    items = (
        _mc_items("ceval", work / "bench" / "ceval", "zh", ("val",))
        + _mc_items("cmmlu", work / "bench" / "cmmlu", "zh", ("test",))
        + _mc_items("mmlu", work / "bench" / "mmlu", "en", ("test",))
        + _gsm8k_items(work / "bench" / "gsm8k" / "test.jsonl")
    )
    if args.real_dir is not None:
        items += _real_items(args.real_dir)
    # the synthetic science facts repeat within a set: keep the first of each question text
    unique: dict[tuple[str, str], object] = {}
    for it in items:
        unique.setdefault((it.benchmark, it.probe_text), it)
    items = list(unique.values())
    pages = build_pages(args, items, work / "bench", args.real_dir)
    texts = [p[0] for p in pages]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    cfg = DecontamConfig()

    t0 = time.process_time()
    dec = Decontaminator(items, cfg)
    build = time.process_time() - t0
    t0 = time.process_time()
    found = [dec.match(t) for t in texts]
    scan = time.process_time() - t0
    ours_flag = [bool(f) for f in found]

    print(f"items: {len(items)} ({', '.join(dec.stats.lines())})")
    print(
        f"pages: {len(texts)}, {mb:.1f} MB; kinds: "
        + ", ".join(
            f"{k} {sum(1 for p in pages if p[1] == k)}"
            for k in ("clean", "verbatim", "edited", "translated", "template", "gsm8k-train")
        )
    )
    rows = [("ours (skyforge.data.decontam)", build, scan, ours_flag)]
    if args.lmeval_python:
        job = work / "janitor.json"
        job.write_text(json.dumps({"probes": _probes(items), "pages": texts}))
        res = subprocess.run(
            [args.lmeval_python, __file__, "--janitor-worker", str(job)],
            capture_output=True,
            text=True,
            check=True,
        )
        out = json.loads(res.stdout.strip().splitlines()[-1])
        rows.append(
            ("lm-eval 0.4.13 Janitor (13-gram)", out["build_s"], out["scan_s"], out["flags"])
        )
    print(f"\n{'system':34} {'index s':>8} {'scan s':>8} {'docs/s/core':>12} {'MB/s/core':>10}")
    for name, b, s, _ in rows:
        print(f"{name:34} {b:8.2f} {s:8.2f} {len(texts) / s:12.0f} {mb / s:10.2f}")
    if len(rows) == 2:
        print(f"ratio ours / lm-eval: {rows[1][2] / rows[0][2]:.2f}x docs/s")

    print("\nrecall per planted kind (ours: the planted item found; lm-eval: page flagged)")
    for kind in ("verbatim", "edited", "translated"):
        idx = [i for i, p in enumerate(pages) if p[1] == kind]
        ours = sum(any(_key(m) == pages[i][2] for m in found[i]) for i in idx) / len(idx)
        cells = [f"ours {ours:.3f}"]
        if len(rows) == 2:
            cells.append(f"lm-eval {sum(rows[1][3][i] for i in idx) / len(idx):.3f}")
        for lang in ("zh", "en"):
            sub = [i for i in idx if _lang_of(pages[i][0]) == lang]
            if sub:
                r = sum(any(_key(m) == pages[i][2] for m in found[i]) for i in sub) / len(sub)
                cells.append(f"ours on {lang} pages {r:.3f} ({len(sub)})")
        print(f"  {kind:11} ({len(idx)} pages): " + "; ".join(cells))
    print("false flags per negative kind")
    for kind in ("clean", "template", "gsm8k-train"):
        idx = [i for i, p in enumerate(pages) if p[1] == kind]
        if idx:
            cells = [f"ours {sum(ours_flag[i] for i in idx)}"]
            if len(rows) == 2:
                cells.append(f"lm-eval {sum(rows[1][3][i] for i in idx)}")
            print(f"  {kind:11} ({len(idx)} pages): " + ", ".join(cells))
    wrong = sum(1 for i, p in enumerate(pages) if p[2] and any(_key(m) != p[2] for m in found[i]))
    print(f"leak pages where ours also named another item: {wrong}")
    if args.wmt_dir is not None:
        print("cross-lingual recall on human translations (ours)")
        print("\n".join(wmt_recall(args, cfg)))


def _lang_of(text: str) -> str:
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    return "zh" if cjk * 4 > len(text) else "en"


if __name__ == "__main__":
    sys.exit(main())
