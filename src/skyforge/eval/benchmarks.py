"""Benchmarks (docs/recipe.md#evaluation): C-Eval, CMMLU, MMLU and GSM8K on the HF exports.

EleutherAI's ``lm-eval`` (0.4.13) does the scoring: few-shot prompts, log-likelihoods or greedy
generations, per-item metrics. Its built-in tasks download their data from the Hugging Face Hub,
but a cluster job runs offline on local copies, so this module adds what lm-eval lacks: readers
for the official file layouts that name the file and row of the first bad cell; lm-eval tasks
built in memory from the checked rows, one per subject, with the prompts of lm-eval's own YAMLs
(so numbers compare with published harness numbers); GSM8K exact match on the final number
with a last-number fallback for base models; counts of items truncated to the model's context;
and a table with a failed cell, logged with model, task and file, instead of an exception.

:func:`evaluate_benchmarks` writes ``benchmarks.csv``, ``benchmarks.md``, ``benchmarks.png`` and
``benchmarks_items.jsonl`` (one line per model × task × item). The embedded default evaluates on
small sets in the same layouts (:mod:`skyforge.synthetic.benchmarks`): no benchmark data ships
with the repository, and the licences of C-Eval and CMMLU are non-commercial.

File readers, prompts and scoring live in :mod:`skyforge.eval.benchmark_files`, the lm-eval
tasks in :mod:`skyforge.eval.lm_eval_tasks`; this module runs them and writes the table.

See docs/eval.md.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from skyforge.core.io import atomic_write_text
from skyforge.core.tables import save_figure, write_table
from skyforge.eval.benchmark_files import (
    DISPLAY_NAMES,
    EVAL_SPLIT,
    FEWSHOT_SPLIT,
    RANDOM_BASELINE,
    TASKS,
    check_benchmark_dir,
    extract_final_number,
    gsm8k_correct,
    gsm8k_prompt,
    load_benchmark,
    mc_description,
    mc_prompt,
    mc_question,
)
from skyforge.eval.lm_eval_tasks import (
    build_task_configs,
    load_lm,
    one_line,
    quiet_lm_eval,
    run_task,
)

__all__ = [
    "RANDOM_BASELINE",
    "TASKS",
    "check_benchmark_dir",
    "evaluate_benchmarks",
    "extract_final_number",
    "gsm8k_correct",
    "gsm8k_prompt",
    "load_benchmark",
    "mc_description",
    "mc_prompt",
    "mc_question",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Cells: (model, task) pairs, in this process or spread over the node's GPUs
# ---------------------------------------------------------------------------------------------

Cell = tuple[str, dict[str, Any] | None]  # ("ok", lm-eval's result) or (one-line reason, None)
TaskSpec = tuple[str, Path, int]  # task, its directory, shots: what a worker rebuilds it from


def _model_cells(
    name: str,
    folder: Path,
    specs: list[TaskSpec],
    limit: int | None,
    batch_size: int,
    max_gen_tokens: int,
    configs: dict[str, list[dict]] | None = None,
) -> tuple[str | None, dict[str, Cell]]:
    """Every given task of one model: load it once, run the tasks.

    Returns:
        (the model's load error or None, task → cell). ``configs`` are the tasks already built
        in this process; a worker process rebuilds them from ``specs`` (lm-eval's task configs
        hold closures, which do not pickle).
    """
    if configs is None:
        configs = {
            task: build_task_configs(task, path, load_benchmark(task, path), shots, max_gen_tokens)
            for task, path, shots in specs
        }
    try:
        lm = load_lm(Path(folder), batch_size)
    except Exception as e:  # noqa: BLE001 (any load error becomes the row's reason)
        reason = one_line(e)
        log.error("benchmarks: model %s (%s) failed to load: %s", name, folder, reason)
        return reason, {}
    cells: dict[str, Cell] = {}
    for task, task_configs in configs.items():
        try:
            with quiet_lm_eval():
                cells[task] = ("ok", run_task(lm, task_configs, limit, max_gen_tokens))
        except Exception as e:  # noqa: BLE001 (one failed cell must not lose the table)
            reason = one_line(e)
            log.error("benchmarks: model %s, task %s failed: %s", name, task, reason)
            cells[task] = (reason, None)
    del lm
    gc.collect()
    return None, cells


def _take_gpu(slots: Any) -> None:
    """Pool initializer: this worker sees one GPU of the node (before CUDA starts)."""
    os.environ["CUDA_VISIBLE_DEVICES"] = str(slots.get())


def _run_cells(
    models: dict[str, Path],
    specs: list[TaskSpec],
    configs: dict[str, list[dict]],
    limit: int | None,
    batch_size: int,
    max_gen_tokens: int,
    workers: int | None,
) -> dict[str, tuple[str | None, dict[str, Cell]]]:
    """Model → (load error, task → cell). One process evaluates one model's tasks at a time; on
    a node with G GPUs, G worker processes (one GPU each, CUDA_VISIBLE_DEVICES) take the
    (model, task) pairs from a queue, so a node's 8 GPUs score 8 cells at once. Each worker
    loads the model of its cell (a 13 B model in bf16: 27.7 GB, one GPU), which costs a load
    per cell and keeps the cells independent; lm-eval's own data parallelism (accelerate
    launch) would need a launcher around the Snakemake job instead.
    """
    # deferred: heavy import (torch), only for this path
    import torch

    if workers is None:
        workers = torch.cuda.device_count() if torch.cuda.is_available() else 1
    pairs = [(m, spec) for m in models for spec in specs]
    if workers <= 1 or len(pairs) <= 1:
        return {
            name: _model_cells(name, folder, specs, limit, batch_size, max_gen_tokens, configs)
            for name, folder in models.items()
        }
    # deferred: only a multi-GPU node (or a test) reaches this
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # a fresh interpreter: CUDA starts after the pinning
    slots = ctx.Manager().Queue()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    gpus = visible.split(",") if visible else [str(i) for i in range(workers)]
    workers = min(workers, len(pairs))
    for i in range(workers):
        slots.put(gpus[i % len(gpus)])
    log.info("benchmarks: %d cells on %d worker processes, one GPU each", len(pairs), workers)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_take_gpu, initargs=(slots,))
    with pool:
        futures = [
            (m, pool.submit(_model_cells, m, models[m], [spec], limit, batch_size, max_gen_tokens))
            for m, spec in pairs
        ]
        out: dict[str, tuple[str | None, dict[str, Cell]]] = {m: (None, {}) for m in models}
        for m, future in futures:
            error, cells = future.result()
            out[m] = (out[m][0] or error, out[m][1] | cells)
    return out


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def evaluate_benchmarks(
    models: dict[str, Path],
    data: dict[str, Path],
    out_dir: Path,
    *,
    num_fewshot: dict[str, int],
    limit: int | None = None,
    batch_size: int = 8,
    max_gen_tokens: int = 64,
    workers: int | None = None,
) -> pd.DataFrame:
    """Runs every task in ``data`` for every model with lm-eval and writes the table.

    Writes ``out_dir/benchmarks.csv`` (one row per model, then ``random guess``; per task the
    columns ``<task>`` (accuracy or exact match in [0, 1]), ``<task>_n`` (items scored),
    ``<task>_truncated`` (items whose prompt was cut to fit the context) and ``<task>_status``
    (``ok`` or ``failed: <one line>``)), ``benchmarks.md`` (Markdown table with a caption),
    ``benchmarks.png`` (grouped bars) and ``benchmarks_items.jsonl`` (per-item records).

    A task whose files are bad, or a model that fails to load or run, gives failed cells and one
    logged error line naming the model, task and file/row; the rest of the table still builds.
    The score is pooled over all scored items of all subjects (lm-eval's size-weighted mean).

    Args:
        models: display name → HF model folder (a LlamaForCausalLM export).
        data: task (one of :data:`TASKS`) → its directory in the official layout.
        out_dir: where the outputs go (created).
        num_fewshot: task → shots (a task missing here runs 0-shot).
        limit: at most this many items per subject (GSM8K is one subject), the first ones of the
            scored split; None scores all.
        batch_size: lm-eval's batch size.
        max_gen_tokens: GSM8K's generation budget in tokens; must be below the model's context.
        workers: processes running (model, task) cells side by side, each on its own GPU
            (:func:`_run_cells`); default: the node's GPU count, or 1 on a CPU node.

    Returns:
        The table written to ``benchmarks.csv``.

    Raises:
        ValueError: for a task name not in :data:`TASKS` (a configuration error, before any work).
    """
    # Local files only: a Hub call would hang or fail on a compute node without internet.
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    unknown = sorted(set(data) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown benchmark task(s) {unknown}; expected some of {TASKS}")
    tasks = [t for t in TASKS if t in data]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    configs: dict[str, list[dict]] = {}
    task_errors: dict[str, str] = {}
    num_items: dict[str, int] = {}
    for task in tasks:
        shots = int(num_fewshot.get(task, 0))
        try:
            loaded = load_benchmark(task, Path(data[task]))
            configs[task] = build_task_configs(
                task, Path(data[task]), loaded, shots, max_gen_tokens
            )
            num_items[task] = sum(
                len(s[EVAL_SPLIT[task]]) if limit is None else min(limit, len(s[EVAL_SPLIT[task]]))
                for s in loaded.values()
            )
        except ValueError as e:
            task_errors[task] = one_line(e)
            log.error("benchmarks: task %s failed for every model: %s", task, task_errors[task])

    specs = [(t, Path(data[t]), int(num_fewshot.get(t, 0))) for t in configs]
    results = _run_cells(models, specs, configs, limit, batch_size, max_gen_tokens, workers)
    rows, all_items = [], []
    for model_name in models:
        row: dict[str, Any] = {"model": model_name}
        for task in tasks:
            row |= {task: math.nan, f"{task}_n": 0, f"{task}_truncated": 0}
            if task in task_errors:
                row[f"{task}_status"] = f"failed: {task_errors[task]}"
        load_error, cells = results[model_name]
        if load_error is not None:  # the whole row, bad task files or not: the model is the cause
            row |= {f"{task}_status": f"failed: {load_error}" for task in tasks}
            rows.append(row)
            continue
        for task in configs:
            status, out = cells[task]
            if status != "ok":
                row[f"{task}_status"] = f"failed: {status}"
                continue
            row |= {task: out["score"], f"{task}_n": out["n"]}
            row |= {f"{task}_truncated": out["truncated"], f"{task}_status": "ok"}
            all_items += [{"model": model_name, "task": task, **it} for it in out["items"]]
        rows.append(row)

    # The baseline is a property of the format (4 options; a free number), so it stands even
    # where the task's files failed; its _n is the number of items the models were given.
    baseline: dict[str, Any] = {"model": "random guess"}
    for task in tasks:
        baseline |= {
            task: RANDOM_BASELINE[task],
            f"{task}_n": num_items.get(task, 0),
            f"{task}_truncated": 0,
            f"{task}_status": "ok",
        }
    rows.append(baseline)
    columns = ["model"] + [
        f"{t}{suffix}" for t in tasks for suffix in ("", "_n", "_truncated", "_status")
    ]
    table = pd.DataFrame(rows, columns=columns)

    write_table(
        out_dir, "benchmarks", table, _markdown(table, tasks, num_fewshot, limit, max_gen_tokens)
    )
    atomic_write_text(
        out_dir / "benchmarks_items.jsonl",
        "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in all_items),
    )
    _plot(table, tasks, out_dir / "benchmarks.png")
    return table


def _markdown(
    table: pd.DataFrame,
    tasks: list[str],
    num_fewshot: dict[str, int],
    limit: int | None,
    max_gen_tokens: int,
) -> str:
    """The people's table: percentages, 'failed' cells, the best model per column in bold."""
    models = table[table.model != "random guess"]
    header = ["Model"] + [DISPLAY_NAMES[t] for t in tasks]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    best = {t: models.loc[models[f"{t}_status"] == "ok", t].max() for t in tasks}
    for _, r in table.iterrows():
        cells = [str(r.model)]
        for t in tasks:
            if r[f"{t}_status"] != "ok":
                cells.append("failed")
                continue
            text = f"{100 * r[t]:.1f}"
            is_best = r.model != "random guess" and r[t] == best[t]
            cells.append(f"**{text}**" if is_best else text)
        lines.append("| " + " | ".join(cells) + " |")

    def describe(t: str) -> str:
        k = int(num_fewshot.get(t, 0))
        shots = f"the first {k} of {FEWSHOT_SPLIT[t]} as shots" if k else "no shots"
        split = f"{EVAL_SPLIT[t]} split, {shots}"
        n = int(table.loc[table.model == "random guess", f"{t}_n"].iloc[0])
        return f"{DISPLAY_NAMES[t]} {k}-shot ({split}; " + (f"{n} items)" if n else "no data)")

    truncated = [
        f"{r.model} / {DISPLAY_NAMES[t]}: {int(r[f'{t}_truncated'])}"
        for _, r in models.iterrows()
        for t in tasks
        if r[f"{t}_status"] == "ok" and r[f"{t}_truncated"] > 0
    ]
    failed: dict[tuple[str, str], list[str]] = {}  # (model, reason) -> tasks: one reason once
    for _, r in models.iterrows():
        for t in tasks:
            if r[f"{t}_status"] != "ok":
                reason = r[f"{t}_status"].removeprefix("failed: ")
                failed.setdefault((r.model, reason), []).append(DISPLAY_NAMES[t])
    caption = (
        "Benchmarks through EleutherAI lm-eval 0.4.13 on the HF exports, in percent (higher is "
        f"better; the best model per column in bold). {'; '.join(describe(t) for t in tasks)}"
        + (f"; at most {limit} items per subject" if limit is not None else "")
        + ". "
    )
    if any(t != "gsm8k" for t in tasks):
        caption += (
            f"{', '.join(DISPLAY_NAMES[t] for t in tasks if t != 'gsm8k')}: lm-eval's `acc`; "
            "after the prompt (description, shots, question, options, then `答案：` or "
            '`Answer:`) the summed log-likelihood of each continuation " A", " B", " C", " D" '
            "(a space and the option letter), argmax against the answer, no length "
            "normalisation. "
        )
    if "gsm8k" in tasks:
        caption += (
            "GSM8K: exact match of the final number; greedy generation of at most "
            f"{max_gen_tokens} tokens after plain-text `Question: …\\nAnswer: …` shots, stopped "
            'at "Question:", a blank line or EOS; the number after `####` in the generation, '
            "else its last number, equals the number after `####` in the reference. "
        )
    caption += (
        "Scores are pooled over all items of all subjects. 'random guess' is the expected score "
        "of guessing (1 in 4; 0 for a free-form number). Prompts longer than the model's "
        "context are cut from the left by lm-eval (the description and first shots go; the "
        "item is still scored); items cut: " + ("; ".join(truncated) if truncated else "none") + "."
    )
    if failed:
        caption += " Failed cells: " + "; ".join(
            f"{model} / {', '.join(names)}: {reason}" for (model, reason), names in failed.items()
        )
        caption += "."
    return "\n".join(lines) + "\n\n" + caption + "\n"


def _plot(table: pd.DataFrame, tasks: list[str], path: Path) -> None:
    """Grouped bars: one group per task, one bar per model (random guess in grey)."""
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(tasks) + 2), 4.2))
    width = 0.8 / max(1, len(table))
    for i, (_, r) in enumerate(table.iterrows()):
        xs = [j + (i - (len(table) - 1) / 2) * width for j in range(len(tasks))]
        values = [100 * r[t] if r[f"{t}_status"] == "ok" else 0.0 for t in tasks]
        grey = r.model == "random guess"
        ax.bar(
            xs,
            values,
            width,
            label=r.model,
            color="0.7" if grey else None,
            hatch="//" if grey else None,
        )
        for x, t in zip(xs, tasks, strict=True):
            if r[f"{t}_status"] != "ok":
                ax.text(
                    x, 1, "failed", rotation=90, ha="center", va="bottom", fontsize=7, color="red"
                )
    ax.set_xticks(range(len(tasks)), [DISPLAY_NAMES[t] for t in tasks])
    ax.set_ylabel("accuracy / exact match (%)")
    ax.set_ylim(0, 100)
    ax.set_title("benchmarks (lm-eval)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
