"""Subprocess side of test_export_stream.py, one step per process so that each peak RSS is its
own: ``make CKPT`` saves a randomly initialised bf16 model (as a GPU run saves it) of the shape
given as JSON in SKYFORGE_PROBE_MODEL; ``export CKPT OUT SHARD TOKENIZER`` streams it into an HF
folder; ``eval OUT DOCS`` scores the documents of a JSON list with the eval path (the domain
loss's loader and scorer, and the layer cosine). Each prints one JSON line: the peak RSS in
bytes and what the step returned."""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _cfg():
    from skyforge.config import ModelConfig

    return ModelConfig.with_defaults(**json.loads(os.environ["SKYFORGE_PROBE_MODEL"]))


def make(ckpt: Path) -> None:
    import torch
    from megatron.core import dist_checkpointing
    from megatron.core import parallel_state as ps

    from skyforge.model.gpt import build_model_on_meta
    from skyforge.train.distributed import initialize_distributed

    initialize_distributed(1, 1, 0)
    # Built on meta, then filled: megatron's own init of 1 B parameters takes most of the time
    # and is not what the export is about (the norms stay fp32, as megatron keeps them).
    model = build_model_on_meta(_cfg(), params_dtype=torch.bfloat16).to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # norms away from 1: a swapped norm would show in the logits
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5, generator=g)
            else:  # std 0.02 as megatron's init; uniform is the fastest fill of 1 B values
                p.uniform_(-0.0346, 0.0346, generator=g)
    ckpt.mkdir(parents=True)
    dist_checkpointing.save({"model": model.sharded_state_dict()}, str(ckpt))
    ps.destroy_model_parallel()


def _done(result: object) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss": peak, "result": result}))


def export(ckpt: Path, out: Path, max_shard_bytes: int, tokenizer_dir: Path) -> None:
    from skyforge.train.hf_stage import export_checkpoint_dir

    _done(
        export_checkpoint_dir(
            ckpt, _cfg(), out, tokenizer_dir=tokenizer_dir, max_shard_bytes=max_shard_bytes
        )
    )


def evaluate(folder: Path, docs: Path) -> None:
    import time

    from skyforge.eval.domain_loss import load_causal_lm, score_texts
    from skyforge.eval.layer_cosine import layer_cosines

    texts = json.loads(docs.read_text(encoding="utf-8"))
    start = time.perf_counter()
    model, tokenizer = load_causal_lm(folder)
    loaded = time.perf_counter()
    scores = score_texts(model, tokenizer, texts, batch_tokens=512)
    cosines = layer_cosines(model, tokenizer, texts)
    _done(
        {
            "dtype": str(next(model.parameters()).dtype),
            "nll_per_token": sum(s.nll for s in scores) / sum(s.num_predicted for s in scores),
            "tokens": sum(s.num_tokens for s in scores),
            "layer_cosines": [float(c) for c in cosines],
            "load_s": loaded - start,
            "eval_s": time.perf_counter() - loaded,
        }
    )


if __name__ == "__main__":
    step, *args = sys.argv[1:]
    if step == "make":
        make(Path(args[0]))
    elif step == "export":
        export(Path(args[0]), Path(args[1]), int(args[2]), Path(args[3]))
    else:
        evaluate(Path(args[0]), Path(args[1]))
