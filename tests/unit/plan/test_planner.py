"""The compute plan reproduces the Skywork-13B report on the a800_512 preset."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from skyforge.config import ParallelConfig, SkyforgeConfig, load_config_files
from skyforge.plan import planner as P
from skyforge.plan.tables import PLAN_FILES, write_plan

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def skywork() -> SkyforgeConfig:
    data = load_config_files([REPO / "config.yaml", REPO / "presets" / "a800_512.yaml"])
    return SkyforgeConfig.from_dict(data)


def test_parameter_count_is_13_85_billion(skywork):
    n = P.count_parameters(skywork.model)
    assert n.total == pytest.approx(13.85e9, rel=2e-3)
    # Hand count: 52 layers × (4h² + 3h·f + 2h) + 2·V·h + h.
    h, f, v = 4608, 12288, 65536
    assert n.total == 52 * (4 * h * h + 3 * h * f + 2 * h) + 2 * v * h + h


def test_gqa_shrinks_only_kv_projections(skywork):
    gqa = dataclasses.replace(skywork.model, num_query_groups=4)
    full, small = P.count_parameters(skywork.model), P.count_parameters(gqa)
    h, kv = 4608, 4 * 128
    assert full.attention_per_layer - small.attention_per_layer == 2 * h * (h - kv)
    assert full.mlp_per_layer == small.mlp_per_layer


def test_flops_per_token_formula(skywork):
    m = skywork.model
    n = P.count_parameters(m).total
    assert P.flops_per_token(m) == 6 * n + 12 * 52 * 4608 * 4096


def test_1873_tokens_per_gpu_s_is_56_5_percent_mfu(skywork):
    gpu = P.GPUS["A800-80G"]
    assert gpu.peak_bf16_tflops == 312.0
    mfu = P.mfu_from_throughput(1873, skywork.model, gpu)
    # The report says 56.5 %; 6N + 12·L·h·s with N = 13.854 B gives 57.0 %.
    assert mfu == pytest.approx(0.565, abs=0.01)
    back = P.throughput_from_mfu(mfu, skywork.model, gpu)
    assert back == pytest.approx(1873, rel=1e-9)


def test_3_2_trillion_tokens_take_39_days(skywork):
    assert P.train_days(3.2e12, 1873, 512) == pytest.approx(39, abs=0.6)
    # The preset's own budget (2 T + 1.1 T + 130 B) at the same speed is also ≈ 39 days.
    assert skywork.train.total_tokens == pytest.approx(3.23e12)
    assert P.train_days(skywork.train.total_tokens, 1873, 512) == pytest.approx(39, abs=0.6)


def test_dp256_pp2_zero1_fits_at_about_77_gb(skywork):
    assert skywork.parallel == ParallelConfig(1, 2, 256, 1, 1, "none")
    mem = P.estimate_memory(skywork.model, skywork.parallel, 4096, skywork.plan.overhead_gib)
    assert mem.total_gib == pytest.approx(77, rel=0.15)
    assert mem.total_gib <= P.GPUS["A800-80G"].memory_gib
    # The first stage holds the embedding and 2 micro-batches in flight under 1F1B.
    assert mem.stage == 0 and mem.microbatches_in_flight == 2
    # ZeRO-1: 12 bytes/param of optimizer state divided over 256 ranks.
    assert mem.optimizer == pytest.approx(12 * mem.params_on_gpu / 256)


def test_plain_dp512_does_not_fit(skywork):
    for zero in (0, 1):
        dp512 = ParallelConfig(1, 1, 512, zero, 1, "none")
        mem = P.estimate_memory(skywork.model, dp512, 4096, skywork.plan.overhead_gib)
        assert mem.total_gib > 80


def test_recompute_and_tp_cut_activation_memory(skywork):
    m = skywork.model
    base = P.estimate_memory(m, ParallelConfig(1, 2, 256, 1, 1, "none"), 4096)
    full = P.estimate_memory(m, ParallelConfig(1, 2, 256, 1, 1, "full"), 4096)
    tp2 = P.estimate_memory(m, ParallelConfig(2, 2, 128, 1, 1, "none"), 4096)
    assert full.activations < base.activations / 10
    assert tp2.activations < base.activations and tp2.weights == pytest.approx(base.weights / 2)


def test_ranked_layouts_mark_oom_and_keep_configured(skywork):
    rows = P.rank_layouts(
        skywork.model, skywork.parallel, 512, 8, 4096, P.GPUS["A800-80G"], 0.565, 2.0, 3.23e12
    )
    configured = [r for r in rows if r.configured]
    assert len(configured) == 1 and configured[0].fits
    assert configured[0].mfu == pytest.approx(0.565)
    # Fitting layouts come first, sorted by throughput; DP512 is marked as not fitting.
    fits = [r.fits for r in rows]
    assert fits == sorted(fits, reverse=True)
    tps = [r.tokens_per_gpu_s for r in rows if r.fits]
    assert tps == sorted(tps, reverse=True)
    dp512 = [r for r in rows if r.data == 512]
    assert dp512 and not any(r.fits for r in dp512)
    # The pipeline bubble of the configured layout: (p − 1) / m = 1 / 16.
    assert configured[0].pipeline_bubble == pytest.approx(1 / 16)


def test_reverse_question_is_monotonic(skywork):
    gpu = P.GPUS["A800-80G"]
    args = dict(gpu=gpu, assumed_mfu=0.565, like=skywork.model, global_batch_tokens=16.8e6)
    small, _ = P.largest_model(1e12, 30, 300, overhead_gib=2.0, **args)
    large, _ = P.largest_model(1e12, 60, 300, overhead_gib=2.0, **args)
    assert small is not None and large is not None
    assert small.params < large.params
    assert large.days_needed <= 60 and large.memory_gib <= gpu.memory_gib
    # Compute-bound answer: C = GPUs × peak × MFU × seconds ≈ 6·N·T.
    c = 300 * 312e12 * 0.565 * 60 * 86400
    assert large.params == pytest.approx(c / (6 * 1e12), rel=0.3)


def test_write_plan_files(skywork, tmp_path):
    tables = write_plan(
        tmp_path, skywork.model, skywork.cluster, skywork.parallel, skywork.train, skywork.plan
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PLAN_FILES)
    summary = pd.read_csv(tmp_path / "summary.csv")
    vals = dict(zip(summary.name, summary.value, strict=True))
    assert float(vals["params_total"]) == pytest.approx(13.854e9, rel=1e-3)
    assert vals["fits"] == "True"
    md = (tmp_path / "plan.md").read_text()
    assert "13.85 B" in md and "OOM" in md and "← configured" in md
    assert len(pd.read_csv(tmp_path / "layouts.csv")) == len(tables["layouts"])
