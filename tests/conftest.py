"""Shared test helpers: the repository root, a subprocess runner with a hard timeout, and the
`slurm_cluster` fixture that brings up the real multi-node SLURM of slurm/local-cluster.sh
(`SLURM_NODES`: node1..nodeN, N from SKYFORGE_SLURM_NODES, default 2).

Tests marked `slurm` take `slurm_cluster`. When the cluster cannot start (not root, no apt-get,
a daemon that fails) they are skipped with the script's own explanation, or fail instead when
SKYFORGE_REQUIRE_SLURM=1 (CI sets it where SLURM must be tested).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_CLUSTER_SCRIPT = REPO_ROOT / "slurm" / "local-cluster.sh"

# Installing the packages on a fresh machine takes ~30 s and the start itself ~20 s; a start
# that needs more than this is broken, not slow.
CLUSTER_START_TIMEOUT_S = 300
CLUSTER_STOP_TIMEOUT_S = 120

# The local cluster's nodes: each one a network + UTS namespace whose hostname is its name.
SLURM_NODE_COUNT = int(os.environ.get("SKYFORGE_SLURM_NODES", "2"))
SLURM_NODES = [f"node{i}" for i in range(1, SLURM_NODE_COUNT + 1)]


def describe(proc: subprocess.CompletedProcess) -> str:
    """Returns the command, exit code, stdout and stderr of ``proc`` for an assertion message."""
    return (
        f"$ {' '.join(map(str, proc.args))}\nexit code {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    )


def run(
    cmd: Sequence[str | os.PathLike],
    timeout: float,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Runs ``cmd`` under `timeout -s KILL` and captures its output as text.

    SIGKILL rather than SIGTERM because the SLURM executor plugin can ignore SIGTERM while it
    polls; a test must never hang.

    Args:
        cmd: the command and its arguments.
        timeout: seconds after which the command is killed (exit code 137).
        cwd: working directory; the repository root when None.
        env: extra environment variables, added to the current environment.
        check: when True, fail the test (with stdout and stderr shown) on a non-zero exit.

    Returns:
        The finished process, with ``stdout`` and ``stderr`` as strings.
    """
    proc = subprocess.run(
        ["timeout", "-s", "KILL", str(int(timeout)), *map(str, cmd)],
        cwd=REPO_ROOT if cwd is None else cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if check:
        assert proc.returncode == 0, describe(proc)
    return proc


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where Snakefile, slurm/ and config.yaml live)."""
    return REPO_ROOT


def _cluster_unavailable(reason: str) -> None:
    if os.environ.get("SKYFORGE_REQUIRE_SLURM") == "1":
        pytest.fail(
            f"SKYFORGE_REQUIRE_SLURM=1 but the local SLURM cluster is unavailable: {reason}"
        )
    pytest.skip(f"local SLURM cluster unavailable: {reason}")


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """A running local SLURM cluster (slurm/local-cluster.sh) with the nodes ``SLURM_NODES``
    for the whole session.

    `start --nodes N` is a no-op when that cluster is already up and restarts one with another
    node count. Stops it at the end only if this fixture started it; a cluster that was already
    up (with any node count) is left running.
    """
    if os.geteuid() != 0:
        _cluster_unavailable("slurm/local-cluster.sh needs root (it starts daemons, uses apt-get)")
    status = run(["bash", LOCAL_CLUSTER_SCRIPT, "status"], timeout=60)
    already_running = status.returncode == 0
    start = run(
        ["bash", LOCAL_CLUSTER_SCRIPT, "start", "--nodes", str(SLURM_NODE_COUNT)],
        timeout=CLUSTER_START_TIMEOUT_S,
    )
    if start.returncode != 0:
        _cluster_unavailable(f"`local-cluster.sh start` failed\n{describe(start)}")
    yield
    if not already_running:
        stop = run(["bash", LOCAL_CLUSTER_SCRIPT, "stop"], timeout=CLUSTER_STOP_TIMEOUT_S)
        assert stop.returncode == 0, describe(stop)


def train_loop(spec: str | os.PathLike, ranks: int, *extra: str, timeout: float = 300):
    """``python -m skyforge.train.loop SPEC`` on ``ranks`` processes (torchrun for 2 or more)."""
    import sys

    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(ranks)]
        if ranks > 1
        else [sys.executable]
    )
    return run([*launcher, "-m", "skyforge.train.loop", spec, *extra], timeout=timeout, check=True)


def metric_curve(run_dir: str | os.PathLike, name: str) -> dict[int, float]:
    """Step → value of one metric of a run directory's ``metrics.csv`` (each step once)."""
    import csv

    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["name"] == name]
    steps = [int(r["step"]) for r in rows]
    assert len(steps) == len(set(steps)), f"{name}: a step logged twice: {steps}"
    return {int(r["step"]): float(r["value"]) for r in rows}


CHROMIUM_INSTALL_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium, installed with apt-get when missing (as root, like SLURM).

    Skipped with the reason when it cannot be had; a failure instead when
    SKYFORGE_REQUIRE_CHROMIUM=1 (CI sets it).
    """
    import shutil

    def unavailable(reason: str) -> None:
        if os.environ.get("SKYFORGE_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"SKYFORGE_REQUIRE_CHROMIUM=1 but Chromium is unavailable: {reason}")
        pytest.skip(f"Chromium unavailable: {reason}")

    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        unavailable("no chromium on PATH, and installing Debian's needs root and apt-get")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ):
        proc = run(cmd, timeout=CHROMIUM_INSTALL_TIMEOUT_S, env=env)
        if proc.returncode != 0:
            unavailable(f"`{' '.join(cmd)}` failed\n{describe(proc)}")
    found = shutil.which("chromium")
    if not found:
        unavailable("apt-get installed chromium but it is not on PATH")
    return found


@pytest.fixture(scope="session")
def default_dag_run(tmp_path_factory: pytest.TempPathFactory):
    """The whole DAG on the embedded default config.yaml, run once for the session.

    Returns:
        (working directory, the finished snakemake process). Tests may read the results; a
        test that reruns rules must only touch what no other test reads (e.g. the plan).
    """
    import sys

    workdir = tmp_path_factory.mktemp("default-dag")
    proc = run(
        [sys.executable, "-m", "snakemake", "-s", REPO_ROOT / "Snakefile", "--cores", "2"],
        timeout=1200,
        cwd=workdir,
    )
    assert proc.returncode == 0, describe(proc)
    return workdir, proc


@pytest.fixture(scope="module")
def megatron_one_rank(tmp_path_factory: pytest.TempPathFactory):
    """A 1-rank gloo group, megatron parallel state TP1/PP1 and seeded RNG streams, on CPU
    with the shim of train/cpu.py (for the megatron-core model tests)."""
    import torch
    from megatron.core import parallel_state
    from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

    from skyforge.model.cpu import apply_cpu_shim

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: extra threads only add contention
    apply_cpu_shim()
    own_group = not torch.distributed.is_initialized()
    if own_group:
        store = torch.distributed.FileStore(
            os.path.join(tmp_path_factory.mktemp("dist"), "store"), 1
        )
        torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    parallel_state.initialize_model_parallel(1, 1)
    model_parallel_cuda_manual_seed(1234, force_reset_rng=True)
    try:
        yield
    finally:
        parallel_state.destroy_model_parallel()
        if own_group:
            torch.distributed.destroy_process_group()
        torch.set_num_threads(threads)
