"""One table writer: a DataFrame as CSV and Markdown, with an optional PNG, each file atomic.

The funnel, the scores, the plan, the eval tables and the reports each publish a table the same
way: a CSV for tools, a Markdown page for readers (its caption and layout are the caller's: the
Markdown is passed in as text), and often a plot. Every file is written beside its final name and
renamed into place (:mod:`skyforge.core.io`), so a killed job never leaves half a table behind.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from skyforge.core.io import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["save_figure", "write_csv", "write_table"]


def write_csv(path: str | Path, table: pd.DataFrame, *, index: bool = False) -> Path:
    """Write ``table`` as CSV to ``path`` atomically (no index column unless ``index``)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=index)
    return Path(path)


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG to ``path`` atomically, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    # deferred: matplotlib takes ~0.5 s to import; only a caller with a figure needs it
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Path(path)


def write_table(
    out_dir: str | Path,
    name: str,
    table: pd.DataFrame,
    markdown: str,
    *,
    index: bool = False,
    plot: Callable[[], Figure] | None = None,
    png_name: str | None = None,
) -> dict[str, Path]:
    """Write ``name``.csv and ``name``.md into ``out_dir``, and the PNG ``plot()`` draws.

    Args:
        out_dir: the directory (created if missing).
        name: the file stem of the CSV and the Markdown page.
        table: the CSV's content.
        markdown: the Markdown page, written as is.
        index: write the DataFrame's index as the CSV's first column.
        plot: returns the figure to save (``png_name``, default ``name``.png); None: no PNG.

    Returns:
        The paths written, keyed "csv", "md" and (with ``plot``) "png".
    """
    out_dir = Path(out_dir)
    paths = {"csv": write_csv(out_dir / f"{name}.csv", table, index=index)}
    atomic_write_text(out_dir / f"{name}.md", markdown)
    paths["md"] = out_dir / f"{name}.md"
    if plot is not None:
        paths["png"] = save_figure(plot(), out_dir / (png_name or f"{name}.png"))
    return paths
