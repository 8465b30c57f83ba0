"""Contamination check (Skywork-13B §7): loss on GSM8K train, test and fresh look-alike problems.

For each model, the mean per-token loss (the model's own tokens; every token but the first of a
document predicted, as in :mod:`skyforge.eval.domain_loss`) over the documents of three files
in GSM8K's format (``{"question", "answer"}``, the answer ending with ``#### <number>``; a
document is ``question + "\\n" + answer``): the train split (L_train), the test split (L_test)
and a reference set of freshly written problems of the same kind (L_ref). Then

* Δ1 = L_test − L_ref: near 0 for a clean model; strongly negative when the test set leaked into
  training (Skywork-13B: 0.01; a leaked model in the report: −0.51);
* Δ2 = L_test − L_train: large when the model trained heavily on in-domain (train-like) data.

A model is flagged when Δ1 is below ``threshold``. The table carries a **leaky control** row: a
copy of the final clean model trained briefly on a blend that CONTAINS the test file (built by
the DAG, :mod:`skyforge.eval.leaky`), so a reader sees what a leak looks like on this very
setup — a control no public tool ships.

Losses of different models are not compared with each other here (their tokenizers may differ);
only each model's own differences are.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from skyforge.core.tables import save_figure, write_table
from skyforge.eval.domain_loss import EvalInputError, load_causal_lm, score_texts

__all__ = ["read_gsm8k", "contamination_table"]

log = logging.getLogger(__name__)

_FINAL = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")


def read_gsm8k(path: str | Path) -> list[str]:
    """The documents (question + newline + answer) of a GSM8K-format JSONL file.

    Raises:
        EvalInputError: a missing file, a row that is not JSON, lacks ``question``/``answer``,
            or whose answer does not end with ``#### <number>`` (naming file and row).
    """
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"GSM8K file '{path}': not found")
    docs = []
    with path.open(encoding="utf-8") as f:
        for row, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"GSM8K file '{path}', row {row}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                raise EvalInputError(f"{where}: not JSON") from None
            q, a = (d.get("question"), d.get("answer")) if isinstance(d, dict) else (None, None)
            if not isinstance(q, str) or not isinstance(a, str):
                raise EvalInputError(f"{where}: needs string 'question' and 'answer'")
            if not _FINAL.search(a.strip()):
                raise EvalInputError(f"{where}: the answer does not end with '#### <number>'")
            docs.append(f"{q}\n{a}")
    if not docs:
        raise EvalInputError(f"GSM8K file '{path}': no rows")
    return docs


def contamination_table(
    models: dict[str, str | Path],
    files: dict[str, str | Path],
    out_dir: str | Path,
    *,
    threshold: float = -0.1,
    control: str | None = None,
    batch_tokens: int = 4096,
) -> pd.DataFrame:
    """L_train, L_test, L_ref, Δ1, Δ2 and the flag per model; CSV, Markdown and PNG.

    Args:
        models: display name → HF causal-LM folder.
        files: ``train``, ``test``, ``ref`` → GSM8K-format JSONL.
        out_dir: where ``contamination.{csv,md,png}`` go.
        threshold: Δ1 below this flags a model.
        control: the display name of the leaky control model (marked in the table).
    """
    docs: dict[str, list[str] | str] = {}
    for split in ("train", "test", "ref"):
        try:
            docs[split] = read_gsm8k(files[split])
        except EvalInputError as exc:
            log.error("%s", exc)
            docs[split] = f"failed: {exc}"
    rows = []
    for name, folder in models.items():
        row: dict[str, Any] = {"model": name, "role": "leaky control" if name == control else ""}
        try:
            model, tok = load_causal_lm(folder)
        except EvalInputError as exc:
            log.error("model %s: %s", name, exc)
            rows.append({**row, "status": f"failed: {exc}"})
            continue
        status = "ok"
        for split, texts in docs.items():
            if isinstance(texts, str):
                status = texts
                continue
            try:
                scores = score_texts(
                    model,
                    tok,
                    texts,
                    batch_tokens=batch_tokens,
                    where=f"GSM8K file '{files[split]}'",
                )
            except EvalInputError as exc:
                log.error("model %s: %s", name, exc)
                status = f"failed: {exc}"
                continue
            row[f"L_{split}"] = sum(s.nll for s in scores) / sum(s.num_predicted for s in scores)
            row[f"n_{split}"] = len(texts)
        if status == "ok":
            row["delta1"] = row["L_test"] - row["L_ref"]
            row["delta2"] = row["L_test"] - row["L_train"]
            row["flagged"] = bool(row["delta1"] < threshold)
        rows.append({**row, "status": status})
        log.info("contamination %s: %s", name, json.dumps(rows[-1]))
    table = pd.DataFrame(rows)
    _write(table, Path(out_dir), threshold)
    return table


def _write(table: pd.DataFrame, out_dir: Path, threshold: float) -> None:
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "Mean loss per own token on GSM8K-format train (L_train), test (L_test) and freshly "
        "written look-alike problems (L_ref); Δ1 = L_test − L_ref (strongly negative: the test "
        f"set leaked), Δ2 = L_test − L_train (large: heavy in-domain training). Flagged: "
        f"Δ1 < {threshold}. The leaky control was trained on a blend containing the test file.",
        "",
        "| model | L_train | L_test | L_ref | Δ1 | Δ2 | flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        role = r.get("role") or ""
        name = r["model"] if not role or role in r["model"] else f"{r['model']} ({role})"
        if r["status"] != "ok":
            lines.append(f"| {name} | failed | failed | failed | | | {r['status']} |")
            continue
        lines.append(
            f"| {name} | {r['L_train']:.3f} | {r['L_test']:.3f} | {r['L_ref']:.3f} | "
            f"{r['delta1']:+.3f} | {r['delta2']:+.3f} | {'**yes**' if r['flagged'] else 'no'} |"
        )
    write_table(out_dir, "contamination", table, "\n".join(lines) + "\n")
    ok = table[table.status == "ok"] if "status" in table else table
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(ok)), 3.8))
    if len(ok):
        x = range(len(ok))
        ax.bar([i - 0.2 for i in x], ok.delta1, 0.4, label="Δ1 = L_test − L_ref")
        ax.bar([i + 0.2 for i in x], ok.delta2, 0.4, label="Δ2 = L_test − L_train")
        labels = [
            m if not r or r in m else f"{m}\n({r})"
            for m, r in zip(ok.model, ok.role.fillna(""), strict=True)
        ]
        ax.set_xticks(list(x), labels, fontsize=8)
    ax.axhline(threshold, color="red", ls="--", lw=0.8, label=f"flag threshold {threshold}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_ylabel("nats per token")
    ax.set_title("GSM8K contamination check")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "contamination.png")
