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
import shutil
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
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]  # what loaders and lm-eval check
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


def _probe(shape: dict, *args: str) -> dict:
    env = {**os.environ, "SKYFORGE_PROBE_MODEL": json.dumps(shape)}
    probe = Path(__file__).with_name("export_probe.py")
    done = subprocess.run(
        [sys.executable, str(probe), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}


def _tokenizer(folder: Path, texts: list[str]) -> Path:
    """A byte-level BPE of a few hundred ids (ids of a 65,536-row embedding) with the chat
    roles, saved as an HF tokenizer folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.save_pretrained(folder)
    return folder


DOCS = [
    "The quick brown fox jumps over the lazy dog. " * 6,
    "计算 7 加 15 等于多少？答案是 22。" * 5,
    "def add(a, b):\n    return a + b\n" * 4,
]


def test_13b_layer_shape_exports_without_the_whole_model_and_evaluates(tmp_path: Path):
    """The 13 B layer shape at 2 layers, saved in bf16 as a GPU run saves it: the streaming
    export's peak RSS stays under the planner's formula, which depends on the largest tensor and
    not on the depth (the full 52-layer model is 12× this one), the logit check passes, and the
    exported folder goes through the eval path (domain-loss loader and scorer, layer cosine) on
    CPU."""
    tok = _tokenizer(tmp_path / "tok", DOCS)
    _probe(SHAPE_13B, "make", str(tmp_path / "ckpt"))
    out = tmp_path / "hf"
    export = _probe(SHAPE_13B, "export", str(tmp_path / "ckpt"), str(out), str(1024**3), str(tok))
    shutil.rmtree(tmp_path / "ckpt")  # 2.2 GB: keep the disk light
    peak, report = export["peak_rss"], export["result"]
    cfg = ModelConfig.with_defaults(**SHAPE_13B)
    size = model_bytes(cfg, 2)
    formula = export_host_peak_bytes(cfg, stored_bytes=2, out_dtype_bytes=2)
    full = ModelConfig(**{**cfg.__dict__, "num_layers": 52})
    assert export_host_peak_bytes(full, stored_bytes=2, out_dtype_bytes=2) == formula
    figures = [
        ("peak", peak),
        ("model", size),
        ("formula (any depth)", formula),
        ("model at 52 layers", model_bytes(full, 2)),
    ]
    gb = {k: f"{v / 1e9:.2f} GB" for k, v in figures}
    print("streaming export, 13 B layer shape in bf16, 2 layers:", gb)
    assert report["max_abs_logit_diff"] < 1e-3 and report["dtype"] == "bfloat16"
    assert peak < formula < 0.15 * model_bytes(full, 2)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == size
    assert len(set(index["weight_map"].values())) == 3  # 1 GiB files
    assert (out / "tokenizer.json").is_file()

    (tmp_path / "docs.json").write_text(json.dumps(DOCS), encoding="utf-8")
    ev = _probe(SHAPE_13B, "eval", str(out), str(tmp_path / "docs.json"))
    print(f"eval path on CPU: {ev}")
    result = ev["result"]
    assert result["dtype"] == "torch.float32"  # CPU: fp32 (a GPU node: bf16)
    assert result["tokens"] > 100 and 0 < result["nll_per_token"] < 20
    assert len(result["layer_cosines"]) == 2
