"""Export a trained stage (its manifest's final checkpoint) as a ``transformers`` Llama folder.

The checkpoint may come from any parallel layout: megatron-core ``dist_checkpointing`` reshards
the model's tensors on load, so the export builds the whole model in one process (TP = PP = 1,
gloo, CPU is enough) and loads the weights only. It then runs both models on the same held-out
tokens and refuses an export whose logits differ by more than ``max_abs_diff`` — a silent
layout mistake (QKV grouping, gate/up order) would otherwise ship a model that loads fine and
talks nonsense.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from skyforge.core.io import atomic_write_text, workdir_relative
from skyforge.tokenize.dataset import read_blend
from skyforge.train import checkpoint as ckpt
from skyforge.train.chat import CHAT_TEMPLATE
from skyforge.train.spec import StageSpec, load_manifest

__all__ = ["export_stage", "MAX_ABS_DIFF"]

MAX_ABS_DIFF = 1e-3
"""Largest logit difference accepted in fp32 (measured: ~2e-6)."""


def _check_tokens(spec: Any, seq_length: int, device: torch.device) -> torch.Tensor:
    """The first ``seq_length`` tokens of the first held-out pack (random ids if none)."""
    from megatron.core.datasets.indexed_dataset import IndexedDataset  # deferred: heavy import

    blend = read_blend(Path(spec.blend))
    ids: list[int] = []
    for prefix in blend["validation"].values():
        prefix = str(Path(spec.workdir) / prefix)  # blend paths are relative to the run's cwd
        if not Path(prefix + ".bin").is_file() or Path(prefix + ".bin").stat().st_size == 0:
            continue
        ds = IndexedDataset(prefix)
        for i in range(len(ds)):
            ids.extend(int(t) for t in ds[i])
            if len(ids) >= seq_length:
                break
        break
    if len(ids) < seq_length:
        g = torch.Generator().manual_seed(0)
        return torch.randint(0, spec.model["vocab_size"], (1, seq_length), generator=g).to(device)
    return torch.tensor([ids[:seq_length]], dtype=torch.long, device=device)


def export_stage(manifest: str | Path, tokenizer_dir: str | Path, out_dir: str | Path) -> dict:
    """Write ``out_dir`` (LlamaForCausalLM: config, safetensors, tokenizer) from a manifest.

    Returns:
        A report: stage, checkpoint, step, tokens, max |Δlogit| between megatron and HF.

    Raises:
        ValueError: a missing manifest or checkpoint, naming it.
        RuntimeError: the exported model's logits differ from megatron's.
    """
    # deferred: heavy imports (megatron-core, transformers) the step's process needs only here
    from megatron.core import parallel_state as ps
    from transformers import LlamaForCausalLM

    from skyforge.model.export_hf import export_hf
    from skyforge.model.gpt import build_model
    from skyforge.train.distributed import initialize_distributed

    manifest = Path(manifest)
    if not manifest.is_file():
        raise ValueError(f"manifest '{manifest}': not found")
    # Paths in a manifest are relative to the run's working directory, found from where the
    # manifest lies now (a moved run still exports).
    m = load_manifest(manifest)
    spec = StageSpec.from_manifest(m)
    cfg = spec.model_config()
    device = initialize_distributed(1, 1, spec.seed)
    try:
        model = build_model(cfg, params_dtype=torch.float32).to(device)
        ckpt.load_checkpoint(m["checkpoint"], model, None, load_optimizer=False)
        model.eval()
        out = export_hf(
            model,
            cfg,
            Path(out_dir),
            tokenizer_dir=Path(tokenizer_dir),
            chat_template=CHAT_TEMPLATE,
        )
        tokens = _check_tokens(spec, min(cfg.seq_length, 64), device)
        s = tokens.shape[1]
        causal = torch.triu(torch.ones(1, 1, s, s, dtype=torch.bool, device=device), diagonal=1)
        positions = torch.arange(s, device=device).unsqueeze(0)
        with torch.no_grad():
            ours = model(tokens, positions, causal).float()
            hf = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).to(device).eval()
            theirs = hf(tokens).logits.float()
        diff = float((ours - theirs).abs().max())
    finally:
        ps.destroy_model_parallel()
        torch.distributed.destroy_process_group()
    report = {
        "stage": m["stage"],
        "checkpoint": workdir_relative(m["checkpoint"], m["workdir"]),
        "iteration": m["iteration"],
        "tokens_seen": m["tokens_seen"],
        "hf_folder": str(out),
        "check_tokens": s,
        "max_abs_logit_diff": diff,
    }
    if not diff <= MAX_ABS_DIFF:
        shutil.rmtree(out, ignore_errors=True)  # no half-right artifact left behind
        raise RuntimeError(
            f"export of '{m['checkpoint']}': HF logits differ from megatron's by {diff:.3g} "
            f"(> {MAX_ABS_DIFF})"
        )
    atomic_write_text(Path(out) / "skyforge_export.json", json.dumps(report, indent=2) + "\n")
    return report
