"""The data funnel: documents and bytes in and out of every cleaning step, by removal reason.

Reads every removal table of the run and the kept tables of the steps that write them, and checks
the books: the records of the raw crawl equal the documents in the final corpora plus every
removal row. A funnel that does not add up is an error (something was lost), not a warning.

Outputs ``funnel.csv`` (one row per step), ``funnel_reasons.csv`` (step × reason),
``funnel.md`` and ``funnel.png`` (a bar chart), for people and for the Snakemake report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from skyforge.core.tables import save_figure, write_csv, write_table
from skyforge.data.corpora import text_bytes
from skyforge.data.docs import STEPS, iter_doc_batches


class FunnelError(RuntimeError):
    """The funnel does not add up: documents were lost or counted twice."""


def _count_rows(paths: Sequence[Path]) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def _bytes(paths: Sequence[Path]) -> int:
    """UTF-8 bytes of the text of every table, read one row group at a time."""
    return sum(
        text_bytes(pa.Table.from_batches([batch]))
        for p in paths
        for batch in iter_doc_batches(p, columns=["text"])
    )


def build_funnel(
    removed: Sequence[Path],
    kept_after: Mapping[str, Sequence[Path]],
    final: Sequence[Path],
    records_in: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute the funnel tables.

    Args:
        removed: every removal table of the run (any step).
        kept_after: step name → the kept-document tables written after that step (for measured
            byte counts); steps without kept tables get bytes_out from the step before.
        final: the final corpus tables.
        records_in: WARC records in the raw crawl.

    Raises:
        FunnelError: if records_in ≠ final documents + removed rows.
    """
    # Each row group is reduced to its (step, reason) counts before the next is read, so memory
    # follows the number of distinct reasons, not the number of removed documents. Groups keep
    # their first appearance in file order, as one group-by over all rows would.
    counts: dict[tuple[str, str], list[int]] = {}
    for path in removed:
        for batch in iter_doc_batches(path, columns=["step", "reason", "bytes"]):
            frame = batch.to_pandas()
            frame["bytes"] = frame["bytes"].fillna(0).astype("int64")
            part = frame.groupby(["step", "reason"], sort=False).agg(
                docs=("reason", "size"), bytes=("bytes", "sum")
            )
            for (step, reason), docs, nbytes in zip(
                part.index, part["docs"], part["bytes"], strict=True
            ):
                total = counts.setdefault((step, reason), [0, 0])
                total[0] += int(docs)
                total[1] += int(nbytes)
    reasons = pd.DataFrame(
        [(step, reason, d, b) for (step, reason), (d, b) in counts.items()],
        columns=["step", "reason", "docs", "bytes"],
    )
    reasons["docs"] = reasons["docs"].astype("int64")
    reasons["bytes"] = reasons["bytes"].astype("int64")
    reasons["order"] = reasons["step"].map({s: i for i, s in enumerate(STEPS)})
    reasons = reasons.sort_values(["order", "docs"], ascending=[True, False]).drop(columns="order")

    rows = []
    docs = records_in
    bytes_out: int | None = None
    for step in STEPS:
        step_rem = reasons[reasons.step == step]
        n_removed = int(step_rem["docs"].sum())
        measured = kept_after.get(step)
        out_docs = docs - n_removed
        if measured is not None:
            n_kept = _count_rows(measured)
            if n_kept != out_docs:
                raise FunnelError(
                    f"step {step}: {docs} documents in, {n_removed} removed, but {n_kept} kept "
                    f"(expected {out_docs})"
                )
            bytes_out = _bytes(measured)
        rows.append(
            {
                "step": step,
                "docs_in": docs,
                "docs_removed": n_removed,
                "docs_out": out_docs,
                "bytes_removed": int(step_rem["bytes"].sum()),
                "bytes_out": bytes_out,
            }
        )
        docs = out_docs
    n_final = _count_rows(final)
    n_removed_all = int(reasons["docs"].sum())
    if n_final != docs or records_in != n_final + n_removed_all:
        raise FunnelError(
            f"funnel does not add up: {records_in} records in, {n_removed_all} removed, "
            f"{n_final} in the corpora (expected {records_in - n_removed_all})"
        )
    rows.append(
        {
            "step": "corpora",
            "docs_in": docs,
            "docs_removed": 0,
            "docs_out": n_final,
            "bytes_removed": 0,
            "bytes_out": _bytes(final),
        }
    )
    return pd.DataFrame(rows), reasons.reset_index(drop=True)


def render_markdown(
    funnel: pd.DataFrame, reasons: pd.DataFrame, repaired: Mapping[str, int] | None = None
) -> str:
    """Funnel tables as Markdown; ``repaired``: documents kept after a repair, per kind."""
    first = int(funnel.iloc[0].docs_in)
    lines = [
        "# Data funnel",
        "",
        f"{first:,} WARC records in → {int(funnel.iloc[-1].docs_out):,} documents in the corpora "
        f"({int(funnel.iloc[-1].docs_out) / max(first, 1):.1%}).",
        "",
        "| step | docs in | removed | docs out | MB removed | MB out |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in funnel.itertuples():
        out_mb = "" if pd.isna(r.bytes_out) else f"{r.bytes_out / 1e6:,.2f}"
        lines.append(
            f"| {r.step} | {r.docs_in:,} | {r.docs_removed:,} | {r.docs_out:,} | "
            f"{r.bytes_removed / 1e6:,.2f} | {out_mb} |"
        )
    lines += [
        "",
        "## Removals by reason",
        "",
        "| step | reason | docs | MB |",
        "|---|---|---:|---:|",
    ]
    for r in reasons.itertuples():
        lines.append(f"| {r.step} | {r.reason} | {r.docs:,} | {r.bytes / 1e6:,.3f} |")
    if repaired is not None:
        lines += [
            "",
            "## Repaired and kept (not removals)",
            "",
            "| step | repair | docs |",
            "|---|---|---:|",
        ]
        lines += [f"| encoding | {k} | {v:,} |" for k, v in sorted(repaired.items())]
    return "\n".join(lines) + "\n"


def plot_funnel(funnel: pd.DataFrame, reasons: pd.DataFrame, out: Path) -> None:
    """Bar chart: documents left after each step, and removals per step split by reason."""
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    ax1.barh(funnel.step[::-1], funnel.docs_out[::-1], color="#4472c4")
    ax1.set_xlabel("documents left after step")
    ax1.set_title("Funnel")
    for y, v in enumerate(funnel.docs_out[::-1]):
        ax1.text(v, y, f" {v:,}", va="center", fontsize=8)
    pivot = reasons.pivot_table(index="step", columns="reason", values="docs", fill_value=0)
    pivot = pivot.reindex([s for s in STEPS if s in pivot.index])
    left = pd.Series(0, index=pivot.index, dtype=float)
    cmap = plt.get_cmap("tab20")
    for i, reason in enumerate(pivot.columns):
        ax2.barh(
            pivot.index[::-1],
            pivot[reason][::-1],
            left=left[::-1],
            label=reason,
            color=cmap(i % 20),
        )
        left += pivot[reason]
    ax2.set_xlabel("documents removed")
    ax2.set_title("Removals by step and reason")
    ax2.legend(fontsize=7, ncols=2, loc="lower right")
    save_figure(fig, out)


def write_funnel(
    out_dir: Path,
    removed: Sequence[Path],
    kept_after: Mapping[str, Sequence[Path]],
    final: Sequence[Path],
    records_in: int,
    repaired: Sequence[Path] = (),
) -> pd.DataFrame:
    """Compute and write funnel.csv, funnel_reasons.csv, funnel.md, funnel.png into out_dir.

    ``repaired``: the filter's tables of documents whose mojibake was repaired (counted in
    funnel.md per codec: the other outcome of the encoding step, beside its removals).
    """
    funnel, reasons = build_funnel(removed, kept_after, final, records_in)
    num_repaired: dict[str, int] | None = None
    if repaired:
        num_repaired = {}
        for path in repaired:
            for codecs in pq.read_table(path, columns=["codecs"]).column("codecs").to_pylist():
                for codec in (codecs or "").split(","):
                    if codec:
                        num_repaired[codec] = num_repaired.get(codec, 0) + 1
    out_dir = Path(out_dir)
    write_csv(out_dir / "funnel_reasons.csv", reasons)
    write_table(out_dir, "funnel", funnel, render_markdown(funnel, reasons, num_repaired))
    plot_funnel(funnel, reasons, out_dir / "funnel.png")
    return funnel


def crawl_records(crawl_manifest: Path, extract_tables: Sequence[Path] = ()) -> int:
    """The number of WARC records of the raw crawl (what the funnel must add up to).

    A re-sharded or synthetic crawl counted its records while writing the shards
    (``records_per_shard``). A crawl read in place (``crawl.reshard: false``) was never read
    before extraction, so its count is what extraction read: the rows of ``extract_tables``
    (extract's kept and removed tables), where every record it met lands.

    Raises:
        ValueError: the manifest has neither a count nor ``reshard: false`` with tables given.
    """
    manifest = json.loads(Path(crawl_manifest).read_text())
    if "records_per_shard" in manifest:
        return int(sum(manifest["records_per_shard"]))
    if manifest.get("reshard") is False and extract_tables:
        return int(sum(pq.ParquetFile(p).metadata.num_rows for p in extract_tables))
    raise ValueError(f"'{crawl_manifest}': no records_per_shard in the crawl manifest")
