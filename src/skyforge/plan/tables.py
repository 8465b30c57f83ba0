"""Write the compute plan artifact (results/plan/): CSV tables for machines, Markdown for people.

Files:
* ``summary.csv`` — one row per figure (name, value, unit): parameters, FLOPs per token, memory
  breakdown of the configured layout, tokens/GPU/s, MFU, days.
* ``layouts.csv`` — every candidate layout, ranked (fitting ones first, by predicted throughput).
* ``reverse.csv`` — the shapes tried for the reverse question, with the answer marked.
* ``plan.md`` — the same, readable, for the Snakemake report; with the rules' SLURM requests
  (:mod:`skyforge.plan.resources`, passed in by the rule as Snakemake computed them) as its last
  table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from skyforge.config import ClusterConfig, ModelConfig, ParallelConfig, PlanConfig, TrainConfig
from skyforge.core.io import atomic_write_text
from skyforge.core.tables import write_csv
from skyforge.plan import planner as P
from skyforge.plan.data_plan import render_data_plan

PLAN_FILES = ("summary.csv", "layouts.csv", "reverse.csv", "plan.md")


def build_plan_tables(
    model: ModelConfig,
    cluster: ClusterConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    plan: PlanConfig,
) -> dict[str, pd.DataFrame]:
    """Compute the plan and return its tables as DataFrames."""
    gpu = P.GPUS[plan.gpu]
    params = P.count_parameters(model)
    fpt = P.flops_per_token(model)
    tps = P.throughput_from_mfu(plan.assumed_mfu, model, gpu)
    tokens = train.total_tokens
    mem = P.estimate_memory(model, parallel, train.global_batch_size, plan.overhead_gib)
    gib = P.GIB
    summary = [
        ("model", model.name, ""),
        ("gpu", gpu.name, ""),
        ("num_gpus", cluster.num_gpus, "GPUs"),
        ("layout", _layout_name(parallel), ""),
        ("params_total", params.total, "parameters"),
        ("params_non_embedding", params.non_embedding, "parameters"),
        ("params_embedding_and_head", params.embedding + params.lm_head, "parameters"),
        ("flops_per_token", fpt, "FLOP"),
        ("tokens_per_step", train.global_batch_size * model.seq_length, "tokens"),
        ("microbatches_per_step", P.num_microbatches(train.global_batch_size, parallel), ""),
        ("assumed_mfu", plan.assumed_mfu, ""),
        ("tokens_per_gpu_s", tps, "tokens/GPU/s"),
        ("tflops_per_gpu", tps * fpt / 1e12, "TFLOP/s"),
        ("tokens_total", tokens, "tokens"),
        ("stage1_tokens", train.stage1_tokens, "tokens"),
        ("stage2_tokens", train.stage2_tokens, "tokens"),
        ("train_days", P.train_days(tokens, tps, cluster.num_gpus), "days"),
        ("memory_stage", mem.stage, "pipeline stage"),
        ("memory_weights_gib", mem.weights / gib, "GiB"),
        ("memory_gradients_gib", mem.gradients / gib, "GiB"),
        ("memory_optimizer_gib", mem.optimizer / gib, "GiB"),
        ("memory_activations_gib", mem.activations / gib, "GiB"),
        ("memory_logits_gib", mem.logits / gib, "GiB"),
        ("memory_overhead_gib", mem.overhead / gib, "GiB"),
        ("memory_total_gib", mem.total_gib, "GiB"),
        ("gpu_memory_gib", gpu.memory_gib, "GiB"),
        ("fits", mem.total_gib <= gpu.memory_gib, ""),
    ]
    summary_df = pd.DataFrame(summary, columns=["name", "value", "unit"])

    rows = P.rank_layouts(
        model,
        parallel,
        cluster.num_gpus,
        cluster.gpus_per_node,
        train.global_batch_size,
        gpu,
        plan.assumed_mfu,
        plan.overhead_gib,
        tokens,
    )
    layouts_df = pd.DataFrame([P.as_dict(r) for r in rows])
    layouts_df.insert(0, "rank", range(1, len(layouts_df) + 1))

    best, tried = P.largest_model(
        plan.reverse.tokens,
        plan.reverse.days,
        plan.reverse.gpus,
        gpu,
        plan.assumed_mfu,
        model,
        train.global_batch_size * model.seq_length,
        plan.overhead_gib,
        gpus_per_node=max(cluster.gpus_per_node, 8),
    )
    reverse_df = pd.DataFrame([P.as_dict(r) for r in tried])
    reverse_df["answer"] = [best is not None and r == best for r in tried]
    return {"summary": summary_df, "layouts": layouts_df, "reverse": reverse_df}


def _layout_name(p: ParallelConfig) -> str:
    return f"TP{p.tensor}·PP{p.pipeline}·DP{p.data}" + (" ZeRO-1" if p.zero_stage else "")


def _fmt_count(x: float) -> str:
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(x) >= div:
            return f"{x / div:,.2f} {unit}"
    return f"{x:,.0f} "


def _fmt_days(days: float) -> str:
    if days >= 1:
        return f"{days:,.1f} days"
    if days * 24 >= 1:
        return f"{days * 24:,.1f} hours"
    return f"{days * 86400:,.1f} seconds"


def render_markdown(tables: dict[str, pd.DataFrame], plan: PlanConfig) -> str:
    """The plan as Markdown for people."""
    s = dict(zip(tables["summary"]["name"], tables["summary"]["value"], strict=True))
    lines = [
        f"# Compute plan: {s['model']} on {s['num_gpus']} × {s['gpu']}",
        "",
        f"- Parameters: **{_fmt_count(s['params_total'])}** "
        f"({_fmt_count(s['params_non_embedding'])} without embedding and head)",
        f"- FLOPs per token (6N + 12·L·h·s): {s['flops_per_token']:.4g} FLOP",
        f"- Layout: {s['layout']}, {s['microbatches_per_step']} micro-batches per step, "
        f"{_fmt_count(s['tokens_per_step'])} tokens per step",
        f"- At an assumed MFU of {s['assumed_mfu']:.1%}: **{s['tokens_per_gpu_s']:,.0f} "
        f"tokens/GPU/s** ({s['tflops_per_gpu']:,.1f} TFLOP/s per GPU)",
        f"- {_fmt_count(s['tokens_total'])} tokens (stage 1 {_fmt_count(s['stage1_tokens'])}, "
        f"stage 2 {_fmt_count(s['stage2_tokens'])}) take **{_fmt_days(s['train_days'])}**",
        "",
        f"## Memory per GPU (busiest pipeline stage: {s['memory_stage']})",
        "",
        "| part | GiB |",
        "|---|---:|",
    ]
    for part in ("weights", "gradients", "optimizer", "activations", "logits", "overhead"):
        lines.append(f"| {part} | {s[f'memory_{part}_gib']:,.2f} |")
    verdict = "fits" if s["fits"] else "does NOT fit"
    lines += [
        f"| **total** | **{s['memory_total_gib']:,.2f}** |",
        "",
        f"{verdict} in {s['gpu_memory_gib']:.0f} GiB.",
        "",
        "## Alternative layouts",
        "",
        "Ranked by predicted throughput (kernel efficiency calibrated so that the configured "
        "layout reaches the assumed MFU; the others differ by pipeline bubble, recompute and "
        "communication). Layouts that do not fit are listed last.",
        "",
        "| rank | TP | PP | DP | ZeRO | mbs | recompute | GiB/GPU | fits | bubble | "
        "tokens/GPU/s | MFU | days |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    lay = tables["layouts"]
    shown = pd.concat([lay[lay.fits].head(20), lay[~lay.fits].head(10)])
    for r in shown.itertuples():
        mark = " ← configured" if r.configured else ""
        lines.append(
            f"| {r.rank} | {r.tensor} | {r.pipeline} | {r.data} | {r.zero_stage} | "
            f"{r.micro_batch_size} | {r.recompute} | {r.memory_gib:,.1f} | "
            f"{'yes' if r.fits else '**OOM**'} | {r.pipeline_bubble:.3f} | "
            f"{r.tokens_per_gpu_s:,.0f} | {r.mfu:.1%} | {r.days:,.1f}{mark} |"
        )
    if len(lay) > len(shown):
        lines.append(f"\n{len(lay) - len(shown)} more layouts in layouts.csv.")
    rev = tables["reverse"]
    q = plan.reverse
    lines += [
        "",
        f"## Reverse: {_fmt_count(q.tokens)} tokens, {q.days:g} days, {q.gpus} × {s['gpu']}",
        "",
    ]
    answer = rev[rev.answer]
    if len(answer):
        a = answer.iloc[0]
        lines.append(
            f"Largest model: **{_fmt_count(a.params)} parameters** ({a.num_layers} layers × "
            f"{a.hidden_size} hidden, FFN {a.ffn_hidden_size}, {a.num_attention_heads} heads), "
            f"{a.days_needed:,.1f} days on {a.best_layout}, {a.memory_gib:,.1f} GiB/GPU, "
            f"{a.tokens_per_param:,.1f} tokens per parameter."
        )
    else:
        lines.append("No model of this shape family can be trained with that budget.")
    lines += [
        "",
        "| params | layers | hidden | FFN | heads | days | tokens/param | layout | GiB/GPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    near = rev[
        (rev.params >= 0.4 * answer.params.max()) & (rev.params <= 1.6 * answer.params.max())
    ]
    for r in (near if len(answer) else rev.head(10)).itertuples():
        mem = "" if math.isnan(r.memory_gib) else f"{r.memory_gib:,.1f}"
        bold = "**" if r.answer else ""
        lines.append(
            f"| {bold}{_fmt_count(r.params)}{bold} | {r.num_layers} | {r.hidden_size} | "
            f"{r.ffn_hidden_size} | {r.num_attention_heads} | {r.days_needed:,.1f} | "
            f"{r.tokens_per_param:,.1f} | {r.best_layout} | {mem} |"
        )
    return "\n".join(lines) + "\n"


def _fmt_mem(mem_mb: int | None) -> str:
    return "partition default" if mem_mb is None else f"{mem_mb / 1024:,.1f} GiB"


def _fmt_minutes(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h" if not m else f"{h} h {m:02d}"


def render_resources(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rules' SLURM requests (:class:`skyforge.plan.resources.Request` rows) as Markdown."""
    lines = [
        "## SLURM requests per rule",
        "",
        "What each rule asks SLURM for (src/skyforge/plan/resources.py). Data and model rules are "
        "Snakemake SLURM jobs (`resources:`; a profile's `set-resources` may raise them, or lower "
        "them down to the planned need); submitit rules are local rules whose multi-node job "
        "submitit submits (`cluster`, `launch`). Partition `default`: the profile's "
        "`slurm_partition`. Memory in GiB of 2^30 bytes (SLURM `--mem` in MiB).",
        "",
        "| rule | kind | partition | nodes | GPUs/node | CPUs | memory | time limit | why |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    order = {"model": 0, "data": 1, "submitit": 2}
    for r in sorted(rows, key=lambda r: order.get(r["kind"], 3)):
        lines.append(
            f"| {r['rule']} | {r['kind']} | {r['partition'] or 'default'} | {r['nodes']} | "
            f"{r['gpus']} | {r['cpus_per_task']} | {_fmt_mem(r['mem_mb'])} | "
            f"{_fmt_minutes(r['runtime_min'])} | {r['why']} |"
        )
    return "\n".join(lines) + "\n"


def write_plan(
    out_dir: Path,
    model: ModelConfig,
    cluster: ClusterConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    plan: PlanConfig,
    resources: Sequence[Mapping[str, Any]] = (),
    data: Mapping[str, Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """Compute the plan and write its four files into ``out_dir`` atomically.

    Args:
        resources: the rules' SLURM requests (``Request.as_row()`` dicts); when given, the last
            table of ``plan.md``.
        data: the data half (:func:`skyforge.plan.data_plan.data_plan`); when given, its section
            of ``plan.md`` before the requests.
    """
    tables = build_plan_tables(model, cluster, parallel, train, plan)
    out_dir = Path(out_dir)
    for name in ("summary", "layouts", "reverse"):
        write_csv(out_dir / f"{name}.csv", tables[name])
    markdown = render_markdown(tables, plan)
    if data:
        markdown += "\n" + render_data_plan(data)
    if resources:
        markdown += "\n" + render_resources(resources)
    atomic_write_text(out_dir / "plan.md", markdown)
    return tables
