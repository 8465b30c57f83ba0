"""Benchmark files in their official layouts (C-Eval, CMMLU, MMLU, GSM8K), prompts and scoring.

The readers name the file and row of the first bad cell; the prompts follow lm-eval's own YAMLs so
numbers compare with published harness numbers. :mod:`skyforge.eval.benchmarks` runs them.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

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
CEVAL_COLUMNS = ["id", "question", "A", "B", "C", "D", "answer"]
CMMLU_COLUMNS = ["", "Question", "A", "B", "C", "D", "Answer"]
"""Header rows of the C-Eval (dev adds ``explanation``) and CMMLU CSV files."""


# ---------------------------------------------------------------------------------------------
# Reading and checking the official layouts
# ---------------------------------------------------------------------------------------------


def subject_file_name(task: str, subject: str, split: str) -> str:
    """File name of one subject's split in the official layout (CMMLU's names carry no split)."""
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
        expected = CEVAL_COLUMNS if task == "ceval" else CMMLU_COLUMNS
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
                f"{path}: not named {subject_file_name(task, '<subject>', split)} "
                f"(the {DISPLAY_NAMES[task]} layout)"
            )
        files[subject] = path
    if not files:
        raise ValueError(f"{split_dir}: no {subject_file_name(task, '<subject>', split)} files")
    return files


def load_benchmark(task: str, root: Path) -> dict[str, dict[str, list[dict]]]:
    """Reads and checks one task's directory.

    Args:
        task: one of :data:`TASKS`.
        root: the task's directory in its official layout (docs/eval.md).

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
                f"{root / shot_split / subject_file_name(task, subject, shot_split)}: missing "
                f"(few-shot examples of subject {subject!r})"
            )
        out[subject] = {
            eval_split: _read_mc_file(task, path),
            shot_split: _read_mc_file(task, shot_files[subject]),
        }
    return out


TASK_LANG = {"ceval": "zh", "cmmlu": "zh", "mmlu": "en", "gsm8k": "en"}
"""The language each task's items are written in."""


def item_id(task: str, split: str, subject: str, row: int) -> str:
    """``task/split/subject/row``: names one item (row: 0-based data row of its file; GSM8K's
    subject is ``main``, its row the line of ``<split>.jsonl``)."""
    return f"{task}/{split}/{subject}/{row}"


def eval_items(task: str, root: Path) -> list[dict]:
    """The items a model is scored on (:data:`EVAL_SPLIT`), for decontamination.

    Returns:
        ``{"id", "lang", "question", "options", "answer"}`` dicts (``options`` empty for GSM8K;
        its ``answer`` the worked solution), in file order.

    Raises:
        ValueError: as :func:`load_benchmark`, naming the file and row.
    """
    split = EVAL_SPLIT[task]
    out = []
    for subject, splits in sorted(load_benchmark(task, root).items()):
        for row, item in enumerate(splits.get(split, [])):
            options = () if task == "gsm8k" else tuple(item[letter] for letter in LETTERS)
            out.append(
                {
                    "id": item_id(task, split, subject, row),
                    "lang": TASK_LANG[task],
                    "question": item["question"],
                    "options": options,
                    "answer": item["answer"],
                }
            )
    return out


def check_benchmark_dir(task: str, root: Path) -> list[str]:
    """Validates a task's directory; returns the subject names.

    Args:
        task: one of :data:`TASKS`.
        root: the task's directory in its official layout (docs/eval.md).

    Returns:
        The subjects, sorted (``["main"]`` for GSM8K, which has none).

    Raises:
        ValueError: naming the file (and row) for a wrong format.
    """
    return sorted(load_benchmark(task, root))


# ---------------------------------------------------------------------------------------------
# Prompts and scoring rules (shared with the tests' direct computation)
# ---------------------------------------------------------------------------------------------


def subject_names(root: Path) -> dict[str, str]:
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
