"""The training job across nodes of the real local SLURM cluster (slurm/local-cluster.sh with 2
nodes): `dispatch` submits the tiny stage-1 session as one submitit job of 2 nodes × 2 gloo ranks,
each node a namespace of its own with its own hostname and address. The ranks meet at the
allocation's first node on a port derived from the job id, never at localhost, and the loss and
validation curves must equal the same layout run on one node (the local executor, 4 ranks).

Layouts: PP 2 × DP 2 (the two pipeline stages on different nodes: ranks 0, 1 on node1 hold the
first stage, 2, 3 on node2 the last) and DP 4.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import LOCAL_CLUSTER_SCRIPT, SLURM_NODE_COUNT

from skyforge.launch.dispatch import LaunchConfig, dispatch, read_job_record
from skyforge.launch.task import rendezvous
from skyforge.synthetic.fixtures import make_workspace, tiny_configs
from skyforge.train.metrics import read_metrics
from skyforge.train.spec import TrainingOptions, build_stage_spec

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

STAGE = "stage1_0"
NUM_STEPS = 24
NODES, TASKS_PER_NODE = 2, 2
# Curves of the two runs of one layout: the same ranks do the same arithmetic in the same order
# whether they share a node or not (gloo's all-reduce order depends on the world, not the hosts),
# so they agree to float32 rounding. Measured: 0.0 for both layouts.
TOLERANCE = 1e-6

SLURM = LaunchConfig.with_defaults(
    executor="slurm",
    slurm_partition="cpu",
    slurm_account="root",
    timeout_min=30,
    signal_delay_s=60,
    mem_gb=2,
    poll_interval_s=1,
)
LOCAL = LaunchConfig.with_defaults(executor="local", timeout_min=10, poll_interval_s=0.5)
JOB_TIMEOUT_S = 420
RANK_RE = re.compile(r"rank (\d+) of (\d+) \(local rank \d+ of \d+\), master (\S+):(\d+)")


def _spec(
    root: Path,
    name: str,
    tokenizer: Path,
    pipeline: int,
    data: int,
    eval_interval: int = 4,
    save: int = 8,
) -> Path:
    base = root / name
    model, parallel, train = tiny_configs(data=data)
    parallel = type(parallel).with_defaults(
        tensor=1, pipeline=pipeline, data=data, micro_batch_size=parallel.micro_batch_size
    )
    spec = build_stage_spec(
        STAGE,
        model=model,
        parallel=parallel,
        train=train,
        options=TrainingOptions(
            save_interval_steps=save,
            eval_interval_steps=eval_interval,
            checkpoint_dir=str(base / "checkpoints"),
        ),
        accelerator="cpu",
        decay=None,
        blend=root / "results" / "blends" / "stage1.json",
        tokenizer=tokenizer,
        manifest=base / f"{STAGE}.manifest.json",
        init_manifest=None,
    )
    assert spec.train_steps == NUM_STEPS
    base.mkdir(parents=True)
    path = base / f"{STAGE}.spec.json"
    path.write_text(spec.to_json(), encoding="utf-8")
    return path


def _run(spec: Path, launch: LaunchConfig, nodes: int, tasks_per_node: int, name: str) -> dict:
    return dispatch(
        spec_path=spec,
        launch=launch,
        nodes=nodes,
        gpus_per_node=0,
        tasks_per_node=tasks_per_node,
        folder=spec.parent / "submitit",
        job_record=spec.parent / "job.json",
        job_name=name,
    )


def _curves(run_dir: Path) -> dict[str, dict[int, float]]:
    df = read_metrics(run_dir / "metrics.csv")
    curves: dict[str, dict[int, float]] = {}
    names = ["train/loss", *sorted(n for n in set(df["name"]) if n.startswith("val/"))]
    assert len(names) > 1, f"no validation curve in {run_dir}/metrics.csv"
    for name in names:
        rows = df[df["name"] == name]
        steps = rows["step"].tolist()
        assert len(steps) == len(set(steps)), f"{name} logged twice for a step: {sorted(steps)}"
        curves[name] = dict(zip(steps, rows["value"].astype(float), strict=True))
    return curves


def _allocated_nodes(job_id: str) -> list[str]:
    out = subprocess.run(
        ["timeout", "-s", "KILL", "30", "sacct", "-X", "-n", "-P", "-o", "NodeList", "-j", job_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expanded = subprocess.run(
        ["timeout", "-s", "KILL", "30", "scontrol", "show", "hostnames", out[-1]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return expanded


@pytest.mark.skipif(SLURM_NODE_COUNT < NODES, reason="needs a local cluster of 2 nodes or more")
@pytest.mark.parametrize(("pipeline", "data"), [(2, 2), (1, 4)], ids=["pp2xdp2", "dp4"])
def test_training_across_nodes_matches_one_node(
    slurm_cluster: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pipeline: int,
    data: int,
) -> None:
    workspace = make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)  # the specs' relative pack paths start at the working directory
    # An inherited rendezvous must not leak into the job: the allocation decides.
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", "29500")
    multi = _spec(tmp_path, "slurm", workspace["tokenizer"], pipeline, data)
    single = _spec(tmp_path, "local", workspace["tokenizer"], pipeline, data)

    manifest = _run(multi, SLURM, NODES, TASKS_PER_NODE, f"skyforge-test-pp{pipeline}dp{data}")
    record = read_job_record(multi.parent / "job.json")
    job_id = record["job_id"]
    assert record["state"] == "COMPLETED" and record["num_tasks"] == 4, record
    assert manifest["iteration"] == NUM_STEPS

    # Two nodes, two ranks each, all meeting at node1 on the port derived from the job id.
    nodes = _allocated_nodes(job_id)
    assert len(nodes) == NODES, nodes
    expected_addr, expected_port = rendezvous(nodes, job_id)
    assert expected_addr == nodes[0] != "localhost"
    for rank in range(NODES * TASKS_PER_NODE):
        log = (multi.parent / "submitit" / f"{job_id}_{rank}_log.err").read_text(encoding="utf-8")
        found = RANK_RE.search(log)
        assert found, f"task {rank} logged no rendezvous line:\n{log[-2000:]}"
        assert (int(found[1]), int(found[2])) == (rank, 4)
        assert (found[3], int(found[4])) == (expected_addr, expected_port), found[0]
    # The job's srun step (submitit's, one task per rank) ran on both nodes.
    steps = subprocess.run(
        ["timeout", "-s", "KILL", "30", "sacct", "-n", "-P", "-o", "JobID,NodeList", "-j", job_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert any(line.endswith("node[1-2]") for line in steps.splitlines()), steps

    # Checkpoints on the path all nodes share; the final one is the manifest's.
    ckpt = Path(manifest["checkpoint"])
    ckpt = ckpt if ckpt.is_absolute() else tmp_path / ckpt
    assert ckpt.is_dir() and ckpt.name == f"iter_{NUM_STEPS:07d}", ckpt

    reference = _run(single, LOCAL, 1, 4, f"skyforge-test-pp{pipeline}dp{data}-one-node")
    got, want = (
        _curves(tmp_path / "slurm" / "checkpoints" / STAGE),
        _curves(tmp_path / "local" / "checkpoints" / STAGE),
    )
    for name in want:
        assert sorted(got[name]) == sorted(want[name]), name
        diff = max(abs(got[name][s] - want[name][s]) for s in want[name])
        assert diff <= TOLERANCE, f"{name} differs by up to {diff} between 2 nodes and 1"
    assert manifest["final_metrics"] == pytest.approx(reference["final_metrics"], abs=TOLERANCE)


# --- a node dies under the running job -------------------------------------------------------


def _slurm_out(*cmd: str) -> str:
    proc = subprocess.run(
        ["timeout", "-s", "KILL", "60", *cmd], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"$ {' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr}"
    return proc.stdout


def _wait(what: str, probe, timeout_s: float, job=None, step_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        if job is not None and not job.is_alive():
            raise AssertionError(f"dispatch ended before {what}: {job.error or job.manifest}")
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(step_s)
    return value


class _Dispatch(threading.Thread):
    def __init__(self, spec: Path) -> None:
        super().__init__(daemon=True, name="dispatch-node-failure")
        self.spec, self.manifest, self.error = spec, None, None

    def run(self) -> None:
        try:
            self.manifest = _run(self.spec, SLURM, NODES, TASKS_PER_NODE, "skyforge-test-nodefail")
        except BaseException as error:  # handed to the test thread
            self.error = error


@pytest.mark.skipif(SLURM_NODE_COUNT < NODES, reason="needs a local cluster of 2 nodes or more")
def test_node_failure_requeues_and_resumes_exactly(
    slurm_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """node2's slurmd and the job's tasks on it are killed mid-run: SLURM marks the node down,
    ends the run NODE_FAIL and requeues the job under the same id (JobRequeue=1); the rerun,
    once node2 is back, resumes from the last checkpoint and the curve equals an uninterrupted
    run of the same spec."""
    workspace = make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    # Validation at every step slows the steps enough that the kill lands mid-run.
    spec = _spec(tmp_path, "slurm", workspace["tokenizer"], 2, 2, eval_interval=1, save=4)
    reference = _spec(tmp_path, "local", workspace["tokenizer"], 2, 2, eval_interval=1, save=4)
    job = _Dispatch(spec)
    job.start()
    record = spec.parent / "job.json"
    try:
        job_id = _wait("the job record", lambda: record.is_file(), 60, job) and str(
            read_job_record(record)["job_id"]
        )
        latest = spec.parent / "checkpoints" / STAGE / "checkpoints" / "latest"
        _wait("the first checkpoint", latest.is_file, 240, job, step_s=0.05)
        _slurm_out("bash", str(LOCAL_CLUSTER_SCRIPT), "fail-node", "node2")
        _wait(
            "SLURM to requeue the job",
            lambda: "Restarts=1" in _slurm_out("scontrol", "show", "job", "-o", job_id),
            120,
            job,
            step_s=0.5,
        )
        _slurm_out("bash", str(LOCAL_CLUSTER_SCRIPT), "start-node", "node2")
        job.join(JOB_TIMEOUT_S)
        assert not job.is_alive(), f"still waiting for job {job_id} after the requeue"
    finally:
        subprocess.run(["bash", str(LOCAL_CLUSTER_SCRIPT), "start-node", "node2"], check=False)
        if job.is_alive():
            subprocess.run(["timeout", "-s", "KILL", "30", "scancel", job_id], check=False)
            job.join(60)
    if job.error is not None:
        raise job.error
    manifest = job.manifest
    assert manifest["iteration"] == NUM_STEPS
    final = read_job_record(record)
    assert final["job_id"] == job_id and final["previous_jobs"] == [], final
    states = _wait(
        "sacct to record both runs",
        lambda: (
            (s := _slurm_out("sacct", "-X", "-D", "-n", "-P", "-o", "State", "-j", job_id).split())[
                -1:
            ]
            == ["COMPLETED"]
            and s
        ),
        60,
        step_s=1.0,
    )
    assert states == ["NODE_FAIL", "COMPLETED"], states
    log0 = (spec.parent / "submitit" / f"{job_id}_0_log.err").read_text(encoding="utf-8")
    assert re.search(rf"{STAGE}: resumed from \S+ \(step \d+\)", log0), log0[-3000:]

    expected = _run(reference, LOCAL, 1, 4, "skyforge-test-nodefail-reference")
    got = _curves(tmp_path / "slurm" / "checkpoints" / STAGE)["train/loss"]
    want = _curves(tmp_path / "local" / "checkpoints" / STAGE)["train/loss"]
    assert sorted(got) == sorted(want) == list(range(1, NUM_STEPS + 1))
    diff = max(abs(got[s] - want[s]) for s in want)
    assert diff <= TOLERANCE, f"train/loss differs by up to {diff} after the node failure"
    assert manifest["final_metrics"] == pytest.approx(expected["final_metrics"], abs=TOLERANCE)
