"""The default DAG ends with a chat model: SFT (and its fresh-optimizer ablation) learns the
held-out responses, DPO ends with held-out preference accuracy above chance and a positive
margin, both HF exports load in transformers and chat through ``apply_chat_template`` +
``generate``, and every model's sample replies are in the report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import metric_curve

from skyforge.train.spec import load_manifest

pytestmark = pytest.mark.workflow


def _manifest(workdir: Path, name: str) -> dict:
    return load_manifest(workdir / "results" / "align" / name / "manifest.json")


def test_sft_held_out_response_loss_falls(default_dag_run):
    workdir, _ = default_dag_run
    for name, load_optimizer in (("sft", True), ("sft_fresh_optimizer", False)):
        m = _manifest(workdir, name)
        assert m["kind"] == "sft" and m["spec"]["load_optimizer"] is load_optimizer
        assert m["spec"]["init_manifest"].endswith("results/pretrain/stage2_3/manifest.json")
        held = metric_curve(Path(m["run_dir"]), "val/sft_heldout")
        first, last = held[min(held)], held[max(held)]
        assert min(held) == 0 and last < first - 0.5, (name, held)
        stats = m["data"]["train"]
        # 4:6 pretraining : response tokens, met from above within a sample per epoch.
        assert 0.6667 <= stats["pretrain_to_response"] < 0.8, stats
        assert stats["skipped"] == 0 and stats["conversations"] > 500


def test_dpo_learns_the_preferences(default_dag_run):
    workdir, _ = default_dag_run
    m = _manifest(workdir, "dpo")
    assert m["kind"] == "dpo"
    run_dir = Path(m["run_dir"])
    acc = metric_curve(run_dir, "val/heldout/rewards/accuracies")
    margin = metric_curve(run_dir, "val/heldout/rewards/margins")
    chosen = metric_curve(run_dir, "val/heldout/rewards/chosen")
    # Before the first step the policy IS the reference: the precomputed reference log-probs
    # and the in-training ones agree, so every reward is 0.
    assert abs(chosen[0]) < 1e-4 and abs(margin[0]) < 1e-4
    assert acc[max(acc)] > 0.5 and margin[max(margin)] > 0, (acc, margin)
    for name in ("loss", "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"):
        assert metric_curve(run_dir, f"train/{name}"), name
    stats = json.loads((workdir / "results/chat/preference_stats.json").read_text())
    assert stats["model_written"] + stats["fallback"] > 0


def test_exports_chat_with_transformers(default_dag_run):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    workdir, _ = default_dag_run
    for name in ("sft", "dpo"):
        folder = workdir / "results" / "hf" / name
        report = json.loads((folder / "skyforge_export.json").read_text())
        assert report["max_abs_logit_diff"] < 1e-3
        tok = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        messages = [{"role": "user", "content": "What is 12 + 30?"}]
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tok(ids, add_special_tokens=False, return_tensors="pt")["input_ids"]
        end = tok.convert_tokens_to_ids("<|end|>")
        out = model.generate(
            ids, max_new_tokens=30, do_sample=False, eos_token_id=end, pad_token_id=tok.pad_token_id
        )
        text = tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        assert text.strip(), name


def test_samples_show_every_model(default_dag_run):
    workdir, _ = default_dag_run
    rows = list(csv.DictReader(open(workdir / "results/align/report/samples.csv")))
    models = {r["model"] for r in rows}
    assert {"stage1_1", "stage2_3", "sft", "dpo"} <= models
    prompts = {r["prompt"] for r in rows}
    assert len(rows) == len(models) * len(prompts)
    text = (workdir / "results/align/report/samples.md").read_text()
    assert "### 中国的首都是哪里？" in text
    assert (workdir / "results/align/report/curves.png").stat().st_size > 10_000


def test_generate_from_a_manifest_greedy_and_sampled(default_dag_run):
    """``skyforge generate --manifest`` (exported on the fly): greedy equals the report's reply
    from the HF export; sampling is reproducible by seed and respects the token limit."""
    import sys

    from conftest import run

    workdir, _ = default_dag_run
    base = [
        sys.executable,
        "-m",
        "skyforge.cli",
        "generate",
        "--manifest",
        "results/align/dpo/manifest.json",
        "--tokenizer-dir",
        "results/tokenizer",
        "--prompt",
        "What is 12 + 30?",
        "--max-new-tokens",
        "40",
    ]
    greedy = run(base, timeout=300, cwd=workdir, check=True)
    (row,) = [json.loads(line) for line in greedy.stdout.splitlines()]
    table = list(csv.DictReader(open(workdir / "results/align/report/samples.csv")))
    (expected,) = [r for r in table if r["model"] == "dpo" and r["prompt"] == "What is 12 + 30?"]
    assert row["reply"] == expected["reply"] and row["num_tokens"] == int(expected["num_tokens"])
    sampled = [*base[:-1], "8", "--temperature", "1.5", "--top-p", "0.95", "--seed", "7"]
    first = [json.loads(x) for x in run(sampled, timeout=300, cwd=workdir).stdout.splitlines()]
    again = [json.loads(x) for x in run(sampled, timeout=300, cwd=workdir).stdout.splitlines()]
    assert first == again and first[0]["num_tokens"] <= 8
