"""DPO: preference pairs and the sigmoid DPO loss (Index-1.9B: β = 1, lr 1e-6, one epoch).

The loss of Rafailov et al. (2023), as TRL's ``DPOTrainer`` (``loss_type="sigmoid"``)::

    h      = β · [(log π(y_c|x) − log π_ref(y_c|x)) − (log π(y_r|x) − log π_ref(y_r|x))]
    loss   = −log σ(h)

``log π(y|x)`` is the SUM of the response tokens' log-probs (the trained tokens of
:mod:`skyforge.train.chat`). Logged under TRL's names (:data:`DPO_METRICS`). The reference is
the frozen SFT model, scored once by its own job (:mod:`skyforge.train.reference`) with the same
:func:`sequence_logps`, so at the first step every reward is 0 up to rounding.

A sample is one pair: ``tokens``/``labels``/``loss_mask`` ``[2, s]`` (chosen, rejected),
right-padded, causal, with ``ref_logps`` ``[2]``; the forward step flattens ``m`` pairs to
``2m`` sequences. :func:`prepare` (the ``dpo`` step) reads and encodes the pairs and reads their
reference log-probs once; the job's :class:`DPOObjective` reads what it stored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

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
from skyforge.train.spec import StageSpec, TrainingOptions, build_align_spec

__all__ = [
    "DPO_METRICS",
    "DPOObjective",
    "PreferenceDataset",
    "ReferenceSpec",
    "dpo_forward_step",
    "dpo_loss",
    "encode_pairs",
    "load_pairs",
    "prepare",
    "read_preference_file",
    "read_reference",
    "sequence_logps",
    "summarize_dpo",
]

log = logging.getLogger(__name__)

DPO_METRICS = (
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
)
"""The logged metrics (TRL's names), in the order of the reduced sums after the pair count."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def _check_response(value: Any, side: str) -> list[dict[str, str]]:
    if isinstance(value, str):  # TRL also accepts a bare string for the response
        value = [{"role": "assistant", "content": value}]
    if not isinstance(value, list) or not value:
        raise ChatDataError(f"'{side}' is not a non-empty list of messages")
    for m in value:
        if not isinstance(m, dict) or m.get("role") != "assistant":
            role = m.get("role") if isinstance(m, dict) else None
            if role not in (None, "assistant", "user", "system"):
                raise ChatDataError(f"'{side}': unknown role {role!r}")
            raise ChatDataError(f"'{side}' must hold assistant messages only")
        if not isinstance(m.get("content"), str):
            raise ChatDataError(f"'{side}': content is not a string")
    return [{"role": "assistant", "content": m["content"]} for m in value]


def check_preference_row(row: dict[str, Any]) -> dict[str, Any]:
    """A preference row (``prompt``, ``chosen``, ``rejected``), checked; raises ChatDataError."""
    for key in ("prompt", "chosen", "rejected"):
        if key not in row:
            raise ChatDataError(f"no '{key}' field")
    prompt = row["prompt"]
    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    prompt = check_conversation(prompt, final_assistant=False)
    if prompt[-1]["role"] != "user":
        raise ChatDataError("the prompt does not end with a user turn")
    chosen = _check_response(row["chosen"], "chosen")
    rejected = _check_response(row["rejected"], "rejected")
    if chosen == rejected:
        raise ChatDataError("chosen == rejected (the pair teaches nothing)")
    return {**row, "prompt": prompt, "chosen": chosen, "rejected": rejected}


def read_preference_file(path: str | Path) -> ReadReport:
    """The checked rows of a preference JSONL file (see :mod:`skyforge.train.chat`)."""
    return read_jsonl_rows(path, check_preference_row, what="preference")


def encode_pairs(
    report: ReadReport, fmt: ChatFormat, seq_length: int
) -> list[tuple[Encoded, Encoded]]:
    """Encode each pair's two sides; a side longer than the context skips the row (logged,
    counted in the report).

    Raises:
        ValueError: no pair is left (naming the file).
    """
    pairs, kept = [], []
    for row in report.rows:
        c = fmt.encode(row["prompt"] + row["chosen"])
        r = fmt.encode(row["prompt"] + row["rejected"])
        longest = max(len(c.ids), len(r.ids))
        if longest > seq_length + 1:
            detail = f"a response of {longest} tokens is longer than the context ({seq_length})"
            log.warning(
                "preference file '%s', row %d: skipped: %s", report.path, row["_row"], detail
            )
            report.skipped.append({"row": row["_row"], "reason": "too_long", "detail": detail})
            continue
        pairs.append((c, r))
        kept.append(row)
    report.rows = kept
    if not pairs:
        raise ValueError(
            f"preference file '{report.path}': no usable row ({len(report.skipped)} skipped: "
            f"{report.skipped_by_reason})"
        )
    return pairs


def _side(enc: Encoded, seq_length: int, pad: int) -> tuple[np.ndarray, ...]:
    """Inputs, labels and loss mask (trained labels) of one right-padded sequence."""
    ids = np.full(seq_length + 1, pad, dtype=np.int64)
    tgt = np.zeros(seq_length + 1, dtype=bool)
    ids[: len(enc.ids)] = enc.ids
    tgt[: len(enc.target)] = enc.target
    return ids[:-1], ids[1:], tgt[1:].astype(np.float32)


class PreferenceDataset:
    """Preference pairs as batch rows (see the module docstring), in a seeded order per epoch.

    Args:
        pairs: (chosen, rejected) encodings.
        seq_length: the model's context.
        pad: the padding id (masked out of every log-prob).
        reference: ``[num_pairs, 2]`` reference log-probs, or None (the reference job itself).
        epochs: passes over the pairs, each in a fresh seeded order.
        seed: the shuffle seed; None keeps the file order (reference job, validation).
    """

    def __init__(
        self,
        pairs: list[tuple[Encoded, Encoded]],
        *,
        seq_length: int,
        pad: int,
        reference: np.ndarray | None = None,
        epochs: int = 1,
        seed: int | None = 1234,
    ) -> None:
        self.pairs = pairs
        self.seq_length = seq_length
        self.pad = pad
        if reference is not None and len(reference) != len(pairs):
            raise ValueError(f"{len(reference)} reference rows for {len(pairs)} pairs")
        self.reference = reference
        if seed is None:
            self.order = np.tile(np.arange(len(pairs)), epochs)
        else:
            rng = np.random.default_rng(seed)
            self.order = np.concatenate([rng.permutation(len(pairs)) for _ in range(epochs)])
        positions = torch.arange(seq_length)
        self._positions = torch.stack([positions, positions])
        self._causal = torch.triu(torch.ones(1, seq_length, seq_length, dtype=torch.bool), 1)

    def __len__(self) -> int:
        return len(self.order)

    def pair_index(self, i: int) -> int:
        return int(self.order[i % len(self.order)])

    def __getitem__(self, i: int) -> dict[str, Any]:
        k = self.pair_index(i)
        sides = [_side(enc, self.seq_length, self.pad) for enc in self.pairs[k]]
        item = {
            "tokens": torch.from_numpy(np.stack([s[0] for s in sides])),
            "labels": torch.from_numpy(np.stack([s[1] for s in sides])),
            "loss_mask": torch.from_numpy(np.stack([s[2] for s in sides])),
            "position_ids": self._positions,
            "attention_mask": self._causal,
            "pair_index": torch.tensor(k),
        }
        ref = self.reference[k] if self.reference is not None else np.zeros(2)
        item["ref_logps"] = torch.as_tensor(ref, dtype=torch.float64)
        return item


# ---------------------------------------------------------------------------------------------
# Loss
# ---------------------------------------------------------------------------------------------


def sequence_logps(token_losses: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Summed log-probs of the trained tokens of each sequence (float64).

    Args:
        token_losses: ``[n, s]`` per-token cross entropy (−log p of each label), as megatron's
            GPTModel returns it when given labels.
        loss_mask: ``[n, s]`` 1 on trained labels.
    """
    return -(token_losses.double() * loss_mask.double()).sum(dim=-1)


def dpo_loss(
    policy: torch.Tensor, reference: torch.Tensor, beta: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Sigmoid DPO loss and per-pair metrics.

    Args:
        policy: ``[m, 2]`` summed log-probs of (chosen, rejected) under the trained model.
        reference: ``[m, 2]`` the same under the frozen reference model.
        beta: the KL weight β.

    Returns:
        (per-pair loss ``[m]``, per-pair metrics named as :data:`DPO_METRICS`).
    """
    reference = reference.to(policy.dtype)
    rewards = beta * (policy - reference)  # [m, 2]
    logits = rewards[:, 0] - rewards[:, 1]
    losses = -F.logsigmoid(logits)
    metrics = {
        "loss": losses.detach(),
        "rewards/chosen": rewards[:, 0].detach(),
        "rewards/rejected": rewards[:, 1].detach(),
        "rewards/margins": logits.detach(),
        "rewards/accuracies": (rewards[:, 0] > rewards[:, 1]).to(policy.dtype).detach(),
        "logps/chosen": policy[:, 0].detach(),
        "logps/rejected": policy[:, 1].detach(),
    }
    return losses, metrics


def _dpo_loss_func(
    loss_mask: torch.Tensor, ref_logps: torch.Tensor, beta: float, output: torch.Tensor
) -> tuple[torch.Tensor, dict]:
    m = ref_logps.shape[0]
    policy = sequence_logps(output.view(2 * m, -1), loss_mask.view(2 * m, -1)).view(m, 2)
    losses, metrics = dpo_loss(policy, ref_logps, beta)
    sums = torch.stack(
        [torch.tensor(float(m), dtype=torch.float64, device=losses.device)]
        + [metrics[k].double().sum() for k in DPO_METRICS]
    )
    # Mean over the micro-batch's pairs drives the gradient (megatron divides by the number of
    # micro-batches and DDP averages over data-parallel ranks: the mean over the global batch).
    return losses.mean().float(), {"dpo": sums}


def dpo_forward_step(
    beta: float, data_iterator: Any, model: Any, *, backend: str = "local"
) -> tuple:
    """One micro-batch of pairs through the model (``2m`` sequences); megatron calls it."""
    from skyforge.model.attention import model_forward  # deferred: heavy import (megatron)

    batch = next(data_iterator)
    m, _, s = batch["tokens"].shape
    dense = batch.get("attention_mask")  # the shared causal mask (local backend only)
    output = model_forward(
        model,
        backend,
        batch["tokens"].view(2 * m, s),
        batch["position_ids"].view(2 * m, s),
        None if dense is None else dense[:1],
        labels=batch["labels"].view(2 * m, s),
    )
    return output, partial(_dpo_loss_func, batch["loss_mask"], batch["ref_logps"], beta)


def summarize_dpo(sums: torch.Tensor | np.ndarray) -> dict[str, float]:
    """Means of the reduced sums ``[n, Σ metric …]`` of :func:`_dpo_loss_func`."""
    n = float(sums[0])
    return {k: float(sums[i + 1]) / n if n else float("nan") for i, k in enumerate(DPO_METRICS)}


def read_reference(path: str | Path, split: str, num_pairs: int) -> np.ndarray:
    """``[num_pairs, 2]`` reference log-probs of one split, in file order.

    Raises:
        ValueError: the table does not match the pairs (naming the file).
    """
    table = pd.read_parquet(path)
    part = table[table["split"] == split]
    if len(part) != num_pairs:
        raise ValueError(
            f"reference log-probs '{path}': {len(part)} rows for split {split}, the data has "
            f"{num_pairs} pairs (recompute them: rule dpo_reference_logprobs)"
        )
    return part[["ref_chosen", "ref_rejected"]].to_numpy(dtype=np.float64)


def load_pairs(
    path: str | Path, tokenizer_path: str | Path, seq_length: int
) -> tuple[ReadReport, list[tuple[Encoded, Encoded]], int]:
    """Read, check and encode a preference file: (report, pairs, pad id)."""
    tok = load_tokenizer(tokenizer_path)
    report = read_preference_file(path)
    pairs = encode_pairs(report, ChatFormat(tok), seq_length)
    return report, pairs, tok.pad if tok.pad is not None else tok.eod


@dataclass(frozen=True)
class ReferenceSpec:
    """What the reference job (:mod:`skyforge.train.reference`) computes; written to JSON by
    the ``dpo-reference-logprobs`` step."""

    workdir: str
    sft_manifest: str
    tokenizer: str
    files: dict[str, str]
    """split (``train``, ``heldout``) → preference JSONL file."""
    output: str
    """The table (Parquet): split, row, pair id, ref_chosen, ref_rejected."""
    seq_length: int
    micro_batch_size: int = 4

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> ReferenceSpec:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


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
    reference: Path,
    blend: Path,
    tokenizer: Path,
    manifest: Path,
    init_manifest: Path,
) -> StageSpec:
    """Read and encode the pairs once, check the reference table against them, size the run
    and store the pairs with their reference log-probs for the job.

    Args:
        name: the target (``dpo``); also the run directory.
        files: ``train`` and ``heldout`` preference files.
        reference: the reference log-probs table (a stale one fails here, before any job).
        The others: as :func:`skyforge.train.spec.build_align_spec` takes them.

    Returns:
        The spec (``task.stats``: pairs and skipped rows by split).
    """
    counts, encoded, refs = {}, {}, {}
    for split in ("train", "heldout"):
        report, pairs, _ = load_pairs(files[split], tokenizer, model.seq_length)
        refs[split] = read_reference(reference, split, len(pairs))
        encoded[split] = [side for pair in pairs for side in pair]  # chosen, rejected, …
        counts[split] = {"pairs": len(pairs), **report.summary()}
    spec = build_align_spec(
        name,
        "dpo",
        description=f"DPO (beta {section['beta']}, {section.get('epochs', 1)} epoch)",
        model=model,
        parallel=parallel,
        train=train,
        options=options,
        accelerator=accelerator,
        section=section,
        data_files={**files, "reference": reference},
        num_train_samples=counts["train"]["pairs"] * section["epochs"],
        blend=blend,
        tokenizer=tokenizer,
        manifest=manifest,
        init_manifest=init_manifest,
        load_optimizer=False,
        stats=counts,
    )
    write_prepared(spec, encoded, arrays=refs, meta={"counts": counts})
    return spec


class DPOObjective:
    """The sigmoid DPO loss on preference pairs (see the module docstring); validated on the
    held-out pairs, whole."""

    rows_per_sample = 2
    sums = ("dpo", 1 + len(DPO_METRICS))
    batch_keys = ("ref_logps",)

    def __init__(self, spec: StageSpec, backend: str) -> None:
        self.spec = spec
        beta = float(spec.task["section"]["beta"])
        self.forward_step = partial(dpo_forward_step, beta, backend=backend)

    def build_data(
        self, tokenizer: Any, *, rank: int, cache: Path, dense_mask: bool
    ) -> TrainingData:
        spec = self.spec
        prepared = read_prepared(spec)
        pad = tokenizer.pad if tokenizer.pad is not None else tokenizer.eod
        datasets = {}
        for split in ("train", "heldout"):
            sides = prepared.encoded[split]
            datasets[split] = PreferenceDataset(
                list(zip(sides[::2], sides[1::2], strict=True)),
                seq_length=spec.model["seq_length"],
                pad=pad,
                reference=prepared.arrays[split],
                epochs=spec.task["section"]["epochs"] if split == "train" else 1,
                seed=spec.seed if split == "train" else None,
            )
        return TrainingData(
            datasets["train"],
            {"heldout": datasets["heldout"]},
            full_eval=frozenset({"heldout"}),
            stats=prepared.meta["counts"],
        )

    def summarize(self, sums: torch.Tensor, name: str) -> dict[str, float]:
        """``{name/metric: mean}`` for each of :data:`DPO_METRICS`."""
        return {f"{name}/{k}": v for k, v in summarize_dpo(sums).items()}

    def log_detail(self, row: dict[str, float]) -> str:
        margin, accuracy = row["train/rewards/margins"], row["train/rewards/accuracies"]
        return f" | margin {margin:.3f} | accuracy {accuracy:.2f}"
