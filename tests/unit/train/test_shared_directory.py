"""The shared-directory check every training job runs before its first step: two real gloo ranks
(two processes) that see the run directory as one directory pass; ranks that each see a directory
of their own (node-local storage, as when `checkpoints.dir` is /tmp on every node) all fail with
the same one line, instead of one failing and the other waiting in the next collective."""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
from pathlib import Path

import torch

from skyforge.train.distributed import check_shared_directory

WORLD = 2


def _rank(rank: int, store_path: str, directories: list[str], answers: mp.Queue) -> None:
    store = torch.distributed.FileStore(store_path, WORLD)
    torch.distributed.init_process_group("gloo", store=store, rank=rank, world_size=WORLD)
    try:
        check_shared_directory(directories[rank], "config key 'checkpoints.dir': run directory")
        answers.put((rank, None))
    except RuntimeError as error:
        answers.put((rank, str(error)))
    finally:
        torch.distributed.destroy_process_group()


def _check(tmp_path: Path, directories: list[Path]) -> dict[int, str | None]:
    ctx = mp.get_context("spawn")
    answers = ctx.Queue()
    procs = [
        ctx.Process(
            target=_rank, args=(r, str(tmp_path / "store"), [str(d) for d in directories], answers)
        )
        for r in range(WORLD)
    ]
    for proc in procs:
        proc.start()
    out = dict(answers.get(timeout=120) for _ in range(WORLD))
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    return out


def test_one_directory_for_all_ranks_passes_and_leaves_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    assert _check(tmp_path, [run_dir, run_dir]) == {0: None, 1: None}
    assert os.listdir(run_dir) == []  # the probe file is removed


def test_a_directory_per_node_fails_on_every_rank_with_one_line(tmp_path: Path) -> None:
    seen_by_rank0, seen_by_rank1 = tmp_path / "node1", tmp_path / "node2"
    seen_by_rank0.mkdir()
    seen_by_rank1.mkdir()
    errors = _check(tmp_path, [seen_by_rank0, seen_by_rank1])
    assert errors[0] == errors[1] is not None
    message = errors[0]
    assert "\n" not in message
    host = socket.gethostname()
    assert message == (
        f"config key 'checkpoints.dir': run directory {seen_by_rank0} is not shared by all "
        f"nodes: {host} cannot read the file rank 0 wrote there on {host}; put it on a "
        "filesystem every node mounts at the same path"
    )
    assert os.listdir(seen_by_rank0) == os.listdir(seen_by_rank1) == []


def test_a_single_process_checks_its_own_directory(tmp_path: Path) -> None:
    store = torch.distributed.FileStore(str(tmp_path / "store1"), 1)
    torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        check_shared_directory(tmp_path, "run directory")
    finally:
        torch.distributed.destroy_process_group()
    assert not list(tmp_path.glob(".shared-check-*"))
