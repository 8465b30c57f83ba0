"""Text side of decontamination: folding, matching units and cross-lingual anchors.

:mod:`skyforge.data.decontam` matches benchmark items against documents; this module turns one
text into what both of its methods compare, always keeping the way back to the ORIGINAL
characters so that a match can name (and remove) a span of the document.

* **Folding** (:func:`normalize`) — one ``str.translate`` pass maps every character whose NFKC
  form is one character (full-width digits and letters, the ideographic space, compatibility
  ideographs) to that form, and traditional Chinese to simplified (our table
  :data:`~skyforge.data.decontam_tables.TRAD_SIMP` plus the harmful rules' ``fold_traditional``).
  Mapping one character to one character keeps offsets; the few NFKC expansions (``ﬁ``, ``①``)
  are left alone for that reason. Digit groups are joined (``1,000`` and ``1 000`` → ``1000``),
  the one edit that shortens the text, so :class:`Normalized` keeps the removed offsets. Case is
  folded with ``str.lower`` (``casefold`` differs only for a handful of letters such as ß and may
  change lengths).
* **Units** (:func:`units`) — one CJK character, one number or one Latin-script word is one unit;
  punctuation and spacing are not units at all, so they cannot break an n-gram. Single letters
  ``a``–``d`` are dropped on both sides: they are the option labels (``A.``, ``(B)``, ``C、``)
  that a page adds or leaves out around a multiple-choice item.
* **Anchors** (:func:`anchors`) — the language-independent tokens of a text for the
  cross-lingual fingerprint: numbers (Arabic digits with decimals, fractions and 万/thousand
  scales; Chinese numerals 三, 十五, 两百, 三点五, 三分之一, 百分之十五; English number words;
  English month names as their numbers, since Chinese writes 四月 / 4月), Latin tokens with a digit
  (chemical formulae H2O, CO2), and name-like Latin words (capitalised English words outside
  :data:`~skyforge.data.decontam_tables.CAPITAL_STOPWORDS`, any Latin word written inside Chinese
  text). Each anchor carries an information weight in bits: a number ≈ 3.3 bits per significant
  digit (``7`` → 3.3, ``37`` → 6.6, ``365`` → 9.9, ``1000`` → 3.3), a formula 10, a name-like word
  7; ``0`` and ``1`` are no anchors (一些, 统一, "a friend" are everywhere). Name-like words are
  *soft*: a translation often renders them in its own script (Celsius → 摄氏), so the matcher
  counts them when found and does not require them.

No tokenizer package fits: jieba-style word segmentation is not needed for character n-grams and
would be slow; the anchors are a domain-specific extraction that no library offers.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from skyforge.data.decontam_tables import CAPITAL_STOPWORDS, LATIN_UNIT_WORDS, trad_simp_pairs
from skyforge.data.filters.harmful import fold_traditional

__all__ = [
    "Anchor",
    "Normalized",
    "anchors",
    "effective_length",
    "fold_table",
    "normalize",
    "unit_spans",
    "units",
    "CJK_CLASS",
]

CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7a3"
"""Characters that are one unit each: CJK ideographs, kana and hangul."""

SOFT_BITS = 7.0
"""Weight of a name-like Latin word (a name, a place, a proper noun)."""
FORMULA_BITS = 10.0
"""Weight of a Latin token with a digit (H2O, CO2, B12)."""
BITS_PER_DIGIT = 3.3
"""Weight of one significant digit of a number (log2 10)."""
MAGNITUDE_BITS = 1.5
"""Added for a number with trailing zeros (its order of magnitude)."""
MAX_NUMBER_BITS = 20.0


@functools.cache
def fold_table() -> dict[int, str]:
    """The one-to-one folding map: NFKC where it gives one character, traditional → simplified."""
    pairs = trad_simp_pairs()
    for cp in range(0x4E00, 0xA000):  # the harmful rules' pairs, where ours lack the character
        c = chr(cp)
        f = fold_traditional(c)
        if f != c:
            pairs.setdefault(c, f)
    table: dict[int, str] = {}
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        n = unicodedata.normalize("NFKC", c)
        if len(n) != 1:
            n = c
        n = pairs.get(n, n)
        if n != c:
            table[cp] = n
    return table


# A digit-group separator: a comma or space between digits, before exactly three digits.
_GROUP_SEP = re.compile(r"(?<=[0-9])[,\u00a0\u202f\u2009 ](?=[0-9]{3}(?![0-9]))")


@dataclass(frozen=True)
class Normalized:
    """A text folded for matching, with the way back to the original offsets.

    Attributes:
        original: the text as given.
        text: folded (width, traditional → simplified, digit groups joined), case kept.
        lower: ``text`` lower-cased, same length.
        removed: offsets in ``original`` of the digit-group separators taken out, ascending.
    """

    original: str
    text: str
    lower: str
    removed: tuple[int, ...] = ()

    def orig(self, i: int) -> int:
        """The offset in ``original`` of the character at ``text[i]`` (``i`` may be its end)."""
        j = i
        for r in self.removed:  # each separator at or before the position shifts it by one
            if r > j:
                break
            j += 1
        return j

    def orig_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]`` (``end`` exclusive, ``end > start``)."""
        return self.orig(start), self.orig(end - 1) + 1


def normalize(text: str) -> Normalized:
    """Folds ``text`` for matching (see the module docstring)."""
    folded = text.translate(fold_table())
    removed: tuple[int, ...] = ()
    if _GROUP_SEP.search(folded):
        removed = tuple(m.start() for m in _GROUP_SEP.finditer(folded))
        folded = _GROUP_SEP.sub("", folded)
    lower = folded.lower()
    if len(lower) != len(folded):  # e.g. "İ" lower-cases to two characters
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in folded)
    return Normalized(text, folded, lower, removed)


_UNIT_RE = re.compile(
    rf"[{CJK_CLASS}]"
    r"|[0-9]+(?:\.[0-9]+)?"
    rf"|(?![a-d](?![^\W_{CJK_CLASS}]))[^\W\d_{CJK_CLASS}][^\W_{CJK_CLASS}]*"
)


def units(lower: str) -> list[str]:
    """The matching units of a lower-cased folded text (:attr:`Normalized.lower`)."""
    return _UNIT_RE.findall(lower)


def unit_spans(lower: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each unit of :func:`units`, in the same order."""
    return [m.span() for m in _UNIT_RE.finditer(lower)]


_CJK_RE = re.compile(f"[{CJK_CLASS}]")


def effective_length(text: str) -> int:
    """Length in Latin-equivalent characters: a CJK character counts 3 (it carries about what
    three letters of English do), so a text and its translation have similar lengths."""
    return len(text) + 2 * len(_CJK_RE.findall(text))


# ---------------------------------------------------------------------------------------------
# Anchors
# ---------------------------------------------------------------------------------------------

_ZH_DIGIT = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_ZH_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG_UNIT = {"万": 10_000, "亿": 100_000_000}
_ZH = "零〇一二两三四五六七八九十百千万亿"

_EN_NUMBER = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_ORDINAL = {
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
}  # fmt: skip
_EN_SCALE = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_NUM_SCALE_RE = re.compile(r"([0-9./]+)\s?(.*)")
# Weekdays as their numbers, as Chinese writes them (星期三, 周三); Monday (一) and Sunday (日,
# 天) give no anchor there, so none here.
_WEEKDAYS = {"Tuesday": "2", "Wednesday": "3", "Thursday": "4", "Friday": "5", "Saturday": "6"}
_SCALE = {"万": 10_000, "亿": 100_000_000, **_EN_SCALE}

_NW = "|".join(sorted([*_EN_NUMBER, *_EN_SCALE, "dozen"], key=len, reverse=True))
_MONTH_RE = "|".join(_MONTHS)
_ORD = "|".join(_EN_ORDINAL)
_ANCHOR_RE = re.compile(
    # dates first, as one token: the two languages order year, month and day differently
    r"(?P<zhdate>(?<![0-9])[0-9]{4} ?年 ?[0-9]{1,2} ?月(?: ?[0-9]{1,2} ?[日号])?)"
    rf"|(?P<endate>(?<![A-Za-z])(?:(?:{_MONTH_RE}) [0-9]{{1,2}}(?:st|nd|rd|th)?,? [0-9]{{4}}"
    rf"|[0-9]{{1,2}}(?:st|nd|rd|th)? (?:{_MONTH_RE}),? [0-9]{{4}}|(?:{_MONTH_RE}),? [0-9]{{4}})"
    r"(?![0-9]))"
    rf"|(?P<zhfrac>[{_ZH}]+分之[{_ZH}点]+)"
    rf"|(?P<zh>[{_ZH}][{_ZH}点]*)"
    # not the digits after a decimal point; an option label's point ("A.53000") is no decimal
    r"|(?P<num>(?<![A-Za-z0-9])(?<![0-9]\.)[0-9]+(?:\.[0-9]+)?(?:/[0-9]+)?"
    r"(?:\s?(?:[万亿]|(?i:thousand|million|billion)(?![A-Za-z])))?)"
    rf"|(?P<enum>(?<![A-Za-z])(?i:{_NW})(?:[\s-]+(?:(?i:and)[\s-]+)?(?i:{_NW}))*(?![A-Za-z]))"
    rf"|(?P<ordinal>(?<![A-Za-z])(?i:{_ORD})(?![A-Za-z]))"
    rf"|(?P<month>(?<![A-Za-z])(?:{'|'.join(_MONTHS)})(?![A-Za-z]))"
    rf"|(?P<weekday>(?<![A-Za-z])(?:Monday|Sunday|{'|'.join(_WEEKDAYS)})(?![A-Za-z]))"
    r"|(?P<formula>(?<![A-Za-z0-9])[A-Za-z]+[0-9](?:[A-Za-z0-9]|\.[0-9])*)"
    r"|(?P<cap>(?<![A-Za-z0-9])[A-Z][A-Za-z]+(?![0-9]))"
    rf"|(?P<cjkword>(?:(?<=[{CJK_CLASS}])|(?<=[{CJK_CLASS}] ))[a-z]{{2,}}(?![A-Za-z0-9])"
    rf"|(?<![A-Za-z0-9])[a-z]{{2,}}(?=[{CJK_CLASS}]| [{CJK_CLASS}]))"
)


@dataclass(frozen=True, slots=True)
class Anchor:
    """One language-independent token of a text.

    Attributes:
        token: canonical form (``"1500"``, ``"3/4"``, ``"h2o"``, ``"mia"``).
        bits: information weight.
        soft: a name-like word (counted when found, not required).
        start: offset in the folded text (:attr:`Normalized.text`).
        end: end offset (exclusive).
    """

    token: str
    bits: float
    soft: bool
    start: int
    end: int


def _zh_int(s: str) -> int | None:
    """A Chinese integer numeral (十五, 两百零三, 三万五千, 二〇二三), or None."""
    if not s:
        return None
    if not any(c in _ZH_SMALL_UNIT or c in _ZH_BIG_UNIT for c in s):
        return int("".join(str(_ZH_DIGIT[c]) for c in s))  # 二〇二三 → 2023
    total = section = 0
    num: int | None = None
    for c in s:
        if c in _ZH_DIGIT:
            num = _ZH_DIGIT[c]
        elif c in _ZH_SMALL_UNIT:
            section += (1 if num is None else num) * _ZH_SMALL_UNIT[c]
            num = None
        else:
            section += num or 0
            total += (section or 1) * _ZH_BIG_UNIT[c]
            section, num = 0, None
    return total + section + (num or 0)


def _zh_number(s: str) -> Decimal | None:
    """A Chinese numeral with an optional decimal part (三点五 → 3.5)."""
    whole, _, frac = s.partition("点")
    value = _zh_int(whole)
    if value is None:
        return None
    if frac and all(c in _ZH_DIGIT for c in frac):
        return Decimal(f"{value}.{''.join(str(_ZH_DIGIT[c]) for c in frac)}")
    return Decimal(value)


def _en_number(words: str) -> int:
    """English number words (``twenty-five``, ``three hundred and two``, ``a dozen``)."""
    total = current = 0
    for w in re.split(r"[\s-]+", words.lower()):
        if w in _EN_NUMBER:
            current += _EN_NUMBER[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "dozen":
            current = (current or 1) * 12
        elif w in _EN_SCALE:
            total += (current or 1) * _EN_SCALE[w]
            current = 0
    return total + current


def _canon(value: Decimal) -> str:
    """``Decimal`` → the canonical token (``1000``, ``3.5``)."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _sig_digits(digits: str, integer: bool) -> int:
    digits = digits.lstrip("0")
    if integer:
        digits = digits.rstrip("0")
    return max(len(digits), 1)


def _number_anchor(canon: str, start: int, end: int) -> Anchor | None:
    if canon in ("0", "1"):
        return None
    if "/" in canon:
        a, b = canon.split("/", 1)
        sig = _sig_digits(a, True) + _sig_digits(b, True)
    else:
        sig = _sig_digits(canon.replace(".", ""), "." not in canon)
    # a round number's magnitude says something too: 9000 and 90000 are different numbers
    bits = BITS_PER_DIGIT * sig + (MAGNITUDE_BITS if canon.endswith("0") else 0.0)
    return Anchor(canon, min(bits, MAX_NUMBER_BITS), False, start, end)


def _fraction(num: Decimal | None, den: Decimal | None) -> str | None:
    if num is None or den is None or den == 0:
        return None
    if den == 100:  # 百分之十五: a percentage, written 15% elsewhere
        return _canon(num)
    return f"{_canon(num)}/{_canon(den)}"


_CURRENCY_RE = re.compile(r"[A-Z]{3}([0-9]+(?:\.[0-9]+)?)")
_DATE_PART = re.compile(rf"[0-9]+|{_MONTH_RE}")


def _date_anchor(s: str, start: int, end: int) -> Anchor:
    """``2014年1月20日`` and ``January 20, 2014`` → ``2014-1-20`` (``2014-1`` without a day)."""
    year = month = day = None
    for part in _DATE_PART.findall(s):
        if part in _MONTHS:
            month = _MONTHS.index(part) + 1
        elif len(part) == 4:
            year = int(part)
        elif month is None and "年" in s:
            month = int(part)
        else:
            day = int(part)
    token = f"{year}-{month}" + (f"-{day}" if day else "")
    # about 1 in 100 years x 12 months (x 30 days): 10.2 (15.1) bits, rounded up
    return Anchor(token, 16.0 if day else 11.0, False, start, end)


_CALCULATOR_RE = re.compile(r"<<[^<>\n]*>>")


def anchors(text: str) -> list[Anchor]:
    """The anchors of a folded text (:attr:`Normalized.text`), in order.

    GSM8K's calculator annotations (``<<48/2=24>>``) are skipped: a copy may keep or drop them.
    """
    out: list[Anchor] = []
    skip = [m.span() for m in _CALCULATOR_RE.finditer(text)] if "<<" in text else []
    for m in _ANCHOR_RE.finditer(text):
        kind, s = m.lastgroup, m.group()
        start, end = m.span()
        if skip and any(a <= start < b for a, b in skip):
            continue
        canon: str | None
        if kind == "zh":
            if s in ("一", "百", "千", "万", "亿", "千万"):  # 一些, 百姓, 千万不要, 百分点
                continue
            s = s.rstrip("点")
            value = _zh_number(s)
            canon = None if value is None else _canon(value)
        elif kind == "num":
            nm = _NUM_SCALE_RE.fullmatch(s)
            if nm is None:
                continue
            body, scale = nm.group(1), nm.group(2)
            if "/" in body:
                a, b = body.split("/", 1)
                canon = _fraction(Decimal(a), Decimal(b))
            else:
                try:
                    value = Decimal(body)
                except InvalidOperation:
                    continue
                if scale:
                    value *= _SCALE[scale.lower()]
                canon = _canon(value)
        elif kind == "enum":
            canon = str(_en_number(s))
        elif kind == "month":
            canon = str(_MONTHS.index(s) + 1)
        elif kind in ("zhdate", "endate"):
            out.append(_date_anchor(s, start, end))
            continue
        elif kind == "ordinal":
            canon = str(_EN_ORDINAL[s.lower()])
        elif kind == "weekday":
            canon = _WEEKDAYS.get(s)
        elif kind == "zhfrac":
            den, _, num = s.partition("分之")
            canon = _fraction(_zh_number(num.rstrip("点")), _zh_number(den))
        elif kind == "formula":
            cm = _CURRENCY_RE.fullmatch(s)
            if cm is None:
                out.append(Anchor(s.lower(), FORMULA_BITS, False, start, end))
                continue
            canon = _canon(Decimal(cm.group(1)))  # RMB300000, USD1: a currency code and a number
        else:  # cap, cjkword: name-like words
            word = s.lower()
            if word in CAPITAL_STOPWORDS or word in LATIN_UNIT_WORDS:
                continue
            out.append(Anchor(word, SOFT_BITS, True, start, end))
            continue
        if canon is not None:
            a = _number_anchor(canon, start, end)
            if a is not None:
                out.append(a)
    return out
