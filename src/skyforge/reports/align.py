"""The SFT/DPO report: curves and summary of each run, and every model's sample replies.

``curves.png`` has one panel per question a reader asks: does the held-out response loss fall
(SFT; each variant of the optimizer-state ablation its own line), does the pretraining text's
loss rise while SFT trains (forgetting, per held-out domain), and does DPO learn the
preferences (held-out and training reward accuracy and margin per step). ``summary.csv/.md``
hold the first and last value of every validation metric per run, with the data counts
(conversations, packed samples, pretraining : response tokens, pairs, skipped rows).

``samples.md/.csv``: the replies of every model (pretraining stages' finals, SFT, DPO) to the
same configured prompts, greedy unless the config says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from skyforge.config import GenerateConfig
from skyforge.core.tables import save_figure, write_table
from skyforge.reports.pretrain import chain_metrics

__all__ = ["write_align_report", "write_samples"]


def _runs(manifests: list[Path]) -> tuple[list[dict], pd.DataFrame]:

    runs, df = chain_metrics(manifests)
    return runs, df.rename(columns={"stage": "run"})


def _summary(runs: list[dict], df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for m in runs:
        s = df[df.run == m["stage"]]
        row: dict[str, Any] = {"run": m["stage"], "description": m["description"]}
        row["steps"] = m["iteration"]
        data = m.get("data", {})
        for split in ("train", "heldout"):
            stats = data.get(split, {})
            for key in (
                "conversations",
                "pairs",
                "response_tokens",
                "pretrain_tokens",
                "pretrain_to_response",
                "skipped",
            ):
                if key in stats and (split == "train" or key in ("conversations", "pairs")):
                    row[f"{split} {key}"] = stats[key]
            if stats.get("skipped_by_reason"):
                row[f"{split} skipped by reason"] = json.dumps(stats["skipped_by_reason"])
        for name in sorted(n for n in s.name.unique() if n.startswith("val/")):
            vals = s[s.name == name].sort_values("step")
            row[f"{name} first"] = vals.value.iloc[0]
            row[f"{name} last"] = vals.value.iloc[-1]
        tl = s[s.name == "train/loss"].sort_values("step")
        row["train/loss last"] = tl.value.iloc[-1] if len(tl) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def write_align_report(
    manifests: list[Path], out_dir: Path, *, preference_stats: Path | None = None
) -> dict[str, Path]:
    """Write ``curves.png``, ``summary.csv`` and ``summary.md`` into ``out_dir``."""
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs, df = _runs(manifests)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = _summary(runs, df)
    text = summary.set_index("run").T.to_markdown(floatfmt=".4g") + "\n"
    if preference_stats is not None and Path(preference_stats).is_file():
        counts = json.loads(Path(preference_stats).read_text(encoding="utf-8"))
        text += (
            f"\nSafety pairs: {counts.get('model_written', 0)} chosen refusals written by the "
            f"SFT model, {counts.get('fallback', 0)} template refusals where its reply was not "
            "a refusal.\n"
        )
    write_table(out_dir, "summary", summary, text)

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ax_sft, ax_forget, ax_dpo = axes
    ax_margin = ax_dpo.twinx()
    sft_runs = [m["stage"] for m in runs if m.get("kind") == "sft"]
    for m in runs:
        s = df[df.run == m["stage"]]
        if m.get("kind") == "sft":
            style = "-" if sft_runs.index(m["stage"]) == 0 else "--"
            colours = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
            d = s[s.name == "val/sft_heldout"].sort_values("step")
            ax_sft.plot(d.step, d.value, marker=".", label=f"{m['stage']} held-out responses")
            d = s[s.name == "train/loss"].sort_values("step")
            ax_sft.plot(d.step, d.value, lw=0.8, alpha=0.6, label=f"{m['stage']} train (mixed)")
            for name in sorted(n for n in s.name.unique() if n.startswith("val/")):
                if name == "val/sft_heldout":
                    continue
                d = s[s.name == name].sort_values("step")
                ax_forget.plot(
                    d.step,
                    d.value,
                    style,
                    marker=".",
                    lw=0.8,
                    color=next(colours),
                    label=f"{m['stage']}: {name.removeprefix('val/')}",
                )
        elif m.get("kind") == "dpo":
            for ax, name, style, colour in (
                (ax_dpo, "val/heldout/rewards/accuracies", "-o", "C0"),
                (ax_dpo, "train/rewards/accuracies", ":", "C1"),
                (ax_margin, "val/heldout/rewards/margins", "-s", "C2"),
            ):
                d = s[s.name == name].sort_values("step")
                ax.plot(d.step, d.value, style, ms=3, color=colour, label=name)
    ax_sft.set_title("SFT: response-only loss")
    ax_sft.set_ylabel("loss (nats/token)")
    ax_forget.set_title("SFT: pretraining held-out loss (forgetting)")
    ax_forget.set_ylabel("loss (nats/token)")
    ax_dpo.set_title("DPO: preference accuracy and reward margin")
    ax_dpo.axhline(0.5, color="grey", ls="--", lw=0.7)
    ax_dpo.set_ylabel("preference accuracy")
    ax_dpo.set_ylim(-0.05, 1.05)
    ax_margin.set_ylabel("mean reward margin (nats × β)")
    for ax in axes:
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend(fontsize=7, loc="lower right" if ax is ax_dpo else "best")
    if ax_margin.lines:
        ax_margin.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    save_figure(fig, out_dir / "curves.png")
    return {n: out_dir / n for n in ("summary.csv", "summary.md", "curves.png")}


def write_samples(models: dict[str, str], generate: GenerateConfig, out_dir: Path) -> Path:
    """Every model's reply to each configured prompt: ``samples.csv`` and ``samples.md``."""
    # deferred: heavy import (torch), only for the sample replies
    from skyforge.train.generate import generate_replies, load_chat_model

    prompts = [[{"role": "user", "content": p}] for p in generate.prompts]
    rows = []
    for name, folder in models.items():
        model, tokenizer = load_chat_model(folder)
        for prompt, rep in zip(
            prompts, generate_replies(model, tokenizer, prompts, generate), strict=True
        ):
            rows.append({"model": name, "prompt": prompt[0]["content"], **rep})
    table = pd.DataFrame(rows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    decoding = (
        "greedy"
        if generate.temperature == 0
        else f"sampled, temperature {generate.temperature}, top-p {generate.top_p}"
    )
    lines = [f"Decoding: {decoding}, at most {generate.max_new_tokens} new tokens.", ""]
    for prompt in generate.prompts:
        lines += [
            f"### {prompt}",
            "",
            "| model | reply | tokens | stopped at <\\|end\\|> |",
            "|---|---|---|---|",
        ]
        for r in rows:
            if r["prompt"] == prompt:
                reply = r["reply"].replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {r['model']} | {reply} | {r['num_tokens']} | {r['stopped']} |")
        lines.append("")
    write_table(out_dir, "samples", table, "\n".join(lines))
    return out_dir / "samples.md"
