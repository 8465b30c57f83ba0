"""A small bilingual (English + Simplified Chinese) chat set for SFT and DPO, from templates.

The embedded default cannot download an instruction-tuning set, yet its SFT and DPO stages must
train on something whose right answers are known. ``write_sft_set`` writes conversations in the
Hugging Face ``messages`` convention (general questions, STEM questions with worked answers,
refusals of harmful requests); ``write_preference_prompts`` writes preference pairs in TRL's
conversational format and the safety prompts whose chosen refusal the SFT model writes itself;
``complete_safety_pairs`` joins those refusals (or each row's template fallback) on. Templates
live in ``chat_prompts``, their facts in ``chat_tables``.

Every conversation and pair stays under ``APPROX_TOKEN_LIMIT`` (``approx_tokens``): the default
model has a 128-token context. Held-out rows are drawn first, stratified per category and
language, and no training row repeats a held-out user turn. Every draw comes from a
``random.Random`` seeded with a string and JSON keys keep their order, so the same seed gives
byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from skyforge.core.io import atomic_write_text
from skyforge.synthetic.chat_prompts import PREF_DRAWS, QA, SFT_DRAWS

__all__ = [
    "SFT_CATEGORIES",
    "PREF_CATEGORIES",
    "LANGS",
    "SPLITS",
    "SFT_SHARES",
    "PREF_SHARES",
    "SYSTEM_PROMPTS",
    "SYSTEM_SHARE",
    "TWO_TURN_SHARE",
    "TOKENS_PER_TURN",
    "APPROX_TOKEN_LIMIT",
    "REFUSAL_MARKERS",
    "approx_tokens",
    "approx_conversation_tokens",
    "approx_pair_tokens",
    "is_refusal",
    "write_sft_set",
    "write_preference_prompts",
    "complete_safety_pairs",
]

SFT_CATEGORIES = ("general_qa", "stem_qa", "refusal")
PREF_CATEGORIES = ("stem_correct", "instruction", "safety")
LANGS = ("en", "zh")
SPLITS = ("train", "heldout")

# Shares in percent, integers so that the allocation of rows to groups involves no rounding noise.
SFT_SHARES = {"general_qa": 45, "stem_qa": 40, "refusal": 15}
PREF_SHARES = {"stem_correct": 40, "instruction": 40, "safety": 20}

SYSTEM_PROMPTS = {"en": "You are a helpful assistant.", "zh": "你是一个乐于助人的助手。"}
SYSTEM_SHARE = 0.3
TWO_TURN_SHARE = 0.2

# A chat template spends a few tokens per message on the role header and the end-of-turn marker.
TOKENS_PER_TURN = 6
# Strict upper bound on approx_conversation_tokens / approx_pair_tokens: 18 tokens below the
# 128-token context, for BOS/EOS and for a real tokenizer that splits worse than the estimate.
APPROX_TOKEN_LIMIT = 110

# Lower-cased on comparison (see is_refusal); every template refusal contains the first entry of
# its language, model-written ones may use any of them.
REFUSAL_MARKERS: tuple[str, ...] = (
    "I can't help with",
    "I cannot help with",
    "I can't assist with",
    "I won't help with",
    "I'm not able to help with",
    "我不能",
    "我无法",
)

# A training row re-draws when its question is a held-out question; only a template space that
# the held-out split has used up entirely runs out of tries.
_MAX_DRAWS = 1000
# Attempts to find a second turn that keeps the conversation under the limit before settling
# for one turn.
_FOLLOW_UP_TRIES = 20

_T = TypeVar("_T")


def approx_tokens(text: str) -> int:
    """A conservative estimate of the tokens the project's small byte-level BPE spends on text.

    ASCII letters, spaces and punctuation count 1/3.5 token each (English runs at 3.5 to 4
    characters per token), ASCII digits one token each (a 4,096-token vocabulary rarely merges
    digit runs, and STEM rows are dense in numbers), and every other character one token (Chinese
    runs at about 1.2 characters per token; full-width punctuation and symbols such as ``×`` are
    several bytes each).

    Args:
        text: any string.

    Returns:
        The estimate, rounded up.
    """
    letters = digits = other = 0
    for ch in text:
        if not ch.isascii():
            other += 1
        elif ch.isdigit():
            digits += 1
        else:
            letters += 1
    return math.ceil(letters / 3.5 + digits + other)


def approx_conversation_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """``approx_tokens`` of every message's content plus ``TOKENS_PER_TURN`` per message."""
    return sum(approx_tokens(m["content"]) + TOKENS_PER_TURN for m in messages)


def approx_pair_tokens(
    prompt: Sequence[Mapping[str, str]],
    chosen: Sequence[Mapping[str, str]],
    rejected: Sequence[Mapping[str, str]],
) -> int:
    """The estimate for the longer of the two sequences DPO builds: prompt + chosen or rejected."""
    return approx_conversation_tokens(prompt) + max(
        approx_conversation_tokens(chosen), approx_conversation_tokens(rejected)
    )


def _normalise_for_markers(text: str) -> str:
    # Models and keyboards write the typographic apostrophe as often as the ASCII one.
    return text.replace("\u2019", "'").casefold()


_MARKERS_NORMALISED = tuple(_normalise_for_markers(m) for m in REFUSAL_MARKERS)


def is_refusal(text: str) -> bool:
    """Whether text contains a ``REFUSAL_MARKERS`` entry (case-insensitive, either apostrophe).

    Args:
        text: an assistant answer in English or Chinese.

    Returns:
        True when any marker occurs in it.
    """
    norm = _normalise_for_markers(text)
    return any(m in norm for m in _MARKERS_NORMALISED)


def _check_sizes(num: int, num_name: str, heldout_fraction: float) -> None:
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"{num_name} must be a positive integer, got {num!r}")
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(
            f"heldout_fraction must lie strictly between 0 and 1, got {heldout_fraction!r}"
        )


def _num_heldout(num: int, heldout_fraction: float) -> int:
    if num < 2:
        return 0
    return min(max(math.floor(num * heldout_fraction + 0.5), 1), num - 1)


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to integer weights by largest remainder (ties: first wins)."""
    weight_sum = sum(weights)
    counts = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _plan_slots(
    rng: random.Random, shares: Mapping[str, int], num: int, heldout_fraction: float
) -> dict[str, list[tuple[str, str]]]:
    """The (category, language) of every row of each split, shuffled, held-out stratified."""
    groups = [(category, lang) for category in shares for lang in LANGS]
    # Both languages of a category share its weight equally.
    sizes = _allocate(num, [shares[category] for category, _ in groups])
    heldout = _allocate(_num_heldout(num, heldout_fraction), sizes)
    slots: dict[str, list[tuple[str, str]]] = {"train": [], "heldout": []}
    for group, size, num_held in zip(groups, sizes, heldout, strict=True):
        slots["train"] += [group] * (size - num_held)
        slots["heldout"] += [group] * num_held
    for split in SPLITS:
        rng.shuffle(slots[split])
    return slots


def _draw_avoiding(
    draw: Callable[[], _T], user_text: Callable[[_T], str], avoid: set[str], num_name: str
) -> _T:
    for _ in range(_MAX_DRAWS):
        drawn = draw()
        if user_text(drawn) not in avoid:
            return drawn
    raise ValueError(
        f"{num_name}: no question left that the held-out split does not already hold after "
        f"{_MAX_DRAWS} draws; lower {num_name} or heldout_fraction"
    )


def _fits(messages: Sequence[Mapping[str, str]]) -> bool:
    return approx_conversation_tokens(messages) < APPROX_TOKEN_LIMIT


def _turns(*qas: QA) -> list[dict[str, str]]:
    messages = []
    for qa in qas:
        messages += [
            {"role": "user", "content": qa.user},
            {"role": "assistant", "content": qa.answer},
        ]
    return messages


def _conversation(
    rng: random.Random, category: str, lang: str, avoid: set[str]
) -> list[dict[str, str]]:
    """The messages of one SFT conversation, under the token limit."""
    system = rng.random() < SYSTEM_SHARE
    two_turns = rng.random() < TWO_TURN_SHARE
    head = [{"role": "system", "content": SYSTEM_PROMPTS[lang]}] if system else []

    def draw(cat: str) -> QA:
        return _draw_avoiding(
            lambda: SFT_DRAWS[cat](rng, lang), lambda qa: qa.user, avoid, "num_conversations"
        )

    main = draw(category)
    if two_turns:
        for _ in range(_FOLLOW_UP_TRIES):
            # A refusal follows a harmless first turn, so that the model learns to refuse on the
            # request and not on the position in the conversation.
            if category == "refusal":
                messages = head + _turns(draw("general_qa"), main)
            else:
                follow_up = draw(category)
                if follow_up.user == main.user:
                    continue
                messages = head + _turns(main, follow_up)
            if _fits(messages):
                return messages
    messages = head + _turns(main)
    assert _fits(messages), f"template too long for the context: {messages}"
    return messages


def _message(role: str, content: str) -> list[dict[str, str]]:
    return [{"role": role, "content": content}]


def _user_texts(messages: Iterable[Mapping[str, str]]) -> set[str]:
    return {m["content"] for m in messages if m["role"] == "user"}


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not a JSON line ({e.msg})") from e
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object")
            rows.append(row)
    return rows


def _empty_counts(categories: Sequence[str]) -> dict[str, dict[str, dict[str, int]]]:
    return {split: {c: dict.fromkeys(LANGS, 0) for c in categories} for split in SPLITS}


def write_sft_set(
    out_dir: Path, *, seed: int, num_conversations: int, heldout_fraction: float
) -> dict:
    """Write the SFT conversations: ``sft_train.jsonl`` and ``sft_heldout.jsonl``.

    Each row is ``{"id", "category", "lang", "messages"}`` with ``messages`` in the Hugging Face
    chat convention: an optional system message first, then alternating user / assistant
    messages ending with an assistant one. Categories follow ``SFT_SHARES``, each half English,
    half Chinese; about ``SYSTEM_SHARE`` of rows carry a system prompt and about
    ``TWO_TURN_SHARE`` have two user turns (fewer among refusals, whose longer answers less often
    leave room). In a two-turn refusal row only the last answer is a refusal.

    Args:
        out_dir: directory to write into (created if missing); files are replaced atomically.
        seed: the random seed; the same seed gives byte-identical files.
        num_conversations: rows over both splits.
        heldout_fraction: share of rows in the held-out split, in (0, 1); at least one row goes
            to each split when there are two rows or more.

    Returns:
        ``{split: {category: {lang: number of rows}}}``.

    Raises:
        ValueError: for a non-positive ``num_conversations``, a ``heldout_fraction`` outside
            (0, 1), or more held-out rows than the templates have distinct questions.
    """
    _check_sizes(num_conversations, "num_conversations", heldout_fraction)
    # The module's old name stays in the seed string: it decides every draw of the files.
    rng = random.Random(f"skyforge.synth_chat/sft/{seed}")
    slots = _plan_slots(rng, SFT_SHARES, num_conversations, heldout_fraction)
    avoid: set[str] = set()
    conversations: dict[str, list[tuple[str, str, list[dict[str, str]]]]] = {}
    # Held-out first: the training rows then steer clear of its questions, which always
    # succeeds because the held-out split is the smaller one.
    for split in ("heldout", "train"):
        conversations[split] = []
        for category, lang in slots[split]:
            messages = _conversation(rng, category, lang, avoid if split == "train" else set())
            conversations[split].append((category, lang, messages))
        if split == "heldout":
            avoid = set().union(*(_user_texts(m) for _, _, m in conversations[split]))
    counts = _empty_counts(SFT_CATEGORIES)
    next_id = 0
    for split in SPLITS:
        rows = []
        for category, lang, messages in conversations[split]:
            rows.append(
                {
                    "id": f"sft-{next_id:06d}",
                    "category": category,
                    "lang": lang,
                    "messages": messages,
                }
            )
            counts[split][category][lang] += 1
            next_id += 1
        _write_jsonl(Path(out_dir) / f"sft_{split}.jsonl", rows)
    return counts


def write_preference_prompts(
    out_dir: Path, *, seed: int, num_pairs: int, heldout_fraction: float
) -> dict:
    """Write preference pairs and the safety prompts that still need a chosen answer.

    ``pref_train.jsonl`` / ``pref_heldout.jsonl`` hold complete pairs of the ``stem_correct``
    and ``instruction`` categories as ``{"id", "category", "lang", "prompt", "chosen",
    "rejected"}`` (TRL's conversational preference format). ``safety_prompts.jsonl`` holds the
    ``safety`` category of both splits as ``{"id", "category", "lang", "split", "prompt",
    "rejected", "fallback_refusal"}``: the chosen refusal is written later by the SFT model, and
    ``complete_safety_pairs`` joins it. Categories follow ``PREF_SHARES``, each half English,
    half Chinese.

    Args:
        out_dir: directory to write into (created if missing); files are replaced atomically.
        seed: the random seed; the same seed gives byte-identical files.
        num_pairs: pairs over all categories and both splits, safety prompts included.
        heldout_fraction: share of pairs in the held-out split, in (0, 1).

    Returns:
        ``{split: {category: {lang: number of rows}}}``.

    Raises:
        ValueError: for a non-positive ``num_pairs``, a ``heldout_fraction`` outside (0, 1), or
            more held-out rows than the templates have distinct prompts.
    """
    _check_sizes(num_pairs, "num_pairs", heldout_fraction)
    rng = random.Random(f"skyforge.synth_chat/pref/{seed}")
    slots = _plan_slots(rng, PREF_SHARES, num_pairs, heldout_fraction)
    avoid: set[str] = set()
    drawn: dict[str, list[tuple[str, str, tuple[str, str, str]]]] = {}
    for split in ("heldout", "train"):
        drawn[split] = []
        for category, lang in slots[split]:
            texts = _draw_avoiding(
                lambda c=category, lang=lang: PREF_DRAWS[c](rng, lang),
                lambda t: t[0],
                avoid if split == "train" else set(),
                "num_pairs",
            )
            drawn[split].append((category, lang, texts))
        if split == "heldout":
            avoid = {texts[0] for _, _, texts in drawn[split]}
    counts = _empty_counts(PREF_CATEGORIES)
    safety_rows: list[dict[str, Any]] = []
    next_id = 0
    for split in SPLITS:
        rows = []
        for category, lang, (prompt, chosen, rejected) in drawn[split]:
            counts[split][category][lang] += 1
            if category == "safety":
                row = {
                    "id": f"safety-{len(safety_rows):06d}",
                    "category": category,
                    "lang": lang,
                    "split": split,
                    "prompt": _message("user", prompt),
                    "rejected": _message("assistant", rejected),
                    "fallback_refusal": chosen,
                }
                safety_rows.append(row)
                continue
            row = {
                "id": f"pref-{next_id:06d}",
                "category": category,
                "lang": lang,
                "prompt": _message("user", prompt),
                "chosen": _message("assistant", chosen),
                "rejected": _message("assistant", rejected),
            }
            assert chosen != rejected, row
            assert approx_pair_tokens(row["prompt"], row["chosen"], row["rejected"]) < (
                APPROX_TOKEN_LIMIT
            ), row
            rows.append(row)
            next_id += 1
        _write_jsonl(Path(out_dir) / f"pref_{split}.jsonl", rows)
    _write_jsonl(Path(out_dir) / "safety_prompts.jsonl", safety_rows)
    return counts


def _check_safety_row(row: Mapping[str, Any], path: Path, lineno: int) -> None:
    for key in ("id", "lang", "split", "prompt", "rejected", "fallback_refusal"):
        if key not in row:
            raise ValueError(f"{path}:{lineno}: safety prompt row lacks {key!r}")
    if row["split"] not in SPLITS:
        raise ValueError(f"{path}:{lineno}: split must be one of {SPLITS}, got {row['split']!r}")
    if not is_refusal(row["fallback_refusal"]):
        raise ValueError(f"{path}:{lineno}: fallback_refusal of {row['id']} is not a refusal")


def complete_safety_pairs(safety_prompts: Path, refusals: dict[str, str], out_dir: Path) -> dict:
    """Join chosen refusals onto the safety prompts and write the complete preference files.

    The chosen answer of each safety row is the model-written ``refusals[row_id]`` when there is
    one and ``is_refusal`` accepts it (after stripping whitespace), else the row's
    ``fallback_refusal``. The pairs of ``pref_train.jsonl`` / ``pref_heldout.jsonl`` (read from
    the directory of ``safety_prompts``) plus the safety pairs of the same split are written to
    ``out_dir/pref_train_full.jsonl`` and ``out_dir/pref_heldout_full.jsonl``, in the order of
    the SHA-256 of their ids, so that safety pairs are spread through the file deterministically.

    Args:
        safety_prompts: the ``safety_prompts.jsonl`` of ``write_preference_prompts``.
        refusals: model-written answers by safety row id; ids may be missing.
        out_dir: directory to write into (created if missing); files are replaced atomically.

    Returns:
        ``{"model_written": k, "fallback": n - k, "rows": {split: rows in its full file}}`` for
        the ``n`` safety rows.

    Raises:
        ValueError: for a malformed or duplicated safety row, or a ``refusals`` id that is not in
            ``safety_prompts``.
    """
    safety_prompts = Path(safety_prompts)
    safety_rows = _read_jsonl(safety_prompts)
    seen: set[str] = set()
    for lineno, row in enumerate(safety_rows, start=1):
        _check_safety_row(row, safety_prompts, lineno)
        if row["id"] in seen:
            raise ValueError(f"{safety_prompts}: id {row['id']} appears twice")
        seen.add(row["id"])
    unknown = sorted(set(refusals) - seen)
    if unknown:
        raise ValueError(
            f"refusals: {len(unknown)} id(s) not in {safety_prompts}, e.g. {unknown[:5]}"
        )
    pairs = {split: _read_jsonl(safety_prompts.parent / f"pref_{split}.jsonl") for split in SPLITS}
    model_written = 0
    for row in safety_rows:
        text = refusals.get(row["id"])
        text = text.strip() if isinstance(text, str) else ""
        if text and is_refusal(text):
            chosen, model_written = text, model_written + 1
        else:
            chosen = row["fallback_refusal"]
        pairs[row["split"]].append(
            {
                "id": row["id"],
                "category": "safety",
                "lang": row["lang"],
                "prompt": row["prompt"],
                "chosen": _message("assistant", chosen),
                "rejected": row["rejected"],
            }
        )
    num_rows = {}
    for split in SPLITS:
        ordered = sorted(pairs[split], key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        _write_jsonl(Path(out_dir) / f"pref_{split}_full.jsonl", ordered)
        num_rows[split] = len(ordered)
    return {
        "model_written": model_written,
        "fallback": len(safety_rows) - model_written,
        "rows": num_rows,
    }
