"""Submit one multi-process training job with submitit, re-attach to it after a restart, wait.

A GPU rule is a Snakemake ``localrule`` whose process calls :func:`dispatch`
(docs/ARCHITECTURE.md, decisions 3 and 4). Submitit writes the sbatch script itself (nodes,
tasks per node = GPUs per node, GPUs per node) and starts one task per GPU with ``srun``, no
torchrun; each task runs :class:`TrainingJob`, which exports the torch.distributed variables and
calls the entry point named by a string (``skyforge.train.loop:train_stage``) on every rank.

A 512-GPU job must never be submitted twice, yet Snakemake may be restarted while it runs for
days: :func:`dispatch` writes a JSON job record beside the rule's output right after submitting,
and on the next call re-attaches to a pending or running job, reuses a completed one's result
(always, or only when its spec and the content digests of its inputs are unchanged), or submits
anew (resuming from the last checkpoint) when it failed or vanished. A timeout or
preemption is submitit's business: :class:`TrainingJob` is ``Checkpointable`` and is requeued.
Executors: ``slurm``, ``local`` (subprocesses, one node) and ``debug`` (in process); states are
recorded under SLURM's names.

The task callable lives in :mod:`skyforge.launch.task`, ``launch_config`` and the executors in
:mod:`skyforge.launch.executors`, job state and records in :mod:`skyforge.launch.records`.

See docs/dispatch.md.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import submitit
from submitit.core import utils as submitit_utils

from skyforge.config import LaunchConfig
from skyforge.core.io import workdir_relative
from skyforge.launch.executors import executor_for, launch_config
from skyforge.launch.partition import blocked_reason, check_partition, partition_nodes
from skyforge.launch.records import (
    all_results_exist,
    all_tasks_succeeded,
    first_failed_task,
    job_state,
    read_job_record,
    rebuild_job,
    spec_digest,
    utc_now,
    write_record,
)
from skyforge.launch.task import DEFAULT_ENTRY, TrainingJob

__all__ = [
    "DEFAULT_ENTRY",
    "ACTIVE_STATES",
    "TrainingJob",
    "LaunchConfig",
    "launch_config",
    "executor_for",
    "dispatch",
    "job_state",
    "read_job_record",
]

log = logging.getLogger(__name__)

# States in which a job may still produce its result: wait for it, never submit a second one.
# PREEMPTED counts as active (as in submitit) because a Checkpointable job is requeued from it;
# REQUEUE_HOLD and SUSPENDED wait for an operator, and the heartbeat lines make that visible.
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESIZING",
        "SUSPENDED",
        "STOPPED",
        "SIGNALING",
        "STAGE_OUT",
        "PREEMPTED",
    }
)
# One progress line per state change, and this often while nothing changes, so that a
# multi-day wait in the Snakemake log still shows the dispatcher is alive.
HEARTBEAT_S = 300.0
# A SLURM job that neither sacct nor squeue knows for this long (accounting off and the job
# aged out of squeue) is taken as gone instead of waited for forever.
UNKNOWN_GRACE_S = 600.0
# A job can be COMPLETED before its result pickles are visible on a network filesystem.
RESULT_GRACE_S = 30.0
LOG_TAIL_LINES = 20


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------


def dispatch(
    spec_path: str | os.PathLike[str],
    launch: LaunchConfig,
    *,
    nodes: int,
    gpus_per_node: int,
    folder: str | os.PathLike[str],
    job_record: str | os.PathLike[str],
    job_name: str,
    tasks_per_node: int | None = None,
    entry: str = DEFAULT_ENTRY,
    reuse_completed: bool = True,
    inputs: Mapping[str, str] | None = None,
    reuse: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Run one training job to its end and return rank 0's result (the manifest).

    Re-attaches to the job named in ``job_record`` when that job is still alive or already
    finished (the cases: docs/dispatch.md); otherwise submits a new one and writes the record
    before waiting.

    Args:
        spec_path: the training spec file; the entry point gets it on every rank.
        launch: the launch config.
        nodes: number of nodes.
        gpus_per_node: GPUs per node; 0 for a CPU run.
        folder: submitit's folder for pickles, sbatch scripts and task logs.
        job_record: the JSON job record beside the rule's output.
        job_name: the SLURM job name.
        tasks_per_node: processes per node; defaults to ``gpus_per_node`` (one per GPU), or 1
            without GPUs. Set it for CPU runs with several gloo ranks.
        entry: the ``"module:function"`` every rank calls with ``spec_path``.
        reuse_completed: False submits anew when the recorded job already COMPLETED (the rule
            runs again because its output is gone or stale, so the old result is not wanted;
            running jobs are still re-attached), unless ``inputs`` says that nothing changed.
        inputs: content digests of the job's inputs (name → SHA-256), recorded with the job.
            A recorded job that COMPLETED with the same spec file and exactly these digests is
            reused even with ``reuse_completed=False``: nothing is submitted.
        reuse: called with such a job's result and record before it is reused; False submits
            anew (e.g. the rule's output cannot be restored, or a checkpoint is gone).

    Returns:
        The value the entry point returned on global rank 0.

    Raises:
        ValueError: for a bad layout or an unreadable job record (naming it).
        RuntimeError: when the job fails (naming the job id, its state and the failing task's
            log, followed by that log's last lines), or when the recorded job still runs for
            a spec file that has changed since.
    """
    if tasks_per_node is None:
        tasks_per_node = gpus_per_node or 1
    if gpus_per_node and tasks_per_node != gpus_per_node:
        raise ValueError(
            f"job {job_name!r}: {tasks_per_node} tasks per node for {gpus_per_node} GPUs per "
            "node; training runs exactly one task per GPU"
        )
    spec_path = str(spec_path)
    job_record = Path(job_record)
    digest = spec_digest(spec_path)

    previous: list[dict[str, Any]] = []
    if job_record.exists():
        record = read_job_record(job_record)
        outcome = _resume_recorded(
            record, digest, job_record, launch, reuse_completed, inputs=inputs, reuse=reuse
        )
        if outcome is not None:
            return outcome
        previous = [
            *record.get("previous_jobs", []),
            {k: record.get(k) for k in ("job_id", "executor", "submitted_at", "state")},
        ]

    if launch.executor == "slurm":
        # Before submitting: a job the partition can never run would pend forever.
        partition, members = partition_nodes(launch.slurm_partition)
        check_partition(
            partition, members, num_nodes=nodes, gpus_per_node=gpus_per_node, job_name=job_name
        )
    executor = executor_for(
        launch,
        nodes=nodes,
        tasks_per_node=tasks_per_node,
        gpus_per_node=gpus_per_node,
        folder=folder,
        job_name=job_name,
    )
    job = executor.submit(TrainingJob(spec_path, entry))
    record = {
        "job_id": job.job_id,
        "executor": launch.executor,
        # Relative to the working directory (when inside it): a moved run directory still
        # finds its job's folder and spec.
        "folder": workdir_relative(executor.folder),
        "submitted_at": utc_now(),
        "spec_path": workdir_relative(spec_path),
        "spec_sha256": digest,
        "num_tasks": nodes * tasks_per_node,
        "host": socket.gethostname(),
        "state": "SUBMITTED",
        "previous_jobs": previous,
    }
    if inputs is not None:
        record["inputs"] = dict(sorted(inputs.items()))
    if launch.executor == "local":
        record["pid"] = int(job.job_id)  # the local job id is the controller's pid
    # Written before the long wait: a dispatcher killed from here on re-attaches next time.
    write_record(job_record, record)
    log.info(
        "submitted job %s (%s, %d node(s) × %d task(s), %d GPU(s) per node); record %s, logs %s",
        job.job_id,
        launch.executor,
        nodes,
        tasks_per_node,
        gpus_per_node,
        job_record,
        executor.folder,
    )
    return _finish(job, record, job_record, launch)


def _resume_recorded(
    record: dict[str, Any],
    digest: str | None,
    job_record: Path,
    launch: LaunchConfig,
    reuse_completed: bool = True,
    *,
    inputs: Mapping[str, str] | None = None,
    reuse: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None,
) -> dict[str, Any] | None:
    """Re-attach to the recorded job or return its result; None means: submit a new job."""
    job_id = record["job_id"]
    job = rebuild_job(record)
    if job is None:
        log.info("job %s ran in-process (debug executor) and is gone: submitting anew", job_id)
        return None
    if record.get("state") == "COMPLETED" and all_tasks_succeeded(job):
        state = "COMPLETED"  # without asking SLURM, which may have purged the job by now
    else:
        state = job_state(job)  # raises when SLURM cannot be asked: never resubmit blindly
    same_spec = digest is None or record.get("spec_sha256") in (None, digest)
    if not same_spec:
        if state in ACTIVE_STATES:
            raise RuntimeError(
                f"job {job_id} ({record['executor']}, {state}, record {job_record}) runs an "
                f"older version of {record['spec_path']}: restore the spec, or cancel the job "
                f"(slurm: scancel {job_id}; local: kill {job_id}) and rerun"
            )
        log.info(
            "spec %s changed since job %s (%s): submitting anew", record["spec_path"], job_id, state
        )
        return None
    if state in ACTIVE_STATES:
        log.info(
            "re-attached to job %s (%s, %s), submitted %s",
            job_id,
            record["executor"],
            state,
            record["submitted_at"],
        )
        return _finish(job, record, job_record, launch)
    completed = state == "COMPLETED" or (state == "UNKNOWN" and all_tasks_succeeded(job))
    if completed and not reuse_completed:
        record["state"] = "COMPLETED"
        why = _unchanged(record, digest, inputs)
        if why is None and all_tasks_succeeded(job):
            try:
                result = job.results()[0]
            except (submitit_utils.FailedJobError, submitit_utils.UncompletedJobError):
                result = None
            if isinstance(result, dict) and (reuse is None or reuse(result, record)):
                log.info(
                    "job %s (%s) completed earlier with the same spec and input digests: "
                    "reusing its result, nothing submitted",
                    job_id,
                    record["executor"],
                )
                write_record(job_record, {**record, "reused_at": utc_now()})
                return result
            why = "its result cannot be reused"
        elif why is None:
            why = "its result files are gone"
        log.info("job %s completed earlier, but %s: submitting anew", job_id, why)
        return None
    if completed:
        log.info("job %s already completed: taking its result", job_id)
        return _finish(job, record, job_record, launch, state="COMPLETED")
    log.warning(
        "job %s ended %s: submitting a new job, which resumes from the last checkpoint of the "
        "run directory",
        job_id,
        state,
    )
    record["state"] = state
    return None


def _unchanged(
    record: Mapping[str, Any], digest: str | None, inputs: Mapping[str, str] | None
) -> str | None:
    """None when the recorded job ran this very spec on these very inputs, else why not."""
    if inputs is None:
        return "no input digests were given"
    if digest is None or record.get("spec_sha256") != digest:
        return "its spec differs"
    recorded = record.get("inputs")
    if not isinstance(recorded, dict):
        return "its record has no input digests"
    if recorded != dict(inputs):
        changed = sorted(k for k in set(recorded) | set(inputs) if recorded.get(k) != inputs.get(k))
        more = f" (+{len(changed) - 3} more)" if len(changed) > 3 else ""
        return f"its inputs changed: {', '.join(changed[:3])}{more}"
    return None


def _finish(
    job: submitit.Job[Any],
    record: dict[str, Any],
    job_record: Path,
    launch: LaunchConfig,
    state: str | None = None,
) -> dict[str, Any]:
    """Wait for the job, record how it ended, return rank 0's result or raise."""
    try:
        if isinstance(job, submitit.DebugJob):
            result, state = _run_debug(job), "COMPLETED"
        else:
            if state is None:
                state = _wait(job, launch)
            result = _rank0_result(job, state)
    except RuntimeError as error:
        ended = state or getattr(error, "state", "FAILED")
        write_record(job_record, {**record, "state": ended, "ended_at": utc_now()})
        raise
    write_record(job_record, {**record, "state": "COMPLETED", "ended_at": utc_now()})
    if not isinstance(result, dict):
        raise RuntimeError(
            f"job {job.job_id}: {record.get('spec_path')} gave rank 0 a {type(result).__name__}, "
            "not the manifest dict"
        )
    return result


def _wait(job: submitit.Job[Any], launch: LaunchConfig) -> str:
    """Poll until the job leaves the active states; return the state it ended in.

    Every wait has a bound: a SLURM job pending on nodes that are down, drained or missing
    (:func:`skyforge.launch.partition.blocked_reason`) for ``launch.unavailable_timeout_min`` is
    cancelled and raises; a queue behind other jobs is waited for however long.

    Raises:
        RuntimeError: one line naming the job, its state and the reason, for a blocked job.
    """
    start = time.monotonic()
    last_state, last_line, unknown_since = None, start, None
    blocked_since: float | None = None
    while True:
        try:
            state = job_state(job)
        except RuntimeError as error:  # slurmctld restarting: keep waiting, say so
            log.warning("job %s: %s", job.job_id, error)
            state = "UNKNOWN"
        now = time.monotonic()
        if state != last_state:
            log.info("job %s: %s after %s", job.job_id, state, _duration(now - start))
            last_state, last_line = state, now
        elif now - last_line >= HEARTBEAT_S:
            log.info("job %s: still %s after %s", job.job_id, state, _duration(now - start))
            last_line = now
        if state == "UNKNOWN":
            unknown_since = now if unknown_since is None else unknown_since
            if all_results_exist(job) or now - unknown_since >= UNKNOWN_GRACE_S:
                return state
        elif state not in ACTIVE_STATES:
            return state
        else:
            unknown_since = None
        reason = _blocked(job) if state == "PENDING" else None
        if reason is None:
            blocked_since = None
        else:
            if blocked_since is None:
                blocked_since = now
                log.warning("job %s: PENDING, blocked: %s", job.job_id, reason)
            if now - blocked_since >= launch.unavailable_timeout_min * 60:
                _cancel(job)
                raise NodesUnavailableError(
                    f"job {job.job_id} PENDING for {_duration(now - blocked_since)} on nodes "
                    f"that never came up ({reason}): cancelled it after "
                    f"launch.unavailable_timeout_min = {launch.unavailable_timeout_min:g}; "
                    "bring the nodes back (sinfo -R) and rerun"
                )
        time.sleep(launch.poll_interval_s)


class NodesUnavailableError(RuntimeError):
    """A job cancelled after pending on nodes that never came up (see :func:`_wait`)."""

    state = "CANCELLED"


def _blocked(job: submitit.Job[Any]) -> str | None:
    """The reason a pending SLURM job cannot start without an operator (None otherwise)."""
    if not isinstance(job, submitit.SlurmJob):
        return None
    try:
        return blocked_reason(job.job_id)
    except RuntimeError as error:  # slurmctld restarting: not a verdict on the nodes
        log.warning("job %s: %s", job.job_id, error)
        return None


def _cancel(job: submitit.Job[Any]) -> None:
    try:
        job.cancel(check=True)
    except Exception as error:  # noqa: BLE001 - the one-line error that follows matters more
        log.warning("job %s: scancel failed: %s", job.job_id, error)


def _rank0_result(job: submitit.Job[Any], state: str) -> Any:
    if state in ("COMPLETED", "UNKNOWN"):
        deadline = time.monotonic() + RESULT_GRACE_S
        while not all_results_exist(job) and time.monotonic() < deadline:
            time.sleep(1.0)
    # Without every result pickle, submitit's results() can wait forever (it trusts a state
    # it cannot always get); with them it returns at once or raises the task's error.
    if all_results_exist(job):
        try:
            # job.result() refuses multi-task jobs; results() is one value per task.
            return job.results()[0]
        except (submitit_utils.FailedJobError, submitit_utils.UncompletedJobError):
            pass
    raise _job_failure(job, state)


def _job_failure(job: submitit.Job[Any], state: str) -> RuntimeError:
    task = first_failed_task(job)
    task = 0 if task is None else task
    log_path = job.task(task).paths.stderr
    return RuntimeError(
        f"job {job.job_id} ended {state}: task {task} failed, see {log_path}\n"
        + _tail(log_path, LOG_TAIL_LINES)
    )


def _tail(path: Path, num_lines: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))  # a long log: its end is what matters
            lines = f.read().decode("utf-8", errors="replace").splitlines()
    except OSError as error:
        return f"(no log: {error})"
    return "\n".join(lines[-num_lines:]) if lines else "(the log is empty)"


def _run_debug(job: submitit.DebugJob[Any]) -> Any:
    # DebugJob.results() opens pdb on an exception, which would hang a non-interactive rule;
    # run the submission the same way (its environment, restored after) but raise instead.
    saved = dict(os.environ)
    os.environ["SUBMITIT_DEBUG_JOB_ID"] = job.job_id
    try:
        return job.submission().result()
    except Exception as error:
        raise RuntimeError(f"job {job.job_id} (debug, in-process) failed: {error!r}") from error
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
