"""``results/summary.md``: the one page a person reads first, built from the run's artifacts.

Every figure on the page is read from an artifact the DAG wrote (never typed in): the crawl
manifest, the funnel, the removal scores, the tokenizer and pack counts, the pre-flight table, the
pretraining, SFT and DPO manifests, and the eval tables. Each section links to the detailed table
it summarises, by a path relative to ``results/`` so the links work in a file browser, on a Git
forge and in the Snakemake report's download of the file. An artifact that is missing (a target
not built, e.g. with a smaller config) is said to be missing, not skipped silently; the
pre-flight section alone is left out when the run had no pre-flight (``preflight.enabled``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from skyforge.core.io import atomic_write_text

__all__ = ["write_summary"]


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def _link(results: Path, path: str) -> str:
    return f"[{path}]({path})" if (results / path).exists() else f"{path} (not built)"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _data(results: Path) -> list[str]:
    lines = ["## Data", ""]
    crawl = _read_json(results / "crawl/manifest.json")
    funnel = _read_csv(results / "data/funnel/funnel.csv")
    if crawl:
        records = sum(crawl.get("records_per_shard", [])) or crawl.get("num_records", 0)
        lines.append(
            f"- Crawl ({crawl['source']}): {crawl.get('num_pages', records):,} pages, "
            f"{records:,} WARC records in {crawl['num_shards']} shards, "
            f"{crawl.get('total_bytes', 0) / 1e6:.1f} MB."
        )
    if funnel is not None and len(funnel):
        first, last = funnel.iloc[0], funnel.iloc[-1]
        lines.append(
            f"- Funnel: {int(first.docs_in):,} records in → {int(last.docs_out):,} documents kept "
            f"({last.bytes_out / 1e6:.2f} MB of text); largest removals: "
            + ", ".join(
                f"{r.step} {int(r.docs_removed):,}"
                for r in funnel.nlargest(3, "docs_removed").itertuples()
            )
            + f". {_link(results, 'data/funnel/funnel.md')}"
        )
    scores = _read_csv(results / "data/scores/scores.csv")
    if scores is not None and len(scores):
        worst = scores.sort_values("precision").iloc[0]
        lines.append(
            f"- Removals scored against the synthetic ground truth: {len(scores)} steps, lowest "
            f"precision {worst.precision:.3f} ({worst.step}), lowest recall "
            f"{scores.recall.min():.3f}. {_link(results, 'data/scores/scores.md')}"
        )
    tok = _read_csv(results / "tokenizer/stats.csv")
    if tok is not None and len(tok):
        per = ", ".join(f"{r.corpus} ({r.lang}) {r.chars_per_token:.2f}" for r in tok.itertuples())
        lines.append(
            f"- Tokenizer: vocabulary {int(tok.vocab_size.iloc[0]):,}; held-out characters per "
            f"token: {per}. {_link(results, 'tokenizer/stats.md')}"
        )
    packs = sorted((results / "packs").glob("*/train.json"))
    if packs:
        tokens = {p.parent.name: json.loads(p.read_text())["tokens"] for p in packs}
        lines.append(
            "- Packed training tokens: "
            + ", ".join(f"{c} {n:,}" for c, n in tokens.items())
            + f" (total {sum(tokens.values()):,}). {_link(results, 'blends/summary.md')}"
        )
    return lines + [""]


def _preflight(results: Path) -> list[str]:
    """The pre-flight table (results/preflight/preflight.csv) when the run had one, else nothing."""
    table = _read_csv(results / "preflight/preflight.csv")
    if table is None:
        return []

    def cell(x: Any) -> str:
        return "" if pd.isna(x) else x if isinstance(x, str) else _fmt(float(x))

    lines = [
        "## Pre-flight",
        "",
        "Measured on the first stage's own job before it started: all-reduce bus bandwidth at "
        "the gradient buckets' sizes and tokens/s per GPU beside the plan. "
        + _link(results, "preflight/preflight.md"),
        "",
        "| check | scope | message (MiB) | measured | plan | unit | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.check} | {r.scope} | {cell(r.message_mib)} | {cell(r.measured)} | "
            f"{cell(r.plan)} | {cell(r.unit)} | {r.status} |"
        )
    return lines + [""]


def _training(results: Path, stages: list[str]) -> list[str]:
    header = "| stage | what | steps | tokens seen | final train loss | final validation loss |"
    lines = ["## Pretraining", "", header, "|---|---|---|---|---|---|"]
    for stage in stages:
        m = _read_json(results / f"pretrain/{stage}/manifest.json")
        if m is None:
            lines.append(f"| {stage} | not built | | | | |")
            continue
        fm = m["final_metrics"]
        val = ", ".join(
            f"{k.removeprefix('val/')} {v:.3f}" for k, v in fm.items() if k.startswith("val/")
        )
        lines.append(
            f"| {stage} | {m['description']} | {m['iteration']} | "
            f"{_fmt(m['tokens_seen'])} | {fm['train/loss']:.3f} | {val} |"
        )
    lines += [
        "",
        f"Curves: {_link(results, 'pretrain/report/curves.png')}; table: "
        f"{_link(results, 'pretrain/report/summary.md')}.",
        "",
    ]
    lines += ["## SFT and DPO", ""]
    for name in ("sft", "sft_fresh_optimizer", "sft_with_optimizer"):
        m = _read_json(results / f"align/{name}/manifest.json")
        if m is None:
            continue
        fm, data = m["final_metrics"], m.get("data", {}).get("train", {})
        lines.append(
            f"- `{name}` ({m['description']}): {m['iteration']} steps on "
            f"{data.get('conversations', '?')} conversations ({data.get('skipped', 0)} rows "
            f"skipped), held-out response loss {fm.get('val/sft_heldout', float('nan')):.3f}."
        )
    m = _read_json(results / "align/dpo/manifest.json")
    if m is not None:
        fm = m["final_metrics"]
        lines.append(
            f"- `dpo` ({m['description']}): {m['iteration']} steps; held-out preference accuracy "
            f"{fm.get('val/heldout/rewards/accuracies', float('nan')):.3f}, mean reward margin "
            f"{fm.get('val/heldout/rewards/margins', float('nan')):.3f}."
        )
    stats = _read_json(results / "chat/preference_stats.json")
    if stats:
        lines.append(
            f"- Safety pairs: {stats['model_written']} refusals written by the SFT "
            f"model, {stats['fallback']} written refusals as fallback."
        )
    lines += [
        f"- Curves and table: {_link(results, 'align/report/summary.md')}; sample replies "
        f"of every model: {_link(results, 'align/report/samples.md')}.",
        "",
    ]
    return lines


def _eval(results: Path) -> list[str]:
    lines = ["## Evaluation", ""]
    loss = _read_csv(results / "eval/domain_loss/domain_loss.csv")
    if loss is not None:
        avg = loss[(loss.domain == "Average") & (loss.status == "ok")].sort_values("ppl")
        lines.append(
            "- Normalised perplexity, all held-out domains pooled (lower is better): "
            + ", ".join(f"{r.model} {r.ppl:.1f}" for r in avg.itertuples())
            + f"; failed cells: {int((loss.status != 'ok').sum())}. "
            + _link(results, "eval/domain_loss/domain_loss.md")
        )
    bench = _read_csv(results / "eval/benchmarks/benchmarks.csv")
    if bench is not None:
        tasks = [t for t in ("ceval", "cmmlu", "mmlu", "gsm8k") if t in bench.columns]
        rows = [
            f"{r['model']} " + "/".join(f"{100 * r[t]:.1f}" for t in tasks)
            for r in bench.to_dict("records")
        ]
        lines.append(
            f"- Benchmarks ({'/'.join(tasks)}, %): "
            + "; ".join(rows)
            + ". "
            + _link(results, "eval/benchmarks/benchmarks.md")
        )
    cont = _read_csv(results / "eval/contamination/contamination.csv")
    if cont is not None:
        ok = cont[cont.status == "ok"]
        flagged = list(ok[ok.flagged.astype(bool)].model)
        lines.append(
            "- Contamination (Δ1 = L_test − L_ref): "
            + ", ".join(f"{r.model} {r.delta1:+.3f}" for r in ok.itertuples())
            + f"; flagged: {', '.join(flagged) if flagged else 'none'}. "
            + _link(results, "eval/contamination/contamination.md")
        )
    if (results / "eval/layer_cosine/layer_cosine.md").exists():
        lines.append(f"- Layer cosine: {_link(results, 'eval/layer_cosine/layer_cosine.md')}.")
    return lines + [""]


def write_summary(
    results: Path, out: Path, *, run_name: str, config_hash: str, stages: list[str]
) -> str:
    """Write the summary page from the artifacts under ``results``.

    Args:
        results: the ``results/`` directory.
        out: the page (``results/summary.md``).
        run_name: ``run_name`` of the config.
        config_hash: hash of the validated config the run was built with.
        stages: the pretraining stages, in training order.

    Returns:
        The page's text.
    """
    results = Path(results)
    lines = [
        f"# Run `{run_name}`",
        "",
        f"Config hash `{config_hash}` (SHA-256 of the validated config, defaults filled in). "
        "Every figure below is read from an artifact of this run; the links lead to the "
        "detailed tables. The plan: " + _link(results, "plan/plan.md") + ".",
        "",
    ]
    lines += _data(results) + _preflight(results) + _training(results, stages) + _eval(results)
    text = "\n".join(lines)
    atomic_write_text(out, text)
    return text
