"""The cluster path on the real local SLURM (slurm/local-cluster.sh, 2 nodes in CI):
`snakemake --profile slurm` submits every CPU rule as a SLURM job (checked through sacct), the jobs
spread over the nodes and write exactly what a local run writes, and a config change that only
the plan reads reruns only the plan, again as a SLURM job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


# The CPU rules of the foundation and the first data step: the plan, the crawl and the extraction
# of both shards (five jobs, two deep). The whole DAG is ~45 short jobs, and the SLURM plugin
# polls 2 s after a submission, then every 12 s (it adds 10 s while nothing finishes): ~14 s per
# link of a chain, so it belongs in a cluster smoke run, not in CI.
DATA = ("results/data/extract/00000.parquet", "results/data/extract/00001.parquet")
TARGETS = ("results/plan/plan.md", "results/crawl/manifest.json", *DATA)
RULES = {"plan", "crawl", "extract"}


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


def _sacct_rules(since: str, field: str = "State") -> dict[str, list[str]]:
    """Rule name → ``field`` (State, NodeList) of each SLURM job started since ``since`` (the
    rule is in the job's comment)."""
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
            f"--format=JobID,{field},Comment%200",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rules: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        job_id, value, comment = line.split("|", 2)
        if comment.startswith("rule_"):
            rule = comment[len("rule_") :].split("_wildcards_")[0]
            rules.setdefault(rule, []).append(value)
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
    cluster, local = tmp_path / "cluster", tmp_path / "local"
    cluster.mkdir()
    local.mkdir()
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    proc = _snakemake_slurm(cluster)
    assert proc.returncode == 0, _out(proc)
    for name in ("summary.csv", "layouts.csv", "reverse.csv", "plan.md"):
        assert (cluster / "results/plan" / name).stat().st_size > 0
    assert len(list((cluster / "results/crawl").glob("shard-*.warc.gz"))) == 2

    rules = _wait_for_accounting(since, RULES)
    assert set(rules) == RULES, rules
    assert rules["extract"] == ["COMPLETED", "COMPLETED"], rules
    assert all(state == "COMPLETED" for states in rules.values() for state in states), rules
    # The jobs spread over the nodes (the partition places each on its least loaded node).
    nodes = _sacct_rules(since, "NodeList")
    assert len({node for v in nodes.values() for node in v}) > 1, nodes

    # ... and wrote exactly what a local run of the same targets writes.
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2"]
        + ["results/crawl/manifest.json", *DATA],
        cwd=local,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, _out(proc)
    written = sorted(p.relative_to(local) for p in (local / "results").rglob("*") if p.is_file())
    assert len(written) >= 10, written
    for rel in written:
        assert (cluster / rel).read_bytes() == (local / rel).read_bytes(), f"{rel} differs"

    # Change a value only the plan reads: only the plan reruns, as one more SLURM job.
    time.sleep(1)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    before = (cluster / "results/plan/plan.md").read_text()
    crawl_mtime = (cluster / "results/crawl/manifest.json").stat().st_mtime
    proc = _snakemake_slurm(cluster, "--config", "plan={assumed_mfu: 0.45}")
    assert proc.returncode == 0, _out(proc)
    rules = _wait_for_accounting(since, {"plan"})
    assert rules == {"plan": ["COMPLETED"]}, rules
    assert (cluster / "results/plan/plan.md").read_text() != before
    assert "45.0%" in (cluster / "results/plan/plan.md").read_text()
    assert (cluster / "results/crawl/manifest.json").stat().st_mtime == crawl_mtime
