"""SFT: conversations packed to the context, mixed with pretraining text (Index-1.9B).

SFT starts from the final pretraining checkpoint, loads its optimizer state, trains on the
responses only and mixes pretraining text in at 4:6 (pretraining tokens : response tokens).
Each conversation (:class:`skyforge.train.chat.ChatFormat`) plus EOD is placed whole, in a
seeded order, into samples of ``seq_length + 1`` tokens (first fit; the rest is padding without
loss): a response cut from its prompt teaches nothing. Positions and attention restart at every
EOD (megatron-core's ``_get_ltor_masks_and_position_ids``, as in the pretraining packs).
``pretrain_ratio`` pretraining tokens per response token, counted per epoch as the report
counts them, come from the blend SFT starts from and are interleaved by a seeded shuffle; each
epoch packs anew. The loss, forward step and validation are pretraining's (language modelling).

:func:`prepare` (the ``sft`` step) reads and encodes the files once, sizes the spec from them
and stores the encodings for the job (:mod:`skyforge.train.objectives.base`); the job's
:class:`SFTObjective` packs them and adds the text.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skyforge.config import ModelConfig, ParallelConfig, TrainConfig
from skyforge.tokenize.tokenizer import load_tokenizer
from skyforge.train.chat import (
    ChatDataError,
    ChatFormat,
    Encoded,
    ReadReport,
    check_conversation,
    read_jsonl_rows,
)
from skyforge.train.objectives.base import TrainingData, read_prepared, write_prepared
from skyforge.train.objectives.pretrain import PretrainObjective, build_text_datasets
from skyforge.train.spec import StageSpec, TrainingOptions, build_align_spec

__all__ = [
    "PackedConversations",
    "SFTDataset",
    "SFTObjective",
    "encode_conversations",
    "pack_conversations",
    "prepare",
    "read_sft_file",
]

log = logging.getLogger(__name__)


def read_sft_file(path: str | Path) -> ReadReport:
    """The checked conversations of an SFT JSONL file (rows with a ``messages`` list)."""

    def check(row: dict[str, Any]) -> dict[str, Any]:
        if "messages" not in row:
            raise ChatDataError("no 'messages' field")
        return {**row, "messages": check_conversation(row["messages"])}

    return read_jsonl_rows(path, check, what="SFT")


def encode_conversations(report: ReadReport, fmt: ChatFormat, seq_length: int) -> list[Encoded]:
    """Encode the rows of a :class:`~skyforge.train.chat.ReadReport`; rows longer than the
    context are moved to its ``skipped`` list (one log line each, naming file and row).

    Raises:
        ValueError: no row is left (naming the file).
    """
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
    from megatron.core.datasets.gpt_dataset import (  # deferred: heavy import
        _get_ltor_masks_and_position_ids,
    )

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


def _pad(tokenizer: Any) -> int:
    return tokenizer.pad if tokenizer.pad is not None else tokenizer.eod


def prepare(
    name: str,
    *,
    model: ModelConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    options: TrainingOptions,
    accelerator: str,
    section: dict[str, Any],
    files: dict[str, Path],
    blend: Path,
    tokenizer: Path,
    manifest: Path,
    init_manifest: Path,
    load_optimizer: bool,
) -> StageSpec:
    """Read and encode the SFT files once, size the run from them and store the encodings.

    Args:
        name: the target (``sft``, ``sft_fresh_optimizer``); also the run directory.
        files: ``train`` and ``heldout`` conversation files.
        The others: as :func:`skyforge.train.spec.build_align_spec` takes them.

    Returns:
        The spec (``task.stats``: the counts, skipped rows by split); the encodings lie at
        :func:`skyforge.train.objectives.base.prepared_path` for the job.
    """
    tok = load_tokenizer(tokenizer)
    fmt = ChatFormat(tok)
    reports = {split: read_sft_file(files[split]) for split in ("train", "heldout")}
    encoded = {s: encode_conversations(r, fmt, model.seq_length) for s, r in reports.items()}
    # Sized exactly as the job builds it (without the text, which only fills the slots).
    ds = SFTDataset(
        encoded["train"],
        seq_length=model.seq_length,
        eod=tok.eod,
        pad=_pad(tok),
        epochs=section["epochs"],
        seed=options.seed,
        pretrain_ratio=section["pretrain_ratio"],
    )
    stats = {**ds.stats(), "skipped": {s: r.summary() for s, r in reports.items() if r.skipped}}
    opt = "pretraining optimizer state" if load_optimizer else "fresh optimizer"
    spec = build_align_spec(
        name,
        "sft",
        description=f"SFT ({section.get('epochs', 1)} epoch(s), {opt})",
        model=model,
        parallel=parallel,
        train=train,
        options=options,
        accelerator=accelerator,
        section=section,
        data_files=files,
        num_train_samples=len(ds),
        blend=blend,
        tokenizer=tokenizer,
        manifest=manifest,
        init_manifest=init_manifest,
        load_optimizer=load_optimizer,
        stats=stats,
    )
    write_prepared(spec, encoded, meta={"reports": {s: r.summary() for s, r in reports.items()}})
    return spec


class SFTObjective(PretrainObjective):
    """Language modelling on packed conversations plus the blend's text (see the module
    docstring); validated on the held-out conversations (whole) and the blend's domains."""

    def build_data(
        self, tokenizer: Any, *, rank: int, cache: Path, dense_mask: bool
    ) -> TrainingData:
        spec, section = self.spec, self.spec.task["section"]
        prepared = read_prepared(spec)
        seq, eod, pad = spec.model["seq_length"], tokenizer.eod, _pad(tokenizer)
        # As many text samples as the conversations call for (counted by prepare).
        num_text = max(1, int(spec.task["stats"].get("pretrain_samples", 0)))
        text, valid = build_text_datasets(
            spec, tokenizer, num_text, rank=rank, cache=cache, dense_mask=dense_mask
        )
        train = SFTDataset(
            prepared.encoded["train"],
            seq_length=seq,
            eod=eod,
            pad=pad,
            epochs=section["epochs"],
            seed=spec.seed,
            pretrain=text,
            pretrain_ratio=section["pretrain_ratio"],
            create_attention_mask=dense_mask,
        )
        if len(train) != spec.num_train_samples:
            raise RuntimeError(
                f"{spec.stage}: {len(train)} training samples, the spec was sized for "
                f"{spec.num_train_samples} (the data changed since the spec was written)"
            )
        heldout = SFTDataset(
            prepared.encoded["heldout"],
            seq_length=seq,
            eod=eod,
            pad=pad,
            create_attention_mask=dense_mask,
        )
        reports = prepared.meta["reports"]
        return TrainingData(
            train,
            {"sft_heldout": heldout, **valid},
            full_eval=frozenset({"sft_heldout"}),
            stats={
                "train": {**train.stats(), **reports["train"]},
                "heldout": {**heldout.stats(), **reports["heldout"]},
            },
        )
