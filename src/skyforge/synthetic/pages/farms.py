"""Content-farm pages (issue 21, part 5): what a real crawl showed every step keeping.

* ``farm_stitched``: a page stitched from single sentences of unrelated news items, each from
  another story (topic, people, places), paragraphs of two to four of them; a sentence cut from
  a wire story keeps its dateline (``新华社北京3月5日电``, ``LONDON, May 3 (Reuters) -``) with
  even odds, so datelines turn up in the middle of paragraphs (heuristic step, ``farm:stitched``);
* ``farm_bracketed``: a Chinese article with the characters of some of its sentences wrapped
  one by one in brackets (``【随】【着】【经】【济】``), which defeats character-shingle dedup
  while a reader still reads the text (heuristic step, ``farm:bracketed``);
* ``farm_mojibake``: an otherwise clean article with short UTF-8-read-as-Windows-1252 fragments
  (``æ–°é—»`` for 新闻, ``ï¼Œ`` for ，, ``Ã©`` for é) inside lines whose other characters are
  right: text pasted together from sources in different encodings (encoding step,
  ``encoding:mojibake_fragments``). A single wrong decoding of a page damages every non-ASCII
  character of a line, which the encoding filter repairs line by line (``mojibake_fixable``).
"""

from __future__ import annotations

import random
import re
from datetime import date

from skyforge.synthetic.pages.articles import article_doc
from skyforge.synthetic.pages.junk import _typeset, decode_bytewise
from skyforge.synthetic.pages.sites import Site
from skyforge.synthetic.pages.text import (
    Block,
    Doc,
    EnDraw,
    ZhDraw,
    capitalize,
    en_byline,
    fill,
    fix_articles,
    zh_byline,
)
from skyforge.synthetic.vocab import general as V

FARM_KINDS = ("farm_stitched", "farm_bracketed", "farm_mojibake")
"""Content-farm page kinds."""

_ZH_AGENCIES = ("新华社", "中新网", "中新社", "人民网", "央视网", "")
_EN_AGENCIES = ("Reuters", "AP", "AFP", "Xinhua")
_EN_MONTHS_SHORT = ("Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.")
_ZH_FARM_TITLES = ("今日热点新闻汇总", "最新资讯速览", "今日要闻一览", "热点新闻早知道")
_EN_FARM_TITLES = ("Top stories today", "Latest news roundup", "News you missed today")


def _dateline(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        city = rng.choice(V.ZH_CITIES)
        return f"{rng.choice(_ZH_AGENCIES)}{city}{rng.randint(1, 12)}月{rng.randint(1, 28)}日电 "
    city = rng.choice(V.EN_CITIES).upper()
    month = rng.choice(_EN_MONTHS_SHORT)
    return f"{city}, {month} {rng.randint(1, 28)} ({rng.choice(_EN_AGENCIES)}) - "


def _one_sentence(rng: random.Random, lang: str) -> str:
    """A sentence of a fresh article on a random topic (another story each call)."""
    if lang == "zh":
        draw = ZhDraw(rng, rng.choice(list(V.ZH_TOPICS)))
        return fill(rng.choice(V.ZH_TEMPLATES), draw)
    draw = EnDraw(rng, rng.choice(list(V.EN_TOPICS)))
    return fix_articles(capitalize(fill(rng.choice(V.EN_TEMPLATES), draw)))


def stitched_doc(rng: random.Random, lang: str, when: date, site: Site) -> Doc:
    """10-16 sentences of unrelated stories in paragraphs of 2-4, datelines kept half the time."""
    sentences = [_one_sentence(rng, lang) for _ in range(rng.randint(10, 16))]
    sentences = [_dateline(rng, lang) + s if rng.random() < 0.5 else s for s in sentences]
    paras, i = [], 0
    while i < len(sentences):
        k = rng.randint(2, 4)
        paras.append(("" if lang == "zh" else " ").join(sentences[i : i + k]))
        i += k
    if lang == "zh":
        title = rng.choice(_ZH_FARM_TITLES) + f"（{when.month}月{when.day}日）"
        byline = zh_byline(rng, when, site.name)
    else:
        title = f"{rng.choice(_EN_FARM_TITLES)}: {V.EN_MONTHS[when.month - 1]} {when.day}"
        byline = en_byline(rng, when)
    return Doc(title, byline, tuple(Block("p", p) for p in paras))


_BRACKETS = ("【】", "〖〗", "[]", "「」", "（）")
_CJK_CHAR = re.compile("[\u4e00-\u9fff]")
_ZH_SENTENCE = re.compile("[^。！？]+[。！？]?")


def bracketed_doc(rng: random.Random, when: date, site: Site) -> Doc:
    """A Chinese article with 30-80 % of its sentences (and maybe its title) wrapped character
    by character in one kind of bracket."""
    doc = article_doc(rng, "zh", when, site)
    left, right = rng.choice(_BRACKETS)
    share = rng.uniform(0.3, 0.8)

    def wrap(text: str) -> str:
        return _CJK_CHAR.sub(lambda m: f"{left}{m.group(0)}{right}", text)

    blocks = []
    for b in doc.blocks:
        parts = _ZH_SENTENCE.findall(b.text)
        blocks.append(
            b._replace(text="".join(wrap(s) if rng.random() < share else s for s in parts))
        )
    title = wrap(doc.title) if rng.random() < 0.5 else doc.title
    return Doc(title, doc.byline, tuple(blocks))


def mojibake(text: str) -> str:
    """``text`` as UTF-8 read as Windows-1252 (Latin-1 for its five undefined bytes)."""
    return decode_bytewise(text.encode("utf-8"), "cp1252", "latin-1")


def _printable(text: str) -> bool:
    return all(c.isprintable() for c in text)


_ZH_WORD = re.compile("[\u4e00-\u9fff]{2}|[，。：]")
_EN_PLACES = ("São Paulo", "Zürich", "Málaga", "Montréal", "Bogotá", "Köln", "Besançon", "Curaçao")
# What an English fragment may damage: typographic marks and the places' accented letters
# (never ”, whose Windows-1252 reading has an undefined byte, so every damaged line keeps one
# correct character).
_EN_DAMAGEABLE = frozenset("“—’" + "".join(c for p in _EN_PLACES for c in p if ord(c) > 127))


def mojibake_fragments_doc(rng: random.Random, lang: str, when: date, site: Site) -> Doc:
    """An article with 3-6 distinct mojibake fragments spread over 2+ paragraphs, each beside
    correctly encoded characters of its line (Chinese text; English typeset with curly quotes
    and dashes, and a sentence naming a place with an accent in each damaged paragraph)."""
    doc = article_doc(rng, lang, when, site)
    texts = [b.text for b in doc.blocks]
    if lang == "en":
        texts = [_typeset(rng, t) for t in texts]
    target = rng.randint(3, 6)
    lines = rng.sample(range(len(texts)), min(len(texts), rng.randint(2, target)))
    done: set[str] = set()
    for j in range(4 * target):
        if len(done) == target:
            break
        i = lines[j % len(lines)]
        text = texts[i]
        if lang == "en":
            if not any(p in text for p in _EN_PLACES):
                text += f" The report was filed from {rng.choice(_EN_PLACES)}."
            units = [c for c in text if c in _EN_DAMAGEABLE]
        else:
            units = _ZH_WORD.findall(text)
        units = [u for u in dict.fromkeys(units) if u not in done and _printable(mojibake(u))]
        if units:
            unit = rng.choice(units)
            at = rng.choice([m.start() for m in re.finditer(re.escape(unit), text)])
            text = text[:at] + mojibake(unit) + text[at + len(unit) :]
            done.add(unit)
        texts[i] = text
    blocks = tuple(b._replace(text=t) for b, t in zip(doc.blocks, texts, strict=True))
    return Doc(doc.title, doc.byline, blocks)
