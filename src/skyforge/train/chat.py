"""The chat format: one template for SFT, DPO, generation, evaluation and the HF export.

A conversation is a list of ``{"role", "content"}`` messages (the HF convention): an optional
``system`` message, then alternating ``user`` and ``assistant`` turns. Each message is its role
token, its content and ``<|end|>``, with the tokenizer's reserved single-id role tokens
(:data:`skyforge.tokenize.tokenizer.CHAT_ROLES`); a generation prompt ends with
``<|assistant|>``, no BOS is written, and a training sample puts EOD after each conversation.
Trained tokens (SFT's loss mask, DPO's log-probs) are the contents of the ``assistant`` messages
and their closing ``<|end|>``: the model learns to answer and to stop.

Contents are encoded one message at a time, so text that spells a role token stays text, and
the HF ``chat_template`` (:data:`CHAT_TEMPLATE`) written into every export gives exactly the ids
of :meth:`ChatFormat.encode` (tests/unit/train/test_chat.py). Bad rows of the JSONL data files
are reported with file and line, skipped and counted.

See docs/training.md.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skyforge.tokenize.tokenizer import CHAT_ROLES, EOS

__all__ = [
    "CHAT_TEMPLATE",
    "ROLES",
    "ChatDataError",
    "ChatFormat",
    "Encoded",
    "ReadReport",
    "check_conversation",
    "read_jsonl_rows",
]

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
ROLE_TOKENS = {role: f"<|{role}|>" for role in ROLES}
END = "<|end|>"
assert set(ROLE_TOKENS.values()) | {END} == set(CHAT_ROLES)

# Jinja, as transformers renders chat templates. Kept in one line of logic per message so the
# rendered string is exactly role token + content + <|end|>.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] not in ['system', 'user', 'assistant'] -%}"
    "{{ raise_exception('unknown chat role: ' + message['role']) }}"
    "{%- endif -%}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>' }}{%- endif -%}"
)


class ChatDataError(ValueError):
    """A conversation or preference row that cannot be used (the message names file and row)."""


@dataclass(frozen=True)
class Encoded:
    """Token ids of a conversation and, per token, whether it is a trained (response) token."""

    ids: list[int]
    target: list[bool]

    @property
    def num_target(self) -> int:
        return sum(self.target)


def check_conversation(messages: Any, *, final_assistant: bool = True) -> list[dict[str, str]]:
    """The messages, checked: roles known, contents strings, turns in order.

    Args:
        messages: the ``messages`` value of a row.
        final_assistant: require the last message to be an assistant turn (training data);
            False for prompts.

    Returns:
        The messages as plain ``{"role", "content"}`` dicts.

    Raises:
        ChatDataError: the first problem found (without file and row; callers add them).
    """
    if not isinstance(messages, list) or not messages:
        raise ChatDataError("'messages' is not a non-empty list")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ChatDataError(f"message {i} lacks 'role' or 'content'")
        role, content = m["role"], m["content"]
        if role not in ROLES:
            raise ChatDataError(f"message {i}: unknown role {role!r} (expected one of {ROLES})")
        if not isinstance(content, str):
            raise ChatDataError(f"message {i}: content is not a string")
        if role == "system" and i != 0:
            raise ChatDataError(f"message {i}: a system message is only allowed first")
        out.append({"role": role, "content": content})
    turns = [m["role"] for m in out if m["role"] != "system"]
    for i, role in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            raise ChatDataError(f"turn {i} is {role!r}, expected {expected!r} (turns alternate)")
    if "assistant" not in turns and final_assistant:
        raise ChatDataError("no assistant turn")
    if final_assistant and turns[-1] != "assistant":
        raise ChatDataError("the last message is not an assistant turn")
    return out


class ChatFormat:
    """Encode conversations with a tokenizer's role tokens (see the module docstring).

    Args:
        tokenizer: anything with ``tokenize(text) -> ids`` and ``vocab`` (token → id), e.g.
            :class:`skyforge.tokenize.tokenizer.SkyforgeTokenizer`.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        vocab = tokenizer.vocab
        missing = [t for t in CHAT_ROLES + [EOS] if t not in vocab]
        if missing:
            raise ValueError(f"tokenizer has no {missing[0]} token (the chat format needs it)")
        self.role_ids = {role: vocab[tok] for role, tok in ROLE_TOKENS.items()}
        self.end_id = vocab[END]
        self.eod_id = vocab[EOS]

    def encode(
        self, messages: list[dict[str, str]], *, add_generation_prompt: bool = False
    ) -> Encoded:
        """Token ids of the conversation and the trained-token mask (no EOD appended)."""
        ids: list[int] = []
        target: list[bool] = []
        for m in messages:
            content = self.tokenizer.tokenize(m["content"]) if m["content"] else []
            trained = m["role"] == "assistant"
            ids += [self.role_ids[m["role"]], *content, self.end_id]
            target += [False] + [trained] * len(content) + [trained]
        if add_generation_prompt:
            ids.append(self.role_ids["assistant"])
            target.append(False)
        return Encoded(ids, target)

    def encode_pair(self, prompt: list[dict[str, str]], response: list[dict[str, str]]) -> Encoded:
        """A preference pair's side: the prompt as context, the response's tokens trained."""
        return self.encode(prompt + response)

    def decode_response(self, ids: list[int]) -> str:
        """Text of generated ids up to (not including) the first ``<|end|>``."""
        if self.end_id in ids:
            ids = ids[: ids.index(self.end_id)]
        return self.tokenizer.detokenize(ids)


@dataclass
class ReadReport:
    """Rows read from one data file: the usable ones and the skipped ones with reasons."""

    path: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s["reason"] for s in self.skipped))

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "rows": len(self.rows),
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason,
        }


def read_jsonl_rows(path: str | Path, check, *, what: str) -> ReadReport:
    """Read a JSONL data file, checking each row with ``check(row) -> row``.

    A row that is not JSON or that ``check`` rejects (:class:`ChatDataError`) is logged as one
    line naming the file and line number, and counted in the report's ``skipped``.

    Raises:
        ValueError: the file is missing or empty, or no row is usable (naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} file '{path}': not found")
    report = ReadReport(str(path))
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ChatDataError("not a JSON object")
                row = check(row)
            except json.JSONDecodeError as exc:
                reason, detail = "not_json", exc.msg
            except ChatDataError as exc:
                reason, detail = _reason(str(exc)), str(exc)
            else:
                row.setdefault("_row", lineno)
                report.rows.append(row)
                continue
            log.warning("%s file '%s', row %d: skipped: %s", what, path, lineno, detail)
            report.skipped.append({"row": lineno, "reason": reason, "detail": detail})
    if not report.rows:
        if not report.skipped:
            raise ValueError(f"{what} file '{path}': empty (no rows)")
        raise ValueError(
            f"{what} file '{path}': no usable row ({len(report.skipped)} skipped: "
            f"{report.skipped_by_reason})"
        )
    return report


def _reason(detail: str) -> str:
    """A short, groupable reason for a skipped row."""
    for key, reason in (
        ("unknown role", "unknown_role"),
        ("no assistant turn", "no_assistant_turn"),
        ("longer than the context", "too_long"),
        ("chosen == rejected", "chosen_equals_rejected"),
        ("alternate", "turn_order"),
    ):
        if key in detail:
            return reason
    return "malformed"
