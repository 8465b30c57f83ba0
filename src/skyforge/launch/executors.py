"""The ``launch`` config section, checked, and the submitit executor it builds."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import submitit

from skyforge import config as C
from skyforge.config import ConfigError, LaunchConfig

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

EXECUTORS: tuple[str, ...] = ("local", "slurm", "debug")


def launch_config(section: Mapping[str, Any] | None) -> LaunchConfig:
    """The ``launch`` section, checked; keys left out take the schema's defaults.

    The section is not part of any artifact (changing it reruns nothing), so a partial one is
    fine here, unlike the sections a step's outputs depend on.

    Raises:
        ConfigError: (a ValueError) naming ``launch.<key>``: a key or value the schema rejects,
            or a ``signal_delay_s`` not shorter than the time limit.
    """
    data = C.validate_slice({"launch": dict(section or {})}, ("launch",))["launch"]
    launch = LaunchConfig.with_defaults(
        **{k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    )
    if launch.signal_delay_s >= launch.timeout_min * 60:
        raise ConfigError(
            f"config key 'launch.signal_delay_s': {launch.signal_delay_s} s is not shorter "
            f"than launch.timeout_min ({launch.timeout_min} min)"
        )
    return launch


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
