"""Job state (sacct / squeue / submitit) and the JSON job record a dispatch leaves behind."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import submitit
from submitit.core import utils as submitit_utils

from skyforge.core.io import atomic_write_text
from skyforge.launch.executors import EXECUTORS

log = logging.getLogger(__name__)

# sacct / squeue answer in well under a second; a hung slurmctld must not hang the dispatcher.
SLURM_QUERY_TIMEOUT_S = 60
_LOCAL_CONTROLLER_MODULE = "submitit.local._local"


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
        return "COMPLETED" if all_tasks_succeeded(job) else "FAILED"
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


def all_results_exist(job: submitit.Job[Any]) -> bool:
    return all(t.paths.result_pickle.exists() for t in _task_jobs(job))


def all_tasks_succeeded(job: submitit.Job[Any]) -> bool:
    return all_results_exist(job) and first_failed_task(job) is None


def first_failed_task(job: submitit.Job[Any]) -> int | None:
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


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def spec_digest(spec_path: str) -> str | None:
    path = Path(spec_path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def rebuild_job(record: Mapping[str, Any]) -> submitit.Job[Any] | None:
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
