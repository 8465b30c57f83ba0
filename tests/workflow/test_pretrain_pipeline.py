"""Pretraining built by the default DAG (submitit's local executor, DP2 on CPU): every stage of
the chain trains, validation losses fall, each stage starts where the previous one ended, the HF
exports reproduce megatron's logits under transformers, and nothing retrains on a rerun."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from conftest import REPO_ROOT, describe, run

from skyforge.train.spec import load_manifest

pytestmark = pytest.mark.workflow

STAGES = ["stage1_0", "stage1_1", "stage2_0", "stage2_1", "stage2_2", "stage2_3"]
DOMAINS = ["main-en", "main-zh", "main-code", "stem", "parallel"]


@pytest.fixture(scope="module")
def run_dir(default_dag_run):
    return default_dag_run[0]


def _manifest(run_dir, stage):
    # Paths inside are relative to the run directory; load_manifest resolves them.
    return load_manifest(run_dir / f"results/pretrain/{stage}/manifest.json")


def test_every_stage_trains_and_chains(run_dir):
    manifests = [_manifest(run_dir, s) for s in STAGES]
    # 1,024 tokens per step: 40 + 20 steps of stage 1, 4 × 8 of stage 2.
    assert [m["iteration"] for m in manifests] == [40, 20, 8, 8, 8, 8]
    assert [m["tokens_seen"] for m in manifests] == [40960, 61440, 69632, 77824, 86016, 94208]
    # Session 2 continues session 1's sample order; each sub-stage starts its own blend at 0.
    assert manifests[1]["consumed_samples"] == (40 + 20) * 8
    assert all(m["consumed_samples"] == 8 * 8 for m in manifests[2:])
    for prev, m in zip(manifests, manifests[1:], strict=False):
        assert m["spec"]["init_manifest"].endswith(
            f"results/pretrain/{prev['stage']}/manifest.json"
        )
    assert manifests[0]["world_size"] == 2  # DP2 through submitit's local executor
    # The 20,480-token release (config.yaml) is kept beside the final checkpoint.
    (release,) = manifests[0]["releases"]
    assert (
        release["checkpoint"].endswith("iter_0000020")
        and release["reason"] == "release at 20,480 tokens"
    )
    for m in manifests:
        job = json.loads((run_dir / f"results/pretrain/{m['stage']}/job.json").read_text())
        assert job["state"] == "COMPLETED" and job["executor"] == "local"
        # Checkpoints live outside results/ (a failed job must not delete them).
        assert "/checkpoints/" in m["checkpoint"] and "/results/" not in m["checkpoint"]


def test_validation_loss_falls_on_every_domain(run_dir):
    first = pd.read_csv(_manifest(run_dir, "stage1_0")["metrics_csv"])
    last = _manifest(run_dir, "stage2_3")["final_metrics"]
    for domain in DOMAINS:
        start = first[(first.name == f"val/{domain}") & (first.step == 0)].value.item()
        assert last[f"val/{domain}"] < start - 1.0, (domain, start, last)
    # Stage 2 raises the STEM share: STEM's held-out loss falls over stage 2.
    s2_start = _manifest(run_dir, "stage1_1")["final_metrics"]["val/stem"]
    assert last["val/stem"] < s2_start
    # Per-device throughput and FLOP/s are logged.
    names = set(first.name)
    assert {"perf/tokens_per_s_per_device", "perf/tflops_per_device", "train/grad_norm"} <= names
    summary = (run_dir / "results/pretrain/report/summary.md").read_text()
    assert all(s in summary for s in STAGES)
    assert (run_dir / "results/pretrain/report/curves.png").stat().st_size > 10_000


def test_hf_exports_match_megatron_logits(run_dir, megatron_one_rank):
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from skyforge.model.gpt import build_model
    from skyforge.train import checkpoint as ckpt
    from skyforge.train.spec import StageSpec

    for stage in ("stage1_1", "stage2_3"):
        folder = run_dir / "results/hf" / stage
        report = json.loads((folder / "skyforge_export.json").read_text())
        assert report["max_abs_logit_diff"] < 1e-4
        m = _manifest(run_dir, stage)
        spec = StageSpec(**m["spec"])
        model = build_model(spec.model_config())
        ckpt.load_checkpoint(m["checkpoint"], model, None, load_optimizer=False)
        model.eval()
        hf = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        tok = AutoTokenizer.from_pretrained(folder)
        ids = tok("The council met on Tuesday. 市政府周四宣布。", return_tensors="pt").input_ids
        s = ids.shape[1]
        causal = torch.triu(torch.ones(1, 1, s, s, dtype=torch.bool), diagonal=1)
        with torch.no_grad():
            ours = model(ids, torch.arange(s).unsqueeze(0), causal)
            theirs = hf(ids).logits
        assert (ours - theirs).abs().max().item() < 1e-4


def _dry_run(run_dir, *args):
    proc = run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            REPO_ROOT / "Snakefile",
            "-n",
            "--cores",
            "2",
            *args,
        ],
        timeout=300,
        cwd=run_dir,
    )
    assert proc.returncode == 0, describe(proc)
    return proc.stdout + proc.stderr


def _planned_rules(out: str) -> set[str]:
    names = set()
    for line in out.splitlines():
        line = line.strip()
        for prefix in ("rule ", "localrule "):
            if line.startswith(prefix) and line.endswith(":"):
                names.add(line[len(prefix) : -1])
    return names - {"all"}


def test_rerun_does_not_retrain(run_dir):
    # (test_dag may have changed a plan value in this directory: only the plan may be stale,
    # and the summary page, which shows the plan and the config hash.)
    assert _planned_rules(_dry_run(run_dir)) <= {"plan", "summary"}
    # A fifth STEM sub-stage trains only itself: no earlier stage, no other blend reruns.
    subs = ", ".join(f"{{stem_share: {s}, tokens: 8192}}" for s in (0.1, 0.2, 0.3, 0.4, 0.5))
    out = _dry_run(run_dir, "--config", f"train={{stage2: {{lr: 3.0e-4, substages: [{subs}]}}}}")
    planned = {
        line.split("=", 1)[1].strip()
        for line in out.splitlines()
        if line.strip().startswith(("wildcards: stage=", "wildcards: blend="))
    }
    assert planned == {"stage2_4"}, out[-3000:]


def _snakemake(run_dir, *args):
    proc = run(
        [sys.executable, "-m", "snakemake", "-s", REPO_ROOT / "Snakefile", "--cores", "2", *args],
        timeout=300,
        cwd=run_dir,
    )
    assert proc.returncode == 0, describe(proc)
    return proc.stdout + proc.stderr


def test_identical_shard_submits_no_training_job(run_dir):
    """A data shard regenerated with identical bytes makes nothing stale, a GPU rule run again
    with the same spec and input digests submits nothing, and a changed shard replans the whole
    chain (docs/staleness.md)."""
    from skyforge.core.digest import write_digest

    shard_rel = "results/data/extract/00000.parquet"  # 1.2 MB: beyond Snakemake's checksums
    shard, digest = run_dir / shard_rel, run_dir / f"{shard_rel}.sha256"
    before = shard.read_bytes(), digest.read_bytes()
    manifest_rel = "results/pretrain/stage2_3/manifest.json"
    manifest = run_dir / manifest_rel
    written = manifest.read_bytes()
    job_record = manifest.with_name("job.json")
    job_id = json.loads(job_record.read_text())["job_id"]
    folder = run_dir / "logs/pretrain/stage2_3.submitit"
    entries = sorted(p.name for p in folder.iterdir())

    # The data job is killed and rerun: the same bytes, and (by content) nothing is stale.
    _snakemake(run_dir, "--forcerun", shard_rel, "--until", shard_rel)
    assert (shard.read_bytes(), digest.read_bytes()) == before
    # A pretraining rule runs again anyway: it completes without submitting anything.
    _snakemake(run_dir, "--forcerun", manifest_rel, "--", manifest_rel)
    assert json.loads(job_record.read_text())["job_id"] == job_id
    assert sorted(p.name for p in folder.iterdir()) == entries
    assert manifest.read_bytes() == written
    log = (run_dir / "logs/pretrain/stage2_3.log").read_text()
    assert f"job {job_id} (local) completed earlier" in log and "nothing submitted" in log
    assert _planned_rules(_dry_run(run_dir)) <= {"plan", "summary"}

    # A changed shard (its producer writes other bytes and their digest) replans the chain.
    try:
        shard.write_bytes(before[0] + b"\0")
        write_digest(shard)
        planned = _planned_rules(_dry_run(run_dir))
        assert {"filter", "train_tokenizer", "pretrain", "sft", "dpo"} <= planned, planned
    finally:
        shard.write_bytes(before[0])
        digest.write_bytes(before[1])
