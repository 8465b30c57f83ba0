"""The pre-flight check as a cluster run does it: `snakemake --profile slurm` with
`launch.executor: slurm` (pre-flight on by default) runs the `preflight` rule, whose job takes the
first stage's layout on 2 nodes × 2 ranks (gloo on CPU) of the real local SLURM; the table
measures all-reduce bus bandwidth within each node and across the two nodes, a few training
steps, and appears in the `snakemake --report` of the run."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import SLURM_NODE_COUNT

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

TARGET = "results/preflight/preflight.csv"
CONFIG = [
    "--config",
    "launch={executor: slurm, slurm_partition: cpu, slurm_account: root, mem_gb: 2, "
    "timeout_min: 30, poll_interval_s: 1}",
    "cluster={nodes: 2, gpus_per_node: 2}",
    "parallel={data: 4}",
]


def _snakemake(cwd: Path, *args: str, limit: int = 420) -> subprocess.CompletedProcess:
    cmd = ["timeout", "-s", "KILL", str(limit), sys.executable, "-m", "snakemake"]
    cmd += ["-s", str(REPO / "Snakefile"), "--profile", str(REPO / "slurm"), *CONFIG, *args]
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ}
    )


def _out(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"


@pytest.mark.skipif(SLURM_NODE_COUNT < 2, reason="needs a local cluster of 2 nodes or more")
def test_preflight_on_two_nodes_is_in_the_report(slurm_cluster: None, tmp_path: Path) -> None:
    proc = _snakemake(tmp_path, "--", TARGET)
    assert proc.returncode == 0, _out(proc)
    table = pd.read_csv(tmp_path / TARGET)
    bw = table[table.check == "all-reduce busbw"].set_index("scope")
    # Both scopes measured on the job's own 2 × 2 ranks, above their floors.
    assert bw.loc["within node", "ranks"] == 2 and bw.loc["across nodes", "ranks"] == 4
    assert (bw["measured"] > 0).all() and (bw["status"] == "ok").all(), bw
    tps = table[table.check == "training throughput"].iloc[0]
    assert tps.measured > 0 and tps.unit == "tokens/s per GPU"
    markdown = (tmp_path / "results/preflight/preflight.md").read_text(encoding="utf-8")
    assert "All checks passed." in markdown
    # The job ran on both nodes (its srun step in sacct).
    log = (tmp_path / "logs/preflight/preflight.log").read_text(encoding="utf-8")
    job_id = re.search(r"submitted job (\d+) \(slurm, 2 node\(s\) × 2 task\(s\)", log)
    assert job_id, log[-3000:]
    steps = subprocess.run(
        ["timeout", "-s", "KILL", "30", "sacct", "-n", "-P", "-o", "NodeList", "-j", job_id[1]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "node[1-2]" in steps, steps

    report = tmp_path / "report.html"
    proc = _snakemake(tmp_path, "--report", str(report), "--", TARGET)
    assert proc.returncode == 0, _out(proc)
    html = report.read_text(encoding="utf-8")
    assert "preflight.csv" in html and "5. Pretraining" in html
    # The table itself is embedded (as a data URI), not only named.
    embedded = [
        base64.b64decode(blob).decode("utf-8", errors="replace")
        for blob in re.findall(r"data:text/csv[^,]*;base64,([A-Za-z0-9+/=]+)", html)
    ]
    assert any("all-reduce busbw,across nodes" in text for text in embedded), len(embedded)
