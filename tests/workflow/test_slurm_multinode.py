"""The training job across nodes of the real local SLURM cluster (slurm/local-cluster.sh with 2
nodes): `dispatch` submits the tiny stage-1 session as one submitit job of 2 nodes × 2 gloo ranks,
each node a namespace of its own with its own hostname and address. The ranks meet at the
allocation's first node on a port derived from the job id, never at localhost, and the loss and
validation curves must equal the same layout run on one node (the local executor, 4 ranks).

Layouts: DP 4 (a plain run), and PP 2 × DP 2 (the two pipeline stages on different nodes: ranks
0, 1 on node1 hold the first stage, 2, 3 on node2 the last) through a node failure and a killed
dispatcher. Then what the cluster cannot give: a partition too small for the job, nodes short of
GPUs, a node that never comes up.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import signal
import subprocess
import sys
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


def _check_placement(job_id: str, folder: Path) -> None:
    """Two nodes, two ranks each, all meeting at node1 on the port derived from the job id
    (every run of the job, a requeued one included), and the srun step on both nodes."""
    nodes = _allocated_nodes(job_id)
    assert len(nodes) == NODES, nodes
    expected_addr, expected_port = rendezvous(nodes, job_id)
    assert expected_addr == nodes[0] != "localhost"
    for rank in range(NODES * TASKS_PER_NODE):
        log = (folder / f"{job_id}_{rank}_log.err").read_text(encoding="utf-8")
        found = RANK_RE.findall(log)
        assert found, f"task {rank} logged no rendezvous line:\n{log[-2000:]}"
        for line in found:
            assert (int(line[0]), int(line[1])) == (rank, 4), line
            assert (line[2], int(line[3])) == (expected_addr, expected_port), line
    steps = subprocess.run(
        ["timeout", "-s", "KILL", "30", "sacct", "-n", "-P", "-o", "JobID,NodeList", "-j", job_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert any(line.endswith("node[1-2]") for line in steps.splitlines()), steps


def _check_curves(got_dir: Path, want_dir: Path) -> None:
    """Every curve (train/loss and each val/*) of two runs, step for step, within TOLERANCE."""
    got, want = _curves(got_dir), _curves(want_dir)
    assert sorted(got) == sorted(want)
    for name in want:
        assert sorted(got[name]) == sorted(want[name]), name
        diff = max(abs(got[name][s] - want[name][s]) for s in want[name])
        assert diff <= TOLERANCE, f"{name} differs by up to {diff} between 2 nodes and 1"


# PP 2 × DP 2 over the two nodes (the pipeline stages on different nodes) is the layout of
# test_node_failure_and_driver_kill_lose_nothing below, which checks the same placement and every
# curve against one node across a node failure; here the plain run of the DP 4 layout.
@pytest.mark.skipif(SLURM_NODE_COUNT < NODES, reason="needs a local cluster of 2 nodes or more")
@pytest.mark.parametrize(("pipeline", "data"), [(1, 4)], ids=["dp4"])
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

    _check_placement(job_id, multi.parent / "submitit")

    # Checkpoints on the path all nodes share; the final one is the manifest's.
    ckpt = Path(manifest["checkpoint"])
    ckpt = ckpt if ckpt.is_absolute() else tmp_path / ckpt
    assert ckpt.is_dir() and ckpt.name == f"iter_{NUM_STEPS:07d}", ckpt

    reference = _run(single, LOCAL, 1, 4, f"skyforge-test-pp{pipeline}dp{data}-one-node")
    _check_curves(
        tmp_path / "slurm" / "checkpoints" / STAGE, tmp_path / "local" / "checkpoints" / STAGE
    )
    assert manifest["final_metrics"] == pytest.approx(reference["final_metrics"], abs=TOLERANCE)


# --- a node dies under the running job, and its dispatcher with it ------------------------

# The dispatcher as a GPU rule runs it: a process of its own, which the test kills (SIGKILL to its
# process group: the Snakemake driver and the rule's process die together, the job lives on).
DRIVER = """
import logging, sys
from skyforge.launch.dispatch import dispatch
from skyforge.launch.executors import launch_config
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
spec, folder, record, name = sys.argv[1:5]
launch = launch_config({"executor": "slurm", "slurm_partition": "cpu", "slurm_account": "root",
                        "timeout_min": 30, "signal_delay_s": 60, "mem_gb": 2,
                        "poll_interval_s": 1})
dispatch(spec_path=spec, launch=launch, nodes=2, gpus_per_node=0, tasks_per_node=2,
         folder=folder, job_record=record, job_name=name)
"""
NODEFAIL_NAME = "skyforge-test-nodefail"


def _slurm_out(*cmd: str) -> str:
    proc = subprocess.run(
        ["timeout", "-s", "KILL", "60", *cmd], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"$ {' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr}"
    return proc.stdout


def _wait(what: str, probe, timeout_s: float, job=None, step_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        if isinstance(job, subprocess.Popen) and job.poll() is not None:
            raise AssertionError(f"the dispatcher ended before {what}: exit {job.returncode}")
        if isinstance(job, threading.Thread) and not job.is_alive():
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
            self.manifest = _run(self.spec, SLURM, NODES, TASKS_PER_NODE, NODEFAIL_NAME)
        except BaseException as error:  # handed to the test thread
            self.error = error


@pytest.mark.skipif(SLURM_NODE_COUNT < NODES, reason="needs a local cluster of 2 nodes or more")
def test_node_failure_and_driver_kill_lose_nothing(
    slurm_cluster: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two faults in one running 2-node job, as they come on a cluster: the dispatcher (the
    rule's process, with the Snakemake driver) is killed, then node2's slurmd and the job's
    tasks on it. SLURM marks the node down, ends the run NODE_FAIL and requeues the job under
    the same id (JobRequeue=1); a new dispatcher re-attaches to it (no second job); once node2
    is back the job resumes from the last checkpoint and its curve equals an uninterrupted run
    of the same spec."""
    workspace = make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MASTER_ADDR", "localhost")  # must not leak into the job
    # Validation at every step slows the steps enough that the kills land mid-run.
    spec = _spec(tmp_path, "slurm", workspace["tokenizer"], 2, 2, eval_interval=1, save=4)
    reference = _spec(tmp_path, "local", workspace["tokenizer"], 2, 2, eval_interval=1, save=4)
    record = spec.parent / "job.json"
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    driver_log = (tmp_path / "driver.log").open("w")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), str(spec.parent / "submitit"), str(record)]
        + [NODEFAIL_NAME],
        stderr=driver_log,
        start_new_session=True,
    )
    job: _Dispatch | None = None
    job_id = ""
    try:
        job_id = _wait("the job record", record.is_file, 60, driver) and str(
            read_job_record(record)["job_id"]
        )
        latest = spec.parent / "checkpoints" / STAGE / "checkpoints" / "latest"
        _wait("the first checkpoint", latest.is_file, 240, driver, step_s=0.05)
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(30)
        assert "JobState=RUNNING" in _slurm_out("scontrol", "show", "job", "-o", job_id)

        _slurm_out("bash", str(LOCAL_CLUSTER_SCRIPT), "fail-node", "node2")
        _wait(
            "SLURM to requeue the job",
            lambda: "Restarts=1" in _slurm_out("scontrol", "show", "job", "-o", job_id),
            120,
            step_s=0.5,
        )
        # The rerun's dispatcher, while the job waits for its node: it re-attaches.
        with caplog.at_level(logging.INFO, logger="skyforge.launch.dispatch"):
            job = _Dispatch(spec)
            job.start()
            _wait(
                "the new dispatcher to re-attach",
                lambda: f"re-attached to job {job_id}" in caplog.text,
                60,
                job,
            )
            _slurm_out("bash", str(LOCAL_CLUSTER_SCRIPT), "start-node", "node2")
            job.join(JOB_TIMEOUT_S)
        assert not job.is_alive(), f"still waiting for job {job_id} after the requeue"
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver_log.close()
        subprocess.run(["bash", str(LOCAL_CLUSTER_SCRIPT), "start-node", "node2"], check=False)
        if job is not None and job.is_alive() or job is None and job_id:
            subprocess.run(["timeout", "-s", "KILL", "30", "scancel", job_id], check=False)
            if job is not None:
                job.join(60)
    if job.error is not None:
        raise job.error
    manifest = job.manifest
    assert manifest["iteration"] == NUM_STEPS
    final = read_job_record(record)
    assert final["job_id"] == job_id and final["previous_jobs"] == [], final
    # One job of that name since the test began: re-attached, never submitted twice.
    ids = _slurm_out("sacct", "-X", "-n", "-P", "-S", since, "--name", NODEFAIL_NAME, "-o", "JobID")
    assert ids.split() == [job_id], ids
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

    # PP 2 × DP 2: ranks 0, 1 (the first pipeline stage) on node1, 2, 3 on node2, meeting at
    # node1 in both runs of the job.
    _check_placement(job_id, spec.parent / "submitit")

    expected = _run(reference, LOCAL, 1, 4, "skyforge-test-nodefail-reference")
    got = _curves(tmp_path / "slurm" / "checkpoints" / STAGE)["train/loss"]
    assert sorted(got) == list(range(1, NUM_STEPS + 1))
    _check_curves(
        tmp_path / "slurm" / "checkpoints" / STAGE, tmp_path / "local" / "checkpoints" / STAGE
    )
    assert manifest["final_metrics"] == pytest.approx(expected["final_metrics"], abs=TOLERANCE)


# --- what the cluster cannot give ------------------------------------------------------------


def _named_jobs(name: str) -> list[str]:
    return _slurm_out("squeue", "-h", "-t", "all", "--name", name, "-o", "%i").split()


@pytest.mark.skipif(SLURM_NODE_COUNT < NODES, reason="needs a local cluster of 2 nodes or more")
@pytest.mark.parametrize(
    ("nodes", "gpus", "message"),
    [
        (
            SLURM_NODE_COUNT + 1,
            0,
            f"config key 'cluster.nodes': job '{{name}}' asks for {SLURM_NODE_COUNT + 1} nodes, "
            f"but partition 'cpu' has {SLURM_NODE_COUNT} "
            f"({', '.join(f'node{i}' for i in range(1, SLURM_NODE_COUNT + 1))})",
        ),
        (
            2,
            4,
            "config key 'cluster.gpus_per_node': job '{name}' asks for 2 nodes of 4 GPUs, but "
            f"only 0 of the {SLURM_NODE_COUNT} nodes of partition 'cpu' have that many (short: "
            "node1 (2 GPUs), node2 (2 GPUs)",
        ),
    ],
    ids=["more-nodes-than-the-partition", "fewer-gpus-than-asked"],
)
def test_a_job_the_partition_cannot_run_is_refused_before_submitting(
    slurm_cluster: None, tmp_path: Path, nodes: int, gpus: int, message: str
) -> None:
    name = f"skyforge-test-refused-{nodes}x{gpus}"
    spec = tmp_path / "spec.json"
    spec.write_text("{}", encoding="utf-8")  # never read: nothing may be submitted
    with pytest.raises(ValueError) as error:
        dispatch(
            spec_path=spec,
            launch=SLURM,
            nodes=nodes,
            gpus_per_node=gpus,
            folder=tmp_path / "submitit",
            job_record=tmp_path / "job.json",
            job_name=name,
        )
    assert str(error.value).startswith(message.format(name=name)), str(error.value)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "job.json").exists() and not (tmp_path / "submitit").exists()
    assert _named_jobs(name) == []


@pytest.mark.skipif(SLURM_NODE_COUNT < NODES, reason="needs a local cluster of 2 nodes or more")
def test_a_job_whose_node_never_comes_up_fails_with_one_line(
    slurm_cluster: None, tmp_path: Path
) -> None:
    """node2 is drained (as a node health check leaves a broken node; a DOWN node whose slurmd
    still answers returns to service by itself here, ReturnToService=2): a 2-node job pends
    forever. The dispatcher gives up after launch.unavailable_timeout_min, cancels the job and
    names it, its state and the reason."""
    name = "skyforge-test-node-down"
    spec = tmp_path / "spec.json"
    spec.write_text("{}", encoding="utf-8")  # the job is cancelled before it can start
    launch = dataclasses.replace(SLURM, unavailable_timeout_min=0.1)
    _slurm_out("scontrol", "update", "NodeName=node2", "State=DRAIN", "Reason=skyforge-test")
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeError) as error:
            dispatch(
                spec_path=spec,
                launch=launch,
                nodes=2,
                gpus_per_node=0,
                tasks_per_node=1,
                folder=tmp_path / "submitit",
                job_record=tmp_path / "job.json",
                job_name=name,
            )
        took = time.monotonic() - started
    finally:
        _slurm_out("scontrol", "update", "NodeName=node2", "State=RESUME")
        # Resumed, it answers slurmctld's next ping (idle* for a few seconds, then idle).
        _wait(
            "node2 back in service",
            lambda: "node2 idle\n" in _slurm_out("sinfo", "-N", "-h", "-o", "%N %T"),
            60,
            step_s=0.5,
        )
    job_id = read_job_record(tmp_path / "job.json")["job_id"]
    text = str(error.value)
    assert "\n" not in text
    assert re.fullmatch(
        rf"job {job_id} PENDING for \S+ on nodes that never came up \("
        r"(ReqNodeNotAvail|Nodes required for job are DOWN|Resources).*; node2 drained\): "
        r"cancelled it after launch\.unavailable_timeout_min = 0\.1; bring the nodes back "
        r"\(sinfo -R\) and rerun",
        text,
    ), text
    assert took < 60, f"gave up after {took:.0f} s, the bound is 6 s plus polls"
    assert read_job_record(tmp_path / "job.json")["state"] == "CANCELLED"
    state = _wait(
        "the job to be cancelled",
        lambda: _slurm_out("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T").strip(),
        30,
    )
    assert state == "CANCELLED", state


@pytest.mark.parametrize(
    ("gpu_partition", "message"),
    [
        (
            "nosuch",
            r"rule \w+: config key 'launch.gpu_partition': SLURM has no partition 'nosuch' "
            r"\(partitions: cpu\)",
        ),
        (
            "cpu",
            r"rule eval_(benchmarks|ablation): config key 'launch.gpu_partition': asks for 8 GPUs "
            r"on one node, but no node of partition 'cpu' has that many \(nodes: node1 \(2 GPUs\)",
        ),
    ],
    ids=["no-such-partition", "partition-without-enough-gpus"],
)
def test_a_model_rule_partition_without_its_gpus_fails_the_dry_run(
    slurm_cluster: None, tmp_path: Path, gpu_partition: str, message: str
) -> None:
    """`snakemake -n --profile slurm` of the cluster preset on this cluster: a GPU partition that
    does not exist, or whose nodes have fewer GPUs than a model rule asks for (the benchmarks:
    one worker per GPU of an 8-GPU node), is one line naming the rule and the key."""
    repo = Path(__file__).resolve().parents[2]
    extra = tmp_path / "partition.yaml"
    extra.write_text(f"launch:\n  gpu_partition: {gpu_partition}\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-s",
            str(repo / "Snakefile"),
            "--profile",
            str(repo / "slurm"),
            "--configfile",
            str(repo / "presets" / "a800_512.yaml"),
            str(extra),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    found = re.search(message, proc.stdout + proc.stderr)
    assert found, proc.stderr[-2000:]
    line = next(x for x in (proc.stdout + proc.stderr).splitlines() if found.group(0) in x)
    assert "Traceback" not in proc.stderr
    print(line)
