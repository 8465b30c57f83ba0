"""SFT data: conversations packed to the context, mixed with pretraining text (Index-1.9B).

SPEC.md §13 and the Index-1.9B report: SFT starts from the final pretraining checkpoint, loads
its optimizer state, trains on responses only at lr 1e-5, and mixes pretraining text in at 4:6
(pretraining tokens : SFT response tokens). This module builds what the training loop reads:

* **Packing.** Each conversation is encoded with :class:`skyforge.train.chat.ChatFormat` and
  followed by the EOD token; conversations are placed whole, in a seeded order, into samples
  of ``seq_length + 1`` tokens (first fit in order: a conversation that does not fit in the
  current sample starts the next one; the rest of a sample is padding with no loss). Unlike
  pretraining text, a conversation is never cut across samples: a response without its prompt
  teaches nothing. Positions and attention are reset at every EOD by megatron-core's own
  ``_get_ltor_masks_and_position_ids`` — the machinery the pretraining packs use — so no token
  attends to another conversation; the loss mask keeps only the trained tokens of
  :class:`~skyforge.train.chat.Encoded` (response contents and their ``<|end|>``).
* **The pretraining mix.** ``pretrain_ratio`` (0.4 / 0.6 by default) pretraining tokens per SFT
  response token, counted per epoch the way the report counts them: the response tokens of
  the packed conversations on one side, the loss-bearing tokens of pretraining samples (all
  ``seq_length`` of them) on the other. The pretraining samples come from the blend of the
  stage SFT starts from (megatron-core's ``BlendedDataset``, the same sample order as
  pretraining would read next) and are interleaved with the SFT samples by a seeded shuffle.
* **Epochs** reshuffle the conversations (each epoch packs anew) and draw fresh pretraining
  samples.

The dataset is indexed by a global sample number like megatron's, so the loop's consumed-sample
arithmetic (and therefore resume on any data-parallel size) works unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skyforge.train.chat import ChatDataError, ChatFormat, Encoded, check_conversation

__all__ = [
    "PackedConversations",
    "SFTDataset",
    "encode_conversations",
    "pack_conversations",
    "read_sft_file",
]


def read_sft_file(path: str | Path):
    """The checked conversations of an SFT JSONL file (rows with a ``messages`` list)."""
    from skyforge.train.chat import read_jsonl_rows

    def check(row: dict[str, Any]) -> dict[str, Any]:
        if "messages" not in row:
            raise ChatDataError("no 'messages' field")
        return {**row, "messages": check_conversation(row["messages"])}

    return read_jsonl_rows(path, check, what="SFT")


def encode_conversations(report, fmt: ChatFormat, seq_length: int) -> list[Encoded]:
    """Encode the rows of a :class:`~skyforge.train.chat.ReadReport`; rows longer than the
    context are moved to its ``skipped`` list (one log line each, naming file and row).

    Raises:
        ValueError: no row is left (naming the file).
    """
    import logging

    log = logging.getLogger(__name__)
    out, kept = [], []
    for row in report.rows:
        enc = fmt.encode(row["messages"])
        # + EOD must fit in seq_length + 1 tokens (inputs and shifted labels).
        if len(enc.ids) + 1 > seq_length + 1:
            detail = (
                f"conversation of {len(enc.ids)} tokens is longer than the context "
                f"({seq_length} tokens)"
            )
            log.warning("SFT file '%s', row %d: skipped: %s", report.path, row["_row"], detail)
            report.skipped.append({"row": row["_row"], "reason": "too_long", "detail": detail})
            continue
        out.append(enc)
        kept.append(row)
    report.rows = kept
    if not out:
        raise ValueError(
            f"SFT file '{report.path}': no usable row ({len(report.skipped)} skipped: "
            f"{report.skipped_by_reason})"
        )
    return out


@dataclass
class PackedConversations:
    """Samples of ``seq_length + 1`` tokens and their trained-token flags."""

    tokens: np.ndarray  # [n, seq_length + 1] int64
    target: np.ndarray  # [n, seq_length + 1] bool
    num_conversations: int

    @property
    def num_response_tokens(self) -> int:
        return int(self.target.sum())


def pack_conversations(
    conversations: list[Encoded], order: list[int], seq_length: int, eod: int, pad: int
) -> PackedConversations:
    """Place whole conversations (each + EOD) into samples, first fit in ``order``."""
    width = seq_length + 1
    samples: list[tuple[list[int], list[bool]]] = []
    cur_ids: list[int] = []
    cur_tgt: list[bool] = []
    for i in order:
        c = conversations[i]
        ids, tgt = c.ids + [eod], c.target + [False]
        if len(ids) > width:
            raise ValueError(f"conversation {i}: {len(ids)} tokens do not fit in {width}")
        if len(cur_ids) + len(ids) > width:
            samples.append((cur_ids, cur_tgt))
            cur_ids, cur_tgt = [], []
        cur_ids += ids
        cur_tgt += tgt
    if cur_ids:
        samples.append((cur_ids, cur_tgt))
    tokens = np.full((len(samples), width), pad, dtype=np.int64)
    target = np.zeros((len(samples), width), dtype=bool)
    for j, (ids, tgt) in enumerate(samples):
        tokens[j, : len(ids)] = ids
        target[j, : len(tgt)] = tgt
    return PackedConversations(tokens, target, len(order))


def packed_sample(
    tokens: np.ndarray, target: np.ndarray, eod: int, create_attention_mask: bool = True
) -> dict[str, torch.Tensor]:
    """A training sample of packed conversations, in megatron GPTDataset's layout.

    Positions and the block-diagonal causal mask are reset after every EOD by megatron-core's
    ``_get_ltor_masks_and_position_ids``; the loss is on the trained tokens only (``target``
    shifted onto the labels: position ``i`` predicts token ``i + 1``). Without
    ``create_attention_mask`` the dense mask is None (backends that take the document
    boundaries from the reset position ids).
    """
    from megatron.core.datasets.gpt_dataset import _get_ltor_masks_and_position_ids

    text = torch.from_numpy(tokens)
    inputs, labels = text[:-1].contiguous(), text[1:].contiguous()
    attention_mask, _, position_ids = _get_ltor_masks_and_position_ids(
        inputs, eod, True, True, False, create_attention_mask
    )
    loss_mask = torch.from_numpy(target[1:].astype(np.float32))
    return {
        "tokens": inputs,
        "labels": labels,
        "loss_mask": loss_mask,
        "position_ids": position_ids,
        "attention_mask": attention_mask,
    }


class SFTDataset:
    """SFT samples (packed conversations) interleaved with pretraining samples, by epoch.

    Args:
        conversations: the encoded conversations.
        seq_length: the model's context.
        eod, pad: token ids.
        epochs: passes over the conversations.
        seed: shuffles the conversations of each epoch and the interleaving.
        pretrain: a megatron dataset of pretraining samples (or None).
        pretrain_ratio: pretraining tokens per SFT response token (0.4 / 0.6 = 4:6). The
            number of pretraining samples follows from it alone (``num_pretrain_samples``),
            so the launcher can size the pretraining dataset and the step count before the
            job starts; ``pretrain`` is only read when a pretraining sample is fetched.
    """

    def __init__(
        self,
        conversations: list[Encoded],
        *,
        seq_length: int,
        eod: int,
        pad: int,
        epochs: int = 1,
        seed: int = 1234,
        pretrain: Any = None,
        pretrain_ratio: float = 0.0,
        create_attention_mask: bool = True,
    ) -> None:
        self.eod = eod
        self.create_attention_mask = create_attention_mask
        self.pretrain = pretrain
        rng = np.random.default_rng(seed)
        packs: list[PackedConversations] = []
        index: list[tuple[int, int]] = []  # (pack number or -1 for pretraining, row)
        self.num_response_tokens = 0
        self.num_pretrain_tokens = 0
        next_pretrain = 0
        for _ in range(epochs):
            order = [int(i) for i in rng.permutation(len(conversations))]
            p = pack_conversations(conversations, order, seq_length, eod, pad)
            n_pt = math.ceil(pretrain_ratio * p.num_response_tokens / seq_length)
            epoch = [(len(packs), j) for j in range(len(p.tokens))]
            epoch += [(-1, next_pretrain + j) for j in range(n_pt)]
            next_pretrain += n_pt
            index += [epoch[k] for k in rng.permutation(len(epoch))]
            packs.append(p)
            self.num_response_tokens += p.num_response_tokens
            self.num_pretrain_tokens += n_pt * seq_length
        self.packs = packs
        self.index = index
        self.num_conversations = len(conversations)
        self.num_sft_samples = sum(len(p.tokens) for p in packs)
        self.num_pretrain_samples = len(index) - self.num_sft_samples

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        which, row = self.index[i % len(self.index)]
        if which < 0:
            if self.pretrain is None:
                raise RuntimeError("SFTDataset: a pretraining sample was read without a dataset")
            return self.pretrain[row]
        p = self.packs[which]
        return packed_sample(p.tokens[row], p.target[row], self.eod, self.create_attention_mask)

    def stats(self) -> dict[str, Any]:
        """Counts for the manifest and the log (tokens as the report counts them)."""
        return {
            "conversations": self.num_conversations,
            "sft_samples": self.num_sft_samples,
            "pretrain_samples": self.num_pretrain_samples,
            "response_tokens": self.num_response_tokens,
            "pretrain_tokens": self.num_pretrain_tokens,
            "pretrain_to_response": (
                self.num_pretrain_tokens / self.num_response_tokens
                if self.num_response_tokens
                else 0.0
            ),
        }
