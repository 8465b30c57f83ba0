"""A stand-in for the quality classifier's reference set (its positives), for the embedded default.

CCNet and RefinedWeb train their quality classifiers on text from a trusted source (Wikipedia, or
pages Wikipedia cites) against random crawl text; a cluster run points
``quality_model.reference`` at such a set (``data.classifiers.reference``). The default has no
download, so ``synthesize_reference`` writes one in the curated style, by its own generator, not
the crawl's article one: encyclopedia entries (definitions, classifications, history) and
textbook sections (a definition, then worked examples), plus a share of "cited" pages (clean
articles and worked problems of the crawl's generators, without chrome). They share the crawl's
topic vocabulary, as Wikipedia shares the news' words, but none of its sentence templates; so
the classifier has something to learn, and what it learns is a kind of text: the crawl's
ordinary articles sit between the two classes, while fluent junk (``low_quality`` pages)
resembles the reference least.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from skyforge.data.classifiers.reference import REFERENCE_SCHEMA
from skyforge.data.docs import write_table
from skyforge.synthetic.pages.articles import article_doc, parallel_doc
from skyforge.synthetic.pages.sites import Sites
from skyforge.synthetic.pages.stem import PROBLEMS, stem_doc
from skyforge.synthetic.pages.text import EnDraw, ZhDraw, capitalize, fill, fix_articles, title_case
from skyforge.synthetic.vocab import general as V

# A seed far from the crawl's so that no reference text shares the crawl's random draws.
_SEED_OFFSET = 1_000_003
# Share of pages from trusted outlets (LLaMA's "pages used as references in Wikipedia"): clean
# articles and worked problems from the crawl's generators, without page chrome.
_CITED_SHARE = 0.5
# Share of textbook sections with worked examples (the rest are encyclopedia entries).
_TEXTBOOK_SHARE = 0.3

# Encyclopedia sentences: third person, present tense, definitional; slots as in ``pages.text``
# (n/ns focus nouns, g/gs general nouns, a adjective, vb/v verbs) plus {field} and {era}.
_EN_ENTRY = [
    "A {n} is a {a} {g} used in {field} to {vb} {gs} and related {ns}.",
    "The term {n} has been used since {era} to describe {a} {ns}.",
    "In {field}, {ns} are usually classified by their {g} and by their {g}.",
    "Early {ns} were {a} and {a}; later designs became more {a}.",
    "The {g} of a {n} depends mainly on the {g} of its components.",
    "{Ns} are described in terms of {g}, {g} and {g}.",
    "Historically, the development of the {n} was closely linked to that of the {n}.",
    "Several types of {n} exist, including the {a} {n} and the {a} {n}.",
    "Standard references define the {n} as the {g} through which {ns} {vb} a {g}.",
    "The concept was later extended to {ns}, which share many of the same {gs}.",
    "A {a} {n} differs from a {a} {n} chiefly in its {g}.",
    "Most accounts distinguish between the {g} of a {n} and its {g}.",
    "The first systematic study of {ns} appeared in {era}.",
    "Because a {n} {v} the {g}, it is often treated together with the {n}.",
    "The {a} form of the {n} is now the most widely documented.",
]
_EN_TEXTBOOK = [
    "Definition. A {n} is called {a} if its {g} does not change the {g} of the {n}.",
    "This section introduces the {n} and its role in {field}.",
    "We first state the {g} of a {n}, then show how it applies to {ns}.",
    "Note that every {a} {n} is also a {n}, but the converse does not hold.",
    "The following examples show the method step by step.",
]
_ZH_ENTRY = [
    "{n}是{field}领域中的一种{a}{g}，主要用于{v}{g}。",
    "{n}一词最早见于{era}，用来指称{a}{n}。",
    "按照{g}的不同，{n}通常可以分为{a}{n}和{a}{n}两类。",
    "早期的{n}结构{a}，后来的{n}则更加{a}。",
    "{n}的{g}主要取决于其组成部分的{g}。",
    "在{field}领域的研究中，{n}通常从{g}、{g}和{g}三个方面加以描述。",
    "历史上，{n}的发展与{n}的发展密切相关。",
    "常见的{n}包括{a}{n}和{a}{n}等类型。",
    "一般文献把{n}定义为{v}{g}的基本{g}。",
    "这一概念后来被推广到{n}，二者在{g}上有许多共同之处。",
    "{a}{n}与{a}{n}的区别主要在于{g}。",
    "对{n}的系统研究始于{era}。",
    "由于{n}能够{v}{g}，它常与{n}一并讨论。",
]
_ZH_TEXTBOOK = [
    "定义：若{n}的{g}不改变{n}的{g}，则称其为{a}{n}。",
    "本节介绍{n}及其在{field}领域中的作用。",
    "下面先给出{n}的{g}，再说明它如何应用于{n}。",
    "注意：每一个{a}{n}都是{n}，但反过来并不成立。",
    "下面的例题逐步说明这一方法。",
]
_EN_ERAS = [
    "the early nineteenth century",
    "the 1920s",
    "the late 1950s",
    "the 1970s",
    "the interwar period",
    "the Victorian era",
    "the postwar decades",
    "antiquity",
]
_ZH_ERAS = [
    "十九世纪初",
    "二十世纪二十年代",
    "二十世纪五十年代末",
    "二十世纪七十年代",
    "清代中叶",
    "民国时期",
    "战后数十年",
    "古代文献",
]


def _en_entry(rng: random.Random, textbook: bool) -> str:
    topic = rng.choice(list(V.EN_TOPICS))
    draw = EnDraw(rng, topic)

    def slot(name: str) -> str:
        if name == "field":
            return topic
        if name == "era":
            return rng.choice(_EN_ERAS)
        if name == "Ns":
            return capitalize(draw("ns"))
        return draw(name)

    head = draw.focus[0]
    title = title_case(head) if not textbook else f"Chapter {rng.randint(1, 20)}: {head}"
    pool = _EN_TEXTBOOK if textbook else _EN_ENTRY
    paras = []
    for _ in range(rng.randint(3, 6) if not textbook else 1):
        picks = rng.sample(pool, rng.randint(3, min(5, len(pool))))
        paras.append(fix_articles(" ".join(capitalize(fill(t, slot)) for t in picks)))
    if textbook:
        for k in range(rng.randint(2, 3)):
            _, make = rng.choice(PROBLEMS)
            p = make(rng)
            steps = " ".join(p.en_steps)
            paras.append(f"Example {k + 1}. {p.en_q} Solution. {steps} Hence {p.en_answer}.")
    return "\n".join([title, *paras])


def _zh_entry(rng: random.Random, textbook: bool) -> str:
    topic = rng.choice(list(V.ZH_TOPICS))
    draw = ZhDraw(rng, topic)

    def slot(name: str) -> str:
        if name == "field":
            return topic
        if name == "era":
            return rng.choice(_ZH_ERAS)
        return draw(name)

    head = draw.focus[0]
    title = head if not textbook else f"第{rng.randint(1, 20)}章 {head}"
    pool = _ZH_TEXTBOOK if textbook else _ZH_ENTRY
    paras = []
    for _ in range(rng.randint(3, 6) if not textbook else 1):
        picks = rng.sample(pool, rng.randint(3, min(5, len(pool))))
        paras.append("".join(fill(t, slot) for t in picks))
    if textbook:
        for k in range(rng.randint(2, 3)):
            _, make = rng.choice(PROBLEMS)
            p = make(rng)
            paras.append(f"例{k + 1}：{p.zh_q}解：{''.join(p.zh_steps)}答：{p.zh_answer}")
    return "\n".join([title, *paras])


def synthesize_reference(seed: int, num_docs: int, out: Path) -> int:
    """Write ``num_docs`` curated-style documents (half English, half Chinese) to ``out``.

    Args:
        seed: the crawl's seed (offset, so no draw repeats the crawl's).
        num_docs: documents to write.
        out: Parquet file (``REFERENCE_SCHEMA``).

    Returns:
        The number of documents written.
    """
    rng = random.Random(seed + _SEED_OFFSET)
    sites = Sites(rng)
    day0 = date(2020, 1, 1)
    rows = []
    for i in range(num_docs):
        lang = "en" if i % 2 == 0 else "zh"
        if rng.random() < _CITED_SHARE:
            when = day0 + timedelta(days=rng.randrange(1000))
            pick = rng.random()
            if pick < 0.3:
                doc = stem_doc(rng, lang, when)
            elif pick < 0.45 and lang == "zh":
                # Bilingual pages count as Chinese, as the language filter labels them.
                doc = parallel_doc(rng, when)
            else:
                doc = article_doc(rng, lang, when, sites.make(lang))
            # Title, byline and paragraphs: what the extractor keeps of a crawled page (a byline
            # in one class only would teach the classifier "a dated page is a crawled page").
            text = doc.main_text
        else:
            textbook = rng.random() < _TEXTBOOK_SHARE
            text = _zh_entry(rng, textbook) if lang == "zh" else _en_entry(rng, textbook)
        rows.append({"text": text, "lang": lang})
    return write_table(out, rows, REFERENCE_SCHEMA)
