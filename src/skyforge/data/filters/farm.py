"""Content-farm rules: characters wrapped in brackets, pages stitched from unrelated stories.

Content farms were found on a real crawl passing every step (issue 21). Two of their marks are
decided here, in the heuristic step after the Gopher / C4 rules; the third, short mojibake
fragments inside otherwise correct lines, is the encoding filter's
(:mod:`skyforge.data.filters.encoding`, ``encoding:mojibake_fragments``).

* ``farm:bracketed``: characters wrapped one by one in brackets (``【随】【着】【经】``), which a
  reader reads through but which breaks every character shingle, so copied text passes dedup.
  Chinese prose wraps single characters only in list numbers (``（一）``), which stand alone,
  and in book titles (``《诗》《书》``), whose marks are not counted; so the rule counts CJK
  characters inside runs of two or more single-character brackets and removes a page when they
  pass both ``farm_min_bracketed_chars`` and ``farm_max_bracketed_share`` of its CJK characters.
* ``farm:stitched``: a page stitched from sentences of unrelated news stories. A story opens with
  its wire dateline (``新华社北京3月5日电``, ``LONDON, May 3 (Reuters) -``), and a digest of briefs
  opens each paragraph with one; a sentence cut out of a story keeps its dateline in the middle
  of the stitched paragraph. More than ``farm_max_stitch_marks`` such mid-paragraph datelines is
  the mark. With exactly that many, two more datelines opening paragraphs are (a story has one
  in all), and otherwise the page's coherence decides: the share of its sentences
  that share no content word (English words of five letters or more, Chinese character bigrams
  without a function character) with any other sentence. A story returns to its subject, so few
  of its sentences stand alone (at most 0.37 of an English and 0.18 of a Chinese article of the
  synthetic crawl); sentences of unrelated stories often do (0.3-0.5 in the median). Coherence
  alone is not trusted: a page of unrelated exercises (a quiz, worked problems) is incoherent
  by design (up to 1.0).

Reasons are short and groupable: ``farm:bracketed``, ``farm:stitched``.
"""

from __future__ import annotations

import re
from typing import Any

from skyforge.config import FiltersConfig
from skyforge.data.filters.params import check_filters
from skyforge.data.filters.text import CJK, CJK_RE, ZH_STOP_WORDS, DocFilter

__all__ = ["ContentFarmRules", "bracketed_chars", "stitch_marks", "isolated_share"]

# Opening and closing brackets of a single wrapped character (book-title marks 《》〈〉 left out).
_OPEN = "【〖[「『（(〔"
_CLOSE = "】〗]」』）)〕"
_WRAPPED_RE = re.compile(f"[{re.escape(_OPEN)}][{CJK}][{re.escape(_CLOSE)}]")

# Wire datelines: "北京3月5日电" / "3月5日讯", and "CITY, Month D (Agency) -".
_AGENCIES = "Reuters|AP|AFP|Xinhua|Bloomberg|UPI|dpa|Kyodo|Yonhap|ANSA|EFE|TASS|PTI|CNA"
_DATELINE_RE = re.compile(
    r"\d{1,2}月\d{1,2}日(?:电|讯)"
    r"|(?:[A-Z][A-Z'.-]+(?: [A-Z][A-Z'.-]+)*, (?:[A-Z][a-z]{2,4}\.? \d{1,2} )?)?"
    rf"\((?:{_AGENCIES})\)\s*[-–—]"
)
_SENTENCE_END_RE = re.compile(r"[。！？]|[.!?][\"'”’)]?\s")
_ZH_SPLIT_RE = re.compile("(?<=[。！？])")
_EN_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
_CJK_RUN_RE = re.compile(f"[{CJK}]+")
_EN_WORD_RE = re.compile(r"[a-z]{5,}")
# Words of 5+ letters that every text uses whatever its subject.
_EN_COMMON = frozenset(
    "about above after again against among because before being below between could during "
    "every first further great having might never other since still their there these thing "
    "things those three through under until where which while would years today later people "
    "according said".split()
)
_MIN_SENTENCE_CHARS = {"zh": 10, "en": 30}
# At the limit of mid-paragraph datelines, this many more (opening paragraphs) make a page
# stitched: a story carries one dateline, a digest of briefs none in mid-paragraph.
_MORE_DATELINES = 2


def bracketed_chars(text: str) -> int:
    """CJK characters wrapped one by one in brackets, in runs of two or more."""
    total = run = 0
    end = -1
    for m in _WRAPPED_RE.finditer(text):
        if m.start() == end:
            run += 1
        else:
            total += run if run >= 2 else 0
            run = 1
        end = m.end()
    return total + (run if run >= 2 else 0)


def stitch_marks(text: str) -> tuple[int, int]:
    """(wire datelines that follow another sentence on their line, i.e. mid-paragraph; all
    wire datelines)."""
    marks = total = 0
    for line in text.split("\n"):
        for m in _DATELINE_RE.finditer(line):
            total += 1
            if _SENTENCE_END_RE.search(line[: m.start()]):
                marks += 1
    return marks, total


def _units(sentence: str, zh: bool) -> set[str]:
    if zh:
        return {
            run[i : i + 2]
            for run in _CJK_RUN_RE.findall(sentence)
            for i in range(len(run) - 1)
            if run[i] not in ZH_STOP_WORDS and run[i + 1] not in ZH_STOP_WORDS
        }
    return {w for w in _EN_WORD_RE.findall(sentence.lower()) if w not in _EN_COMMON}


def isolated_share(text: str, zh: bool) -> tuple[float, int]:
    """(share of sentences sharing no content word with any other sentence, sentences judged).

    Sentences shorter than 10 CJK characters (Chinese) or 30 characters (English) are not
    judged; wire datelines are cut off first (their city names are no subject)."""
    split = _ZH_SPLIT_RE if zh else _EN_SPLIT_RE
    min_chars = _MIN_SENTENCE_CHARS["zh" if zh else "en"]
    units = []
    for line in text.split("\n"):
        for s in split.split(line):
            s = _DATELINE_RE.sub(" ", s).strip()
            size = len(CJK_RE.findall(s)) if zh else len(s)
            if size >= min_chars:
                units.append(_units(s, zh))
    if len(units) < 2:
        return 0.0, len(units)
    counts: dict[str, int] = {}
    for u in units:
        for w in u:
            counts[w] = counts.get(w, 0) + 1
    alone = sum(1 for u in units if all(counts[w] == 1 for w in u))
    return alone / len(units), len(units)


class ContentFarmRules(DocFilter):
    """``farm:bracketed`` and ``farm:stitched`` (see the module docstring); Chinese and English
    text only (code and other languages are left alone)."""

    step = "heuristic"

    def __init__(self, params: FiltersConfig):
        check_filters(params)
        self.p = params

    def reason(self, doc: dict[str, Any]) -> str | None:
        return self.check(doc["text"], doc.get("lang"))

    def check(self, text: str, lang: str | None) -> str | None:
        """None to keep ``text`` (in ``lang``), else ``farm:bracketed`` or ``farm:stitched``."""
        if lang not in ("zh", "en"):
            return None
        p = self.p
        wrapped = bracketed_chars(text)
        if wrapped >= p.farm_min_bracketed_chars:
            cjk = len(CJK_RE.findall(text))
            if wrapped > p.farm_max_bracketed_share * cjk:
                return "farm:bracketed"
        marks, datelines = stitch_marks(text)
        if marks > p.farm_max_stitch_marks:
            return "farm:stitched"
        if marks == p.farm_max_stitch_marks and marks > 0:
            if datelines >= marks + _MORE_DATELINES:
                return "farm:stitched"
            share, num = isolated_share(text, lang == "zh")
            if num >= p.farm_min_sentences and share > p.farm_max_isolated_share:
                return "farm:stitched"
        return None
