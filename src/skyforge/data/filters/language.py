"""Language ID: a line-based code detector, then py3langid or fastText lid.176."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skyforge.data.filters.text import CJK_RE, ZH_VARIETIES, DocFilter, is_running_text

_CODE_KEYWORD_RE = re.compile(
    r"^\s*(?:def|class|return|import|from\s+[\w.]+\s+import|elif|else|try|except|finally|with|"
    r"raise|yield|async|await|lambda|pass|assert|global|nonlocal|public|private|protected|static|"
    r"void|const|let|var|function|package|func|fn|impl|struct|enum|namespace|template|typedef|"
    r"switch|case|break|continue|#include|#define|#if|#endif|using|SELECT|INSERT|UPDATE|CREATE|"
    r"if|for|while|do)\b(?!\s+(?:the|a|an|you|we|it|this|that|is|are)\b)"
)
_CODE_SIGNAL_RE = re.compile(
    r"==|!=|<=|>=|->|=>|::|\+=|-=|&&|\|\||/\*|\*/|^\s*(?://|#(?!#* ))|"  # operators, comments
    r"[A-Za-z_]\w*\.\w+\(|\b[A-Za-z_]\w+\(|\b[a-z]+_[a-z_]+\b|\bself\.|\bthis\.|</?\w+>|"
    r"\b0x[0-9A-Fa-f]+\b|^\s{4,}\S.*,$"  # hex literals, indented data / argument lines
)


def code_score(text: str) -> float:
    """Share of code lines among code and prose lines (0 for prose, ~1 for a listing).

    A line looks like code when it starts with a programming keyword (lower case, not followed
    by an English article or pronoun), ends with ``;``, ``{`` or ``}``, holds an operator,
    comment marker, call ``name(``, snake_case name, attribute access or hex literal, or is
    indented by four spaces or a tab. Math (``x = -7``, ``(x + 7)(x - 3) = 0``) has none of
    these. Other lines of at least four words are prose; the rest (menu items, dates, short
    headings) count for neither side, so a page's navigation does not dilute its listing.
    """
    num_prose = num_code = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[-1] in ";{}" or _CODE_KEYWORD_RE.match(line) or _CODE_SIGNAL_RE.search(line):
            num_code += 1
        elif line.startswith(("    ", "\t")):
            # Extracted prose is not indented; indented lines come from <pre> blocks (code
            # bodies, docstrings and comments inside them).
            num_code += 1
        elif is_running_text(stripped):
            num_prose += 1
    total = num_code + num_prose
    return num_code / total if total else 0.0


class LanguageFilter(DocFilter):
    """Code detector + py3langid (or fastText lid.176); sets ``lang`` and ``lang_score``."""

    step = "language"

    def __init__(
        self,
        keep_langs: Iterable[str],
        min_lang_score: float,
        min_code_score: float,
        fasttext_model_path: str | None = None,
        max_chars: int = 2000,
        min_chars: int = 100,
    ):
        self.keep = frozenset(keep_langs)
        self.min_chars = min_chars
        self.min_score = min_lang_score
        self.min_code_score = min_code_score
        self.max_chars = max_chars
        self._fasttext = None
        self._langid = None
        if fasttext_model_path:
            path = Path(fasttext_model_path)
            if not path.is_file():
                raise ValueError(
                    f"config key 'filters.fasttext_model_path': no such file {fasttext_model_path}"
                )
            import fasttext  # deferred: optional model, imported only when configured

            self._fasttext = fasttext.load_model(str(path))
        else:
            # deferred: only the configured language-ID model is imported
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            # norm_probs: a calibrated probability, comparable with min_lang_score.
            self._langid = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def identify(self, text: str) -> tuple[str, float]:
        """(language, score) for ``text``: "code" or an ISO 639-1 code (zh, en, fr, ...).

        Chinese varieties the models tell apart (Wu, Cantonese, ...) are one language here,
        written Chinese, and their probabilities are added up: a page that mixes Mandarin with
        English or formulas otherwise splits its mass between zh and wuu and looks uncertain.
        """
        sample = _content_sample(text, self.max_chars)
        if not _mostly_cjk(sample):
            # Chinese prose never looks like code; skip the line scan for it.
            score = code_score(text[: self.max_chars])
            if score >= self.min_code_score:
                return "code", score
        if self._fasttext is not None:
            # The list form: fasttext 0.9.3's single-string predict breaks under NumPy 2.
            labels, probs = self._fasttext.predict([" ".join(sample.split())], k=5)
            ranked = [
                (lb.removeprefix("__label__"), float(p))
                for lb, p in zip(labels[0], probs[0], strict=True)
            ]
        else:
            ranked = self._langid.rank(sample)
        if not ranked:
            return "und", 0.0
        merged: dict[str, float] = {}
        for lang, prob in ranked:
            key = "zh" if lang in ZH_VARIETIES else lang
            merged[key] = merged.get(key, 0.0) + prob
        lang = max(merged, key=merged.__getitem__)
        return lang, min(1.0, merged[lang])

    def reason(self, doc: dict[str, Any]) -> str | None:
        text = doc["text"]
        lang, score = self.identify(text)
        doc["lang"], doc["lang_score"] = lang, score
        if lang != "code" and _running_chars(text, self.min_chars) < self.min_chars:
            # Too little running text to tell the language (a page of menu items or month
            # names reads as Nigerian Pidgin to py3langid): the best guess is kept as the label
            # and the length rules remove the page with the reason that says what is wrong.
            return None
        if lang not in self.keep:
            return f"lang:{lang}"
        if lang != "code" and score < self.min_score:
            # A groupable label: the funnel counts removals by reason.
            return f"low_confidence:{lang}"
        return None


def _running_chars(text: str, enough: int) -> int:
    """Characters in running-text lines (counting stops at ``enough``)."""
    total = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and is_running_text(stripped):
            total += len(stripped)
            if total >= enough:
                break
    return total


def _content_sample(text: str, max_chars: int, min_chars: int = 100) -> str:
    """The text's running-text lines, up to ``max_chars`` (all of it if too few).

    Menus, date lists and formula lines ("December 2023", "x = 5") carry little language
    signal and, in bulk, pull a page towards the wrong language (py3langid calls a page of
    English month names Nigerian Pidgin).
    """
    out: list[str] = []
    size = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and is_running_text(stripped):
            out.append(stripped)
            size += len(stripped) + 1
            if size >= max_chars:
                break
    sample = "\n".join(out)
    return sample[:max_chars] if len(sample) >= min_chars else text[:max_chars]


def _mostly_cjk(text: str) -> bool:
    num_cjk = len(CJK_RE.findall(text[:2000]))
    return num_cjk > 0.3 * len(text[:2000])


# --- line cleanup -----------------------------------------------------------------------------
