"""Attention backends on CPU: document masks without a dense mask, flex == local, selection.

* The per-token document ids (from reset position ids) allow exactly the (query, key) pairs of
  megatron-core's dense reset mask — as FlexAttention's mask (every pair evaluated by torch's
  ``create_mask``) and as flash-attn / TE ``cu_seqlens`` — on samples cut from a document
  stream (documents crossing the window, EOD first, last, twice in a row, none), packed SFT
  samples and plain causal rows.
* A ``flex`` model gives the logits and gradients of the ``local`` one with the same weights
  (fp32, 1e-5), for MHA, GQA and Norm-Head.
* ``FlashCoreAttention``'s layout around the kernel is checked with a torch reference of
  ``flash_attn_varlen_func`` (flash-attn itself needs a GPU).
* Backend selection: auto is local on CPU, a backend that cannot run is a one-line error
  naming the key, and the layers get the chosen core attention.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from megatron.core.datasets.gpt_dataset import _get_ltor_masks_and_position_ids

from skyforge.config import ConfigError, ModelConfig, validate_config
from skyforge.model.attention import (
    FlashCoreAttention,
    FlexCoreAttention,
    backend_status,
    cu_seqlens,
    document_ids,
    document_mask_mod,
    model_forward,
    resolve_backend,
)
from skyforge.model.gpt import build_model

EOD = 0
SEQ = 32

MHA = ModelConfig.with_defaults(
    num_layers=2,
    hidden_size=32,
    ffn_hidden_size=64,
    num_attention_heads=4,
    seq_length=SEQ,
    vocab_size=128,
)
GQA = dataclasses.replace(MHA, num_query_groups=2, ffn_hidden_size=88)
NORM_HEAD = dataclasses.replace(MHA, norm_head=True)


def _stream_samples(seed: int, batch: int, eod_rate: float) -> torch.Tensor:
    """``batch`` windows cut from one token stream of documents ending in EOD."""
    g = torch.Generator().manual_seed(seed)
    stream = torch.randint(1, 100, (batch * SEQ,), generator=g)
    stream[torch.rand(stream.shape, generator=g) < eod_rate] = EOD
    return stream.view(batch, SEQ)


def _edge_samples() -> torch.Tensor:
    rows = torch.randint(1, 100, (5, SEQ), generator=torch.Generator().manual_seed(9))
    rows[0, 0] = EOD  # a document of one token first
    rows[1, -1] = EOD  # EOD last: nothing after it in the window
    rows[2, 10:12] = EOD  # two in a row: a one-token document between them
    rows[3, ::3] = EOD  # many short documents
    return rows  # row 4: no EOD (one document crossing both window edges)


def _megatron(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense allowed-pairs [b, s, s] and position ids, as megatron's GPTDataset builds them."""
    allowed, positions = [], []
    for row in tokens:
        mask, _, pos = _get_ltor_masks_and_position_ids(row, EOD, True, True, False, True)
        allowed.append(~mask[0])
        positions.append(pos)
    return torch.stack(allowed), torch.stack(positions)


def _sft_rows() -> tuple[torch.Tensor, torch.Tensor]:
    """Packed conversations (``objectives.sft.packed_sample``), padding after the last one."""
    import numpy as np

    from skyforge.train.objectives.sft import packed_sample

    allowed, positions = [], []
    for lengths in ([5, 9, 7], [20], [3, 3, 3, 3]):
        ids = []
        for n in lengths:
            ids += list(range(10, 10 + n - 1)) + [EOD]
        ids += [1] * (SEQ + 1 - len(ids))  # pad id 1 (not EOD)
        sample = packed_sample(np.array(ids), np.zeros(SEQ + 1, dtype=bool), EOD)
        allowed.append(~sample["attention_mask"][0])
        positions.append(sample["position_ids"])
    return torch.stack(allowed), torch.stack(positions)


def _cases():
    for seed, batch, rate in ((0, 4, 0.1), (1, 3, 0.3), (2, 2, 0.02)):
        yield f"stream-{seed}", *_megatron(_stream_samples(seed, batch, rate))
    yield "edges", *_megatron(_edge_samples())
    yield "sft", *_sft_rows()
    causal = torch.ones(SEQ, SEQ, dtype=torch.bool).tril().expand(2, -1, -1)
    yield "causal", causal, torch.arange(SEQ).expand(2, -1)


CASES = {name: (allowed, pos) for name, allowed, pos in _cases()}


@pytest.mark.parametrize("case", list(CASES))
def test_flex_block_mask_allows_the_dense_mask_pairs(case: str):
    from torch.nn.attention.flex_attention import create_block_mask, create_mask

    allowed, positions = CASES[case]
    ids = document_ids(positions)
    b = ids.shape[0]
    flex = create_mask(document_mask_mod(ids), b, 1, SEQ, SEQ, device="cpu")[:, 0]
    assert torch.equal(flex, allowed), case
    # The block mask the kernel reads, at the smallest tile: the same pairs, and whole tiles
    # outside every document are skipped.
    block = create_block_mask(document_mask_mod(ids), b, None, SEQ, SEQ, device="cpu", BLOCK_SIZE=8)
    dense_tiles = block.to_dense()[:, 0].bool()
    tiles = allowed.view(b, SEQ // 8, 8, SEQ // 8, 8).any(dim=(2, 4))
    assert torch.equal(dense_tiles, tiles), case


@pytest.mark.parametrize("case", list(CASES))
def test_cu_seqlens_allow_the_dense_mask_pairs(case: str):
    allowed, positions = CASES[case]
    cu, max_len = cu_seqlens(document_ids(positions))
    b = positions.shape[0]
    assert cu.dtype == torch.int32 and cu[0] == 0 and cu[-1] == b * SEQ
    lengths = cu[1:] - cu[:-1]
    assert (lengths > 0).all() and int(lengths.max()) == max_len
    # Pairs of the packed [b * s] layout: same sequence, key not after query.
    seq_of = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    idx = torch.arange(b * SEQ)
    packed = (seq_of[:, None] == seq_of[None, :]) & (idx[:, None] >= idx[None, :])
    expected = torch.block_diag(*allowed)  # samples never attend to each other
    assert torch.equal(packed, expected), case


def _copy_weights(src: torch.nn.Module, dst: torch.nn.Module) -> None:
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=False)
    assert not unexpected and all(k.endswith("_extra_state") for k in missing), (
        missing,
        unexpected,
    )


@pytest.mark.usefixtures("megatron_one_rank")
@pytest.mark.parametrize("cfg", [MHA, GQA, NORM_HEAD], ids=["mha", "gqa", "norm_head"])
def test_flex_model_equals_local_model(cfg: ModelConfig):
    local = build_model(cfg, reset_attention_mask=True, attention_backend="local")
    flex = build_model(cfg, reset_attention_mask=True, attention_backend="flex")
    assert all(
        isinstance(layer.self_attention.core_attention, FlexCoreAttention)
        for layer in flex.decoder.layers
    )
    _copy_weights(local, flex)
    tokens = _stream_samples(3, 3, 0.15) % cfg.vocab_size
    allowed, positions = _megatron(tokens)
    mask = (~allowed)[:, None]
    labels = tokens.roll(-1, dims=1)
    with torch.no_grad():
        a = model_forward(local, "local", tokens, positions, mask)
        b = model_forward(flex, "flex", tokens, positions, None)  # no dense mask needed
    assert a.shape == b.shape == (3, SEQ, cfg.vocab_size)
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    # Gradients too: training on either backend is the same training.
    for model, backend in ((local, "local"), (flex, "flex")):
        model_forward(model, backend, tokens, positions, mask, labels=labels).mean().backward()
    for (name, p), q in zip(local.named_parameters(), flex.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6, msg=name)


def _reference_varlen(q, k, v, cu_q, cu_k, max_q, max_k, dropout_p, softmax_scale, causal):  # noqa: ANN001
    """flash_attn_varlen_func's contract in torch: causal SDPA per packed sequence."""
    assert torch.equal(cu_q, cu_k) and causal and dropout_p == 0.0
    out = torch.empty_like(q)
    for start, end in zip(cu_q[:-1].tolist(), cu_q[1:].tolist(), strict=True):
        qs, ks, vs = (t[start:end].transpose(0, 1) for t in (q, k, v))  # [h, n, d]
        out[start:end] = torch.nn.functional.scaled_dot_product_attention(
            qs, ks, vs, is_causal=True, scale=softmax_scale, enable_gqa=ks.shape[0] != qs.shape[0]
        ).transpose(0, 1)
    return out


@pytest.mark.usefixtures("megatron_one_rank")
@pytest.mark.parametrize("groups", [4, 2])
def test_flash_layout_matches_local_attention(groups: int):
    from megatron.core.transformer.dot_product_attention import DotProductAttention
    from megatron.core.transformer.enums import AttnMaskType

    from skyforge.model.gpt import transformer_config

    cfg = dataclasses.replace(MHA, num_query_groups=groups)
    config = transformer_config(cfg)
    local = DotProductAttention(config, 1, AttnMaskType.arbitrary, "self")
    flash = FlashCoreAttention(config, 1, AttnMaskType.causal, "self", kernel=_reference_varlen)
    tokens = _stream_samples(4, 3, 0.2)
    allowed, positions = _megatron(tokens)
    g = torch.Generator().manual_seed(5)
    q = torch.randn(SEQ, 3, 4, 8, generator=g)
    k, v = (torch.randn(SEQ, 3, groups, 8, generator=g) for _ in range(2))
    expected = local(q, k, v, (~allowed)[:, None])
    got = flash(q, k, v, document_ids(positions))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_backend_selection_on_cpu():
    assert resolve_backend("auto", on_gpu=False).name == "local"  # the laptop path, unchanged
    assert resolve_backend("local", on_gpu=False).name == "local"
    assert resolve_backend("flex", on_gpu=False).name == "flex"
    status = backend_status(on_gpu=False)
    for name in ("flash", "transformer_engine"):
        assert status[name] == "needs a CUDA GPU"
        with pytest.raises(ValueError, match=f"config key 'model.attention_backend': '{name}'"):
            resolve_backend(name, on_gpu=False)
    with pytest.raises(ValueError, match="unknown backend 'fast'"):
        resolve_backend("fast", on_gpu=False)
    # On a GPU auto takes the first of TE, flash, flex that imports (none of the first two can
    # import on this machine, so flex), never local while flex is there.
    on_gpu = backend_status(on_gpu=True)
    expected = next(n for n in ("transformer_engine", "flash", "flex") if on_gpu[n] is None)
    assert resolve_backend("auto", on_gpu=True).name == expected


def test_config_rejects_an_unknown_backend(repo_root):
    import yaml

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    config["model"]["attention_backend"] = "flashy"
    with pytest.raises(ConfigError, match="model.attention_backend"):
        validate_config(config)


def test_backend_is_not_part_of_the_stage_hash():
    from skyforge.synthetic.fixtures import tiny_configs
    from skyforge.train.spec import StageSpec

    model, _, _ = tiny_configs()
    base = dict(
        stage="s",
        description="",
        workdir=".",
        run_dir="r",
        manifest="m",
        blend="b",
        tokenizer="t",
        parallel={},
        accelerator="cpu",
        global_batch_size=1,
        train_steps=1,
        schedule={},
        optimizer={},
        num_train_samples=1,
        seed=0,
        eod_mask_loss=False,
        log_interval_steps=1,
        eval_interval_steps=1,
        eval_samples=1,
        save_interval_steps=1,
        keep_last_checkpoints=1,
    )
    a = StageSpec(model={**dataclasses.asdict(model), "attention_backend": "local"}, **base)
    b = StageSpec(model={**dataclasses.asdict(model), "attention_backend": "flex"}, **base)
    c = StageSpec(model={**dataclasses.asdict(model), "num_layers": 3}, **base)
    assert a.config_hash() == b.config_hash() != c.config_hash()


@pytest.mark.usefixtures("megatron_one_rank")
@pytest.mark.parametrize("recompute", ["selective", "full"])
@pytest.mark.parametrize("backend", ["local", "flex"])
def test_activation_recompute_gives_the_same_gradients(recompute: str, backend: str):
    """parallel.recompute reaches megatron-core (checkpointed layers re-run in backward; the
    document ids travel through its checkpoint as a tensor) and changes no gradient."""
    plain = build_model(GQA, reset_attention_mask=True, attention_backend=backend)
    again = build_model(
        GQA, reset_attention_mask=True, attention_backend=backend, recompute=recompute
    )
    assert again.config.recompute_granularity == recompute
    _copy_weights(plain, again)
    tokens = _stream_samples(6, 2, 0.15) % GQA.vocab_size
    allowed, positions = _megatron(tokens)
    mask = (~allowed)[:, None]
    for model in (plain, again):
        model_forward(
            model, backend, tokens, positions, mask, labels=tokens.roll(-1, 1)
        ).mean().backward()
    for (name, p), q in zip(plain.named_parameters(), again.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-7, msg=name)
