"""Near copies of kept articles (``dup_type`` near, step ``near_dedup``).

A near copy is the original after a few word edits (an adjective swapped, an adverb inserted or
dropped, a connector added) and an "updated" date line, with a 5-gram Jaccard similarity of at
least ``MIN_NEAR_JACCARD`` to the original: above the 0.8 threshold of MinHash dedup, so a miss
is the dedup's fault, while the text still differs (no exact-dedup hit).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import date

from skyforge.synthetic.pages.sites import Site
from skyforge.synthetic.pages.text import Doc, en_byline, zh_byline
from skyforge.synthetic.vocab import general as V

MIN_NEAR_JACCARD = 0.82


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


def near_variant(rng: random.Random, doc: Doc, lang: str, when: date, site: Site) -> Doc:
    """The same article after a few word edits and a changed date line (Jaccard ≥ 0.82)."""
    byline = (
        zh_byline(rng, when, site.name, updated=True)
        if lang == "zh"
        else en_byline(rng, when, updated=True)
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
            and _jaccard(base, _shingles(out.main_text, lang)) >= MIN_NEAR_JACCARD
        ):
            return out
    # Too short for edits to stay similar: changing only the date line keeps it near.
    return replace(doc, byline=byline)
