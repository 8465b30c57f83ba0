"""The megatron-core decoder on CPU: shapes, backward, GQA, Norm-Head, reset mask, param count.

One process, one rank: a 1-rank gloo group and megatron's parallel state are set up once for the
module (and torn down after), with the CPU shim of train/cpu.py applied.
"""

from __future__ import annotations

import pytest
import torch

from skyforge.config import ModelConfig
from skyforge.model.gpt import NormHeadLinear, build_model, count_parameters
from skyforge.plan.planner import count_parameters as planner_count

TINY = ModelConfig.with_defaults(
    num_layers=2,
    hidden_size=32,
    ffn_hidden_size=64,
    num_attention_heads=4,
    seq_length=16,
    vocab_size=128,
)
GQA = ModelConfig.with_defaults(
    num_layers=2,
    hidden_size=32,
    ffn_hidden_size=88,
    num_attention_heads=4,
    seq_length=16,
    vocab_size=96,
    num_query_groups=2,
)
NORM_HEAD = ModelConfig(**{**TINY.__dict__, "norm_head": True})


pytestmark = pytest.mark.usefixtures("megatron_one_rank")


def _causal_inputs(cfg: ModelConfig, batch: int = 2):
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, cfg.vocab_size, (batch, cfg.seq_length), generator=g)
    positions = torch.arange(cfg.seq_length).expand(batch, -1)
    mask = ~torch.ones(cfg.seq_length, cfg.seq_length, dtype=torch.bool).tril()
    return tokens, positions, mask.expand(batch, 1, -1, -1)


def test_forward_gives_logits_and_loss_backward_works():
    model = build_model(TINY)
    tokens, positions, mask = _causal_inputs(TINY)
    logits = model(tokens, positions, mask)
    assert logits.shape == (2, TINY.seq_length, TINY.vocab_size)
    assert torch.isfinite(logits).all()
    loss = model(tokens, positions, mask, labels=tokens.roll(-1, dims=1))
    assert loss.shape == (2, TINY.seq_length)  # per-token loss
    loss.mean().backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["output_layer.weight"].abs().sum() > 0
    assert grads["embedding.word_embeddings.weight"].abs().sum() > 0


def test_architecture():
    model = build_model(TINY)
    config = model.config
    assert config.normalization == "RMSNorm" and config.gated_linear_unit
    assert not config.add_bias_linear and model.position_embedding_type == "rope"
    assert not model.share_embeddings_and_output_weights
    assert not any("bias" in n for n, _ in model.named_parameters())
    if not torch.cuda.is_available():
        assert not (config.masked_softmax_fusion or config.bias_activation_fusion)
        assert not (config.apply_rope_fusion or config.persist_layer_norm)
    assert not isinstance(model.output_layer, NormHeadLinear)


def test_gqa_shapes():
    model = build_model(GQA)
    attn = model.decoder.layers[0].self_attention
    head_dim = GQA.hidden_size // GQA.num_attention_heads
    # Fused QKV: all query heads plus one K and one V per group.
    assert attn.linear_qkv.weight.shape == (
        (GQA.num_attention_heads + 2 * GQA.kv_groups) * head_dim,
        GQA.hidden_size,
    )
    tokens, positions, mask = _causal_inputs(GQA)
    assert model(tokens, positions, mask).shape == (2, GQA.seq_length, GQA.vocab_size)


@pytest.mark.parametrize("cfg", [TINY, GQA, NORM_HEAD], ids=["tiny", "gqa", "norm-head"])
def test_parameter_count_equals_planner(cfg: ModelConfig):
    assert count_parameters(build_model(cfg)) == planner_count(cfg).total


def test_pipeline_stage_ends():
    """pre_process drops the embedding; post_process drops the final norm and the head."""
    count = planner_count(TINY)
    first = build_model(TINY, post_process=False)
    last = build_model(TINY, pre_process=False)
    assert count_parameters(first) == count.total - count.lm_head - count.final_norm
    assert count_parameters(last) == count.total - count.embedding


def _head_logits(model, hidden: torch.Tensor) -> torch.Tensor:
    logits, _ = model.output_layer(hidden)
    return logits


def test_norm_head_rows_have_unit_norm_and_gradient_flows():
    model = build_model(NORM_HEAD)
    head = model.output_layer
    assert isinstance(head, NormHeadLinear)
    hidden = torch.randn(5, 1, NORM_HEAD.hidden_size, requires_grad=True)
    logits = _head_logits(model, hidden)
    unit = torch.nn.functional.normalize(head.weight.detach(), dim=1)
    torch.testing.assert_close(logits, hidden @ unit.T)
    # A logit is the projection on a unit vector: bounded by the hidden state's norm.
    assert (logits.abs() <= hidden.norm(dim=-1, keepdim=True) + 1e-5).all()
    logits.sum().backward()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0
    assert hidden.grad is not None and hidden.grad.abs().sum() > 0
    # Scaling the stored rows changes nothing; scaling the hidden state scales the logits.
    with torch.no_grad():
        before = _head_logits(model, hidden)
        head.weight.mul_(7.0)
        torch.testing.assert_close(_head_logits(model, hidden), before)
        torch.testing.assert_close(_head_logits(model, 3.0 * hidden), 3.0 * before)


def test_norm_head_full_model_forward():
    model = build_model(NORM_HEAD)
    tokens, positions, mask = _causal_inputs(NORM_HEAD)
    logits = model(tokens, positions, mask)
    assert logits.shape == (2, NORM_HEAD.seq_length, NORM_HEAD.vocab_size)
    # Final RMSNorm output has RMS ~1 (weights start at 1), so |logit| <= sqrt(hidden) per row.
    assert (logits.abs() <= NORM_HEAD.hidden_size**0.5 + 1e-4).all()


@pytest.mark.parametrize("reset", [False, True])
def test_reset_attention_mask_is_honoured(reset: bool):
    from megatron.core.transformer.enums import AttnMaskType

    model = build_model(TINY, reset_attention_mask=reset).eval()
    core = model.decoder.layers[0].self_attention.core_attention
    expected = AttnMaskType.arbitrary if reset else AttnMaskType.causal
    assert core.attn_mask_type == expected
    # Two documents [0, 6) and [6, 16): changing document 1 must not change document 2.
    tokens, positions, _ = _causal_inputs(TINY, batch=1)
    doc = torch.zeros(TINY.seq_length, dtype=torch.long)
    doc[6:] = 1
    allowed = (doc[:, None] == doc[None, :]) & torch.ones(16, 16, dtype=torch.bool).tril()
    mask = (~allowed)[None, None]
    other = tokens.clone()
    other[0, :6] = (other[0, :6] + 1) % TINY.vocab_size
    with torch.no_grad():
        a = model(tokens, positions, mask)
        b = model(other, positions, mask)
    torch.testing.assert_close(a[0, 6:], b[0, 6:])
    assert not torch.allclose(a[0, :6], b[0, :6])
