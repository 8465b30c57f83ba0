"""Export a trained stage (its manifest's final checkpoint) as a ``transformers`` Llama folder.

The checkpoint may come from any parallel layout: it stores each tensor under its global shape
(megatron-core ``dist_checkpointing``), so one process (TP = PP = 1, gloo, CPU is enough) reads
the model tensor by tensor and never holds it whole: a 13 B model exports on a node with less
memory than the model. It then runs both models on the same held-out tokens, each weight loaded
only while its module runs, and refuses an export whose logits differ by more than
``MAX_ABS_DIFF`` — a silent layout mistake (QKV grouping, gate/up order) would otherwise ship a
model that loads fine and talks nonsense.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from skyforge.config import ModelConfig
from skyforge.core.io import atomic_write_text, workdir_relative
from skyforge.tokenize.dataset import read_blend
from skyforge.train.chat import CHAT_TEMPLATE
from skyforge.train.spec import StageSpec, load_manifest

__all__ = ["CHECK_TOKENS", "MAX_ABS_DIFF", "export_checkpoint_dir", "export_stage"]

MAX_ABS_DIFF = 1e-3
"""Largest logit difference accepted in fp32 (measured: ~2e-6)."""

CHECK_TOKENS = 64
"""Tokens of the logit check's prompt (fewer when the model's context is shorter)."""


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


def _hf_logits(folder: Path, tokens: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Logits of the written folder, run by transformers with each weight read from the
    safetensors files just before its module runs (never the whole model in memory)."""
    # deferred: heavy imports (transformers, safetensors), only for this path
    from safetensors import safe_open
    from transformers import AutoConfig, LlamaForCausalLM

    from skyforge.model.on_demand import weights_on_demand

    config = AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        hf = LlamaForCausalLM(config).eval()
    # RoPE frequencies are computed at construction, not loaded: rebuild them for real.
    hf.model.rotary_emb = type(hf.model.rotary_emb)(config=config).to(device)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        where = {k: folder / f for k, f in json.loads(index.read_text())["weight_map"].items()}
    else:
        with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
            where = dict.fromkeys(f.keys(), folder / "model.safetensors")

    def load(key: str) -> torch.Tensor:
        # Opened per tensor: a file kept open keeps every page read through its mmap resident,
        # which would add up to the whole model by the end of the forward.
        with safe_open(str(where[key]), framework="pt") as f:
            return f.get_tensor(key)

    with torch.no_grad(), weights_on_demand(hf, load, device):
        return hf(input_ids=tokens).logits.float()


def export_checkpoint_dir(
    checkpoint: str | Path,
    cfg: ModelConfig,
    out_dir: str | Path,
    *,
    tokenizer_dir: str | Path | None,
    check_tokens: torch.Tensor | None = None,
    seed: int = 0,
    max_shard_bytes: int | None = None,
    report: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Stream a checkpoint into ``out_dir`` (LlamaForCausalLM: config, safetensors, tokenizer,
    ``skyforge_export.json``) and check its logits against megatron's.

    The model is never built in memory: its megatron-core modules are built on the meta device,
    each tensor is read from the checkpoint alone, converted and appended to the safetensors
    files, and the logit check runs megatron and transformers with each weight loaded just
    before its module (:mod:`skyforge.model.on_demand`). Peak host memory is the process plus
    about three times the largest tensor (:func:`skyforge.plan.inference.export_host_peak_bytes`).

    Args:
        checkpoint: A ``dist_checkpointing`` directory of a model of shape ``cfg``.
        cfg: The model's shape.
        out_dir: The folder to write (replaced; complete or absent).
        tokenizer_dir: Its tokenizer files are copied (with the chat template).
        check_tokens: ``[1, s]`` token ids for the logit check (random ids when None).
        seed: Seed of megatron's parallel state.
        max_shard_bytes: Largest safetensors file (default: 5 GB, as the HF Hub shards).
        report: Fields written first into ``skyforge_export.json``.

    Returns:
        The report, with the folder, check tokens and max |Δlogit| between megatron and HF.

    Raises:
        ValueError: not a checkpoint, naming it.
        RuntimeError: the exported model's logits differ from megatron's.
    """
    # deferred: heavy imports (megatron-core, transformers) the step's process needs only here
    from megatron.core import parallel_state as ps

    from skyforge.model.checkpoint_reader import CheckpointReader, module_layout
    from skyforge.model.export_hf import export_checkpoint
    from skyforge.model.gpt import build_model_on_meta
    from skyforge.model.on_demand import weights_on_demand
    from skyforge.model.safetensors_stream import DEFAULT_SHARD_BYTES
    from skyforge.train.distributed import initialize_distributed

    reader = CheckpointReader(checkpoint)
    report = dict(report or {})
    device = initialize_distributed(1, 1, seed)
    try:
        model = build_model_on_meta(cfg).eval()
        layout = module_layout(model.sharded_state_dict())
        if check_tokens is None:
            g = torch.Generator().manual_seed(0)
            s = min(cfg.seq_length, CHECK_TOKENS)
            check_tokens = torch.randint(0, cfg.vocab_size, (1, s), generator=g)
        tokens = check_tokens.to(device)
        s = tokens.shape[1]
        causal = torch.triu(torch.ones(1, 1, s, s, dtype=torch.bool, device=device), diagonal=1)
        positions = torch.arange(s, device=device).unsqueeze(0)
        # Saved in the dtype the weights were trained in: fp32 from a CPU run (the default), bf16
        # from a GPU run (a 13 B model: 27.7 GB instead of 55 GB). Megatron keeps its norm
        # weights in fp32 either way; they are rounded to that dtype too, and megatron's side of
        # the check reads every weight rounded the same way, so that the check sees the layout
        # (a swapped or misplaced tensor), not the rounding (fp32 compute on both sides).
        dtype = reader.stored(layout["embedding.word_embeddings.weight"].key).properties.dtype
        report["dtype"] = str(dtype).removeprefix("torch.")

        def rounded(key: str) -> torch.Tensor:
            return reader.read(layout[key]).to(dtype)

        with torch.no_grad(), weights_on_demand(model, rounded, device):
            ours = model(tokens, positions, causal).float()

        def verify(folder: Path) -> None:
            theirs = _hf_logits(folder, tokens, device)
            diff = float((ours - theirs).abs().max())
            report.update(hf_folder=str(out_dir), check_tokens=s, max_abs_logit_diff=diff)
            if not diff <= MAX_ABS_DIFF:  # the temporary folder is removed: nothing half-right
                raise RuntimeError(
                    f"export of '{checkpoint}': HF logits differ from megatron's by "
                    f"{diff:.3g} (> {MAX_ABS_DIFF})"
                )
            atomic_write_text(folder / "skyforge_export.json", json.dumps(report, indent=2) + "\n")

        export_checkpoint(
            reader,
            layout,
            cfg,
            Path(out_dir),
            dtype=dtype,
            rotary_base=float(model.rotary_base),
            norm_eps=model.config.layernorm_epsilon,
            tokenizer_dir=None if tokenizer_dir is None else Path(tokenizer_dir),
            chat_template=CHAT_TEMPLATE,
            max_shard_bytes=max_shard_bytes or DEFAULT_SHARD_BYTES,
            verify=verify,
        )
    finally:
        ps.destroy_model_parallel()
        torch.distributed.destroy_process_group()
    return report


def export_stage(manifest: str | Path, tokenizer_dir: str | Path, out_dir: str | Path) -> dict:
    """Write ``out_dir`` (LlamaForCausalLM: config, safetensors, tokenizer) from a stage's
    manifest: its final checkpoint, streamed by :func:`export_checkpoint_dir`, checked on the
    first held-out tokens of its blend.

    Returns:
        A report: stage, checkpoint, step, tokens, max |Δlogit| between megatron and HF.

    Raises:
        ValueError: a missing manifest or checkpoint, naming it.
        RuntimeError: the exported model's logits differ from megatron's.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise ValueError(f"manifest '{manifest}': not found")
    # Paths in a manifest are relative to the run's working directory, found from where the
    # manifest lies now (a moved run still exports).
    m = load_manifest(manifest)
    spec = StageSpec.from_manifest(m)
    cfg = spec.model_config()
    report = {
        "stage": m["stage"],
        "checkpoint": workdir_relative(m["checkpoint"], m["workdir"]),
        "iteration": m["iteration"],
        "tokens_seen": m["tokens_seen"],
    }
    tokens = _check_tokens(spec, min(cfg.seq_length, CHECK_TOKENS), torch.device("cpu"))
    return export_checkpoint_dir(
        m["checkpoint"],
        cfg,
        out_dir,
        tokenizer_dir=tokenizer_dir,
        check_tokens=tokens,
        seed=spec.seed,
        report=report,
    )
