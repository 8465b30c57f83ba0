"""The local one-node SLURM of slurm/local-cluster.sh really schedules: a batch job and a job
with two (fake) GPUs run to COMPLETED as recorded by accounting (sacct), the GPU job sees
CUDA_VISIBLE_DEVICES=0,1, and a second `start` is a no-op."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from conftest import LOCAL_CLUSTER_SCRIPT, describe, run

pytestmark = pytest.mark.slurm

# Jobs here take well under a second; accounting records them a moment after they end.
JOB_TIMEOUT_S = 45
TERMINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}


def _sbatch(*args: str) -> str:
    """Submits a job and returns its id."""
    proc = run(["sbatch", "--parsable", "--account=root", *args], timeout=30, check=True)
    return proc.stdout.strip().split(";")[0]


def _wait_for_sacct(job_ids: list[str]) -> dict[str, dict[str, str]]:
    """Job id -> {State, ExitCode, AllocTRES} from sacct, once every job has a final state."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        sacct = ["sacct", "-X", "-n", "-P", "-o", "JobID,State,ExitCode,AllocTRES"]
        proc = run([*sacct, "-j", ",".join(job_ids)], timeout=30, check=True)
        records = {}
        for line in proc.stdout.splitlines():
            job_id, state, exit_code, alloc_tres = line.split("|")
            records[job_id] = {"State": state, "ExitCode": exit_code, "AllocTRES": alloc_tres}
        if set(records) == set(job_ids) and all(
            r["State"] in TERMINAL_STATES for r in records.values()
        ):
            return records
        assert time.monotonic() < deadline, f"jobs not finished after {JOB_TIMEOUT_S}s:\n" + (
            describe(run(["squeue"], timeout=30)) + "\n" + describe(proc)
        )
        time.sleep(0.5)


def test_batch_and_gpu_jobs_complete(slurm_cluster, tmp_path: Path):
    hostname_out = tmp_path / "hostname.out"
    gpu_out = tmp_path / "gpu.out"
    batch_id = _sbatch("--job-name=skyforge-host", f"--output={hostname_out}", "--wrap=hostname")
    gpu_id = _sbatch(
        "--job-name=skyforge-gpus",
        "--gpus-per-node=2",
        f"--output={gpu_out}",
        "--wrap=echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES",
    )

    records = _wait_for_sacct([batch_id, gpu_id])

    for job_id in (batch_id, gpu_id):
        assert records[job_id]["State"] == "COMPLETED", records
        assert records[job_id]["ExitCode"] == "0:0", records
    assert hostname_out.read_text().strip() == socket.gethostname().split(".")[0]
    assert "gres/gpu=2" in records[gpu_id]["AllocTRES"], records
    assert "gres/gpu" not in records[batch_id]["AllocTRES"], records
    assert gpu_out.read_text().strip() == "CUDA_VISIBLE_DEVICES=0,1"


def test_second_start_is_a_no_op(slurm_cluster):
    status_before = run(["bash", LOCAL_CLUSTER_SCRIPT, "status"], timeout=60, check=True)
    start = run(["bash", LOCAL_CLUSTER_SCRIPT, "start"], timeout=60, check=True)
    status_after = run(["bash", LOCAL_CLUSTER_SCRIPT, "status"], timeout=60, check=True)

    assert "already running" in start.stdout, describe(start)
    # Same daemons, same PIDs: nothing was restarted.
    assert status_after.stdout.splitlines()[:5] == status_before.stdout.splitlines()[:5]
    assert " idle " in status_after.stdout, describe(status_after)
