"""Submit one multi-process training job with submitit, re-attach to it after a restart, wait.

Architecture decisions 3 and 4: a GPU rule is a Snakemake ``localrule`` whose process calls
:func:`dispatch`. Submitit writes the sbatch script itself (``--nodes``, ``--ntasks-per-node`` =
GPUs per node, ``--gpus-per-node``) and starts one task per GPU with ``srun``; there is no
torchrun. Each task runs :class:`TrainingJob`, which exports the torch.distributed variables and
calls the training entry point (``skyforge.train.loop:train_stage``) on every rank.

A 512-GPU job must never be submitted twice, yet Snakemake may be killed and restarted while the
job runs for days. So :func:`dispatch` writes a small JSON *job record* beside the rule's output
right after submitting, and on the next call reads it first:

============================================  ===============================================
recorded job is ...                           dispatch ...
============================================  ===============================================
pending, running, requeued, completing, ...   re-attaches and waits (no new job)
completed, its results still on disk          returns rank 0's result again (no new job);
                                              with ``reuse_completed=False`` (the pretrain
                                              rule: its output is gone or stale) submits a
                                              new job, which resumes from the final checkpoint
failed, cancelled, timed out, gone            submits a new job; training resumes from the
                                              last checkpoint of its run directory
still running but for a different spec file   refuses (cancel it or restore the spec)
============================================  ===============================================

A timeout or preemption inside a job is handled by submitit itself: :class:`TrainingJob` is
``Checkpointable``, so the job is requeued under the same job id (SLURM) or restarted by the
local controller, and the training resumes from its run directory. The record stays valid.

Executors: ``slurm`` (the cluster), ``local`` (subprocesses on this machine, one node, for CPU
runs with gloo and for tests) and ``debug`` (in this process, world size 1, for stepping through
the code). ``local`` records hold the controller's pid, which is all that survives a restart.

The states logged and recorded are SLURM's names (see :func:`job_state`); the local and debug
executors' own names are mapped onto them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib
import json
import logging
import math
import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import submitit
from submitit.core import utils as submitit_utils

from skyforge.config import ConfigError
from skyforge.core.io import atomic_write_text

__all__ = [
    "DEFAULT_ENTRY",
    "ACTIVE_STATES",
    "TrainingJob",
    "LaunchConfig",
    "executor_for",
    "dispatch",
    "job_state",
    "read_job_record",
]

log = logging.getLogger(__name__)

DEFAULT_ENTRY = "skyforge.train.loop:train_stage"

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
# sacct / squeue answer in well under a second; a hung slurmctld must not hang the dispatcher.
SLURM_QUERY_TIMEOUT_S = 60
LOG_TAIL_LINES = 20

_LOCAL_CONTROLLER_MODULE = "submitit.local._local"


# ---------------------------------------------------------------------------------------------
# The callable each task runs
# ---------------------------------------------------------------------------------------------


class TrainingJob(submitit.helpers.Checkpointable):
    """What every task (one per GPU) of a training job runs.

    It exports MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE from
    the submitit job environment and calls ``entry(spec_path)``, which initialises the process
    group, resumes from its run directory if it holds a checkpoint, trains, and returns the
    manifest on global rank 0.

    CUDA_VISIBLE_DEVICES is left as SLURM (or the local executor) set it, listing all the GPUs
    of the node: each rank picks its own with ``torch.cuda.set_device(LOCAL_RANK)``, as in
    Megatron. Narrowing it to one GPU per rank would stop CUDA IPC between the ranks of a node,
    so NCCL could not use NVLink (NVIDIA/nccl#129, #1066), and it would not even take effect in
    this process once anything had initialised CUDA (``torch.cuda.is_available()`` does).

    Args:
        spec_path: the training spec file handed to the entry point.
        entry: ``"module:function"``; resolved in the task, so the module must be importable
            there (megatron is imported only inside the job, not by the dispatcher).
    """

    def __init__(self, spec_path: str | os.PathLike[str], entry: str = DEFAULT_ENTRY) -> None:
        _split_entry(entry)  # a malformed entry fails at submission, not days later in a queue
        self.spec_path = str(spec_path)
        self.entry = entry

    def __call__(self) -> Any:
        _configure_task_logging()
        dist_env = submitit.helpers.TorchDistributedEnvironment()
        # overwrite: variables inherited from the submitting shell (or left by a requeued
        # attempt in the same process tree) must not win over this job's own layout.
        dist_env.export(set_cuda_visible_devices=False, overwrite=True)
        log.info(
            "rank %d of %d (local rank %d of %d), master %s:%d, CUDA_VISIBLE_DEVICES=%r; "
            "calling %s(%r)",
            dist_env.rank,
            dist_env.world_size,
            dist_env.local_rank,
            dist_env.local_world_size,
            dist_env.master_addr,
            dist_env.master_port,
            os.environ.get("CUDA_VISIBLE_DEVICES"),
            self.entry,
            self.spec_path,
        )
        return _resolve_entry(self.entry)(self.spec_path)

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on timeout or preemption: resubmit the same spec.

        Nothing is saved here: the training writes its own checkpoints into its run directory
        and the resubmitted job resumes from the latest one.
        """
        log.info(
            "timeout or preemption: requeueing %s(%r); the resubmission resumes from the last "
            "checkpoint of its run directory",
            self.entry,
            self.spec_path,
        )
        return submitit.helpers.DelayedSubmission(TrainingJob(self.spec_path, self.entry))


def _split_entry(entry: str) -> tuple[str, str]:
    module, sep, function = entry.partition(":")
    if not sep or not module or not function:
        raise ValueError(f"training entry {entry!r}: expected 'module:function'")
    return module, function


def _resolve_entry(entry: str) -> Callable[[str], Any]:
    module, function = _split_entry(entry)
    return getattr(importlib.import_module(module), function)


def _configure_task_logging() -> None:
    # A task is a fresh process with an unconfigured root logger, so our INFO lines would be
    # dropped; in the debug executor (in-process) the CLI's configuration is kept.
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

ExecutorName = Literal["local", "slurm", "debug"]
EXECUTORS: tuple[str, ...] = ("local", "slurm", "debug")


@dataclass(frozen=True)
class LaunchConfig:
    """How training jobs reach the machines (the ``launch`` section of the config)."""

    executor: ExecutorName = "local"
    """``slurm`` (sbatch + srun), ``local`` (subprocesses, one node) or ``debug`` (in-process)."""
    slurm_partition: str | None = None
    """SLURM partition; None uses the cluster's default."""
    slurm_account: str | None = None
    """SLURM account; passed only when set."""
    timeout_min: int = 4320
    """Time limit of one allocation in minutes (72 h); a timeout requeues and resumes."""
    cpus_per_task: int = 1
    """CPU cores per task (per GPU): data loading threads live here."""
    mem_gb: float | None = None
    """Memory per node in GB; None uses the partition's default."""
    signal_delay_s: int = 120
    """Seconds between SLURM's USR2 warning and the kill: time to write a checkpoint."""
    max_num_timeout: int = 100
    """How many times a timed-out job is requeued before it counts as failed."""
    poll_interval_s: float = 10.0
    """Seconds between two state checks while waiting for a job."""
    slurm_additional_parameters: Mapping[str, Any] = field(default_factory=dict)
    """Extra ``#SBATCH`` options, e.g. ``{"exclusive": true, "qos": "high"}``."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> LaunchConfig:
        """Build and check a LaunchConfig from the ``launch`` config section.

        Args:
            data: the section; missing keys take the defaults above.

        Raises:
            ConfigError: (a ValueError) naming ``launch.<key>`` for an unknown key or a bad
                value.
        """
        data = dict(data or {})
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                raise ConfigError(
                    f"config key 'launch.{key}': unknown key (allowed here: {', '.join(names)})"
                )
        if "executor" in data and data["executor"] not in EXECUTORS:
            raise ConfigError(
                f"config key 'launch.executor': {data['executor']!r} is not one of "
                f"{', '.join(EXECUTORS)}"
            )
        for key in ("slurm_partition", "slurm_account"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"config key 'launch.{key}': {value!r} is not a non-empty name")
        for key, minimum in (
            ("timeout_min", 1),
            ("cpus_per_task", 1),
            ("signal_delay_s", 0),
            ("max_num_timeout", 0),
        ):
            if key in data:
                _check_number(key, data[key], minimum, integer=True)
        if data.get("mem_gb") is not None:
            _check_number("mem_gb", data["mem_gb"], 0, integer=False, strict=True)
        if "poll_interval_s" in data:
            _check_number("poll_interval_s", data["poll_interval_s"], 0, integer=False, strict=True)
        extra = data.get("slurm_additional_parameters", {})
        if not isinstance(extra, Mapping) or not all(isinstance(k, str) for k in extra):
            raise ConfigError(
                "config key 'launch.slurm_additional_parameters': expected a mapping of sbatch "
                f"option names to values, got {extra!r}"
            )
        data["slurm_additional_parameters"] = dict(extra)
        launch = cls(**data)
        if launch.signal_delay_s >= launch.timeout_min * 60:
            raise ConfigError(
                f"config key 'launch.signal_delay_s': {launch.signal_delay_s} s is not shorter "
                f"than launch.timeout_min ({launch.timeout_min} min)"
            )
        return launch


def _check_number(
    key: str, value: Any, minimum: float, *, integer: bool, strict: bool = False
) -> None:
    kinds = (int,) if integer else (int, float)
    # bool is an int subclass: `timeout_min: yes` must not read as 1.
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"config key 'launch.{key}': {value!r} is not {kind}")
    if value < minimum or (strict and value == minimum):
        bound = f"above {minimum}" if strict else f"at least {minimum}"
        raise ConfigError(f"config key 'launch.{key}': {value!r} must be {bound}")


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------


def executor_for(
    launch: LaunchConfig,
    *,
    nodes: int,
    tasks_per_node: int,
    gpus_per_node: int,
    folder: str | os.PathLike[str],
    job_name: str,
) -> submitit.Executor:
    """A submitit executor for one training job of ``nodes × tasks_per_node`` tasks.

    Args:
        launch: the launch config.
        nodes: number of nodes (1 for ``local`` and ``debug``).
        tasks_per_node: processes per node; one per GPU when there are GPUs.
        gpus_per_node: GPUs requested per node; 0 requests none (no gres line).
        folder: submitit's folder for the pickles, the sbatch script and the task logs.
        job_name: the SLURM job name.

    Returns:
        A ``submitit.AutoExecutor`` whose ``submit`` starts the job.

    Raises:
        ValueError: for a layout the executor cannot run (local on several nodes, debug with
            more than one task, no ``srun`` for slurm).
    """
    if nodes < 1 or tasks_per_node < 1 or gpus_per_node < 0:
        raise ValueError(
            f"job {job_name!r}: nodes ({nodes}) and tasks_per_node ({tasks_per_node}) must be "
            f"at least 1 and gpus_per_node ({gpus_per_node}) at least 0"
        )
    folder = Path(folder)
    common: dict[str, Any] = {
        "name": job_name,
        "nodes": nodes,
        "tasks_per_node": tasks_per_node,
        "cpus_per_task": launch.cpus_per_task,
        "timeout_min": launch.timeout_min,
    }
    if gpus_per_node:
        common["gpus_per_node"] = gpus_per_node
    if launch.executor == "slurm":
        try:
            executor = submitit.AutoExecutor(
                folder, cluster="slurm", slurm_max_num_timeout=launch.max_num_timeout
            )
        except RuntimeError as error:  # submitit's only check: is `srun` on PATH
            raise ConfigError(
                f"config key 'launch.executor': 'slurm' but this machine has no SLURM client "
                f"({error})"
            ) from error
        slurm: dict[str, Any] = {
            "slurm_partition": launch.slurm_partition,
            "slurm_account": launch.slurm_account,
            "slurm_signal_delay_s": launch.signal_delay_s,
            # SLURM's default lets the other ranks of a failed task sit in a collective until
            # the NCCL timeout; end the whole step at the first task that exits non-zero.
            "slurm_srun_args": ["--kill-on-bad-exit=1"],
        }
        if launch.slurm_additional_parameters:
            slurm["slurm_additional_parameters"] = dict(launch.slurm_additional_parameters)
        executor.update_parameters(**common, mem_gb=launch.mem_gb, **slurm)
        return executor
    if launch.executor == "local":
        if nodes > 1:
            raise ConfigError(
                f"config key 'launch.executor': 'local' runs on one node, the job asks for {nodes}"
            )
        executor = submitit.AutoExecutor(
            folder, cluster="local", local_max_num_timeout=launch.max_num_timeout
        )
        executor.update_parameters(**common)
        return executor
    if launch.executor == "debug":
        if nodes * tasks_per_node != 1:
            raise ConfigError(
                "config key 'launch.executor': 'debug' runs in this process, world size 1 only; "
                f"the job has {nodes} × {tasks_per_node} tasks"
            )
        executor = submitit.AutoExecutor(folder, cluster="debug")
        executor.update_parameters(**common)
        return executor
    raise ConfigError(
        f"config key 'launch.executor': {launch.executor!r} is not one of {EXECUTORS}"
    )


# ---------------------------------------------------------------------------------------------
# Job state
# ---------------------------------------------------------------------------------------------


def job_state(job: submitit.Job[Any]) -> str:
    """The job's state under SLURM's names (``PENDING``, ``RUNNING``, ``COMPLETED``, ...).

    * SLURM jobs are asked fresh (squeue, then sacct for jobs the controller has forgotten)
      instead of through submitit's watcher, which uses sacct only, caches states for up to
      10 minutes and turns sacct errors into ``UNKNOWN``. ``UNKNOWN`` here means that neither
      command knows the job.
    * Local jobs: the controller process is ``RUNNING``; a finished one is ``COMPLETED`` when
      every task pickled a success, else ``FAILED``; one killed by a signal is ``CANCELLED``. A
      job rebuilt after a restart (no process handle) is ``RUNNING`` while its recorded
      controller pid is alive.
    * Debug jobs: ``PENDING`` until run in-process, then ``COMPLETED``.

    Raises:
        RuntimeError: for a SLURM job when neither sacct nor squeue can be run.
    """
    if isinstance(job, submitit.SlurmJob):
        return _slurm_state(job.job_id)
    if isinstance(job, submitit.LocalJob):
        raw = job.state
        if raw == "RUNNING":
            return "RUNNING"
        if raw == "INTERRUPTED":
            return "CANCELLED"
        if _local_controller_alive(int(job.job_id), job.paths.folder):
            return "RUNNING"
        return "COMPLETED" if _all_tasks_succeeded(job) else "FAILED"
    if isinstance(job, submitit.DebugJob):
        return {"DONE": "COMPLETED", "QUEUED": "PENDING"}.get(job.state, _normalise(job.state))
    return _normalise(job.state)


def _normalise(raw: str | None) -> str:
    # sacct writes "CANCELLED by 1000" and, for some states, a trailing "+".
    words = (raw or "").split()
    return words[0].rstrip("+").upper() if words else "UNKNOWN"


def _slurm_state(job_id: str) -> str:
    errors = []
    answered = False
    # The controller first: sacct lags behind it (measured here: PENDING from sacct while
    # squeue already said RUNNING). `-t all` also shows finished jobs until MinJobAge.
    try:
        proc = subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
            capture_output=True,
            text=True,
            timeout=SLURM_QUERY_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as error:
        errors.append(f"squeue: {_describe(error)}")
    else:
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        if proc.returncode == 0 and lines:
            return _normalise(lines[0])
        if proc.returncode == 0 or "invalid job id" in proc.stderr.lower():
            answered = True  # the controller no longer knows the job
        else:
            errors.append(f"squeue: {proc.stderr.strip() or f'exit code {proc.returncode}'}")
    # Aged out of the controller: the accounting database remembers how it ended.
    try:
        proc = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-o", "State", "-j", job_id],
            capture_output=True,
            text=True,
            timeout=SLURM_QUERY_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        errors.append(f"sacct: {_describe(error)}")
    else:
        answered = True
        # -X: the allocation only, not its steps; without -D a requeued job shows its last try.
        for line in proc.stdout.splitlines():
            if line.strip():
                return _normalise(line)
    if answered:
        return "UNKNOWN"
    raise RuntimeError(f"cannot ask SLURM about job {job_id}: {'; '.join(errors)}")


def _describe(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return (error.stderr or "").strip() or f"exit code {error.returncode}"
    return str(error)


def _local_controller_alive(pid: int, folder: Path) -> bool:
    # The pid alone could belong to an unrelated process by now: check that it is submitit's
    # local controller for this very folder. A zombie has an empty cmdline and counts as dead.
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return _LOCAL_CONTROLLER_MODULE.encode() in argv and str(folder).encode() in argv


def _task_jobs(job: submitit.Job[Any]) -> list[submitit.Job[Any]]:
    return [job.task(k) for k in range(job.num_tasks)]


def _all_results_exist(job: submitit.Job[Any]) -> bool:
    return all(t.paths.result_pickle.exists() for t in _task_jobs(job))


def _all_tasks_succeeded(job: submitit.Job[Any]) -> bool:
    return _all_results_exist(job) and _first_failed_task(job) is None


def _first_failed_task(job: submitit.Job[Any]) -> int | None:
    """The first task that pickled an error, else the first without a result, else None."""
    missing = None
    for k, task in enumerate(_task_jobs(job)):
        path = task.paths.result_pickle
        if not path.exists():
            missing = k if missing is None else missing
            continue
        outcome, _ = submitit_utils.pickle_load(path)
        if outcome == "error":
            return k
    return missing


# ---------------------------------------------------------------------------------------------
# Job record
# ---------------------------------------------------------------------------------------------

_RECORD_KEYS = ("job_id", "executor", "folder", "submitted_at", "spec_path")


def read_job_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a job record written by :func:`dispatch`.

    Raises:
        ValueError: naming the file when it is not a JSON object with the record's keys.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"job record {path}: unreadable ({error})") from error
    if not isinstance(record, dict) or any(k not in record for k in _RECORD_KEYS):
        raise ValueError(
            f"job record {path}: expected a JSON object with keys {', '.join(_RECORD_KEYS)}; "
            "check that no job from it still runs, then delete it to submit anew"
        )
    if record["executor"] not in EXECUTORS:
        raise ValueError(f"job record {path}: unknown executor {record['executor']!r}")
    return record


def _write_record(path: Path, record: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _spec_digest(spec_path: str) -> str | None:
    path = Path(spec_path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _rebuild_job(record: Mapping[str, Any]) -> submitit.Job[Any] | None:
    """The recorded job as a submitit Job, or None when nothing of it can be reached."""
    folder = Path(record["folder"])
    tasks = range(int(record.get("num_tasks", 1)))
    if record["executor"] == "slurm":
        return submitit.SlurmJob(folder, str(record["job_id"]), tasks=tasks)
    if record["executor"] == "local":
        if record.get("host") not in (None, socket.gethostname()):
            # The controller pid means nothing on this machine; its results may still be here.
            log.warning(
                "job %s ran on %s, not on this host: its process cannot be checked",
                record["job_id"],
                record["host"],
            )
        return submitit.LocalJob(folder, str(record["job_id"]), tasks=tasks)
    return None  # debug: it ran inside a process that is gone and left no result files


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
) -> dict[str, Any]:
    """Run one training job to its end and return rank 0's result (the manifest).

    Re-attaches to the job named in ``job_record`` when that job is still alive or already
    finished (see the module docstring); otherwise submits a new one and writes the record
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
            running jobs are still re-attached).

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
    digest = _spec_digest(spec_path)

    previous: list[dict[str, Any]] = []
    if job_record.exists():
        record = read_job_record(job_record)
        outcome = _resume_recorded(record, digest, job_record, launch, reuse_completed)
        if outcome is not None:
            return outcome
        previous = [
            *record.get("previous_jobs", []),
            {k: record.get(k) for k in ("job_id", "executor", "submitted_at", "state")},
        ]

    executor = executor_for(
        launch,
        nodes=nodes,
        tasks_per_node=tasks_per_node,
        gpus_per_node=gpus_per_node,
        folder=folder,
        job_name=job_name,
    )
    job = executor.submit(TrainingJob(spec_path, entry))
    from skyforge.core.io import workdir_relative

    record = {
        "job_id": job.job_id,
        "executor": launch.executor,
        # Relative to the working directory (when inside it): a moved run directory still
        # finds its job's folder and spec.
        "folder": workdir_relative(executor.folder),
        "submitted_at": _now(),
        "spec_path": workdir_relative(spec_path),
        "spec_sha256": digest,
        "num_tasks": nodes * tasks_per_node,
        "host": socket.gethostname(),
        "state": "SUBMITTED",
        "previous_jobs": previous,
    }
    if launch.executor == "local":
        record["pid"] = int(job.job_id)  # the local job id is the controller's pid
    # Written before the long wait: a dispatcher killed from here on re-attaches next time.
    _write_record(job_record, record)
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
    return _finish(job, record, job_record, launch.poll_interval_s)


def _resume_recorded(
    record: dict[str, Any],
    digest: str | None,
    job_record: Path,
    launch: LaunchConfig,
    reuse_completed: bool = True,
) -> dict[str, Any] | None:
    """Re-attach to the recorded job or return its result; None means: submit a new job."""
    job_id = record["job_id"]
    job = _rebuild_job(record)
    if job is None:
        log.info("job %s ran in-process (debug executor) and is gone: submitting anew", job_id)
        return None
    if record.get("state") == "COMPLETED" and _all_tasks_succeeded(job):
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
        return _finish(job, record, job_record, launch.poll_interval_s)
    completed = state == "COMPLETED" or (state == "UNKNOWN" and _all_tasks_succeeded(job))
    if completed and not reuse_completed:
        log.info(
            "job %s completed earlier, but its output is wanted again: submitting anew", job_id
        )
        record["state"] = "COMPLETED"
        return None
    if completed:
        log.info("job %s already completed: taking its result", job_id)
        return _finish(job, record, job_record, launch.poll_interval_s, state="COMPLETED")
    log.warning(
        "job %s ended %s: submitting a new job, which resumes from the last checkpoint of the "
        "run directory",
        job_id,
        state,
    )
    record["state"] = state
    return None


def _finish(
    job: submitit.Job[Any],
    record: dict[str, Any],
    job_record: Path,
    poll_interval_s: float,
    state: str | None = None,
) -> dict[str, Any]:
    """Wait for the job, record how it ended, return rank 0's result or raise."""
    try:
        if isinstance(job, submitit.DebugJob):
            result, state = _run_debug(job), "COMPLETED"
        else:
            if state is None:
                state = _wait(job, poll_interval_s)
            result = _rank0_result(job, state)
    except RuntimeError:
        _write_record(job_record, {**record, "state": state or "FAILED", "ended_at": _now()})
        raise
    _write_record(job_record, {**record, "state": "COMPLETED", "ended_at": _now()})
    if not isinstance(result, dict):
        raise RuntimeError(
            f"job {job.job_id}: {record.get('spec_path')} gave rank 0 a {type(result).__name__}, "
            "not the manifest dict"
        )
    return result


def _wait(job: submitit.Job[Any], poll_interval_s: float) -> str:
    """Poll until the job leaves the active states; return the state it ended in."""
    start = time.monotonic()
    last_state, last_line, unknown_since = None, start, None
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
            if _all_results_exist(job) or now - unknown_since >= UNKNOWN_GRACE_S:
                return state
        elif state not in ACTIVE_STATES:
            return state
        else:
            unknown_since = None
        time.sleep(poll_interval_s)


def _rank0_result(job: submitit.Job[Any], state: str) -> Any:
    if state in ("COMPLETED", "UNKNOWN"):
        deadline = time.monotonic() + RESULT_GRACE_S
        while not _all_results_exist(job) and time.monotonic() < deadline:
            time.sleep(1.0)
    # Without every result pickle, submitit's results() can wait forever (it trusts a state
    # it cannot always get); with them it returns at once or raises the task's error.
    if _all_results_exist(job):
        try:
            # job.result() refuses multi-task jobs; results() is one value per task.
            return job.results()[0]
        except (submitit_utils.FailedJobError, submitit_utils.UncompletedJobError):
            pass
    raise _job_failure(job, state)


def _job_failure(job: submitit.Job[Any], state: str) -> RuntimeError:
    task = _first_failed_task(job)
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
