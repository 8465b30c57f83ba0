"""SFT on the pretraining loop (CPU, gloo, 2 ranks): a run stopped after a checkpoint and
resumed gives the same loss curve as an uninterrupted one (the pretraining test's standard),
the held-out response loss falls, and the fresh-optimizer variant really starts without the
pretraining Adam state.

The starting point is a real megatron checkpoint of a short pretraining run on the tiny
workspace (:mod:`skyforge.synthetic.fixtures`); the conversations are written here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import metric_curve, train_loop

from skyforge.synthetic.fixtures import make_workspace, tiny_configs
from skyforge.train.objectives.sft import prepare
from skyforge.train.spec import StageSpec, TrainingOptions, build_stage_spec

SEQ = 64
STOP = 4


def _conversations(path: Path, n: int, seed: int) -> Path:
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        if i % 2:
            msgs = [
                {"role": "user", "content": f"What is {a} plus {b}?"},
                {"role": "assistant", "content": f"{a} plus {b} is {a + b}."},
            ]
        else:
            msgs = [
                {"role": "user", "content": f"计算{a}加{b}。"},
                {"role": "assistant", "content": f"{a}加{b}等于{a + b}。"},
            ]
        rows.append(json.dumps({"messages": msgs}, ensure_ascii=False))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Tiny workspace + a 4-step pretraining stage1_0 (its manifest is SFT's starting point)."""
    root = tmp_path_factory.mktemp("sft-ws")
    make_workspace(root, seq_length=SEQ)
    model, parallel, train = tiny_configs(seq_length=SEQ)
    opts = TrainingOptions(
        save_interval_steps=100, eval_interval_steps=100, checkpoint_dir=str(root / "pre")
    )
    cwd = os.getcwd()
    os.chdir(root)
    try:
        spec = build_stage_spec(
            "stage1_0",
            model=model,
            parallel=parallel,
            train=train,
            options=opts,
            accelerator="cpu",
            decay=None,
            blend=root / "results/blends/stage1.json",
            tokenizer=root / "results/tokenizer/tokenizer.json",
            manifest=root / "pre" / "manifest.json",
            init_manifest=None,
        )
    finally:
        os.chdir(cwd)
    spec = StageSpec(**{**spec.__dict__, "train_steps": 6})
    path = root / "pre" / "stage1_0.spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    train_loop(path, 1)
    _conversations(root / "sft_train.jsonl", 160, 0)
    _conversations(root / "sft_heldout.jsonl", 24, 1)
    return root


def _sft_spec(root: Path, name: str, *, load_optimizer: bool = True) -> Path:
    """The spec the ``sft`` step would write (the encodings prepared beside it)."""
    model, parallel, train = tiny_configs(seq_length=SEQ)
    section = {
        "lr": 3e-3,
        "schedule": "cosine",
        "lr_min": 3e-4,
        "warmup_fraction": 0.0,
        "epochs": 1,
        "pretrain_ratio": 0.6667,
        "global_batch_size": None,
    }
    opts = TrainingOptions(
        save_interval_steps=2,
        eval_interval_steps=4,
        log_interval_steps=2,
        checkpoint_dir=str(root / name),
    )
    cwd = os.getcwd()
    os.chdir(root)
    try:
        spec = prepare(
            "sft",
            model=model,
            parallel=parallel,
            train=train,
            options=opts,
            accelerator="cpu",
            section=section,
            files={"train": root / "sft_train.jsonl", "heldout": root / "sft_heldout.jsonl"},
            blend=root / "results/blends/stage1.json",
            tokenizer=root / "results/tokenizer/tokenizer.json",
            manifest=root / name / "manifest.json",
            init_manifest=root / "pre" / "manifest.json",
            load_optimizer=load_optimizer,
        )
    finally:
        os.chdir(cwd)
    path = root / name / "sft.spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return path


@pytest.fixture(scope="module")
def uninterrupted(workspace):
    spec = _sft_spec(workspace, "full")
    proc = train_loop(spec, 2)
    return StageSpec.load(spec), proc


def test_sft_learns_the_responses_and_keeps_the_mix(uninterrupted):
    spec, proc = uninterrupted
    assert "starting from" in proc.stderr
    manifest = json.loads(Path(spec.manifest).read_text())
    assert manifest["kind"] == "sft" and manifest["iteration"] == spec.train_steps >= 8
    stats = manifest["data"]["train"]
    assert stats["conversations"] == 160 and stats["skipped"] == 0
    assert stats["pretrain_samples"] > 0
    assert 0.6667 <= stats["pretrain_to_response"] < 0.6667 + SEQ / stats["response_tokens"] * 2
    held = metric_curve(Path(spec.run_dir), "val/sft_heldout")
    steps = sorted(held)
    assert steps[0] == 0 and steps[-1] == spec.train_steps
    assert held[steps[-1]] < held[0] - 0.3, held  # response-only loss falls
    # The pretraining domains are still validated (forgetting is visible).
    assert metric_curve(Path(spec.run_dir), "val/main-en")


def test_sft_resume_gives_the_uninterrupted_curve(uninterrupted, workspace):
    full_spec, _ = uninterrupted
    spec = _sft_spec(workspace, "stopped")
    proc = train_loop(spec, 2, "--stop-at-step", str(STOP))
    assert f"stopped at step {STOP} after a checkpoint" in proc.stderr
    proc = train_loop(spec, 2)
    assert f"(step {STOP})" in proc.stderr and "resumed from" in proc.stderr
    loaded = StageSpec.load(spec)
    full = metric_curve(Path(full_spec.run_dir), "train/loss")
    resumed = metric_curve(Path(loaded.run_dir), "train/loss")
    assert sorted(resumed) == sorted(full) == list(range(1, full_spec.train_steps + 1))
    assert resumed == full  # bitwise: same layout, same data order, same optimizer state
    held_full = metric_curve(Path(full_spec.run_dir), "val/sft_heldout")
    assert metric_curve(Path(loaded.run_dir), "val/sft_heldout") == held_full


def test_sft_on_the_flex_backend_gives_the_local_curve(uninterrupted, workspace):
    """Packed conversations without a dense mask (documents from the reset position ids),
    FlexAttention in validation, its CPU training path in the steps: the local run's curves."""
    full_spec, _ = uninterrupted
    spec = _sft_spec(workspace, "flex")
    d = json.loads(spec.read_text())
    d["model"]["attention_backend"] = "flex"
    spec.write_text(json.dumps(d))
    proc = train_loop(spec, 2)
    assert "attention flex (configured)" in proc.stderr
    loaded = StageSpec.load(spec)
    assert loaded.config_hash() == full_spec.config_hash()
    for name in ("train/loss", "val/sft_heldout", "val/main-en"):
        full = metric_curve(Path(full_spec.run_dir), name)
        flex = metric_curve(Path(loaded.run_dir), name)
        assert sorted(flex) == sorted(full), name
        assert max(abs(flex[k] - full[k]) for k in full) < 1e-5, name


def test_fresh_optimizer_variant_differs_from_the_first_step(uninterrupted, workspace):
    full_spec, _ = uninterrupted
    spec = _sft_spec(workspace, "fresh", load_optimizer=False)
    assert StageSpec.load(spec).config_hash() != full_spec.config_hash()
    train_loop(spec, 2, "--stop-at-step", "2")
    fresh = metric_curve(Path(StageSpec.load(spec).run_dir), "train/loss")
    full = metric_curve(Path(full_spec.run_dir), "train/loss")
    # Same weights and data at step 1 (same loss), other Adam moments from then on.
    assert fresh[1] == pytest.approx(full[1], abs=1e-6)
    assert fresh[2] != pytest.approx(full[2], abs=1e-6)
    shutil.rmtree(Path(StageSpec.load(spec).run_dir))
