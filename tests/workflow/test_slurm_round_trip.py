"""The cluster path on a real one-node SLURM: `snakemake --profile slurm` submits every CPU rule
as a SLURM job (checked through sacct), and a config change that only the plan reads reruns only
the plan, again as a SLURM job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


# The CPU rules of the foundation: the plan and the crawl. (The whole DAG is ~45 short jobs; at
# ~14 s of SLURM polling per job in a chain it belongs in a cluster smoke run, not in CI.)
TARGETS = ("results/plan/plan.md", "results/crawl/manifest.json")


def _snakemake_slurm(cwd: Path, *args: str, limit: int = 420) -> subprocess.CompletedProcess:
    # timeout -s KILL: the executor plugin can ignore SIGTERM while it polls SLURM.
    cmd = [
        "timeout",
        "-s",
        "KILL",
        str(limit),
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--profile",
        str(REPO / "slurm"),
        *TARGETS,
        *args,
    ]
    return subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _out(proc: subprocess.CompletedProcess) -> str:
    out, err = proc.stdout[-6000:], proc.stderr[-6000:]
    return f"exit {proc.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"


def _sacct_rules(since: str) -> dict[str, list[str]]:
    """Rule name → states of the SLURM jobs started since ``since`` (from their comments)."""
    proc = subprocess.run(
        [
            "timeout",
            "-s",
            "KILL",
            "60",
            "sacct",
            "-X",
            "-n",
            "-P",
            "-S",
            since,
            "--format=JobID,State,Comment%200",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rules: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        job_id, state, comment = line.split("|", 2)
        if comment.startswith("rule_"):
            rule = comment[len("rule_") :].split("_wildcards_")[0]
            rules.setdefault(rule, []).append(state)
    return rules


def _wait_for_accounting(since: str, expected: set[str], timeout_s: float = 60.0) -> dict:
    """slurmdbd records a finished job a moment after it ends: poll briefly."""
    deadline = time.time() + timeout_s
    rules = _sacct_rules(since)
    while time.time() < deadline:
        if expected <= set(rules) and all(s == "COMPLETED" for r in expected for s in rules[r]):
            break
        time.sleep(2)
        rules = _sacct_rules(since)
    return rules


def test_round_trip_through_slurm(slurm_cluster, tmp_path):
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    proc = _snakemake_slurm(tmp_path)
    assert proc.returncode == 0, _out(proc)
    for name in ("summary.csv", "layouts.csv", "reverse.csv", "plan.md"):
        assert (tmp_path / "results/plan" / name).stat().st_size > 0
    assert len(list((tmp_path / "results/crawl").glob("shard-*.warc.gz"))) == 2

    rules = _wait_for_accounting(since, {"plan", "crawl"})
    assert set(rules) == {"plan", "crawl"}, rules
    assert all(states == ["COMPLETED"] for states in rules.values()), rules

    # Change a value only the plan reads: only the plan reruns, as one more SLURM job.
    time.sleep(1)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    before = (tmp_path / "results/plan/plan.md").read_text()
    crawl_mtime = (tmp_path / "results/crawl/manifest.json").stat().st_mtime
    proc = _snakemake_slurm(tmp_path, "--config", "plan={assumed_mfu: 0.45}")
    assert proc.returncode == 0, _out(proc)
    rules = _wait_for_accounting(since, {"plan"})
    assert rules == {"plan": ["COMPLETED"]}, rules
    assert (tmp_path / "results/plan/plan.md").read_text() != before
    assert "45.0%" in (tmp_path / "results/plan/plan.md").read_text()
    assert (tmp_path / "results/crawl/manifest.json").stat().st_mtime == crawl_mtime
