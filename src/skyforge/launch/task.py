"""The callable each submitit task runs: ``TrainingJob`` resolves the entry point and runs it."""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

import submitit

log = logging.getLogger(__name__)

DEFAULT_ENTRY = "skyforge.train.loop:train_stage"


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
        # MASTER_ADDR/PORT inherited from the submitting shell (or left by a requeued attempt in
        # the same process tree) must not win over this job's own allocation: submitit would
        # take an inherited MASTER_PORT as it is.
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            os.environ.pop(name, None)
        dist_env = submitit.helpers.TorchDistributedEnvironment()
        job_env = submitit.JobEnvironment()
        dist_env.master_addr, dist_env.master_port = rendezvous(job_env.hostnames, job_env.job_id)
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


# The rendezvous port range (submitit's own): clear of the well-known ports.
MIN_MASTER_PORT, MAX_MASTER_PORT = 20000, 60000


def rendezvous(hostnames: list[str], job_id: str) -> tuple[str, int]:
    """The address and port every rank of a job agrees on, from the allocation alone.

    The address is the allocation's first node (``SLURM_JOB_NODELIST`` expanded, in SLURM's
    order; ``localhost`` only for the one-node local executor); the port is derived from the
    job id (stable across a requeue of the same job, different for concurrent jobs), so no
    rank has to tell the others anything.

    Raises:
        RuntimeError: an allocation with no node names (a broken SLURM environment).
    """
    if not hostnames or not hostnames[0]:
        raise RuntimeError(f"job {job_id}: the allocation lists no node (SLURM_JOB_NODELIST)")
    base_id = str(job_id).split("_")[0]  # an array task shares its job's allocation scheme
    digest = hashlib.sha256(base_id.encode()).digest()
    span = MAX_MASTER_PORT - MIN_MASTER_PORT + 1
    return hostnames[0], MIN_MASTER_PORT + int.from_bytes(digest[:4], "big") % span


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
