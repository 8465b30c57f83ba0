"""lm-eval tasks built in memory from checked rows (one per subject), and running one task."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from skyforge.eval.benchmark_files import (
    EVAL_SPLIT,
    FEWSHOT_SPLIT,
    GSM8K_STOP,
    LETTERS,
    extract_final_number,
    gsm8k_correct,
    gsm8k_prompt,
    mc_description,
    mc_question,
    subject_file_name,
    subject_names,
)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# lm-eval tasks
# ---------------------------------------------------------------------------------------------


def _dataset_loader(splits: dict[str, list[dict]]) -> Callable[..., dict]:
    """A ``custom_dataset`` callable: lm-eval calls it with the task metadata as keywords."""

    def load(**_: Any) -> dict:
        # deferred: heavy import (datasets), only for this path
        import datasets

        return {name: datasets.Dataset.from_list(rows) for name, rows in splits.items()}

    return load


def _gsm8k_results(doc: dict, results: list[str]) -> dict[str, float]:
    return {"exact_match": float(gsm8k_correct(results[0], doc["reference"]))}


def build_task_configs(
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
    names = subject_names(root)
    for subject, splits in data.items():
        if num_fewshot > len(splits[shot_split]):
            raise ValueError(
                f"{Path(root) / shot_split / subject_file_name(task, subject, shot_split)}: "
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
def quiet_lm_eval() -> Iterator[None]:
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


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if isinstance(error, ValueError) else f"{type(error).__name__}: {text}"


def run_task(lm: Any, configs: list[dict], limit: int | None, max_gen_tokens: int) -> dict:
    """Runs one benchmark's subject tasks; returns the score, counts and per-item records."""
    # deferred: heavy import (lm_eval, torch), only when benchmarks run
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


def load_lm(folder: Path, batch_size: int):
    """lm-eval's HF wrapper on a local folder (absolute, so no Hub lookup is ever tried)."""
    # deferred: heavy import (torch), only for this path
    from lm_eval.models.huggingface import HFLM

    from skyforge.model.device import inference_device, inference_dtype

    _check_causal_lm(folder)
    device = inference_device()
    return HFLM(
        pretrained=str(folder.resolve()),
        backend="causal",
        device=str(device),
        batch_size=batch_size,
        # bf16 on a GPU (a 13 B model in 27.7 GB), the saved fp32 on the CPU
        dtype=str(inference_dtype(device)).removeprefix("torch."),
        trust_remote_code=False,
    )
