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
from pathlib import Path

import pytest
from conftest import SLURM_NODE_COUNT

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


def _spec(root: Path, name: str, tokenizer: Path, pipeline: int, data: int) -> Path:
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
            save_interval_steps=8, eval_interval_steps=4, checkpoint_dir=str(base / "checkpoints")
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
