"""In-domain ablation (Skywork-13B §5.4): a stage-1 release checkpoint continued on STEM only.

Skywork took its 500 B-token checkpoint and trained 1 B more tokens of STEM data only: C-Eval
28.3 → 50.8 and GSM8K 6.9 → 40.7, while the English and Chinese web losses rose (1.86 → 2.09,
2.08 → 2.21) — in-domain data moves benchmarks far more than general ability, which is why the
report asks readers to look at domain losses, not benchmark scores alone. The optional target
``eval_ablation`` repeats that on this run: the first release of stage 1 (the start), the same
checkpoint trained ``eval.ablation.tokens`` tokens on the STEM pack alone (same loop, spec and
dispatch as pretraining), both exported, both scored by the domain-loss and benchmark tables,
and a table of the deltas (after − before).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from skyforge.core.io import atomic_write_text
from skyforge.core.tables import save_figure, write_table

__all__ = ["release_manifest", "stem_only_blend", "ablation_table"]


def release_manifest(stage_manifest: Path, out: Path, *, index: int = 0) -> dict[str, Any]:
    """A manifest for a stage's ``index``-th release checkpoint (the ablation's start).

    Raises:
        ValueError: the stage kept no such release (naming the manifest).
    """
    m = json.loads(Path(stage_manifest).read_text(encoding="utf-8"))
    releases = m.get("releases", [])
    if index >= len(releases):
        raise ValueError(
            f"manifest '{stage_manifest}': {len(releases)} release checkpoint(s), the ablation "
            f"starts from release {index} (config key 'train.stage1.keep_checkpoints_at_tokens')"
        )
    rel = releases[index]
    iteration = int(re.search(r"iter_(\d+)", rel["checkpoint"]).group(1))
    tokens_per_step = m["spec"]["global_batch_size"] * m["model"]["seq_length"]
    start = dict(m)
    start.update(
        stage=f"{m['stage']}@release{index}",
        description=f"{m['stage']} at its release ({rel['reason']})",
        checkpoint=rel["checkpoint"],
        iteration=iteration,
        tokens_this_stage=iteration * tokens_per_step,
        tokens_seen=m["tokens_seen"] - m["tokens_this_stage"] + iteration * tokens_per_step,
        # The hash names the weights: the stage's run at this step.
        config_hash=f"{m['config_hash']}-release{index}",
    )
    atomic_write_text(out, json.dumps(start, indent=2) + "\n")
    return start


def stem_only_blend(base_blend: Path, out: Path) -> Path:
    """A blend of the STEM train pack alone (validation packs kept), from any blend that has it.

    Raises:
        ValueError: ``base_blend`` has no STEM pack (naming it).
    """
    blend = json.loads(Path(base_blend).read_text(encoding="utf-8"))
    prefixes, _ = blend["blend"]
    stem = [p for p in prefixes if "/stem/" in p]
    if not stem:
        raise ValueError(f"blend '{base_blend}': no STEM pack to continue on")
    new = copy.deepcopy(blend)
    new.update(stage="ablation_stem", blend=[stem[:1], [1.0]], data_path=[1.0, stem[0]])
    atomic_write_text(out, json.dumps(new, indent=1) + "\n")
    return Path(out)


def ablation_table(
    before: str, after: str, loss_csv: Path, bench_csv: Path, out_dir: Path
) -> pd.DataFrame:
    """Benchmark scores and domain losses of the two models, and after − before."""
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    loss = pd.read_csv(loss_csv).set_index(["model", "domain"])
    for domain in dict.fromkeys(d for _, d in loss.index):
        b, a = loss.loc[(before, domain)], loss.loc[(after, domain)]
        ok = b.status == "ok" and a.status == "ok"
        rows.append(
            {
                "metric": f"loss {domain} (nats, normalised)",
                "before": b.loss_norm,
                "after": a.loss_norm,
                "delta": a.loss_norm - b.loss_norm if ok else None,
            }
        )
    bench = pd.read_csv(bench_csv).set_index("model")
    for task in ("ceval", "cmmlu", "mmlu", "gsm8k"):
        if task in bench.columns:
            b, a = bench.loc[before, task], bench.loc[after, task]
            rows.append({"metric": f"{task} (score)", "before": b, "after": a, "delta": a - b})
    table = pd.DataFrame(rows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_table(
        out_dir,
        "ablation",
        table,
        f"In-domain ablation: '{before}' (a stage-1 release) vs '{after}' (the same checkpoint "
        "continued on STEM only). Losses are the normalised domain losses (lower is better), "
        "scores the benchmark metrics (higher is better); delta = after − before. Skywork-13B "
        "(500 B + 1 B STEM tokens): C-Eval +22.5, GSM8K +33.8 points, EN loss +0.23, ZH +0.13."
        "\n\n" + table.to_markdown(index=False, floatfmt=".4f") + "\n",
    )
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(table) + 1.5))
    deltas = table.delta.astype(float).fillna(0.0)
    ax.barh(table.metric, deltas, color=["C3" if d > 0 else "C0" for d in deltas])
    ax.axvline(0, color="grey", lw=0.7)
    ax.set_xlabel("after − before")
    ax.set_title("STEM-only continuation of a stage-1 release")
    fig.tight_layout()
    save_figure(fig, out_dir / "ablation.png")
    return table
