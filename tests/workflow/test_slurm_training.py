"""A real training job on the real local SLURM cluster: preempted, requeued, resumed, exact.

`dispatch` submits the tiny stage-1 session of :mod:`skyforge.synthetic.fixtures` (24 steps,
two gloo ranks, on two nodes of the local cluster when it has them) as one submitit job. Once
its first checkpoint exists the test sends USR2 to every task, as SLURM does before a time
limit or a preemption. The training saves a checkpoint at the end of the step, submitit
requeues the job under the same id, and the second run resumes from that checkpoint. The loss
curve must then be the one of an uninterrupted run of the same spec on the same data-parallel
size (the local executor): the resume path is exact, not merely close.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import SLURM_NODE_COUNT

from skyforge.launch.dispatch import LaunchConfig, dispatch, read_job_record
from skyforge.synthetic.fixtures import make_workspace, tiny_configs
from skyforge.train.metrics import read_metrics
from skyforge.train.spec import TrainingOptions, build_stage_spec

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

T = TypeVar("T")

STAGE = "stage1_0"
NUM_STEPS = 24  # tiny_configs(): stage-1 session 0 is 24 steps of 8 samples × 32 tokens
NUM_TASKS = 2  # data-parallel size 2 in both runs, so their losses compare bitwise
# On a cluster of several nodes the two ranks go to two nodes (one each): the signal, the stop
# checkpoint and the requeue then cross nodes, as a preemption of a multi-node job does.
NUM_NODES = min(2, SLURM_NODE_COUNT)

# Partition and account of slurm/local-cluster.sh and slurm/config.yaml. The limit is far above
# the job's ~20 s per run, and submitit takes a USR2 for a preemption (not a timeout, which
# uses up one of max_num_timeout requeues) only before min(0.8 × limit, limit − 10 min): 20 min.
SLURM = LaunchConfig.with_defaults(
    executor="slurm",
    slurm_partition="cpu",
    slurm_account="root",
    timeout_min=30,
    signal_delay_s=60,
    mem_gb=4,
    poll_interval_s=1,
)
LOCAL = LaunchConfig.with_defaults(executor="local", timeout_min=10, poll_interval_s=0.5)

# Limits of the waits; each is several times what it takes on two busy cores.
RECORD_TIMEOUT_S = 60  # dispatch submits and writes the job record
CHECKPOINT_TIMEOUT_S = 180  # queueing, start-up (imports, data indices), four steps, a save
REQUEUE_TIMEOUT_S = 120  # the stop checkpoint, submitit's requeue, SLURM ending the first run
FINISH_TIMEOUT_S = 240  # the second run, and dispatch noticing its end
ACCOUNTING_TIMEOUT_S = 60  # slurmdbd records a finished run a moment after it ends
SLURM_COMMAND_TIMEOUT_S = 30

STOPPED_RE = re.compile(rf"{STAGE}: stopped at step (\d+) after a checkpoint")
RESUMED_RE = re.compile(rf"{STAGE}: resumed from (\S+) \(step (\d+)\)")


# --- helpers ---------------------------------------------------------------------------------


class _Dispatch(threading.Thread):
    """:func:`dispatch` in a background thread, which blocks until the job has ended."""

    def __init__(self, **kwargs: Any) -> None:
        # daemon: a dispatcher still waiting when the test fails must not keep pytest alive.
        super().__init__(daemon=True, name=f"dispatch-{kwargs['job_name']}")
        self.kwargs = kwargs
        self.manifest: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.manifest = dispatch(**self.kwargs)
        except BaseException as error:  # handed to the test thread by result()
            self.error = error

    def assert_waiting(self, what: str) -> None:
        """Fails the test at once, with dispatch's error, when dispatch ended before ``what``."""
        if not self.is_alive():
            if self.error is not None:
                raise AssertionError(f"{self.name} ended before {what}") from self.error
            raise AssertionError(f"{self.name} returned before {what}: {self.manifest}")

    def result(self, timeout_s: float) -> dict[str, Any]:
        """Rank 0's manifest; fails the test when dispatch raised or is still waiting."""
        self.join(timeout_s)
        assert not self.is_alive(), f"{self.name}: still waiting for its job after {timeout_s} s"
        if self.error is not None:
            raise self.error
        assert self.manifest is not None
        return self.manifest


def _slurm(*cmd: str) -> str:
    """Runs a SLURM client command under `timeout -s KILL`; fails the test if it fails."""
    proc = subprocess.run(
        ["timeout", "-s", "KILL", str(SLURM_COMMAND_TIMEOUT_S), *cmd],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"$ {' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr}"
    return proc.stdout


def _job_fields(job_id: str) -> dict[str, str]:
    """`scontrol show job` as a mapping (JobState, Restarts, Reason, ...)."""
    words = _slurm("scontrol", "show", "job", "-o", job_id).split()
    return dict(word.partition("=")[::2] for word in words if "=" in word)


def _wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout_s: float,
    *,
    step_s: float = 0.1,
    job: _Dispatch | None = None,
) -> T:
    """Polls ``probe`` until it returns something truthy; fails the test after ``timeout_s``, or
    as soon as ``job``'s dispatcher has ended (a failed job never gets there)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if job is not None:
            job.assert_waiting(what)
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(step_s)


def _write_spec(root: Path, name: str, tokenizer: Path) -> dict[str, Path]:
    """The stage-1 spec of the workspace with its own checkpoint directory, and where its
    dispatch puts things. Call it with ``root`` as the working directory (see make_workspace).
    """
    base = root / name
    model, parallel, train = tiny_configs()
    options = TrainingOptions(
        # Several checkpoints in 24 steps; validation at every step makes the steps slow enough
        # (~0.15 s instead of ~0.05 s on two cores) that the signal reliably lands mid-run.
        save_interval_steps=4,
        eval_interval_steps=1,
        checkpoint_dir=str(base / "checkpoints"),
    )
    spec = build_stage_spec(
        STAGE,
        model=model,
        parallel=parallel,
        train=train,
        options=options,
        accelerator="cpu",
        decay=None,
        blend=root / "results" / "blends" / "stage1.json",
        tokenizer=tokenizer,
        manifest=base / f"{STAGE}.manifest.json",
        init_manifest=None,
    )
    assert spec.train_steps == NUM_STEPS
    paths = {
        "spec": base / f"{STAGE}.spec.json",
        "manifest": Path(spec.manifest),
        "run_dir": Path(spec.run_dir),
        "record": base / f"{STAGE}.job.json",
        "folder": base / "submitit",
    }
    base.mkdir(parents=True)
    paths["spec"].write_text(spec.to_json(), encoding="utf-8")
    return paths


def _dispatch_thread(
    paths: dict[str, Path], launch: LaunchConfig, job_name: str, nodes: int = 1
) -> _Dispatch:
    return _Dispatch(
        spec_path=paths["spec"],
        launch=launch,
        nodes=nodes,
        gpus_per_node=0,
        tasks_per_node=NUM_TASKS // nodes,
        folder=paths["folder"],
        job_record=paths["record"],
        job_name=job_name,
    )


def _train_losses(run_dir: Path) -> dict[int, float]:
    """Step → train/loss of a run's metrics.csv; fails on a step logged twice."""
    df = read_metrics(run_dir / "metrics.csv")
    rows = df[df["name"] == "train/loss"]
    steps = rows["step"].tolist()
    assert len(steps) == len(set(steps)), f"train/loss logged twice for a step: {sorted(steps)}"
    return dict(zip(steps, rows["value"].astype(float), strict=True))


def _sacct_states(job_id: str) -> list[str]:
    """States of every run of the job, oldest first (-D: a requeued run is a row of its own)."""
    out = _slurm("sacct", "-X", "-D", "-n", "-P", "-o", "State", "-j", job_id)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


# --- the test --------------------------------------------------------------------------------


def test_preempted_training_job_is_requeued_and_resumes_exactly(
    slurm_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = make_workspace(tmp_path)
    # The specs record the working directory: the blends' relative pack paths start there.
    monkeypatch.chdir(tmp_path)
    preempted = _write_spec(tmp_path, "slurm", workspace["tokenizer"])
    reference = _write_spec(tmp_path, "local", workspace["tokenizer"])

    job = _dispatch_thread(preempted, SLURM, job_name=f"skyforge-test-{STAGE}", nodes=NUM_NODES)
    job_id: str | None = None
    job.start()
    try:
        record_path = preempted["record"]
        job_id = _wait_for(
            "dispatch to submit and write the job record",
            lambda: record_path.is_file() and read_job_record(record_path)["job_id"],
            RECORD_TIMEOUT_S,
            job=job,
        )
        latest = preempted["run_dir"] / "checkpoints" / "latest"
        _wait_for(
            "the first checkpoint", latest.is_file, CHECKPOINT_TIMEOUT_S, step_s=0.05, job=job
        )
        fields = _job_fields(job_id)
        assert fields["JobState"] == "RUNNING", fields
        assert fields["NumTasks"] == str(NUM_TASKS), fields
        assert fields["NumNodes"] == str(NUM_NODES), fields
        # What SLURM sends every task of the steps before a time limit or a preemption (and
        # what submitit's job._interrupt() sends): not to the batch shell, which USR2 kills.
        _slurm("scancel", "--signal=USR2", job_id)

        # submitit requeues the job; SLURM holds a requeued job ~120 s (BeginTime): release it.
        _wait_for(
            "the job to be requeued and pending",
            lambda: (f := _job_fields(job_id))["JobState"] == "PENDING" and f["Restarts"] != "0",
            REQUEUE_TIMEOUT_S,
            step_s=0.5,
            job=job,
        )
        _slurm("scontrol", "update", f"JobId={job_id}", "StartTime=now")
        manifest = job.result(FINISH_TIMEOUT_S)
    finally:
        if job.is_alive() and job_id is not None:
            subprocess.run(["timeout", "-s", "KILL", "30", "scancel", job_id], check=False)
            job.join(60)

    # The stage completed, under the job id it was first submitted with.
    assert manifest["iteration"] == NUM_STEPS
    assert manifest["checkpoint"].endswith(f"iter_{NUM_STEPS:07d}")
    assert preempted["manifest"].is_file()
    record = read_job_record(preempted["record"])
    assert record["job_id"] == job_id
    assert record["state"] == "COMPLETED"
    assert record["previous_jobs"] == [], "resubmitted instead of requeued"
    assert _job_fields(job_id)["Restarts"] == "1"
    states = _wait_for(
        "sacct to record both runs of the job",
        lambda: (s := _sacct_states(job_id))[-1:] == ["COMPLETED"] and s,
        ACCOUNTING_TIMEOUT_S,
        step_s=1.0,
    )
    assert states == ["REQUEUED", "COMPLETED"], states

    # The signal reached both tasks; the first run stopped after a checkpoint at step N and
    # the second resumed from it. The logs are appended to across the runs (submitit's sbatch).
    logs = [
        (preempted["folder"] / f"{job_id}_{rank}_log.err").read_text(encoding="utf-8")
        for rank in range(NUM_TASKS)
    ]
    for rank, text in enumerate(logs):
        assert "Caught signal SIGUSR2" in text, f"task {rank} never got USR2:\n{text[-3000:]}"
    assert "this job is preempted" in logs[0], logs[0][-3000:]
    stopped = [int(s) for s in STOPPED_RE.findall(logs[0])]
    resumed = [(path, int(step)) for path, step in RESUMED_RE.findall(logs[0])]
    assert len(stopped) == 1 and len(resumed) == 1, logs[0][-3000:]
    resumed_path, resumed_step = resumed[0]
    assert resumed_step == stopped[0]
    assert 4 <= resumed_step < NUM_STEPS
    assert resumed_path.endswith(f"iter_{resumed_step:07d}")

    # One train/loss row per step, none lost or repeated across the requeue ...
    losses = _train_losses(preempted["run_dir"])
    assert sorted(losses) == list(range(1, NUM_STEPS + 1))

    # ... and the very curve of an uninterrupted run of the same spec on two ranks.
    local = _dispatch_thread(reference, LOCAL, job_name=f"skyforge-test-{STAGE}-reference")
    local.start()
    expected_manifest = local.result(FINISH_TIMEOUT_S)
    expected = _train_losses(reference["run_dir"])
    assert sorted(expected) == sorted(losses)
    max_diff = max(abs(losses[s] - expected[s]) for s in expected)
    assert max_diff < 1e-6, f"train/loss differs by up to {max_diff} after the resume"
    assert manifest["final_metrics"] == pytest.approx(expected_manifest["final_metrics"], abs=1e-6)
