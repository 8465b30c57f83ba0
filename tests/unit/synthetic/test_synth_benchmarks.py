"""The synthetic benchmark sets: official layouts the real readers accept, right answers, GSM8K
splits that share templates but never numbers, and byte-identical output per seed."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from skyforge.eval.benchmarks import TASKS, check_benchmark_dir
from skyforge.synthetic.benchmarks import write_synthetic_benchmarks

SUBJECTS = 2
QUESTIONS = 6
GSM8K_COUNTS = {"train": 12, "test": 8, "ref": 8}


def _write(root: Path, seed: int) -> dict:
    return write_synthetic_benchmarks(
        root,
        seed=seed,
        subjects_per_task=SUBJECTS,
        questions_per_subject=QUESTIONS,
        gsm8k_train=GSM8K_COUNTS["train"],
        gsm8k_test=GSM8K_COUNTS["test"],
        gsm8k_ref=GSM8K_COUNTS["ref"],
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("bench")
    return root, _write(root, seed=7)


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_synthetic_files_follow_the_official_layouts(synthetic):
    root, counts = synthetic
    subjects = ["arithmetic", "units"]
    assert counts == {
        "ceval": {"subjects": SUBJECTS, "dev": 5 * SUBJECTS, "val": QUESTIONS * SUBJECTS},
        "cmmlu": {"subjects": SUBJECTS, "dev": 5 * SUBJECTS, "test": QUESTIONS * SUBJECTS},
        "mmlu": {"subjects": SUBJECTS, "dev": 5 * SUBJECTS, "test": QUESTIONS * SUBJECTS},
        "gsm8k": GSM8K_COUNTS,
    }
    assert tuple(counts) == TASKS
    for task in ("ceval", "cmmlu", "mmlu"):
        assert check_benchmark_dir(task, root / task) == sorted(subjects)
    assert check_benchmark_dir("gsm8k", root / "gsm8k") == ["main"]

    for s in subjects:
        dev = _read_csv(root / "ceval" / "dev" / f"{s}_dev.csv")
        val = _read_csv(root / "ceval" / "val" / f"{s}_val.csv")
        assert dev[0] == ["id", "question", "A", "B", "C", "D", "answer", "explanation"]
        assert val[0] == ["id", "question", "A", "B", "C", "D", "answer"]
        assert [r[0] for r in val[1:]] == [str(i) for i in range(QUESTIONS)]
        cm = _read_csv(root / "cmmlu" / "test" / f"{s}.csv")
        assert cm[0] == ["", "Question", "A", "B", "C", "D", "Answer"]
        assert [r[0] for r in cm[1:]] == [str(i) for i in range(QUESTIONS)]
        mm = _read_csv(root / "mmlu" / "test" / f"{s}_test.csv")
        assert len(mm) == QUESTIONS and all(len(r) == 6 for r in mm)  # no header row
        assert len(_read_csv(root / "mmlu" / "dev" / f"{s}_dev.csv")) == 5
        for rows, answer_col in ((val[1:], 6), (cm[1:], 6), (mm, 5)):
            for r in rows:
                assert r[answer_col] in "ABCD" and len(r[answer_col]) == 1
                options = r[answer_col - 4 : answer_col]
                assert len(set(options)) == 4
    assert json.loads((root / "ceval" / "subject_mapping.json").read_text())["arithmetic"][1]

    # The marked option is the right one (arithmetic: the sum or product of the two numbers).
    for task, split, q_col, a_col in (("ceval", "val", 1, 6), ("mmlu", "test", 0, 5)):
        name = "arithmetic_val.csv" if task == "ceval" else "arithmetic_test.csv"
        rows = _read_csv(root / task / split / name)
        for r in rows[1:] if task == "ceval" else rows:
            a, b = map(int, re.findall(r"\d+", r[q_col]))
            expected = a + b if ("加" in r[q_col] or "plus" in r[q_col]) else a * b
            assert r[a_col - 4 + "ABCD".index(r[a_col])] == str(expected), r


def test_synthetic_files_are_deterministic(tmp_path, synthetic):
    root, _ = synthetic
    _write(tmp_path / "again", seed=7)
    _write(tmp_path / "other", seed=8)
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file()
    )
    assert all((root / f).read_bytes() == (tmp_path / "again" / f).read_bytes() for f in files)
    assert any((root / f).read_bytes() != (tmp_path / "other" / f).read_bytes() for f in files)


def test_gsm8k_splits_are_disjoint_and_answers_right(synthetic):
    root, _ = synthetic
    keys: dict[str, list[str]] = {}
    for split, n in GSM8K_COUNTS.items():
        rows = [json.loads(line) for line in (root / "gsm8k" / f"{split}.jsonl").open()]
        assert len(rows) == n
        for row in rows:
            assert set(row) == {"question", "answer"}
            final = re.fullmatch(r"(?s).*\n#### (-?\d+)", row["answer"])
            assert final, row["answer"]
            # Every calculator annotation is right, and the last one gives the final number.
            calcs = re.findall(r"<<([^=<>]+)=([^<>]+)>>", row["answer"])
            assert calcs
            for expr, value in calcs:
                assert eval(expr) == float(value), row["answer"]  # noqa: S307 (our own digits)
            assert calcs[-1][1] == final.group(1)
        # Template + numbers identify a problem; the name does not (replace it).
        names = r"\b(?:Mia|Tom|Ana|Liam|Zoe|Omar|Lena|Ravi|Sara|Ken)\b"
        keys[split] = [re.sub(names, "X", r["question"]) for r in rows]
    all_keys = [k for ks in keys.values() for k in ks]
    assert len(all_keys) == len(set(all_keys)), "a (template, numbers) pair repeats"
