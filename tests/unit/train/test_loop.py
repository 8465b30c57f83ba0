"""The training loop on CPU with gloo, 2 ranks (torchrun) and 1: resume is exact, reshards over
DP, and a run directory of another configuration is moved aside, not resumed.

The data is a real workspace (corpora → BPE → packs → blends,
:mod:`skyforge.synthetic.fixtures`); the model is megatron-core's GPTModel with the distributed
optimizer (ZeRO-1) — nothing is mocked.
Each launch pays megatron-core's ~5 s import, so the runs are shared through module fixtures.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import metric_curve, run, train_loop

from skyforge.synthetic.fixtures import make_workspace, tiny_configs
from skyforge.train.spec import StageSpec, TrainingOptions, build_stage_spec

STEPS = 24  # stage1_0 of tiny_configs()
STOP = 8


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("train-ws")
    make_workspace(root)
    return root


def _spec(root: Path, name: str, **options) -> Path:
    """stage1_0 of the tiny config with its own checkpoint directory ``root/name``."""
    model, parallel, train = tiny_configs()
    opts = TrainingOptions(
        save_interval_steps=4,
        eval_interval_steps=8,
        log_interval_steps=4,
        checkpoint_dir=str(root / name),
        **options,
    )
    import os

    cwd = os.getcwd()
    os.chdir(root)  # relative pack paths in the blends start at the workspace root
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
            manifest=root / name / "manifest.json",
            init_manifest=None,
        )
    finally:
        os.chdir(cwd)
    path = root / name / "stage1_0.spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return path


@pytest.fixture(scope="module")
def uninterrupted(workspace):
    spec = _spec(workspace, "full")
    train_loop(spec, 2)
    return StageSpec.load(spec)


@pytest.fixture(scope="module")
def interrupted(workspace):
    """A DP2 run stopped after the checkpoint of step STOP (as a preempted job)."""
    spec = _spec(workspace, "stopped")
    proc = train_loop(spec, 2, "--stop-at-step", str(STOP))
    assert "stopped at step 8 after a checkpoint" in proc.stderr
    loaded = StageSpec.load(spec)
    assert not Path(loaded.manifest).exists()
    return spec, loaded


def test_uninterrupted_run_learns(uninterrupted):
    manifest = json.loads(Path(uninterrupted.manifest).read_text())
    assert manifest["iteration"] == STEPS
    assert manifest["consumed_samples"] == STEPS * 8
    assert manifest["tokens_seen"] == STEPS * 8 * 32
    run_dir = Path(uninterrupted.run_dir)
    # Every held-out domain improves; the three Main corpora stage 1 trains on by > 0.5 nat
    # (STEM is not in the stage-1 mix; parallel text is 1 % of it).
    for domain in ("main-en", "main-zh", "main-code", "stem", "parallel"):
        val = metric_curve(run_dir, f"val/{domain}")
        assert sorted(val) == [0, 8, 16, 24]
        assert val[24] < val[16] < val[8] < val[0], (domain, val)
        if domain.startswith("main-"):
            assert val[24] < val[0] - 0.5, (domain, val)
    loss = metric_curve(run_dir, "train/loss")
    assert sorted(loss) == list(range(1, STEPS + 1))
    lr = metric_curve(run_dir, "train/lr")
    assert lr[1] == 0.0 and lr[3] == pytest.approx(3e-3)  # warmup of 2 steps, then the peak
    assert lr[STEPS] < lr[3]
    # TensorBoard event files beside the CSV, with the same scalars; no releases here.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/grad_norm", "val/main-zh"} <= tags, tags
    assert {"perf/tokens_per_s_per_device", "perf/tflops_per_device"} <= tags, tags
    tb_loss = {e.step: e.value for e in events.Scalars("train/loss")}
    assert tb_loss == pytest.approx(loss, rel=1e-6)
    assert manifest["releases"] == []
    # The final checkpoint is kept, and at most keep_last periodic ones.
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("iter_*"))
    assert kept == ["iter_0000020", "iter_0000024"]


def _copy_of_stopped_run(workspace: Path, name: str, backend: str | None = None):
    """A copy of the run stopped at step 8 (before any test resumes it), its spec pointing at
    the copy; optionally on another attention backend."""
    resumed_dir = workspace / name
    shutil.copytree(workspace / "stopped", resumed_dir)
    spec = resumed_dir / "stage1_0.spec.json"
    d = json.loads(spec.read_text())
    d["run_dir"] = str(resumed_dir / "stage1_0")
    d["manifest"] = str(resumed_dir / "manifest.json")
    if backend:
        d["model"]["attention_backend"] = backend
    spec.write_text(json.dumps(d))
    return resumed_dir, spec


def test_resume_on_the_same_layout_is_bitwise(uninterrupted, interrupted, workspace):
    resumed_dir, spec2 = _copy_of_stopped_run(workspace, "stopped-dp2")
    proc = train_loop(spec2, 2)
    assert "resumed from" in proc.stderr and "(step 8)" in proc.stderr
    full = metric_curve(Path(uninterrupted.run_dir), "train/loss")
    resumed = metric_curve(resumed_dir / "stage1_0", "train/loss")
    assert sorted(resumed) == sorted(full)
    assert resumed == full  # bitwise: same layout, same reduction order


def test_a_local_run_continues_on_the_flex_backend(uninterrupted, interrupted, workspace):
    """Checkpoint compatibility across attention backends: the DP2 run stopped at step 8 on
    the local spec (dense reset mask) resumes on FlexAttention (document ids, no dense mask in
    the data); the run directory is kept (the backend is not in the hash) and the curve is the
    local one."""
    resumed_dir, spec2 = _copy_of_stopped_run(workspace, "stopped-flex", "flex")
    proc = train_loop(spec2, 2)
    assert "attention flex (configured)" in proc.stderr
    assert "resumed from" in proc.stderr and "(step 8)" in proc.stderr
    assert "superseded" not in " ".join(p.name for p in resumed_dir.iterdir())
    full = metric_curve(Path(uninterrupted.run_dir), "train/loss")
    resumed = metric_curve(resumed_dir / "stage1_0", "train/loss")
    assert sorted(resumed) == sorted(full)
    assert max(abs(resumed[s] - full[s]) for s in full) < 1e-5
    val_full = metric_curve(Path(uninterrupted.run_dir), "val/main-zh")
    val_flex = metric_curve(resumed_dir / "stage1_0", "val/main-zh")
    assert max(abs(val_flex[s] - val_full[s]) for s in (16, 24)) < 1e-5
    manifest = json.loads((resumed_dir / "manifest.json").read_text())
    assert manifest["attention"] == {"backend": "flex", "reason": "configured"}
    assert manifest["kernels"]["overlap_grad_reduce"] is False  # CPU: the loop as it was
    assert manifest["kernels"]["gradient_accumulation_fusion"] is False
    local = json.loads(Path(uninterrupted.manifest).read_text())
    assert local["attention"] == {"backend": "local", "reason": "auto: CPU, the local spec"}


def test_resume_reshards_from_dp2_to_dp1(uninterrupted, interrupted):
    spec, loaded = interrupted
    proc = train_loop(spec, 1)  # the stopped DP2 run, resumed by ONE rank (ZeRO-1 shards merged)
    assert "(TP1 PP1 DP1)" in proc.stderr and "(step 8)" in proc.stderr
    full = metric_curve(Path(uninterrupted.run_dir), "train/loss")
    resumed = metric_curve(Path(loaded.run_dir), "train/loss")
    assert sorted(resumed) == sorted(full)
    assert max(abs(resumed[s] - full[s]) for s in full) < 1e-6
    val_full = metric_curve(Path(uninterrupted.run_dir), "val/main-en")
    val_resumed = metric_curve(Path(loaded.run_dir), "val/main-en")
    assert max(abs(val_resumed[s] - val_full[s]) for s in val_full) < 1e-6
    assert json.loads(Path(loaded.manifest).read_text())["iteration"] == STEPS


def test_run_dir_of_another_config_is_moved_aside(workspace):
    spec = _spec(workspace, "stale")
    train_loop(spec, 1, "--stop-at-step", "4")
    old = StageSpec.load(spec)
    changed = dataclasses.replace(old, seed=old.seed + 1)
    spec.write_text(changed.to_json())
    proc = train_loop(spec, 1, "--stop-at-step", "4")
    assert "random initialisation" in proc.stderr and "resumed from" not in proc.stderr
    aside = Path(old.run_dir).with_name(f"stage1_0.superseded-{old.config_hash()}")
    assert (aside / "checkpoints" / "iter_0000004").is_dir()
    assert StageSpec.load(Path(old.run_dir) / "spec.json").config_hash() == changed.config_hash()


def test_pipeline_parallel_trains_and_exports(workspace):
    """PP2: 1F1B over 4 micro-batches, activations sent between 2 ranks, each stage holding
    one of the two layers; the loss falls, and the checkpoint (layers saved by two stages) loads
    into one whole model for the HF export, whose logits match megatron's.

    (Initial weights differ from a PP1 run's: each stage draws its layers' weights from its own
    RNG stream, as in Megatron-LM, so the curves are not compared step by step.)"""
    spec = _spec(workspace, "pp2")
    d = json.loads(spec.read_text())
    d["parallel"] = {**d["parallel"], "pipeline": 2, "data": 1}
    spec.write_text(json.dumps(d))
    proc = train_loop(spec, 2)
    assert "(TP1 PP2 DP1), 4 micro-batches of 2" in proc.stderr
    run_dir = Path(d["run_dir"])
    assert sorted(metric_curve(run_dir, "train/loss")) == list(range(1, STEPS + 1))
    for domain in ("main-en", "main-zh", "main-code"):
        val = metric_curve(run_dir, f"val/{domain}")
        assert val[24] < val[0] - 0.5, (domain, val)
    out = workspace / "pp2-hf"
    run(
        [
            sys.executable,
            "-m",
            "skyforge.cli",
            "export-hf",
            "--manifest",
            d["manifest"],
            "--tokenizer-dir",
            workspace / "results/tokenizer",
            "--out-dir",
            out,
        ],
        timeout=300,
        check=True,
    )
    report = json.loads((out / "skyforge_export.json").read_text())
    assert report["iteration"] == STEPS and report["max_abs_logit_diff"] < 1e-4
    assert (out / "model.safetensors").stat().st_size > 0


_OVERLAP_LAUNCHER = """
import sys

import skyforge.model.gpt as model

_options = model.kernel_options


def _overlapped(on_gpu=None):
    return {**_options(on_gpu), "overlap_grad_reduce": True, "overlap_param_gather": True}


model.kernel_options = _overlapped  # what a GPU job turns on, forced on this CPU run

if __name__ == "__main__":
    from skyforge.train.loop import train_stage

    train_stage(sys.argv[1], stop_at_step=int(sys.argv[2]) if len(sys.argv) > 2 else None)
"""


def test_overlapped_grad_reduce_and_param_gather_are_exact(uninterrupted, workspace):
    """The overlaps a GPU job turns on (distributed optimizer: grads reduce-scattered per bucket
    during backward, params all-gathered by the next forward's pre-hooks), forced on this DP2
    gloo run: stopped at step 8 and resumed, the curves equal the plain run's bitwise."""
    script = workspace / "overlap_launcher.py"
    script.write_text(_OVERLAP_LAUNCHER)
    spec = _spec(workspace, "overlap")
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", script]
    run([*launch, spec, str(STOP)], timeout=300, check=True)
    proc = run([*launch, spec], timeout=300, check=True)
    assert "(step 8)" in proc.stderr
    loaded = StageSpec.load(spec)
    kernels = json.loads(Path(loaded.manifest).read_text())["kernels"]
    assert kernels["overlap_grad_reduce"] and kernels["overlap_param_gather"]
    for name in ("train/loss", "val/main-en", "val/main-zh"):
        full = metric_curve(Path(uninterrupted.run_dir), name)
        assert metric_curve(Path(loaded.run_dir), name) == full, name
