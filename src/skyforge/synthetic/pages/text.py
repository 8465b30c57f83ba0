"""The prose every synthetic page is made of: documents, slot filling, titles and bylines.

A page's main content is a ``Doc``: a title, a byline and ``Block`` paragraphs (tagged so that
the site chrome renders each as HTML). Sentences come from the templates of ``vocab.general``,
whose ``{slot}`` names are filled one draw per occurrence by ``EnDraw`` / ``ZhDraw``; both bias
the nouns towards one article's focus, so an article stays on its topic while two articles
share almost no word 5-gram (what keeps unrelated pages far from the near-dedup threshold).
English needs a little grammar on top (plurals, third person, "a" / "an", title case).

Used by every page builder of the crawl and by the reference set (``synthetic.reference``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from skyforge.synthetic.vocab import general as V


class Block(NamedTuple):
    """One piece of main content: ``tag`` is p, h2, pre, caps, link, plink, p_en or p_zh."""

    tag: str
    text: str
    href: str = ""


@dataclass(frozen=True)
class Doc:
    """The main content of a page, before site chrome is wrapped around it."""

    title: str
    byline: str
    blocks: tuple[Block, ...]

    @property
    def main_text(self) -> str:
        parts = [self.title, self.byline] + [b.text for b in self.blocks]
        return "\n".join(p for p in parts if p)


_SLOT = re.compile(r"\{(\w+)\}")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "its"}


def fill(template: str, draw: Callable[[str], str]) -> str:
    """Replace every ``{slot}`` with a fresh draw (two equal slots get independent values)."""
    return _SLOT.sub(lambda m: draw(m.group(1)), template)


def plural(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if last.endswith("sis"):
        last = last[:-3] + "ses"
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def capitalize(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])(?!uni|use|usu|eu|one)")


def fix_articles(text: str) -> str:
    """``a ambitious plan`` -> ``an ambitious plan`` (slots are filled blind to the next word)."""
    return _A_BEFORE_VOWEL.sub(lambda m: m.group(1) + "n ", text)


def title_case(text: str) -> str:
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        out.append(w if (i and w in _SMALL_WORDS) or not w[:1].islower() else w[:1].upper() + w[1:])
    return " ".join(out)


def _en_number(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(12, 990) * 100:,}"
    return f"{rng.randint(11, 99) / 10:.1f} million"


class EnDraw:
    """Slot filler for English templates, biased towards one article's focus nouns."""

    def __init__(self, rng: random.Random, topic: str):
        self.rng = rng
        other = rng.choice([t for t in V.EN_TOPICS if t != topic])
        self.focus = rng.sample(V.EN_TOPICS[topic], 8) + rng.sample(V.EN_TOPICS[other], 2)
        self.people = [
            f"{rng.choice(V.EN_FIRST_NAMES)} {rng.choice(V.EN_LAST_NAMES)}" for _ in range(3)
        ]

    def __call__(self, slot: str) -> str:
        r = self.rng
        match slot:
            case "n":
                return r.choice(self.focus)
            case "ns":
                return plural(r.choice(self.focus))
            case "g":
                return r.choice(V.EN_GENERAL_NOUNS)
            case "gs":
                return plural(r.choice(V.EN_GENERAL_NOUNS))
            case "a":
                return r.choice(V.EN_ADJECTIVES)
            case "adv":
                return r.choice(V.EN_ADVERBS)
            case "v":
                return third_person(r.choice(V.EN_VERBS)[0])
            case "vd":
                return r.choice(V.EN_VERBS)[1]
            case "vb":
                return r.choice(V.EN_VERBS)[0]
            case "person":
                # Articles quote the same few people, and some passers-by.
                if r.random() < 0.7:
                    return r.choice(self.people)
                return f"{r.choice(V.EN_FIRST_NAMES)} {r.choice(V.EN_LAST_NAMES)}"
            case "role":
                return r.choice(V.EN_ROLES)
            case "org":
                return r.choice(V.EN_ORGS)
            case "city":
                return r.choice(V.EN_CITIES)
            case "num":
                return str(r.randint(2, 40))
            case "big":
                return _en_number(r)
            case "pct":
                return f"{r.randint(2, 95)} percent"
            case "year":
                return str(r.randint(2008, 2024))
            case "when":
                return r.choice(V.EN_TIMES)
            case "conn":
                return r.choice(V.EN_CONNECTORS)
        raise AssertionError(f"unknown English slot {slot!r}")


class ZhDraw:
    """Slot filler for Chinese templates, biased towards one article's focus nouns."""

    def __init__(self, rng: random.Random, topic: str):
        self.rng = rng
        other = rng.choice([t for t in V.ZH_TOPICS if t != topic])
        self.focus = rng.sample(V.ZH_TOPICS[topic], 8) + rng.sample(V.ZH_TOPICS[other], 2)
        self.people = [self.name() for _ in range(3)]

    def name(self) -> str:
        return self.rng.choice(V.ZH_SURNAMES) + self.rng.choice(V.ZH_GIVEN_NAMES)

    def __call__(self, slot: str) -> str:
        r = self.rng
        match slot:
            case "n":
                return r.choice(self.focus)
            case "g":
                return r.choice(V.ZH_GENERAL_NOUNS)
            case "a":
                return r.choice(V.ZH_ADJECTIVES)
            case "adv":
                return r.choice(V.ZH_ADVERBS)
            case "v":
                return r.choice(V.ZH_VERBS)
            case "person":
                return r.choice(self.people) if r.random() < 0.7 else self.name()
            case "role":
                return r.choice(V.ZH_ROLES)
            case "org":
                return r.choice(V.ZH_ORGS)
            case "city":
                return r.choice(V.ZH_CITIES)
            case "num":
                return str(r.randint(2, 40))
            case "big":
                return f"{r.randint(2, 980)}{r.choice(['万', '亿'])}"
            case "pct":
                return f"{r.randint(1, 80)}.{r.randint(0, 9)}%"
            case "year":
                return str(r.randint(2008, 2024))
            case "when":
                return r.choice(V.ZH_TIMES)
            case "conn":
                return r.choice(V.ZH_CONNECTORS)
        raise AssertionError(f"unknown Chinese slot {slot!r}")


def en_paragraphs(rng: random.Random, draw: EnDraw, num: int) -> list[str]:
    paras = []
    for _ in range(num):
        sentences = [fill(rng.choice(V.EN_TEMPLATES), draw) for _ in range(rng.randint(3, 5))]
        paras.append(fix_articles(" ".join(capitalize(t) for t in sentences)))
    return paras


def zh_paragraphs(rng: random.Random, draw: ZhDraw, num: int) -> list[str]:
    return [
        "".join(fill(rng.choice(V.ZH_TEMPLATES), draw) for _ in range(rng.randint(3, 5)))
        for _ in range(num)
    ]


def en_title(rng: random.Random, draw: EnDraw) -> str:
    return title_case(fix_articles(fill(rng.choice(V.EN_TITLE_TEMPLATES), draw)))


def zh_title(rng: random.Random, draw: ZhDraw) -> str:
    return fill(rng.choice(V.ZH_TITLE_TEMPLATES), draw)


def en_byline(rng: random.Random, when: date, updated: bool = False) -> str:
    author = f"{rng.choice(V.EN_FIRST_NAMES)} {rng.choice(V.EN_LAST_NAMES)}"
    stamp = f"{V.EN_MONTHS[when.month - 1]} {when.day}, {when.year}"
    verb = "Updated" if updated else "Published"
    return f"By {author} | {verb} {stamp}, {rng.randint(6, 22)}:{rng.randint(0, 59):02d}"


def zh_byline(rng: random.Random, when: date, source: str, updated: bool = False) -> str:
    author = rng.choice(V.ZH_SURNAMES) + rng.choice(V.ZH_GIVEN_NAMES)
    verb = "更新时间" if updated else "发布时间"
    stamp = f"{when.isoformat()} {rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}"
    return f"{verb}：{stamp}  来源：{source}  作者：{author}"
