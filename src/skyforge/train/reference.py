"""The DPO reference job: the frozen SFT model's log-probs of every preference pair, once.

DPO compares the trained model with the frozen SFT model on each pair. Scoring the reference
inside the DPO job would hold two models in memory; as TRL's ``precompute_ref_log_probs`` does,
this job scores every pair once (the rule ``dpo_reference_logprobs``) and writes a table
(split, row, pair id, ``ref_chosen``, ``ref_rejected``) that the ``dpo`` step reads
(:func:`skyforge.train.objectives.dpo.read_reference`). It encodes the pairs and sums the
response log-probs with the same functions as DPO's forward step
(:func:`~skyforge.train.objectives.dpo.sequence_logps`), so at DPO's first step policy =
reference and every reward is 0 up to float rounding.

The model is loaded whole (TP = PP = 1, resharded from any training layout by
``dist_checkpointing``); the ranks split the pairs and rank 0 gathers and writes the table.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from megatron.core import parallel_state as ps

from skyforge.core.io import atomic_path
from skyforge.model.gpt import build_model
from skyforge.train import checkpoint as ckpt
from skyforge.train.distributed import initialize_distributed
from skyforge.train.objectives.dpo import (
    PreferenceDataset,
    ReferenceSpec,
    load_pairs,
    sequence_logps,
)
from skyforge.train.spec import StageSpec, load_manifest

__all__ = ["compute_reference_logprobs", "reference_logprobs_job"]

log = logging.getLogger(__name__)


def compute_reference_logprobs(
    model: Any,
    dataset: PreferenceDataset,
    indices: list[int],
    micro_batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """``[len(indices), 2]`` summed log-probs of (chosen, rejected) under ``model`` (frozen)."""
    out = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(indices), micro_batch_size):
            items = [dataset[i] for i in indices[start : start + micro_batch_size]]
            tokens = torch.stack([it["tokens"] for it in items]).to(device)
            m, _, s = tokens.shape
            labels = torch.stack([it["labels"] for it in items]).to(device).view(2 * m, s)
            mask = torch.stack([it["loss_mask"] for it in items]).to(device).view(2 * m, s)
            positions = torch.stack([it["position_ids"] for it in items]).to(device)
            losses = model(
                tokens.view(2 * m, s),
                positions.view(2 * m, s),
                items[0]["attention_mask"].unsqueeze(0).to(device),
                labels=labels,
            )
            out.append(sequence_logps(losses, mask).view(m, 2).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 2))


def reference_logprobs_job(spec_path: str | os.PathLike) -> dict[str, Any] | None:
    """Every rank: load the SFT model whole, score its share of the pairs, gather on rank 0,
    which writes the table atomically.

    Returns:
        On global rank 0, a summary (pairs per split); None elsewhere.
    """
    spec = ReferenceSpec.load(spec_path)
    os.chdir(spec.workdir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(msg)s")
    sft = load_manifest(spec.sft_manifest)
    stage = StageSpec.from_manifest(sft)
    device = initialize_distributed(1, 1, stage.seed)
    try:
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        model = build_model(stage.model_config(), params_dtype=torch.float32).to(device)
        ckpt.load_checkpoint(sft["checkpoint"], model, None, load_optimizer=False)
        rows = []
        for split, path in sorted(spec.files.items()):
            report, pairs, pad = load_pairs(path, spec.tokenizer, spec.seq_length)
            ds = PreferenceDataset(pairs, seq_length=spec.seq_length, pad=pad, seed=None)
            mine = list(range(rank, len(pairs), world))
            logps = compute_reference_logprobs(model, ds, mine, spec.micro_batch_size, device)
            gathered: list[Any] = [None] * world
            torch.distributed.all_gather_object(gathered, (mine, logps))
            if rank == 0:
                full = np.zeros((len(pairs), 2))
                for idx, lp in gathered:
                    full[idx] = lp
                for k, row in enumerate(report.rows):
                    rows.append(
                        {
                            "split": split,
                            "row": row["_row"],
                            "id": str(row.get("id", k)),
                            "ref_chosen": full[k, 0],
                            "ref_rejected": full[k, 1],
                        }
                    )
                log.info(
                    "reference log-probs %s: %d pairs (%d skipped), mean chosen %.3f, "
                    "rejected %.3f",
                    split,
                    len(pairs),
                    len(report.skipped),
                    full[:, 0].mean(),
                    full[:, 1].mean(),
                )
    finally:
        ps.destroy_model_parallel()
        torch.distributed.destroy_process_group()
    if rank != 0:
        return None
    table = pd.DataFrame(rows)
    with atomic_path(Path(spec.output)) as tmp:
        table.to_parquet(tmp, index=False)
    return {split: {"pairs": int((table["split"] == split).sum())} for split in sorted(spec.files)}
