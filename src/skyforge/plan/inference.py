"""Memory of the rules that use a trained model without training it: the HF export, the eval
tables and generation. Pure arithmetic over the model's shape, like :mod:`skyforge.plan.planner`
(which prices training); :mod:`skyforge.plan.resources` turns these bytes into SLURM requests.

Export (host memory, streaming; :mod:`skyforge.train.hf_stage`):
    peak = base + T × (stored + out + 4) + logits
    where ``T`` is the largest single megatron tensor (vocab × hidden for the embedding / LM
    head, 2·ffn × hidden for the fused fc1, (hidden + 2·kv) × hidden for the fused QKV), and
    ``stored`` / ``out`` the bytes per element in the checkpoint and in the export. Each tensor
    is read alone, straight into its buffer (T × stored), cut into its HF pieces in the export
    dtype (at most T × out more) and appended to the safetensors file at once: no file and no
    layer is buffered. The logit check runs both models in fp32 with each weight loaded just
    before the module that uses it and dropped after: the stored weight, its fp32 copy, and on
    the HF side the file pages its mmap touched (T × (stored + 4 + out) at most), plus the check
    prompt's fp32 logits (both sides: 2 × tokens × vocab × 4). Nothing grows with the depth.
    Measured on the 13 B layer shape (vocab 65,536; ``tests/unit/model/test_export_stream.py``),
    saved in bf16 as a GPU run saves it: 2.38–2.40 GB peak RSS at 2 layers (2.38 GB at 1
    layer), under this formula's 3.5 GB; the full 52-layer model is 27.7 GB in bf16.

Inference (device memory, one model, bf16 on a GPU, fp32 on CPU):
    weights = params × dtype_bytes
    kv      = 2 × layers × kv_dim × tokens_in_flight × dtype_bytes  (generation's cache)
    work    = tokens_in_flight × (hidden × 16 + vocab × 4 × 2)        (one layer's activations
                                                                      and fp32 logits + softmax)
"""

from __future__ import annotations

from skyforge.config import ModelConfig
from skyforge.plan.planner import count_parameters

__all__ = [
    "BASE_PROCESS_BYTES",
    "export_host_peak_bytes",
    "export_unit_params",
    "inference_bytes",
    "model_bytes",
]

GIB = 1024**3

BASE_PROCESS_BYTES = int(1.0 * GIB)
"""Resident memory of a Python process with torch, megatron-core and transformers imported and
megatron's parallel state set up, before it touches a weight (measured 0.39 GB on CPU; 1 GiB
leaves room for the CUDA context's host side)."""


def export_unit_params(model: ModelConfig) -> int:
    """Elements of the largest single megatron tensor (``T`` of the module docstring)."""
    h = model.hidden_size
    kv = model.kv_groups * model.head_dim
    return max(model.vocab_size * h, 2 * model.ffn_hidden_size * h, (h + 2 * kv) * h)


def model_bytes(model: ModelConfig, dtype_bytes: int) -> int:
    """Bytes of all weights in one dtype (fp32 = 4, bf16 = 2)."""
    return count_parameters(model).total * dtype_bytes


def export_host_peak_bytes(
    model: ModelConfig,
    *,
    stored_bytes: int = 4,
    out_dtype_bytes: int = 4,
    check_tokens: int = 64,
    base_bytes: int = BASE_PROCESS_BYTES,
) -> int:
    """Peak host memory of the streaming export: see the module docstring for the formula.

    Args:
        model: The exported model's shape.
        stored_bytes: Bytes per element in the checkpoint (4 fp32, 2 bf16).
        out_dtype_bytes: Bytes per element of the saved weights (4 fp32, 2 bf16).
        check_tokens: Tokens of the logit check's prompt.
        base_bytes: The process before any weight is loaded.
    """
    unit = export_unit_params(model)
    logits = 2 * check_tokens * model.vocab_size * 4  # both sides' fp32 logits
    return int(base_bytes + unit * (stored_bytes + out_dtype_bytes + 4) + logits)


def inference_bytes(
    model: ModelConfig,
    *,
    batch_tokens: int,
    dtype_bytes: int = 2,
    kv_cache: bool = True,
) -> int:
    """Device memory of one model evaluating or generating ``batch_tokens`` tokens at once
    (batch × sequence): weights, KV cache and one layer's working set (module docstring)."""
    pc = count_parameters(model)
    weights = pc.total * dtype_bytes
    kv_dim = model.kv_groups * model.head_dim
    kv = 2 * model.num_layers * kv_dim * batch_tokens * dtype_bytes if kv_cache else 0
    work = batch_tokens * (model.hidden_size * 16 + model.vocab_size * 4 * 2)
    return int(weights + kv + work)
