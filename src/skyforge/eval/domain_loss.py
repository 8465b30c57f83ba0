"""Normalised domain loss and perplexity (Skywork-13B's method), for any causal LM folder.

Models with different tokenizers cannot be compared by their own per-token loss (a tokenizer
with longer tokens has fewer, harder tokens). Skywork's fix (docs/recipe.md#evaluation): sum
each document's negative log-likelihood over the model's own tokens and divide by the token
count of ONE reference tokenizer, the same for every model; PPL = exp of it, and "Average" pools
every document of every domain before the exp. Documents are cut to ``max_chars`` characters
(Skywork: 1,365) and tokenized without special tokens; every token but the first is predicted
exactly once, long documents in half-overlapping windows of the model's context.

Windows are batched by length with explicit positions and float64 sums, so the numbers do not
depend on batch size or padding side (tests/unit/eval/test_domain_loss.py). No library does
this: lm-eval's perplexity tasks normalise per own token, word or byte.

See docs/eval.md.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from skyforge.core.tables import save_figure, write_table
from skyforge.model.device import inference_device, inference_dtype

__all__ = [
    "DocScore",
    "read_domain_file",
    "score_texts",
    "domain_loss_table",
    "load_causal_lm",
    "load_reference_tokenizer",
    "window_plan",
]

log = logging.getLogger(__name__)


@dataclass
class DocScore:
    """One document's summed NLL (nats) and its counts."""

    nll: float
    num_predicted: int
    num_tokens: int


class EvalInputError(ValueError):
    """A domain file, model folder or tokenizer that cannot be scored (message names it)."""


def read_domain_file(path: str | Path, max_chars: int) -> list[str]:
    """The documents of a domain JSONL file (``text`` field), each cut to ``max_chars``.

    Raises:
        EvalInputError: a missing file, a row that is not JSON or has an empty or missing
            ``text`` (naming the file and row), or a file with no documents.
    """
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"domain file '{path}': not found")
    texts = []
    with path.open(encoding="utf-8") as f:
        for row, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                text = json.loads(line).get("text")
            except (json.JSONDecodeError, AttributeError):
                where = f"domain file '{path}', row {row}"
                raise EvalInputError(f"{where}: not a JSON object") from None
            if not isinstance(text, str) or not text.strip():
                raise EvalInputError(f"domain file '{path}', row {row}: empty or missing 'text'")
            texts.append(text[:max_chars])
    if not texts:
        raise EvalInputError(f"domain file '{path}': no documents")
    return texts


def load_causal_lm(
    folder: str | Path,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[Any, Any]:
    """Model and tokenizer of a ``transformers`` causal-LM folder, on ``device`` (default: the
    node's GPU in bf16, else the CPU in fp32: :mod:`skyforge.model.device`).

    Raises:
        EvalInputError: the folder is missing or not a causal LM (naming it).
    """
    # deferred: heavy import (transformers), only for this path
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = torch.device(device) if device is not None else inference_device()
    dtype = dtype or inference_dtype(device)
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise EvalInputError(f"model folder '{folder}': no config.json")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
    except (ValueError, OSError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EvalInputError(f"model folder '{folder}': not a causal LM ({first})") from None
    return model.eval(), tokenizer


def load_reference_tokenizer(path: str | Path) -> Any:
    """The reference tokenizer of the loss table, from a ``transformers`` tokenizer folder or
    from a bare ``tokenizer.json`` (what HF ``tokenizers`` saves; ``AutoTokenizer`` reads only
    folders and names on the Hub).

    Raises:
        EvalInputError: one line naming ``eval.reference_tokenizer`` and the path, when it is
            neither or does not load.
    """
    # deferred: heavy import (transformers), only for this path
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    path = Path(path)
    key = f"config key 'eval.reference_tokenizer': '{path}'"
    try:
        if path.is_dir():
            return AutoTokenizer.from_pretrained(path)
        if path.is_file():
            return PreTrainedTokenizerFast(tokenizer_file=str(path))
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds; one line for all
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EvalInputError(f"{key} does not load as a tokenizer ({first})") from None
    raise EvalInputError(f"{key} is neither a tokenizer folder nor a tokenizer.json file")


def model_context(model: Any) -> int:
    """The context length a model was trained for (its config's max positions)."""
    cfg = model.config
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        if getattr(cfg, key, None):
            return int(getattr(cfg, key))
    raise EvalInputError(f"model {cfg.name_or_path!r}: its config has no context length")


def window_plan(num_tokens: int, context: int) -> list[tuple[int, int, int]]:
    """``(start, end, first_scored)`` token windows of one document (docs/eval.md).

    Tokens ``[first_scored, end)`` are predicted in window ``[start, end)``.
    """
    if num_tokens < 2:
        return []
    if context < 2:
        raise ValueError(f"context {context}: too short to score anything")
    stride = max(1, context // 2)
    windows, scored_to, start = [], 1, 0
    while scored_to < num_tokens:
        end = min(start + context, num_tokens)
        windows.append((start, end, scored_to))
        scored_to = end
        start += stride
        if end == num_tokens:
            break
    return windows


def _encode(tokenizer: Any, texts: list[str], where: str) -> list[list[int]]:
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is not None:
        for row, doc in enumerate(ids, 1):
            if unk in doc:
                raise EvalInputError(
                    f"{where}, row {row}: the model's tokenizer cannot encode a character "
                    f"(unknown token {tokenizer.unk_token!r})"
                )
    return ids


def _batches(windows: list[tuple[int, int, int, int]], batch_tokens: int) -> Iterable[list]:
    """Windows sorted by length (longest first), grouped up to ``batch_tokens`` padded tokens."""
    order = sorted(windows, key=lambda w: -(w[2] - w[1]))
    batch: list = []
    for w in order:
        longest = (batch[0][2] - batch[0][1]) if batch else (w[2] - w[1])
        if batch and longest * (len(batch) + 1) > batch_tokens:
            yield batch
            batch = []
        batch.append(w)
    if batch:
        yield batch


def score_texts(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    *,
    context: int | None = None,
    batch_tokens: int = 4096,
    padding_side: str = "right",
    device: torch.device | str | None = None,
    where: str = "texts",
) -> list[DocScore]:
    """Summed NLL of every document (the convention: docs/eval.md#domain-loss).

    Args:
        model, tokenizer: a causal LM and its own tokenizer.
        texts: the (already cut) documents.
        context: window length in tokens (default: the model's context).
        batch_tokens: padded tokens per forward pass (speed only).
        padding_side: ``right`` or ``left`` (results agree; tests check it).
        device: where the model runs (default: where its weights are).
        where: names the input in error messages (a file).

    Raises:
        EvalInputError: the tokenizer cannot encode a document (naming ``where`` and the row).
    """
    context = context or model_context(model)
    ids = _encode(tokenizer, texts, where)
    device = device or next(model.parameters()).device
    windows = [
        (doc, s, e, first)
        for doc, toks in enumerate(ids)
        for s, e, first in window_plan(len(toks), context)
    ]
    nll = np.zeros(len(texts), dtype=np.float64)
    predicted = np.zeros(len(texts), dtype=np.int64)
    pad = 0
    with torch.no_grad():
        for batch in _batches(windows, batch_tokens):
            width = max(e - s for _, s, e, _ in batch)
            inp = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            scored = torch.zeros((len(batch), width), dtype=torch.bool)
            for row, (doc, s, e, first) in enumerate(batch):
                n = e - s
                off = width - n if padding_side == "left" else 0
                inp[row, off : off + n] = torch.tensor(ids[doc][s:e])
                mask[row, off : off + n] = 1
                # Token j of the window (absolute s + j) is predicted at position j - 1.
                scored[row, off + (first - s) - 1 : off + n - 1] = True
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
            out = model(
                input_ids=inp.to(device),
                attention_mask=mask.to(device),
                position_ids=positions.to(device),
            )
            # Only the scored positions' logits (not padding, not the overlap of a window with
            # the one before it) go through the softmax.
            sel = scored[:, :-1].to(device)
            picked = out.logits[:, :-1][sel]
            if picked.dtype in (torch.float16, torch.bfloat16):
                picked = picked.float()
            nll_tok = torch.nn.functional.cross_entropy(
                picked, inp[:, 1:].to(device)[sel], reduction="none"
            ).double()
            rows = sel.nonzero()[:, 0]
            token_nll = torch.zeros(len(batch), dtype=torch.float64, device=device)
            token_nll = token_nll.index_add_(0, rows, nll_tok).cpu()
            counts = scored[:, :-1].sum(dim=1)
            for row, (doc, *_rest) in enumerate(batch):
                nll[doc] += float(token_nll[row])
                predicted[doc] += int(counts[row])
    return [DocScore(float(nll[i]), int(predicted[i]), len(ids[i])) for i in range(len(texts))]


def reference_counts(tokenizer: Any, texts: list[str]) -> list[int]:
    """Token counts of the reference tokenizer (no special tokens)."""
    return [len(x) for x in tokenizer(texts, add_special_tokens=False)["input_ids"]]


@dataclass
class Cell:
    """One model × domain: sums, or the reason it failed."""

    model: str
    domain: str
    nll: float = 0.0
    own_tokens: int = 0
    predicted: int = 0
    ref_tokens: int = 0
    num_bytes: int = 0
    docs: int = 0
    status: str = "ok"

    def row(self) -> dict[str, Any]:
        ok = self.status == "ok" and self.ref_tokens > 0
        loss = self.nll / self.ref_tokens if ok else float("nan")
        return {
            "model": self.model,
            "domain": self.domain,
            "docs": self.docs,
            "nll_sum": self.nll,
            "own_tokens": self.own_tokens,
            "predicted": self.predicted,
            "ref_tokens": self.ref_tokens,
            "bytes": self.num_bytes,
            "loss_norm": loss,
            "ppl": math.exp(loss) if ok else float("nan"),
            "own_loss": self.nll / self.predicted if ok and self.predicted else float("nan"),
            "bits_per_byte": self.nll / math.log(2) / self.num_bytes if ok else float("nan"),
            "status": self.status,
        }


def domain_loss_table(
    models: dict[str, str | Path],
    domains: dict[str, str | Path],
    reference_tokenizer: str | Path,
    out_dir: str | Path,
    *,
    max_chars: int = 1365,
    batch_tokens: int = 4096,
    device: str | None = None,
) -> pd.DataFrame:
    """Score every model on every domain; write ``domain_loss.csv``, ``.md`` and ``.png``.

    A model that does not load, a domain file that cannot be read or a tokenizer that cannot
    encode a document fails its cells (one log line naming it); the rest of the table builds.

    Returns:
        The long table (one row per model × domain, plus an ``Average`` row per model).
    """
    ref = load_reference_tokenizer(reference_tokenizer)
    docs: dict[str, list[str] | str] = {}
    for domain, path in domains.items():
        try:
            docs[domain] = read_domain_file(path, max_chars)
        except EvalInputError as exc:
            log.error("%s", exc)
            docs[domain] = f"failed: {exc}"
    ref_counts = {d: reference_counts(ref, t) for d, t in docs.items() if isinstance(t, list)}
    cells: list[Cell] = []
    for name, folder in models.items():
        try:
            model, tokenizer = load_causal_lm(folder, device=device)
        except EvalInputError as exc:
            log.error("model %s: %s", name, exc)
            cells += [Cell(name, d, status=f"failed: {exc}") for d in domains]
            continue
        for domain, texts in docs.items():
            if isinstance(texts, str):
                cells.append(Cell(name, domain, status=texts))
                continue
            try:
                scores = score_texts(
                    model,
                    tokenizer,
                    texts,
                    batch_tokens=batch_tokens,
                    device=device,
                    where=f"domain file '{domains[domain]}'",
                )
            except EvalInputError as exc:
                log.error("model %s: %s", name, exc)
                cells.append(Cell(name, domain, status=f"failed: {exc}"))
                continue
            cells.append(
                Cell(
                    name,
                    domain,
                    nll=sum(s.nll for s in scores),
                    own_tokens=sum(s.num_tokens for s in scores),
                    predicted=sum(s.num_predicted for s in scores),
                    ref_tokens=sum(ref_counts[domain]),
                    num_bytes=sum(len(t.encode("utf-8")) for t in texts),
                    docs=len(texts),
                )
            )
            log.info("domain loss %s × %s: %s", name, domain, json.dumps(cells[-1].row()))
        del model
    rows = [c.row() for c in cells]
    for name in models:
        mine = [c for c in cells if c.model == name]
        ok = all(c.status == "ok" for c in mine)
        pooled = Cell(
            name,
            "Average",
            nll=sum(c.nll for c in mine),
            own_tokens=sum(c.own_tokens for c in mine),
            predicted=sum(c.predicted for c in mine),
            ref_tokens=sum(c.ref_tokens for c in mine),
            num_bytes=sum(c.num_bytes for c in mine),
            docs=sum(c.docs for c in mine),
            status="ok" if ok else "failed: a domain of this model failed",
        )
        rows.append(pooled.row())
    table = pd.DataFrame(rows)
    _write_outputs(table, Path(out_dir), max_chars=max_chars, reference=str(reference_tokenizer))
    return table


def _wide(table: pd.DataFrame, value: str, fmt: str) -> pd.DataFrame:
    """Models × domains of one value, failed cells as 'failed', lowest per column in bold."""
    domains = list(dict.fromkeys(table.domain))
    models = list(dict.fromkeys(table.model))
    out = pd.DataFrame(index=models, columns=domains, dtype=object)
    for d in domains:
        col = table[table.domain == d].set_index("model")
        ok = col[col.status == "ok"][value]
        best = ok.min() if len(ok) else None
        for m in models:
            if col.loc[m, "status"] != "ok":
                out.loc[m, d] = "failed"
            else:
                v = col.loc[m, value]
                out.loc[m, d] = f"**{v:{fmt}}**" if v == best else f"{v:{fmt}}"
    return out


def _write_outputs(table: pd.DataFrame, out_dir: Path, *, max_chars: int, reference: str) -> None:
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    caption = (
        f"Normalised perplexity, lower is better (bold: lowest per column). Each document is cut "
        f"to {max_chars} characters and tokenized by the model's own tokenizer without special "
        "tokens; every token but the first is predicted (windows of the model's context, "
        "starting every half context, each token scored once); the summed NLL is divided by the "
        f"token count of the reference tokenizer ({reference}); PPL = exp. Average pools all "
        "documents of all domains before the exp. Bits per UTF-8 byte below."
    )
    failed = table[table.status != "ok"]
    lines = [
        caption,
        "",
        _wide(table, "ppl", ".2f").to_markdown(),
        "",
        "Bits per UTF-8 byte:",
        "",
        _wide(table, "bits_per_byte", ".3f").to_markdown(),
    ]
    if len(failed):
        lines += ["", "Failed cells:", ""]
        lines += [f"- {r.model} × {r.domain}: {r.status}" for r in failed.itertuples()]
    write_table(out_dir, "domain_loss", table, "\n".join(lines) + "\n")

    ok = table[table.status == "ok"]
    domains = list(dict.fromkeys(table.domain))
    models = list(dict.fromkeys(table.model))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(domains) * max(1, len(models)) / 3), 4))
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        vals = [ok[(ok.model == m) & (ok.domain == d)].ppl for d in domains]
        heights = [float(v.iloc[0]) if len(v) else 0.0 for v in vals]
        ax.bar(np.arange(len(domains)) + i * width, heights, width, label=m)
    ax.set_xticks(np.arange(len(domains)) + 0.4 - width / 2, domains, rotation=20)
    ax.set_ylabel("normalised PPL (lower is better)")
    ax.set_title("Domain perplexity, normalised by the reference tokenizer")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "domain_loss.png")
