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
from pathlib import Path

import torch
import torch.nn.functional as F
from megatron.core.models.gpt import GPTModel

from skyforge.config import ModelConfig

__all__ = ["export_hf", "llama_state_dict"]

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


def llama_state_dict(model: GPTModel, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """The model's weights under LlamaForCausalLM's parameter names.

    Args:
        model: The whole, unwrapped model (TP = PP = 1).
        cfg: Its dimensions; ``cfg.norm_head`` exports unit-norm LM-head rows.

    Returns:
        HF name → tensor (detached, on CPU, in the model's dtype).
    """
    src = {k: v.detach().cpu() for k, v in model.state_dict().items() if "_extra_state" not in k}
    out = {
        "model.embed_tokens.weight": src["embedding.word_embeddings.weight"],
        "model.norm.weight": src["decoder.final_layernorm.weight"],
    }
    head = src["output_layer.weight"]
    out["lm_head.weight"] = F.normalize(head, dim=1) if cfg.norm_head else head
    for i in range(cfg.num_layers):
        m, h = f"decoder.layers.{i}.", f"model.layers.{i}."
        q, k, v = _split_qkv(src[m + "self_attention.linear_qkv.weight"], cfg)
        gate, up = torch.chunk(src[m + "mlp.linear_fc1.weight"], 2, dim=0)
        out |= {
            h + "input_layernorm.weight": src[m + "input_layernorm.weight"],
            h + "self_attn.q_proj.weight": q,
            h + "self_attn.k_proj.weight": k,
            h + "self_attn.v_proj.weight": v,
            h + "self_attn.o_proj.weight": src[m + "self_attention.linear_proj.weight"],
            h + "post_attention_layernorm.weight": src[m + "pre_mlp_layernorm.weight"],
            h + "mlp.gate_proj.weight": gate,
            h + "mlp.up_proj.weight": up,
            h + "mlp.down_proj.weight": src[m + "mlp.linear_fc2.weight"],
        }
    return {k: v.contiguous() for k, v in out.items()}


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


def export_hf(
    model: GPTModel,
    cfg: ModelConfig,
    out_dir: Path,
    *,
    tokenizer_dir: Path | None = None,
    dtype: torch.dtype = torch.float32,
    chat_template: str | None = None,
) -> Path:
    """Write the model as a LlamaForCausalLM folder (config.json, model.safetensors, tokenizer).

    The folder is built in a temporary sibling directory and renamed into place, so ``out_dir``
    either does not exist or is complete; an existing ``out_dir`` is replaced.

    Args:
        model: The whole, unwrapped megatron model (TP = PP = 1).
        cfg: Its dimensions.
        out_dir: The folder to create.
        tokenizer_dir: A folder whose tokenizer files (:data:`TOKENIZER_FILES`) are copied.
        dtype: Dtype of the saved weights.
        chat_template: Jinja chat template written into the copied ``tokenizer_config.json``.

    Returns:
        ``out_dir``.

    Raises:
        ValueError: If ``tokenizer_dir`` holds none of the tokenizer files.
    """
    # deferred: heavy import (transformers), only for this path
    from transformers import LlamaConfig, LlamaForCausalLM

    _check_supported(model)
    out_dir = Path(out_dir)
    tokenizer_files = []
    if tokenizer_dir is not None:
        tokenizer_files = [Path(tokenizer_dir) / n for n in TOKENIZER_FILES]
        tokenizer_files = [p for p in tokenizer_files if p.is_file()]
        if not tokenizer_files:
            raise ValueError(f"tokenizer_dir {tokenizer_dir}: none of {TOKENIZER_FILES} found")

    tc = model.config
    config = LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.ffn_hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.kv_groups,
        head_dim=cfg.head_dim,
        max_position_embeddings=cfg.seq_length,
        rms_norm_eps=tc.layernorm_epsilon,
        # transformers 5 reads the RoPE base from rope_parameters (no top-level rope_theta).
        rope_parameters={"rope_type": "default", "rope_theta": float(model.rotary_base)},
        hidden_act="silu",
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        dtype=dtype,
    )
    weights = {k: v.to(dtype) for k, v in llama_state_dict(model, cfg).items()}
    # The meta device skips HF's random init, which the loaded weights would overwrite anyway.
    with torch.device("meta"):
        hf = LlamaForCausalLM(config)
    hf.load_state_dict(weights, strict=True, assign=True)  # strict: every name must match

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        hf.save_pretrained(tmp, safe_serialization=True)
        for path in tokenizer_files:
            shutil.copy2(path, tmp / path.name)
        if chat_template is not None:
            _add_chat_template(tmp / "tokenizer_config.json", chat_template)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
