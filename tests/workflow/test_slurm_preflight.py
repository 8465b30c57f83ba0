"""The pre-flight check as a cluster run does it: `snakemake --profile slurm` with
`launch.executor: slurm` (pre-flight on by default) runs the `preflight` rule, whose job takes the
first stage's layout on 2 nodes × 2 ranks (gloo on CPU) of the real local SLURM; the table
measures all-reduce bus bandwidth within each node and across the two nodes, a few training
steps, and appears in the `snakemake --report` of the run.

On the way, the Snakemake driver is killed (SIGKILL to its process group: Snakemake, the rule's
shell and the dispatcher) while that 2-node job runs; the rerun re-attaches to the job instead of
submitting a second one."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
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
    # Enough measured steps that the job still runs when the driver is killed (~0.3 s each).
    "preflight={steps: 40}",
]
JOB_NAME = "tiny-preflight"  # the model's name (model.name), as the step names the job


def _command(*args: str) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    return cmd + ["--profile", str(REPO / "slurm"), *CONFIG, *args]


def _snakemake(cwd: Path, *args: str, limit: int = 420) -> subprocess.CompletedProcess:
    cmd = ["timeout", "-s", "KILL", str(limit), *_command(*args)]
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ}
    )


def _slurm(*cmd: str) -> str:
    return subprocess.run(
        ["timeout", "-s", "KILL", "30", *cmd], capture_output=True, text=True, check=True
    ).stdout


def _wait(what: str, probe, timeout_s: float, driver: subprocess.Popen):
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        assert driver.poll() is None, f"snakemake ended (exit {driver.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.2)
    return value


def _out(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"


@pytest.mark.skipif(SLURM_NODE_COUNT < 2, reason="needs a local cluster of 2 nodes or more")
def test_preflight_on_two_nodes_is_in_the_report(slurm_cluster: None, tmp_path: Path) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    record = tmp_path / "logs/preflight/job.json"
    with (tmp_path / "driver.log").open("w") as out:
        driver = subprocess.Popen(
            _command("--", TARGET), cwd=tmp_path, stdout=out, stderr=out, start_new_session=True
        )
        try:
            _wait("the job record", record.is_file, 120, driver)
            job_id = str(json.loads(record.read_text(encoding="utf-8"))["job_id"])
            _wait(
                "the 2-node job to run",
                lambda: _slurm("squeue", "-h", "-j", job_id, "-o", "%T").strip() == "RUNNING",
                60,
                driver,
            )
        finally:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(30)
    assert _slurm("squeue", "-h", "-j", job_id, "-o", "%T").strip() == "RUNNING"
    # What a user does after a killed driver: unlock, run again.
    proc = _snakemake(tmp_path, "--unlock", "--", TARGET)
    assert proc.returncode == 0, _out(proc)
    proc = _snakemake(tmp_path, "--", TARGET)
    assert proc.returncode == 0, _out(proc)
    log = (tmp_path / "logs/preflight/preflight.log").read_text(encoding="utf-8")
    assert f"re-attached to job {job_id}" in log, log[-3000:]
    jobs = _slurm("sacct", "-X", "-n", "-P", "-S", since, "--name", JOB_NAME, "-o", "JobID")
    assert jobs.split() == [job_id], jobs
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
    steps = _slurm("sacct", "-n", "-P", "-o", "NodeList", "-j", job_id).split()
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
