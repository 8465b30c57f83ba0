"""Dispatch of training jobs through submitit's real local and debug executors.

The jobs run this module's own functions (``entry=f"{__name__}:..."``) in real subprocesses
started by submitit's local controller: two gloo ranks all-reduce their ranks, a job fails on
purpose, a job waits for a file so that its dispatcher can be killed and a new one re-attach.
The child processes import this module by name, hence the PYTHONPATH set by ``job_env``.

The SLURM executor is checked through the sbatch script submitit would submit; submitting
needs the real cluster (tests/workflow/, marker ``slurm``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from skyforge.launch.dispatch import (
    LaunchConfig,
    TrainingJob,
    dispatch,
    executor_for,
    launch_config,
    read_job_record,
)

HERE = Path(__file__).resolve().parent
# Short polls: these jobs last seconds, not days.
LOCAL = LaunchConfig.with_defaults(
    executor="local", poll_interval_s=0.2, timeout_min=5, signal_delay_s=30
)


# --- entry points run inside the jobs (module level: the tasks import them by name) ----------


def all_reduce_ranks(spec_path: str) -> dict | None:
    """Sum the ranks over a gloo group built from the exported env; rank 0 reports."""
    import torch
    import torch.distributed as dist

    # A rank that never arrives must fail the test in seconds, not after gloo's 30 minutes.
    dist.init_process_group("gloo", timeout=dt.timedelta(seconds=60))
    try:
        total = torch.tensor([dist.get_rank()], dtype=torch.int64)
        dist.all_reduce(total)
        if dist.get_rank() != 0:
            return None
        return {
            "rank_sum": int(total.item()),
            "world_size": dist.get_world_size(),
            "local_rank": int(os.environ["LOCAL_RANK"]),
            "spec": json.loads(Path(spec_path).read_text()),
        }
    finally:
        dist.destroy_process_group()


def fail_on_purpose(spec_path: str) -> dict:
    print("about to fail on purpose", file=sys.stderr, flush=True)
    raise ValueError(f"broken on purpose: {spec_path}")


def wait_for_release(spec_path: str) -> dict:
    """Block until ``<spec>.release`` exists (at most a minute, so nothing can linger)."""
    release = Path(spec_path + ".release")
    deadline = time.monotonic() + 60
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never appeared")
        time.sleep(0.1)
    return {"released_pid": os.getpid()}


def echo_env(spec_path: str) -> dict:
    keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
    return {"spec_path": spec_path, **{k: os.environ.get(k) for k in keys}}


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def job_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this module importable in the job's processes (they inherit the environment)."""
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), *([path] if path else [])]))


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"stage": "stage1", "steps": 3}))
    return path


def submitted_job_ids(folder: Path) -> set[str]:
    return {p.name.split("_")[0] for p in folder.glob("*_submitted.pkl")}


def wait_for(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout_s} s"
        time.sleep(0.05)


# --- local executor -------------------------------------------------------------------------


def test_two_ranks_return_rank0_result_and_a_rerun_takes_it_again(
    job_env, spec: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="skyforge.launch.dispatch")
    folder, record_path = tmp_path / "submitit", tmp_path / "out" / "job.json"
    kwargs = dict(
        nodes=1,
        gpus_per_node=0,
        tasks_per_node=2,
        folder=folder,
        job_record=record_path,
        job_name="t-allreduce",
        entry=f"{__name__}:all_reduce_ranks",
    )

    result = dispatch(spec, LOCAL, **kwargs)

    assert result == {
        "rank_sum": 0 + 1,
        "world_size": 2,
        "local_rank": 0,
        "spec": {"stage": "stage1", "steps": 3},
    }
    record = read_job_record(record_path)
    assert record["executor"] == "local" and record["state"] == "COMPLETED"
    assert record["spec_path"] == str(spec) and record["num_tasks"] == 2
    assert record["pid"] == int(record["job_id"])
    assert submitted_job_ids(folder) == {record["job_id"]}
    assert f"job {record['job_id']}: COMPLETED" in caplog.text
    # Each rank logged its place in the group to its own log.
    rank1_log = (folder / f"{record['job_id']}_1_log.err").read_text()
    assert "rank 1 of 2" in rank1_log

    # Snakemake restarted after the job finished: the result comes back, no second job.
    caplog.clear()
    assert dispatch(spec, LOCAL, **kwargs) == result
    assert submitted_job_ids(folder) == {record["job_id"]}
    assert read_job_record(record_path)["job_id"] == record["job_id"]
    assert f"job {record['job_id']} already completed" in caplog.text

    # The rule runs again because its output is stale: the completed job is not reused.
    assert dispatch(spec, LOCAL, reuse_completed=False, **kwargs) == result
    again = read_job_record(record_path)
    assert again["job_id"] != record["job_id"] and again["state"] == "COMPLETED"
    assert submitted_job_ids(folder) == {record["job_id"], again["job_id"]}
    assert record["job_id"] in json.dumps(again["previous_jobs"])


def test_failing_job_names_its_log_and_a_rerun_submits_anew(job_env, spec: Path, tmp_path: Path):
    folder, record_path = tmp_path / "submitit", tmp_path / "job.json"
    kwargs = dict(
        nodes=1,
        gpus_per_node=0,
        folder=folder,
        job_record=record_path,
        job_name="t-fail",
        entry=f"{__name__}:fail_on_purpose",
    )

    with pytest.raises(RuntimeError) as failure:
        dispatch(spec, LOCAL, **kwargs)

    record = read_job_record(record_path)
    log_path = folder / f"{record['job_id']}_0_log.err"
    first_line, tail = str(failure.value).split("\n", 1)
    assert f"job {record['job_id']} ended FAILED" in first_line
    assert str(log_path) in first_line
    # The tail is the end of the task's traceback: the error itself.
    assert tail.splitlines()[-1].startswith("ValueError: broken on purpose")
    assert len(tail.splitlines()) == 20
    assert "about to fail on purpose" in log_path.read_text()
    assert record["state"] == "FAILED"

    # A failed job is not re-attached to: the rerun is a new job, and the record keeps history.
    with pytest.raises(RuntimeError):
        dispatch(spec, LOCAL, **kwargs)
    second = read_job_record(record_path)
    assert second["job_id"] != record["job_id"]
    assert [p["job_id"] for p in second["previous_jobs"]] == [record["job_id"]]
    assert submitted_job_ids(folder) == {record["job_id"], second["job_id"]}


def test_restarted_dispatcher_re_attaches_to_the_running_job(
    job_env, spec: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Kill the dispatching process mid-wait, as a killed Snakemake would be: the job goes on,
    and the next dispatch waits for it instead of submitting a second one."""
    caplog.set_level(logging.INFO, logger="skyforge.launch.dispatch")
    folder, record_path = tmp_path / "submitit", tmp_path / "job.json"
    release = Path(str(spec) + ".release")
    args = dict(
        nodes=1,
        gpus_per_node=0,
        folder=str(folder),
        job_record=str(record_path),
        job_name="t-reattach",
        entry=f"{__name__}:wait_for_release",
    )
    code = (
        "import sys\n"
        "from skyforge.launch.dispatch import LaunchConfig, dispatch\n"
        "launch = LaunchConfig.with_defaults(executor='local', poll_interval_s=0.2, "
        "timeout_min=5, signal_delay_s=30)\n"
        f"dispatch({str(spec)!r}, launch, **{args!r})\n"
    )
    first = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_for(record_path, timeout_s=60)
        job_id = read_job_record(record_path)["job_id"]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        timer = threading.Timer(1.0, release.touch)
        timer.start()
        result = dispatch(spec, LOCAL, **args)
        timer.join()
    finally:
        release.touch()  # whatever failed above, let the job end
        if first.poll() is None:
            first.kill()

    assert result["released_pid"] > 0
    assert f"re-attached to job {job_id}" in caplog.text
    assert submitted_job_ids(folder) == {job_id}
    assert read_job_record(record_path)["state"] == "COMPLETED"


# --- debug executor -------------------------------------------------------------------------


def test_debug_runs_in_process_and_restores_the_environment(spec: Path, tmp_path: Path):
    before = dict(os.environ)
    result = dispatch(
        spec,
        LaunchConfig.with_defaults(executor="debug"),
        nodes=1,
        gpus_per_node=0,
        folder=tmp_path / "submitit",
        job_record=tmp_path / "job.json",
        job_name="t-debug",
        entry=f"{__name__}:echo_env",
    )
    assert result["spec_path"] == str(spec)
    assert (result["RANK"], result["WORLD_SIZE"], result["LOCAL_RANK"]) == ("0", "1", "0")
    assert result["MASTER_ADDR"] and result["MASTER_PORT"]
    assert dict(os.environ) == before
    assert read_job_record(tmp_path / "job.json")["state"] == "COMPLETED"


# --- configuration and executors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"executer": "slurm"}, "launch.executer"),
        ({"executor": "kubernetes"}, "launch.executor"),
        ({"timeout_min": "3d"}, "launch.timeout_min"),
        ({"timeout_min": True}, "launch.timeout_min"),
        ({"cpus_per_task": 0}, "launch.cpus_per_task"),
        ({"mem_gb": -1}, "launch.mem_gb"),
        ({"poll_interval_s": 0}, "launch.poll_interval_s"),
        ({"slurm_partition": ""}, "launch.slurm_partition"),
        ({"slurm_additional_parameters": ["exclusive"]}, "launch.slurm_additional_parameters"),
        ({"timeout_min": 2, "signal_delay_s": 120}, "launch.signal_delay_s"),
    ],
)
def test_bad_launch_config_names_the_key(data: dict, key: str):
    with pytest.raises(ValueError, match=f"config key '{key}'"):
        launch_config(data)


def test_launch_config_defaults_and_values():
    assert launch_config(None) == LaunchConfig.with_defaults() == launch_config({})
    launch = launch_config(
        {"executor": "slurm", "slurm_partition": "gpu", "mem_gb": 512, "poll_interval_s": 30}
    )
    assert (launch.executor, launch.slurm_partition, launch.mem_gb) == ("slurm", "gpu", 512)
    assert launch.timeout_min == 4320 and launch.signal_delay_s == 120


def test_local_and_debug_refuse_layouts_they_cannot_run(tmp_path: Path):
    layout = dict(tasks_per_node=1, gpus_per_node=0, folder=tmp_path, job_name="t")
    with pytest.raises(ValueError, match="'launch.executor'.*one node"):
        executor_for(LaunchConfig.with_defaults(executor="local"), nodes=2, **layout)
    with pytest.raises(ValueError, match="'launch.executor'.*world size 1"):
        executor_for(
            LaunchConfig.with_defaults(executor="debug"), nodes=1, **{**layout, "tasks_per_node": 2}
        )
    with pytest.raises(ValueError, match="one task per GPU"):
        dispatch(
            "spec.json",
            LaunchConfig.with_defaults(),
            nodes=1,
            gpus_per_node=8,
            tasks_per_node=4,
            folder=tmp_path,
            job_record=tmp_path / "job.json",
            job_name="t",
        )


def test_slurm_without_a_slurm_client_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun here
    with pytest.raises(ValueError, match="'launch.executor': 'slurm' but"):
        executor_for(
            LaunchConfig.with_defaults(executor="slurm"),
            nodes=1,
            tasks_per_node=1,
            gpus_per_node=1,
            folder=tmp_path,
            job_name="t",
        )


@pytest.fixture
def srun_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """submitit's SlurmExecutor only checks that `srun` is on PATH; nothing here calls it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def sbatch_text(executor) -> str:
    slurm = executor._executor  # the SlurmExecutor inside AutoExecutor
    return slurm._make_submission_file_text(slurm._submitit_command_str, "preview")


def test_slurm_sbatch_runs_one_srun_task_per_gpu(srun_on_path, tmp_path: Path):
    launch = launch_config(
        {
            "executor": "slurm",
            "slurm_partition": "a800",
            "slurm_account": "skywork",
            "mem_gb": 900,
            "cpus_per_task": 12,
            "signal_delay_s": 180,
            "slurm_additional_parameters": {"exclusive": True},
        }
    )
    executor = executor_for(
        launch, nodes=64, tasks_per_node=8, gpus_per_node=8, folder=tmp_path, job_name="stage1"
    )
    text = sbatch_text(executor)
    for line in (
        "#SBATCH --nodes=64",
        "#SBATCH --ntasks-per-node=8",
        "#SBATCH --gpus-per-node=8",
        "#SBATCH --cpus-per-task=12",
        "#SBATCH --signal=USR2@180",
        "#SBATCH --partition=a800",
        "#SBATCH --account=skywork",
        "#SBATCH --mem=900GB",
        "#SBATCH --time=4320",
        "#SBATCH --job-name=stage1",
        "#SBATCH --exclusive",
    ):
        assert line in text.splitlines(), f"{line!r} missing from\n{text}"
    command = text.splitlines()[-1]
    assert command.startswith("srun ") and "--kill-on-bad-exit=1" in command
    assert "submitit.core._submit" in command and "torchrun" not in text


def test_slurm_cpu_job_asks_for_no_gpus_and_no_account_by_default(srun_on_path, tmp_path: Path):
    executor = executor_for(
        LaunchConfig.with_defaults(executor="slurm"),
        nodes=1,
        tasks_per_node=2,
        gpus_per_node=0,
        folder=tmp_path,
        job_name="cpu",
    )
    text = sbatch_text(executor)
    assert "gpus" not in text and "gres" not in text and "--account" not in text
    assert "#SBATCH --ntasks-per-node=2" in text.splitlines()


def test_training_job_checkpoint_resubmits_the_same_spec():
    job = TrainingJob("/runs/stage1/spec.json", entry=f"{__name__}:echo_env")
    resubmission = job.checkpoint()
    assert isinstance(resubmission.function, TrainingJob)
    assert resubmission.function is not job
    assert (resubmission.function.spec_path, resubmission.function.entry) == (
        job.spec_path,
        job.entry,
    )
    with pytest.raises(ValueError, match="module:function"):
        TrainingJob("spec.json", entry="no_colon_here")
