"""Pretraining: next-token prediction on the packed text of a blend, validated per domain.

The train dataset is megatron-core's ``BlendedDataset`` of the stage's blend (built by
:func:`skyforge.tokenize.dataset.build_datasets`), the held-out sets its per-domain validation
splits. The forward step runs the GPT model with the labels, so megatron returns the per-token
cross entropy; the loss function masks it per token and reports the sum and the token count, so
that a logged loss is the exact token average over a whole step (every micro-batch and every
data-parallel rank), while the gradient follows megatron's default (the micro-batch mean).

SFT (:mod:`skyforge.train.objectives.sft`) reuses all of it: its samples are language
modelling too, with a loss mask on the responses, and it mixes in this text.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch

from skyforge.tokenize.dataset import build_datasets
from skyforge.train.objectives.base import TrainingData
from skyforge.train.spec import StageSpec

__all__ = ["PretrainObjective", "build_text_datasets", "forward_step"]


def _loss_func(loss_mask: torch.Tensor, output: torch.Tensor) -> tuple[torch.Tensor, dict]:
    losses = output.float().view(-1)
    mask = loss_mask.float().view(-1)
    total = torch.sum(losses * mask)
    count = mask.sum()
    # Mean over the micro-batch's tokens drives the gradient (Megatron's default); the sum and
    # count are reported so that logged losses are exact token averages over the step.
    return total / count.clamp(min=1.0), {"lm": torch.stack([total.detach(), count])}


def forward_step(data_iterator: Any, model: Any, *, backend: str = "local") -> tuple:
    """One micro-batch through the model; megatron's schedule calls it (and the loss func)."""
    from skyforge.model.attention import model_forward  # deferred: heavy import (megatron)

    batch = next(data_iterator)
    output = model_forward(
        model,
        backend,
        batch["tokens"],
        batch["position_ids"],
        batch.get("attention_mask"),
        labels=batch["labels"],
    )
    return output, partial(_loss_func, batch["loss_mask"])


def build_text_datasets(
    spec: StageSpec, tokenizer: Any, num_samples: int, *, rank: int, cache: Path, dense_mask: bool
) -> tuple[Any, dict[str, Any]]:
    """The blend's train dataset of ``num_samples`` samples and its held-out domains.

    Rank 0 builds megatron's sample indices into ``cache`` first; the others then read them.
    """
    for turn in (True, False):
        if (rank == 0) == turn:
            train, valid = build_datasets(
                Path(spec.blend),
                tokenizer,
                spec.model["seq_length"],
                seed=spec.seed,
                num_samples={"train": num_samples},
                eod_mask_loss=spec.eod_mask_loss,
                path_to_cache=cache,
                # 16 M entries per 4,096-token sample: only the local backend reads it.
                create_attention_mask=dense_mask,
            )
        if turn:
            torch.distributed.barrier()
    return train, valid


class PretrainObjective:
    """Language modelling on the blend (see the module docstring)."""

    rows_per_sample = 1
    sums = ("lm", 2)
    batch_keys: tuple[str, ...] = ()

    def __init__(self, spec: StageSpec, backend: str) -> None:
        self.spec = spec
        self.forward_step = partial(forward_step, backend=backend)

    def build_data(
        self, tokenizer: Any, *, rank: int, cache: Path, dense_mask: bool
    ) -> TrainingData:
        train, valid = build_text_datasets(
            self.spec,
            tokenizer,
            self.spec.num_train_samples,
            rank=rank,
            cache=cache,
            dense_mask=dense_mask,
        )
        return TrainingData(train, valid)

    def summarize(self, sums: torch.Tensor, name: str) -> dict[str, float]:
        """``{name: token-averaged loss}``."""
        return {name: float(sums[0] / sums[1]) if sums[1] > 0 else float("nan")}

    def log_detail(self, row: dict[str, float]) -> str:
        return ""
