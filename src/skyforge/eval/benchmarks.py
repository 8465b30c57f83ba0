"""Benchmarks (SPEC.md §15): C-Eval, CMMLU, MMLU and GSM8K on the HF exports, through lm-eval.

EleutherAI's ``lm-eval`` (0.4.13) does the scoring: it builds the few-shot prompts, asks the model
for log-likelihoods or greedy generations (batching, stop sequences, left truncation) and averages
the per-item metrics. Its built-in tasks download their data from the Hugging Face Hub
(``ceval/ceval-exam``, ``haonan-li/cmmlu``, ``cais/mmlu``, ``openai/gsm8k``); a cluster job must
run offline on local copies, so this module adds what lm-eval lacks:

* **Readers for the official file layouts**, with a check that names the file and row of the
  first bad cell (lm-eval would fail deep inside ``datasets`` with a message that names neither):

  - C-Eval: ``<root>/{dev,val}/<subject>_{dev,val}.csv``, header ``id,question,A,B,C,D,answer``
    (dev also ``explanation``); scored on val (the test answers are hidden), few-shot from dev.
    An optional ``<root>/subject_mapping.json`` (the official repo's: subject → [English name,
    Chinese name, category]) gives the Chinese subject names of the task description.
  - CMMLU: ``<root>/{dev,test}/<subject>.csv``, header ``,Question,A,B,C,D,Answer`` (the first
    column is a row index); scored on test, few-shot from dev. ``subject_mapping.json`` as above.
  - MMLU: ``<root>/{dev,test}/<subject>_{dev,test}.csv``, scored on test, few-shot from dev. Two
    forms are accepted and told apart by the first row: the official one (no header, six
    columns: question, A, B, C, D, answer letter) and the re-formatted one of some mirrors, whose
    first row is exactly ``question,choice0,choice1,choice2,choice3,answer`` with the answer as
    an index 0–3.
  - GSM8K: ``<root>/{train,test}.jsonl``, one ``{"question", "answer"}`` object a line, the
    answer ending with ``#### <number>``; scored on test, few-shot from train (``ref.jsonl``, the
    contamination table's look-alike set, is checked when present but not scored).

  Rows are numbered from 1 after the header (CSV) or by line (JSONL), as a spreadsheet shows them.
* **lm-eval tasks built in memory** (``ConfigurableTask`` with a ``custom_dataset`` callable that
  returns ``datasets.Dataset`` objects made from the checked rows), one task per subject so that
  few-shot examples come from the same subject's dev split, as in the harness's own tasks. The
  prompts are those of lm-eval's ``ceval-valid``, ``cmmlu``, ``mmlu`` and ``gsm8k`` YAMLs, so
  numbers are comparable with published harness numbers:

  - multiple choice: ``<description>`` + shots + ``<question>\\nA. <A>\\nB. <B>\\nC. <C>\\nD. <D>
    \\n答案：`` (``Answer:`` for MMLU); each shot is followed by `` <letter>\\n\\n``. The metric is
    lm-eval's ``acc``: for each option the summed log-likelihood of the continuation
    ``" A"`` / ``" B"`` / ``" C"`` / ``" D"`` (a space and the letter; its tokens are those of
    ``tokenize(prompt + " A")`` after the tokens of ``tokenize(prompt)``), and the item is right
    when the correct letter has the highest one (no length normalisation). Shots are the first
    k rows of dev (lm-eval's ``first_n`` sampler).
  - GSM8K: shots ``Question: <q>\\nAnswer: <worked answer>\\n\\n`` (the first k rows of train), then
    ``Question: <q>\\nAnswer:``; greedy generation of at most ``max_gen_tokens`` tokens, stopped at
    ``Question:``, a blank line or the EOS token. Exact match (strict) compares the number after the
    first ``####`` of the generated text, or the last number when there is none, with the number
    after ``####`` in the reference (commas and ``$`` dropped, compared as decimals: ``18.0`` =
    ``18``). This is our rule (:func:`extract_final_number`), close to lm-eval's "strict-match"
    filter but with the last-number fallback that base models without the ``####`` habit need.

* **Truncation**: lm-eval keeps the LAST tokens of an input that is longer than the model's
  context (``max_position_embeddings``): for multiple choice the last ``max_length + 1`` tokens
  of prompt + continuation, for generation the last ``max_length - max_gen_tokens`` tokens of the
  prompt. The description and the first shots go first; the item is still scored. Such items are
  counted per cell (``<task>_truncated``) and flagged in the per-item file.

* **The table**, with a failed cell instead of an exception: a task whose files are bad fails for
  every model, a model folder that does not load fails its row, and either is logged as one line
  naming the model, the task and the file (and row).

Outputs of :func:`evaluate_benchmarks` in ``out_dir``: ``benchmarks.csv`` (machines),
``benchmarks.md`` (people), ``benchmarks.png`` (grouped bars) and ``benchmarks_items.jsonl`` (one
line per model × task × item: prompt, scores, prediction, truncation) for looking into a number.

:func:`write_synthetic_benchmarks` writes small sets in the same layouts for the embedded default
config (no benchmark data ships with the repository, and the licences of C-Eval and CMMLU are
non-commercial).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import json
import logging
import math
import os
import random
import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skyforge.core.io import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

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
    "write_synthetic_benchmarks",
]

log = logging.getLogger(__name__)

TASKS = ("ceval", "cmmlu", "mmlu", "gsm8k")
RANDOM_BASELINE = {"ceval": 0.25, "cmmlu": 0.25, "mmlu": 0.25, "gsm8k": 0.0}
"""Expected score of guessing: one of four letters; a guessed number is practically never right."""

DISPLAY_NAMES = {"ceval": "C-Eval", "cmmlu": "CMMLU", "mmlu": "MMLU", "gsm8k": "GSM8K"}
LETTERS = ("A", "B", "C", "D")

EVAL_SPLIT = {"ceval": "val", "cmmlu": "test", "mmlu": "test", "gsm8k": "test"}
"""The split each task is scored on (C-Eval's test answers are not public)."""
FEWSHOT_SPLIT = {"ceval": "dev", "cmmlu": "dev", "mmlu": "dev", "gsm8k": "train"}

GSM8K_STOP = ["Question:", "\n\n"]
"""Stop strings of GSM8K generation (lm-eval adds the tokenizer's EOS token)."""

_MMLU_HEADER = ["question", "choice0", "choice1", "choice2", "choice3", "answer"]
_CEVAL_COLUMNS = ["id", "question", "A", "B", "C", "D", "answer"]
_CMMLU_COLUMNS = ["", "Question", "A", "B", "C", "D", "Answer"]

# ---------------------------------------------------------------------------------------------
# Reading and checking the official layouts
# ---------------------------------------------------------------------------------------------


def _file_name(task: str, subject: str, split: str) -> str:
    return f"{subject}.csv" if task == "cmmlu" else f"{subject}_{split}.csv"


def _subject_of(task: str, path: Path, split: str) -> str | None:
    """The subject a CSV file name stands for, or None when the name breaks the layout."""
    if path.suffix != ".csv":
        return None
    if task == "cmmlu":
        return path.stem
    suffix = f"_{split}"
    return path.stem[: -len(suffix)] if path.stem.endswith(suffix) and path.stem != suffix else None


def _read_csv_rows(path: Path) -> list[list[str]]:
    """All rows of a UTF-8 CSV (a BOM is tolerated), as lists of strings."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: not a UTF-8 CSV file ({e})") from e


def _mc_row(path: Path, row_no: int, question: str, options: list[str], answer: str) -> dict:
    """One multiple-choice item in our common form; checks the question and the answer letter."""
    answer = answer.strip()
    if answer not in LETTERS:
        raise ValueError(f"{path}: row {row_no}: answer {answer!r} is not one of A, B, C, D")
    if not question.strip():
        raise ValueError(f"{path}: row {row_no}: empty question")
    return {"question": question, **dict(zip(LETTERS, options, strict=True)), "answer": answer}


def _read_mc_file(task: str, path: Path) -> list[dict]:
    """The items of one C-Eval / CMMLU / MMLU CSV as ``{question, A, B, C, D, answer}`` dicts.

    Raises:
        ValueError: naming the file (and row) when the file breaks the task's layout.
    """
    rows = _read_csv_rows(path)
    if task == "mmlu":
        if rows and [c.strip() for c in rows[0]] == _MMLU_HEADER:
            header_form, body = True, rows[1:]
        else:
            header_form, body = False, rows
        items = []
        for i, row in enumerate(body, start=1):
            if len(row) != 6:
                raise ValueError(
                    f"{path}: row {i}: {len(row)} fields; MMLU rows have 6 (question, A, B, C, D, "
                    "answer letter; or a header question,choice0..choice3,answer with 0-3)"
                )
            answer = row[5].strip()
            if header_form:
                if answer not in ("0", "1", "2", "3"):
                    raise ValueError(f"{path}: row {i}: answer {answer!r} is not one of 0, 1, 2, 3")
                answer = LETTERS[int(answer)]
            items.append(_mc_row(path, i, row[0], row[1:5], answer))
    else:
        expected = _CEVAL_COLUMNS if task == "ceval" else _CMMLU_COLUMNS
        if not rows:
            raise ValueError(f"{path}: empty file; expected the header {','.join(expected)}")
        header = [c.strip() for c in rows[0]]
        missing = [c for c in expected if c not in header]
        if missing:
            raise ValueError(
                f"{path}: header {','.join(header)!r} lacks column(s) {missing}; "
                f"{DISPLAY_NAMES[task]} files have the header {','.join(expected)}"
            )
        col = {c: header.index(c) for c in expected}
        q, a = ("question", "answer") if task == "ceval" else ("Question", "Answer")
        items = []
        for i, row in enumerate(rows[1:], start=1):
            if len(row) != len(header):
                raise ValueError(
                    f"{path}: row {i}: {len(row)} fields, the header has {len(header)}"
                )
            options = [row[col[letter]] for letter in LETTERS]
            items.append(_mc_row(path, i, row[col[q]], options, row[col[a]]))
    if not items:
        raise ValueError(f"{path}: no rows")
    return items


def _parse_number(text: str) -> Decimal | None:
    """A number as written in GSM8K (``1,000``, ``$18``, ``-3.5``, ``18.``), or None."""
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _read_gsm8k_file(path: Path) -> list[dict]:
    """The rows of a GSM8K JSONL file, each with ``reference`` (the number after ``####``).

    Raises:
        ValueError: naming the file and line of a row that is not a JSON object with string
            ``question`` and ``answer``, or whose answer lacks ``#### <number>``.
    """
    items = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 text file ({e})") from e
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {i}: not JSON ({e.msg})") from e
        if not (
            isinstance(row, dict)
            and isinstance(row.get("question"), str)
            and isinstance(row.get("answer"), str)
        ):
            raise ValueError(f"{path}: line {i}: needs string fields 'question' and 'answer'")
        if "####" not in row["answer"]:
            raise ValueError(f"{path}: line {i}: answer has no final '#### <number>'")
        final = row["answer"].rsplit("####", 1)[1]
        if _parse_number(final) is None:
            raise ValueError(f"{path}: line {i}: '#### {final.strip()}' is not a number")
        items.append(
            {"question": row["question"], "answer": row["answer"], "reference": final.strip()}
        )
    if not items:
        raise ValueError(f"{path}: no rows")
    return items


def _subject_files(task: str, root: Path, split: str) -> dict[str, Path]:
    """Subject → CSV file of one split directory; a CSV named against the layout is an error."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise ValueError(f"{split_dir}: missing (the {DISPLAY_NAMES[task]} layout has {split}/)")
    files = {}
    for path in sorted(split_dir.iterdir()):
        if path.suffix != ".csv":
            continue
        subject = _subject_of(task, path, split)
        if subject is None:
            raise ValueError(
                f"{path}: not named {_file_name(task, '<subject>', split)} "
                f"(the {DISPLAY_NAMES[task]} layout)"
            )
        files[subject] = path
    if not files:
        raise ValueError(f"{split_dir}: no {_file_name(task, '<subject>', split)} files")
    return files


def load_benchmark(task: str, root: Path) -> dict[str, dict[str, list[dict]]]:
    """Reads and checks one task's directory.

    Args:
        task: one of :data:`TASKS`.
        root: the task's directory in its official layout (see the module docstring).

    Returns:
        subject → split → items. Multiple-choice items are ``{question, A, B, C, D, answer}``
        (answer a letter); GSM8K has the one subject ``main`` with ``{question, answer,
        reference}`` items under ``train``, ``test`` (and ``ref`` when present).

    Raises:
        ValueError: naming the file (and row) of the first format error, or a subject whose
            few-shot split is missing.
    """
    if task not in TASKS:
        raise ValueError(f"unknown benchmark task {task!r}; expected one of {TASKS}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a directory ({DISPLAY_NAMES[task]} data)")
    if task == "gsm8k":
        splits = {}
        for split in ("train", "test", "ref"):
            path = root / f"{split}.jsonl"
            if path.is_file():
                splits[split] = _read_gsm8k_file(path)
            elif split != "ref":
                raise ValueError(f"{path}: missing (the GSM8K layout has train.jsonl, test.jsonl)")
        return {"main": splits}
    eval_split, shot_split = EVAL_SPLIT[task], FEWSHOT_SPLIT[task]
    eval_files = _subject_files(task, root, eval_split)
    shot_files = _subject_files(task, root, shot_split)
    out = {}
    for subject, path in eval_files.items():
        if subject not in shot_files:
            raise ValueError(
                f"{root / shot_split / _file_name(task, subject, shot_split)}: missing "
                f"(few-shot examples of subject {subject!r})"
            )
        out[subject] = {
            eval_split: _read_mc_file(task, path),
            shot_split: _read_mc_file(task, shot_files[subject]),
        }
    return out


def check_benchmark_dir(task: str, root: Path) -> list[str]:
    """Validates a task's directory; returns the subject names.

    Args:
        task: one of :data:`TASKS`.
        root: the task's directory in its official layout (see the module docstring).

    Returns:
        The subjects, sorted (``["main"]`` for GSM8K, which has none).

    Raises:
        ValueError: naming the file (and row) for a wrong format.
    """
    return sorted(load_benchmark(task, root))


# ---------------------------------------------------------------------------------------------
# Prompts and scoring rules (shared with the tests' direct computation)
# ---------------------------------------------------------------------------------------------


def _subject_names(root: Path) -> dict[str, str]:
    """Subject → Chinese name from an optional official-style ``subject_mapping.json``."""
    path = Path(root) / "subject_mapping.json"
    if not path.is_file():
        return {}
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
        return {k: v[1] for k, v in mapping.items() if isinstance(v, list) and len(v) > 1}
    except (json.JSONDecodeError, AttributeError) as e:
        raise ValueError(f"{path}: expected {{subject: [en, zh, category]}} ({e})") from e


def mc_description(task: str, subject: str, zh_name: str | None = None) -> str:
    """The task description before the shots, as in lm-eval's task YAMLs."""
    if task == "mmlu":
        topic = subject.replace("_", " ")
        return f"The following are multiple choice questions (with answers) about {topic}.\n\n"
    name = zh_name or subject.replace("_", " ")
    if task == "ceval":
        return f"以下是中国关于{name}的单项选择题，请选出其中的正确答案。\n\n"
    return f"以下是关于{name}的单项选择题，请直接给出正确答案的选项。\n\n"


def mc_question(task: str, item: dict) -> str:
    """One multiple-choice question without its answer (lm-eval's ``doc_to_text``)."""
    tail = "Answer:" if task == "mmlu" else "答案："
    options = "".join(f"\n{letter}. {item[letter]}" for letter in LETTERS)
    return f"{item['question'].strip()}{options}\n{tail}"


def mc_prompt(
    task: str, subject: str, item: dict, shots: list[dict], zh_name: str | None = None
) -> str:
    """The whole prompt lm-eval builds for one multiple-choice item.

    Args:
        task: ``ceval``, ``cmmlu`` or ``mmlu``.
        subject: the subject's file name stem.
        item: ``{question, A, B, C, D, answer}``.
        shots: the few-shot items (the first k of the subject's dev split).
        zh_name: the Chinese subject name (C-Eval / CMMLU descriptions), if known.

    Returns:
        Description, shots with their answers, then the question; the scored continuations are
        ``" A"`` … ``" D"``.
    """
    text = mc_description(task, subject, zh_name)
    for shot in shots:
        text += f"{mc_question(task, shot)} {shot['answer']}\n\n"
    return text + mc_question(task, item)


def gsm8k_prompt(item: dict, shots: list[dict]) -> str:
    """The GSM8K prompt: plain-text shots with their worked answers, then the question."""
    text = "".join(f"Question: {s['question']}\nAnswer: {s['answer']}\n\n" for s in shots)
    return text + f"Question: {item['question']}\nAnswer:"


_AFTER_HASHES = re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def extract_final_number(text: str) -> str | None:
    """The answer a generated GSM8K text gives (strict rule).

    The number right after the first ``####`` when the text has one (``None`` when no number
    follows it), else the last number in the text. Commas inside numbers are kept here and
    dropped when comparing (:func:`gsm8k_correct`).
    """
    if "####" in text:
        m = _AFTER_HASHES.search(text)
        return m.group(1) if m else None
    found = _NUMBER.findall(text)
    return found[-1] if found else None


def gsm8k_correct(generation: str, reference: str) -> bool:
    """Exact match of the generation's final number with the reference number, as decimals."""
    got = extract_final_number(generation)
    if got is None:
        return False
    a, b = _parse_number(got), _parse_number(reference)
    return a is not None and b is not None and a == b


# ---------------------------------------------------------------------------------------------
# lm-eval tasks
# ---------------------------------------------------------------------------------------------


def _dataset_loader(splits: dict[str, list[dict]]) -> Callable[..., dict]:
    """A ``custom_dataset`` callable: lm-eval calls it with the task metadata as keywords."""

    def load(**_: Any) -> dict:
        import datasets

        return {name: datasets.Dataset.from_list(rows) for name, rows in splits.items()}

    return load


def _gsm8k_results(doc: dict, results: list[str]) -> dict[str, float]:
    return {"exact_match": float(gsm8k_correct(results[0], doc["reference"]))}


def _task_configs(
    task: str, root: Path, data: dict, num_fewshot: int, max_gen_tokens: int
) -> list[dict]:
    """lm-eval ``TaskConfig`` dicts, one per subject, for checked data of one task."""
    eval_split, shot_split = EVAL_SPLIT[task], FEWSHOT_SPLIT[task]
    configs = []
    if task == "gsm8k":
        splits = data["main"]
        if num_fewshot > len(splits["train"]):
            raise ValueError(
                f"{Path(root) / 'train.jsonl'}: {len(splits['train'])} rows, fewer than the "
                f"{num_fewshot} few-shot examples asked"
            )
        configs.append(
            {
                "task": "skyforge_gsm8k",
                "custom_dataset": _dataset_loader(
                    {"train": splits["train"], "test": splits["test"]}
                ),
                "test_split": "test",
                "fewshot_split": "train",
                "fewshot_config": {"sampler": "first_n"},
                "output_type": "generate_until",
                # Callables, not lm-eval's Jinja strings: Jinja drops a trailing newline.
                "doc_to_text": lambda doc: gsm8k_prompt(doc, []),
                "doc_to_target": lambda doc: doc["answer"],
                "num_fewshot": num_fewshot,
                "metadata": {"subject": "main"},
                "process_results": _gsm8k_results,
                "metric_list": [
                    {"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}
                ],
                "generation_kwargs": {
                    "until": list(GSM8K_STOP),
                    "do_sample": False,
                    "max_gen_toks": max_gen_tokens,
                },
            }
        )
        return configs
    names = _subject_names(root)
    for subject, splits in data.items():
        if num_fewshot > len(splits[shot_split]):
            raise ValueError(
                f"{Path(root) / shot_split / _file_name(task, subject, shot_split)}: "
                f"{len(splits[shot_split])} rows, fewer than the {num_fewshot} few-shot "
                "examples asked"
            )
        configs.append(
            {
                "task": f"skyforge_{task}_{subject}",
                "custom_dataset": _dataset_loader(
                    {eval_split: splits[eval_split], shot_split: splits[shot_split]}
                ),
                # lm-eval scores test_split when set, else validation_split.
                ("validation_split" if eval_split == "val" else "test_split"): eval_split,
                "fewshot_split": shot_split,
                "fewshot_config": {"sampler": "first_n"},
                "output_type": "multiple_choice",
                "description": mc_description(task, subject, names.get(subject)),
                "doc_to_text": functools.partial(mc_question, task),
                "doc_to_choice": list(LETTERS),
                "doc_to_target": lambda doc: LETTERS.index(doc["answer"]),
                "num_fewshot": num_fewshot,
                "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
                # lm-eval hands metadata to custom_dataset (ignored there); we read it back.
                "metadata": {"subject": subject},
            }
        )
    return configs


@contextlib.contextmanager
def _quiet_lm_eval() -> Iterator[None]:
    """lm-eval warns once per truncated request and per custom task; we count truncations
    ourselves, so only its errors are let through."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_causal_lm(folder: Path) -> None:
    """Refuse a folder that is not a transformers causal LM before lm-eval tries to load it."""
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a directory")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{config_path}: missing (not a transformers model folder)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{config_path}: not JSON ({e.msg})") from e
    archs = config.get("architectures") or []
    if not any(str(a).endswith("ForCausalLM") for a in archs):
        raise ValueError(
            f"{config_path}: architectures {archs} has no *ForCausalLM class (not a causal LM)"
        )


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if isinstance(error, ValueError) else f"{type(error).__name__}: {text}"


def _run_task(lm: Any, configs: list[dict], limit: int | None, max_gen_tokens: int) -> dict:
    """Runs one benchmark's subject tasks; returns the score, counts and per-item records."""
    from lm_eval import simple_evaluate
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks import TaskManager

    tasks = [ConfigurableTask(config=dict(c)) for c in configs]
    # include_defaults=False: indexing lm-eval's ~10k bundled YAMLs is slow and not needed.
    results = simple_evaluate(
        model=lm,
        tasks=tasks,
        task_manager=TaskManager(include_defaults=False),
        limit=limit,
        bootstrap_iters=0,
        log_samples=True,
    )
    items, num_correct, num_truncated = [], 0, 0
    for config in configs:
        name = config["task"]
        generate = config["output_type"] == "generate_until"
        for s in sorted(results["samples"][name], key=lambda s: s["doc_id"]):
            prompt = s["arguments"][0][0]
            if generate:
                # The prompt keeps at most max_length - max_gen_tokens tokens (left-truncated).
                truncated = len(lm.tok_encode(prompt)) > lm.max_length - max_gen_tokens
                generation = s["filtered_resps"][0]
                correct = bool(s["exact_match"])
                record = {
                    "generation": generation,
                    "extracted": extract_final_number(generation),
                    "reference": s["doc"]["reference"],
                }
            else:
                # Prompt + continuation keeps at most max_length + 1 tokens (left-truncated).
                truncated = any(
                    len(lm.tok_encode(ctx + cont)) > lm.max_length + 1
                    for ctx, cont in s["arguments"]
                )
                lls = [float(r[0]) for r in s["filtered_resps"]]
                correct = bool(s["acc"])
                record = {
                    "continuations": [cont for _, cont in s["arguments"]],
                    "loglikelihoods": lls,
                    "predicted": LETTERS[max(range(len(lls)), key=lls.__getitem__)],
                    "answer": s["doc"]["answer"],
                }
            num_correct += correct
            num_truncated += truncated
            items.append(
                {
                    "subject": config["metadata"]["subject"],
                    "doc_id": s["doc_id"],
                    "prompt": prompt,
                    **record,
                    "correct": correct,
                    "truncated": truncated,
                }
            )
    n = len(items)
    return {
        "score": num_correct / n if n else math.nan,
        "n": n,
        "truncated": num_truncated,
        "items": items,
    }


def _load_lm(folder: Path, batch_size: int):
    """lm-eval's HF wrapper on a local folder (absolute, so no Hub lookup is ever tried)."""
    import torch
    from lm_eval.models.huggingface import HFLM

    _check_causal_lm(folder)
    return HFLM(
        pretrained=str(folder.resolve()),
        backend="causal",
        device="cuda" if torch.cuda.is_available() else "cpu",
        batch_size=batch_size,
        dtype="auto",
        trust_remote_code=False,
    )


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

    Returns:
        The table written to ``benchmarks.csv``.

    Raises:
        ValueError: for a task name not in :data:`TASKS` (a configuration error, before any work).
    """
    import pandas as pd

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
            configs[task] = _task_configs(task, Path(data[task]), loaded, shots, max_gen_tokens)
            num_items[task] = sum(
                len(s[EVAL_SPLIT[task]]) if limit is None else min(limit, len(s[EVAL_SPLIT[task]]))
                for s in loaded.values()
            )
        except ValueError as e:
            task_errors[task] = _one_line(e)
            log.error("benchmarks: task %s failed for every model: %s", task, task_errors[task])

    rows, all_items = [], []
    for model_name, folder in models.items():
        row: dict[str, Any] = {"model": model_name}
        for task in tasks:
            row |= {task: math.nan, f"{task}_n": 0, f"{task}_truncated": 0}
            if task in task_errors:
                row[f"{task}_status"] = f"failed: {task_errors[task]}"
        try:
            lm = _load_lm(Path(folder), batch_size)
        except Exception as e:  # noqa: BLE001 (any load error becomes the row's reason)
            reason = _one_line(e)
            log.error("benchmarks: model %s (%s) failed to load: %s", model_name, folder, reason)
            for task in tasks:  # the whole row, bad task files or not: the model is the cause
                row[f"{task}_status"] = f"failed: {reason}"
            rows.append(row)
            continue
        for task, task_configs in configs.items():
            try:
                with _quiet_lm_eval():
                    out = _run_task(lm, task_configs, limit, max_gen_tokens)
            except Exception as e:  # noqa: BLE001 (one failed cell must not lose the table)
                reason = _one_line(e)
                log.error("benchmarks: model %s, task %s failed: %s", model_name, task, reason)
                row[f"{task}_status"] = f"failed: {reason}"
                continue
            row |= {task: out["score"], f"{task}_n": out["n"]}
            row |= {f"{task}_truncated": out["truncated"], f"{task}_status": "ok"}
            all_items += [{"model": model_name, "task": task, **it} for it in out["items"]]
        rows.append(row)
        del lm
        gc.collect()

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

    with atomic_path(out_dir / "benchmarks.csv") as tmp:
        table.to_csv(tmp, index=False)
    atomic_write_text(
        out_dir / "benchmarks_items.jsonl",
        "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in all_items),
    )
    atomic_write_text(
        out_dir / "benchmarks.md",
        _markdown(table, tasks, num_fewshot, limit, max_gen_tokens),
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(tasks) + 2), 4.2))
    width = 0.8 / max(1, len(table))
    for i, (_, r) in enumerate(table.iterrows()):
        xs = [j + (i - (len(table) - 1) / 2) * width for j in range(len(tasks))]
        values = [100 * r[t] if r[f"{t}_status"] == "ok" else 0.0 for t in tasks]
        grey = r.model == "random guess"
        ax.bar(xs, values, width, label=r.model, color="0.7" if grey else None,
               hatch="//" if grey else None)  # fmt: skip
        for x, t in zip(xs, tasks, strict=True):
            if r[f"{t}_status"] != "ok":
                ax.text(x, 1, "failed", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="red")  # fmt: skip
    ax.set_xticks(range(len(tasks)), [DISPLAY_NAMES[t] for t in tasks])
    ax.set_ylabel("accuracy / exact match (%)")
    ax.set_ylim(0, 100)
    ax.set_title("benchmarks (lm-eval)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Synthetic sets for the embedded default
# ---------------------------------------------------------------------------------------------

# Facts for the "science" subject: (question, correct option, three wrong options).
_SCIENCE_ZH = [
    ("水的化学式是什么？", "H2O", "CO2", "O2", "NaCl"),
    ("地球绕太阳一周大约需要多长时间？", "一年", "一天", "一个月", "十年"),
    ("人体最大的器官是什么？", "皮肤", "心脏", "肝脏", "肺"),
    ("植物进行光合作用主要吸收哪种气体？", "二氧化碳", "氧气", "氮气", "氢气"),
    ("在标准大气压下，水的沸点是多少摄氏度？", "100", "90", "80", "120"),
    ("太阳系中最大的行星是哪一颗？", "木星", "地球", "火星", "金星"),
    ("在标准大气压下，冰的熔点是多少摄氏度？", "0", "10", "-10", "100"),
    ("声音不能在哪种环境中传播？", "真空", "水", "空气", "钢铁"),
    ("月球绕地球一周大约需要多少天？", "27", "7", "365", "100"),
    ("哪种金属在常温下是液体？", "汞", "铁", "铜", "铝"),
]
_SCIENCE_EN = [
    ("What is the chemical formula of water?", "H2O", "CO2", "O2", "NaCl"),
    ("About how long does the Earth take to go once around the Sun?", "one year", "one day",
     "one month", "ten years"),
    ("What is the largest organ of the human body?", "the skin", "the heart", "the liver",
     "the lungs"),
    ("Which gas do plants mainly take in for photosynthesis?", "carbon dioxide", "oxygen",
     "nitrogen", "hydrogen"),
    ("At sea-level pressure, at how many degrees Celsius does water boil?", "100", "90", "80",
     "120"),
    ("Which is the largest planet of the solar system?", "Jupiter", "Earth", "Mars", "Venus"),
    ("At sea-level pressure, at how many degrees Celsius does ice melt?", "0", "10", "-10", "100"),
    ("Where can sound not travel?", "in a vacuum", "in water", "in air", "in steel"),
    ("About how many days does the Moon take to go once around the Earth?", "27", "7", "365",
     "100"),
    ("Which metal is liquid at room temperature?", "mercury", "iron", "copper", "aluminium"),
]  # fmt: skip

MC_SUBJECTS = ("arithmetic", "units", "science", "time")
"""Subjects of the synthetic multiple-choice sets, in the order ``subjects_per_task`` takes them."""
_ZH_SUBJECT_NAMES = {"arithmetic": "算术", "units": "单位换算", "science": "科学常识",
                     "time": "时间换算"}  # fmt: skip


def _distractors(rng: random.Random, correct: int) -> list[int]:
    """Three distinct wrong numbers near ``correct`` (plausible, all positive)."""
    pool = {correct + d for d in (-10, -2, -1, 1, 2, 10, correct)} - {correct}
    return rng.sample(sorted(v for v in pool if v > 0), 3)


def _mc_question(rng: random.Random, subject: str, lang: str) -> tuple[str, str, list[str]]:
    """(question, correct option, wrong options) for one synthetic item."""
    zh = lang == "zh"
    if subject == "arithmetic":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        if rng.random() < 0.5:
            q, c = (f"{a} 加 {b} 等于多少？" if zh else f"What is {a} plus {b}?"), a + b
        else:
            a, b = rng.randint(2, 19), rng.randint(2, 19)
            q, c = (f"{a} 乘以 {b} 等于多少？" if zh else f"What is {a} times {b}?"), a * b
        return q, str(c), [str(v) for v in _distractors(rng, c)]
    if subject == "units":
        n = rng.randint(2, 99)
        big_zh, small_zh, big_en, small_en, f = rng.choice(
            [("千米", "米", "kilometres", "metres", 1000),
             ("米", "厘米", "metres", "centimetres", 100),
             ("千克", "克", "kilograms", "grams", 1000),
             ("升", "毫升", "litres", "millilitres", 1000)]
        )  # fmt: skip
        q = f"{n} {big_zh}等于多少{small_zh}？" if zh else f"How many {small_en} are {n} {big_en}?"
        wrong = [n * f // 10, n * f * 10, n * f + f]
        return q, str(n * f), [str(v) for v in wrong]
    if subject == "time":
        n = rng.randint(2, 60)
        big_zh, small_zh, big_en, small_en, f = rng.choice(
            [("小时", "分钟", "hours", "minutes", 60), ("分钟", "秒", "minutes", "seconds", 60),
             ("天", "小时", "days", "hours", 24), ("星期", "天", "weeks", "days", 7)]
        )  # fmt: skip
        q = f"{n} {big_zh}等于多少{small_zh}？" if zh else f"How many {small_en} are {n} {big_en}?"
        c = n * f
        return q, str(c), [str(v) for v in (c + f, c - f, 2 * c)]
    facts = _SCIENCE_ZH if zh else _SCIENCE_EN
    q, c, *wrong = rng.choice(facts)
    return q, c, list(wrong)


def _mc_items(rng: random.Random, subject: str, lang: str, n: int) -> list[dict]:
    """``n`` items with shuffled options; numeric questions do not repeat within a subject."""
    items, seen = [], set()
    for _ in range(200 * n):
        if len(items) == n:
            break
        q, correct, wrong = _mc_question(rng, subject, lang)
        if q in seen and subject != "science":  # 10 facts: science repeats, reshuffled
            continue
        options = [correct, *wrong]
        if len(set(options)) < len(options):
            continue
        seen.add(q)
        rng.shuffle(options)
        items.append({"question": q, **dict(zip(LETTERS, options, strict=True)),
                      "answer": LETTERS[options.index(correct)]})  # fmt: skip
    assert len(items) == n, f"could not draw {n} distinct {subject} questions"
    return items


def _csv_text(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _explanation(item: dict) -> str:
    return f"1. {item['question']}正确答案是{item[item['answer']]}，所以选{item['answer']}。"


# GSM8K-style templates: (question, worked answer, result), numbers drawn by ``draw``.
_NAMES = ("Mia", "Tom", "Ana", "Liam", "Zoe", "Omar", "Lena", "Ravi", "Sara", "Ken")


def _gsm8k_templates() -> list[tuple[Callable[[random.Random], tuple], Callable[..., tuple]]]:
    """(draw numbers, build (question, answer, result)) pairs; the answers follow GSM8K's style
    (calculator annotations ``<<a+b=c>>``, a final ``#### N``)."""

    def t0(name, a, b, c):
        s, r = a + b, a + b - c
        return (
            f"{name} has {a} apples. {name} buys {b} more apples and then gives {c} apples to a "
            f"friend. How many apples does {name} have now?",
            f"After buying, {name} has {a} + {b} = <<{a}+{b}={s}>>{s} apples.\n"
            f"After giving some away, {name} has {s} - {c} = <<{s}-{c}={r}>>{r} apples.\n#### {r}",
            r,
        )

    def t1(name, a, b):
        r = a * b
        return (
            f"A box holds {a} pencils. {name} buys {b} boxes. How many pencils does {name} buy?",
            f"{name} buys {a} * {b} = <<{a}*{b}={r}>>{r} pencils.\n#### {r}",
            r,
        )

    def t2(name, a, b, c):
        w, r = a * b, a * b + c
        return (
            f"{name} earns ${a} per hour and works {b} hours. {name} also gets a ${c} tip. "
            f"How much money does {name} get in total?",
            f"For the work {name} gets {a} * {b} = <<{a}*{b}={w}>>{w} dollars.\n"
            f"With the tip it is {w} + {c} = <<{w}+{c}={r}>>{r} dollars.\n#### {r}",
            r,
        )

    def t3(name, q, b):
        a = q * b
        return (
            f"{name} has {a} stickers and shares them equally among {b} friends. How many "
            "stickers does each friend get?",
            f"Each friend gets {a} / {b} = <<{a}/{b}={q}>>{q} stickers.\n#### {q}",
            q,
        )

    def t4(name, a, b):
        r = a - b
        return (
            f"There are {a} students in {name}'s class and {b} of them are girls. How many boys "
            "are in the class?",
            f"There are {a} - {b} = <<{a}-{b}={r}>>{r} boys.\n#### {r}",
            r,
        )

    return [
        (lambda g: (g.randint(10, 99), g.randint(2, 50), g.randint(1, 9)), t0),
        (lambda g: (g.randint(3, 24), g.randint(2, 12)), t1),
        (lambda g: (g.randint(8, 30), g.randint(2, 10), g.randint(1, 20)), t2),
        (lambda g: (g.randint(2, 20), g.randint(2, 9)), t3),
        (lambda g: (g.randint(20, 40), g.randint(5, 19)), t4),
    ]


def write_synthetic_benchmarks(
    out_dir: Path,
    *,
    seed: int,
    subjects_per_task: int = 3,
    questions_per_subject: int = 20,
    gsm8k_train: int = 200,
    gsm8k_test: int = 60,
    gsm8k_ref: int = 60,
) -> dict:
    """Writes small benchmark sets in the official layouts, for the embedded default.

    ``out_dir/ceval`` (Chinese; ``{dev,val}/<subject>_{dev,val}.csv`` and the official
    ``subject_mapping.json``), ``out_dir/cmmlu`` (Chinese; ``{dev,test}/<subject>.csv``, plus a
    ``subject_mapping.json`` for the Chinese subject names), ``out_dir/mmlu`` (English; the
    official header-less ``{dev,test}/<subject>_{dev,test}.csv``): the first
    ``subjects_per_task`` of :data:`MC_SUBJECTS` (arithmetic, unit conversion, science facts,
    time conversion), 5 dev items and ``questions_per_subject`` scored items each, options
    shuffled, correct answers. Science has ten facts a language, so its items repeat with the
    options reshuffled; the numeric subjects do not repeat within a subject.

    ``out_dir/gsm8k/{train,test,ref}.jsonl``: English word problems from five templates, each
    answer a worked solution ending with ``#### N``. The three files use the SAME templates with
    DISJOINT numbers: no (template, numbers) pair occurs twice anywhere, so ``ref`` is a set of
    fresh look-alike problems for the contamination table (L_ref).

    Files are written atomically; the output depends only on the arguments.

    Args:
        out_dir: created if needed; existing files of the same names are replaced.
        seed: the random seed.
        subjects_per_task: 1 to 4.
        questions_per_subject: scored items per subject (val for C-Eval, test otherwise).
        gsm8k_train: GSM8K train rows (few-shot pool, contamination L_train).
        gsm8k_test: GSM8K test rows.
        gsm8k_ref: look-alike reference rows.

    Returns:
        Counts: ``{task: {"subjects": …, "<split>": items, …}}`` (GSM8K: rows per file).

    Raises:
        ValueError: if ``subjects_per_task`` is not in 1..4 or a count is negative.
    """
    if not 1 <= subjects_per_task <= len(MC_SUBJECTS):
        raise ValueError(f"subjects_per_task={subjects_per_task}: expected 1..{len(MC_SUBJECTS)}")
    if min(questions_per_subject, gsm8k_train, gsm8k_test, gsm8k_ref) < 0:
        raise ValueError("synthetic benchmark counts must not be negative")
    out_dir = Path(out_dir)
    subjects = MC_SUBJECTS[:subjects_per_task]
    counts: dict[str, dict[str, int]] = {}
    for t_index, task in enumerate(("ceval", "cmmlu", "mmlu")):
        lang = "en" if task == "mmlu" else "zh"
        root = out_dir / task
        eval_split, shot_split = EVAL_SPLIT[task], FEWSHOT_SPLIT[task]
        counts[task] = {"subjects": len(subjects), shot_split: 0, eval_split: 0}
        for s_index, subject in enumerate(subjects):
            rng = random.Random(f"{seed}/{t_index}/{s_index}")
            for split, n in ((shot_split, 5), (eval_split, questions_per_subject)):
                items = _mc_items(rng, subject, lang, n)
                counts[task][split] += n
                path = root / split / _file_name(task, subject, split)
                rows: list[list[Any]]
                if task == "ceval":
                    cols = _CEVAL_COLUMNS + (["explanation"] if split == "dev" else [])
                    rows = [cols] + [
                        [i, it["question"], *(it[x] for x in LETTERS), it["answer"]]
                        + ([_explanation(it)] if split == "dev" else [])
                        for i, it in enumerate(items)
                    ]
                elif task == "cmmlu":
                    rows = [_CMMLU_COLUMNS] + [
                        [i, it["question"], *(it[x] for x in LETTERS), it["answer"]]
                        for i, it in enumerate(items)
                    ]
                else:
                    rows = [[it["question"], *(it[x] for x in LETTERS), it["answer"]]
                            for it in items]  # fmt: skip
                atomic_write_text(path, _csv_text(rows))
        if task != "mmlu":
            mapping = {s: [s.replace("_", " "), _ZH_SUBJECT_NAMES[s], "STEM"] for s in subjects}
            atomic_write_text(
                root / "subject_mapping.json",
                json.dumps(mapping, ensure_ascii=False, indent=2) + "\n",
            )

    rng = random.Random(f"{seed}/gsm8k")
    templates = _gsm8k_templates()
    seen: set[tuple] = set()
    counts["gsm8k"] = {}
    for split, n in (("train", gsm8k_train), ("test", gsm8k_test), ("ref", gsm8k_ref)):
        lines = []
        while len(lines) < n:
            k = rng.randrange(len(templates))
            draw, build = templates[k]
            numbers = draw(rng)
            if (k, numbers) in seen:  # disjoint splits: each (template, numbers) once
                continue
            seen.add((k, numbers))
            question, answer, _ = build(rng.choice(_NAMES), *numbers)
            lines.append(json.dumps({"question": question, "answer": answer}) + "\n")
        atomic_write_text(out_dir / "gsm8k" / f"{split}.jsonl", "".join(lines))
        counts["gsm8k"][split] = n
    return counts
