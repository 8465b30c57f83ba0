"""Training metrics of a run directory: TensorBoard event files and a CSV, written by rank 0.

The CSV is long-format (``step, tokens, name, value``): validation domains, performance figures
and training values are logged at different intervals, and new names (a new held-out domain)
need no schema change. On resume, rows past the resumed step — logged after the last checkpoint
by the job that died — are dropped, and TensorBoard is told to purge the same steps, so both
show the curve of an uninterrupted run.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

__all__ = ["MetricsWriter", "read_metrics"]

COLUMNS = ("step", "tokens", "name", "value")


class MetricsWriter:
    """Appends metrics to ``<run_dir>/metrics.csv`` and ``<run_dir>/tensorboard/``."""

    def __init__(self, run_dir: str | Path, *, enabled: bool, resume_step: int = 0) -> None:
        self.enabled = enabled
        self.csv_path = Path(run_dir) / "metrics.csv"
        self._tb = None
        if not enabled:
            return
        self._truncate(resume_step)
        new = not self.csv_path.exists()
        self._file = open(self.csv_path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(COLUMNS)
        from torch.utils.tensorboard import SummaryWriter

        self._tb = SummaryWriter(
            str(Path(run_dir) / "tensorboard"), purge_step=resume_step if resume_step else None
        )

    def _truncate(self, resume_step: int) -> None:
        if not self.csv_path.exists():
            return
        with open(self.csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        keep = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= resume_step]
        if resume_step == 0:
            keep = keep[:1]
        tmp = self.csv_path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(keep)
        os.replace(tmp, self.csv_path)

    def write(self, step: int, tokens: float, values: dict[str, float]) -> None:
        """Log ``values`` at ``step`` (TensorBoard's x axis) with the tokens seen so far."""
        if not self.enabled:
            return
        for name, value in values.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            self._csv.writerow((step, int(tokens), name, repr(float(value))))
            self._tb.add_scalar(name, value, step)
        self._file.flush()

    def close(self) -> None:
        if self.enabled:
            self._file.close()
            self._tb.close()
            self.enabled = False


def read_metrics(path: str | Path):
    """The CSV of a run as a pandas DataFrame (step, tokens, name, value)."""
    import pandas as pd

    return pd.read_csv(path)
