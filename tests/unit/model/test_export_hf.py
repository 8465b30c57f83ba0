"""HF export: a LlamaForCausalLM loaded from the exported folder gives the megatron logits.

One process, one rank: a 1-rank gloo group and megatron's parallel state (TP1/PP1) with the CPU
shim, as in test_model.py. Each variant (MHA, GQA, Norm-Head) is built with random weights,
exported, reloaded with ``transformers`` in fp32 and run on the same tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from skyforge.config import ModelConfig
from skyforge.model.export_hf import export_hf
from skyforge.model.gpt import build_model

GQA = ModelConfig.with_defaults(
    num_layers=2,
    hidden_size=64,
    ffn_hidden_size=176,
    num_attention_heads=4,
    seq_length=32,
    vocab_size=512,
    num_query_groups=2,
)
MHA = ModelConfig(**{**GQA.__dict__, "num_query_groups": None})
NORM_HEAD = ModelConfig(**{**GQA.__dict__, "norm_head": True})


pytestmark = pytest.mark.usefixtures("megatron_one_rank")


def _randomise(model: torch.nn.Module) -> None:
    """Perturb every weight, norms included (they start at 1, which would hide a swapped norm)."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("cfg", [MHA, GQA, NORM_HEAD], ids=["mha", "gqa", "norm-head"])
def test_exported_llama_reproduces_megatron_logits(cfg: ModelConfig, tmp_path: Path):
    from transformers import LlamaForCausalLM

    model = build_model(cfg).eval()
    _randomise(model)
    if cfg.norm_head:
        with torch.no_grad():  # rows far from unit norm: the export must normalise them
            model.output_layer.weight.mul_(3.0)
    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    (tok_dir / "tokenizer.json").write_text('{"stub": true}')
    out = export_hf(model, cfg, tmp_path / "hf", tokenizer_dir=tok_dir)

    assert out == tmp_path / "hf"
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf", "tok"]  # no temp dir left
    config = json.loads((out / "config.json").read_text())
    assert config["num_key_value_heads"] == cfg.kv_groups
    assert config["rope_parameters"]["rope_theta"] == 10000.0
    assert config["max_position_embeddings"] == cfg.seq_length
    assert config["tie_word_embeddings"] is False

    hf = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, cfg.vocab_size, (2, cfg.seq_length), generator=g)
    positions = torch.arange(cfg.seq_length).expand(2, -1)
    mask = ~torch.ones(cfg.seq_length, cfg.seq_length, dtype=torch.bool).tril()
    with torch.no_grad():
        expected = model(tokens, positions, mask.expand(2, 1, -1, -1))
        got = hf(input_ids=tokens).logits
    assert got.shape == expected.shape == (2, cfg.seq_length, cfg.vocab_size)
    diff = (got - expected).abs().max().item()
    print(f"{cfg.num_query_groups=} {cfg.norm_head=} max |logit diff| = {diff:.2e}")
    assert diff < 1e-4
    assert expected.abs().max() > 0.1  # the comparison is not between two near-zero tensors


def test_export_replaces_existing_folder_and_rejects_empty_tokenizer_dir(tmp_path: Path):
    model = build_model(GQA)
    out = tmp_path / "hf"
    out.mkdir()
    (out / "stale.bin").write_text("old")
    export_hf(model, GQA, out)
    assert not (out / "stale.bin").exists() and (out / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="tokenizer_dir"):
        export_hf(model, GQA, tmp_path / "other", tokenizer_dir=tmp_path / "nothing")
    assert not (tmp_path / "other").exists()
