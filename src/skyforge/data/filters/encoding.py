"""Mojibake: text that is the wrong decoding of another charset, repaired when certain.

A crawl page can be decoded correctly and still carry encoding damage in its content: a CMS that
stored UTF-8 bytes after reading them as GBK (``鏈珯鍐呭`` for ``本站内容``) or as Latin-1 /
Windows-1252 (``CafÃ©``, ``â€œ``), often with ``?`` or U+FFFD where a byte did not decode. The
extractor cannot see this: every byte of the page is valid in the charset it declares.

The test used here is the definition of the damage. Text that is UTF-8 read as charset C, encoded
back to C, gives bytes that are valid UTF-8; correct Chinese encoded to GB18030, or correct
Western text encoded to Windows-1252, almost never does (a lead byte E0–EF must be followed by
exactly two bytes in 80–BF, which GBK's trail bytes and Latin accents rarely are). So, per line
with enough non-ASCII characters:

* the round trip ``line.encode(C).decode("utf-8")`` succeeds strictly and the result reads as
  text (printable, fewer characters, mostly CJK when undoing GBK): the line is repaired
  (certain: nothing is guessed, every byte is accounted for);
* it fails, but most re-encoded non-ASCII bytes still form valid UTF-8 (the damage lost some
  bytes, e.g. as ``?``), or the line is full of U+FFFD or ``??`` runs: the line is damaged.

A document whose damaged lines hold more than ``max_damaged_share`` of its non-ASCII characters
is removed (``encoding:mojibake``); fewer damaged lines are dropped and counted; a document left
with no text after that is removed (``encoding:empty_after_repair``). Repairs are counted per
codec.

Why not a library: ftfy fixes the Latin-1 / Windows-1252 family well but, by design, does not
undo UTF-8 read as GBK, the common Chinese case; charset-normalizer and uchardet guess the
charset of bytes, not whether already-decoded text is a wrong decoding. The test above is a few
lines of stdlib codecs.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["EncodingParams", "MojibakeRepair"]

_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
# "??" next to a CJK character: characters lost in a conversion to a narrower charset.
_QMARK_RUN_RE = re.compile("(?:[\u4e00-\u9fff]\\?{2,})|(?:\\?{2,}[\u4e00-\u9fff])")


def _latin1_fallback(err: UnicodeEncodeError) -> tuple[bytes, int]:
    # cp1252 leaves five bytes undefined (81, 8D, 8F, 90, 9D); mojibake made with Latin-1 has
    # them as C1 control characters, which go back to their byte.
    chunk = err.object[err.start : err.end]
    if all(ord(c) < 256 for c in chunk):
        return bytes(ord(c) for c in chunk), err.end
    raise err


codecs.register_error("skyforge_latin1", _latin1_fallback)


@dataclass(frozen=True)
class EncodingParams:
    """Parameters of the mojibake check (config section ``encoding``)."""

    enabled: bool = True
    """Run the check (step ``encoding``, before language ID)."""
    min_line_bytes: int = 6
    """Lines whose re-encoded form has fewer non-ASCII bytes are not judged (too little
    evidence); twice as many for lines with CJK characters (two GBK bytes each)."""
    min_valid_share: float = 0.6
    """A line whose strict round trip fails is damaged when at least this share of its
    re-encoded non-ASCII bytes still forms valid UTF-8 (correct text: near 0; mojibake: near 1)."""
    max_replacement_share: float = 0.05
    """A line with more U+FFFD characters than this share of its non-ASCII ones is damaged."""
    max_damaged_share: float = 0.3
    """Share of a document's non-ASCII characters in damaged lines above which the document is
    removed; up to it the damaged lines are dropped (1.0: never remove, only drop)."""

    def __post_init__(self) -> None:
        for name in ("min_valid_share", "max_replacement_share", "max_damaged_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"config key 'encoding.{name}': must be in [0, 1], got {value}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncodingParams:
        """Build from the config section; unknown keys are errors."""
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"config key 'encoding.{unknown[0]}': unknown parameter")
        return cls(**d)


def _reencode(line: str) -> tuple[bytes, str]:
    """The bytes ``line`` came from if it was UTF-8 misread as GBK (CJK lines) or cp1252."""
    if _CJK_RE.search(line):
        return line.encode("gb18030", "replace"), "gbk"
    try:
        return line.encode("cp1252", "skyforge_latin1"), "cp1252"
    except UnicodeEncodeError:
        return b"", "cp1252"  # characters beyond Latin-1: not a Western mojibake


# Well-formed UTF-8 multi-byte sequences (RFC 3629): all of them, and the three-byte ones alone
# (the form of every CJK character; misread as GBK, CJK text leaves exactly these behind, while
# GBK bytes of correct text fall into them only by chance: a lead E0–EF then two bytes 80–BF).
_UTF8_SEQ_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_UTF8_CJK_SEQ_RE = re.compile(rb"[\xe0-\xef][\x80-\xbf]{2}")
_HIGH_BYTE_RE = re.compile(rb"[\x80-\xff]")


def _valid_share(raw: bytes, codec: str) -> tuple[float, int]:
    """(share of non-ASCII bytes inside well-formed UTF-8 sequences, number of them)."""
    high = len(_HIGH_BYTE_RE.findall(raw))
    if not high:
        return 0.0, 0
    pattern = _UTF8_CJK_SEQ_RE if codec == "gbk" else _UTF8_SEQ_RE
    valid = sum(len(m) for m in pattern.findall(raw))
    return valid / high, high


def _plausible(line: str, fixed: str, codec: str) -> bool:
    """A repair is kept only when it reads as text: every character printable, fewer non-ASCII
    characters than before (misread UTF-8 always spends more characters: 1.5 GBK or 2–3
    Windows-1252 ones per character), and, undoing GBK, mostly CJK. Strict UTF-8 validity alone
    lets a short line of correct traditional Chinese pass now and then (``太陽城官網`` in GB18030
    is valid UTF-8 for ``̫ꖳǹپW``)."""
    if not all(c.isprintable() or c == "\t" for c in fixed):
        return False
    after = _NON_ASCII_RE.findall(fixed)
    if len(after) >= len(_NON_ASCII_RE.findall(line)):
        return False
    if codec == "gbk":
        cjk = sum(
            1
            for c in after
            if _CJK_RE.match(c) or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
        )
        return cjk >= 0.5 * len(after)
    return True


class MojibakeRepair:
    """Repairs or removes text with encoding damage (see the module docstring)."""

    step = "encoding"

    def __init__(self, params: EncodingParams):
        self.p = params

    def line_state(self, line: str) -> tuple[str, str, str]:
        """(state, codec, repaired line): state is "clean", "repaired" or "damaged"."""
        p = self.p
        non_ascii = len(_NON_ASCII_RE.findall(line))
        if non_ascii == 0:
            return "clean", "", line
        if line.count("\ufffd") > p.max_replacement_share * non_ascii and non_ascii >= 4:
            return "damaged", "", line
        if len(_QMARK_RUN_RE.findall(line)) >= 2:
            return "damaged", "", line
        raw, codec = _reencode(line)
        share, high = _valid_share(raw, codec)
        # GBK spends two bytes on a character: a CJK line needs twice the bytes (as many
        # characters) before a chance match of its bytes with UTF-8 stops being plausible.
        if high < p.min_line_bytes * (2 if codec == "gbk" else 1):
            return "clean", "", line
        try:
            fixed = raw.decode("utf-8")
        except UnicodeDecodeError:
            state = "damaged" if share >= p.min_valid_share else "clean"
            return state, codec, line
        if "\ufffd" in line and codec == "gbk":
            # gb18030 "replace" wrote '?' for U+FFFD: a strict success would hide a lost byte.
            return "damaged", "", line
        if not _plausible(line, fixed, codec):
            return "clean", "", line
        return "repaired", codec, fixed

    def check(self, text: str) -> tuple[str, str | None, Counter[str]]:
        """Return (text after repair, removal reason or None, counts of line outcomes).

        Counts: ``repaired:<codec>`` and ``damaged`` lines.
        """
        counts: Counter[str] = Counter()
        if not _NON_ASCII_RE.search(text):
            return text, None, counts
        out: list[str] = []
        damaged_chars = total_chars = 0
        for line in text.split("\n"):
            n = len(_NON_ASCII_RE.findall(line))
            total_chars += n
            state, codec, fixed = self.line_state(line)
            if state == "repaired":
                counts[f"repaired:{codec}"] += 1
                out.append(fixed)
            elif state == "damaged":
                counts["damaged"] += 1
                damaged_chars += n
            else:
                out.append(line)
        if total_chars and damaged_chars / total_chars > self.p.max_damaged_share:
            return text, "encoding:mojibake", counts
        new_text = "\n".join(out)
        if not new_text.strip():
            return new_text, "encoding:empty_after_repair", counts
        return new_text, None, counts
