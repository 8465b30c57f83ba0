"""The local multi-node SLURM of slurm/local-cluster.sh really schedules: a batch job and a job
with two (fake) GPUs run to COMPLETED as recorded by accounting (sacct); a job step spans the
nodes, each a namespace with its own hostname and two GPUs; a node reaches the controller but
nothing outside the machine; a killed node is detected by slurmctld and comes back; a second
`start` is a no-op."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import LOCAL_CLUSTER_SCRIPT, SLURM_NODE_COUNT, SLURM_NODES, describe, run

pytestmark = pytest.mark.slurm

# Jobs here take well under a second; accounting records them a moment after they end.
JOB_TIMEOUT_S = 45
TERMINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}

needs_two_nodes = pytest.mark.skipif(SLURM_NODE_COUNT < 2, reason="needs SKYFORGE_SLURM_NODES >= 2")


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


def _node_states() -> dict[str, str]:
    """Node name -> sinfo state (idle, mix, down*, ...)."""
    proc = run(["sinfo", "-h", "-N", "-o", "%N %t"], timeout=30, check=True)
    return dict(line.split() for line in proc.stdout.splitlines())


def _status() -> str:
    return run(["bash", LOCAL_CLUSTER_SCRIPT, "status"], timeout=60, check=True).stdout


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
    # Jobs run inside a node, under the node's own hostname.
    assert hostname_out.read_text().strip() in SLURM_NODES
    assert "gres/gpu=2" in records[gpu_id]["AllocTRES"], records
    assert "gres/gpu" not in records[batch_id]["AllocTRES"], records
    assert gpu_out.read_text().strip() == "CUDA_VISIBLE_DEVICES=0,1"


def test_every_node_idle_with_its_address(slurm_cluster):
    assert _node_states() == dict.fromkeys(SLURM_NODES, "idle")
    status = _status()
    for node in SLURM_NODES:
        assert re.search(rf"^slurmd +up .* {node} \d+\.\d+\.\d+\.\d+$", status, re.M), status


@needs_two_nodes
def test_srun_spans_two_nodes(slurm_cluster):
    proc = run(
        ["srun", "--account=root", "-N2", "-n4", "hostname"], timeout=JOB_TIMEOUT_S, check=True
    )
    assert sorted(proc.stdout.split()) == ["node1", "node1", "node2", "node2"], describe(proc)


@needs_two_nodes
def test_two_node_gpu_job_sees_two_gpus_per_node(slurm_cluster, tmp_path: Path):
    out = tmp_path / "gpus.out"
    job_id = _sbatch(
        "--job-name=skyforge-gpus-2n",
        "-N2",
        "--ntasks-per-node=1",
        "--gpus-per-node=2",
        f"--output={out}",
        "--wrap=srun bash -c 'echo $(hostname) $SLURM_PROCID $CUDA_VISIBLE_DEVICES'",
    )

    records = _wait_for_sacct([job_id])

    assert records[job_id]["State"] == "COMPLETED", records
    assert "gres/gpu=4" in records[job_id]["AllocTRES"], records
    assert sorted(out.read_text().splitlines()) == ["node1 0 0,1", "node2 1 0,1"]


def test_node_reaches_controller_but_not_the_outside(slurm_cluster):
    node = SLURM_NODES[-1]
    conf = run(["scontrol", "show", "config"], timeout=30, check=True).stdout
    controller = re.search(r"^SlurmctldHost\[0\]\s*=\s*\S+\((\S+)\)", conf, re.M)
    assert controller, conf
    probe = (
        "import socket, sys\n"
        "def connect(addr, port):\n"
        "    try:\n"
        "        socket.create_connection((addr, port), timeout=5).close()\n"
        "        return 'connected'\n"
        "    except OSError as e:\n"
        "        return type(e).__name__ + ':' + str(e.errno)\n"
        "print(connect(sys.argv[1], 6817), connect('1.1.1.1', 53))\n"
    )
    proc = run(
        ["nsenter", f"--net=/run/netns/{node}", "python3", "-c", probe, controller.group(1)],
        timeout=30,
        check=True,
    )
    to_controller, to_outside = proc.stdout.split()
    assert to_controller == "connected", describe(proc)
    assert to_outside == "OSError:101", describe(proc)  # ENETUNREACH: no default route


@needs_two_nodes
def test_fail_node_then_start_node(slurm_cluster):
    node = SLURM_NODES[1]
    t0 = time.monotonic()
    fail = run(["bash", LOCAL_CLUSTER_SCRIPT, "fail-node", node], timeout=60, check=True)
    failed_s = time.monotonic() - t0
    # Detected by slurmctld itself (SlurmdTimeout), not by an `scontrol update`.
    assert _node_states()[node].startswith("down"), describe(fail)
    status = run(["bash", LOCAL_CLUSTER_SCRIPT, "status"], timeout=60)
    assert status.returncode == 1 and re.search(rf"^slurmd +down +{node} ", status.stdout, re.M)

    t1 = time.monotonic()
    start = run(["bash", LOCAL_CLUSTER_SCRIPT, "start-node", node], timeout=60, check=True)
    restarted_s = time.monotonic() - t1

    assert _node_states() == dict.fromkeys(SLURM_NODES, "idle"), describe(start)
    assert failed_s < 40 and restarted_s < 5, (failed_s, restarted_s)
    print(f"{node}: DOWN {failed_s:.1f} s after the kill, idle {restarted_s:.1f} s after restart")


def test_second_start_is_a_no_op(slurm_cluster):
    status_before = _status()
    start = run(
        ["bash", LOCAL_CLUSTER_SCRIPT, "start", "--nodes", str(SLURM_NODE_COUNT)],
        timeout=60,
        check=True,
    )
    status_after = _status()

    assert "already running" in start.stdout, describe(start)
    # Same daemons, same PIDs: nothing was restarted.
    daemon_lines = [line for line in status_before.splitlines() if " (pid " in line]
    assert len(daemon_lines) == 4 + SLURM_NODE_COUNT, status_before
    assert [line for line in status_after.splitlines() if " (pid " in line] == daemon_lines
    assert " idle " in status_after, status_after
