"""Benchmark decontamination: finding test items of C-Eval, CMMLU, MMLU and GSM8K in documents.

A :class:`Decontaminator` is built once from the benchmark items (plain :class:`BenchmarkItem`
data: the step reads the official files with ``skyforge.eval.benchmark_files`` and converts, so
this package does not import the eval side) and then scans documents one at a time:
``Decontaminator(items, DecontamConfig()).match(text)`` returns the :class:`Match` es with their
character spans in the ORIGINAL text, and :func:`remove_spans` cuts them out. Two methods run on
every document, whatever its language.

**Same-language n-grams** (``method="ngram"``). Text is folded (width, case, traditional →
simplified, punctuation and spacing ignored, digit groups joined; :mod:`skyforge.data.
decontam_text`) and cut into units: a Latin-script word or a number is one unit, a CJK character
is one unit, so a mixed page is one stream. Each item is checked as its question and, for
multiple choice, as question + options (option labels A–D are dropped on both sides, so "A. 82"
and "82" agree). A probe of at least n units is indexed by its n-grams; the document's n-grams
are looked up in that index (64-bit hashes: vectorised polynomial hashing of xxhash'd units and
one ``searchsorted`` per window length, linear in the document), and an item matches where at
least ``min_overlap`` of ITS distinct n-grams occur in one stretch of the document — so the item
embedded in a long page matches, and so does a copy with a word changed here and there.

Why these defaults, against the 13-gram rule of GPT-3 and lm-eval (a document is dirty when it
shares ANY 13-word n-gram with an item): that rule has no notion of the item, so one edit every
dozen words hides a copy, and 13 whitespace "words" of Chinese are 13 sentences. We count the
fraction of the item's n-grams instead, which tolerates boilerplate n-grams (a few shared
n-grams are far below half of an item's) and so allows a shorter n that survives edits:
``ngram_words=8`` (an edit kills at most n n-grams; a 45-word GSM8K question has 38 8-grams, so
two edits still leave more than half, where 13-grams would leave 7 of 33) and
``ngram_cjk=12`` characters, the same span of text: Chinese words average 1.5–2 characters, so
8 words ≈ 12–16 characters (13 words would be 20–26). The unit of a probe follows its script
(CJK units at least half → characters). ``min_overlap=0.5``: an edited copy keeps more than
half; a look-alike keeps less, and for the look-alike that keeps more — a problem of the same
template with other numbers shares up to 3/4 of the 8-grams of a short synthetic GSM8K item —
the probe's NUMBERS must also occur in the matched stretch (at most one in four missing or
rewritten). n-grams shared by more than ``max_ngram_items`` items are boilerplate ("which of the
following is ...") and dropped from the index (counted).

Probes shorter than n units (a short multiple-choice item with its options): with
``short_items="exact"`` (default) the whole unit sequence must occur in the document (at least
``min_exact_units`` units; shorter ones are skipped), with ``"skip"`` they are skipped; either
way :attr:`Decontaminator.stats` counts them. A multiple-choice question shorter than n is not
probed on its own — "What is 37 plus 45?" without its options is not evidence of the item — only
with its options (counted as ``options_only``).

**Cross-lingual fingerprint** (``method="crosslingual"``). A translation keeps what has no
language: numbers, formulae, often names. An item's fingerprint is the ordered sequence of its
anchors (:func:`skyforge.data.decontam_text.anchors`: numbers in any notation — 1,000 / 1000 /
一千, 十五, three, 3/4, 三分之一 — formulae like H2O, name-like Latin words, the option values of
a multiple-choice item in order), each weighted by its information in bits (a number 3.3 bits
per significant digit plus 1.5 for a round number's magnitude, so 2 or 100 are weak and 365 or
12.5 strong; a formula 10; a name ``name_bits`` = 5; 0 and 1 are no anchors). A GSM8K item with
a worked solution gets a second fingerprint, question then solution (calculator annotations
``<<…>>`` skipped on both sides), for the pages that republish both: the solution's numbers make
even a short problem strong. A document's anchors are extracted the same way and a fingerprint
is aligned to them in order (local alignment: a matched anchor gains its bits, a document anchor
inside the match that is not one of the item's names costs ``gap_penalty_bits``, an item anchor
missing costs nothing but lowers the score). Score = (matched bits − penalties) / (the item's
non-name bits + the names matched): names count when the translation kept them and are not
required (Celsius → 摄氏, Mia → 米娅 lose nothing). A match needs score ≥
``min_crosslingual_score``, matched bits ≥ ``min_match_bits`` of which ≥ ``min_core_bits`` are
not names (names alone are topic, not item: "Trump", "Ukraine"), and a matched stretch of the
document whose length (CJK characters counting 3) is within ``max_span_ratio`` = 2.5 of the
item's matched stretch (on 7,049 WMT zh/en sentence pairs of more than 40 characters, that
length ratio lies in 0.43–1.34 for 98 %; a table row "145 | 3.25 | 87" is not a paragraph).
Candidates come from anchor pairs (an anchor and one of the next two, in the whole sequence and
in the non-name sequence, both sides) looked up in a hash index, so the scan is linear in the
document and the alignment runs only where a pair hits (a pair shared by more than 40
fingerprints is no seed; an item left without one is counted weak). A multiple-choice match must
include a number of the question when the question has one: the same four option values under
another question are another item.

Why it does not match other problems of the same style: a match needs ``min_match_bits`` (20)
bits in order with few gaps. A same-template problem with other numbers shares the names and
the template but not the numbers; matching an item's numbers by chance means drawing, in order,
values worth 20 bits: about 1 in 10⁶ per aligned position. A page of twenty other word problems
offers some sixty aligned positions per item, so 1,319 GSM8K items are expected to produce
about 0.08 false matches per such page at worst. Measured: 748 pages of ten real GSM8K training
problems each against the real GSM8K test set, C-Eval val and the CMMLU and MMLU dev sets (3,545
items) gave 4 false matches (one of them a training problem with the test item's numbers), and
738 pages of WMT news (numbers, dates and names everywhere) none. An item whose own anchors
weigh less than ``min_fingerprint_bits`` (20), or whose non-name anchors weigh less than
``min_core_bits`` (13), could only be matched below that guarantee, so it is NOT fingerprinted
and :attr:`DecontamStats.weak_fingerprints` counts it: "Tom buys 7 boxes of 12 pencils" (a name
and two small numbers, 15 bits) is left to the n-gram method unless its solution is given.

No library fits: lm-eval's janitor and datatrove's n-gram filter split on whitespace (a Chinese
sentence is one token) and flag any single 13-gram; Bloom-filter dedup (Dolma) sees only exact
n-grams; none has a cross-lingual method without a translation model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import xxhash

from skyforge.data.decontam_text import (
    Anchor,
    Normalized,
    anchors,
    effective_length,
    normalize,
    unit_spans,
    units,
)

__all__ = [
    "BenchmarkItem",
    "DecontamConfig",
    "DecontamStats",
    "Decontaminator",
    "Fingerprint",
    "Match",
    "fingerprint",
    "remove_spans",
]

METHODS = ("ngram", "crosslingual")


@dataclass(frozen=True)
class BenchmarkItem:
    """One benchmark test item, as plain data.

    Attributes:
        benchmark: the set's name (``ceval``, ``cmmlu``, ``mmlu``, ``gsm8k``); it becomes the
            removal reason ``contamination:<benchmark>``.
        item_id: unique within the benchmark (e.g. ``"<subject>/<split>/<row>"``).
        lang: the item's language (``zh``, ``en``); informative, matching does not depend on it.
        question: the question text (must not be empty).
        options: the answer options in order (empty for GSM8K).
        answer: the reference answer (kept for the caller; not matched: a leak need not have it).
    """

    benchmark: str
    item_id: str
    lang: str
    question: str
    options: tuple[str, ...] = ()
    answer: str = ""

    @property
    def probe_text(self) -> str:
        """The question followed by its options, one a line (the question alone for GSM8K)."""
        return "\n".join((self.question, *self.options))


@dataclass(frozen=True)
class DecontamConfig:
    """Parameters of the matcher; the module docstring justifies the defaults.

    Attributes:
        ngram_words: n of the n-grams of a probe in Latin script (units = words and numbers).
        ngram_cjk: n of the n-grams of a probe mostly in CJK script (units = characters).
        min_overlap: fraction of a probe's distinct n-grams that must occur in one stretch.
        short_items: ``"exact"`` (a probe shorter than n must occur whole) or ``"skip"``.
        min_exact_units: shortest probe matched exactly; shorter ones are skipped (counted).
        max_ngram_items: an n-gram shared by more items is boilerplate and not indexed.
        crosslingual: run the cross-lingual fingerprint method.
        min_fingerprint_bits: an item whose anchors weigh less is not fingerprinted (counted).
        min_match_bits: bits of anchors a cross-lingual match must have matched.
        min_crosslingual_score: least score of a cross-lingual match (see the module docstring).
        gap_penalty_bits: cost of a foreign anchor inside a cross-lingual match.
        max_span_ratio: most a matched stretch's effective length may differ from the item's,
            as a factor either way.
    """

    ngram_words: int = 8
    ngram_cjk: int = 12
    min_overlap: float = 0.5
    short_items: Literal["exact", "skip"] = "exact"
    min_exact_units: int = 6
    max_ngram_items: int = 50
    crosslingual: bool = True
    min_fingerprint_bits: float = 20.0
    min_match_bits: float = 20.0
    min_core_bits: float = 13.0
    name_bits: float = 5.0
    min_crosslingual_score: float = 0.7
    gap_penalty_bits: float = 3.0
    max_span_ratio: float = 2.5

    def __post_init__(self) -> None:
        if self.ngram_words < 2 or self.ngram_cjk < 2:
            raise ValueError(
                f"decontamination n-gram sizes must be ≥ 2 (ngram_words={self.ngram_words}, "
                f"ngram_cjk={self.ngram_cjk})"
            )
        if not 0 < self.min_overlap <= 1:
            raise ValueError(f"decontamination min_overlap={self.min_overlap}: expected (0, 1]")
        if self.short_items not in ("exact", "skip"):
            raise ValueError(
                f"decontamination short_items={self.short_items!r}: expected 'exact' or 'skip'"
            )
        if self.min_exact_units < 1 or self.max_ngram_items < 1:
            raise ValueError("decontamination min_exact_units and max_ngram_items must be ≥ 1")
        if min(self.min_fingerprint_bits, self.min_match_bits) <= 0 or self.gap_penalty_bits < 0:
            raise ValueError("decontamination bit thresholds must be > 0 (gap penalty ≥ 0)")
        if not 0 < self.min_crosslingual_score <= 1:
            raise ValueError(
                f"decontamination min_crosslingual_score={self.min_crosslingual_score}: "
                "expected (0, 1]"
            )
        if self.max_span_ratio < 1:
            raise ValueError(f"decontamination max_span_ratio={self.max_span_ratio}: expected ≥ 1")


@dataclass(frozen=True)
class Match:
    """One benchmark item found in a document.

    Attributes:
        benchmark: the item's benchmark.
        item_id: the item's id.
        method: ``"ngram"`` or ``"crosslingual"`` (``"ngram"`` when both found the same span).
        start: start offset in the original text.
        end: end offset (exclusive).
        score: fraction of the item's n-grams found (ngram), or the alignment score
            (crosslingual); in (0, 1].
    """

    benchmark: str
    item_id: str
    method: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class DecontamStats:
    """What the index holds: how each item is checked, never silently.

    Attributes:
        items: items given.
        ngram_items: items with an n-gram probe (question, or question + options).
        exact_items: items checked only by an exact match (their probes are shorter than n).
        skipped_items: items with no same-language probe (shorter than ``min_exact_units``, or
            ``short_items="skip"``, or all n-grams boilerplate); the fingerprint may still
            check them.
        options_only: multiple-choice items whose question alone is shorter than n, checked
            with their options only.
        boilerplate_ngrams: n-grams left out of the index as shared by too many items.
        fingerprinted: items with a cross-lingual fingerprint.
        weak_fingerprints: items whose anchors weigh less than ``min_fingerprint_bits``.
        per_benchmark: the same counts per benchmark.
        skipped: ``(benchmark, item_id)`` of the skipped items.
        weak: ``(benchmark, item_id)`` of the items without a fingerprint.
    """

    items: int
    ngram_items: int
    exact_items: int
    skipped_items: int
    options_only: int
    boilerplate_ngrams: int
    fingerprinted: int
    weak_fingerprints: int
    per_benchmark: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()
    weak: tuple[tuple[str, str], ...] = ()

    def lines(self) -> list[str]:
        """One human-readable line per benchmark, for logs."""
        return [
            f"{b}: {c['items']} items; n-gram {c['ngram']}, exact {c['exact']}, skipped "
            f"{c['skipped']} (short), options-only {c['options_only']}; fingerprinted "
            f"{c['fingerprinted']}, weak fingerprint {c['weak']}"
            for b, c in sorted(self.per_benchmark.items())
        ]


@dataclass(frozen=True)
class Fingerprint:
    """The cross-lingual fingerprint of one item.

    Attributes:
        text: the item's folded probe text (question and options).
        anchors: its anchors in order (name-like words once each).
        core_bits: the bits of the anchors that are not names.
        soft_bits: the bits of the names.
        eligible: whether it is strong enough to be matched (``core + soft ≥
            min_fingerprint_bits``).
    """

    text: str
    anchors: tuple[Anchor, ...]
    core_bits: float
    soft_bits: float
    eligible: bool
    question_anchors: int = 0


def fingerprint(
    item: BenchmarkItem, config: DecontamConfig | None = None, *, with_answer: bool = False
) -> Fingerprint:
    """The cross-lingual fingerprint of ``item`` (see the module docstring).

    Args:
        item: the item.
        config: thresholds (defaults: :class:`DecontamConfig`).
        with_answer: fingerprint the question followed by the worked answer (a GSM8K solution's
            numbers; calculator annotations are skipped on both sides), for pages that
            republish the solution with the problem.
    """
    config = config or DecontamConfig()
    text = item.probe_text + ("\n" + item.answer if with_answer else "")
    norm = normalize(text)
    seen_soft: set[str] = set()
    kept = []
    for a in anchors(norm.text):
        if a.soft:
            if a.token in seen_soft:
                continue
            seen_soft.add(a.token)
            a = Anchor(a.token, config.name_bits, True, a.start, a.end)
        kept.append(a)
    core = sum(a.bits for a in kept if not a.soft)
    soft = sum(a.bits for a in kept if a.soft)
    # Strength counts each value once: a number said again ("45 / 5 = 9 ... #### 9") adds no
    # information, and a problem of two small numbers and their quotient is any division drill.
    distinct = sum({a.token: a.bits for a in kept if not a.soft}.values())
    eligible = (
        len(kept) >= 2
        and distinct + soft >= config.min_fingerprint_bits
        and distinct >= config.min_core_bits
    )
    q_end = len(normalize(item.question).text)
    in_question = sum(1 for a in kept if a.start < q_end and not a.soft)
    return Fingerprint(norm.text, tuple(kept), core, soft, eligible, in_question)


# ---------------------------------------------------------------------------------------------
# Hashing of unit windows
# ---------------------------------------------------------------------------------------------

_MASK = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)


class _Powers:
    """B^k and B^-k modulo 2^64 as uint64 arrays, grown on demand."""

    def __init__(self) -> None:
        self.pw = np.ones(1, dtype=np.uint64)
        self.ipw = np.ones(1, dtype=np.uint64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pw) < n:
            size = max(n, 2 * len(self.pw), 1024)
            for name, base in (("pw", _BASE), ("ipw", _BASE_INV)):
                arr = np.full(size, base, dtype=np.uint64)
                arr[0] = 1
                setattr(self, name, np.cumprod(arr, dtype=np.uint64))
        return self.pw, self.ipw


_POWERS = _Powers()


def _window_hashes(values: np.ndarray, lengths: list[int]) -> dict[int, np.ndarray]:
    """Hash of every window of each length: sum of values[i+j] * B^(L-1-j) modulo 2^64.

    One cumulative sum of ``values * B^-j`` serves all lengths: a window is
    ``B^(i+L-1) * (S[i+L] - S[i])``. Unsigned overflow wraps, which is the modulo.
    """
    n = len(values)
    pw, ipw = _POWERS.get(n + 1)
    s = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(values * ipw[:n], dtype=np.uint64, out=s[1:])
    return {ln: pw[ln - 1 : n] * (s[ln:] - s[: n - ln + 1]) for ln in lengths if n >= ln}


def _unit_value(unit: str) -> int:
    return xxhash.xxh3_64_intdigest(unit.encode("utf-8")) or 1


@dataclass
class _Probe:
    item: int
    length: int  # units
    window: int  # n, or the whole length for an exact probe
    numbers: frozenset[str]  # its distinct number units
    keys: int = 0  # distinct indexed windows
    need: int = 1


@dataclass
class _Table:
    """Sorted window hashes of one window length, each with its probes (CSR)."""

    keys: np.ndarray
    offsets: np.ndarray
    probes: np.ndarray


@dataclass
class _FP:
    item: int
    fp: Fingerprint
    tokens: list[int]
    bits: list[float]
    soft_set: frozenset[int]
    tok_bits: dict[int, float]
    question_end: int  # anchors before it include the question's numbers (0: it has none)


_SEED_BITS = 9.0  # an anchor pair must weigh this much to be a seed (not "2, 10")
_MAX_SEED_ITEMS = 40  # a pair shared by more fingerprints says little about one of them
_MARGIN = 4  # document anchors aligned beyond the first and last seed-linked ones
_SEED_SHARE = 0.5  # seed-linked anchors must weigh this share of min_match_bits to align
_SHIFT = 1 << 32


def _pair_keys(toks: list[int], bits: list[float]) -> set[int]:
    """Seed keys of a token sequence: each token with each of the next two, if heavy enough."""
    keys = set()
    for i in range(len(toks)):
        for j in (i + 1, i + 2):
            if j < len(toks) and bits[i] + bits[j] >= _SEED_BITS:
                keys.add(toks[i] * _SHIFT + toks[j])
    return keys


def _is_cjk_probe(us: list[str]) -> bool:
    cjk = sum(1 for u in us if len(u) == 1 and "\u3400" <= u <= "\ud7a3")
    return 2 * cjk >= len(us)


# ---------------------------------------------------------------------------------------------
# The matcher
# ---------------------------------------------------------------------------------------------


class Decontaminator:
    """Index of benchmark items; :meth:`match` scans one document.

    Args:
        items: the benchmark items; ``(benchmark, item_id)`` must be unique.
        config: the parameters (defaults: :class:`DecontamConfig`).

    Raises:
        ValueError: no items; an item with an empty question or a repeated id (naming its
            benchmark and id).
    """

    def __init__(self, items: list[BenchmarkItem], config: DecontamConfig | None = None):
        self.config = config or DecontamConfig()
        self.items = list(items)
        if not self.items:
            raise ValueError("decontamination: no benchmark items to check documents against")
        seen: set[tuple[str, str]] = set()
        for it in self.items:
            key = (it.benchmark, it.item_id)
            if not it.question.strip():
                raise ValueError(f"benchmark {it.benchmark!r} item {it.item_id!r}: empty question")
            if key in seen:
                raise ValueError(f"benchmark {it.benchmark!r} item {it.item_id!r}: repeated id")
            seen.add(key)
        self._build_ngrams()
        self._build_fingerprints()
        self.stats = self._make_stats()

    # -- building -------------------------------------------------------------------------

    def _build_ngrams(self) -> None:
        cfg = self.config
        self._vocab: dict[str, int] = {}
        self._probes: list[_Probe] = []
        self._item_kind = ["skipped"] * len(self.items)
        self._options_only = [False] * len(self.items)
        pending: dict[int, list[tuple[np.ndarray, int]]] = {}  # window → (hashes, probe)
        for idx, it in enumerate(self.items):
            texts = [it.question]
            if it.options:
                texts.append(it.probe_text)
            for t_i, text in enumerate(texts):
                us = units(normalize(text).lower)
                n = cfg.ngram_cjk if _is_cjk_probe(us) else cfg.ngram_words
                if len(us) >= n:
                    window, kind = n, "ngram"
                elif t_i == 0 and it.options:
                    self._options_only[idx] = True  # a short question alone is no evidence
                    continue
                elif cfg.short_items == "exact" and len(us) >= cfg.min_exact_units:
                    window, kind = len(us), "exact"
                else:
                    continue
                vals = np.array(
                    [self._vocab.setdefault(u, _unit_value(u)) for u in us], dtype=np.uint64
                )
                hashes = np.unique(_window_hashes(vals, [window])[window])
                pending.setdefault(window, []).append((hashes, len(self._probes)))
                numbers = frozenset(u for u in us if u[0].isdigit())
                self._probes.append(_Probe(idx, len(us), window, numbers))
                if kind == "ngram" or self._item_kind[idx] == "skipped":
                    self._item_kind[idx] = kind
        self._tables: dict[int, _Table] = {}
        self._boilerplate = 0
        probe_item = np.array([p.item for p in self._probes], dtype=np.int64)
        for window, rows in pending.items():
            keys = np.concatenate([h for h, _ in rows])
            probes = np.concatenate([np.full(len(h), p, dtype=np.int64) for h, p in rows])
            order = np.lexsort((probes, keys))
            keys, probes = keys[order], probes[order]
            items = probe_item[probes]
            # distinct items per key: an item's two probes share many n-grams
            first = np.ones(len(keys), dtype=bool)
            first[1:] = (keys[1:] != keys[:-1]) | (items[1:] != items[:-1])
            uniq, starts = np.unique(keys, return_index=True)
            item_counts = np.add.reduceat(first.astype(np.int64), starts)
            bad = item_counts > self.config.max_ngram_items
            self._boilerplate += int(bad.sum())
            if bad.any():
                keep = ~np.repeat(bad, np.diff(np.append(starts, len(keys))))
                keys, probes = keys[keep], probes[keep]
                uniq, starts = np.unique(keys, return_index=True)
            offsets = np.append(starts, len(keys)).astype(np.int64)
            self._tables[window] = _Table(uniq, offsets, probes)
            counts = np.bincount(probes, minlength=len(self._probes))
            for p in np.flatnonzero(counts).tolist():
                self._probes[p].keys = int(counts[p])
        for p in self._probes:
            p.need = max(1, math.ceil(cfg.min_overlap * p.keys - 1e-9))
        has_keys = {p.item for p in self._probes if p.keys > 0}
        for idx in range(len(self.items)):  # items whose n-grams were all boilerplate
            if self._item_kind[idx] != "skipped" and idx not in has_keys:
                self._item_kind[idx] = "skipped"
        self._windows = sorted(self._tables)

    def _build_fingerprints(self) -> None:
        cfg = self.config
        self._fps: list[_FP] = []
        self._fp_eligible = [False] * len(self.items)
        self._tok_id: dict[str, int] = {}
        self._seeds: dict[int, list[int]] = {}
        if not cfg.crosslingual:
            return
        pending: list[tuple[int, Fingerprint, list[int], set[int]]] = []
        uses: dict[int, int] = {}
        for idx, it in enumerate(self.items):
            solved = not it.options and any(c.isdigit() for c in it.answer)
            for with_answer in (False, True) if solved else (False,):
                fp = fingerprint(it, cfg, with_answer=with_answer)
                if not fp.eligible:
                    continue
                toks = [self._tok_id.setdefault(a.token, len(self._tok_id)) for a in fp.anchors]
                keys = _pair_keys(toks, [a.bits for a in fp.anchors]) | _pair_keys(
                    [t for t, a in zip(toks, fp.anchors, strict=True) if not a.soft],
                    [a.bits for a in fp.anchors if not a.soft],
                )
                pending.append((idx, fp, toks, keys))
                for k in keys:
                    uses[k] = uses.get(k, 0) + 1
        for idx, fp, toks, keys in pending:
            keys = {k for k in keys if uses[k] <= _MAX_SEED_ITEMS}
            if not keys:  # only common pairs: no way to find it cheaply, counted as weak
                continue
            f = len(self._fps)
            soft_set = frozenset(t for t, a in zip(toks, fp.anchors, strict=True) if a.soft)
            bits = [a.bits for a in fp.anchors]
            tok_bits: dict[int, float] = {}
            for t, b in zip(toks, bits, strict=True):
                tok_bits[t] = max(b, tok_bits.get(t, 0.0))
            q_end = _question_end(fp) if fp.question_anchors else 0
            self._fps.append(_FP(idx, fp, toks, bits, soft_set, tok_bits, q_end))
            self._fp_eligible[idx] = True
            for k in keys:
                self._seeds.setdefault(k, []).append(f)

    def _make_stats(self) -> DecontamStats:
        per: dict[str, dict[str, int]] = {}
        names = ("items", "ngram", "exact", "skipped", "options_only", "fingerprinted", "weak")
        for idx, it in enumerate(self.items):
            c = per.setdefault(it.benchmark, dict.fromkeys(names, 0))
            c["items"] += 1
            c[self._item_kind[idx]] += 1
            c["options_only"] += self._options_only[idx]
            c["fingerprinted" if self._fp_eligible[idx] else "weak"] += 1
        total = {k: sum(c[k] for c in per.values()) for k in names}
        return DecontamStats(
            items=total["items"],
            ngram_items=total["ngram"],
            exact_items=total["exact"],
            skipped_items=total["skipped"],
            options_only=total["options_only"],
            boilerplate_ngrams=self._boilerplate,
            fingerprinted=total["fingerprinted"],
            weak_fingerprints=total["weak"],
            per_benchmark=per,
            skipped=tuple(
                (it.benchmark, it.item_id)
                for i, it in enumerate(self.items)
                if self._item_kind[i] == "skipped"
            ),
            weak=tuple(
                (it.benchmark, it.item_id)
                for i, it in enumerate(self.items)
                if not self._fp_eligible[i]
            ),
        )

    def is_fingerprinted(self, benchmark: str, item_id: str) -> bool:
        """Whether the item has a cross-lingual fingerprint (strong enough to match)."""
        return (benchmark, item_id) not in set(self.stats.weak)

    # -- scanning -------------------------------------------------------------------------

    def match(self, text: str, lang: str | None = None) -> list[Match]:
        """The benchmark items found in ``text``, sorted by start.

        Args:
            text: the document.
            lang: the document's language tag. Matching does not depend on it (units and length
                ratios are decided per character, so mixed pages work); accepted so that the
                caller can pass what it has.

        Returns:
            One :class:`Match` per item and stretch of the document (overlapping finds of the
            same item by both methods are merged, method ``ngram``).
        """
        if not text:
            return []
        norm = normalize(text)
        found = self._ngram_matches(norm)
        if self._fps:
            found += self._fingerprint_matches(norm)
        return _merge(found)

    def _ngram_matches(self, norm: Normalized) -> list[Match]:
        us = units(norm.lower)
        if not us or not self._tables:
            return []
        get = self._vocab.get
        vals = np.array([get(u, 0) for u in us], dtype=np.uint64)
        if not vals.any():
            return []
        hits: dict[int, list[tuple[int, int]]] = {}
        for window, hashes in _window_hashes(vals, self._windows).items():
            table = self._tables[window]
            idx = np.searchsorted(table.keys, hashes)
            np.minimum(idx, len(table.keys) - 1, out=idx)
            found = np.flatnonzero(table.keys[idx] == hashes)
            if not len(found):
                continue
            offsets, probes = table.offsets, table.probes
            for pos, k in zip(found.tolist(), idx[found].tolist(), strict=True):
                for p in probes[offsets[k] : offsets[k + 1]].tolist():
                    hits.setdefault(p, []).append((pos, k))
        out: list[Match] = []
        spans: list[tuple[int, int]] | None = None
        for p, lst in hits.items():
            probe = self._probes[p]
            if len(lst) < probe.need:
                continue
            lst.sort()
            clusters, cur = [], [lst[0]]
            for hit in lst[1:]:
                if hit[0] - cur[-1][0] > probe.length:
                    clusters.append(cur)
                    cur = []
                cur.append(hit)
            clusters.append(cur)
            for cl in clusters:
                distinct = len({k for _, k in cl})
                if distinct < probe.need:
                    continue
                # a same-template text with other numbers shares the words, not the numbers:
                # the probe's numbers must be there (one in four may be missing or rewritten)
                if probe.numbers:
                    lo = max(0, cl[0][0] - probe.length)
                    near = set(us[lo : cl[-1][0] + probe.window + probe.length])
                    if len(probe.numbers - near) > len(probe.numbers) // 4:
                        continue
                if spans is None:
                    spans = unit_spans(norm.lower)
                # to the sentence's edges when they are near (a dropped "A", the "?")
                start = _snap(norm.text, spans[cl[0][0]][0], 8, 0, spans[cl[0][0]][0])
                end = spans[cl[-1][0] + probe.window - 1][1]
                end = _snap(norm.text, end, 8, end, len(norm.text))
                start, end = _trim(norm.text, start, end)
                it = self.items[probe.item]
                s, e = norm.orig_span(start, end)
                out.append(Match(it.benchmark, it.item_id, "ngram", s, e, distinct / probe.keys))
        return out

    def _fingerprint_matches(self, norm: Normalized) -> list[Match]:
        anc = anchors(norm.text)
        n = len(anc)
        if n < 2:
            return []
        tok_id = self._tok_id
        ids = [tok_id.get(a.token, -1) for a in anc]
        seeds = self._seeds
        cand: dict[int, list[int]] = {}
        known = [k for k in range(n) if ids[k] >= 0]
        known_core = [k for k in known if not anc[k].soft]
        for seq in (known, known_core):
            for x in range(len(seq) - 1):
                k = seq[x]
                for y in (x + 1, x + 2):
                    if y < len(seq):
                        lst = seeds.get(ids[k] * _SHIFT + ids[seq[y]])
                        if lst:
                            for f in lst:
                                c = cand.setdefault(f, [])
                                c.append(k)
                                c.append(seq[y])
        out: list[Match] = []
        for f, ks in cand.items():
            fp = self._fps[f]
            m = len(fp.tokens)
            ks = sorted(set(ks))
            groups, cur = [], [ks[0]]
            for k in ks[1:]:
                if k - cur[-1] > m + 4:
                    groups.append(cur)
                    cur = []
                cur.append(k)
            groups.append(cur)
            need = _SEED_SHARE * self.config.min_match_bits
            for g in groups:
                # the anchors that seed pairs link must weigh enough before aligning
                if sum(fp.tok_bits[ids[k]] for k in set(g)) < need:
                    continue
                lo, hi = max(0, g[0] - _MARGIN), min(n, g[-1] + _MARGIN + 1)
                match = self._align(fp, anc[lo:hi], ids[lo:hi], norm)
                if match is not None:
                    out.append(match)
        return out

    def _align(
        self, fp: _FP, win: list[Anchor], win_ids: list[int], norm: Normalized
    ) -> Match | None:
        """Local alignment of a fingerprint with a window of document anchors, scored."""
        cfg = self.config
        present = set(win_ids)
        if sum(b for t, b in zip(fp.tokens, fp.bits, strict=True) if t in present) < (
            cfg.min_match_bits
        ):
            return None
        # a foreign anchor inside the match costs; a name of the item said again does not
        pen = [
            0.0 if a.soft and t in fp.soft_set else cfg.gap_penalty_bits
            for a, t in zip(win, win_ids, strict=True)
        ]
        # an item anchor absent from the window leaves its DP row equal to the one before, so
        # the alignment runs on the present ones only (few, even for a long worked solution)
        rows = [i for i, t in enumerate(fp.tokens) if t in present]
        pairs = _local_alignment(
            [fp.tokens[i] for i in rows], [fp.bits[i] for i in rows], win_ids, pen
        )
        if not pairs:
            return None
        pairs = [(rows[i], j) for i, j in pairs]
        anchors_ = fp.fp.anchors
        if fp.question_end and all(anchors_[i].soft or i >= fp.question_end for i, _ in pairs):
            return None  # the options alone, under another question, are another item
        matched = sum(fp.bits[i] for i, _ in pairs)
        matched_soft = sum(fp.bits[i] for i, _ in pairs if anchors_[i].soft)
        # the evidence is the distinct values matched, each once (see fingerprint())
        distinct = sum(
            {fp.tokens[i]: fp.bits[i] for i, _ in pairs if not anchors_[i].soft}.values()
        )
        if distinct < cfg.min_core_bits or distinct + matched_soft < cfg.min_match_bits:
            return None
        j0, j1 = pairs[0][1], pairs[-1][1]
        matched_js = {j for _, j in pairs}
        penalty = sum(pen[j] for j in range(j0, j1 + 1) if j not in matched_js)
        score = (matched - penalty) / (fp.fp.core_bits + matched_soft)
        if matched < cfg.min_match_bits or score < cfg.min_crosslingual_score:
            return None
        i0, i1 = pairs[0][0], pairs[-1][0]
        item_eff = effective_length(fp.fp.text[anchors_[i0].start : anchors_[i1].end])
        start, end = win[j0].start, win[j1].end
        doc_eff = effective_length(norm.text[start:end])
        if item_eff >= 12:
            ratio = (doc_eff + 1) / (item_eff + 1)
            if ratio > cfg.max_span_ratio or ratio < 1 / cfg.max_span_ratio:
                return None
        start, end = _item_extent(
            norm.text,
            start,
            end,
            effective_length(fp.fp.text[: anchors_[i0].start]),
            effective_length(fp.fp.text[anchors_[i1].end :]),
        )
        s, e = norm.orig_span(start, end)
        it = self.items[fp.item]
        return Match(it.benchmark, it.item_id, "crosslingual", s, e, round(min(score, 1.0), 4))


def _question_end(fp: Fingerprint) -> int:
    """Index of the first anchor after the question's own non-name anchors."""
    seen = 0
    for i, a in enumerate(fp.anchors):
        if not a.soft:
            seen += 1
            if seen == fp.question_anchors:
                return i + 1
    return len(fp.anchors)


def _local_alignment(
    item: list[int], bits: list[float], doc: list[int], pen: list[float]
) -> list[tuple[int, int]]:
    """Best-scoring ordered alignment (Smith–Waterman): a match gains the item anchor's bits,
    skipping an item anchor is free, skipping a document anchor costs ``pen``. Returns the
    matched ``(item index, document index)`` pairs in order."""
    m, w = len(item), len(doc)
    h = [[0.0] * (w + 1) for _ in range(m + 1)]
    best, bi, bj = 0.0, 0, 0
    for i in range(1, m + 1):
        t, b = item[i - 1], bits[i - 1]
        prev, row = h[i - 1], h[i]
        for j in range(1, w + 1):
            v = prev[j]
            c = row[j - 1] - pen[j - 1]
            if c > v:
                v = c
            if doc[j - 1] == t:
                c = prev[j - 1] + b
                if c > v:
                    v = c
            if v > 0:
                row[j] = v
                if v > best:
                    best, bi, bj = v, i, j
    pairs = []
    i, j = bi, bj
    while i > 0 and j > 0 and h[i][j] > 0:
        v = h[i][j]
        if doc[j - 1] == item[i - 1] and abs(v - (h[i - 1][j - 1] + bits[i - 1])) < 1e-9:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif abs(v - h[i - 1][j]) < 1e-9:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


_SENTENCE_END = frozenset("。！？；!?;\n")


def _is_boundary(text: str, b: int) -> bool:
    """Whether a sentence or line starts at ``b`` (a full stop only before a space)."""
    if b <= 0 or b >= len(text):
        return True
    c = text[b - 1]
    return c in _SENTENCE_END or (c == "." and text[b].isspace())


def _walk(text: str, pos: int, eff: int, step: int) -> int:
    """The offset reached from ``pos`` after ``eff`` effective characters in direction
    ``step``, stopping at a blank line."""
    acc, i = 0, pos
    while acc < eff and (0 < i if step < 0 else i < len(text)):
        c = text[i - 1] if step < 0 else text[i]
        after = text[i - 2] if step < 0 and i >= 2 else text[i + 1] if i + 1 < len(text) else ""
        if c == "\n" and after == "\n":
            break
        acc += 3 if "\u3400" <= c <= "\ud7a3" else 1
        i += step
    return i


def _snap(text: str, i: int, radius: int, lo: int, hi: int) -> int:
    """The sentence boundary nearest to ``i`` within ``radius`` (and ``[lo, hi]``), else ``i``."""
    for d in range(radius + 1):
        for b in (i - d, i + d):
            if lo <= b <= hi and _is_boundary(text, b):
                return b
    return i


def _item_extent(text: str, start: int, end: int, before: int, after: int) -> tuple[int, int]:
    """Widens an anchor-to-anchor span by the item's text before its first matched anchor and
    after its last (``before`` / ``after`` effective characters), snapped to sentence ends."""
    s = _walk(text, start, before, -1)
    s = _snap(text, s, max(8, before // 2), 0, start)
    e = _walk(text, end, after, 1)
    e = _snap(text, e, max(8, after // 2), end, len(text))
    return _trim(text, s, e)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the white space at its edges."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _merge(found: list[Match]) -> list[Match]:
    """One match per item and overlapping stretch (``ngram`` wins over ``crosslingual``)."""
    by_item: dict[tuple[str, str], list[Match]] = {}
    for m in found:
        by_item.setdefault((m.benchmark, m.item_id), []).append(m)
    out = []
    for (bench, item_id), ms in by_item.items():
        ms.sort(key=lambda m: (m.start, m.end))
        group = [ms[0]]
        end = ms[0].end
        for m in [*ms[1:], None]:
            if m is not None and m.start < end:
                group.append(m)
                end = max(end, m.end)
                continue
            method = "ngram" if any(g.method == "ngram" for g in group) else "crosslingual"
            score = max(g.score for g in group if g.method == method)
            out.append(Match(bench, item_id, method, group[0].start, end, score))
            if m is not None:
                group, end = [m], m.end
    return sorted(out, key=lambda m: (m.start, m.benchmark, m.item_id))


def remove_spans(text: str, matches: list[Match]) -> str:
    """``text`` without the matched spans (their union).

    A cut that would glue two words together leaves one space; a cut that took a line break
    leaves one line break.
    """
    spans = sorted((m.start, m.end) for m in matches)
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    parts, pos = [], 0
    for s, e in merged:
        parts.append(text[pos:s])
        before = text[s - 1] if s > 0 else ""
        after = text[e] if e < len(text) else ""
        if before and after and not before.isspace() and not after.isspace():
            parts.append("\n" if "\n" in text[s:e] else " ")
        pos = e
    parts.append(text[pos:])
    return "".join(parts)
