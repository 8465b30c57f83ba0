"""Streaming HF export: a checkpoint becomes a LlamaForCausalLM folder tensor by tensor.

The small cases run in this process (one gloo rank, the CPU shim): every weight read alone from
a real ``dist_checkpointing`` checkpoint equals the model's, a meta-device model run with its
weights loaded on demand gives the model's logits exactly, and the streamed, sharded folder
loads in ``transformers`` with the same logits and the same tensors as the in-memory export.
The 13 B layer shape (hidden 4,608, FFN 12,288, 36 heads, vocab 65,536, 2 layers: 1.11 B
parameters, 4.45 GB in fp32) runs in subprocesses, so that the export's peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from skyforge.config import ModelConfig
from skyforge.model.checkpoint_reader import CheckpointReader, module_layout
from skyforge.model.export_hf import export_checkpoint, export_hf, llama_state_dict
from skyforge.model.gpt import build_model, build_model_on_meta
from skyforge.model.on_demand import weights_on_demand
from skyforge.plan.inference import export_host_peak_bytes, model_bytes

GQA = ModelConfig.with_defaults(
    num_layers=3,
    hidden_size=64,
    ffn_hidden_size=176,
    num_attention_heads=4,
    seq_length=32,
    vocab_size=512,
    num_query_groups=2,
)
NORM_HEAD = ModelConfig(**{**GQA.__dict__, "norm_head": True, "num_query_groups": None})

SHAPE_13B = {
    "num_layers": 2,
    "hidden_size": 4608,
    "ffn_hidden_size": 12288,
    "num_attention_heads": 36,
    "seq_length": 4096,
    "vocab_size": 65536,
}


def _saved_model(cfg: ModelConfig, path: Path) -> torch.nn.Module:
    from megatron.core import dist_checkpointing

    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # norms away from 1, so that a swapped norm shows
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    path.mkdir()
    dist_checkpointing.save({"model": model.sharded_state_dict()}, str(path))
    return model


@pytest.mark.usefixtures("megatron_one_rank")
@pytest.mark.parametrize("cfg", [GQA, NORM_HEAD], ids=["gqa", "mha-norm-head"])
def test_streamed_export_equals_model_and_in_memory_export(cfg: ModelConfig, tmp_path: Path):
    from safetensors.torch import load_file
    from transformers import LlamaForCausalLM

    model = _saved_model(cfg, tmp_path / "ckpt")
    meta = build_model_on_meta(cfg).eval()
    assert {p.device.type for p in meta.parameters()} == {"meta"}
    layout = module_layout(meta.sharded_state_dict())
    reader = CheckpointReader(tmp_path / "ckpt")
    state = {k: v for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    for name, where in layout.items():  # every weight, layer-stacked or not, read alone
        assert torch.equal(reader.read(where), state[name]), name

    tokens = torch.randint(0, cfg.vocab_size, (2, cfg.seq_length), generator=torch.Generator())
    positions = torch.arange(cfg.seq_length).expand(2, -1)
    mask = ~torch.ones(cfg.seq_length, cfg.seq_length, dtype=torch.bool).tril()
    with torch.no_grad():
        expected = model(tokens, positions, mask.expand(2, 1, -1, -1))
        with weights_on_demand(meta, lambda k: reader.read(layout[k])):
            got = meta(tokens, positions, mask.expand(2, 1, -1, -1))
    assert torch.equal(got, expected)
    assert {p.device.type for p in meta.parameters()} == {"meta"}  # nothing kept

    checked = []
    out = export_checkpoint(
        reader,
        layout,
        cfg,
        tmp_path / "hf",
        rotary_base=float(meta.rotary_base),
        norm_eps=meta.config.layernorm_epsilon,
        max_shard_bytes=60_000,  # several files and an index
        verify=checked.append,
    )
    assert len(checked) == 1 and checked[0].parent == tmp_path  # verified before the rename
    files = sorted(p.name for p in out.glob("*.safetensors"))
    assert len(files) > 2 and (out / "model.safetensors.index.json").is_file()
    streamed = {k: v for f in files for k, v in load_file(out / f).items()}
    in_memory = llama_state_dict(model, cfg)
    assert streamed.keys() == in_memory.keys()
    assert all(torch.equal(streamed[k], in_memory[k]) for k in streamed)
    hf = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    with torch.no_grad():
        diff = (hf(input_ids=tokens).logits - expected).abs().max().item()
    assert diff < 1e-4 and expected.abs().max() > 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "hf"]  # no temp dir left


@pytest.mark.usefixtures("megatron_one_rank")
def test_failed_verification_leaves_no_folder_and_bad_checkpoint_is_named(tmp_path: Path):
    _saved_model(GQA, tmp_path / "ckpt")
    meta = build_model_on_meta(GQA)
    reader = CheckpointReader(tmp_path / "ckpt")

    def refuse(folder: Path) -> None:
        raise RuntimeError("logits differ")

    with pytest.raises(RuntimeError, match="logits differ"):
        export_checkpoint(
            reader,
            module_layout(meta.sharded_state_dict()),
            GQA,
            tmp_path / "hf",
            rotary_base=10000.0,
            norm_eps=1e-5,
            verify=refuse,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    with pytest.raises(ValueError, match=f"checkpoint '{tmp_path / 'hf'}'"):
        CheckpointReader(tmp_path / "hf")
    # The in-memory export writes one model.safetensors below the default shard size.
    export_hf(build_model(GQA), GQA, tmp_path / "one")
    assert sorted(p.name for p in (tmp_path / "one").glob("*.safetensors")) == ["model.safetensors"]


def _probe(*args: str) -> str:
    env = {**os.environ, "SKYFORGE_PROBE_MODEL": json.dumps(SHAPE_13B)}
    probe = Path(__file__).with_name("export_probe.py")
    done = subprocess.run(
        [sys.executable, str(probe), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_13b_layer_shape_exports_in_a_fraction_of_its_size(tmp_path: Path):
    """The streaming export of the 13 B layer shape at 2 layers: its peak RSS stays under the
    planner's formula and under half of the model's fp32 size, and the logit check passes."""
    cfg = ModelConfig.with_defaults(**SHAPE_13B)
    _probe("make", str(tmp_path / "ckpt"))
    line = _probe("export", str(tmp_path / "ckpt"), str(tmp_path / "hf"), str(2 * 1024**3))
    result = json.loads(line.strip().splitlines()[-1])
    peak, size = result["peak_rss"], model_bytes(cfg, 4)
    formula = export_host_peak_bytes(cfg, stored_bytes=4, out_dtype_bytes=4)
    print(
        f"peak RSS {peak / 1e9:.2f} GB, model {size / 1e9:.2f} GB, formula {formula / 1e9:.2f} GB"
    )
    assert result["report"]["max_abs_logit_diff"] < 1e-3
    assert peak < formula
    assert peak < 0.5 * size
    index = json.loads((tmp_path / "hf" / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == size
    assert len(set(index["weight_map"].values())) == 3  # 2 GiB files
