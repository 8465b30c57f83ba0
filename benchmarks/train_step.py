"""Training-step benchmark: tokens/s per device of our megatron-core training vs plain PyTorch.

Not a test: run it by hand and quote the command and its output. Two modes: the kernel paths
(default, below) and ``--loop``, the whole training loop:

**Loop** (``--loop``). Systems, each in a fresh process, on the same model shape, batch shape and
threads:

* **baseline** — what a researcher writes without megatron: ``transformers``
  ``LlamaForCausalLM`` of the same dimensions (RMSNorm, SwiGLU, RoPE, untied head),
  ``torch.optim.AdamW`` (β 0.9/0.95, wd 0.1; fused on a GPU), grad clipping at 1.0, one process,
  random tokens, SDPA attention with a causal mask.
* **ours** — ``skyforge.train.loop`` (megatron-core GPTModel, DistributedDataParallel, the
  distributed optimizer, ``get_forward_backward_func``, the reset document mask, real packed
  data from :func:`skyforge.synthetic.fixtures.make_workspace`) at DP1 and, with ``--dp2``, DP2
  through torchrun; per-step throughput is read from the run's ``metrics.csv`` (validation and
  checkpoint time excluded by the loop itself).

Per config: median tokens/s per device over the timed steps (the first step is warm-up), the
ratio ours / baseline, TFLOP/s per device from the plan's FLOPs per token (6N + 12·L·h·s), and
on a GPU the MFU against the card's bf16 peak together with the plan's prediction for that card
(``skyforge.plan.planner.predict_mfu``).

Configs: ``tiny`` (the embedded default's 2 × 64 model, seq 128), ``1b`` (16 × 2048, FFN 5632,
16 heads, vocab 32,000: 0.95 B parameters, seq 256 on CPU / 2048 on GPU) and ``0.7b`` (the same
with 12 layers, 0.74 B). On CPU, ours holds ~20 B per parameter (fp32 weights, fp32 grad buffer,
the optimizer's master copy, Adam moments): the 1b config needs ~23 GB, the 0.7b ~16 GB.

Measured on the 2-core CPU box (2026-11-30): tiny 13,906 tokens/s baseline, ours DP1 7,670
(0.55×), DP2 6,505 per device (0.47×); 0.7b 18 vs 12 tokens/s (0.66×). Where ours loses on CPU
(cProfile of a 4 × 2048 model): megatron's DDP reduce-scatters the whole fp32 grad buffer and
all-gathers the params through gloo at every step even on a 1-rank group (~40 % of the step;
a device copy with NCCL), and the local layer spec's unfused attention (baddbmm + masked
softmax over a dense [b, 1, s, s] mask) vs SDPA, which dominates the tiny model together with
per-op Python overhead.

    .venv/bin/python benchmarks/train_step.py --loop --configs tiny --steps 20 --dp2
    .venv/bin/python benchmarks/train_step.py --loop --configs 0.7b --steps 3

**Kernel paths** (the default mode; issue 11). One training step — ``build_training`` (DDP, the
distributed optimizer), ``get_forward_backward_func``, the loop's own ``forward_step`` through
:func:`skyforge.model.attention.model_forward` — on pre-built micro-batches, per attention
backend (``--backends``; default: every backend that can run here), with document masking on
(documents of mean ``--doc-len`` tokens, geometric, cut by the window as packing does) and off
(one document per sample). Baselines in the same run, same shapes: ``transformers``
``LlamaForCausalLM`` with ``attn_implementation="sdpa"`` (masking off: causal; on: the 4-D
block mask a user passes) and, when flash-attn imports, ``flash_attention_2`` (masking on:
packed position ids), with ``torch.optim.AdamW(fused=True)`` on a GPU. bf16 on a GPU, fp32 on
CPU. Per row: median tokens/s per device over the timed steps, TFLOP/s from the plan's FLOPs per
token (full causal attention counted, as MFU conventionally is, also when documents are
masked), MFU against the card's bf16 peak, and the plan's predicted tokens/s for the shape (one
GPU: ``plan.assumed_mfu`` of config.yaml, 56.5 %).

GPU configs run at 4,096 context: ``1b`` and ``skywork13b-4l`` (Skywork-13B's layer: 4,608
wide, 36 heads, FFN 12,288, vocabulary 65,536, at 4 of its 52 layers).

    .venv/bin/python benchmarks/train_step.py --configs tiny --steps 10          # CPU
    python benchmarks/train_step.py --configs 1b,skywork13b-4l --steps 10        # one GPU

Measured on the 2-core CPU box (2026-12-04, tiny, seq 128, fp32): see the README section
"Pretraining"; the GPU figures (H100/H200 MFU) are unmeasured: no GPU was lent to this work.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CONFIGS = {
    "tiny": dict(
        num_layers=2,
        hidden_size=64,
        ffn_hidden_size=176,
        num_attention_heads=4,
        vocab_size=4096,
        seq_cpu=128,
        seq_gpu=2048,
        mbs=2,
        accum=2,
    ),
    "1b": dict(
        num_layers=16,
        hidden_size=2048,
        ffn_hidden_size=5632,
        num_attention_heads=16,
        vocab_size=32000,
        seq_cpu=256,
        seq_gpu=2048,
        mbs=1,
        accum=1,
    ),
    # The 1b shape with 12 layers: 0.74 B parameters fit a 24 GB CPU box (fp32 weights, grads,
    # master copy and Adam ≈ 20 B/param); the 1b config needs ~23 GB there.
    "0.7b": dict(
        num_layers=12,
        hidden_size=2048,
        ffn_hidden_size=5632,
        num_attention_heads=16,
        vocab_size=32000,
        seq_cpu=256,
        seq_gpu=2048,
        mbs=1,
        accum=1,
    ),
    # Skywork-13B's layer shape at 4 of its 52 layers (1.6 B parameters with the embeddings).
    "skywork13b-4l": dict(
        num_layers=4,
        hidden_size=4608,
        ffn_hidden_size=12288,
        num_attention_heads=36,
        vocab_size=65536,
        seq_cpu=128,
        seq_gpu=4096,
        mbs=1,
        accum=2,
    ),
}
KERNEL_SEQ_GPU = 4096  # the kernel-path mode's context on a GPU (Skywork, Index-1.9B)


def _model_config(name: str, seq: int):
    from skyforge.config import ModelConfig

    c = CONFIGS[name]
    return ModelConfig.with_defaults(
        num_layers=c["num_layers"],
        hidden_size=c["hidden_size"],
        ffn_hidden_size=c["ffn_hidden_size"],
        num_attention_heads=c["num_attention_heads"],
        seq_length=seq,
        vocab_size=c["vocab_size"],
        name=name,
    )


# ---------------------------------------------------------------------------------------------
# Baseline (run in a child process: `--baseline-child`)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Ours
# ---------------------------------------------------------------------------------------------


def run_ours(name: str, seq: int, steps: int, dp: int, work: Path, ws: Path) -> dict:
    import dataclasses

    from skyforge.config import ParallelConfig, TrainConfig
    from skyforge.train.spec import TrainingOptions, build_stage_spec

    c = CONFIGS[name]
    model = _model_config(name, seq)
    gbs = dp * c["mbs"] * c["accum"]
    tps = gbs * seq
    train = TrainConfig.with_defaults(
        {
            "global_batch_size": gbs,
            "stage1": {
                "sessions": [
                    {
                        "name": "bench",
                        "tokens": (steps + 1) * tps,
                        "schedule": "constant",
                        "lr_max": 1e-4,
                    }
                ],
                "mix": {"en": 0.5, "zh": 0.4, "code": 0.1},
            },
            "stage2": {"lr": 1e-4, "substages": [{"stem_share": 0.1, "tokens": tps}]},
        }
    )
    parallel = ParallelConfig.with_defaults(
        tensor=1, pipeline=1, data=dp, micro_batch_size=c["mbs"]
    )
    opts = TrainingOptions(
        log_interval_steps=1,
        eval_interval_steps=10**9,
        eval_samples=1,
        save_interval_steps=10**9,
        checkpoint_dir=str(work / f"ckpt-{name}-dp{dp}"),
    )
    cwd = os.getcwd()
    os.chdir(ws)
    try:
        spec = build_stage_spec(
            "stage1_0",
            model=model,
            parallel=parallel,
            train=train,
            options=opts,
            accelerator="cpu",
            decay=None,
            blend=ws / "results/blends/stage1.json",
            tokenizer=ws / "results/tokenizer/tokenizer.json",
            manifest=work / f"manifest-{name}-dp{dp}.json",
            init_manifest=None,
        )
    finally:
        os.chdir(cwd)
    # The blend was planned for the workspace's own token budget: size the dataset for ours.
    spec = dataclasses.replace(spec, num_train_samples=(steps + 1) * gbs)
    spec_path = work / f"spec-{name}-dp{dp}.json"
    spec_path.write_text(spec.to_json())
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(dp)]
        if dp > 1
        else [sys.executable]
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [*launcher, "-m", "skyforge.train.loop", str(spec_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"ours ({name}, dp{dp}) failed:\n{proc.stderr[-4000:]}")
    with open(Path(spec.run_dir) / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["name"] == "perf/tokens_per_s_per_device"]
    values = [float(r["value"]) for r in rows if int(r["step"]) > 1]
    return {"tokens_per_s_per_device": statistics.median(values), "steps_timed": len(values)}


# ---------------------------------------------------------------------------------------------
# Kernel paths (children: `--step-child`, `--hf-child`)
# ---------------------------------------------------------------------------------------------


def _documents(mbs: int, seq: int, doc_len: int, seed: int):
    """Position ids [mbs, seq] restarting at 0 at each document start, as the packed datasets
    give them (documents of geometric length, mean ``doc_len``; 0: one document per sample)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    pos = torch.empty(mbs, seq, dtype=torch.long)
    for row in pos:
        i = 0
        while i < seq:
            n = seq
            if doc_len:
                n = 1 + int(torch.empty(1).exponential_(1 / doc_len, generator=g))
            take = min(n, seq - i)
            row[i : i + take] = torch.arange(take)
            i += take
    return pos


def _dense_mask(pos):  # noqa: ANN001
    """The local backend's dense reset mask [b, 1, s, s] (True = masked) for these positions."""
    import torch

    from skyforge.model.attention import document_ids

    ids = document_ids(pos)
    s = pos.shape[1]
    causal = torch.ones(s, s, dtype=torch.bool, device=pos.device).tril()
    return ~((ids[:, :, None] == ids[:, None, :]) & causal)[:, None]


def step_child(name: str, seq: int, steps: int, backend: str, doc_len: int) -> None:
    """Ours: one process, DP1, the loop's build_training + forward_step on this backend."""
    import dataclasses
    from functools import partial

    import torch
    from megatron.core.pipeline_parallel import get_forward_backward_func

    from skyforge.config import ParallelConfig
    from skyforge.train.distributed import build_training, initialize_distributed
    from skyforge.train.objectives.pretrain import forward_step
    from skyforge.train.spec import StageSpec

    c = CONFIGS[name]
    device = initialize_distributed(1, 1, 0)
    model_cfg = dataclasses.replace(_model_config(name, seq), attention_backend=backend)
    parallel = ParallelConfig.with_defaults(tensor=1, pipeline=1, data=1, micro_batch_size=c["mbs"])
    spec = StageSpec(
        stage="bench",
        description="",
        workdir=".",
        run_dir=".",
        manifest=".",
        blend=".",
        tokenizer=".",
        model=dataclasses.asdict(model_cfg),
        parallel=dataclasses.asdict(parallel),
        accelerator=device.type,
        global_batch_size=c["mbs"] * c["accum"],
        train_steps=steps + 1,
        schedule={"schedule": "constant", "lr_max": 1e-4},
        optimizer={"weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "grad_clip": 1.0},
        num_train_samples=1,
        seed=0,
        eod_mask_loss=False,
        log_interval_steps=1,
        eval_interval_steps=1,
        eval_samples=1,
        save_interval_steps=1,
        keep_last_checkpoints=1,
    )
    model, optimizer, _ = build_training(spec, backend)
    batches = []
    for m in range(c["accum"]):
        pos = _documents(c["mbs"], seq, doc_len, seed=m).to(device)
        tokens = torch.randint(0, model_cfg.vocab_size, (c["mbs"], seq), device=device)
        batch = {
            "tokens": tokens,
            "labels": tokens.roll(-1, 1),
            "position_ids": pos,
            "loss_mask": torch.ones(c["mbs"], seq, device=device),
        }
        if backend == "local":
            batch["attention_mask"] = _dense_mask(pos)
        batches.append(batch)
    fwd_bwd = get_forward_backward_func()
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        model.zero_grad_buffer()
        fwd_bwd(
            forward_step_func=partial(forward_step, backend=backend),
            data_iterator=iter(batches),
            model=[model],
            num_microbatches=c["accum"],
            seq_length=seq,
            micro_batch_size=c["mbs"],
            decoder_seq_length=seq,
            forward_only=False,
        )
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    per_step = statistics.median(times[1:])
    tokens = c["mbs"] * c["accum"] * seq
    mem = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    print(json.dumps({"tokens_per_s_per_device": tokens / per_step, "peak_gib": mem}))


def hf_child(name: str, seq: int, steps: int, attn: str, doc_len: int) -> None:
    """The baseline: transformers Llama (sdpa or flash_attention_2) + AdamW (fused on GPU)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    c = CONFIGS[name]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    cfg = LlamaConfig(
        vocab_size=c["vocab_size"],
        hidden_size=c["hidden_size"],
        intermediate_size=c["ffn_hidden_size"],
        num_hidden_layers=c["num_layers"],
        num_attention_heads=c["num_attention_heads"],
        max_position_embeddings=seq,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM._from_config(cfg, attn_implementation=attn, dtype=dtype).to(device)
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=1e-4,
        betas=(0.9, 0.95),
        weight_decay=0.1,
        fused=device == "cuda",
    )
    batches = []
    for m in range(c["accum"]):
        pos = _documents(c["mbs"], seq, doc_len, seed=m).to(device)
        ids = torch.randint(0, c["vocab_size"], (c["mbs"], seq), device=device)
        kw = {"input_ids": ids, "labels": ids}
        if doc_len and attn == "flash_attention_2":
            kw["position_ids"] = pos  # transformers packs by position-id resets (varlen)
        elif doc_len:
            mask = torch.zeros(c["mbs"], 1, seq, seq, dtype=dtype, device=device)
            kw["attention_mask"] = mask.masked_fill(_dense_mask(pos), torch.finfo(dtype).min)
        batches.append(kw)
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        for kw in batches:
            (model(**kw).loss / c["accum"]).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    per_step = statistics.median(times[1:])
    tokens = c["mbs"] * c["accum"] * seq
    mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    print(json.dumps({"tokens_per_s_per_device": tokens / per_step, "peak_gib": mem}))


def _child(args: list[str], timeout: float = 1800) -> dict | str:
    """Run a child mode of this script; its result, or the error's last line."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )
    if proc.returncode:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit {proc.returncode}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kernel_paths(args: argparse.Namespace) -> None:
    import torch

    from skyforge.config import load_config_files
    from skyforge.model.attention import backend_status
    from skyforge.plan.planner import GPUS, flops_per_token, throughput_from_mfu

    on_gpu = torch.cuda.is_available()
    card = torch.cuda.get_device_name() if on_gpu else f"CPU ({os.cpu_count()} cores)"
    gpu = next(
        (g for k, g in GPUS.items() if on_gpu and k.split("-")[0].lower() in card.lower()), None
    )
    assumed = float(load_config_files([REPO / "config.yaml"])["plan"]["assumed_mfu"])
    status = backend_status()
    backends = (
        args.backends.split(",")
        if args.backends
        else [b for b in ("local", "flex", "flash", "transformer_engine") if status[b] is None]
    )
    import megatron.core
    import transformers

    print(
        f"device: {card}; torch {torch.__version__}; megatron-core "
        f"{megatron.core.__version__}; transformers {transformers.__version__}; "
        f"dtype {'bf16' if on_gpu else 'fp32'}; backends here: "
        + ", ".join(f"{k}: {'yes' if v is None else v}" for k, v in status.items())
    )
    for name in args.configs.split(","):
        c = CONFIGS[name]
        seq = KERNEL_SEQ_GPU if on_gpu else c["seq_cpu"]
        fpt = flops_per_token(_model_config(name, seq))
        plan = throughput_from_mfu(assumed, _model_config(name, seq), gpu) if gpu else None
        print(
            f"\n{name}: seq {seq}, micro-batch {c['mbs']} × {c['accum']}, FLOPs/token "
            f"{fpt / 1e9:.3f} G, documents of mean {args.doc_len} tokens when masked"
            + (f"; plan predicts {plan:,.0f} tokens/s/GPU at {assumed:.1%} MFU" if plan else "")
        )
        head = f"{'system':34s} {'doc mask':>8s} {'tokens/s/dev':>13s} {'× sdpa':>7s} "
        head += f"{'TFLOP/s':>8s} {'MFU':>6s} {'meas/plan':>9s} {'peak GiB':>8s}"
        print(head)
        hf = ["sdpa"] + (["flash_attention_2"] if on_gpu and status["flash"] is None else [])
        for masked in (False, True):
            doc = args.doc_len if masked else 0
            rows = [
                (
                    f"HF Llama {a}",
                    _child(["--hf-child", name, str(seq), str(args.steps), a, str(doc)]),
                )
                for a in hf
            ]
            rows += [
                (
                    f"ours {b}",
                    _child(["--step-child", name, str(seq), str(args.steps), b, str(doc)]),
                )
                for b in backends
            ]
            base = rows[0][1]["tokens_per_s_per_device"] if isinstance(rows[0][1], dict) else None
            for label, r in rows:
                if not isinstance(r, dict):
                    print(f"{label:34s} {'on' if masked else 'off':>8s}  failed: {r[:120]}")
                    continue
                t = r["tokens_per_s_per_device"]
                line = f"{label:34s} {'on' if masked else 'off':>8s} {t:13,.0f} "
                line += f"{t / base:7.2f} " if base else f"{'—':>7s} "
                line += f"{t * fpt / 1e12:8.3f} "
                line += f"{t * fpt / (gpu.peak_bf16_tflops * 1e12):6.1%} " if gpu else f"{'—':>6s} "
                line += f"{t / plan:9.2f} " if plan else f"{'—':>9s} "
                line += f"{r['peak_gib']:8.1f}" if r.get("peak_gib") else f"{'—':>8s}"
                print(line, flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="tiny", help=f"comma-separated: {', '.join(CONFIGS)}")
    p.add_argument("--steps", type=int, default=10, help="timed steps (after one warm-up)")
    p.add_argument("--dp2", action="store_true", help="also run ours at DP2 (torchrun, 2 ranks)")
    p.add_argument(
        "--loop",
        action="store_true",
        help="compare the whole training loop (packed data, DP1/DP2) instead",
    )
    p.add_argument(
        "--backends",
        default="",
        help="kernel mode: comma-separated backends (default: all that can run here)",
    )
    p.add_argument(
        "--doc-len",
        type=int,
        default=512,
        help="kernel mode: mean document length when masking is on",
    )
    p.add_argument("--step-child", nargs=5, metavar=("CONFIG", "SEQ", "STEPS", "BACKEND", "DOC"))
    p.add_argument("--hf-child", nargs=5, metavar=("CONFIG", "SEQ", "STEPS", "ATTN", "DOC"))
    args = p.parse_args()
    for flag, child in ((args.step_child, step_child), (args.hf_child, hf_child)):
        if flag:
            name, seq, steps, what, doc = flag
            child(name, int(seq), int(steps), what, int(doc))
            return
    if not args.loop:
        kernel_paths(args)
        return

    import torch

    from skyforge.plan.planner import GPUS, flops_per_token
    from skyforge.synthetic.fixtures import make_workspace

    on_gpu = torch.cuda.is_available()
    card = torch.cuda.get_device_name() if on_gpu else f"CPU ({os.cpu_count()} cores)"
    print(f"device: {card}; torch {torch.__version__}; threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory(prefix="skyforge-bench-") as tmp:
        work = Path(tmp)
        for name in args.configs.split(","):
            seq = CONFIGS[name]["seq_gpu" if on_gpu else "seq_cpu"]
            ws = work / f"ws-{seq}"
            if not ws.exists():
                make_workspace(ws, seq_length=seq, docs=600)
            fpt = flops_per_token(_model_config(name, seq))
            b = _child(["--hf-child", name, str(seq), str(args.steps), "sdpa", "0"])
            if not isinstance(b, dict):
                raise SystemExit(f"baseline failed: {b}")
            results = [("baseline (HF Llama + AdamW, 1 process)", b["tokens_per_s_per_device"])]
            results.append(
                (
                    "ours DP1",
                    run_ours(name, seq, args.steps, 1, work, ws)["tokens_per_s_per_device"],
                )
            )
            if args.dp2:
                results.append(
                    (
                        "ours DP2",
                        run_ours(name, seq, args.steps, 2, work, ws)["tokens_per_s_per_device"],
                    )
                )
            peak = None
            if on_gpu:
                for key, gpu in GPUS.items():
                    if key.split("-")[0].lower() in card.lower():
                        peak = gpu.peak_bf16_tflops * 1e12
            print(f"\n{name}: seq {seq}, FLOPs/token {fpt / 1e9:.3f} G")
            print(
                f"{'system':42s} {'tokens/s/dev':>14s} {'× baseline':>11s} {'TFLOP/s/dev':>12s}"
                + ("  MFU" if peak else "")
            )
            for label, tok_s in results:
                line = f"{label:42s} {tok_s:14,.0f} {tok_s / results[0][1]:11.2f} "
                line += f"{tok_s * fpt / 1e12:12.4f}"
                if peak:
                    line += f"  {tok_s * fpt / peak:.1%}"
                print(line)


if __name__ == "__main__":
    main()
