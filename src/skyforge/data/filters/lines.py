"""C4-style line cleanup: drops boilerplate, navigation and letterless lines (no documents)."""

from __future__ import annotations

import re
from collections import Counter

from skyforge.data.filters.text import CJK_RE, tokenize_words

_TERMINAL = (".", "!", "?", '"', "'", "。", "！", "？", "；", "…", "」", "』", "”", "’", ")", "）")

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
    if CJK_RE.search(item):
        return len(words) <= 4
    return len(words) <= 2
