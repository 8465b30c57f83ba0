"""Gopher, C4 and FineWeb document rules with Chinese-aware counting (``HeuristicFilter``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from skyforge.config import FiltersConfig
from skyforge.data.filters.params import check_filters
from skyforge.data.filters.text import (
    CJK,
    EN_STOP_WORDS,
    ZH_STOP_WORDS,
    DocFilter,
    is_cjk_doc,
    is_running_text,
    tokenize_words,
)

_CJK_RUN_RE = re.compile(f"[{CJK}]+")
_LETTER_RE = re.compile(r"[^\W\d_]")
_CASED_RE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏͰ-ϿЀ-ӿ]")
# Numbers and math operators standing alone are notation, not words (see min_alpha_words).
_NOTATION_RE = re.compile(r"^[-+=×÷·*/<>≈≤≥±−^()\[\]|%$€¥£.,:;0-9]+$")
# Chinese words average 1.5–2 characters, so a word n-gram of Gopher's rules is about a 2n
# character n-gram of Chinese (character 5-grams would flag every repeated 5-character name).
_ZH_CHARS_PER_WORD = 2
# Code lines shorter than this (closing braces, "pass", "else:") repeat in any program and are
# left out of the duplicate-line rule for code.
_MIN_CODE_LINE_CHARS = 10
_STRIP = "\"'()[]{}<>.,;:!?`*_~“”‘’«»…—–-"
_ELLIPSIS_RE = re.compile(r"\.\.\.|…+")
_BULLETS = ("•", "●", "○", "◦", "▪", "▫", "■", "□", "►", "▶", "➢", "➤", "✓", "✔", "-", "*")
_BULLETS += ("–", "—", "·", "‣")


@dataclass
class TextStats:
    """Per-document measures the heuristic rules read (computed once per document)."""

    words: list[str]  # tokenize_words(text)
    norm: list[str]  # lower-cased words without punctuation (the n-gram rules' units)
    lines: list[str]  # non-empty, stripped
    paragraphs: list[str]
    cjk: bool

    @classmethod
    def of(cls, text: str, lang: str | None) -> TextStats:
        """Measure ``text``; ``lang`` picks Chinese (character) or space-delimited words."""
        words = tokenize_words(text)
        norm = _NORM_RE.findall(text.lower())
        lines = [s for s in (ln.strip() for ln in text.split("\n")) if s]
        paragraphs = [p.strip() for p in _PARAGRAPH_RE.split(text) if p.strip()]
        return cls(words, norm, lines, paragraphs, is_cjk_doc(lang, words))


_NORM_RE = re.compile(f"[{CJK}]|[^\\W{CJK}]+")
_PARAGRAPH_RE = re.compile(r"\n\s*\n")
# Multiplier of the rolling n-gram hash (a large odd constant; uint64 arithmetic wraps).
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


def _dup_fractions(items: list[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of characters in those repeats)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    num_dup = dup_chars = total_chars = 0
    for item in items:
        total_chars += len(item)
        if item in seen:
            num_dup += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return num_dup / len(items), dup_chars / max(1, total_chars)


class _NGrams:
    """Gopher's n-gram statistics over a word sequence, vectorised with NumPy.

    Words become integer ids, an n-gram a rolling 64-bit hash of its ids (collisions are
    negligible at document sizes), so counting n-grams is one ``np.unique`` per n instead of a
    Python dict of tuples.
    """

    def __init__(self, words: list[str]):
        vocab: dict[str, int] = {}
        self.ids = np.fromiter(
            (vocab.setdefault(w, len(vocab)) for w in words), dtype=np.uint64, count=len(words)
        )
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.cum = np.concatenate(([0], np.cumsum(self.lengths)))
        self.total = int(self.cum[-1])
        self._hashes: dict[int, np.ndarray] = {1: self.ids}

    def hashes(self, n: int) -> np.ndarray:
        """One hash per n-gram start position."""
        if n not in self._hashes:
            prev = self.hashes(n - 1)
            with np.errstate(over="ignore"):
                self._hashes[n] = prev[:-1] * _HASH_MUL + self.ids[n - 1 :]
        return self._hashes[n]

    def top_frac(self, n: int) -> float:
        """Character share of the most frequent n-gram, counting each occurrence."""
        if len(self.ids) < n + 1 or self.total == 0:
            return 0.0
        _, first, counts = np.unique(self.hashes(n), return_index=True, return_counts=True)
        top = counts.max()
        if top < 2:
            return 0.0
        best = first[counts == top]
        chars = (self.cum[best + n] - self.cum[best]).max()  # ties: the longest
        return float(chars * top / self.total)

    def dup_frac(self, n: int) -> float:
        """Character share of words inside any n-gram that occurs more than once.

        Every occurrence of a repeated n-gram is covered; overlapping n-grams count their
        characters once.
        """
        if len(self.ids) < n + 1 or self.total == 0:
            return 0.0
        _, inverse, counts = np.unique(self.hashes(n), return_inverse=True, return_counts=True)
        starts = np.concatenate(([0], np.cumsum(counts[inverse] > 1)))
        # Word j is covered when a repeated n-gram starts in [j - n + 1, j].
        j = np.arange(len(self.ids))
        hi = np.minimum(j + 1, len(starts) - 1)
        lo = np.clip(j - n + 1, 0, len(starts) - 1)
        covered = starts[hi] > starts[lo]
        return float(self.lengths[covered].sum() / self.total)


class HeuristicFilter(DocFilter):
    """Gopher / C4 / FineWeb-style document rules with Chinese-aware counting.

    Rules run cheapest first and the first failing rule gives the reason: length
    (``too_short``, ``too_long``; words of running-text lines, see ``is_running_text``), C4's
    ``lorem_ipsum``, repetition (``dup_lines``, ``dup_paragraphs``, ``dup_line_chars``,
    ``dup_paragraph_chars``, ``top_{n}gram``, ``dup_{n}gram``), then for natural language only
    ``keyword_stuffing``, ``mean_word_length`` (English), ``symbol_ratio``, ``ellipsis_lines``,
    ``bullet_lines``, ``alpha_words``, ``stop_words`` and ``caps_lines``.
    """

    step = "heuristic"

    def __init__(self, params: FiltersConfig):
        check_filters(params)
        self.p = params

    def reason(self, doc: dict[str, Any]) -> str | None:
        return self.check(doc["text"], doc.get("lang"))

    def check(self, text: str, lang: str | None) -> str | None:
        """Return None to keep ``text`` (in language ``lang``), else the failing rule."""
        p = self.p
        s = TextStats.of(text, lang)
        num_words = len(s.words)
        if lang != "code":
            # Length counts running text only: a list of menu items or month names is not
            # content however long it is (C4 likewise dropped lines of fewer than 3 words).
            num_words = sum(len(tokenize_words(ln)) for ln in s.lines if is_running_text(ln))
        lo, hi = (p.min_words_zh, p.max_words_zh) if s.cjk else (p.min_words, p.max_words)
        if num_words < lo:
            return "too_short"
        if num_words > hi:
            return "too_long"
        if "lorem ipsum" in text.lower():
            return "lorem_ipsum"  # C4: placeholder text

        is_code = lang == "code"
        why = self._repetition(s, is_code)
        if why is None and not is_code:
            # Keywords repeat in every program; stuffing is a natural-language pathology.
            why = self._stuffing(text, s)
        if why is None and not is_code:
            why = self._quality(text, s, lang)
        return why

    def _repetition(self, s: TextStats, is_code: bool) -> str | None:
        p = self.p
        lines = [ln for ln in s.lines if len(ln) >= _MIN_CODE_LINE_CHARS] if is_code else s.lines
        frac, chars = _dup_fractions(lines)
        if frac > p.max_dup_lines:
            return "dup_lines"
        if chars > p.max_dup_line_chars:
            return "dup_line_chars"
        frac, chars = _dup_fractions(s.paragraphs)
        if frac > p.max_dup_paragraphs:
            return "dup_paragraphs"
        if chars > p.max_dup_paragraph_chars:
            return "dup_paragraph_chars"
        # n-grams over lower-cased words without punctuation (Gopher normalises likewise).
        grams = _NGrams(s.norm)
        scale = _ZH_CHARS_PER_WORD if s.cjk else 1
        for n, limit in zip((2, 3, 4), p.max_top_ngram_frac, strict=True):
            if grams.top_frac(n * scale) > limit:
                return f"top_{n}gram"
        if is_code:
            # Programs repeat multi-token sequences by nature (signatures, calls, idioms);
            # duplicated lines and the top n-gram above catch generated or copy-pasted code.
            return None
        limits = p.max_dup_ngram_frac
        for n, limit in zip(range(5, 11), limits, strict=True):
            frac = grams.dup_frac(n * scale)
            if frac > limit:
                return f"dup_{n}gram"
            if frac <= min(limits):
                break  # longer n-grams cover no more than this: all remaining rules pass
        return None

    def _stuffing(self, text: str, s: TextStats) -> str | None:
        if s.cjk:
            # Chinese keywords are mostly two-character words: count character bigrams inside
            # runs of CJK text, leaving out those with a function character.
            units = [
                run[i : i + 2]
                for run in _CJK_RUN_RE.findall(text)
                for i in range(len(run) - 1)
                if run[i] not in ZH_STOP_WORDS and run[i + 1] not in ZH_STOP_WORDS
            ]
        else:
            units = [w for w in s.norm if len(w) > 1 and w not in EN_STOP_WORDS and not w.isdigit()]
        if len(units) < 20:
            return None
        top = sum(c for _, c in Counter(units).most_common(self.p.stuffing_top_k))
        if top / len(units) > self.p.max_stuffing_frac:
            return "keyword_stuffing"
        return None

    def _quality(self, text: str, s: TextStats, lang: str | None) -> str | None:
        p = self.p
        words = [w for w in s.words if not _NOTATION_RE.match(w)]
        num_words = max(1, len(words))
        if not s.cjk:
            stripped = [w.strip(_STRIP) for w in words]
            lengths = [len(w) for w in stripped if w]
            mean = sum(lengths) / max(1, len(lengths))
            if not p.min_mean_word_length <= mean <= p.max_mean_word_length:
                return "mean_word_length"
        num_symbols = text.count("#") + len(_ELLIPSIS_RE.findall(text))
        if num_symbols / num_words > p.max_symbol_word_ratio:
            return "symbol_ratio"
        num_lines = max(1, len(s.lines))
        if sum(1 for ln in s.lines if ln.endswith(("...", "…"))) / num_lines > p.max_ellipsis_lines:
            return "ellipsis_lines"
        if sum(1 for ln in s.lines if ln.startswith(_BULLETS)) / num_lines > p.max_bullet_lines:
            return "bullet_lines"
        if sum(1 for w in words if _LETTER_RE.search(w)) / num_words < p.min_alpha_words:
            return "alpha_words"
        if s.cjk:
            present = ZH_STOP_WORDS.intersection(w for w in s.words if len(w) == 1)
        else:
            present = EN_STOP_WORDS.intersection(s.norm)
        if len(present) < p.min_stop_words:
            return "stop_words"
        # str.isupper: no lower-case letter and at least one cased one (a cheap first test).
        num_caps = sum(1 for ln in s.lines if ln.isupper() and len(_CASED_RE.findall(ln)) >= 5)
        if num_caps / num_lines > p.max_caps_lines:
            return "caps_lines"
        return None
