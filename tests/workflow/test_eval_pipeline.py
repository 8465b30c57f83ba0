"""The eval tables of the default DAG: every table and plot is built and in the report, the leaky
control is clearly more contaminated than every clean model, and a user's own model folder and
domain file become a new row and column by config alone."""

from __future__ import annotations

import json
import shutil
import sys

import pandas as pd
import pytest
from conftest import REPO_ROOT, describe, run

pytestmark = pytest.mark.workflow

TABLES = ("domain_loss", "benchmarks", "contamination", "layer_cosine")


def test_every_table_and_plot_is_built(default_dag_run):
    workdir, _ = default_dag_run
    for t in TABLES:
        for ext in ("csv", "md", "png"):
            assert (workdir / f"results/eval/{t}/{t}.{ext}").stat().st_size > 0, (t, ext)
    loss = pd.read_csv(workdir / "results/eval/domain_loss/domain_loss.csv")
    assert set(loss.model) == {"stage1_1", "stage2_3", "sft", "dpo"}
    assert set(loss.domain) == {"main-en", "main-zh", "main-code", "stem", "parallel", "Average"}
    assert (loss.status == "ok").all()
    # Stage 2 trains on STEM: its normalised STEM perplexity is below stage 1's.
    stem = loss[loss.domain == "stem"].set_index("model").ppl
    assert stem["stage2_3"] < stem["stage1_1"]
    bench = pd.read_csv(workdir / "results/eval/benchmarks/benchmarks.csv")
    assert "random guess" in set(bench.model)
    for task in ("ceval", "cmmlu", "mmlu", "gsm8k"):
        assert (bench[bench.model != "random guess"][f"{task}_status"] == "ok").all(), task
    cos = pd.read_csv(workdir / "results/eval/layer_cosine/layer_cosine.csv", index_col="layer")
    assert cos.shape == (2, 4) and ((cos > -1) & (cos < 1)).all().all()


def test_leaky_control_is_clearly_contaminated(default_dag_run):
    workdir, _ = default_dag_run
    table = pd.read_csv(workdir / "results/eval/contamination/contamination.csv")
    assert (table.status == "ok").all()
    t = table.set_index("model")
    clean = t.drop(index="leaky control")
    leaky = t.loc["leaky control"]
    assert leaky.role == "leaky control" and bool(leaky.flagged)
    assert not clean.flagged.any()
    # Clearly more negative than every clean model's Δ1, by more than the clean models' spread.
    spread = clean.delta1.max() - clean.delta1.min()
    assert leaky.delta1 < clean.delta1.min() - max(0.05, 2 * spread), t[["delta1", "delta2"]]
    assert "(leaky control)" not in (
        workdir / "results/eval/contamination/contamination.md"
    ).read_text().replace("| leaky control |", "")
    m = json.loads((workdir / "results/eval/contamination/leaky_control/manifest.json").read_text())
    assert m["spec"]["init_manifest"].endswith("results/pretrain/stage2_3/manifest.json")
    blend_file = workdir / "results/eval/contamination/leaky_control/leaky_blend.json"
    blend = json.loads(blend_file.read_text())
    assert blend["leaked_test_file"]["docs"] == 60


def test_a_users_model_and_domain_are_config_lines(default_dag_run, tmp_path):
    """An external HF folder under a display name and a JSONL domain file: a new row and a new
    column, no code touched; only the tables rerun (no training)."""
    workdir, _ = default_dag_run
    external = tmp_path / "my-model"
    shutil.copytree(workdir / "results/hf/stage1_1", external)
    domain = tmp_path / "finance.jsonl"
    domain.write_text(
        "".join(
            json.dumps({"text": f"The bank raised rates by {i}.5 % today."}) + "\n"
            for i in range(20)
        )
    )
    overlay = tmp_path / "mine.yaml"
    overlay.write_text(
        f"eval:\n  models: {{my-model: {external}}}\n"
        f"  domains: {{finance: {domain}, main-en: results/eval/domains/main-en.jsonl}}\n"
    )
    target = "results/eval/domain_loss/domain_loss.md"
    proc = run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            REPO_ROOT / "Snakefile",
            "--cores",
            "2",
            "--configfile",
            REPO_ROOT / "config.yaml",
            overlay,
            "--",
            target,
        ],
        timeout=600,
        cwd=workdir,
    )
    assert proc.returncode == 0, describe(proc)
    out = proc.stdout + proc.stderr
    assert "rule pretrain" not in out and "rule sft" not in out
    loss = pd.read_csv(workdir / "results/eval/domain_loss/domain_loss.csv")
    assert "my-model" in set(loss.model) and "finance" in set(loss.domain)
    row = loss[(loss.model == "my-model") & (loss.domain == "main-en")].iloc[0]
    same = loss[(loss.model == "stage1_1") & (loss.domain == "main-en")].iloc[0]
    assert row.status == "ok" and row.nll_sum == pytest.approx(same.nll_sum, rel=1e-9)
    # Back to the default tables for the other tests of this session.
    proc = run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            REPO_ROOT / "Snakefile",
            "--cores",
            "2",
            "--",
            target,
        ],
        timeout=600,
        cwd=workdir,
    )
    assert proc.returncode == 0, describe(proc)


def test_in_domain_ablation_target(default_dag_run):
    """The optional target: the stage-1 release continued on STEM only, scored before and after
    (the deltas are whatever the tiny run shows; here: STEM loss must fall)."""
    workdir, _ = default_dag_run
    target = "results/eval/ablation/ablation.md"
    proc = run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            REPO_ROOT / "Snakefile",
            "--cores",
            "2",
            "--",
            target,
        ],
        timeout=900,
        cwd=workdir,
    )
    assert proc.returncode == 0, describe(proc)
    start = json.loads((workdir / "results/eval/ablation/stem/start_manifest.json").read_text())
    assert start["checkpoint"].endswith("iter_0000020") and start["tokens_seen"] == 20480
    stem = json.loads((workdir / "results/eval/ablation/stem/manifest.json").read_text())
    assert stem["iteration"] == 16 and stem["tokens_seen"] == 20480 + 16 * 1024
    table = pd.read_csv(workdir / "results/eval/ablation/ablation.csv").set_index("metric")
    assert table.loc["loss stem (nats, normalised)", "delta"] < 0
    assert {"ceval (score)", "gsm8k (score)"} <= set(table.index)
