"""Distribution and heuristic filters: URL blocklists, language ID, line cleanup, document rules.

One shard of extracted documents goes through six stages, in this order (SPEC §3 and §5):

1. **URL filter** (step ``url_filter``): the host, or any parent domain of it, is on a domain
   blocklist (adult, gambling, spam; the packaged lists or files named in the config), or the URL
   matches a regex pattern. Reason ``blocklist:<list>`` / ``url_pattern:<n>``.
1b. **Mojibake** (step ``encoding``, ``skyforge.data.filters.encoding``): text that is UTF-8 misread as
   GBK or Windows-1252 is repaired when the round trip is certain, before language ID reads it;
   irreparable damage is removed (``encoding:mojibake``).
2. **Language ID** (step ``language``): zh / en / code / other. Code is not a natural language,
   so a cheap line-based code detector runs first; natural language goes to py3langid (its model
   ships inside the PyPI package, so nothing is downloaded at run time) or, when
   ``fasttext_model_path`` is set, to fastText lid.176. Kept documents get ``lang`` and
   ``lang_score``. Reason ``lang:<iso>`` or ``low_confidence:<lang>``.
3. **Line cleanup** (no removal rows; it edits text): C4-style removal of boilerplate lines
   (cookie notices, "enable JavaScript", "all rights reserved", ICP filings...), navigation-like
   lines of very short items, and lines with no letters or digits.
4. **Heuristic document rules** (step ``heuristic``): Gopher (Rae et al. 2021, App. A) and C4
   (Raffel et al. 2020, §2.2) rules plus keyword stuffing and all-caps lines, with Chinese-aware
   versions. Chinese has no spaces, so a "word" of a Chinese document is one CJK ideograph (a
   segmentation-free unit; non-CJK runs still split on whitespace), length rules use their own
   Chinese thresholds, mean word length applies to English only, and the stop-word rule uses a
   list of Chinese function characters. Code keeps only the length and repetition rules.
5. **Content rules** (step ``harmful``, ``skyforge.data.filters.harmful``): weighted adult / gambling /
   fraud term lists, contact stuffing and link farms, on pages that passed everything above
   (harmful pages on random domains have long Chinese lines that every heuristic accepts).

Why not a library: datatrove's Gopher/C4 filters are the reference for the English rules, but
they tokenise with a per-language word tokenizer (spaCy, jieba), run 3x slower per core here
(benchmarks/filters.py), and its language filter downloads its fastText model at run time; none
knows Chinese function words or detects code. The rules are small, so they are written here
against the papers, with the papers' thresholds as ``FilterParams`` defaults (cited per field).
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from skyforge.data import BLOCKLIST_CATEGORIES, BLOCKLIST_DIR
from skyforge.data.docs import read_docs, write_docs, write_removed, write_table
from skyforge.data.filters.encoding import EncodingParams, MojibakeRepair
from skyforge.data.filters.harmful import HarmfulParams, HarmfulRules

__all__ = [
    "FilterParams",
    "DocFilter",
    "UrlFilter",
    "LanguageFilter",
    "HeuristicFilter",
    "LineCleaner",
    "TextStats",
    "code_score",
    "tokenize_words",
    "filter_shard",
]

log = logging.getLogger(__name__)

# Default URL pattern: words that mark adult pages whatever the domain (RefinedWeb, Penedo et al.
# 2023, scored URLs against a curated adult word list on top of its 4.6 M-domain blocklist;
# gambling and spam are left to the domain lists and the heuristics). Separator-bounded so that
# "sussex" or "essex" do not match "sex".
DEFAULT_URL_PATTERNS = (
    r"(?:^|[./_?=&-])(?:porn|porno|xxx|sex|hentai|escort|camgirls?|nsfw)(?:[./_?=&-]|$)",
)

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


@dataclass(frozen=True)
class FilterParams:
    """Parameters of ``filter_shard`` (config section ``filters``, one key per field).

    Fractions are in [0, 1]. "Words" of a Chinese document are CJK ideographs plus
    whitespace-separated non-CJK tokens (see ``tokenize_words``).
    """

    # --- URL filter --------------------------------------------------------------------------
    blocklists: tuple[str, ...] = BLOCKLIST_CATEGORIES
    """Domain blocklists: names of packaged lists (adult, gambling, spam) or paths to files with
    one domain per line ('#' comments). A host matches a domain or any subdomain of it."""
    url_patterns: tuple[str, ...] = DEFAULT_URL_PATTERNS
    """Regexes searched (case-insensitive) in the full URL; a match removes the document."""

    # --- language ID -------------------------------------------------------------------------
    keep_langs: tuple[str, ...] = ("zh", "en", "code")
    """Languages kept ("code" for source code); others are removed with reason lang:<iso>."""
    min_lang_score: float = 0.65
    """Minimum language-ID confidence for natural languages (FineWeb keeps English at 0.65)."""
    fasttext_model_path: str | None = None
    """fastText lid.176 model (.bin/.ftz) used instead of py3langid when set (cluster)."""
    lang_id_max_chars: int = 2000
    """Only the first this-many characters are identified (the rest does not change the answer
    for a single-language page and costs time)."""
    lang_id_min_chars: int = 100
    """Documents with fewer characters of running text (lines of 3+ words or 5+ CJK
    characters) are not removed by language ID, which cannot be sure of a few words or a menu;
    they keep its best guess as ``lang`` and the length rules remove them as too short."""
    min_code_score: float = 0.4
    """A document is "code" from this share of code lines among code and prose lines
    (``code_score``); its ``lang_score`` is then that share."""

    # --- line cleanup (C4) -------------------------------------------------------------------
    clean_lines: bool = True
    """Drop boilerplate, navigation-like and letterless lines before the document rules."""
    max_boilerplate_line_words: int = 60
    """Boilerplate phrases remove a line only when the line is at most this long, so a real
    paragraph that mentions e.g. a privacy policy survives (C4 removed any such line)."""

    # --- length (Gopher: 50 to 100,000 words) ------------------------------------------------
    min_words: int = 50
    max_words: int = 100_000
    min_words_zh: int = 75
    """Chinese: CJK characters count one each; running Chinese text averages about 1.5
    characters per word, so 75 characters say about what Gopher's 50 words say."""
    max_words_zh: int = 200_000

    # --- Gopher quality rules (natural language only) ----------------------------------------
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    """English only: Chinese has no word boundaries to measure."""
    max_symbol_word_ratio: float = 0.1
    """Hash signs and ellipses per word."""
    max_ellipsis_lines: float = 0.3
    """Share of lines ending with "..." or "…"."""
    max_bullet_lines: float = 0.9
    """Share of lines starting with a bullet."""
    min_alpha_words: float = 0.8
    """Share of words with at least one letter (CJK ideographs are letters). Numbers and math
    operators standing alone are notation and are not counted: Gopher's rule as written removes
    worked math solutions (OpenWebMath, Paster et al. 2023, built its own filters for this),
    which SkyPile-STEM needs; number-only tables still fail the stop-word rule."""
    min_stop_words: int = 2
    """Distinct stop words present (English: Gopher's list; Chinese: ``ZH_STOP_WORDS``)."""
    max_caps_lines: float = 0.3
    """Share of lines (with at least 5 cased letters) written in capitals only."""

    # --- Gopher repetition rules (all languages) ---------------------------------------------
    max_dup_lines: float = 0.3
    max_dup_paragraphs: float = 0.3
    max_dup_line_chars: float = 0.2
    max_dup_paragraph_chars: float = 0.2
    max_top_ngram_frac: tuple[float, ...] = (0.20, 0.18, 0.16)
    """Character share of the most frequent n-gram, for n = 2, 3, 4."""
    max_dup_ngram_frac: tuple[float, ...] = (0.15, 0.14, 0.13, 0.12, 0.11, 0.10)
    """Character share covered by n-grams seen more than once, for n = 5 … 10."""

    # --- keyword stuffing --------------------------------------------------------------------
    stuffing_top_k: int = 3
    max_stuffing_frac: float = 0.3
    """The ``stuffing_top_k`` most frequent content words (stop words and single characters
    left out; Chinese: CJK character bigrams) may cover at most this share of all of them.
    Not from a paper: set with a wide margin over news prose, where the top three cover < 15 %."""

    def __post_init__(self) -> None:
        for name in ("min_lang_score", "max_symbol_word_ratio", "max_ellipsis_lines",
                     "max_bullet_lines", "min_alpha_words", "max_caps_lines", "max_dup_lines",
                     "max_dup_paragraphs", "max_dup_line_chars", "max_dup_paragraph_chars",
                     "min_code_score", "max_stuffing_frac"):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"config key 'filters.{name}': must be in [0, 1], got {value}")
        if len(self.max_top_ngram_frac) != 3:
            raise ValueError("config key 'filters.max_top_ngram_frac': needs 3 values (n=2,3,4)")
        if len(self.max_dup_ngram_frac) != 6:
            raise ValueError("config key 'filters.max_dup_ngram_frac': needs 6 values (n=5..10)")
        for i, pattern in enumerate(self.url_patterns):
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(
                    f"config key 'filters.url_patterns[{i}]': bad regex {pattern!r}: {err}"
                ) from None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FilterParams:
        """Build from a config mapping; lists become tuples, unknown keys are errors."""
        known = cls.__dataclass_fields__
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"config key 'filters.{unknown[0]}': unknown filter parameter")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# ---------------------------------------------------------------------------------------------
# Characters and words
# ---------------------------------------------------------------------------------------------

# CJK Unified Ideographs (+ extension A, compatibility, extensions B–F). Listed explicitly
# because str.isalpha() is also true for kana, hangul and every other script.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# CJK punctuation and full-width forms act as word separators in Chinese text.
_CJK_SEP = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018-\u201f\u2026"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_TOKEN_RE = re.compile(f"[{_CJK}]|[^\\s{_CJK}{_CJK_SEP}]+")
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
_BULLETS = ("•", "●", "○", "◦", "▪", "▫", "■", "□", "►", "▶", "➢", "➤", "✓", "✔", "-", "*",
            "–", "—", "·", "‣")  # fmt: skip
_TERMINAL = (".", "!", "?", '"', "'", "。", "！", "？", "；", "…", "」", "』", "”", "’", ")", "）")


def tokenize_words(text: str) -> list[str]:
    """Split text into words: whitespace tokens, except that each CJK ideograph is a word.

    Chinese is written without spaces; one ideograph per word is the segmentation-free unit
    that needs no dictionary (a real Chinese word is 1–4 of them, most often 2).
    """
    if _CJK_RE.search(text) is None:
        return text.split()
    return _TOKEN_RE.findall(text)


def _is_cjk_doc(lang: str | None, words: list[str]) -> bool:
    if lang == "zh":
        return True
    if lang in ("en", "code"):
        return False
    cjk = sum(1 for w in words if len(w) == 1 and _CJK_RE.match(w))
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


def _load_domain_list(entry: str) -> tuple[str, frozenset[str]]:
    """(list name, domains) for a packaged category name or a path to a list file."""
    if entry in BLOCKLIST_CATEGORIES:
        path = BLOCKLIST_DIR / f"{entry}.txt"
    else:
        path = Path(entry)
        if not path.is_file():
            raise ValueError(
                f"config key 'filters.blocklists': '{entry}' is neither a packaged list "
                f"({', '.join(BLOCKLIST_CATEGORIES)}) nor a file"
            )
    domains = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower().rstrip(".")
        if line:
            domains.add(line.removeprefix("*."))
    return path.stem, frozenset(domains)


def _host(doc: dict[str, Any]) -> str:
    host = doc.get("domain") or ""
    if not host and doc.get("url"):
        try:
            host = urlsplit(doc["url"]).hostname or ""
        except ValueError:
            host = ""
    return host.lower().rstrip(".")


class UrlFilter(DocFilter):
    """Domain blocklists (host or any parent domain) and URL regex patterns."""

    step = "url_filter"

    def __init__(self, blocklists: Iterable[str], url_patterns: Iterable[str]):
        # One dict domain -> list name: a lookup per suffix of the host, not per list entry.
        self.domains: dict[str, str] = {}
        for entry in blocklists:
            name, domains = _load_domain_list(entry)
            for d in domains:
                self.domains.setdefault(d, name)
        self.patterns = [re.compile(p, re.IGNORECASE) for p in url_patterns]

    def blocklist_of(self, host: str) -> str | None:
        """Name of the list that holds ``host`` or one of its parent domains, else None."""
        parts = host.lower().rstrip(".").split(".")
        for i in range(len(parts)):
            name = self.domains.get(".".join(parts[i:]))
            if name is not None:
                return name
        return None

    def reason(self, doc: dict[str, Any]) -> str | None:
        host = _host(doc)
        if host:
            name = self.blocklist_of(host)
            if name is not None:
                return f"blocklist:{name}"
        url = doc.get("url") or ""
        for i, pattern in enumerate(self.patterns):
            if pattern.search(url):
                return f"url_pattern:{i}"
        return None


# --- code detection ---------------------------------------------------------------------------

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
        elif _is_running_text(stripped):
            num_prose += 1
    total = num_code + num_prose
    return num_code / total if total else 0.0


def _is_running_text(line: str) -> bool:
    """A line of running text: at least 3 words, or 5 CJK characters (not a menu item)."""
    return len(line.split(None, 3)) >= 3 or len(_CJK_RE.findall(line)) >= 5


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
            import fasttext

            self._fasttext = fasttext.load_model(str(path))
        else:
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
        if stripped and _is_running_text(stripped):
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
        if stripped and _is_running_text(stripped):
            out.append(stripped)
            size += len(stripped) + 1
            if size >= max_chars:
                break
    sample = "\n".join(out)
    return sample[:max_chars] if len(sample) >= min_chars else text[:max_chars]


def _mostly_cjk(text: str) -> bool:
    num_cjk = len(_CJK_RE.findall(text[:2000]))
    return num_cjk > 0.3 * len(text[:2000])


# --- line cleanup -----------------------------------------------------------------------------

_BOILERPLATE_RE = re.compile(
    # C4's policy phrases and JavaScript warnings, made specific enough that a line about
    # cookies (the food) or about JavaScript (the language) stays.
    r"(?:use|uses|using|use of) cookies|cookie (?:policy|settings|preferences|consent|banner)|"
    r"accept (?:all )?cookies|(?:enable|disable|turn on|activate|requires?|allow)d? javascript|"
    r"javascript (?:is|must be|has been|seems to be) (?:disabled|enabled|required|turned off)|"
    r"all rights reserved|copyright\s*(?:©|\(c\)|\d{4})|©\s*\d{4}|"
    r"privacy (?:policy|settings|statement)|terms (?:of (?:use|service)|and conditions)|"
    r"skip to (?:main )?content|back to top|subscribe to our|share (?:on|this)|follow us on|"
    r"manage preferences|"
    r"使用\s*cookie|cookie\s*(?:政策|设置)|javascript\s*功能|(?:启用|开启)\s*javascript|"
    r"版权所有|icp\s*备|icp\s*证|公网安备|隐私政策|用户协议|使用条款|返回顶部|不良信息举报|"
    r"举报电话|免责声明",
    re.IGNORECASE,
)
_ALNUM_RE = re.compile(r"[^\W_]")
_NAV_SPLIT_RE = re.compile(r"\s+[|·•»›>/]\s+|\s*[｜|]\s*|\s{2,}|\t")


class LineCleaner:
    """C4-style line filter (Raffel et al. 2020, §2.2), kinder to real prose.

    C4 dropped every line containing "javascript" or a policy phrase, and every line without
    terminal punctuation; the latter would strip code, headings and worked math, so here a
    line is dropped when it is (1) a short boilerplate line (cookie notice, JavaScript
    warning, copyright / "all rights reserved", ICP filing, privacy/terms links ...), (2)
    navigation-like: three or more very short items separated by ``|``, ``·``, ``»``, ``/``
    or wide gaps, without terminal punctuation, or (3) without any letter or digit
    (separator rules, "* * *", "|||").
    """

    def __init__(self, max_boilerplate_line_words: int = 60):
        self.max_words = max_boilerplate_line_words

    def line_reason(self, line: str) -> str | None:
        """None to keep ``line``, else "boilerplate", "navigation" or "no_letters"."""
        return self._reason(line.strip(), True, True)

    def _reason(self, stripped: str, maybe_boilerplate: bool, maybe_nav: bool) -> str | None:
        if _ALNUM_RE.search(stripped) is None:
            return "no_letters"
        if (
            maybe_boilerplate
            and _BOILERPLATE_RE.search(stripped)
            and len(tokenize_words(stripped)) <= self.max_words
        ):
            return "boilerplate"
        if maybe_nav and not stripped.endswith(_TERMINAL) and _NAV_SPLIT_RE.search(stripped):
            items = [i for i in _NAV_SPLIT_RE.split(stripped) if i]
            if len(items) >= 3 and all(_is_short_item(i) for i in items):
                return "navigation"
        return None

    def clean(self, text: str) -> tuple[str, Counter[str]]:
        """Return the text without dropped lines, and dropped lines per reason.

        Blank lines are kept (they separate paragraphs), but runs of them are collapsed.
        """
        # One search over the whole text spares the per-line searches on most pages.
        maybe_boilerplate = _BOILERPLATE_RE.search(text) is not None
        maybe_nav = _NAV_SPLIT_RE.search(text) is not None
        kept: list[str] = []
        dropped: Counter[str] = Counter()
        for line in text.split("\n"):
            stripped = line.strip()
            if not stripped:
                if kept and kept[-1] != "":
                    kept.append("")
                continue
            why = self._reason(stripped, maybe_boilerplate, maybe_nav)
            if why is None:
                kept.append(line.rstrip())
            else:
                dropped[why] += 1
        while kept and kept[-1] == "":
            kept.pop()
        return "\n".join(kept), dropped


def _is_short_item(item: str) -> bool:
    words = tokenize_words(item)
    if _CJK_RE.search(item):
        return len(words) <= 4
    return len(words) <= 2


# --- heuristic document rules -----------------------------------------------------------------


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
        return cls(words, norm, lines, paragraphs, _is_cjk_doc(lang, words))


_NORM_RE = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")
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
    (``too_short``, ``too_long``; words of running-text lines, see ``_is_running_text``), C4's
    ``lorem_ipsum``, repetition (``dup_lines``, ``dup_paragraphs``, ``dup_line_chars``,
    ``dup_paragraph_chars``, ``top_{n}gram``, ``dup_{n}gram``), then for natural language only
    ``keyword_stuffing``, ``mean_word_length`` (English), ``symbol_ratio``, ``ellipsis_lines``,
    ``bullet_lines``, ``alpha_words``, ``stop_words`` and ``caps_lines``.
    """

    step = "heuristic"

    def __init__(self, params: FilterParams):
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
            num_words = sum(len(tokenize_words(ln)) for ln in s.lines if _is_running_text(ln))
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


# ---------------------------------------------------------------------------------------------
# One shard
# ---------------------------------------------------------------------------------------------

FLAGGED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("reason", pa.string(), nullable=False),  # harmful:<category> / spam:<kind>
        pa.field("confidence", pa.float32()),  # times the thresholds (>= 1)
        pa.field("text", pa.string(), nullable=False),
        pa.field("shard", pa.int32()),
    ]
)
"""Documents the content rules removed, with their text (the classifier's positives)."""

REPAIRED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("codecs", pa.string()),  # repaired:gbk, repaired:cp1252 (comma-separated)
        pa.field("num_lines_repaired", pa.int32()),
        pa.field("num_lines_dropped", pa.int32()),
        pa.field("shard", pa.int32()),
    ]
)
"""Documents whose mojibake was repaired (kept, with the repaired text)."""


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def filter_shard(
    docs_in: Path,
    shard: int,
    out_docs: Path,
    out_removed: Path,
    params: FilterParams,
    *,
    encoding: EncodingParams | None = None,
    harmful: HarmfulParams | None = None,
    out_flagged: Path | None = None,
    out_repaired: Path | None = None,
) -> dict[str, Any]:
    """Run URL filter, mojibake check, language ID, line cleanup, heuristic and content rules.

    Args:
        docs_in: extracted documents of the shard (``docs.DOC_SCHEMA``).
        shard: shard index, written into every output row.
        out_docs: kept documents, with ``lang`` / ``lang_score`` set and cleaned text.
        out_removed: one row per removed document (step url_filter, encoding, language,
            heuristic or harmful).
        params: thresholds and lists (``FilterParams``).
        encoding: the mojibake check (``skyforge.data.filters.encoding``); None skips it.
        harmful: the harmful / spam content rules (``skyforge.data.filters.harmful``); None skips them.
        out_flagged: the text of every document the content rules remove, with its reason and
            confidence (``FLAGGED_SCHEMA``: the classifier's positives, and for audits).
        out_repaired: one row per document whose encoding damage was repaired
            (``REPAIRED_SCHEMA``).

    Returns:
        Statistics: documents and bytes in / kept / removed, removals per step and per
        ``step/reason``, lines dropped by the cleanup per reason, mojibake lines repaired or
        dropped, seconds and docs/s.

    Raises:
        ValueError: a blocklist entry that is neither a packaged list nor a file, or a missing
            fastText model.
    """
    started = time.perf_counter()
    url_filter = UrlFilter(params.blocklists, params.url_patterns)
    lang_filter = LanguageFilter(
        params.keep_langs,
        params.min_lang_score,
        params.min_code_score,
        params.fasttext_model_path,
        params.lang_id_max_chars,
        params.lang_id_min_chars,
    )
    cleaner = LineCleaner(params.max_boilerplate_line_words) if params.clean_lines else None
    heuristic = HeuristicFilter(params)
    mojibake = MojibakeRepair(encoding) if encoding is not None and encoding.enabled else None
    rules = HarmfulRules(harmful) if harmful is not None and harmful.enabled else None
    flagged: list[dict[str, Any]] = []
    repaired: list[dict[str, Any]] = []
    encoding_lines: Counter[str] = Counter()

    rows = read_docs(docs_in).to_pylist()
    kept: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    by_reason: Counter[str] = Counter()
    lines_dropped: Counter[str] = Counter()
    bytes_in = bytes_out = bytes_cleaned = 0
    for doc in tqdm(rows, desc=f"filter shard {shard}", unit="doc", mininterval=5.0):
        text = doc["text"] or ""
        size = _utf8_len(text)
        bytes_in += size
        step = why = None
        why = url_filter.reason(doc)
        if why is not None:
            step = url_filter.step
        elif mojibake is not None:
            fixed, why, counts = mojibake.check(text)
            encoding_lines.update(counts)
            if why is not None:
                step = mojibake.step
            elif counts:
                doc["text"] = fixed
            num_fixed = sum(v for k, v in counts.items() if k != "damaged")
            if why is None and num_fixed:
                repaired.append(
                    {
                        "id": doc["id"],
                        "url": doc.get("url"),
                        "codecs": ",".join(sorted(k for k in counts if k != "damaged")),
                        "num_lines_repaired": num_fixed,
                        "num_lines_dropped": counts["damaged"],
                        "shard": shard,
                    }
                )
        if step is None:
            why = lang_filter.reason(doc)
            step = lang_filter.step if why is not None else None
        if step is None:
            if cleaner is not None and doc["lang"] != "code":
                # Code keeps every line: its braces and comments would read as junk lines.
                cleaned, dropped = cleaner.clean(doc["text"])
                lines_dropped.update(dropped)
                doc["text"] = cleaned
            why = heuristic.reason(doc)
            step = heuristic.step if why is not None else None
            if step is None and doc["lang"] not in lang_filter.keep:
                # Language ID passed it as too short to judge, and the length rules were set
                # low enough to keep it: its best-guess language still decides.
                step, why = lang_filter.step, f"lang:{doc['lang']}"
            if step is None and rules is not None:
                verdict = rules.judge(doc["text"], doc["lang"])
                if verdict.reason is not None:
                    step, why = rules.step, verdict.reason
                    flagged.append(
                        {
                            "id": doc["id"],
                            "url": doc.get("url"),
                            "lang": doc["lang"],
                            "reason": why,
                            "confidence": verdict.confidence,
                            "text": doc["text"],
                            "shard": shard,
                        }
                    )
        if step is not None:
            removed.append(
                {
                    "id": doc["id"],
                    "url": doc.get("url"),
                    "step": step,
                    "reason": why,
                    "bytes": size,
                    "shard": shard,
                }
            )
            by_reason[f"{step}/{why}"] += 1
        else:
            doc["shard"] = shard
            out_size = _utf8_len(doc["text"])
            bytes_out += out_size
            bytes_cleaned += size - out_size
            kept.append(doc)

    write_docs(out_docs, kept)
    write_removed(out_removed, removed)
    if out_flagged is not None:
        write_table(out_flagged, flagged, FLAGGED_SCHEMA)
    if out_repaired is not None:
        write_table(out_repaired, repaired, REPAIRED_SCHEMA)
    seconds = time.perf_counter() - started
    by_step = Counter(r["step"] for r in removed)
    run_steps = ["url_filter", "encoding", "language", "heuristic", "harmful"]
    run_steps = [
        s
        for s in run_steps
        if (s != "encoding" or mojibake is not None) and (s != "harmful" or rules is not None)
    ]
    stats = {
        "shard": shard,
        "num_docs_in": len(rows),
        "num_kept": len(kept),
        "num_removed": len(removed),
        "removed_per_step": {s: by_step.get(s, 0) for s in run_steps},
        "num_repaired": len(repaired),
        "encoding_lines": dict(sorted(encoding_lines.items())),
        "removed_per_reason": dict(sorted(by_reason.items())),
        "lines_dropped": dict(sorted(lines_dropped.items())),
        "bytes_in": bytes_in,
        "bytes_kept": bytes_out,
        "bytes_removed_docs": sum(r["bytes"] for r in removed),
        "bytes_removed_lines": bytes_cleaned,
        "langs_kept": dict(sorted(Counter(d["lang"] for d in kept).items())),
        "seconds": round(seconds, 3),
        "docs_per_s": round(len(rows) / seconds, 1) if seconds > 0 else None,
    }
    assert stats["num_kept"] + stats["num_removed"] == stats["num_docs_in"]
    log.info("filter shard %d: kept %d of %d documents", shard, len(kept), len(rows))
    return stats
