"""Compute plan: parameters, FLOPs, memory per GPU, throughput and days for a parallel layout.

Answers the questions a pretraining team asks before booking a cluster (docs/recipe.md#planning):
how many parameters the configured LLaMA-style model has, how many FLOPs a token costs, whether
a TP × PP × DP layout with ZeRO-1 fits in GPU memory, how many tokens per GPU per second an
assumed MFU gives, how many days the token budget takes, which alternative layouts fit and which
is fastest (like Table 10 of the Skywork-13B report), and the reverse question: with this many
tokens, days and GPUs, how large a model can be trained.

No library computes this for megatron-core layouts (Megatron-LM's ``report_theoretical_memory``
needs a full argparse namespace and a GPU process, and covers neither throughput nor the reverse
question), so the arithmetic is written here, each term named after what it counts.

Conventions:
* Parameters: embeddings and the untied LM head are counted (they are trained).
* FLOPs per token = 6·N + 12·L·h·s: 6N for the dense matmuls of forward + backward and
  12·L·h·s for attention scores and the weighted sum (the "PaLM" MFU convention).
* Memory (bytes): bf16 weights (2/param), fp32 gradients (4/param: megatron-core accumulates and
  reduces gradients in fp32 under bf16), fp32 master weights + Adam m + v (12/param) sharded over
  DP under ZeRO-1; activations for FlashAttention (no s² score matrix) without sequence
  parallelism, per micro-batch, times the micro-batches in flight on the busiest 1F1B stage.
  GiB = 2**30 bytes; GPU capacities are in GiB (an "80 GB" A800 has 80 GiB).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from skyforge.config import ModelConfig, ParallelConfig

GIB = 2**30
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class GpuSpec:
    """Published figures of one accelerator."""

    name: str
    peak_bf16_tflops: float
    """Dense bf16 tensor-core peak, TFLOP/s."""
    memory_gib: float
    intra_node_gbps: float
    """Effective one-direction NVLink bandwidth per GPU, GB/s (half the bidirectional figure)."""
    inter_node_gbps_per_gpu: float
    """Network bandwidth per GPU between nodes, GB/s (node NIC bandwidth / GPUs per node)."""


# Peak and memory from the vendors' data sheets. Network: the Skywork cluster's 800 Gb/s RoCE per
# 8-GPU node = 100 GB/s / 8; HGX H100/H200 nodes usually carry 8 × 400 Gb/s.
GPUS: dict[str, GpuSpec] = {
    g.name: g
    for g in (
        GpuSpec("A800-80G", 312.0, 80.0, 200.0, 12.5),
        GpuSpec("A100-80G", 312.0, 80.0, 300.0, 25.0),
        GpuSpec("A100-40G", 312.0, 40.0, 300.0, 25.0),
        GpuSpec("H800-80G", 989.0, 80.0, 200.0, 50.0),
        GpuSpec("H100-80G", 989.0, 80.0, 450.0, 50.0),
        GpuSpec("H200-141G", 989.0, 141.0, 450.0, 50.0),
    )
}


def gpu_for_device(device_name: str) -> GpuSpec | None:
    """The table's entry for a CUDA device name (``NVIDIA A800-SXM4-80GB`` → A800-80G), matched
    by model number; None for a device the table does not hold (figures unknown)."""
    for key, gpu in GPUS.items():
        if key.split("-")[0].lower() in device_name.lower():
            return gpu
    return None


# ---------------------------------------------------------------------------------------------
# Parameters and FLOPs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamCount:
    """Exact parameter count of the LLaMA-style decoder, by part."""

    embedding: int
    attention_per_layer: int
    mlp_per_layer: int
    norms_per_layer: int
    final_norm: int
    lm_head: int
    num_layers: int

    @property
    def per_layer(self) -> int:
        return self.attention_per_layer + self.mlp_per_layer + self.norms_per_layer

    @property
    def total(self) -> int:
        return self.embedding + self.num_layers * self.per_layer + self.final_norm + self.lm_head

    @property
    def non_embedding(self) -> int:
        return self.total - self.embedding - self.lm_head


def count_parameters(model: ModelConfig) -> ParamCount:
    """Count the parameters of the configured model (no biases, untied head, RMSNorm weights)."""
    h, f = model.hidden_size, model.ffn_hidden_size
    kv_dim = model.kv_groups * model.head_dim
    attention = h * h + 2 * h * kv_dim + h * h  # Q, K, V, output projection
    mlp = 3 * h * f  # SwiGLU: gate and up (h→f), down (f→h)
    return ParamCount(
        embedding=model.vocab_size * h,
        attention_per_layer=attention,
        mlp_per_layer=mlp,
        norms_per_layer=2 * h,
        final_norm=h,
        lm_head=model.vocab_size * h,
        num_layers=model.num_layers,
    )


def flops_per_token(model: ModelConfig) -> float:
    """Training FLOPs per token: 6·N + 12·L·h·s (forward + backward, attention included)."""
    n = count_parameters(model).total
    return 6.0 * n + 12.0 * model.num_layers * model.hidden_size * model.seq_length


def mfu_from_throughput(tokens_per_gpu_s: float, model: ModelConfig, gpu: GpuSpec) -> float:
    """Model FLOPs utilisation of a measured tokens/GPU/s."""
    return tokens_per_gpu_s * flops_per_token(model) / (gpu.peak_bf16_tflops * 1e12)


def throughput_from_mfu(mfu: float, model: ModelConfig, gpu: GpuSpec) -> float:
    """Tokens per GPU per second that a given MFU means."""
    return mfu * gpu.peak_bf16_tflops * 1e12 / flops_per_token(model)


def train_days(tokens: float, tokens_per_gpu_s: float, num_gpus: int) -> float:
    """Wall-clock days to train ``tokens`` at a per-GPU throughput."""
    return tokens / (tokens_per_gpu_s * num_gpus) / SECONDS_PER_DAY


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per GPU on the busiest pipeline stage."""

    stage: int
    params_on_gpu: int
    weights: float
    gradients: float
    optimizer: float
    activations: float
    logits: float
    overhead: float
    microbatches_in_flight: int

    @property
    def total(self) -> float:
        return (
            self.weights
            + self.gradients
            + self.optimizer
            + self.activations
            + self.logits
            + self.overhead
        )

    @property
    def total_gib(self) -> float:
        return self.total / GIB


def activation_bytes_per_token_per_layer(model: ModelConfig, tensor: int) -> float:
    """bf16 activations one layer keeps for backward, per token, with FlashAttention, no SP.

    Kept tensors (2 bytes each element): attention-norm input and its output (the QKV GEMM input),
    Q/K/V after RoPE and the attention output (FlashAttention keeps these plus a fp32
    log-sum-exp per head instead of the s×s score matrix), MLP-norm input and output (fc1 input),
    the SwiGLU gate and up projections, silu(gate), and the product (fc2 input). Without sequence
    parallelism the norm tensors are replicated on every tensor-parallel rank; the rest is split.
    """
    h, f = model.hidden_size, model.ffn_hidden_size
    kv_dim = model.kv_groups * model.head_dim
    replicated = 2 * (h + h + h + h)  # two norm inputs, two norm outputs
    split = 2 * (h + 2 * kv_dim + h) + 4 * model.num_attention_heads + 2 * (2 * f + f + f)
    return replicated + split / tensor


def num_microbatches(global_batch_size: int, parallel: ParallelConfig) -> int:
    """Micro-batches each pipeline runs per optimizer step."""
    return max(1, global_batch_size // (parallel.data * parallel.micro_batch_size))


def estimate_memory(
    model: ModelConfig,
    parallel: ParallelConfig,
    global_batch_size: int,
    overhead_gib: float = 0.0,
) -> MemoryEstimate:
    """Memory per GPU for a layout, on the pipeline stage that needs the most.

    Stage k of a 1F1B pipeline keeps min(p − k, m) micro-batches of activations in flight; the
    first stage also holds the embedding, the last the final norm, LM head and the logits
    (bf16 logits plus the fp32 copy the cross-entropy works on).
    """
    pc = count_parameters(model)
    tp, pp, dp = parallel.tensor, parallel.pipeline, parallel.data
    layers_per_stage = model.num_layers // pp
    m = num_microbatches(global_batch_size, parallel)
    tokens_per_mb = model.seq_length * parallel.micro_batch_size

    if parallel.recompute == "full":
        # Only each layer's input is kept; one layer's activations are rebuilt at a time.
        per_layer_kept = 2.0 * model.hidden_size
        one_layer = activation_bytes_per_token_per_layer(model, tp)
    else:
        # "selective" recomputes the attention core, which FlashAttention never stores anyway.
        per_layer_kept = activation_bytes_per_token_per_layer(model, tp)
        one_layer = 0.0

    best: MemoryEstimate | None = None
    for stage in range(pp):
        params = layers_per_stage * pc.per_layer / tp
        if stage == 0:
            params += pc.embedding / tp
        if stage == pp - 1:
            params += (pc.lm_head) / tp + pc.final_norm
        in_flight = min(pp - stage, m)
        activations = (layers_per_stage * per_layer_kept * in_flight + one_layer) * tokens_per_mb
        logits = 6.0 * tokens_per_mb * model.vocab_size / tp if stage == pp - 1 else 0.0
        opt_shards = dp if parallel.zero_stage >= 1 else 1
        est = MemoryEstimate(
            stage=stage,
            params_on_gpu=int(params),
            weights=2.0 * params,
            gradients=4.0 * params,
            optimizer=12.0 * params / opt_shards,
            activations=activations,
            logits=logits,
            overhead=overhead_gib * GIB,
            microbatches_in_flight=in_flight,
        )
        if best is None or est.total > best.total:
            best = est
    assert best is not None
    return best


# ---------------------------------------------------------------------------------------------
# Throughput of alternative layouts
# ---------------------------------------------------------------------------------------------


def _step_components(
    model: ModelConfig, parallel: ParallelConfig, global_batch_size: int, gpu: GpuSpec
) -> tuple[float, float, float]:
    """(ideal compute seconds × bubble × recompute, TP comm seconds, exposed DP comm seconds).

    Per GPU per optimizer step. The model is deliberately simple and its assumptions named:
    1F1B bubble (p − 1)/m; full recompute re-runs the forward (× 4/3); TP all-reduces (2 forward
    + 2 backward per layer) are on the critical path over NVLink; the ZeRO-1 gradient
    reduce-scatter (fp32) + parameter all-gather (bf16) overlap with the backward pass (2/3 of
    compute) and only what does not fit in it is exposed.
    """
    tokens_per_step = global_batch_size * model.seq_length
    world = parallel.world_size
    ideal = tokens_per_step * flops_per_token(model) / world / (gpu.peak_bf16_tflops * 1e12)
    m = num_microbatches(global_batch_size, parallel)
    bubble = (parallel.pipeline - 1) / m
    recompute = 4.0 / 3.0 if parallel.recompute == "full" else 1.0
    compute = ideal * (1.0 + bubble) * recompute

    tp = parallel.tensor
    tp_comm = 0.0
    if tp > 1:
        bytes_per_allreduce = 2.0 * model.seq_length * parallel.micro_batch_size * model.hidden_size
        ring = 2.0 * (tp - 1) / tp * bytes_per_allreduce / (gpu.intra_node_gbps * 1e9)
        layers_per_stage = model.num_layers // parallel.pipeline
        tp_comm = 4 * ring * layers_per_stage * m

    dp = parallel.data
    dp_comm = 0.0
    if dp > 1:
        params = count_parameters(model).total / (tp * parallel.pipeline)
        bytes_moved = (dp - 1) / dp * params * (4.0 + 2.0)  # RS fp32 grads + AG bf16 params
        bandwidth = gpu.inter_node_gbps_per_gpu if world > 8 else gpu.intra_node_gbps
        dp_comm = max(0.0, bytes_moved / (bandwidth * 1e9) - compute * 2.0 / 3.0)
    return compute, tp_comm, dp_comm


@dataclass(frozen=True)
class LayoutRow:
    """One candidate layout of the ranked table."""

    tensor: int
    pipeline: int
    data: int
    zero_stage: int
    micro_batch_size: int
    recompute: str
    memory_gib: float
    fits: bool
    pipeline_bubble: float
    tokens_per_gpu_s: float
    mfu: float
    days: float
    configured: bool


def predict_mfu(
    model: ModelConfig,
    layout: ParallelConfig,
    reference: ParallelConfig,
    global_batch_size: int,
    gpu: GpuSpec,
    assumed_mfu: float,
) -> float:
    """MFU of ``layout`` relative to the ``reference`` layout, which achieves ``assumed_mfu``.

    The kernel efficiency (what fraction of peak the GEMMs reach) is calibrated on the reference
    layout so that its predicted MFU equals the assumed one; the other layouts keep that kernel
    efficiency and differ only by bubble, recompute and communication.
    """
    ideal_ref = _ideal_seconds(model, reference, global_batch_size, gpu)
    c_ref, tp_ref, dp_ref = _step_components(model, reference, global_batch_size, gpu)
    # compute / e + comm = ideal / mfu  →  e = compute / (ideal / mfu − comm)
    denom = ideal_ref / assumed_mfu - tp_ref - dp_ref
    kernel_eff = min(1.0, c_ref / denom) if denom > 0 else 1.0
    ideal = _ideal_seconds(model, layout, global_batch_size, gpu)
    c, tp_c, dp_c = _step_components(model, layout, global_batch_size, gpu)
    return ideal / (c / kernel_eff + tp_c + dp_c)


def _ideal_seconds(
    model: ModelConfig, parallel: ParallelConfig, global_batch_size: int, gpu: GpuSpec
) -> float:
    tokens_per_step = global_batch_size * model.seq_length
    return (
        tokens_per_step
        * flops_per_token(model)
        / parallel.world_size
        / (gpu.peak_bf16_tflops * 1e12)
    )


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def candidate_layouts(
    model: ModelConfig,
    num_gpus: int,
    gpus_per_node: int,
    global_batch_size: int | None,
) -> list[ParallelConfig]:
    """Every layout worth tabling: TP inside a node, PP dividing the layers, ZeRO 0/1,
    micro-batch 1/2, recompute none/full.

    With ``global_batch_size=None`` the batch is free (it will be rounded to a multiple of
    DP × micro-batch), so no layout is dropped for not dividing it.
    """
    layouts = []
    for tp in (1, 2, 4, 8):
        if tp > gpus_per_node or num_gpus % tp:
            continue
        if model.num_attention_heads % tp or model.kv_groups % tp:
            continue
        for pp in range(1, 17):
            if model.num_layers % pp or num_gpus % (tp * pp):
                continue
            dp = num_gpus // (tp * pp)
            for mbs in (1, 2):
                if global_batch_size is not None and global_batch_size % (dp * mbs):
                    continue
                for zero in (1, 0):
                    for recompute in ("none", "full"):
                        layouts.append(
                            ParallelConfig(
                                tensor=tp,
                                pipeline=pp,
                                data=dp,
                                zero_stage=zero,
                                micro_batch_size=mbs,
                                recompute=recompute,
                            )
                        )
    return layouts


def rank_layouts(
    model: ModelConfig,
    configured: ParallelConfig,
    num_gpus: int,
    gpus_per_node: int,
    global_batch_size: int,
    gpu: GpuSpec,
    assumed_mfu: float,
    overhead_gib: float,
    tokens: float,
) -> list[LayoutRow]:
    """Alternative layouts ranked: those that fit by predicted throughput, then those that don't."""
    layouts = candidate_layouts(model, num_gpus, gpus_per_node, global_batch_size)
    if configured not in layouts:
        layouts.append(configured)
    rows = []
    for lay in layouts:
        mem = estimate_memory(model, lay, global_batch_size, overhead_gib)
        mfu = predict_mfu(model, lay, configured, global_batch_size, gpu, assumed_mfu)
        tps = throughput_from_mfu(mfu, model, gpu)
        rows.append(
            LayoutRow(
                tensor=lay.tensor,
                pipeline=lay.pipeline,
                data=lay.data,
                zero_stage=lay.zero_stage,
                micro_batch_size=lay.micro_batch_size,
                recompute=lay.recompute,
                memory_gib=mem.total_gib,
                fits=mem.total_gib <= gpu.memory_gib,
                pipeline_bubble=(lay.pipeline - 1) / num_microbatches(global_batch_size, lay),
                tokens_per_gpu_s=tps,
                mfu=mfu,
                days=train_days(tokens, tps, num_gpus),
                configured=lay == configured,
            )
        )
    rows.sort(key=lambda r: (not r.fits, -r.tokens_per_gpu_s, r.memory_gib))
    return rows


# ---------------------------------------------------------------------------------------------
# Reverse question: tokens, days, GPUs → largest model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReverseRow:
    """A model shape tried for the reverse question."""

    num_layers: int
    hidden_size: int
    ffn_hidden_size: int
    num_attention_heads: int
    params: int
    flops_total: float
    days_needed: float
    tokens_per_param: float
    best_layout: str
    memory_gib: float
    trainable: bool


def _shape_for_width(hidden: int, like: ModelConfig) -> ModelConfig:
    """A LLaMA-style shape of the given width with the reference model's depth/width ratio."""
    aspect = like.hidden_size / like.num_layers
    layers = max(4, 4 * round(hidden / aspect / 4))  # a multiple of 4 leaves PP options
    head_dim = 128 if hidden % 128 == 0 else like.head_dim
    ffn = like.ffn_hidden_size / like.hidden_size * hidden
    ffn = int(math.ceil(ffn / 256.0) * 256)
    return replace(
        like,
        name=f"h{hidden}-l{layers}",
        num_layers=layers,
        hidden_size=hidden,
        ffn_hidden_size=ffn,
        num_attention_heads=hidden // head_dim,
        num_query_groups=None,
    )


def largest_model(
    tokens: float,
    days: float,
    num_gpus: int,
    gpu: GpuSpec,
    assumed_mfu: float,
    like: ModelConfig,
    global_batch_tokens: float,
    overhead_gib: float,
    gpus_per_node: int = 8,
) -> tuple[ReverseRow | None, list[ReverseRow]]:
    """Largest model of ``like``'s shape family trainable on ``tokens`` in ``days`` on the GPUs.

    A shape is trainable when its training FLOPs fit the budget at the assumed MFU and some
    layout of ``num_gpus`` holds it in memory.

    Returns:
        (the largest trainable shape or None, every shape tried in increasing size).
    """
    rows = []
    for hidden in range(512, 16384 + 1, 256):
        shape = _shape_for_width(hidden, like)
        if shape.hidden_size % shape.num_attention_heads:
            continue
        n = count_parameters(shape).total
        total_flops = flops_per_token(shape) * tokens
        tps = throughput_from_mfu(assumed_mfu, shape, gpu)
        needed = train_days(tokens, tps, num_gpus)
        sequences = global_batch_tokens / shape.seq_length
        best = None
        for lay in candidate_layouts(shape, num_gpus, gpus_per_node, None):
            if lay.recompute != "none" or lay.zero_stage != 1:
                continue
            # The batch follows the layout: the nearest multiple of DP × micro-batch.
            unit = lay.data * lay.micro_batch_size
            gbs = max(unit, int(round(sequences / unit)) * unit)
            mem = estimate_memory(shape, lay, gbs, overhead_gib)
            if mem.total_gib <= gpu.memory_gib:
                key = (lay.tensor * lay.pipeline, mem.total_gib)
                if best is None or key < best[0]:
                    best = (key, lay, mem)
        layout = (
            f"TP{best[1].tensor}·PP{best[1].pipeline}·DP{best[1].data}" if best else "none fits"
        )
        rows.append(
            ReverseRow(
                num_layers=shape.num_layers,
                hidden_size=shape.hidden_size,
                ffn_hidden_size=shape.ffn_hidden_size,
                num_attention_heads=shape.num_attention_heads,
                params=n,
                flops_total=total_flops,
                days_needed=needed,
                tokens_per_param=tokens / n,
                best_layout=layout,
                memory_gib=best[2].total_gib if best else float("nan"),
                trainable=best is not None and needed <= days,
            )
        )
    trainable = [r for r in rows if r.trainable]
    return (max(trainable, key=lambda r: r.params) if trainable else None), rows


def as_dict(obj) -> dict:  # noqa: ANN001
    """A dataclass as a dict (for tables)."""
    return asdict(obj)
