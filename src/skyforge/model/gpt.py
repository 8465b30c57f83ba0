"""The LLaMA-style decoder as a megatron-core ``GPTModel``, plus the optional Norm-Head.

One model for every size and device: pre-norm, RMSNorm, SwiGLU, RoPE, no biases, untied output
layer and optional grouped-query attention, all from :class:`skyforge.config.ModelConfig`, on
megatron-core's layer spec of the attention backend (:mod:`skyforge.model.attention`: the local
spec with torch attention — the CPU path — or FlexAttention, flash-attn, Transformer Engine).
On CPU the CUDA fusions are switched off and :mod:`skyforge.model.cpu` redirects megatron's CUDA
calls; on a GPU each fusion is on when its kernel can run (:func:`kernel_options`).

Norm-Head (Baichuan2, Index-1.9B) L2-normalises each row of the LM-head weight before the
matmul, so a logit is the hidden state's projection on a unit vector; megatron-core has no such
output layer, so :class:`NormHeadLinear` adds it to ``ColumnParallelLinear`` (rows are output
features, which tensor parallelism splits whole, so normalising the local shard is exact).
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
import torch.nn.functional as F
from megatron.core import parallel_state as ps
from megatron.core.models.gpt import GPTModel
from megatron.core.tensor_parallel import ColumnParallelLinear
from megatron.core.transformer.transformer_config import TransformerConfig

from skyforge.config import ModelConfig
from skyforge.model.attention import layer_spec

__all__ = [
    "NormHeadLinear",
    "build_model",
    "count_parameters",
    "kernel_options",
    "transformer_config",
]


class NormHeadLinear(ColumnParallelLinear):
    """A ``ColumnParallelLinear`` whose weight rows are L2-normalised in every forward.

    The stored weight stays unnormalised (the optimizer updates it freely); gradients flow
    through the normalisation.
    """

    def forward(self, input_, weight=None, runtime_gather_output=None):  # noqa: ANN001
        """Same contract as ``ColumnParallelLinear.forward``, with unit-norm weight rows."""
        weight = self.weight if weight is None else weight
        return super().forward(
            input_,
            weight=F.normalize(weight, dim=1),
            runtime_gather_output=runtime_gather_output,
        )


def _imports(module: str) -> bool:

    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a broken extension build raises more than ImportError
        return False
    return True


def _fused_adam() -> str:
    """Which Adam megatron-core's optimizer takes (it tries TE's, then apex's, then torch's)."""
    if _imports("transformer_engine.pytorch.optimizers"):
        return "transformer_engine FusedAdam"
    if _imports("apex.optimizers"):
        return "apex FusedAdam"
    return "torch AdamW (not fused: neither Transformer Engine nor apex imports)"


def kernel_options(on_gpu: bool | None = None) -> dict[str, Any]:
    """The fused kernels and overlaps a job uses on this device, each on only where it runs.

    Returns:
        ``{option: bool}`` for the ``TransformerConfig`` / DDP fields, plus ``adam`` (which
        implementation megatron-core's optimizer picks). Recorded in every manifest.
    """
    on_gpu = torch.cuda.is_available() if on_gpu is None else on_gpu
    return {
        # torch.jit-fused SwiGLU without bias (megatron-core's bias_swiglu_impl), fused masked
        # softmax, fused RoPE and layer norm: megatron-core's own CUDA kernels.
        "bias_activation_fusion": on_gpu,
        "masked_softmax_fusion": on_gpu,
        "apply_rope_fusion": on_gpu,
        "persist_layer_norm": on_gpu,
        "bias_dropout_fusion": on_gpu,
        # Weight-gradient GEMM accumulating into main_grad: the fused_weight_gradient_mlp_cuda
        # extension (apex, or TE's build of it).
        "gradient_accumulation_fusion": on_gpu and _imports("fused_weight_gradient_mlp_cuda"),
        # Distributed optimizer: reduce-scatter grads per bucket during backward, all-gather
        # params during the next forward (NCCL streams; on CPU/gloo the loop stays as it was).
        "overlap_grad_reduce": on_gpu,
        "overlap_param_gather": on_gpu,
        "adam": _fused_adam() if on_gpu else "torch AdamW (CPU)",
    }


RECOMPUTE = {
    "none": {},
    # Megatron-LM's selective recompute: the core attention (softmax, dropout) only.
    "selective": {"recompute_granularity": "selective"},
    # Every layer's input checkpointed, the whole layer re-run in backward.
    "full": {
        "recompute_granularity": "full",
        "recompute_method": "uniform",
        "recompute_num_layers": 1,
    },
}
"""``parallel.recompute`` → the ``TransformerConfig`` fields (what the planner's memory model
assumes: ``full`` keeps one layer input per layer, ×4/3 compute)."""


def transformer_config(
    cfg: ModelConfig,
    *,
    params_dtype: torch.dtype = torch.float32,
    recompute: str = "none",
) -> TransformerConfig:
    """The megatron-core ``TransformerConfig`` of a :class:`ModelConfig`.

    Args:
        cfg: Model dimensions.
        params_dtype: Parameter dtype (bf16 on GPU, fp32 on CPU).
        recompute: ``parallel.recompute`` (none, selective, full).

    Returns:
        The config, with the fusions of :func:`kernel_options` (all off on CPU).
    """
    kernels = kernel_options()

    # The layer count per pipeline stage and each stage's layer offset (hence the checkpoint
    # keys) come from these two fields, not from the process groups: left at 1, every stage
    # would build ALL layers.
    parallel = (
        dict(
            tensor_model_parallel_size=ps.get_tensor_model_parallel_world_size(),
            pipeline_model_parallel_size=ps.get_pipeline_model_parallel_world_size(),
            pipeline_dtype=params_dtype,  # what the stages send each other
        )
        if ps.model_parallel_is_initialized()
        else {}
    )
    return TransformerConfig(
        **parallel,
        **RECOMPUTE[recompute],
        num_layers=cfg.num_layers,
        hidden_size=cfg.hidden_size,
        ffn_hidden_size=cfg.ffn_hidden_size,
        num_attention_heads=cfg.num_attention_heads,
        num_query_groups=cfg.num_query_groups,
        normalization="RMSNorm",
        gated_linear_unit=True,  # SwiGLU = gate (silu) * up
        activation_func=F.silu,
        add_bias_linear=False,
        add_qkv_bias=False,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        params_dtype=params_dtype,
        bf16=params_dtype == torch.bfloat16,
        fp16=params_dtype == torch.float16,
        # The fusions are CUDA kernels: off on CPU. The masked-softmax kernel is kept on GPU even
        # with a reset mask, because the local spec then gets the arbitrary mask type.
        **{
            k: kernels[k]
            for k in (
                "bias_activation_fusion",
                "masked_softmax_fusion",
                "persist_layer_norm",
                "bias_dropout_fusion",
                "apply_rope_fusion",
                "gradient_accumulation_fusion",
            )
        },
    )


def build_model(
    cfg: ModelConfig,
    *,
    pre_process: bool = True,
    post_process: bool = True,
    params_dtype: torch.dtype = torch.float32,
    reset_attention_mask: bool = False,
    attention_backend: str = "local",
    recompute: str = "none",
) -> GPTModel:
    """Build the decoder for this pipeline stage.

    Megatron's parallel state must be initialised, and (on CPU) :func:`skyforge.model.cpu.
    apply_cpu_shim` applied, before the call; weights are initialised on the model-parallel RNG
    stream, so call ``model_parallel_cuda_manual_seed`` first for reproducible weights.

    Args:
        cfg: Model dimensions; ``cfg.norm_head`` selects the Norm-Head output layer.
        pre_process: Whether this stage holds the embedding (first pipeline stage).
        post_process: Whether this stage holds the final norm and output layer (last stage).
        params_dtype: Parameter dtype.
        reset_attention_mask: Set when batches carry a block-diagonal (per-document) causal mask.
            The layer spec's causal mask type makes megatron's fused softmax (GPU, bf16/fp16)
            apply its own causal mask and silently IGNORE the mask passed in, so tokens would
            attend across documents; with this flag the mask type is ``arbitrary`` and the
            given mask is always used (it must then be passed on every forward).
        attention_backend: a RESOLVED backend of :mod:`skyforge.model.attention` (not
            ``auto``); the others always mask documents (from the position ids).
        recompute: activation recomputation (:data:`RECOMPUTE`).

    Returns:
        The ``GPTModel``. Call it through :func:`skyforge.model.attention.model_forward`:
        (tokens [b, s], position_ids [b, s], dense mask [b, 1, s, s] bool, True = masked, read by
        ``local`` only) → logits [b, s, vocab] (or the per-token loss with labels).
    """

    config = transformer_config(cfg, params_dtype=params_dtype, recompute=recompute)
    spec = layer_spec(attention_backend, reset_attention_mask=reset_attention_mask)
    model = GPTModel(
        config=config,
        transformer_layer_spec=spec,
        vocab_size=cfg.vocab_size,
        max_sequence_length=cfg.seq_length,
        pre_process=pre_process,
        post_process=post_process,
        share_embeddings_and_output_weights=False,
        position_embedding_type="rope",
    )
    if cfg.norm_head and post_process:
        # Same parameters, init and sharded state dict; only the forward differs, so changing
        # the class is smaller than re-creating the layer with all of GPTModel's arguments.
        model.output_layer.__class__ = NormHeadLinear
    return model


def build_model_on_meta(cfg: ModelConfig, **kwargs: Any) -> GPTModel:
    """:func:`build_model` with every parameter on the meta device (no memory), for reading its
    checkpoint layout and for :func:`skyforge.model.on_demand.weights_on_demand`.

    megatron-core allocates weights on ``torch.cuda.current_device()`` (the CPU under the shim),
    which a ``torch.device("meta")`` block does not override, so the call is redirected to meta
    while the model is built. The RoPE frequencies are then rebuilt for real: they are computed
    once at construction, not loaded.
    """
    # deferred: heavy import (megatron), only for this path
    from megatron.core.models.common.embeddings.rotary_pos_embedding import RotaryEmbedding

    current = torch.cuda.current_device
    torch.cuda.current_device = lambda: torch.device("meta")
    try:
        with torch.device("meta"):
            model = build_model(cfg, **kwargs)
    finally:
        torch.cuda.current_device = current
    c = model.config
    model.rotary_pos_emb = RotaryEmbedding(
        kv_channels=c.kv_channels,
        rotary_percent=1.0,
        rotary_interleaved=c.rotary_interleaved,
        seq_len_interpolation_factor=None,
        rotary_base=model.rotary_base,
        use_cpu_initialization=c.use_cpu_initialization,
    )
    return model


def count_parameters(model: torch.nn.Module) -> int:
    """Number of parameters of this rank's model (its pipeline stage and tensor shard)."""
    return sum(p.numel() for p in model.parameters())
