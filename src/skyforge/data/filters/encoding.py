"""Mojibake: text that is the wrong decoding of another charset, repaired when certain.

A page can be decoded correctly and still carry encoding damage in its content: UTF-8 stored
after being read as GBK (``鏈珯鍐呭`` for ``本站内容``) or as Windows-1252 (``CafÃ©``). The
extractor cannot see it, since every byte is valid in the declared charset.

The test is the definition of the damage: a line that is UTF-8 read as charset C, encoded back
to C, gives valid UTF-8, which correct Chinese or Western text almost never does. A line whose
round trip succeeds strictly and reads as text is repaired (nothing is guessed); one that fails
but still looks like lost UTF-8 (``?``, U+FFFD runs) is damaged. A document with too much damage
is removed (``encoding:mojibake``), lesser damaged lines are dropped and counted. ftfy does not
undo UTF-8 read as GBK, the common Chinese case, and charset detectors judge bytes, not decoded
text; the test is a few lines of stdlib codecs.

One wrong decoding damages every non-ASCII character of a line. Short fragments of
Windows-1252 mojibake (``æ–°é—»`` for ``新闻``, ``ï¼Œ`` for ``，``) inside a line whose other
non-ASCII characters are right come from text pasted together from sources in several
encodings (content farms, issue 21): each fragment is certain on its own (its bytes are strict
UTF-8), so it is repaired in place; a document with more than ``max_fragments`` distinct ones is
removed (``encoding:mojibake_fragments``), since a page with a mistyped name or two is clean
text, and one whose words are broken all over was assembled, not written.

See docs/cleaning.md.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

from skyforge.config import EncodingConfig

__all__ = ["MojibakeRepair"]

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


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)  # the five undefined bytes, as Latin-1 reads them


# A UTF-8 sequence read as Windows-1252: a lead byte's character (Â-ß, à-ï, ð-ô) and the
# characters its continuation bytes (80-BF) become: a "fragment" of mojibake.
_CONT = "[" + re.escape("".join(_cp1252_char(b) for b in range(0x80, 0xC0))) + "]"
_FRAGMENT_RE = re.compile(
    f"(?:[\u00c2-\u00df]{_CONT}|[\u00e0-\u00ef]{_CONT}{{2}}|[\u00f0-\u00f4]{_CONT}{{3}})+"
)
_RESIDUE_RE = re.compile(f"[\u00c2-\u00f4]{_CONT}")


def repair_fragments(line: str) -> tuple[str, list[str]] | None:
    """``line`` with its mojibake fragments repaired, and the repaired texts; None when it has
    none, or a fragment is not certain (its bytes are not strict UTF-8 or decode to something
    unprintable: it stays, and counts as a broken fragment), or a broken fragment remains, or
    no correctly encoded non-ASCII character is left beside them (then the line-level round
    trip of :meth:`MojibakeRepair.line_state` is the test, not this one), or a fragment decodes
    to CJK in a line without correct CJK."""
    pieces = []
    for m in _FRAGMENT_RE.finditer(line):
        try:
            fixed = m.group(0).encode("cp1252", "skyforge_latin1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed.isprintable():
            pieces.append((m.start(), m.end(), fixed))
    if not pieces:
        return None
    out, rest, last = [], [], 0
    for start, end, fixed in pieces:
        out += [line[last:start], fixed]
        rest.append(line[last:start])
        last = end
    out.append(line[last:])
    rest.append(line[last:])
    remainder = "\n".join(rest)  # the line without its fragments (no new neighbours)
    if _RESIDUE_RE.search(remainder) or not _NON_ASCII_RE.search(remainder):
        return None
    if any(_CJK_RE.search(f) for _, _, f in pieces) and not _CJK_RE.search(remainder):
        return None
    return "".join(out), [f for _, _, f in pieces]


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

    def __init__(self, params: EncodingConfig):
        self.p = params

    def line_state(self, line: str) -> tuple[str, str, str]:
        """(state, codec, repaired line): state is "clean", "repaired", "fragments" (mojibake
        fragments beside correct text, repaired: see :func:`repair_fragments`) or "damaged"."""
        return self._judge(line)[:3]

    def _judge(self, line: str) -> tuple[str, str, str, list[str]]:
        """:meth:`line_state` and the repaired fragments."""
        state, codec, fixed = self._line_state(line)
        if state != "repaired" and state != "damaged_marks":
            fragments = repair_fragments(line)
            if fragments is not None:
                return "fragments", "fragment", fragments[0], fragments[1]
        return ("damaged" if state == "damaged_marks" else state), codec, fixed, []

    def _line_state(self, line: str) -> tuple[str, str, str]:
        """The whole-line test: clean, repaired, damaged, or damaged_marks (lost characters
        marked by U+FFFD or "??", which no fragment repair undoes)."""
        p = self.p
        non_ascii = len(_NON_ASCII_RE.findall(line))
        if non_ascii == 0:
            return "clean", "", line
        if line.count("\ufffd") > p.max_replacement_share * non_ascii and non_ascii >= 4:
            return "damaged_marks", "", line
        if len(_QMARK_RUN_RE.findall(line)) >= 2:
            return "damaged_marks", "", line
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
            return "damaged_marks", "", line
        if not _plausible(line, fixed, codec):
            return "clean", "", line
        return "repaired", codec, fixed

    def check(self, text: str) -> tuple[str, str | None, Counter[str]]:
        """Return (text after repair, removal reason or None, counts of line outcomes).

        Counts: ``repaired:<codec>`` and ``damaged`` lines, ``repaired:fragment`` fragments.
        Reasons: ``encoding:mojibake`` (too much damage), ``encoding:mojibake_fragments`` (more
        than ``max_fragments`` distinct fragments), ``encoding:empty_after_repair``.
        """
        counts: Counter[str] = Counter()
        if not _NON_ASCII_RE.search(text):
            return text, None, counts
        out: list[str] = []
        fragments: set[str] = set()
        damaged_chars = total_chars = 0
        for line in text.split("\n"):
            n = len(_NON_ASCII_RE.findall(line))
            total_chars += n
            state, codec, fixed, found = self._judge(line)
            if state == "repaired":
                counts[f"repaired:{codec}"] += 1
                out.append(fixed)
            elif state == "fragments":
                counts["repaired:fragment"] += len(found)
                fragments.update(found)
                out.append(fixed)
            elif state == "damaged":
                counts["damaged"] += 1
                damaged_chars += n
            else:
                out.append(line)
        if total_chars and damaged_chars / total_chars > self.p.max_damaged_share:
            return text, "encoding:mojibake", counts
        if len(fragments) > self.p.max_fragments:
            return text, "encoding:mojibake_fragments", counts
        new_text = "\n".join(out)
        if not new_text.strip():
            return new_text, "encoding:empty_after_repair", counts
        return new_text, None, counts
