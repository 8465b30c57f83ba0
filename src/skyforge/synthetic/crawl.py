"""A synthetic bilingual Common-Crawl-style crawl whose every record has a known fate.

The embedded default configuration cannot download a real crawl, yet every later step (extraction,
language and URL filters, heuristics, exact / near / substring dedup) must be checked against
something it can get wrong. This module therefore writes real WARC/1.1 files, laid out as Common
Crawl's are (``warcinfo`` first, then ``request`` + ``response`` pairs, one gzip member per
record), filled with pages whose correct treatment is written down beside them in
``ground_truth.parquet``:

* kept pages: English and Chinese articles, standard-library code, STEM question + worked answer
  pages (arithmetic that is actually correct), EN-ZH parallel pages;
* pages a step must remove, one step each (``REMOVAL_STEPS``): non-HTML, revisit and truncated
  records (``extract``), adult pages on blocklisted domains (``url_filter``), articles whose text
  is UTF-8 misread as GBK / Windows-1252 with bytes lost (``encoding``), French / German /
  Spanish / Japanese pages (``language``), keyword spam and boilerplate-only pages
  (``heuristic``), harmful and spam pages on random unlisted domains, a third of the Chinese ones
  in traditional script (``harmful``: adult listings above a copied article, gambling
  promotions, contact-stuffed ads, casino link farms, error pages of gambling links), exact
  copies (``exact_dedup``) and near copies (``near_dedup``) of kept pages, and gambling
  promotions whose key words are broken up by symbols (``harmful_model``), and fluent
  low-quality pages that pass every rule: SEO listicles, templated what-is pages and spun
  articles on consumer products (``quality_model``);
* kept after a repair: articles with paragraphs of lossless UTF-8-as-Windows-1252 mojibake
  (``mojibake_fixable``);
* real-crawl junk on every page: navigation, cookie banners, sidebars, footers, scripts and
  styles; a share of pages carries one identical site-wide month drop-down inside the article
  (the Index-1.9B finding that only exact-substring dedup removes); a share of Chinese pages is
  GBK-encoded, declared either in the HTTP header or only in ``<meta>``.

Determinism: every random choice comes from ``random.Random`` seeded from the config seed (per
page from ``f"{seed}/{uid}/{purpose}"``, which Python hashes with SHA-512, so the result does not
depend on ``PYTHONHASHSEED``). Record ids are UUIDs built from RNG bits, dates come from the RNG,
and warcio's gzip members are written by ``zlib`` with a zero mtime, so the same configuration,
shard count and Python installation give byte-identical files. (Code pages quote the running
interpreter's standard library, so a different Python version gives different code pages.)

Ground truth holds one row per ``response`` or ``revisit`` record, i.e. per fetched document
(HTML pages, non-HTML payloads, revisits and truncated records); ``warcinfo`` and ``request``
records carry no document and get no row. ``expected_step`` names the first step in pipeline
order that should remove the document, or is null when it should survive. Duplicates: the
first member of a duplicate cluster in reading order (shard, then position in the shard) is the
original and is kept; the others point to it through ``dup_of``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import logging
import math
import os
import random
import re
import struct
import sysconfig
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from skyforge.config import SyntheticCrawlConfig
from skyforge.synthetic import _harmful_vocab as H
from skyforge.synthetic import _lowq_vocab as L
from skyforge.synthetic import _vocab as V
from skyforge.data import host_in_blocklist, load_blocklist

__all__ = [
    "REMOVAL_STEPS",
    "PAGE_KINDS",
    "EXTRA_KINDS",
    "DROPDOWN_HTML_EN",
    "DROPDOWN_HTML_ZH",
    "DROPDOWN_TEXT_EN",
    "DROPDOWN_TEXT_ZH",
    "GROUND_TRUTH_SCHEMA",
    "synthesize_crawl",
    "shard_name",
]

log = logging.getLogger(__name__)

REMOVAL_STEPS = (
    "extract",
    "url_filter",
    "encoding",
    "language",
    "heuristic",
    "harmful",
    "exact_dedup",
    "near_dedup",
    "quality_model",
    "harmful_model",
)
"""Pipeline steps that remove documents, in pipeline order (``expected_step`` values)."""

PAGE_KINDS = (
    "en_article",
    "zh_article",
    "code",
    "stem_qa",
    "parallel",
    "spam",
    "adult",
    "other_lang",
    "boilerplate_only",
    "adult_listing",
    "gambling_promo",
    "contact_spam",
    "link_farm",
    "error_links",
    "harmful_evasive",
    "mojibake",
    "mojibake_fixable",
    "low_quality",
)
"""HTML page kinds that ``SyntheticCrawlConfig.mix`` shares out ``num_pages`` between."""

HARMFUL_KINDS = (
    "adult_listing",
    "gambling_promo",
    "contact_spam",
    "link_farm",
    "error_links",
    "harmful_evasive",
)
"""Harmful and spam pages on random, unlisted domains that only their content gives away."""

EXTRA_KINDS = ("non_html", "revisit", "truncated")
"""Records written on top of ``num_pages``."""

# The first step that removes each kind; kinds not listed are kept unless duplicated.
_KIND_STEP = {
    "adult": ("url_filter", "domain on the adult blocklist"),
    "other_lang": ("language", "not Chinese or English"),
    "spam": ("heuristic", "keyword-stuffed spam with a link farm"),
    "boilerplate_only": ("heuristic", "navigation and boilerplate only, no main content"),
    "non_html": ("extract", "not HTML"),
    "revisit": ("extract", "revisit record: no payload"),
    "truncated": ("extract", "truncated record"),
    "adult_listing": ("harmful", "adult-video listing titles above a copied article"),
    "gambling_promo": ("harmful", "gambling promotion: deposit bonuses, agents, contact lines"),
    "contact_spam": ("harmful", "service ad stuffed with QQ / WeChat / phone contacts"),
    "link_farm": ("harmful", "link farm of casino mirror domains"),
    "error_links": ("harmful", "error page stuffed with gambling links"),
    "harmful_evasive": ("harmful_model", "gambling promotion with its key words broken up"),
    "mojibake": ("encoding", "body is UTF-8 read as GBK / Windows-1252, bytes lost"),
    "low_quality": ("quality_model", "fluent low-quality text: SEO listicle, what-is page, spun"),
}
# Kinds written with encoding damage in their content: served as UTF-8 (the damage is in the
# text the site stored, not in the transfer), never drawn for GBK.
_MOJIBAKE_KINDS = ("mojibake", "mojibake_fixable")
# Duplicates are drawn from kept kinds only, so that dedup is scored on documents no earlier
# step removes; near copies only from prose long enough for small edits to stay above 0.8.
_EXACT_DUP_KINDS = ("en_article", "zh_article", "code", "stem_qa", "parallel")
_NEAR_DUP_KINDS = ("en_article", "zh_article")
_MIN_NEAR_JACCARD = 0.82
_CLUSTER_COPIES = (1, 1, 1, 1, 2, 2, 3)  # copies per original, drawn uniformly
_SOFTWARE = "skyforge-synth-crawl/0.1"
_USER_AGENT = "Mozilla/5.0 (compatible; SkyforgeSynthBot/0.1; synthetic crawl)"


def shard_name(index: int) -> str:
    """File name of shard ``index`` (``shard-00000.warc.gz``), shared with ``crawl.shard_warcs``."""
    return f"shard-{index:05d}.warc.gz"


# ---------------------------------------------------------------------------------------------
# The site-wide archive drop-down (identical bytes on every page that carries it)
# ---------------------------------------------------------------------------------------------


def _dropdown(label: str, prompt: str, months: list[tuple[str, str]]) -> tuple[str, str]:
    # A script-driven menu (opens on hover) whose items are plain text lines inside the article
    # container, as many CMS themes render it. Extractors keep it: nothing in the markup says
    # "boilerplate" (a <select> or a list of links they would drop), which is how such text
    # reaches a corpus thousands of times and why only substring dedup removes it.
    items = "<br>".join(t for _, t in months)
    markup = (
        f'<div class="archive-menu" data-menu="archives" data-months="{len(months)}">'
        f"{label}<br>{prompt}<br>{items}</div>"
    )
    text = "\n".join([label, prompt] + [t for _, t in months])
    return markup, text


_MONTHS = [(y, m) for y in range(2023, 2018, -1) for m in range(12, 0, -1)]  # newest first
DROPDOWN_HTML_EN, DROPDOWN_TEXT_EN = _dropdown(
    "Archives", "Select Month", [(f"{y}/{m:02d}", f"{V.EN_MONTHS[m - 1]} {y}") for y, m in _MONTHS]
)
DROPDOWN_HTML_ZH, DROPDOWN_TEXT_ZH = _dropdown(
    "文章归档", "选择月份", [(f"{y}/{m:02d}", f"{y}年{m}月") for y, m in _MONTHS]
)


# ---------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------

GROUND_TRUTH_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("url", pa.string()),
        ("shard", pa.int32()),
        ("offset", pa.int64()),
        ("record_type", pa.string()),
        ("kind", pa.string()),
        ("lang", pa.string()),
        ("encoding", pa.string()),
        ("charset_in_header", pa.bool_()),
        ("content_type", pa.string()),
        ("crawl_date", pa.timestamp("s", tz="UTC")),
        ("dup_cluster", pa.int64()),
        ("dup_of", pa.string()),
        ("dup_type", pa.string()),
        ("expected_step", pa.string()),
        ("reason", pa.string()),
        ("has_dropdown", pa.bool_()),
        ("title", pa.string()),
        ("main_text", pa.string()),
    ]
)
"""Columns of ``ground_truth.parquet``. Beyond the scoring columns: ``offset`` (byte offset of the
record's gzip member in its shard), ``record_type`` (response / revisit), ``content_type`` (of the
HTTP response), ``charset_in_header`` (whether the HTTP header names the charset; otherwise only
``<meta>`` does), ``title`` and ``main_text`` (the text a perfect extractor returns: title, date
line and body, without navigation, boilerplate or the drop-down; null for non-HTML)."""


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


class _Block(NamedTuple):
    """One piece of main content: ``tag`` is p, h2, pre, caps, link, plink, p_en or p_zh."""

    tag: str
    text: str
    href: str = ""


@dataclass(frozen=True)
class _Doc:
    """The main content of a page, before site chrome is wrapped around it."""

    title: str
    byline: str
    blocks: tuple[_Block, ...]

    @property
    def main_text(self) -> str:
        parts = [self.title, self.byline] + [b.text for b in self.blocks]
        return "\n".join(p for p in parts if p)


@dataclass
class _Site:
    host: str
    name: str
    lang: str  # html lang attribute family: en, zh, fr, de, es, ja
    nav: list[str]
    footer: list[str]
    cookie: str
    headlines: list[str]
    server: str
    ip: str


@dataclass
class _Item:
    """One response or revisit record to write (a page, a non-HTML payload, a revisit...)."""

    uid: int
    kind: str
    lang: str
    site: _Site
    sublang: str = ""  # other_lang: fr/de/es/ja; non_html: png/pdf
    encoding: str | None = "utf-8"
    charset_in_header: bool = True
    has_dropdown: bool = False
    cluster: int = -1
    dup_type: str | None = None  # set on copies only
    source: int | None = None  # uid of the cluster's original (copies) or revisit referent
    copy_index: int = 0
    shard: int = 0
    slot: int = 0  # position in the global shuffled order
    url: str = ""
    date: datetime | None = None
    record_id: str = ""
    request_id: str = ""


# ---------------------------------------------------------------------------------------------
# Text generation helpers
# ---------------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)\}")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "its"}


def _fill(template: str, draw: Callable[[str], str]) -> str:
    """Replace every ``{slot}`` with a fresh draw (two equal slots get independent values)."""
    return _SLOT.sub(lambda m: draw(m.group(1)), template)


def _plural(noun: str) -> str:
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


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _capitalize(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])(?!uni|use|usu|eu|one)")


def _fix_articles(text: str) -> str:
    """``a ambitious plan`` -> ``an ambitious plan`` (slots are filled blind to the next word)."""
    return _A_BEFORE_VOWEL.sub(lambda m: m.group(1) + "n ", text)


def _title_case(text: str) -> str:
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        out.append(w if (i and w in _SMALL_WORDS) or not w[:1].islower() else w[:1].upper() + w[1:])
    return " ".join(out)


def _en_number(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(12, 990) * 100:,}"
    return f"{rng.randint(11, 99) / 10:.1f} million"


class _EnDraw:
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
                return _plural(r.choice(self.focus))
            case "g":
                return r.choice(V.EN_GENERAL_NOUNS)
            case "gs":
                return _plural(r.choice(V.EN_GENERAL_NOUNS))
            case "a":
                return r.choice(V.EN_ADJECTIVES)
            case "adv":
                return r.choice(V.EN_ADVERBS)
            case "v":
                return _third_person(r.choice(V.EN_VERBS)[0])
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


class _ZhDraw:
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


def _en_paragraphs(rng: random.Random, draw: _EnDraw, num: int) -> list[str]:
    paras = []
    for _ in range(num):
        sentences = [_fill(rng.choice(V.EN_TEMPLATES), draw) for _ in range(rng.randint(3, 5))]
        paras.append(_fix_articles(" ".join(_capitalize(t) for t in sentences)))
    return paras


def _zh_paragraphs(rng: random.Random, draw: _ZhDraw, num: int) -> list[str]:
    return [
        "".join(_fill(rng.choice(V.ZH_TEMPLATES), draw) for _ in range(rng.randint(3, 5)))
        for _ in range(num)
    ]


def _en_title(rng: random.Random, draw: _EnDraw) -> str:
    return _title_case(_fix_articles(_fill(rng.choice(V.EN_TITLE_TEMPLATES), draw)))


def _zh_title(rng: random.Random, draw: _ZhDraw) -> str:
    return _fill(rng.choice(V.ZH_TITLE_TEMPLATES), draw)


def _en_byline(rng: random.Random, when: date, updated: bool = False) -> str:
    author = f"{rng.choice(V.EN_FIRST_NAMES)} {rng.choice(V.EN_LAST_NAMES)}"
    stamp = f"{V.EN_MONTHS[when.month - 1]} {when.day}, {when.year}"
    verb = "Updated" if updated else "Published"
    return f"By {author} | {verb} {stamp}, {rng.randint(6, 22)}:{rng.randint(0, 59):02d}"


def _zh_byline(rng: random.Random, when: date, source: str, updated: bool = False) -> str:
    author = rng.choice(V.ZH_SURNAMES) + rng.choice(V.ZH_GIVEN_NAMES)
    verb = "更新时间" if updated else "发布时间"
    stamp = f"{when.isoformat()} {rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}"
    return f"{verb}：{stamp}  来源：{source}  作者：{author}"


# ---------------------------------------------------------------------------------------------
# STEM problems with worked answers (values computed exactly)
# ---------------------------------------------------------------------------------------------


class _Problem(NamedTuple):
    en_q: str
    en_steps: list[str]
    en_answer: str
    zh_q: str
    zh_steps: list[str]
    zh_answer: str


def _num(x: Fraction | int | Decimal) -> str:
    """Exact decimal when it terminates within 4 places, else a reduced fraction."""
    if isinstance(x, Decimal):
        return format(x.normalize(), "f")
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    scaled = x * 10_000
    if scaled.denominator == 1:
        return format((Decimal(scaled.numerator) / Decimal(10_000)).normalize(), "f")
    return f"{x.numerator}/{x.denominator}"


def _signed(c: int, var: str = "") -> str:
    """`` + 3x`` / `` - 3x`` for a term after the first."""
    return f" {'+' if c >= 0 else '-'} {abs(c)}{var}"


def _p_linear(r: random.Random) -> _Problem:
    a, x, b = r.randint(2, 12), r.randint(-20, 20), r.choice([i for i in range(-60, 61) if i])
    c = a * x + b
    eq = f"{a}x{_signed(b)} = {c}"
    return _Problem(
        f"Solve for x: {eq}.",
        [
            f"Subtract {b} from both sides: {a}x = {c} - ({b}) = {c - b}.",
            f"Divide both sides by {a}: x = {c - b} / {a} = {x}.",
            f"Check: {a} × ({x}){_signed(b)} = {c}.",
        ],
        f"x = {x}",
        f"解方程：{eq}。",
        [
            f"两边同时减去{b}：{a}x = {c} - ({b}) = {c - b}。",
            f"两边同时除以{a}：x = {c - b} ÷ {a} = {x}。",
            f"检验：{a} × ({x}){_signed(b)} = {c}，成立。",
        ],
        f"x = {x}",
    )


def _p_system(r: random.Random) -> _Problem:
    while True:
        a1, b1, a2, b2 = (r.choice([i for i in range(-9, 10) if i]) for _ in range(4))
        det = a1 * b2 - a2 * b1
        if det:
            break
    x, y = r.randint(-12, 12), r.randint(-12, 12)
    c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y
    e1, e2 = f"{a1}x{_signed(b1, 'y')} = {c1}", f"{a2}x{_signed(b2, 'y')} = {c2}"
    dx, dy = c1 * b2 - c2 * b1, a1 * c2 - a2 * c1
    assert Fraction(dx, det) == x and Fraction(dy, det) == y
    steps_en = [
        f"Determinant: D = ({a1})({b2}) - ({a2})({b1}) = {det}.",
        f"Dx = ({c1})({b2}) - ({c2})({b1}) = {dx}, so x = {dx} / {det} = {x}.",
        f"Dy = ({a1})({c2}) - ({a2})({c1}) = {dy}, so y = {dy} / {det} = {y}.",
    ]
    steps_zh = [
        f"系数行列式 D = ({a1})({b2}) - ({a2})({b1}) = {det}。",
        f"Dx = ({c1})({b2}) - ({c2})({b1}) = {dx}，所以 x = {dx} ÷ {det} = {x}。",
        f"Dy = ({a1})({c2}) - ({a2})({c1}) = {dy}，所以 y = {dy} ÷ {det} = {y}。",
    ]
    return _Problem(
        f"Solve the system of equations: {e1} and {e2}.",
        steps_en,
        f"x = {x}, y = {y}",
        f"解方程组：{e1}，{e2}。",
        steps_zh,
        f"x = {x}，y = {y}",
    )


def _p_quadratic(r: random.Random) -> _Problem:
    r1, r2 = r.randint(-12, 12), r.randint(-12, 12)
    s, p = r1 + r2, r1 * r2
    eq = "x²" + (_signed(-s, "x") if s else "") + (_signed(p) if p else "") + " = 0"
    f1 = f"(x{_signed(-r1)})" if r1 else "x"
    f2 = f"(x{_signed(-r2)})" if r2 else "x"
    roots = sorted({r1, r2})
    ans = " or ".join(f"x = {v}" for v in roots)
    zh_ans = " 或 ".join(f"x = {v}" for v in roots)
    return _Problem(
        f"Solve the quadratic equation {eq}.",
        [
            f"Find two numbers whose sum is {s} and whose product is {p}: {r1} and {r2}.",
            f"Factor: {f1}{f2} = 0.",
            f"Set each factor to zero: {ans}.",
        ],
        ans,
        f"解一元二次方程 {eq}。",
        [
            f"找两个数，和为{s}，积为{p}：{r1}和{r2}。",
            f"因式分解：{f1}{f2} = 0。",
            f"令每个因式为零：{zh_ans}。",
        ],
        zh_ans,
    )


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def _p_fractions(r: random.Random) -> _Problem:
    q, s = r.randint(2, 12), r.randint(2, 12)
    p, t = r.randint(1, q * 2), r.randint(1, s * 2)
    lcm = q * s // math.gcd(q, s)
    total = Fraction(p, q) + Fraction(t, s)
    n1, n2 = p * (lcm // q), t * (lcm // s)
    return _Problem(
        f"Compute {p}/{q} + {t}/{s} and simplify.",
        [
            f"The least common denominator of {q} and {s} is {lcm}.",
            f"{p}/{q} = {n1}/{lcm} and {t}/{s} = {n2}/{lcm}.",
            f"Add: ({n1} + {n2})/{lcm} = {n1 + n2}/{lcm} = {_frac(total)}.",
        ],
        _frac(total),
        f"计算 {p}/{q} + {t}/{s}，并化为最简分数。",
        [
            f"{q}和{s}的最小公倍数是{lcm}。",
            f"通分：{p}/{q} = {n1}/{lcm}，{t}/{s} = {n2}/{lcm}。",
            f"相加：({n1} + {n2})/{lcm} = {n1 + n2}/{lcm} = {_frac(total)}。",
        ],
        _frac(total),
    )


def _p_discount(r: random.Random) -> _Problem:
    price, pct = r.randint(3, 60) * 20, r.randint(1, 14) * 5
    off = Fraction(price * pct, 100)
    final = price - off
    return _Problem(
        f"A jacket costs ${price}. It is sold at {pct}% off. What is the sale price?",
        [
            f"The discount is {pct}% of ${price} = {price} × {pct}/100 = ${_num(off)}.",
            f"Sale price = {price} - {_num(off)} = ${_num(final)}.",
        ],
        f"${_num(final)}",
        f"一件外套原价{price}元，现打{_num(Fraction(100 - pct, 10))}折出售，现价是多少元？",
        [
            f"打{_num(Fraction(100 - pct, 10))}折即按原价的{100 - pct}%出售。",
            f"现价 = {price} × {100 - pct}% = {_num(final)}（元）。",
        ],
        f"{_num(final)}元",
    )


def _p_multiply(r: random.Random) -> _Problem:
    a, b = r.randint(101, 999), r.randint(11, 99)
    tens, ones = b // 10 * 10, b % 10
    return _Problem(
        f"Compute {a} × {b}.",
        [
            f"Split {b} = {tens} + {ones}.",
            f"{a} × {tens} = {a * tens}.",
            f"{a} × {ones} = {a * ones}.",
            f"Add: {a * tens} + {a * ones} = {a * b}.",
        ],
        str(a * b),
        f"计算 {a} × {b}。",
        [
            f"把{b}拆成{tens} + {ones}。",
            f"{a} × {tens} = {a * tens}。",
            f"{a} × {ones} = {a * ones}。",
            f"相加：{a * tens} + {a * ones} = {a * b}。",
        ],
        str(a * b),
    )


def _p_kinematics(r: random.Random) -> _Problem:
    v0, a, t = r.randint(0, 20), r.randint(1, 6), r.randint(2, 12)
    v = v0 + a * t
    s = Fraction(v0 * t) + Fraction(a * t * t, 2)
    return _Problem(
        f"A car moving at {v0} m/s accelerates uniformly at {a} m/s² for {t} s. Find its final "
        f"speed and the distance covered.",
        [
            f"v = v0 + a·t = {v0} + {a} × {t} = {v} m/s.",
            f"s = v0·t + a·t²/2 = {v0} × {t} + {a} × {t}²/2 = {_num(s)} m.",
        ],
        f"v = {v} m/s, s = {_num(s)} m",
        f"一辆汽车以{v0} m/s的速度行驶，以{a} m/s²的加速度匀加速运动{t} s，求末速度和位移。",
        [
            f"末速度 v = v0 + at = {v0} + {a} × {t} = {v} m/s。",
            f"位移 s = v0t + at²/2 = {v0} × {t} + {a} × {t}²/2 = {_num(s)} m。",
        ],
        f"v = {v} m/s，s = {_num(s)} m",
    )


def _p_ohm(r: random.Random) -> _Problem:
    res, volt = r.choice([2, 4, 5, 8, 10, 20, 25, 40, 50]), r.randint(1, 48)
    cur = Fraction(volt, res)
    return _Problem(
        f"A {res} Ω resistor is connected to a {volt} V battery. What current flows through it?",
        ["Ohm's law: I = U / R.", f"I = {volt} V / {res} Ω = {_num(cur)} A."],
        f"I = {_num(cur)} A",
        f"把一个{res} Ω的电阻接在{volt} V的电源上，通过电阻的电流是多少？",
        ["由欧姆定律 I = U / R。", f"I = {volt} V ÷ {res} Ω = {_num(cur)} A。"],
        f"I = {_num(cur)} A",
    )


def _p_energy(r: random.Random) -> _Problem:
    m, v = r.randint(1, 80), r.randint(1, 30)
    e = Fraction(m * v * v, 2)
    return _Problem(
        f"What is the kinetic energy of a {m} kg object moving at {v} m/s?",
        ["E = m·v²/2.", f"E = {m} × {v}² / 2 = {m} × {v * v} / 2 = {_num(e)} J."],
        f"E = {_num(e)} J",
        f"质量为{m} kg的物体以{v} m/s的速度运动，它的动能是多少？",
        ["动能 E = mv²/2。", f"E = {m} × {v}² ÷ 2 = {m} × {v * v} ÷ 2 = {_num(e)} J。"],
        f"E = {_num(e)} J",
    )


_ATOMIC_MASS = {
    "H": Decimal("1.008"),
    "C": Decimal("12.011"),
    "N": Decimal("14.007"),
    "O": Decimal("15.999"),
    "Na": Decimal("22.990"),
    "Mg": Decimal("24.305"),
    "S": Decimal("32.06"),
    "Cl": Decimal("35.45"),
    "K": Decimal("39.098"),
    "Ca": Decimal("40.078"),
    "Fe": Decimal("55.845"),
}
_COMPOUNDS = [
    ("H2O", "water", "水", {"H": 2, "O": 1}),
    ("CO2", "carbon dioxide", "二氧化碳", {"C": 1, "O": 2}),
    ("NaCl", "sodium chloride", "氯化钠", {"Na": 1, "Cl": 1}),
    ("C6H12O6", "glucose", "葡萄糖", {"C": 6, "H": 12, "O": 6}),
    ("H2SO4", "sulfuric acid", "硫酸", {"H": 2, "S": 1, "O": 4}),
    ("CaCO3", "calcium carbonate", "碳酸钙", {"Ca": 1, "C": 1, "O": 3}),
    ("NH3", "ammonia", "氨", {"N": 1, "H": 3}),
    ("CH4", "methane", "甲烷", {"C": 1, "H": 4}),
    ("NaOH", "sodium hydroxide", "氢氧化钠", {"Na": 1, "O": 1, "H": 1}),
    ("MgO", "magnesium oxide", "氧化镁", {"Mg": 1, "O": 1}),
    ("KCl", "potassium chloride", "氯化钾", {"K": 1, "Cl": 1}),
    ("Fe2O3", "iron(III) oxide", "氧化铁", {"Fe": 2, "O": 3}),
    ("C2H5OH", "ethanol", "乙醇", {"C": 2, "H": 6, "O": 1}),
]


def _p_moles(r: random.Random) -> _Problem:
    formula, en_name, zh_name, atoms = r.choice(_COMPOUNDS)
    molar = sum(_ATOMIC_MASS[el] * n for el, n in atoms.items())
    mass = Decimal(r.randint(5, 500))
    moles = (mass / molar).quantize(Decimal("0.001"))
    terms = " + ".join(
        f"{n} × {_ATOMIC_MASS[el]}" if n > 1 else f"{_ATOMIC_MASS[el]}" for el, n in atoms.items()
    )
    return _Problem(
        f"How many moles are there in {mass} g of {en_name} ({formula})?",
        [
            f"Molar mass of {formula}: {terms} = {molar} g/mol.",
            f"n = m / M = {mass} g / {molar} g/mol ≈ {moles} mol.",
        ],
        f"n ≈ {moles} mol",
        f"{mass} g {zh_name}（{formula}）的物质的量是多少？",
        [
            f"{formula}的摩尔质量：{terms} = {molar} g/mol。",
            f"n = m / M = {mass} g ÷ {molar} g/mol ≈ {moles} mol。",
        ],
        f"n ≈ {moles} mol",
    )


def _p_dilution(r: random.Random) -> _Problem:
    c1, v1 = r.choice([1, 2, 3, 4, 5, 6, 10, 12]), r.randint(1, 20) * 10
    factor = r.choice([2, 4, 5, 8, 10])
    v2 = v1 * factor
    c2 = Fraction(c1 * v1, v2)
    return _Problem(
        f"{v1} mL of a {c1} mol/L solution is diluted with water to {v2} mL. What is the new "
        f"concentration?",
        [
            "The amount of solute does not change: c1·V1 = c2·V2.",
            f"c2 = {c1} × {v1} / {v2} = {_num(c2)} mol/L.",
        ],
        f"c2 = {_num(c2)} mol/L",
        f"将{v1} mL浓度为{c1} mol/L的溶液加水稀释到{v2} mL，稀释后的浓度是多少？",
        [
            "稀释前后溶质的物质的量不变：c1V1 = c2V2。",
            f"c2 = {c1} × {v1} ÷ {v2} = {_num(c2)} mol/L。",
        ],
        f"c2 = {_num(c2)} mol/L",
    )


_PROBLEMS = (
    ("math", _p_linear),
    ("math", _p_system),
    ("math", _p_quadratic),
    ("math", _p_fractions),
    ("math", _p_discount),
    ("math", _p_multiply),
    ("physics", _p_kinematics),
    ("physics", _p_ohm),
    ("physics", _p_energy),
    ("chemistry", _p_moles),
    ("chemistry", _p_dilution),
)


# ---------------------------------------------------------------------------------------------
# Standard-library code
# ---------------------------------------------------------------------------------------------

_SKIP_STDLIB_DIRS = {
    "test",
    "tests",
    "idlelib",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "lib2to3",
    "turtledemo",
    "ensurepip",
    "tkinter",
}
_TOP_LEVEL_DEF = re.compile(r"^(?:async def|def|class) (\w+)")


@lru_cache(maxsize=1)
def _stdlib_files() -> tuple[Path, ...]:
    """Sorted ``.py`` files of the running interpreter's standard library (tests left out)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_STDLIB_DIRS)
        found.extend(Path(dirpath) / f for f in filenames if f.endswith(".py"))
    return tuple(sorted(found))


def _code_slice(rng: random.Random) -> tuple[str, str, str]:
    """(module path, name of the first definition, source slice) from a random stdlib file."""
    files = _stdlib_files()
    if not files:
        raise RuntimeError(f"no Python files under {sysconfig.get_paths()['stdlib']}")
    for _ in range(20):
        path = files[rng.randrange(len(files))]
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        starts = [i for i, line in enumerate(lines) if _TOP_LEVEL_DEF.match(line)]
        if len(lines) < 20 or not starts:
            continue
        start = rng.choice(starts)
        end = min(len(lines), start + rng.randint(30, 110))
        name = _TOP_LEVEL_DEF.match(lines[start]).group(1)
        rel = path.relative_to(Path(sysconfig.get_paths()["stdlib"])).as_posix()
        return rel, name, "\n".join(lines[start:end]).rstrip()
    raise RuntimeError("could not read a standard-library source file")


# ---------------------------------------------------------------------------------------------
# Per-kind document builders
# ---------------------------------------------------------------------------------------------


def _article_doc(rng: random.Random, lang: str, when: date, site: _Site) -> _Doc:
    if lang == "zh":
        draw = _ZhDraw(rng, rng.choice(list(V.ZH_TOPICS)))
        title = _zh_title(rng, draw)
        byline = _zh_byline(rng, when, site.name)
        paras = _zh_paragraphs(rng, draw, rng.randint(5, 9))
    else:
        draw = _EnDraw(rng, rng.choice(list(V.EN_TOPICS)))
        title = _en_title(rng, draw)
        byline = _en_byline(rng, when)
        paras = _en_paragraphs(rng, draw, rng.randint(5, 9))
    return _Doc(title, byline, tuple(_Block("p", p) for p in paras))


def _code_doc(rng: random.Random, when: date) -> _Doc:
    rel, name, code = _code_slice(rng)
    module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    draw = _EnDraw(rng, "technology")
    intro = (
        f"This note walks through `{name}` from the standard-library module `{module}` "
        f"({rel}). The listing below is the original source."
    )
    outro = _fix_articles(
        " ".join(_capitalize(_fill(rng.choice(V.EN_TEMPLATES), draw)) for _ in range(2))
    )
    title = f"Reading the source: {module}.{name}"
    return _Doc(
        title, _en_byline(rng, when), (_Block("p", intro), _Block("pre", code), _Block("p", outro))
    )


def _stem_doc(rng: random.Random, lang: str, when: date) -> _Doc:
    blocks = []
    fields = []
    for i in range(rng.randint(2, 4)):
        fld, make = rng.choice(_PROBLEMS)
        fields.append(fld)
        p = make(rng)
        if lang == "zh":
            blocks += [_Block("h2", f"第{i + 1}题"), _Block("p", p.zh_q), _Block("p", "解：")]
            blocks += [_Block("p", s) for s in p.zh_steps] + [_Block("p", f"答：{p.zh_answer}")]
        else:
            blocks += [
                _Block("h2", f"Question {i + 1}"),
                _Block("p", p.en_q),
                _Block("p", "Solution:"),
            ]
            blocks += [_Block("p", s) for s in p.en_steps] + [_Block("p", f"Answer: {p.en_answer}")]
    subject = Counter(fields).most_common(1)[0][0]
    if lang == "zh":
        names = {"math": "数学", "physics": "物理", "chemistry": "化学"}
        title = f"{names[subject]}练习题详解（{rng.randint(1, 300)}）"
        byline = (
            f"发布时间：{when.isoformat()}  分类：{names[subject]}  浏览：{rng.randint(50, 9000)}"
        )
    else:
        title = (
            f"{subject.capitalize()} practice problems with worked solutions #{rng.randint(1, 300)}"
        )
        byline = _en_byline(rng, when)
    return _Doc(title, byline, tuple(blocks))


def _parallel_doc(rng: random.Random, when: date) -> _Doc:
    def draw_pair() -> Callable[[str], tuple[str, str]]:
        def draw(slot: str) -> tuple[str, str]:
            match slot:
                case "city":
                    return rng.choice(V.BI_CITIES)
                case "n" | "n2":
                    return rng.choice(V.BI_NOUNS)
                case "org":
                    return rng.choice(V.BI_ORGS)
                case "a":
                    return rng.choice(V.BI_ADJ)
                case "num":
                    v = str(rng.randint(2, 30))
                    return v, v
                case "pct":
                    v = f"{rng.randint(2, 60)}"
                    return f"{v} percent", f"{v}%"
                case "year":
                    v = str(rng.randint(2010, 2024))
                    return v, v
            raise AssertionError(f"unknown bilingual slot {slot!r}")

        return draw

    def fill_pair(en_t: str, zh_t: str) -> tuple[str, str]:
        # Slot values are drawn once per slot occurrence in English order and reused for the
        # Chinese side by position within each slot name, so both sides say the same thing.
        draw = draw_pair()
        values: dict[str, list[tuple[str, str]]] = {}
        en_counts: Counter[str] = Counter()

        def en_draw(slot: str) -> str:
            values.setdefault(slot, []).append(draw(slot))
            en_counts[slot] += 1
            return values[slot][-1][0]

        en = _fill(en_t, en_draw)
        zh_counts: Counter[str] = Counter()

        def zh_draw(slot: str) -> str:
            i = zh_counts[slot]
            zh_counts[slot] += 1
            return values[slot][i][1]

        return _fix_articles(_capitalize(en)), _fill(zh_t, zh_draw)

    en_title, zh_title = fill_pair(*rng.choice(V.BI_TITLES))
    blocks = []
    for _ in range(rng.randint(4, 8)):
        pairs = [fill_pair(*rng.choice(V.BI_TEMPLATES)) for _ in range(rng.randint(2, 4))]
        blocks.append(_Block("p_en", " ".join(e for e, _ in pairs)))
        blocks.append(_Block("p_zh", "".join(z for _, z in pairs)))
    return _Doc(
        f"{zh_title} | {_title_case(en_title)}", f"发布时间：{when.isoformat()}", tuple(blocks)
    )


def _spam_doc(rng: random.Random, lang: str) -> _Doc:
    targets = sorted(load_blocklist("spam") | load_blocklist("gambling"))
    if lang == "zh":
        kws, caps, sep = V.ZH_SPAM_KEYWORDS, V.ZH_SPAM_CAPS, ""
        city = rng.choice(V.ZH_CITIES)
    else:
        kws, caps, sep = V.EN_SPAM_KEYWORDS, V.EN_SPAM_CAPS, " "
        city = rng.choice(V.EN_CITIES)
    main = rng.sample(kws, 3)
    title = sep.join(main) + (" | " if lang == "en" else "｜") + sep.join(rng.sample(kws, 3))
    blocks = []
    for _ in range(rng.randint(3, 6)):
        stuffed = sep.join(rng.choice(main + kws[:5]) for _ in range(rng.randint(30, 70)))
        blocks.append(_Block("p", stuffed))
        blocks.append(_Block("caps", rng.choice(caps)))
    phrase = f"{main[0]}{city}{main[1]}" if lang == "zh" else f"best {main[0]} in {city}"
    blocks.append(_Block("p", (sep or " ").join([phrase] * rng.randint(8, 20))))
    for _ in range(rng.randint(25, 60)):
        host = rng.choice(targets)
        anchor = sep.join(rng.sample(kws, 2))
        blocks.append(_Block("link", anchor, f"https://{host}/{rng.randint(100, 99999)}.html"))
    return _Doc(title, "", tuple(blocks))


def _adult_doc(rng: random.Random, lang: str, site: _Site) -> _Doc:
    if lang == "zh":
        kws = V.ZH_ADULT_KEYWORDS
        title = f"{site.name}｜{'｜'.join(rng.sample(kws, 3))}"
        gate = "本站内容仅限18岁以上成年人浏览。未满18岁请立即离开。"
        lines = ["，".join(rng.sample(kws, 5)) + "。" for _ in range(rng.randint(3, 6))]
        enter = ["我已满18岁，进入", "离开"]
    else:
        kws = V.EN_ADULT_KEYWORDS
        title = f"{site.name} - {' - '.join(k.title() for k in rng.sample(kws, 3))}"
        gate = "Adults only. You must be 18 or older to enter this website."
        lines = [", ".join(rng.sample(kws, 5)) + "." for _ in range(rng.randint(3, 6))]
        enter = ["I am 18 or older - Enter", "Leave"]
    blocks = [_Block("p", gate)] + [_Block("p", line) for line in lines]
    blocks += [_Block("link", t, f"/{'enter' if i == 0 else 'exit'}") for i, t in enumerate(enter)]
    return _Doc(title, "", tuple(blocks))


def _other_lang_doc(rng: random.Random, sub: str, when: date) -> _Doc:
    lex = V.OTHER_LANGS[sub]

    def draw(slot: str) -> str:
        return rng.choice(lex[slot])

    sep = "" if sub == "ja" else " "
    paras = [
        sep.join(_capitalize(_fill(rng.choice(lex["t"]), draw)) for _ in range(rng.randint(3, 5)))
        for _ in range(rng.randint(4, 8))
    ]
    title = _capitalize(_fill(rng.choice(lex["t"]), draw)).rstrip(".。")
    return _Doc(title, when.isoformat(), tuple(_Block("p", p) for p in paras))


def _boilerplate_doc(rng: random.Random, lang: str) -> _Doc:
    msgs = V.ZH_BOILERPLATE_MESSAGES if lang == "zh" else V.EN_BOILERPLATE_MESSAGES
    msg = rng.choice(msgs)
    return _Doc("", "", (_Block("p", msg),))


# ---------------------------------------------------------------------------------------------
# Harmful and spam pages (HARMFUL_KINDS) and encoding damage
# ---------------------------------------------------------------------------------------------


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(5, 95)}:{rng.randint(0, 59):02d}"


def _adult_listing_doc(rng: random.Random, lang: str, when: date, site: _Site) -> _Doc:
    """Adult-video listing titles stacked above a copied article (a hijacked page)."""
    article = _article_doc(rng, lang, when, site)
    if lang == "zh":
        titles = [
            f"{rng.choice(H.ZH_ADULT_WHO)}{rng.choice(H.ZH_ADULT_WHAT)}第{rng.randint(1, 999)}集"
            f" {rng.choice(H.ZH_ADULT_TAG)} {_clock(rng)}"
            for _ in range(rng.randint(8, 14))
        ]
    else:
        titles = [
            f"{rng.choice(H.EN_ADULT_WHO).title()} {rng.choice(H.EN_ADULT_WHAT)} part "
            f"{rng.randint(1, 99)} - {rng.choice(H.EN_ADULT_TAG)} {_clock(rng)}"
            for _ in range(rng.randint(8, 14))
        ]
    blocks = tuple(_Block("p", t) for t in titles) + article.blocks
    return _Doc(titles[0], "", blocks)


def _promo_fill(rng: random.Random, lang: str, template: str, brand: str) -> str:
    games = H.ZH_GAMES if lang == "zh" else H.EN_GAMES
    egames = H.ZH_EVASIVE_GAMES if lang == "zh" else H.EN_EVASIVE_GAMES

    def draw(slot: str) -> str:
        match slot:
            case "brand":
                return brand
            case "game":
                return rng.choice(games)
            case "egame":
                return rng.choice(egames)
            case "n":
                return str(rng.choice([100, 200, 500, 1000, 2000, 5000]) * rng.randint(1, 3))
            case "m":
                return str(rng.choice([8, 18, 28, 38, 58, 88, 188, 288, 888]))
            case "pct":
                return str(rng.randint(1, 9) * 5)
            case "k":
                return str(rng.randint(2, 30))
            case "code":
                return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
            case "country":
                return rng.choice(H.EN_COUNTRIES)
        raise AssertionError(f"unknown promotion slot {slot!r}")

    return _fill(template, draw)


def _contacts(rng: random.Random, lang: str, num: int) -> list[str]:
    """``num`` contact lines for one advertiser: the same handles, written different ways."""
    qq = str(rng.randint(10**7, 10**10))
    wx = rng.choice(["vip", "kf", "bc", "yl", "dd"]) + str(rng.randint(1000, 99999))
    phone = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}"
    handle = rng.choice(["win", "vip", "pay", "fast", "help"]) + str(rng.randint(100, 9999))
    forms = H.ZH_CONTACT_FORMS if lang == "zh" else H.EN_CONTACT_FORMS
    values = {"qq": qq, "wx": wx, "phone": phone, "handle": handle}

    def draw(slot: str) -> str:
        # Parts of international numbers: one per form (an advertiser lists several lines).
        if slot in values:
            return values[slot]
        return str(rng.randint(200, 999) if slot == "p3" else rng.randint(1000, 9999))

    return [_fill(f, draw) for f in rng.sample(forms, min(num, len(forms)))]


def _gambling_promo_doc(rng: random.Random, lang: str, evasive: bool = False) -> _Doc:
    """Deposit bonuses, free credit, agent recruitment and a contact line or two."""
    if lang == "zh":
        brands = H.ZH_EVASIVE_BRANDS if evasive else H.ZH_GAMBLING_BRANDS
        pool = H.ZH_EVASIVE_SENTENCES if evasive else H.ZH_GAMBLING_SENTENCES
        sep = ""
    else:
        brands = H.EN_CASINO_BRANDS
        pool = H.EN_EVASIVE_SENTENCES if evasive else H.EN_GAMBLING_SENTENCES
        sep = " "
    brand = rng.choice(brands)
    sentences = [_promo_fill(rng, lang, t, brand) for t in rng.sample(pool, rng.randint(6, 9))]
    cut = sorted(rng.sample(range(1, len(sentences)), 2))
    paras = [sentences[: cut[0]], sentences[cut[0] : cut[1]], sentences[cut[1] :]]
    blocks = [_Block("p", sep.join(p)) for p in paras]
    blocks += [_Block("p", c) for c in _contacts(rng, lang, rng.randint(1, 2))]
    if lang == "zh":
        title = f"{brand}｜最新优惠活动" if evasive else f"{brand}娱乐城官网｜首存送彩金"
    else:
        title = f"{brand} - New Player Offers" if evasive else f"{brand} Casino - Free Spins Bonus"
    return _Doc(title, "", tuple(blocks))


def _contact_spam_doc(rng: random.Random, lang: str) -> _Doc:
    """A service ad whose every paragraph ends with the same QQ / WeChat / phone handles."""
    if lang == "zh":
        service, city = rng.choice(H.ZH_SERVICES), rng.choice(V.ZH_CITIES)
        templates, sep = H.ZH_SERVICE_SENTENCES, "，"
    else:
        service, city = rng.choice(H.EN_SERVICES), rng.choice(V.EN_CITIES)
        templates, sep = H.EN_SERVICE_SENTENCES, " - "
    values = {"service": service, "city": city, "k": str(rng.randint(12, 24))}
    values["n"] = str(rng.randint(3, 90) * 100)
    contacts = _contacts(rng, lang, 8)
    blocks = []
    sentences = [_fill(t, values.__getitem__) for t in rng.sample(templates, len(templates))]
    joiner = "" if lang == "zh" else " "
    for i in range(4):
        blocks.append(_Block("p", joiner.join(sentences[2 * i : 2 * i + 2])))
        blocks.append(_Block("p", sep.join(contacts[2 * i : 2 * i + 2])))
    title = f"{city}{service}" if lang == "zh" else f"{service.title()} in {city}"
    return _Doc(title, "", tuple(blocks))


def _mirror_domain(rng: random.Random) -> str:
    stem = rng.choice(
        [
            f"{rng.randint(0, 9)}{rng.randint(1000, 99999)}",
            "".join(rng.sample(V.ZH_PINYIN, 2)) + str(rng.randint(10, 999)),
            rng.choice(["js", "yh", "xpj", "hg", "am", "bm"]) + str(rng.randint(100, 9999)),
        ]
    )
    prefix = rng.choice(["", "", "", "www.", "m."])
    return f"{prefix}{stem}.{rng.choice(['com', 'cc', 'vip', 'net', 'top'])}"


def _link_farm_doc(rng: random.Random, lang: str) -> _Doc:
    """A mirror list: a few lines of text, then dozens of bare casino domains."""
    intros = H.ZH_LINK_FARM_INTROS if lang == "zh" else H.EN_LINK_FARM_INTROS
    # Enough running text for the length rules (75 CJK characters, 50 English words).
    blocks = [_Block("p", t) for t in rng.sample(intros, len(intros))]
    blocks += [_Block("p", _mirror_domain(rng)) for _ in range(rng.randint(20, 35))]
    title = "最新网址导航" if lang == "zh" else "Mirror list - working links"
    return _Doc(title, "", tuple(blocks))


def _error_links_doc(rng: random.Random, lang: str) -> _Doc:
    """An error page stuffed with links to gambling sites."""
    if lang == "zh":
        msgs = rng.sample(H.ZH_ERROR_MESSAGES, 2)
        names = H.ZH_GAMBLING_BRANDS + H.ZH_GAMES
        suffixes, heading, sep = H.ZH_GAMBLING_LINK_SUFFIX, "热门推荐", ""
    else:
        msgs = rng.sample(H.EN_ERROR_MESSAGES, 2)
        names, suffixes = H.EN_CASINO_BRANDS, H.EN_GAMBLING_LINK_SUFFIX
        heading, sep = "Popular pages", " "
    pairs = rng.sample([(a, b) for a in names for b in suffixes], rng.randint(15, 25))
    blocks = [_Block("p", m) for m in msgs] + [_Block("h2", heading)]
    blocks += [
        _Block("plink", f"{a}{sep}{b}", f"https://{_mirror_domain(rng)}/?from=404")
        for a, b in pairs
    ]
    return _Doc("404", "", tuple(blocks))


def _maybe_traditional(rng: random.Random, doc: _Doc, share: float = 1 / 3) -> _Doc:
    """With probability ``share``, the page in traditional characters (those the term lists'
    folding table knows, as a Hong Kong or Taiwan site writes the same promotion)."""
    if rng.random() >= share:
        return doc
    from skyforge.data.filters.harmful import to_traditional

    blocks = tuple(b._replace(text=to_traditional(b.text)) for b in doc.blocks)
    return _Doc(to_traditional(doc.title), to_traditional(doc.byline), blocks)


def _decode_bytewise(raw: bytes, codec: str, errors: str) -> str:
    """``raw`` read as ``codec`` (cp1252: undefined bytes as Latin-1, as MySQL's latin1 does)."""
    if codec != "cp1252":
        return raw.decode(codec, errors)
    out = []
    for b in raw:
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b) if errors == "latin-1" else "?")
    return "".join(out)


def _typeset(rng: random.Random, text: str) -> str:
    """English prose with typographic quotes and dashes (what a CMS makes of it)."""
    words = text.split(" ")
    if len(words) > 8:
        i = rng.randrange(2, len(words) - 4)
        words[i] = "“" + words[i]
        words[i + 2] = words[i + 2] + "”"
        words.insert(rng.randrange(1, len(words) - 1), "—")
    return " ".join(words).replace("'", "’")


def _mojibake_doc(rng: random.Random, lang: str, when: date, site: _Site, fixable: bool) -> _Doc:
    """An article whose paragraphs were stored as UTF-8 misread as another charset.

    Fixable: every paragraph of a random half went through Windows-1252 / Latin-1 (lossless).
    Not fixable: every paragraph went through GBK (Chinese) or Windows-1252 (English) with '?'
    for each byte that did not decode, the damage of the issue's real crawl.
    """
    doc = _article_doc(rng, lang, when, site)
    blocks = list(doc.blocks)
    if lang == "en":
        blocks = [b._replace(text=_typeset(rng, b.text)) for b in blocks]
    if fixable:
        chosen = rng.sample(range(len(blocks)), max(1, len(blocks) // 2))
        codec, errors = "cp1252", "latin-1"
    else:
        chosen = list(range(len(blocks)))
        codec, errors = ("gbk" if lang == "zh" else "cp1252"), "replace"
    for i in chosen:
        text = _decode_bytewise(blocks[i].text.encode("utf-8"), codec, errors)
        blocks[i] = blocks[i]._replace(text=text.replace("\ufffd", "?"))
    return _Doc(doc.title, doc.byline, tuple(blocks))


# ---------------------------------------------------------------------------------------------
# Low-quality pages that pass the heuristic rules (the quality classifier's ground truth)
# ---------------------------------------------------------------------------------------------

LOW_QUALITY_STYLES = ("listicle", "whatis", "spun")
"""Styles of ``low_quality`` pages (see ``_lowq_vocab``)."""


def _low_quality_doc(rng: random.Random, lang: str, style: str | None = None) -> _Doc:
    """An SEO listicle, a templated what-is page or a spun article about a consumer product.

    Fluent and punctuated, with stop words and no repeated line: nothing a heuristic rule
    measures gives it away; its sentences differ from any clean page's in kind.
    """
    style = style or rng.choice(LOW_QUALITY_STYLES)
    zh = lang == "zh"
    product = rng.choice(L.ZH_PRODUCTS if zh else L.EN_PRODUCTS)
    use = rng.choice(L.ZH_USES if zh else L.EN_USES)
    spin = L.ZH_SPIN if zh else L.EN_SPIN
    rank = iter(range(1, 100))

    def draw(slot: str) -> str:
        match slot:
            case "product" | "Product":
                return product if slot == "product" or zh else _title_case(product)
            case "use" | "Use":
                return use if slot == "use" or zh else _title_case(use)
            case "brand":
                return rng.choice(L.ZH_BRANDS if zh else L.EN_BRANDS)
            case "model":
                return f"{rng.choice(L.ZH_MODELS if zh else L.EN_MODELS)} {rng.randint(2, 900)}"
            case "buyer":
                return rng.choice(L.ZH_BUYERS if zh else L.EN_BUYERS)
            case "part":
                return rng.choice(L.ZH_PARTS if zh else L.EN_PARTS)
            case "k":
                return str(rng.randint(3, 15))
            case "n":
                return f"{rng.randint(2, 90) * 100:,}"
            case "i":
                return str(next(rank))
            case "year":
                return str(rng.randint(2019, 2024))
        if slot in spin:
            return rng.choice(spin[slot])
        raise AssertionError(f"unknown low-quality slot {slot!r}")

    titles = (L.ZH_TITLES if zh else L.EN_TITLES)[style]
    pool = (L.ZH_SENTENCES if zh else L.EN_SENTENCES)[style]
    # About half of the style's sentences: two pages on one product share too little to be
    # near duplicates (whole pools made some pairs 0.7 Jaccard).
    num = rng.randint(len(pool) // 2 + 1, len(pool) * 2 // 3 + 1)
    sentences = [_fill(t, draw) for t in rng.sample(pool, num)]
    cuts = sorted(rng.sample(range(1, len(sentences)), 3))
    sep = "" if zh else " "
    bounds = zip([0, *cuts], [*cuts, len(sentences)], strict=True)
    paras = [sep.join(sentences[a:b]) for a, b in bounds]
    return _Doc(_fill(rng.choice(titles), draw), "", tuple(_Block("p", p) for p in paras))


# ---------------------------------------------------------------------------------------------
# Near-duplicate edits
# ---------------------------------------------------------------------------------------------


def _shingles(text: str, lang: str, k: int = 5) -> set[tuple[str, ...]]:
    """Word k-grams (English) or character k-grams (Chinese, which has no spaces)."""
    toks = (
        [c for c in text if not c.isspace()] if lang == "zh" else re.findall(r"\w+", text.lower())
    )
    return {tuple(toks[i : i + k]) for i in range(max(0, len(toks) - k + 1))}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _edit_en(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    op = rng.choice(("replace", "insert", "delete"))
    adjs = [i for i, w in enumerate(words) if w in V.EN_ADJECTIVES]
    if op == "replace" and adjs:
        words[rng.choice(adjs)] = rng.choice(V.EN_ADJECTIVES)
    elif op == "delete" and adjs and len(words) > 10:
        del words[rng.choice(adjs)]
    else:
        words.insert(rng.randrange(1, len(words)), rng.choice(V.EN_ADVERBS))
    return " ".join(words)


def _edit_zh(rng: random.Random, text: str) -> str:
    op = rng.choice(("replace", "insert", "delete"))
    present = [w for w in V.ZH_ADJECTIVES + V.ZH_GENERAL_NOUNS if w in text]
    if op == "replace" and present:
        w = rng.choice(present)
        return text.replace(
            w, rng.choice(V.ZH_GENERAL_NOUNS if w in V.ZH_GENERAL_NOUNS else V.ZH_ADJECTIVES), 1
        )
    advs = [w for w in V.ZH_ADVERBS if w in text]
    if op == "delete" and advs:
        return text.replace(rng.choice(advs), "", 1)
    cuts = [m.end() for m in re.finditer("。", text)][:-1]
    at = rng.choice(cuts) if cuts else 0
    return text[:at] + rng.choice(V.ZH_CONNECTORS) + text[at:]


def _near_variant(rng: random.Random, doc: _Doc, lang: str, when: date, site: _Site) -> _Doc:
    """The same article after a few word edits and a changed date line (Jaccard ≥ 0.82)."""
    byline = (
        _zh_byline(rng, when, site.name, updated=True)
        if lang == "zh"
        else _en_byline(rng, when, updated=True)
    )
    base = _shingles(doc.main_text, lang)
    size = len(doc.main_text) / 300 if lang == "zh" else len(doc.main_text.split()) / 100
    for num_edits in range(max(2, round(size)), 0, -1):
        blocks = list(doc.blocks)
        for _ in range(num_edits):
            i = rng.randrange(len(blocks))
            edit = _edit_zh if lang == "zh" else _edit_en
            blocks[i] = blocks[i]._replace(text=edit(rng, blocks[i].text))
        out = replace(doc, byline=byline, blocks=tuple(blocks))
        if (
            out.main_text != doc.main_text
            and _jaccard(base, _shingles(out.main_text, lang)) >= _MIN_NEAR_JACCARD
        ):
            return out
    # Too short for edits to stay similar: changing only the date line keeps it near.
    return replace(doc, byline=byline)


# ---------------------------------------------------------------------------------------------
# Sites and page chrome
# ---------------------------------------------------------------------------------------------

_SERVERS = [
    "nginx",
    "nginx/1.18.0",
    "Apache/2.4.41 (Ubuntu)",
    "Apache",
    "cloudflare",
    "Tengine",
    "openresty",
    "Microsoft-IIS/10.0",
    "LiteSpeed",
]
_STYLE = (
    "<style>body{margin:0;font-family:Helvetica,Arial,sans-serif;line-height:1.6}"
    ".site-header{background:#1d2b3a;color:#fff}.nav a{color:#fff;margin:0 .6em}"
    ".layout{display:flex;max-width:1100px;margin:auto}main{flex:3}aside{flex:1}"
    ".cookie-banner{position:fixed;bottom:0;background:#222;color:#eee;padding:1em}"
    "footer{font-size:.85em;color:#666;border-top:1px solid #ddd}</style>"
)


def _ip(rng: random.Random) -> str:
    # Documentation ranges (RFC 5737): never a real host.
    prefix = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{prefix}.{rng.randint(1, 254)}"


class _Sites:
    """Makes sites with unique host names (never one on a blocklist unless asked)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.blocked = load_blocklist("adult") | load_blocklist("gambling") | load_blocklist("spam")

    def _unique(self, prefix: str, stem: str, tld: str) -> str:
        n = 0
        while True:
            host = f"{prefix}{stem}{n or ''}.{tld}"
            if host not in self.used and not host_in_blocklist(host, self.blocked):
                self.used.add(host)
                return host
            n += 1

    def make(self, lang: str, flavor: str = "news") -> _Site:
        r = self.rng
        if lang == "zh":
            city = r.choice(V.ZH_CITIES)
            word = {"qa": "学习网", "parallel": "双语网"}.get(flavor, r.choice(V.ZH_SITE_WORDS))
            name = city + word
            prefix, stem = "www.", "".join(r.sample(V.ZH_PINYIN, 2))
            tld = r.choice(["cn", "com.cn", "com", "net"])
            nav = ["首页"] + r.sample(V.ZH_NAV[1:], r.randint(7, 12))
            footer, cookie = V.ZH_FOOTER, r.choice(V.ZH_COOKIE)
        elif lang in V.OTHER_LANGS:
            name = r.choice(V.OTHER_LANG_SITE_WORDS[lang])
            # ASCII site names give their own host label; Japanese ones get a made-up one.
            stem = re.sub(r"[^a-z]+", "", name.lower()) or "".join(r.sample(V.ZH_PINYIN, 2))
            prefix = "www."
            tld = "jp" if lang == "ja" else lang
            nav, footer, cookie = r.sample(V.EN_NAV, 8), V.EN_FOOTER, r.choice(V.EN_COOKIE)
        else:
            w1, w2 = r.sample(V.EN_SITE_WORDS, 2)
            name = {"code": f"{w1} Dev Notes", "qa": f"{w1} Homework Help"}.get(
                flavor, f"The {w1} {w2}" if r.random() < 0.5 else f"{r.choice(V.EN_CITIES)} {w1}"
            )
            stem = re.sub(r"[^a-z0-9]+", "", name.lower().removeprefix("the "))
            tlds = ["dev", "io"] if flavor == "code" else ["com", "net", "org", "co.uk", "news"]
            tld = r.choice(tlds)
            prefix = "www." if r.random() < 0.7 else ""
            nav = ["Home"] + r.sample(V.EN_NAV[1:], r.randint(7, 12))
            footer, cookie = V.EN_FOOTER, r.choice(V.EN_COOKIE)
        headline_lang = lang if lang in ("en", "zh") else "en"
        return _Site(
            host=self._unique(prefix, stem, tld),
            name=name,
            lang=lang,
            nav=nav,
            footer=footer,
            cookie=cookie,
            headlines=[_headline(r, headline_lang) for _ in range(8)],
            server=r.choice(_SERVERS),
            ip=_ip(r),
        )

    def spam_host(self) -> _Site:
        r = self.rng
        kw = r.choice(V.EN_SPAM_KEYWORDS)
        stem = re.sub(r"[^a-z0-9]+", "-", kw.lower()).strip("-")
        tld = r.choice(["top", "xyz", "info", "biz", "club"])
        host = self._unique("", f"{stem}-{r.randint(10, 999)}", tld)
        return _Site(
            host,
            kw.title(),
            "en",
            ["Home", "Deals", "Shop", "Contact"],
            V.EN_FOOTER,
            r.choice(V.EN_COOKIE),
            [],
            r.choice(_SERVERS),
            _ip(r),
        )

    def junk_host(self, lang: str) -> _Site:
        """A numeric or random domain on no blocklist (``0xxxxx.com``, ``xxxx.cn``)."""
        r = self.rng
        if r.random() < 0.5:
            stem = f"{r.randint(0, 9)}{r.randint(10_000, 999_999)}"
        else:
            stem = "".join(r.choice("abcdefghjkmnpqrstwxyz") for _ in range(r.randint(4, 6)))
        host = self._unique(
            r.choice(["", "www.", "m."]), stem, r.choice(["com", "cn", "net", "cc"])
        )
        nav = (
            ["首页", "最新", "热门", "联系我们"]
            if lang == "zh"
            else ["Home", "New", "Hot", "Contact"]
        )
        return _Site(
            host,
            host.split(".")[-2],
            lang,
            nav,
            V.ZH_FOOTER if lang == "zh" else V.EN_FOOTER,
            r.choice(V.ZH_COOKIE if lang == "zh" else V.EN_COOKIE),
            [],
            r.choice(_SERVERS),
            _ip(r),
        )

    def adult_host(self, lang: str) -> _Site:
        r = self.rng
        domain = r.choice(sorted(load_blocklist("adult")))
        host = f"{r.choice(['', 'www.', 'm.', 'cn.' if lang == 'zh' else 'en.'])}{domain}"
        name = domain.split(".")[0].replace("-", " ").title()
        return _Site(
            host,
            name,
            lang,
            ["Home", "Videos", "Live", "Members", "Login"],
            V.EN_FOOTER,
            r.choice(V.EN_COOKIE),
            [],
            r.choice(_SERVERS),
            _ip(r),
        )


def _headline(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        return _zh_title(rng, _ZhDraw(rng, rng.choice(list(V.ZH_TOPICS))))
    return _en_title(rng, _EnDraw(rng, rng.choice(list(V.EN_TOPICS))))


def _main_html(doc: _Doc, lang: str) -> str:
    esc = html.escape
    out = []
    if doc.title:
        out.append(f'<h1 class="entry-title">{esc(doc.title)}</h1>')
    if doc.byline:
        out.append(f'<p class="byline">{esc(doc.byline)}</p>')
    links: list[str] = []
    for b in doc.blocks:
        if b.tag == "link":
            links.append(f'<li><a href="{esc(b.href)}">{esc(b.text)}</a></li>')
            continue
        if links:
            out.append(f'<ul class="links">{"".join(links)}</ul>')
            links = []
        match b.tag:
            case "p":
                out.append(f"<p>{esc(b.text)}</p>")
            case "h2":
                out.append(f"<h2>{esc(b.text)}</h2>")
            case "plink":
                # One link per paragraph: extractors keep these (a <ul> of links reads as a menu).
                out.append(f'<p><a href="{esc(b.href)}">{esc(b.text)}</a></p>')
            case "pre":
                out.append(f'<pre><code class="language-python">{esc(b.text)}</code></pre>')
            case "caps":
                out.append(f'<p class="promo"><strong>{esc(b.text)}</strong></p>')
            case "p_en" | "p_zh":
                code = b.tag[2:]
                out.append(f'<p class="{code}" lang="{code}">{esc(b.text)}</p>')
            case _:
                raise AssertionError(f"unknown block tag {b.tag!r}")
    if links:
        out.append(f'<ul class="links">{"".join(links)}</ul>')
    return "\n".join(out)


def _page_html(
    rng: random.Random,
    site: _Site,
    doc: _Doc,
    *,
    lang: str,
    encoding: str,
    dropdown: bool,
    year: int,
) -> str:
    """Wrap a document in site chrome; ``rng`` only picks this page's sidebar and ids."""
    esc = html.escape
    zh = lang == "zh"
    if encoding == "gbk":
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'
    else:
        meta = '<meta charset="utf-8">'
    nav = "".join(f'<a href="/{i}/">{esc(n)}</a>' for i, n in enumerate(site.nav))
    side_title = "热门文章" if zh else "Most Read"
    side = "".join(
        f'<li><a href="/p/{rng.randint(1000, 99999)}.html">{esc(h)}</a></li>'
        for h in rng.sample(site.headlines, min(5, len(site.headlines)))
    )
    tags_title = "标签" if zh else "Tags"
    accept = "接受" if zh else "Accept all"
    settings = "设置" if zh else "Manage preferences"
    foot = " | ".join(f'<a href="/about/{i}">{esc(f)}</a>' for i, f in enumerate(site.footer[1:]))
    copyright_ = f"&copy; {year} {esc(site.name)} {esc(site.footer[0])}"
    if zh:
        copyright_ += (
            f' <a href="https://beian.miit.gov.cn/">ICP备{rng.randint(10**7, 10**8 - 1)}号</a>'
        )
    ua = f"UA-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(1, 9)}"
    title = doc.title or site.name
    main = _main_html(doc, lang)
    if dropdown:
        main += "\n" + (DROPDOWN_HTML_ZH if zh else DROPDOWN_HTML_EN)
    html_lang = {"zh": "zh-CN", "ja": "ja"}.get(lang, lang if lang in V.OTHER_LANGS else "en")
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n{meta}\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} - {esc(site.name)}</title>\n{_STYLE}\n"
        f'<script async src="https://www.googletagmanager.com/gtag/js?id={ua}"></script>\n'
        f"<script>window.dataLayer=window.dataLayer||[];"
        f"function gtag(){{dataLayer.push(arguments);}}"
        f"gtag('js',new Date());gtag('config','{ua}');</script>\n</head>\n<body>\n"
        f'<header class="site-header"><a class="logo" href="/">{esc(site.name)}</a>\n'
        f'<nav class="nav">{nav}</nav></header>\n'
        f'<div class="layout">\n<main id="content">\n<article class="post">\n{main}\n'
        f"</article>\n</main>\n"
        f'<aside class="sidebar"><h3>{side_title}</h3><ul>{side}</ul>'
        f"<h3>{tags_title}</h3><p>{' '.join(esc(n) for n in site.nav[1:5])}</p></aside>\n</div>\n"
        f"<footer><p>{copyright_}</p><p>{foot}</p></footer>\n"
        f'<div class="cookie-banner" id="cookie-consent"><p>{esc(site.cookie)}</p>'
        f"<button>{accept}</button> <button>{settings}</button></div>\n"
        f"<script>document.getElementById('cookie-consent').onclick=function(e){{"
        f"if(e.target.tagName==='BUTTON'){{this.style.display='none';}}}};</script>\n"
        f"</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------------------------
# Non-HTML payloads
# ---------------------------------------------------------------------------------------------


def _png(rng: random.Random) -> bytes:
    w, h = rng.randint(8, 32), rng.randint(8, 32)
    raw = b"".join(b"\x00" + rng.randbytes(3 * w) for _ in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _pdf(rng: random.Random) -> bytes:
    text = f"Annual report {rng.randint(2015, 2023)} - page {rng.randint(1, 40)}"
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Planning: counts, clusters, shards, dates, ids
# ---------------------------------------------------------------------------------------------


def _largest_remainder(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` into integers proportional to ``weights`` (ties broken by key order)."""
    wsum = sum(weights.values())
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    counts = {k: int(math.floor(v)) for k, v in exact.items()}
    order = sorted(weights, key=lambda k: (-(exact[k] - counts[k]), list(weights).index(k)))
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def _allocate_dups(
    num: int, eligible: Sequence[str], counts: dict[str, int], used: dict[str, int]
) -> dict[str, int]:
    """Share ``num`` copies among eligible kinds, at most half of each kind's pages in all."""
    alloc = {k: 0 for k in eligible}
    left = num
    while left > 0:
        room = {k: counts[k] // 2 - used.get(k, 0) - alloc[k] for k in eligible}
        room = {k: r for k, r in room.items() if r > 0}
        if not room:
            break
        share = _largest_remainder(left, {k: float(counts[k]) for k in room})
        placed = 0
        for k, n in share.items():
            n = min(n, room[k])
            alloc[k] += n
            placed += n
        left -= placed
        if placed == 0:
            break
    return alloc


def _parse_day(value: str, key: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"config key 'crawl.synthetic.{key}': '{value}' is not a date (YYYY-MM-DD)"
        ) from None


class _Plan:
    """Every record's kind, site, shard, position, date, URL and id, before any text is made."""

    def __init__(self, cfg: SyntheticCrawlConfig, num_shards: int):
        self.cfg = cfg
        self.num_shards = num_shards
        rng = random.Random(f"{cfg.seed}/plan")
        self.rng = rng
        self.start = datetime.combine(
            _parse_day(cfg.start_date, "start_date"), datetime.min.time(), tzinfo=UTC
        )
        end_day = _parse_day(cfg.end_date, "end_date")
        self.end = datetime.combine(
            end_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC
        ) - timedelta(seconds=1)
        if self.end < self.start:
            raise ValueError("config key 'crawl.synthetic.end_date': is before start_date")
        mix = cfg.mix_dict if cfg.mix else SyntheticCrawlConfig.from_dict({}).mix_dict
        unknown = sorted(set(mix) - set(PAGE_KINDS))
        if unknown:
            raise ValueError(
                f"config key 'crawl.synthetic.mix.{unknown[0]}': unknown page kind "
                f"(known: {', '.join(PAGE_KINDS)})"
            )
        self.kind_counts = _largest_remainder(
            cfg.num_pages, {k: mix.get(k, 0.0) for k in PAGE_KINDS}
        )
        self.sites = _Sites(rng)
        self.items: list[_Item] = []
        self.clusters: dict[int, list[int]] = {}
        self._make_pages()
        self._make_extras()
        self._order()
        self._fix_clusters()
        self._assign_dates_urls_ids()

    # -- pages -----------------------------------------------------------------------------

    def _site_pool(self, lang: str, flavor: str, num_pages: int) -> list[_Site]:
        return [self.sites.make(lang, flavor) for _ in range(max(1, math.ceil(num_pages / 25)))]

    def _make_pages(self) -> None:
        cfg, rng, counts = self.cfg, self.rng, self.kind_counts
        num_exact = round(cfg.exact_dup_fraction * cfg.num_pages)
        num_near = round(cfg.near_dup_fraction * cfg.num_pages)
        near = _allocate_dups(num_near, [k for k in _NEAR_DUP_KINDS if counts[k]], counts, {})
        exact = _allocate_dups(num_exact, [k for k in _EXACT_DUP_KINDS if counts[k]], counts, near)
        placed_exact, placed_near = sum(exact.values()), sum(near.values())
        if placed_exact < num_exact or placed_near < num_near:
            log.warning(
                "synthetic crawl: the mix leaves room for %d of %d exact and %d of %d near "
                "duplicates (copies come from kept kinds, at most half of each kind)",
                placed_exact,
                num_exact,
                placed_near,
                num_near,
            )

        pools: dict[tuple[str, str], list[_Site]] = {}
        # Rough pages per pool, so that a site carries some 25 pages at any crawl size.
        pool_pages = {
            ("en", "news"): counts["en_article"] + counts["boilerplate_only"] // 2,
            ("zh", "news"): counts["zh_article"] + counts["boilerplate_only"] // 2,
            ("en", "code"): counts["code"],
            ("en", "qa"): counts["stem_qa"] // 2,
            ("zh", "qa"): counts["stem_qa"] // 2,
            ("zh", "parallel"): counts["parallel"],
        }

        def site_for(lang: str, flavor: str) -> _Site:
            key = (lang, flavor)
            if key not in pools:
                num = pool_pages.get(key, counts["other_lang"] // len(V.OTHER_LANGS))
                pools[key] = self._site_pool(lang, flavor, num)
            return rng.choice(pools[key])

        originals: dict[str, list[int]] = {k: [] for k in PAGE_KINDS}
        for kind in PAGE_KINDS:
            num_orig = counts[kind] - exact.get(kind, 0) - near.get(kind, 0)
            for _ in range(num_orig):
                uid = len(self.items)
                if kind in ("stem_qa", "spam", "adult", "boilerplate_only", "low_quality"):
                    lang = rng.choice(("en", "zh"))
                elif kind in HARMFUL_KINDS:
                    lang = rng.choice(("en", "zh"))
                elif kind in _MOJIBAKE_KINDS:
                    lang = rng.choice(("en", "zh"))
                else:
                    lang = {
                        "en_article": "en",
                        "zh_article": "zh",
                        "code": "code",
                        "parallel": "zh",
                        "other_lang": "other",
                    }[kind]
                sub = rng.choice(sorted(V.OTHER_LANGS)) if kind == "other_lang" else ""
                if kind == "spam":
                    site = self.sites.spam_host()
                elif kind == "adult":
                    site = self.sites.adult_host(lang)
                elif kind in (*HARMFUL_KINDS, "low_quality"):
                    site = self.sites.junk_host(lang)
                elif kind == "other_lang":
                    site = site_for(sub, "news")
                elif kind == "code":
                    site = site_for("en", "code")
                elif kind == "stem_qa":
                    site = site_for(lang, "qa")
                elif kind == "parallel":
                    site = site_for("zh", "parallel")
                else:
                    site = site_for("zh" if lang == "zh" else "en", "news")
                self.items.append(_Item(uid, kind, lang, site, sublang=sub))
                originals[kind].append(uid)

        # Encodings and drop-downs are drawn over originals; copies inherit them.
        zh_pages = [
            it.uid for it in self.items if it.lang == "zh" and it.kind not in _MOJIBAKE_KINDS
        ]
        for i, uid in enumerate(
            sorted(rng.sample(zh_pages, round(cfg.gbk_fraction * len(zh_pages))))
        ):
            self.items[uid].encoding = "gbk"
            self.items[uid].charset_in_header = i % 2 == 0
        for it in self.items:
            if it.encoding == "utf-8":
                it.charset_in_header = rng.random() < 0.5
        for uid in rng.sample(
            range(len(self.items)), round(cfg.dropdown_fraction * len(self.items))
        ):
            self.items[uid].has_dropdown = True

        for dup_type, alloc in (("near", near), ("exact", exact)):
            for kind in PAGE_KINDS:
                self._make_clusters(dup_type, alloc.get(kind, 0), originals[kind])

    def _make_clusters(self, dup_type: str, num_copies: int, pool: list[int]) -> None:
        rng = self.rng
        free = [u for u in pool if self.items[u].cluster < 0]
        sizes = []
        left = num_copies
        while left > 0:
            sizes.append(min(left, rng.choice(_CLUSTER_COPIES)))
            left -= sizes[-1]
        if not free:
            return
        # More clusters than free originals (tiny crawls): fold the extra copies into others.
        while len(sizes) > len(free):
            extra = sizes.pop()
            sizes[-1] += extra
        for size, src in zip(sizes, rng.sample(free, len(sizes)), strict=True):
            cid = len(self.clusters)
            orig = self.items[src]
            orig.cluster = cid
            members = [src]
            for j in range(size):
                uid = len(self.items)
                copy = replace(orig, uid=uid, dup_type=dup_type, source=src, copy_index=j + 1)
                if dup_type == "near" and rng.random() < 0.5:
                    # Syndicated elsewhere: same article on another site of the same language.
                    copy.site = self.sites.make(orig.site.lang, "news")
                self.items.append(copy)
                members.append(uid)
            self.clusters[cid] = members

    # -- extras ----------------------------------------------------------------------------

    def _make_extras(self) -> None:
        cfg, rng = self.cfg, self.rng
        news = [it.site for it in self.items if it.kind in ("en_article", "zh_article")]
        news = news or [self.sites.make("en")]
        num_revisit = cfg.num_non_html // 4
        for i in range(cfg.num_non_html - num_revisit):
            uid = len(self.items)
            self.items.append(
                _Item(
                    uid,
                    "non_html",
                    "none",
                    rng.choice(news),
                    sublang="png" if i % 2 == 0 else "pdf",
                    encoding=None,
                    charset_in_header=False,
                )
            )
        kept = [it.uid for it in self.items if it.kind in _EXACT_DUP_KINDS and it.dup_type is None]
        for _ in range(num_revisit if kept else 0):
            ref = self.items[rng.choice(kept)]
            uid = len(self.items)
            self.items.append(
                _Item(
                    uid,
                    "revisit",
                    ref.lang,
                    ref.site,
                    encoding=ref.encoding,
                    charset_in_header=ref.charset_in_header,
                    source=ref.uid,
                )
            )
        self.truncated: list[_Item] = []
        for _ in range(cfg.num_truncated):
            lang = rng.choice(("en", "zh"))
            site = self.sites.make(lang)
            self.truncated.append(_Item(-1, "truncated", lang, site, charset_in_header=True))

    # -- shards and order ------------------------------------------------------------------

    def _order(self) -> None:
        order = list(range(len(self.items)))
        self.rng.shuffle(order)
        for slot, uid in enumerate(order):
            self.items[uid].slot = slot
            self.items[uid].shard = slot % self.num_shards
        for j, it in enumerate(self.truncated):
            it.uid = len(self.items) + j
            it.shard = j % self.num_shards
            it.slot = len(self.items) + j  # after every ordinary record: at the end of its shard

    def _swap(self, a: _Item, b: _Item) -> None:
        a.slot, b.slot = b.slot, a.slot
        a.shard, b.shard = b.shard, a.shard

    @staticmethod
    def _pos(it: _Item) -> tuple[int, int]:
        return it.shard, it.slot

    def _fix_clusters(self) -> None:
        """Spread every cluster over >1 shard, and put its original first in reading order."""
        rng = self.rng
        singles = [it for it in self.items if it.cluster < 0 and it.kind != "revisit"]
        for members in self.clusters.values():
            its = [self.items[u] for u in members]
            if self.num_shards > 1 and len({it.shard for it in its}) == 1:
                others = [s for s in singles if s.shard != its[0].shard]
                if others:
                    self._swap(its[-1], rng.choice(others))
            first = min(its, key=self._pos)
            if first.uid != members[0]:
                self._swap(first, self.items[members[0]])

    def _rand_date(self, lo: datetime | None = None) -> datetime:
        lo = lo or self.start
        span = int((self.end - lo).total_seconds())
        return lo + timedelta(seconds=self.rng.randint(0, max(0, span)))

    def _uuid(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def _assign_dates_urls_ids(self) -> None:
        rng = self.rng
        for it in self.items + self.truncated:
            if it.kind != "revisit":
                it.date = self._rand_date()
        for it in self.items:
            if it.kind == "revisit":
                it.date = self._rand_date(self.items[it.source].date)
        for it in sorted(self.items + self.truncated, key=lambda i: i.uid):
            if it.dup_type == "exact":
                continue  # needs the original's URL first
            if it.kind == "revisit":
                continue
            it.url = self._url(it)
        variants = (
            "?utm_source=rss&utm_medium=feed",
            "?ref=homepage",
            "/amp",
            "?page=1",
            "?share=wechat",
            "#comments",
        )
        for members in self.clusters.values():
            orig = self.items[members[0]]
            pick = rng.sample(variants, len(variants))
            for k, uid in enumerate(members[1:]):
                it = self.items[uid]
                if it.dup_type == "exact":
                    v = pick[k % len(pick)]
                    url = orig.url.rstrip("/") + v if v == "/amp" else orig.url + v
                    if k >= len(pick):
                        url = url.replace("https://", "http://", 1)
                    it.url = url
        for it in self.items:
            if it.kind == "revisit":
                it.url = self.items[it.source].url
        self.shard_info_ids = [self._uuid() for _ in range(self.num_shards)]
        for it in sorted(self.items + self.truncated, key=lambda i: i.uid):
            it.record_id, it.request_id = self._uuid(), self._uuid()

    def _url(self, it: _Item) -> str:
        r, d = self.rng, it.date
        host = it.site.host
        n = r.randint(10_000, 9_999_999)
        if it.kind == "non_html":
            ext = it.sublang
            path = (
                f"/static/img/{r.getrandbits(64):016x}.png"
                if ext == "png"
                else f"/uploads/{d.year}/{d.month:02d}/report-{n}.pdf"
            )
        elif it.kind in ("spam", "adult", *HARMFUL_KINDS):
            path = f"/{r.choice(['index', 'hot', 'deal', 'video', 'page'])}-{n}.html"
        elif it.kind == "boilerplate_only":
            path = r.choice(
                [f"/login?next=/p/{n}", f"/404?from=/a/{n}", f"/search?q={n}", f"/video/{n}"]
            )
        elif it.lang == "zh" or it.kind == "parallel":
            path = (
                f"/{r.choice(['news', 'article', 'a', 'content'])}/{d:%Y%m}/t{d:%Y%m%d}_{n}.shtml"
            )
        else:
            path = f"/{d:%Y/%m/%d}/{r.choice(['post', 'story', 'p'])}-{n}.html"
        if it.copy_index and it.dup_type == "near":
            path = path.replace(".", f"-{it.copy_index}.", 1) if "." in path else path + "-2"
        return f"https://{host}{path}"


# ---------------------------------------------------------------------------------------------
# Rendering one record's payload
# ---------------------------------------------------------------------------------------------


class _Renderer:
    """Builds documents and HTML bodies; copies of one original reuse its bytes."""

    def __init__(self, plan: _Plan):
        self.plan = plan
        self.seed = plan.cfg.seed
        self._docs: dict[int, _Doc] = {}
        self._bodies: dict[int, bytes] = {}
        sources = {it.source for it in plan.items if it.source is not None}
        self._keep = sources  # originals whose doc/body copies or revisits reuse
        self._last: tuple[int, _Doc] | None = None

    def rng(self, uid: int, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}/{uid}/{purpose}")

    def doc(self, it: _Item) -> _Doc:
        if it.uid in self._docs:
            return self._docs[it.uid]
        if self._last is not None and self._last[0] == it.uid:
            return self._last[1]  # the body and the ground-truth row both ask for it
        if it.dup_type == "exact":
            return self.doc(self.plan.items[it.source])
        if it.dup_type == "near":
            base = self.doc(self.plan.items[it.source])
            day = it.date.date() - timedelta(days=self.rng(it.uid, "date").randint(0, 3))
            doc = _near_variant(self.rng(it.uid, "edit"), base, it.lang, day, it.site)
        else:
            doc = self._fresh_doc(it)
        if it.uid in self._keep:
            self._docs[it.uid] = doc
        self._last = (it.uid, doc)
        return doc

    def _fresh_doc(self, it: _Item) -> _Doc:
        doc = self._fresh_doc_simplified(it)
        if it.kind in HARMFUL_KINDS and it.lang == "zh":
            # A third of the Chinese spam comes from Hong Kong / Taiwan-facing sites.
            doc = _maybe_traditional(self.rng(it.uid, "script"), doc)
        return doc

    def _fresh_doc_simplified(self, it: _Item) -> _Doc:
        r = self.rng(it.uid, "doc")
        day = it.date.date() - timedelta(days=r.randint(0, 30))
        match it.kind:
            case "en_article" | "zh_article" | "truncated":
                return _article_doc(r, it.lang, day, it.site)
            case "code":
                return _code_doc(r, day)
            case "stem_qa":
                return _stem_doc(r, it.lang, day)
            case "parallel":
                return _parallel_doc(r, day)
            case "spam":
                return _spam_doc(r, it.lang)
            case "adult":
                return _adult_doc(r, it.lang, it.site)
            case "other_lang":
                return _other_lang_doc(r, it.sublang, day)
            case "boilerplate_only":
                return _boilerplate_doc(r, it.lang)
            case "adult_listing":
                return _adult_listing_doc(r, it.lang, day, it.site)
            case "gambling_promo" | "harmful_evasive":
                return _gambling_promo_doc(r, it.lang, evasive=it.kind == "harmful_evasive")
            case "contact_spam":
                return _contact_spam_doc(r, it.lang)
            case "link_farm":
                return _link_farm_doc(r, it.lang)
            case "error_links":
                return _error_links_doc(r, it.lang)
            case "low_quality":
                return _low_quality_doc(r, it.lang)
            case "mojibake" | "mojibake_fixable":
                return _mojibake_doc(
                    r, it.lang, day, it.site, fixable=it.kind == "mojibake_fixable"
                )
        raise AssertionError(f"no document for kind {it.kind!r}")

    def body(self, it: _Item) -> bytes:
        """The HTTP payload; exact copies return their original's bytes."""
        if it.dup_type == "exact":
            return self.body(self.plan.items[it.source])
        if it.uid in self._bodies:
            return self._bodies[it.uid]
        if it.kind == "non_html":
            r = self.rng(it.uid, "binary")
            body = _png(r) if it.sublang == "png" else _pdf(r)
        else:
            page_lang = it.sublang if it.kind == "other_lang" else it.lang
            text = _page_html(
                self.rng(it.uid, "chrome"),
                it.site,
                self.doc(it),
                lang=page_lang,
                encoding=it.encoding or "utf-8",
                dropdown=it.has_dropdown,
                year=it.date.year,
            )
            # GBK lacks a few symbols (², •); GBK sites write them as character references.
            body = text.encode(it.encoding or "utf-8", errors="xmlcharrefreplace")
        if it.uid in self._keep:
            self._bodies[it.uid] = body
        return body


def _content_type(it: _Item) -> str:
    if it.kind == "non_html":
        return "image/png" if it.sublang == "png" else "application/pdf"
    if it.charset_in_header:
        return f"text/html; charset={'GBK' if it.encoding == 'gbk' else 'UTF-8'}"
    return "text/html"


def _http_response(it: _Item, body_len: int) -> StatusAndHeaders:
    headers = [
        ("Date", format_datetime(it.date, usegmt=True)),
        ("Server", it.site.server),
        ("Content-Type", _content_type(it)),
        ("Content-Length", str(body_len)),
        ("Connection", "close"),
    ]
    if it.kind != "non_html":
        headers.insert(3, ("Cache-Control", "max-age=600"))
        headers.append(("Vary", "Accept-Encoding"))
    return StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")


def _http_request(it: _Item) -> StatusAndHeaders:
    host, _, path = it.url.removeprefix("https://").removeprefix("http://").partition("/")
    path = "/" + path.split("#", 1)[0]
    accept_lang = "zh-CN,zh;q=0.9,en;q=0.6" if it.lang == "zh" else "en-US,en;q=0.8"
    headers = [
        ("Host", host),
        ("User-Agent", _USER_AGENT),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", accept_lang),
        ("Connection", "close"),
    ]
    return StatusAndHeaders(f"GET {path}", headers, protocol="HTTP/1.1", is_http_request=True)


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _warc_date(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


class _SeededWARCWriter(WARCWriter):
    """A WARCWriter that refuses to invent ids or dates (warcio would use uuid4 and the clock)."""

    def _make_warc_id(self):  # noqa: ANN202 - overrides warcio's classmethod
        raise AssertionError("synthetic records must carry an explicit WARC-Record-ID")

    def curr_warc_date(self):  # noqa: ANN202
        raise AssertionError("synthetic records must carry an explicit WARC-Date")


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def synthesize_crawl(cfg: SyntheticCrawlConfig, num_shards: int, out_dir: Path) -> dict[str, Any]:
    """Write a synthetic bilingual crawl as WARC shards plus its ground truth.

    Args:
        cfg: size and make-up of the crawl (``crawl.synthetic``).
        num_shards: number of ``shard-NNNNN.warc.gz`` files (``crawl.num_shards``).
        out_dir: created if missing; outputs are written under temporary names and renamed
            only when everything succeeded, so a failure leaves no final file behind.

    Returns:
        A JSON-serialisable summary (the crawl manifest): page counts per kind, duplicate,
        GBK, drop-down and removal counts, and records and bytes per shard.

    Raises:
        ValueError: ``num_shards`` below 1, an unknown kind in ``mix``, or a bad date.
    """
    if num_shards < 1:
        raise ValueError(f"config key 'crawl.num_shards': must be at least 1, got {num_shards}")
    out_dir = Path(out_dir)
    plan = _Plan(cfg, num_shards)
    render = _Renderer(plan)
    out_dir.mkdir(parents=True, exist_ok=True)

    names = [shard_name(i) for i in range(num_shards)] + ["ground_truth.parquet"]
    temps = {n: out_dir / f".{n}.partial" for n in names}
    by_shard: list[list[_Item]] = [[] for _ in range(num_shards)]
    for it in sorted(plan.items + plan.truncated, key=lambda i: (i.shard, i.slot)):
        by_shard[it.shard].append(it)

    rows: list[dict[str, Any]] = []
    records_per_shard, bytes_per_shard = [], []
    type_counts: Counter[str] = Counter()
    try:
        with tqdm(
            total=len(plan.items) + len(plan.truncated),
            desc="synth-crawl",
            unit="page",
            mininterval=1.0,
        ) as bar:
            for shard, items in enumerate(by_shard):
                path = temps[shard_name(shard)]
                with open(path, "wb") as fh:
                    n = _write_shard(fh, plan, render, shard, items, rows, type_counts, bar)
                records_per_shard.append(n)
                bytes_per_shard.append(path.stat().st_size)
        table = pa.Table.from_pylist(rows, schema=GROUND_TRUTH_SCHEMA)
        pq.write_table(table, temps["ground_truth.parquet"], compression="zstd")
        for name, tmp in temps.items():
            os.replace(tmp, out_dir / name)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise

    pages = [r for r in rows if r["kind"] in PAGE_KINDS]
    summary = {
        "seed": cfg.seed,
        "num_pages": cfg.num_pages,
        "num_shards": num_shards,
        "files": names,
        "pages_per_kind": {k: sum(r["kind"] == k for r in pages) for k in PAGE_KINDS},
        "records_per_kind": dict(sorted(Counter(r["kind"] for r in rows).items())),
        "records_per_type": dict(sorted(type_counts.items())),
        "records_per_shard": records_per_shard,
        "bytes_per_shard": bytes_per_shard,
        "total_bytes": sum(bytes_per_shard),
        "num_exact_dups": sum(r["dup_type"] == "exact" for r in rows),
        "num_near_dups": sum(r["dup_type"] == "near" for r in rows),
        "num_dup_clusters": len(plan.clusters),
        "num_gbk_pages": sum(r["encoding"] == "gbk" for r in pages),
        "num_dropdown_pages": sum(r["has_dropdown"] for r in pages),
        "num_non_html": sum(r["kind"] == "non_html" for r in rows),
        "num_revisits": sum(r["kind"] == "revisit" for r in rows),
        "num_truncated": sum(r["kind"] == "truncated" for r in rows),
        "expected_removals": {s: sum(r["expected_step"] == s for r in rows) for s in REMOVAL_STEPS},
        "num_kept": sum(r["expected_step"] is None for r in rows),
    }
    log.info(
        "synthetic crawl: %d records in %d shards, %d bytes",
        len(rows),
        num_shards,
        summary["total_bytes"],
    )
    return summary


def _write_shard(
    fh: io.BufferedWriter,
    plan: _Plan,
    render: _Renderer,
    shard: int,
    items: list[_Item],
    rows: list[dict[str, Any]],
    type_counts: Counter[str],
    bar: tqdm,
) -> int:
    """Write one shard; returns its number of WARC records."""
    writer = _SeededWARCWriter(fh, gzip=True, warc_version="1.1")
    info_id = plan.shard_info_ids[shard]
    fields = (
        f"software: {_SOFTWARE}\r\nformat: WARC File Format 1.1\r\n"
        f"conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/"
        f"warc-1.1/\r\nisPartOf: skyforge-synthetic-crawl\r\n"
        f"description: synthetic bilingual crawl, seed {plan.cfg.seed}, shard {shard}\r\n"
        f"robots: classic\r\n"
    ).encode()
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(fields),
            length=len(fields),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Type": "warcinfo",
                "WARC-Date": _warc_date(plan.start),
                "WARC-Record-ID": info_id,
                "WARC-Filename": shard_name(shard),
            },
        )
    )
    type_counts["warcinfo"] += 1
    num_records = 1
    for it in items:
        common = {"WARC-Date": _warc_date(it.date), "WARC-Warcinfo-ID": info_id}
        req = writer.create_warc_record(
            it.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=_http_request(it),
            warc_headers_dict={
                "WARC-Type": "request",
                "WARC-Record-ID": it.request_id,
                **common,
                "WARC-Concurrent-To": it.record_id,
            },
        )
        writer.write_record(req)
        type_counts["request"] += 1
        offset = fh.tell()
        if it.kind == "revisit":
            ref = plan.items[it.source]
            ref_body = render.body(ref)
            rec = writer.create_revisit_record(
                it.url,
                _sha1_b32(ref_body),
                ref.url,
                _warc_date(ref.date),
                http_headers=_http_response(it, len(ref_body)),
                warc_headers_dict={
                    "WARC-Type": "revisit",
                    "WARC-Record-ID": it.record_id,
                    **common,
                    "WARC-IP-Address": it.site.ip,
                },
            )
            writer.write_record(rec)
            type_counts["revisit"] += 1
        else:
            body = render.body(it)
            rec = writer.create_warc_record(
                it.url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=_http_response(it, len(body)),
                warc_headers_dict={
                    "WARC-Type": "response",
                    "WARC-Record-ID": it.record_id,
                    **common,
                    "WARC-IP-Address": it.site.ip,
                },
            )
            if it.kind == "truncated":
                fh.write(_truncated_member(writer, rec))
            else:
                writer.write_record(rec)
            type_counts["response"] += 1
        num_records += 2
        rows.append(_row(plan, render, it, shard, offset))
        bar.update(1)
    return num_records


def _truncated_member(writer: WARCWriter, rec: Any) -> bytes:
    """One complete gzip member holding a record cut to a third of its declared content."""
    plain = io.BytesIO()
    plain_writer = _SeededWARCWriter(plain, gzip=False, warc_version="1.1")
    plain_writer.write_record(rec)
    raw = plain.getvalue()
    head_end = raw.index(b"\r\n\r\n") + 4
    content = raw[head_end:-4]  # the two CRLFs after a record are not part of its content
    cut = raw[:head_end] + content[: max(1, len(content) // 3)]
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS + 16)  # gzip header, mtime 0
    return comp.compress(cut) + comp.flush()


def _row(plan: _Plan, render: _Renderer, it: _Item, shard: int, offset: int) -> dict[str, Any]:
    members = plan.clusters.get(it.cluster, [])
    dup_of = plan.items[members[0]].record_id if it.dup_type else None
    step, reason = _KIND_STEP.get(it.kind, (None, None))
    if it.kind == "non_html":
        reason = f"not HTML ({_content_type(it)})"
    elif it.kind == "other_lang":
        reason = f"language {it.sublang}"
    elif it.kind == "revisit":
        reason = f"revisit of {plan.items[it.source].record_id}: no payload"
    elif it.kind == "truncated":
        reason = "truncated record: Content-Length exceeds the bytes present"
    elif step is None and it.dup_type == "exact":
        step, reason = "exact_dedup", f"exact copy of {dup_of}"
    elif step is None and it.dup_type == "near":
        step, reason = "near_dedup", f"near copy of {dup_of}"
    html_doc = None if it.kind in ("non_html", "revisit", "truncated") else render.doc(it)
    return {
        "record_id": it.record_id,
        "url": it.url,
        "shard": shard,
        "offset": offset,
        "record_type": "revisit" if it.kind == "revisit" else "response",
        "kind": it.kind,
        "lang": "none" if it.kind == "revisit" else it.lang,
        "encoding": None if it.kind == "revisit" else it.encoding,
        "charset_in_header": it.charset_in_header,
        "content_type": _content_type(it),
        "crawl_date": it.date,
        "dup_cluster": it.cluster,
        "dup_of": dup_of,
        "dup_type": it.dup_type,
        "expected_step": step,
        "reason": reason,
        "has_dropdown": it.has_dropdown,
        "title": html_doc.title if html_doc else None,
        "main_text": html_doc.main_text if html_doc else None,
    }
