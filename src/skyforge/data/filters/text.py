"""Characters and words shared by the filters: CJK-aware tokenization, stop words, ``DocFilter``.

Chinese has no spaces, so a Chinese "word" is one CJK ideograph; ``tokenize_words`` and the
regexes here are the units every rule of :mod:`skyforge.data.filters.heuristics` counts in.
"""

from __future__ import annotations

import re
from typing import Any

# Gopher's stop words (Rae et al. 2021, App. A.1.1: "at least two of: the, be, to, of, and,
# that, have, with").
EN_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
# The Chinese counterpart: frequent function characters of written Chinese (structural particle
# 的, aspect particles 了/着/过, copula 是, prepositions, conjunctions, measure word 个). Chinese
# spreads its function words over more characters than English does, hence a longer list than
# Gopher's eight. Normal prose contains many of them; keyword lists and navigation contain few.
ZH_STOP_WORDS = frozenset("的了着过是在和与及有不这也就都而为对将把被从到于以之其中个们一上")
# Language-ID labels of Chinese varieties written in Hanzi (py3langid: wuu, yue; lid.176 also
# gan, hak, ...): all of them are "zh", written Chinese, for this pipeline.
ZH_VARIETIES = frozenset({"zh", "wuu", "yue", "gan", "hak", "cdo", "nan", "hsn", "lzh", "cmn"})


# CJK Unified Ideographs (+ extension A, compatibility, extensions B–F). Listed explicitly
# because str.isalpha() is also true for kana, hangul and every other script.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# CJK punctuation and full-width forms act as word separators in Chinese text.
_CJK_SEP = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018-\u201f\u2026"
CJK_RE = re.compile(f"[{CJK}]")
_TOKEN_RE = re.compile(f"[{CJK}]|[^\\s{CJK}{_CJK_SEP}]+")


def tokenize_words(text: str) -> list[str]:
    """Split text into words: whitespace tokens, except that each CJK ideograph is a word.

    Chinese is written without spaces; one ideograph per word is the segmentation-free unit
    that needs no dictionary (a real Chinese word is 1–4 of them, most often 2).
    """
    if CJK_RE.search(text) is None:
        return text.split()
    return _TOKEN_RE.findall(text)


def is_cjk_doc(lang: str | None, words: list[str]) -> bool:
    if lang == "zh":
        return True
    if lang in ("en", "code"):
        return False
    cjk = sum(1 for w in words if len(w) == 1 and CJK_RE.match(w))
    return cjk > 0.5 * max(1, len(words))


# ---------------------------------------------------------------------------------------------
# The filter framework
# ---------------------------------------------------------------------------------------------


class DocFilter:
    """A document filter: ``step`` names the removal step; ``reason`` decides one document.

    Subclasses implement ``reason(doc)``, returning None to keep the document or a short,
    groupable reason string ("too_short", "blocklist:adult"). A filter may annotate the document
    dict it is given (the language filter sets ``lang`` and ``lang_score``).
    """

    step: str = ""

    def reason(self, doc: dict[str, Any]) -> str | None:
        """Return None to keep ``doc``, else why it is removed."""
        raise NotImplementedError


def is_running_text(line: str) -> bool:
    """A line of running text: at least 3 words, or 5 CJK characters (not a menu item)."""
    return len(line.split(None, 3)) >= 3 or len(CJK_RE.findall(line)) >= 5
