"""The table writer: CSV and Markdown (and a PNG when asked), written whole."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from skyforge.core.tables import write_table


def test_writes_csv_markdown_and_png(tmp_path):
    table = pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]})

    def plot():
        fig = Figure()
        fig.subplots().plot(table.a, table.b)
        return fig

    paths = write_table(tmp_path / "out", "t", table, "# t\n", plot=plot)
    assert paths == {k: tmp_path / "out" / f"t.{k}" for k in ("csv", "md", "png")}
    assert (tmp_path / "out" / "t.csv").read_text() == table.to_csv(index=False)
    assert (tmp_path / "out" / "t.md").read_text() == "# t\n"
    assert (tmp_path / "out" / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t.csv", "t.md", "t.png"]


def test_index_and_no_plot(tmp_path):
    table = pd.DataFrame({"x": [3]}, index=pd.Index([7], name="layer"))
    paths = write_table(tmp_path, "t", table, "", index=True)
    assert set(paths) == {"csv", "md"}
    assert (tmp_path / "t.csv").read_text() == "layer,x\n7,3\n"
