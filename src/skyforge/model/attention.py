"""Attention backends: how the decoder's core attention is computed, document masking included.

``model.attention_backend`` picks one; the model, the loop and the checkpoints are the same for
all of them, only the kernel and the way document boundaries reach it differ: ``local`` (dense
reset mask, megatron-core's ``DotProductAttention``; CPU and GPU), ``flex`` (torch
FlexAttention with a block mask from document ids), ``flash`` (flash-attn varlen, one sequence
per document), ``transformer_engine`` (megatron-core's TE spec with packed-sequence params) and
``auto`` (``local`` on CPU, else the first GPU backend that imports).

Document boundaries come from the position ids, which the datasets restart at 0 after every
EOD: ``document_ids = cumsum(position_ids == 0) - 1`` allows exactly the (query, key) pairs of
the dense mask (tests/unit/model/test_attention.py checks every pair). For ``flex`` and
``flash`` the ids travel as the forward's ``attention_mask`` argument. The core-attention
modules hold no parameters, so one checkpoint loads under every backend. megatron-core 0.16
ships no FlexAttention core attention and uses flash-attn only inside TE, hence these modules.

See docs/training.md.
"""

from __future__ import annotations

import importlib
import math
import weakref
from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "BACKENDS",
    "BackendChoice",
    "FlashCoreAttention",
    "FlexCoreAttention",
    "backend_status",
    "cu_seqlens",
    "document_ids",
    "document_mask_mod",
    "model_forward",
    "resolve_backend",
]

BACKENDS = ("auto", "local", "flex", "flash", "transformer_engine")
_AUTO_ORDER = ("transformer_engine", "flash", "flex")


# ---------------------------------------------------------------------------------------------
# Which backend
# ---------------------------------------------------------------------------------------------


def _import_error(module: str) -> str | None:
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - a broken build raises more than ImportError
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def backend_status(on_gpu: bool | None = None) -> dict[str, str | None]:
    """Each concrete backend → None when it can run here, else why not (one line)."""
    on_gpu = torch.cuda.is_available() if on_gpu is None else on_gpu
    status: dict[str, str | None] = {"local": None}
    status["flex"] = _import_error("torch.nn.attention.flex_attention")
    no_gpu = "needs a CUDA GPU"
    err = _import_error("flash_attn")
    status["flash"] = (
        no_gpu if not on_gpu else (f"flash-attn does not import ({err})" if err else None)
    )
    err = _import_error("transformer_engine.pytorch")
    status["transformer_engine"] = (
        no_gpu if not on_gpu else (f"Transformer Engine does not import ({err})" if err else None)
    )
    return status


class BackendChoice(tuple):
    """``(name, reason)``: the backend that runs and why it was picked."""

    __slots__ = ()

    def __new__(cls, name: str, reason: str) -> BackendChoice:
        return super().__new__(cls, (name, reason))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def reason(self) -> str:
        return self[1]


def resolve_backend(requested: str, *, on_gpu: bool | None = None) -> BackendChoice:
    """The backend that runs for ``model.attention_backend = requested`` on this device.

    Raises:
        ValueError: an unknown name, or a backend that cannot run here (one line naming the
            config key and the reason).
    """
    on_gpu = torch.cuda.is_available() if on_gpu is None else on_gpu
    if requested not in BACKENDS:
        raise ValueError(
            f"config key 'model.attention_backend': unknown backend '{requested}' "
            f"(one of {', '.join(BACKENDS)})"
        )
    status = backend_status(on_gpu)
    if requested == "auto":
        if not on_gpu:
            return BackendChoice("local", "auto: CPU, the local spec")
        for name in _AUTO_ORDER:
            if status[name] is None:
                return BackendChoice(name, "auto: the fastest that imports on this GPU")
        return BackendChoice("local", "auto: no fused attention imports on this GPU")
    if status[requested] is not None:
        raise ValueError(
            f"config key 'model.attention_backend': '{requested}' cannot run here: "
            f"{status[requested]}"
        )
    return BackendChoice(requested, "configured")


# ---------------------------------------------------------------------------------------------
# Document boundaries
# ---------------------------------------------------------------------------------------------


def document_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """Per-token document index ``[b, s]`` (int32) from reset position ids (0 starts a document;
    the first token of a sample always does)."""
    starts = position_ids == 0
    starts[..., 0] = True
    return (torch.cumsum(starts, dim=-1, dtype=torch.int32) - 1).to(torch.int32)


def cu_seqlens(doc_ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Cumulative document lengths over the flattened micro-batch (``[b * s]`` tokens, sample
    after sample), flash-attn / TE layout: int32 ``[n_docs + 1]`` from 0 to ``b * s``, and the
    longest document. A document never spans two samples."""
    b, s = doc_ids.shape
    starts = torch.ones_like(doc_ids, dtype=torch.bool)
    starts[:, 1:] = doc_ids[:, 1:] != doc_ids[:, :-1]
    idx = torch.nonzero(starts.reshape(-1), as_tuple=False).reshape(-1)
    end = torch.tensor([b * s], device=idx.device, dtype=idx.dtype)
    cu = torch.cat([idx, end]).to(torch.int32)
    return cu, int((cu[1:] - cu[:-1]).max())


def document_mask_mod(doc_ids: torch.Tensor) -> Callable:
    """FlexAttention ``mask_mod``: causal within a document (True = may attend)."""

    def mask_mod(b, h, q_idx, kv_idx):  # noqa: ANN001, ARG001 - flex's signature
        return (doc_ids[b, q_idx] == doc_ids[b, kv_idx]) & (q_idx >= kv_idx)

    return mask_mod


class _PerTensorCache:
    """Values derived from a tensor (a block mask, ``cu_seqlens``), built once for all layers.

    Keyed by the tensor object (a weak reference guards against a reused id), so each
    micro-batch's ids are converted once however many layers and recomputations read them.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: dict[int, tuple[weakref.ref, Any]] = {}

    def get(self, t: torch.Tensor, build: Callable[[torch.Tensor], Any]) -> Any:
        hit = self._items.get(id(t))
        if hit is not None and hit[0]() is t:
            return hit[1]
        value = build(t)
        if len(self._items) >= self.size:
            self._items.pop(next(iter(self._items)))
        self._items[id(t)] = (weakref.ref(t), value)
        return value


def _check_ids(attention_mask: Any, backend: str) -> torch.Tensor:
    if (
        not isinstance(attention_mask, torch.Tensor)
        or attention_mask.dim() != 2
        or attention_mask.dtype not in (torch.int32, torch.int64)
    ):
        shape = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else None
        raise TypeError(
            f"attention backend '{backend}' takes per-token document ids [b, s] (int) as the "
            f"attention_mask, got {type(attention_mask).__name__} {shape}: call the model "
            "through skyforge.model.attention.model_forward"
        )
    return attention_mask


# ---------------------------------------------------------------------------------------------
# Core-attention modules (megatron-core's DotProductAttention contract)
# ---------------------------------------------------------------------------------------------


def _core_attention_base() -> type:
    # deferred: heavy import (megatron), only for this path
    from megatron.core.transformer.module import MegatronModule

    return MegatronModule


class _DocumentCoreAttention(_core_attention_base()):
    """Shared set-up: megatron-core's ``DotProductAttention`` constructor and head split.

    forward(query [sq, b, np, hn], key/value [sk, b, ng, hn], attention_mask = document ids
    [b, s]) → context [sq, b, np·hn].
    """

    backend = "?"

    def __init__(
        self,
        config: Any,
        layer_number: int,
        attn_mask_type: Any,
        attention_type: str,
        attention_dropout: float | None = None,
        softmax_scale: float | None = None,
        cp_comm_type: str | None = None,  # noqa: ARG002 - megatron passes it
        pg_collection: Any = None,  # noqa: ARG002
    ) -> None:
        super().__init__(config=config)
        dropout = config.attention_dropout if attention_dropout is None else attention_dropout
        if dropout:
            raise ValueError(
                f"attention backend '{self.backend}': attention dropout {dropout} is not "
                "supported (the recipe trains without dropout)"
            )
        if config.context_parallel_size != 1:
            raise ValueError(f"attention backend '{self.backend}': no context parallelism")
        self.layer_number = max(1, layer_number)
        self.attn_mask_type = attn_mask_type
        head_dim = config.kv_channels
        self.softmax_scale = 1.0 / math.sqrt(head_dim) if softmax_scale is None else softmax_scale
        if config.apply_query_key_layer_scaling:
            raise ValueError(
                f"attention backend '{self.backend}': apply_query_key_layer_scaling unsupported"
            )

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: Any,
        attn_mask_type: Any = None,  # noqa: ARG002
        attention_bias: Any = None,
        packed_seq_params: Any = None,
    ) -> torch.Tensor:
        if attention_bias is not None or packed_seq_params is not None:
            raise ValueError(
                f"attention backend '{self.backend}': no attention bias, no packed sequences"
            )
        return self._attend(query, key, value, _check_ids(attention_mask, self.backend))

    def _attend(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, doc_ids: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def sharded_state_dict(self, prefix: str = "", sharded_offsets: tuple = (), metadata=None):  # noqa: ANN001, ARG002
        """No parameters, no state: checkpoints are those of the local spec."""
        return {}


_BLOCK_MASKS = _PerTensorCache()
_COMPILED: dict[str, Callable] = {}


def _flex_kernel(on_gpu: bool) -> Callable:
    # deferred: optional attention backend, imported when selected
    from torch.nn.attention.flex_attention import flex_attention

    if not on_gpu:
        return flex_attention  # eager: torch's unfused reference path (tests, laptops)
    if "flex" not in _COMPILED:
        _COMPILED["flex"] = torch.compile(flex_attention, dynamic=False)
    return _COMPILED["flex"]


def _block_mask(doc_ids: torch.Tensor) -> Any:
    # deferred: optional attention backend, imported when selected
    from torch.nn.attention.flex_attention import create_block_mask

    b, s = doc_ids.shape
    return create_block_mask(
        document_mask_mod(doc_ids),
        b,
        None,
        s,
        s,
        device=doc_ids.device,
        _compile=doc_ids.is_cuda,
    )


_DENSE_MASKS = _PerTensorCache()


def _dense_allowed(doc_ids: torch.Tensor) -> torch.Tensor:
    # deferred: optional attention backend, imported when selected
    from torch.nn.attention.flex_attention import create_mask

    b, s = doc_ids.shape
    return create_mask(document_mask_mod(doc_ids), b, 1, s, s, device=doc_ids.device)


class FlexCoreAttention(_DocumentCoreAttention):
    """Core attention on torch's FlexAttention with a per-document causal block mask.

    On a GPU the compiled kernel, forward and backward. On CPU torch 2.13 runs FlexAttention's
    forward only (eager, unfused): validation and inference use it, and a training step uses
    SDPA with the dense mask of the same ``mask_mod`` (the logits agree to 1e-6).
    """

    backend = "flex"

    def _attend(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, doc_ids: torch.Tensor
    ) -> torch.Tensor:
        sq, b, nq, hn = query.shape
        q, k, v = (t.permute(1, 2, 0, 3) for t in (query, key, value))  # [b, heads, s, hn]
        gqa = key.shape[2] != nq
        if not query.is_cuda and any(t.requires_grad for t in (query, key, value)):
            # torch 2.13's FlexAttention has no backward on CPU: a CPU training step takes SDPA
            # with the dense mask of the SAME mask_mod (CPU runs are small; GPUs never do this).
            allowed = _DENSE_MASKS.get(doc_ids, _dense_allowed)
            out = torch.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, scale=self.softmax_scale, enable_gqa=gqa
            )
            return out.permute(2, 0, 1, 3).reshape(sq, b, nq * hn)
        block_mask = _BLOCK_MASKS.get(doc_ids, _block_mask)
        out = _flex_kernel(query.is_cuda)(
            q, k, v, block_mask=block_mask, scale=self.softmax_scale, enable_gqa=gqa
        )
        return out.permute(2, 0, 1, 3).reshape(sq, b, nq * hn)


_CU_SEQLENS = _PerTensorCache()


def _flash_varlen() -> Callable:
    # deferred: optional attention backend, imported when selected
    from flash_attn import flash_attn_varlen_func

    return flash_attn_varlen_func


class FlashCoreAttention(_DocumentCoreAttention):
    """Core attention on flash-attn's varlen kernel: each document its own sequence.

    Args:
        kernel: a function with ``flash_attn_varlen_func``'s signature (default: flash-attn's;
            the CPU tests pass a torch reference to check the layout around it).
    """

    backend = "flash"

    def __init__(self, *args: Any, kernel: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kernel = kernel

    def _attend(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, doc_ids: torch.Tensor
    ) -> torch.Tensor:
        cu, max_len = _CU_SEQLENS.get(doc_ids, cu_seqlens)
        sq, b, nq, hn = query.shape

        def packed(t: torch.Tensor) -> torch.Tensor:  # [s, b, h, d] -> [b * s, h, d]
            return t.transpose(0, 1).reshape(b * sq, t.shape[2], t.shape[3]).contiguous()

        kernel = self._kernel or _flash_varlen()
        out = kernel(
            packed(query),
            packed(key),
            packed(value),
            cu,
            cu,
            max_len,
            max_len,
            dropout_p=0.0,
            softmax_scale=self.softmax_scale,
            causal=True,
        )
        return out.reshape(b, sq, nq * hn).transpose(0, 1).contiguous()


# ---------------------------------------------------------------------------------------------
# Layer spec and the forward call
# ---------------------------------------------------------------------------------------------


def layer_spec(backend: str, *, reset_attention_mask: bool) -> Any:
    """megatron-core's layer spec for a resolved backend (RMSNorm, SwiGLU, no biases)."""
    # deferred: heavy import (megatron), only for this path
    from megatron.core.models.gpt.gpt_layer_specs import (
        get_gpt_layer_local_spec,
        get_gpt_layer_with_transformer_engine_spec,
    )
    from megatron.core.transformer.enums import AttnMaskType
    from megatron.core.transformer.spec_utils import ModuleSpec

    if backend == "transformer_engine":
        # Causal within each packed sequence: megatron-core turns the spec's causal mask type
        # into TE's padding_causal for qkv_format "thd" itself.
        return get_gpt_layer_with_transformer_engine_spec()
    spec = get_gpt_layer_local_spec(normalization="RMSNorm")
    attn = spec.submodules.self_attention
    if backend == "local":
        if reset_attention_mask:
            # The causal mask type makes megatron's fused softmax (GPU, bf16) ignore the mask
            # passed in; arbitrary makes it always apply it.
            attn.params["attn_mask_type"] = AttnMaskType.arbitrary
        return spec
    module = {"flex": FlexCoreAttention, "flash": FlashCoreAttention}[backend]
    attn.submodules.core_attention = ModuleSpec(module=module)
    return spec


def model_forward(
    model: Any,
    backend: str,
    tokens: torch.Tensor,
    position_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Call a ``GPTModel`` (or its DDP wrapper) built for ``backend`` on a micro-batch.

    Args:
        tokens, position_ids, labels: ``[b, s]``; position ids restart at 0 after each EOD.
        attention_mask: the dense ``[b|1, 1, s, s]`` reset mask (True = masked); read by the
            ``local`` backend only (the others take the boundaries from ``position_ids``).

    Returns:
        Per-token loss ``[b, s]`` with labels, else logits ``[b, s, vocab]`` (this rank's
        vocabulary shard), whatever the backend's internal layout.
    """
    if backend == "local":
        return model(tokens, position_ids, attention_mask, labels=labels)
    ids = document_ids(position_ids)
    if backend in ("flex", "flash"):
        return model(tokens, position_ids, ids, labels=labels)
    if backend != "transformer_engine":
        raise ValueError(f"unknown attention backend '{backend}'")
    # deferred: heavy import (megatron), only for this path
    from megatron.core.packed_seq_params import PackedSeqParams

    b, s = tokens.shape
    cu, max_len = cu_seqlens(ids)
    packed = PackedSeqParams(
        qkv_format="thd",
        cu_seqlens_q=cu,
        cu_seqlens_kv=cu,
        max_seqlen_q=max_len,
        max_seqlen_kv=max_len,
    )
    out = model(
        tokens.reshape(1, b * s),
        position_ids.reshape(1, b * s),
        None,
        labels=None if labels is None else labels.reshape(1, b * s),
        packed_seq_params=packed,
    )
    return out.reshape(b, s) if labels is not None else out.reshape(b, s, -1)
