"""The pretraining report: loss curves and a summary table over the whole chain of stages.

Reads each stage's manifest and the ``metrics.csv`` of its run directory. Token counts in the
CSVs are cumulative over the chain, so the stages line up on one x axis; a dashed line marks
where each stage starts. Validation loss is drawn per held-out domain (Skywork monitors several
held-out domains, not training loss alone: docs/recipe.md#data).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skyforge.core.tables import save_figure, write_table
from skyforge.train.spec import load_manifest

__all__ = ["write_pretrain_report", "chain_metrics"]


def chain_metrics(manifests: list[Path]) -> tuple[list[dict], pd.DataFrame]:
    """The manifests (in order) and all their metrics rows, with a ``stage`` column."""

    stages, frames = [], []
    for path in manifests:
        m = load_manifest(path)
        stages.append(m)
        df = pd.read_csv(m["metrics_csv"])
        df["stage"] = m["stage"]
        frames.append(df)
    return stages, pd.concat(frames, ignore_index=True)


def _summary(stages: list[dict], df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for m in stages:
        s = df[df.stage == m["stage"]]
        row = {
            "stage": m["stage"],
            "description": m["description"],
            "steps": m["iteration"],
            "tokens_this_stage": m["tokens_this_stage"],
            "tokens_seen": m["tokens_seen"],
        }
        for name in sorted(n for n in s.name.unique() if n.startswith("val/")):
            vals = s[s.name == name].sort_values("step")
            row[f"{name} first"] = vals.value.iloc[0]
            row[f"{name} last"] = vals.value.iloc[-1]
        tl = s[s.name == "train/loss"].sort_values("step")
        row["train/loss last"] = tl.value.iloc[-1] if len(tl) else float("nan")
        perf = s[s.name == "perf/tokens_per_s_per_device"]
        row["tokens/s/device (median)"] = perf.value.median() if len(perf) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def write_pretrain_report(manifests: list[Path], out_dir: Path) -> dict[str, Path]:
    """Write ``curves.png``, ``summary.csv`` and ``summary.md`` into ``out_dir``."""
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages, df = chain_metrics(manifests)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = _summary(stages, df)
    markdown = summary.to_markdown(index=False, floatfmt=".4g") + "\n"
    write_table(out_dir, "summary", summary, markdown)

    fig, axes = plt.subplots(2, 2, figsize=(13, 8), sharex=True)
    (ax_val, ax_train), (ax_lr, ax_perf) = axes
    for name in sorted(n for n in df.name.unique() if n.startswith("val/")):
        d = df[df.name == name].sort_values("tokens")
        ax_val.plot(d.tokens, d.value, marker=".", label=name.removeprefix("val/"))
    panels = (
        (ax_train, "train/loss", "loss (nats/token)", "training loss"),
        (ax_lr, "train/lr", "learning rate", "learning rate"),
        (ax_perf, "perf/tokens_per_s_per_device", "tokens/s per device", "throughput"),
    )
    for ax, name, ylabel, title in panels:
        d = df[df.name == name].sort_values("tokens")
        ax.plot(d.tokens, d.value, lw=1, color="black", marker="." if len(d) < 50 else None)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    for ax in axes.flat:
        for m in stages:
            start = m["tokens_seen"] - m["tokens_this_stage"]
            ax.axvline(start, color="grey", ls="--", lw=0.7)
            ax.text(
                start,
                1.0,
                f" {m['stage']}",
                transform=ax.get_xaxis_transform(),
                rotation=90,
                va="top",
                fontsize=7,
                color="grey",
            )
    for ax in axes[1]:
        ax.set_xlabel("tokens seen")
    ax_val.set_ylabel("loss (nats/token)")
    ax_val.set_title("validation loss per held-out domain")
    ax_val.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "curves.png")
    return {n: out_dir / n for n in ("summary.csv", "summary.md", "curves.png")}
