"""Chat generation from an HF export (or a manifest, exported on the fly) with ``transformers``.

Decoding is ``transformers``' own ``generate`` (greedy when the temperature is 0, else sampling
with temperature and top-p), on the prompt that ``tokenizer.apply_chat_template`` renders from
the export's ``chat_template`` — the template the model was trained with
(:mod:`skyforge.train.chat`) — and stops at ``<|end|>`` (or EOD). It serves two purposes: the
safety refusals that the SFT model writes for DPO's chosen side (Index-1.9B: model-written
refusals beat human-written ones), and the sample outputs of every model, on the same prompts,
in the report.

Prompts are decoded ``generate.batch_size`` at a time, left-padded so that every prompt ends
where generation starts. The default, 1, uses no padding at all, so a tiny model's sample never
depends on which other prompts shared its batch (fp32 sums over padded rows can differ in the
last bit); a GPU node takes more (the preset: 8), and greedy replies stay the same text
(tested).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import torch

from skyforge.config import GenerateConfig
from skyforge.core.io import atomic_write_text
from skyforge.model.device import inference_device, inference_dtype

__all__ = ["generate_replies", "load_chat_model"]

log = logging.getLogger(__name__)


def load_chat_model(
    model_dir: str | Path | None = None,
    *,
    manifest: str | Path | None = None,
    tokenizer_dir: str | Path | None = None,
) -> tuple[Any, Any]:
    """The HF model and tokenizer of an export folder, or of a manifest's final checkpoint.

    Raises:
        ValueError: neither or both given, or a folder that is not a causal LM (naming it).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (model_dir is None) == (manifest is None):
        raise ValueError("generate: give exactly one of an HF model folder or a manifest")
    if manifest is not None:
        if tokenizer_dir is None:
            raise ValueError("generate: --tokenizer-dir is needed with --manifest")
        from skyforge.train.hf_stage import export_stage

        # The export (with its logit check) into a temporary folder: one conversion path.
        tmp = Path(tempfile.mkdtemp(prefix="skyforge-generate-"))
        model_dir = tmp / "model"
        export_stage(manifest, tokenizer_dir, model_dir)
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"model folder '{model_dir}': no config.json (not an HF model)")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if not tokenizer.chat_template:
        raise ValueError(f"model folder '{model_dir}': its tokenizer has no chat_template")
    # The node's GPU in bf16 when the job was given one, else the CPU in fp32.
    device = inference_device()
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=inference_dtype(device))
    return model.to(device).eval(), tokenizer


def generate_replies(
    model: Any, tokenizer: Any, conversations: list[list[dict[str, str]]], options: GenerateConfig
) -> list[dict[str, Any]]:
    """The assistant reply to each conversation (which ends with a user turn).

    Returns:
        One dict per conversation: ``reply`` (text before ``<|end|>``), ``num_tokens``
        generated, ``stopped`` (True when ``<|end|>``/EOD ended it, False at the length limit).
    """
    end_id = tokenizer.convert_tokens_to_ids("<|end|>")
    stop_ids = [end_id] + ([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else [])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[-1]
    out = []
    torch.manual_seed(options.seed)
    prompts = [
        tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        for messages in conversations
    ]
    for start in range(0, len(prompts), options.batch_size):
        encoded = [
            tokenizer(p, add_special_tokens=False)["input_ids"]
            for p in prompts[start : start + options.batch_size]
        ]
        width = max(len(ids) for ids in encoded)
        # Left padding: every prompt ends at the same column, where generation starts.
        ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, x in enumerate(encoded):
            ids[row, width - len(x) :] = torch.tensor(x, dtype=torch.long)
            mask[row, width - len(x) :] = 1
        kwargs: dict[str, Any] = dict(
            max_new_tokens=options.max_new_tokens,
            eos_token_id=stop_ids,
            pad_token_id=pad_id,
        )
        if options.temperature > 0:
            kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.no_grad():
            generated = model.generate(
                ids.to(model.device), attention_mask=mask.to(model.device), **kwargs
            )
        for row in range(len(encoded)):
            new = generated[row, width:].tolist()
            stop = next((i for i, t in enumerate(new) if t in stop_ids), None)
            stopped = stop is not None
            new = new[:stop] if stopped else new
            reply = tokenizer.decode(new, skip_special_tokens=False)
            out.append({"reply": reply, "num_tokens": len(new), "stopped": stopped})
    return out


def read_prompts(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a prompts JSONL (``id`` and ``prompt``: messages ending with a user turn)."""
    from skyforge.train.chat import ChatDataError, check_conversation

    rows = []
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            prompt = row.get("prompt")
            if isinstance(prompt, str):
                prompt = [{"role": "user", "content": prompt}]
            try:
                prompt = check_conversation(prompt, final_assistant=False)
            except ChatDataError as exc:
                raise ValueError(f"prompts file '{path}', row {lineno}: {exc}") from None
            rows.append({**row, "prompt": prompt, "id": str(row.get("id", lineno))})
    if not rows:
        raise ValueError(f"prompts file '{path}': empty (no rows)")
    return rows


def write_replies(
    model_args: dict[str, Any],
    rows: list[dict[str, Any]],
    options: GenerateConfig,
    out: Path | None,
    *,
    with_prompt: bool,
) -> int:
    """Decode a reply to each row's prompt and write them as JSONL (stdout without ``out``).

    Args:
        model_args: :func:`load_chat_model`'s arguments (an export folder or a manifest).
        rows: prompts as :func:`read_prompts` returns them.
        options: how to decode.
        out: the JSONL file (written atomically), or ``None`` for stdout.
        with_prompt: also write each row's prompt.

    Raises:
        ValueError: no prompt given.
    """
    if not rows:
        raise ValueError("generate: no prompt given (--prompt or --prompts-file)")
    model, tokenizer = load_chat_model(**model_args)
    replies = generate_replies(model, tokenizer, [r["prompt"] for r in rows], options)
    lines = []
    for r, rep in zip(rows, replies, strict=True):
        row = {"id": r["id"], **({"prompt": r["prompt"]} if with_prompt else {}), **rep}
        lines.append(json.dumps(row, ensure_ascii=False))
    if out is None:
        print("\n".join(lines))
    else:
        atomic_write_text(out, "\n".join(lines) + "\n")
    return len(lines)


def read_replies(path: str | Path) -> dict[str, str]:
    """Replies written by :func:`write_replies`: row id → reply."""
    replies = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                replies[row["id"]] = row["reply"]
    return replies
