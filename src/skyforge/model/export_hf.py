"""Export the megatron-core decoder as a ``transformers`` LlamaForCausalLM folder.

The model of :mod:`skyforge.model.gpt` is a Llama in all but parameter names and two fused
tensors, so the export is a renaming plus two splits. The layouts below were read in
megatron-core 0.16.1 and are checked by ``tests/unit/model/test_export_hf.py``, which compares
the logits of both models on the same tokens:

* ``linear_qkv.weight`` is grouped per query group (``Attention.get_query_key_value_tensors``
  views it as ``[ng, (np/ng + 2) * hd]``): each group holds its np/ng query heads, then one key
  head, then one value head.
* ``linear_fc1.weight`` is ``[gate; up]``: megatron's ``glu`` chunks the output in two and applies
  the activation to the first half.
* The local layer spec keeps the norms as separate modules: ``input_layernorm`` before attention,
  ``pre_mlp_layernorm`` before the MLP (HF's ``post_attention_layernorm``).
* RoPE is non-interleaved (``rotate_half`` on two halves, as in HF Llama), so q and k need no
  permutation; the base is the model's ``rotary_base``.
* Norm-Head normalises the LM-head rows in every forward; exporting the normalised rows lets a
  plain Llama reproduce its logits.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from megatron.core.models.gpt import GPTModel

from skyforge.config import ModelConfig
from skyforge.model.checkpoint_reader import CheckpointReader, Slice
from skyforge.model.safetensors_stream import (
    DEFAULT_SHARD_BYTES,
    PlannedTensor,
    plan_shards,
    write_shards,
)

__all__ = [
    "HFTensor",
    "export_checkpoint",
    "export_hf",
    "hf_tensors",
    "llama_config",
    "llama_state_dict",
]

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
)
"""Tokenizer files copied from ``tokenizer_dir`` when present (any subset)."""


def _split_qkv(qkv: torch.Tensor, cfg: ModelConfig) -> tuple[torch.Tensor, ...]:
    """Split megatron's per-group fused QKV weight into HF's q, k and v projections."""
    head_dim, groups = cfg.head_dim, cfg.kv_groups
    q_per_group = cfg.num_attention_heads // groups
    grouped = qkv.view(groups, (q_per_group + 2) * head_dim, cfg.hidden_size)
    q, k, v = torch.split(grouped, [q_per_group * head_dim, head_dim, head_dim], dim=1)
    return tuple(t.reshape(-1, cfg.hidden_size) for t in (q, k, v))


@dataclass(frozen=True)
class HFTensor:
    """One tensor of the HF folder: its name and shape, and where it comes from (the megatron
    module parameter and the piece of it: ``q``/``k``/``v`` of the fused QKV, ``gate``/``up`` of
    fc1, ``unit_rows`` for Norm-Head, or ``whole``)."""

    name: str
    shape: tuple[int, ...]
    source: str
    piece: str = "whole"


def hf_tensors(cfg: ModelConfig) -> list[HFTensor]:
    """Every tensor of the LlamaForCausalLM folder in writing order (the pieces of one megatron
    tensor next to each other, so a streaming writer reads each source once)."""
    h, f, v = cfg.hidden_size, cfg.ffn_hidden_size, cfg.vocab_size
    kv, q = cfg.kv_groups * cfg.head_dim, cfg.num_attention_heads * cfg.head_dim
    out = [HFTensor("model.embed_tokens.weight", (v, h), "embedding.word_embeddings.weight")]
    for i in range(cfg.num_layers):
        m, p = f"decoder.layers.{i}.", f"model.layers.{i}."
        qkv, fc1 = m + "self_attention.linear_qkv.weight", m + "mlp.linear_fc1.weight"
        proj = m + "self_attention.linear_proj.weight"
        out += [
            HFTensor(p + "input_layernorm.weight", (h,), m + "input_layernorm.weight"),
            HFTensor(p + "self_attn.q_proj.weight", (q, h), qkv, "q"),
            HFTensor(p + "self_attn.k_proj.weight", (kv, h), qkv, "k"),
            HFTensor(p + "self_attn.v_proj.weight", (kv, h), qkv, "v"),
            HFTensor(p + "self_attn.o_proj.weight", (h, h), proj),
            HFTensor(p + "post_attention_layernorm.weight", (h,), m + "pre_mlp_layernorm.weight"),
            HFTensor(p + "mlp.gate_proj.weight", (f, h), fc1, "gate"),
            HFTensor(p + "mlp.up_proj.weight", (f, h), fc1, "up"),
            HFTensor(p + "mlp.down_proj.weight", (h, f), m + "mlp.linear_fc2.weight"),
        ]
    head_piece = "unit_rows" if cfg.norm_head else "whole"
    out += [
        HFTensor("model.norm.weight", (h,), "decoder.final_layernorm.weight"),
        HFTensor("lm_head.weight", (v, h), "output_layer.weight", head_piece),
    ]
    return out


def hf_piece(t: HFTensor, source: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """The HF tensor ``t`` cut from its megatron source tensor."""
    if t.piece in ("q", "k", "v"):
        return _split_qkv(source, cfg)["qkv".index(t.piece)]
    if t.piece in ("gate", "up"):
        return torch.chunk(source, 2, dim=0)[("gate", "up").index(t.piece)]
    if t.piece == "unit_rows":
        return F.normalize(source, dim=1)
    return source


def llama_state_dict(model: GPTModel, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """The model's weights under LlamaForCausalLM's parameter names.

    Args:
        model: The whole, unwrapped model (TP = PP = 1).
        cfg: Its dimensions; ``cfg.norm_head`` exports unit-norm LM-head rows.

    Returns:
        HF name → tensor (detached, on CPU, in the model's dtype).
    """
    src = {k: v.detach().cpu() for k, v in model.state_dict().items() if "_extra_state" not in k}
    return {t.name: hf_piece(t, src[t.source], cfg).contiguous() for t in hf_tensors(cfg)}


def llama_config(cfg: ModelConfig, *, rotary_base: float, norm_eps: float, dtype: torch.dtype):
    """The ``transformers`` LlamaConfig of the exported model."""
    # deferred: heavy import (transformers), only for this path
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.ffn_hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.kv_groups,
        head_dim=cfg.head_dim,
        max_position_embeddings=cfg.seq_length,
        rms_norm_eps=norm_eps,
        # transformers 5 reads the RoPE base from rope_parameters (no top-level rope_theta).
        rope_parameters={"rope_type": "default", "rope_theta": float(rotary_base)},
        hidden_act="silu",
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        dtype=dtype,
        # What save_pretrained of the model writes and loaders check (lm-eval, AutoModel).
        architectures=["LlamaForCausalLM"],
    )


def _add_chat_template(path: Path, template: str) -> None:
    """Write a chat template into a copied ``tokenizer_config.json``, so ``apply_chat_template``
    gives the training format's token ids."""
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    config["chat_template"] = template
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_supported(model: GPTModel) -> None:
    """Refuse models whose layout the export does not translate (internal invariants)."""
    assert model.pre_process and model.post_process, "export needs the whole model (PP = 1)"
    assert model.config.tensor_model_parallel_size == 1, "export needs TP = 1"
    assert model.position_embedding_type == "rope" and not model.config.rotary_interleaved
    assert not model.share_embeddings_and_output_weights


def _tokenizer_files(tokenizer_dir: Path | None) -> list[Path]:
    if tokenizer_dir is None:
        return []
    files = [Path(tokenizer_dir) / n for n in TOKENIZER_FILES]
    files = [p for p in files if p.is_file()]
    if not files:
        raise ValueError(f"tokenizer_dir {tokenizer_dir}: none of {TOKENIZER_FILES} found")
    return files


def _write_folder(
    out_dir: Path,
    cfg: ModelConfig,
    source: Callable[[str], torch.Tensor],
    *,
    rotary_base: float,
    norm_eps: float,
    tokenizer_dir: Path | None,
    dtype: torch.dtype,
    chat_template: str | None,
    max_shard_bytes: int,
    verify: Callable[[Path], None] | None,
) -> Path:
    """Write the folder into a temporary sibling, tensor by tensor, verify it, rename it."""
    # deferred: heavy import (transformers), only for this path
    from transformers import GenerationConfig

    out_dir = Path(out_dir)
    tokenizer_files = _tokenizer_files(tokenizer_dir)
    config = llama_config(cfg, rotary_base=rotary_base, norm_eps=norm_eps, dtype=dtype)
    planned = {t.name: t for t in hf_tensors(cfg)}
    shards = plan_shards(
        [PlannedTensor(t.name, t.shape, dtype) for t in planned.values()], max_shard_bytes
    )
    cache: dict[str, torch.Tensor] = {}  # the last megatron tensor read (its pieces are adjacent)

    def produce(p: PlannedTensor) -> torch.Tensor:
        t = planned[p.name]
        if t.source not in cache:
            cache.clear()  # drop the previous source before reading the next one
            cache[t.source] = source(t.source)
        return hf_piece(t, cache[t.source], cfg).to(dtype)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        config.save_pretrained(tmp)
        GenerationConfig.from_model_config(config).save_pretrained(tmp)
        write_shards(tmp, shards, produce)
        cache.clear()
        for path in tokenizer_files:
            shutil.copy2(path, tmp / path.name)
        if chat_template is not None:
            _add_chat_template(tmp / "tokenizer_config.json", chat_template)
        if verify is not None:
            verify(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def export_hf(
    model: GPTModel,
    cfg: ModelConfig,
    out_dir: Path,
    *,
    tokenizer_dir: Path | None = None,
    dtype: torch.dtype = torch.float32,
    chat_template: str | None = None,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> Path:
    """Write an in-memory model as a LlamaForCausalLM folder (config.json, safetensors,
    tokenizer). :func:`export_checkpoint` does the same from a checkpoint without the model.

    The folder is built in a temporary sibling directory and renamed into place, so ``out_dir``
    either does not exist or is complete; an existing ``out_dir`` is replaced.

    Args:
        model: The whole, unwrapped megatron model (TP = PP = 1).
        cfg: Its dimensions.
        out_dir: The folder to create.
        tokenizer_dir: A folder whose tokenizer files (:data:`TOKENIZER_FILES`) are copied.
        dtype: Dtype of the saved weights.
        chat_template: Jinja chat template written into the copied ``tokenizer_config.json``.
        max_shard_bytes: Largest safetensors file (more files and an index beyond it).

    Returns:
        ``out_dir``.

    Raises:
        ValueError: If ``tokenizer_dir`` holds none of the tokenizer files.
    """
    _check_supported(model)
    state = {
        k: v.detach().cpu()
        for k, v in model.state_dict().items()
        if isinstance(v, torch.Tensor) and "_extra_state" not in k
    }
    return _write_folder(
        Path(out_dir),
        cfg,
        state.__getitem__,
        rotary_base=float(model.rotary_base),
        norm_eps=model.config.layernorm_epsilon,
        tokenizer_dir=tokenizer_dir,
        dtype=dtype,
        chat_template=chat_template,
        max_shard_bytes=max_shard_bytes,
        verify=None,
    )


def export_checkpoint(
    reader: CheckpointReader,
    layout: dict[str, Slice],
    cfg: ModelConfig,
    out_dir: Path,
    *,
    rotary_base: float,
    norm_eps: float,
    tokenizer_dir: Path | None = None,
    dtype: torch.dtype = torch.float32,
    chat_template: str | None = None,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    verify: Callable[[Path], None] | None = None,
) -> Path:
    """Stream a checkpoint into a LlamaForCausalLM folder, one megatron tensor at a time.

    Peak host memory beyond the process: the largest megatron tensor twice (read, then its
    converted piece), never the model (:func:`skyforge.plan.inference.export_host_peak_bytes`).

    Args:
        reader: The checkpoint.
        layout: Module parameter name → where it is stored (:func:`module_layout` of the model's
            sharded state dict).
        cfg, out_dir, tokenizer_dir, dtype, chat_template, max_shard_bytes: as in
            :func:`export_hf`.
        rotary_base, norm_eps: The model's RoPE base and RMSNorm epsilon.
        verify: Called with the finished temporary folder before it is renamed into place; an
            exception there leaves no folder behind.
    """
    return _write_folder(
        Path(out_dir),
        cfg,
        lambda key: reader.read(layout[key]),
        rotary_base=rotary_base,
        norm_eps=norm_eps,
        tokenizer_dir=tokenizer_dir,
        dtype=dtype,
        chat_template=chat_template,
        max_shard_bytes=max_shard_bytes,
        verify=verify,
    )
