"""Stage specs: the Skywork chain's step counts, what the config hash covers, and checkpoint
rotation (which directories a long run keeps)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from skyforge import config as C
from skyforge.train import checkpoint as ckpt
from skyforge.train.spec import StageSpec, TrainingOptions, build_stage_spec, stage_names

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def skywork():
    d = C.load_config_files([REPO / "config.yaml", REPO / "presets/a800_512.yaml"])
    return C.SkyforgeConfig.from_dict(d), d


def _spec(cfg, d, stage, tmp_path, init=None, **opts):
    blend = tmp_path / "blend.json"
    blend.write_text("{}")
    tok = tmp_path / "tokenizer.json"
    tok.write_text("{}")
    return build_stage_spec(
        stage,
        model=cfg.model,
        parallel=cfg.parallel,
        train=cfg.train,
        options=dataclasses.replace(TrainingOptions.from_config(d), **opts),
        accelerator=cfg.cluster.accelerator,
        decay=d["blends"]["decay"],
        blend=blend,
        tokenizer=tok,
        manifest=tmp_path / stage / "manifest.json",
        init_manifest=init,
    )


def test_skywork_chain(skywork, tmp_path):
    cfg, d = skywork
    assert stage_names(cfg.train, decay=False) == [
        "stage1_0",
        "stage1_1",
        "stage2_0",
        "stage2_1",
        "stage2_2",
        "stage2_3",
    ]
    s1 = _spec(cfg, d, "stage1_0", tmp_path)
    # 2 T tokens / (4,096 × 4,096) = 119,209.3 → 119,210 steps; 33.55 B warmup tokens = 2,000.
    assert s1.train_steps == 119_210 and s1.schedule["warmup_steps"] == 2_000
    assert s1.schedule["schedule"] == "cosine" and s1.schedule["lr_max"] == 6e-4
    assert s1.keep_at_tokens == [5e11, 2e12, 3.1e12]
    assert s1.run_dir == "/lustre/skyforge/checkpoints/stage1_0"
    # Both sessions read ONE dataset sized for the whole of stage 1 (same sample order).
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"config_hash": s1.config_hash(), "iteration": 119_210}))
    s2 = _spec(cfg, d, "stage1_1", tmp_path, init=manifest)
    assert s2.num_train_samples == s1.num_train_samples == (119_210 + 65_566) * 4096
    assert s2.continue_data and not s1.continue_data
    assert s2.schedule["schedule"] == "constant" and s2.schedule["lr_max"] == 6e-5
    sub = _spec(cfg, d, "stage2_0", tmp_path, init=manifest)
    assert sub.train_steps == 1_938 and not sub.continue_data  # 32.5 B / 16.8 M tokens
    assert sub.num_train_samples == 1_938 * 4096


def test_config_hash_covers_weights_not_layout(skywork, tmp_path):
    cfg, d = skywork
    base = _spec(cfg, d, "stage1_0", tmp_path)
    # Where and how often it saves, logs and validates, and the layout: same hash (a run
    # directory resumes on another DP size).
    same = [
        _spec(cfg, d, "stage1_0", tmp_path, save_interval_steps=7, eval_interval_steps=3),
        dataclasses.replace(base, parallel={**base.parallel, "data": 128, "pipeline": 4}),
        dataclasses.replace(base, run_dir="/elsewhere", manifest="/x.json"),
    ]
    assert {s.config_hash() for s in same} == {base.config_hash()}
    different = [
        _spec(cfg, d, "stage1_0", tmp_path, seed=1),
        dataclasses.replace(base, model={**base.model, "num_layers": 40}),
        dataclasses.replace(base, data_hash="0" * 32),
        dataclasses.replace(base, global_batch_size=2048),
    ]
    assert base.config_hash() not in {s.config_hash() for s in different}


def test_unknown_stage_and_missing_init(skywork, tmp_path):
    cfg, d = skywork
    with pytest.raises(ValueError, match="stage 'stage3_0': not a stage of this config"):
        _spec(cfg, d, "stage3_0", tmp_path)
    with pytest.raises(ValueError, match="starting manifest .* not found"):
        _spec(cfg, d, "stage1_1", tmp_path, init=tmp_path / "missing.json")


def test_spec_file_round_trip_and_errors(skywork, tmp_path):
    cfg, d = skywork
    spec = _spec(cfg, d, "stage2_3", tmp_path, init=None)
    path = tmp_path / "spec.json"
    path.write_text(spec.to_json())
    assert StageSpec.load(path) == spec
    path.write_text(json.dumps({**json.loads(spec.to_json()), "typo_key": 1}))
    with pytest.raises(ValueError, match="unknown key 'typo_key'"):
        StageSpec.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        StageSpec.load(path)


def _fake_checkpoints(run_dir: Path, iterations, releases=()):
    for it in iterations:
        p = ckpt.checkpoint_path(run_dir, it)
        p.mkdir(parents=True)
        (p / "metadata.json").write_text("{}")
        if it in releases:
            (p / ckpt.RELEASE_MARK).write_text("5e+11 tokens\n")
    (run_dir / "checkpoints" / ckpt.LATEST).write_text(f"iter_{max(iterations):07d}\n")


def test_rotation_keeps_newest_and_releases(tmp_path):
    _fake_checkpoints(tmp_path, [100, 200, 300, 400, 500], releases={200})
    deleted = ckpt.rotate_checkpoints(tmp_path, keep_last=2)
    assert sorted(p.name for p in deleted) == ["iter_0000100", "iter_0000300"]
    kept = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert kept == ["iter_0000200", "iter_0000400", "iter_0000500"]
    assert ckpt.latest_checkpoint(tmp_path).name == "iter_0000500"
    assert ckpt.release_reason(tmp_path / "checkpoints/iter_0000200") == "5e+11 tokens"


def test_latest_names_a_missing_checkpoint(tmp_path):
    _fake_checkpoints(tmp_path, [10])
    (tmp_path / "checkpoints" / ckpt.LATEST).write_text("iter_0000020\n")
    with pytest.raises(ValueError, match="names 'iter_0000020', which does not exist"):
        ckpt.latest_checkpoint(tmp_path)
    assert ckpt.latest_checkpoint(tmp_path / "nothing-here") is None
