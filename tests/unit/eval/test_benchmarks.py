"""Tests of skyforge.eval.benchmarks: the format checks, lm-eval parity, and a table that
survives bad input, on sets of :mod:`skyforge.synthetic.benchmarks`.

The parity tests score a tiny random-init LlamaForCausalLM (saved with a byte-level BPE trained
here on the synthetic texts) twice: through :func:`evaluate_benchmarks` (lm-eval) and directly
with transformers, from prompts the test writes itself from the documented format. Both must give
the same prompt, the same prediction per item and the same number of correct items.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import torch

from skyforge.eval.benchmarks import (
    RANDOM_BASELINE,
    check_benchmark_dir,
    evaluate_benchmarks,
    extract_final_number,
    load_benchmark,
)
from skyforge.synthetic.benchmarks import write_synthetic_benchmarks

SUBJECTS = 2
QUESTIONS = 6
GSM8K_COUNTS = {"train": 12, "test": 8, "ref": 8}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: extra threads only add contention on the shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, synthetic) -> Path:
    """A 2-layer Llama (hidden 32, context 512) with a BPE tokenizer made here.

    Random init, then 40 full-batch AdamW steps (~1 s) on the synthetic GSM8K train set, so that
    its greedy answers contain numbers: a random model writes none, and exact match would be a
    vacuous 0 for lm-eval and the direct computation alike.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    root, _ = synthetic
    texts = [p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.*"))]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    rows = [json.loads(line) for line in (root / "gsm8k" / "train.jsonl").open()]
    ids = [
        tokenizer(f"Question: {r['question']}\nAnswer: {r['answer']}")["input_ids"] for r in rows
    ]
    width = max(map(len, ids))
    inputs = torch.tensor([x + [tokenizer.pad_token_id] * (width - len(x)) for x in ids])
    labels = inputs.masked_fill(inputs == tokenizer.pad_token_id, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2)
    for _ in range(40):
        model(inputs, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


# ------------------------------------------------------------------------------ format checks


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_check_names_file_and_row(tmp_path, synthetic):
    root, _ = synthetic
    ceval = _copy(root / "ceval", tmp_path / "ceval")
    bad = ceval / "val" / "units_val.csv"
    rows = _read_csv(bad)
    bad.write_text("\n".join(",".join(r[:6]) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"units_val\.csv: header .* lacks column\(s\) \['answer'\]"
    ):
        check_benchmark_dir("ceval", ceval)

    cmmlu = _copy(root / "cmmlu", tmp_path / "cmmlu")
    bad = cmmlu / "test" / "units.csv"
    rows = _read_csv(bad)
    rows[3][-1] = "E"
    bad.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"units\.csv: row 3: answer 'E' is not one of"):
        check_benchmark_dir("cmmlu", cmmlu)

    mmlu = _copy(root / "mmlu", tmp_path / "mmlu")
    with open(mmlu / "test" / "units_test.csv", "a", encoding="utf-8") as f:
        f.write("a question,1,2,3,A\n")
    with pytest.raises(ValueError, match=rf"units_test\.csv: row {QUESTIONS + 1}: 5 fields"):
        check_benchmark_dir("mmlu", mmlu)
    # The re-formatted MMLU form (header, answer 0-3) is read as letters.
    (mmlu / "test" / "units_test.csv").write_text(
        "question,choice0,choice1,choice2,choice3,answer\nq?,a,b,c,d,2\n", encoding="utf-8"
    )
    assert load_benchmark("mmlu", mmlu)["units"]["test"][0]["answer"] == "C"

    gsm = _copy(root / "gsm8k", tmp_path / "gsm8k")
    lines = (gsm / "test.jsonl").read_text().splitlines()
    lines[2] = json.dumps({"question": "q?", "answer": "it is 4"})
    (gsm / "test.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"test\.jsonl: line 3: answer has no final '#### "):
        check_benchmark_dir("gsm8k", gsm)
    lines[2] = "{not json"
    (gsm / "test.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"test\.jsonl: line 3: not JSON"):
        check_benchmark_dir("gsm8k", gsm)


def test_extract_final_number():
    assert extract_final_number("so 3 + 4 = 7.\n#### 7") == "7"
    assert extract_final_number("#### $1,000 and then 5") == "1,000"
    assert extract_final_number("she has 12 apples, then 15.") == "15"
    assert extract_final_number("#### none") is None
    assert extract_final_number("no digits") is None
    assert extract_final_number("it is -3.5") == "-3.5"


# ------------------------------------------------------------------------------ lm-eval parity


def _direct_loglikelihood(model, tokenizer, context: str, continuation: str) -> float:
    """Summed log-probability of the continuation's tokens, split as tokenize(ctx + cont) after
    the tokens of tokenize(ctx)."""
    ctx = tokenizer(context)["input_ids"]
    whole = tokenizer(context + continuation)["input_ids"]
    cont = whole[len(ctx) :]
    with torch.no_grad():
        logits = model(torch.tensor([whole])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(float(logprobs[len(ctx) - 1 + i, t]) for i, t in enumerate(cont))


def _mc_prompt(task: str, description: str, item: dict, shots: list[dict]) -> str:
    """The prompt as documented (and as lm-eval's own ceval-valid / mmlu YAMLs build it)."""

    def question(it: dict) -> str:
        tail = "Answer:" if task == "mmlu" else "答案："
        return (
            f"{it['question'].strip()}\nA. {it['A']}\nB. {it['B']}\nC. {it['C']}\nD. {it['D']}"
            f"\n{tail}"
        )

    return description + "".join(f"{question(s)} {s['answer']}\n\n" for s in shots) + question(item)


def test_lm_eval_multiple_choice_equals_direct_computation(tmp_path, synthetic, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, _ = synthetic
    shots = {"ceval": 1, "mmlu": 2}
    limit = 5
    table = evaluate_benchmarks(
        {"tiny": tiny_model},
        {"ceval": root / "ceval", "mmlu": root / "mmlu"},
        tmp_path,
        num_fewshot=shots,
        limit=limit,
        batch_size=4,
    )
    items = [json.loads(line) for line in (tmp_path / "benchmarks_items.jsonl").open()]
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    zh_names = {"arithmetic": "算术", "units": "单位换算"}
    for task in ("ceval", "mmlu"):
        eval_split = "val" if task == "ceval" else "test"
        data = load_benchmark(task, root / task)
        lm_items = {(it["subject"], it["doc_id"]): it for it in items if it["task"] == task}
        num_correct = 0
        for subject, splits in data.items():
            if task == "ceval":
                description = (
                    f"以下是中国关于{zh_names[subject]}的单项选择题，请选出其中的正确答案。\n\n"
                )
            else:
                description = (
                    f"The following are multiple choice questions (with answers) about {subject}."
                    "\n\n"
                )
            for doc_id, item in enumerate(splits[eval_split][:limit]):
                prompt = _mc_prompt(task, description, item, splits["dev"][: shots[task]])
                lls = [_direct_loglikelihood(model, tokenizer, prompt, f" {x}") for x in "ABCD"]
                predicted = "ABCD"[max(range(4), key=lls.__getitem__)]
                num_correct += predicted == item["answer"]
                theirs = lm_items[(subject, doc_id)]
                assert theirs["prompt"] == prompt
                assert theirs["continuations"] == [" A", " B", " C", " D"]
                assert theirs["loglikelihoods"] == pytest.approx(lls, abs=1e-4)
                assert theirs["predicted"] == predicted
        row = table[table.model == "tiny"].iloc[0]
        assert row[f"{task}_status"] == "ok"
        assert row[f"{task}_n"] == limit * SUBJECTS
        assert row[f"{task}_truncated"] == 0
        assert round(row[task] * row[f"{task}_n"]) == num_correct, (task, row[task])
    baseline = table[table.model == "random guess"].iloc[0]
    assert baseline["ceval"] == RANDOM_BASELINE["ceval"] and baseline["mmlu_n"] == limit * SUBJECTS
    for name in ("benchmarks.csv", "benchmarks.md", "benchmarks.png"):
        assert (tmp_path / name).stat().st_size > 0


def _direct_generation(model, tokenizer, prompt: str, max_new_tokens: int) -> str:
    ids = torch.tensor([tokenizer(prompt)["input_ids"]])
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    for stop in ("Question:", "\n\n"):
        text = text.split(stop)[0]
    return text


def test_lm_eval_gsm8k_exact_match_equals_direct_generation(tmp_path, synthetic, tiny_model):
    """Greedy generation + our extraction rule, directly and through lm-eval. Half of the test
    references are set to the number the model gives, so that some items are right: exact match
    must count exactly the items whose extracted number equals the reference."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, _ = synthetic
    shots, max_gen, limit = 1, 12, 6
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    train = [json.loads(line) for line in (root / "gsm8k" / "train.jsonl").open()]
    test = [json.loads(line) for line in (root / "gsm8k" / "test.jsonl").open()]
    gsm = _copy(root / "gsm8k", tmp_path / "gsm8k")
    prompts, generations, expected_correct = [], [], 0
    for i, row in enumerate(test[:limit]):
        prompt = "".join(
            f"Question: {s['question']}\nAnswer: {s['answer']}\n\n" for s in train[:shots]
        )
        prompt += f"Question: {row['question']}\nAnswer:"
        text = _direct_generation(model, tokenizer, prompt, max_gen)
        prompts.append(prompt)
        generations.append(text)
        number = extract_final_number(text)
        if i % 2 == 0 and number is not None:
            row["answer"] = f"The model's own number.\n#### {number}"
        reference = row["answer"].rsplit("####", 1)[1].strip()
        expected_correct += number is not None and Decimal(number.replace(",", "")) == Decimal(
            reference
        )
    (gsm / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))

    table = evaluate_benchmarks(
        {"tiny": tiny_model},
        {"gsm8k": gsm},
        tmp_path / "out",
        num_fewshot={"gsm8k": shots},
        limit=limit,
        batch_size=4,
        max_gen_tokens=max_gen,
    )
    items = [json.loads(line) for line in (tmp_path / "out" / "benchmarks_items.jsonl").open()]
    assert [it["prompt"] for it in items] == prompts
    assert [it["generation"] for it in items] == generations
    row = table[table.model == "tiny"].iloc[0]
    assert row["gsm8k_status"] == "ok" and row["gsm8k_n"] == limit
    assert expected_correct > 0
    assert round(row["gsm8k"] * limit) == expected_correct


# ------------------------------------------------------------------------------ bad input


def test_bad_input_gives_failed_cells_not_a_lost_table(tmp_path, synthetic, tiny_model, caplog):
    root, _ = synthetic
    ceval = _copy(root / "ceval", tmp_path / "ceval")
    bad_csv = ceval / "val" / "units_val.csv"
    rows = _read_csv(bad_csv)
    bad_csv.write_text("\n".join(",".join(r[:6]) for r in rows) + "\n", encoding="utf-8")
    gsm = _copy(root / "gsm8k", tmp_path / "gsm8k")
    lines = (gsm / "test.jsonl").read_text().splitlines()
    lines[4] = json.dumps({"question": "q?", "answer": "no final line"})
    (gsm / "test.jsonl").write_text("\n".join(lines) + "\n")
    not_causal = tmp_path / "bert"
    not_causal.mkdir()
    (not_causal / "config.json").write_text(
        json.dumps({"architectures": ["BertModel"], "model_type": "bert"})
    )

    with caplog.at_level(logging.ERROR, logger="skyforge.eval.benchmarks"):
        table = evaluate_benchmarks(
            {"tiny": tiny_model, "encoder": not_causal},
            {"ceval": ceval, "mmlu": root / "mmlu", "gsm8k": gsm},
            tmp_path / "out",
            num_fewshot={"ceval": 0, "mmlu": 0, "gsm8k": 0},
            limit=2,
            max_gen_tokens=4,
        )
    out = tmp_path / "out"
    tiny = table[table.model == "tiny"].iloc[0]
    encoder = table[table.model == "encoder"].iloc[0]
    assert list(table.model) == ["tiny", "encoder", "random guess"]
    assert tiny["mmlu_status"] == "ok" and tiny["mmlu_n"] == 2 * SUBJECTS
    assert tiny["ceval_status"].startswith("failed: ") and "units_val.csv" in tiny["ceval_status"]
    assert "lacks column(s) ['answer']" in tiny["ceval_status"]
    assert (
        tiny["gsm8k_status"].startswith("failed: ") and "test.jsonl: line 5" in tiny["gsm8k_status"]
    )
    for task in ("ceval", "mmlu", "gsm8k"):
        assert encoder[f"{task}_status"].startswith("failed: ")
        assert "not a causal LM" in encoder[f"{task}_status"]
    assert str(bad_csv) in caplog.text and "test.jsonl: line 5" in caplog.text
    assert "model encoder" in caplog.text and "not a causal LM" in caplog.text
    assert all("\n" not in r.getMessage() for r in caplog.records)  # one line each

    md = (out / "benchmarks.md").read_text(encoding="utf-8")
    tiny_line = next(line for line in md.splitlines() if line.startswith("| tiny |"))
    assert tiny_line.count("failed") == 2  # C-Eval and GSM8K; MMLU has a number
    assert (
        next(line for line in md.splitlines() if line.startswith("| encoder |")).count("failed")
        == 3
    )
    assert (out / "benchmarks.png").stat().st_size > 0
    written = (out / "benchmarks.csv").read_text(encoding="utf-8")
    assert "random guess" in written and "failed: " in written


def test_truncated_items_are_counted(tmp_path, synthetic, tiny_model):
    """With a 48-token context, lm-eval cuts long prompts from the left; the count must be the
    items whose prompt + " A" exceeds max_length + 1 tokens (MC) or whose prompt exceeds
    max_length - max_gen_tokens (GSM8K)."""
    from transformers import AutoTokenizer

    root, _ = synthetic
    short = _copy(tiny_model, tmp_path / "short")
    config = json.loads((short / "config.json").read_text())
    config["max_position_embeddings"] = 48
    (short / "config.json").write_text(json.dumps(config))
    max_gen = 8
    table = evaluate_benchmarks(
        {"short": short},
        {"mmlu": root / "mmlu", "gsm8k": root / "gsm8k"},
        tmp_path / "out",
        num_fewshot={"mmlu": 1, "gsm8k": 1},
        limit=3,
        max_gen_tokens=max_gen,
    )
    tokenizer = AutoTokenizer.from_pretrained(short)
    items = [json.loads(line) for line in (tmp_path / "out" / "benchmarks_items.jsonl").open()]
    row = table.iloc[0]
    for task, too_long in (
        ("mmlu", lambda p: len(tokenizer(p + " A")["input_ids"]) > 48 + 1),
        ("gsm8k", lambda p: len(tokenizer(p)["input_ids"]) > 48 - max_gen),
    ):
        expected = [too_long(it["prompt"]) for it in items if it["task"] == task]
        assert [it["truncated"] for it in items if it["task"] == task] == expected
        assert row[f"{task}_status"] == "ok" and row[f"{task}_truncated"] == sum(expected) > 0
    md = (tmp_path / "out" / "benchmarks.md").read_text(encoding="utf-8")
    assert f"short / MMLU: {row['mmlu_truncated']}" in md


def test_cells_spread_over_worker_processes_give_the_same_table(tmp_path, synthetic, tiny_model):
    """The multi-GPU path (one worker process per GPU, one (model, task) cell each) run on CPU
    with 2 workers: the same scores and per-item records as the one-process path."""
    root, _ = synthetic
    kwargs = dict(num_fewshot={"mmlu": 1, "gsm8k": 0}, limit=2, max_gen_tokens=4)
    data = {"mmlu": root / "mmlu", "gsm8k": root / "gsm8k"}
    models = {"a": tiny_model, "b": tiny_model}
    one = evaluate_benchmarks(models, data, tmp_path / "one", workers=1, **kwargs)
    two = evaluate_benchmarks(models, data, tmp_path / "two", workers=2, **kwargs)
    pd.testing.assert_frame_equal(one, two)
    assert set(one["mmlu_status"]) == {"ok"} and set(one["gsm8k_status"]) == {"ok"}
    items = [(tmp_path / d / "benchmarks_items.jsonl").read_text() for d in ("one", "two")]
    assert items[0] == items[1] and items[0].count("\n") > 0
