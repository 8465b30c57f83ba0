"""The contamination table's two halves side by side: benchmark items found in the crawl by the
data DAG (the corpus audit) and the model-side loss gaps Δ1 / Δ2 (``eval.contamination``).

Reads the two tables as written (CSV), so it needs neither the data nor the eval package.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["data_vs_model", "render_data_vs_model"]


def data_vs_model(audit: pd.DataFrame, contamination: pd.DataFrame | None) -> pd.DataFrame:
    """Both halves of Skywork's check in one table: per benchmark, the items the data DAG found
    in the crawl before removal (``results/data/audit/benchmarks.csv``), and, where the model
    side measures it (GSM8K), each model's Δ1 / Δ2 (:func:`contamination_table`).

    Args:
        audit: the corpus audit's benchmark rows (benchmark, items, items_found, pages,
            pages_removed).
        contamination: the model-side table, or None when the DAG has no model half.

    Returns:
        One row per (benchmark, model); a benchmark the model side does not measure has one row
        with an empty model.
    """
    rows = []
    for a in audit.to_dict("records"):
        data = {
            "benchmark": a["benchmark"],
            "items": int(a["items"]),
            "items_found_in_crawl": int(a["items_found"]),
            "pages_found": int(a["pages"]),
            "pages_removed": int(a["pages_removed"]),
            "pages_left_in_corpora": int(a["pages"]) - int(a["pages_removed"]),
        }
        if a["benchmark"] == "gsm8k" and contamination is not None and len(contamination):
            for c in contamination.to_dict("records"):
                rows.append(
                    data
                    | {
                        "model": c["model"],
                        "delta1": c["delta1"],
                        "delta2": c["delta2"],
                        "flagged": bool(c["flagged"]),
                    }
                )
        else:
            unmeasured = {"model": "", "delta1": float("nan"), "delta2": float("nan")}
            rows.append(data | unmeasured | {"flagged": False})
    return pd.DataFrame(rows)


def render_data_vs_model(table: pd.DataFrame) -> str:
    """The data-side / model-side table as Markdown."""

    def fmt(x: float) -> str:
        return "—" if pd.isna(x) else f"{x:+.3f}"

    lines = [
        "# Contamination: the data side and the model side",
        "",
        "Data side: benchmark items the decontaminate step found in the crawl before removing "
        "them (same-language n-grams and the cross-lingual fingerprint). Model side: Δ1 = "
        "L_test − L_ref (negative: the test set leaked) and Δ2 = L_test − L_train, measured on "
        "GSM8K only.",
        "",
        "| benchmark | items | items found in the crawl | pages found | pages removed | pages "
        "left in the corpora | model | Δ1 | Δ2 | flagged |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['benchmark']} | {r['items']} | {r['items_found_in_crawl']} | "
            f"{r['pages_found']} | {r['pages_removed']} | {r['pages_left_in_corpora']} | "
            f"{r['model'] or '(not measured)'} | {fmt(r['delta1'])} | {fmt(r['delta2'])} | "
            f"{'yes' if r['flagged'] else ''} |"
        )
    return "\n".join(lines) + "\n"
