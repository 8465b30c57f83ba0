"""Checkpoints of a training run: megatron-core ``dist_checkpointing``, plus the run directory.

A checkpoint is one ``dist_checkpointing`` directory ``<run_dir>/checkpoints/iter_NNNNNNN``
holding the model, the ZeRO-1 sharded optimizer, the training state (iteration, consumed
samples, tokens seen, the stage's config hash) and every rank's RNG states. ``latest``, replaced
atomically once the save completed on all ranks, names the newest complete checkpoint, so a job
killed during a save resumes from the previous one (Megatron-LM's protocol).

The optimizer is saved ``dp_reshardable``: each rank writes its own shard without a gather, and
a job may resume on a different data-parallel size. megatron-core 0.16.1 needs a few things its
API does not say (the unwrapped model's state dict, the sharding type as metadata, empty Adam
state before a load, per-parameter ``step`` after it); docs/megatron-cpu.md lists them and why.
Rotation keeps the newest ``keep_last`` periodic checkpoints, the final one and every release
(a ``keep_at_tokens`` mark); nothing else is deleted.

See docs/training.md.
"""

from __future__ import annotations

import random
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import numpy as np
import torch
from megatron.core import dist_checkpointing
from megatron.core import parallel_state as ps
from megatron.core.dist_checkpointing.mapping import ShardedObject
from megatron.core.dist_checkpointing.strategies import filesystem_async

from skyforge.core.io import atomic_write_text

__all__ = [
    "LATEST",
    "OPTIMIZER_SHARDING",
    "checkpoint_path",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "rotate_checkpoints",
    "save_checkpoint",
]

LATEST = "latest"
OPTIMIZER_SHARDING = "dp_reshardable"
_ITER_RE = re.compile(r"^iter_(\d{7})$")
RELEASE_MARK = "RELEASE"
"""A file inside a checkpoint directory that rotation never deletes (its content: the reason)."""


def checkpoint_path(run_dir: str | Path, iteration: int) -> Path:
    """``<run_dir>/checkpoints/iter_NNNNNNN``."""
    return Path(run_dir) / "checkpoints" / f"iter_{iteration:07d}"


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run directory, or None."""
    tracker = Path(run_dir) / "checkpoints" / LATEST
    if not tracker.is_file():
        return None
    name = tracker.read_text(encoding="utf-8").strip()
    path = tracker.parent / name
    if not _ITER_RE.match(name) or not path.is_dir():
        raise ValueError(f"checkpoint tracker '{tracker}': names '{name}', which does not exist")
    return path


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Every ``iter_*`` checkpoint directory of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _ITER_RE.match(p.name))


def _rng_state() -> dict[str, Any]:
    # deferred: looked up at call time so the CPU shim's patch (model/cpu.py) applies
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    state = {
        "random": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "tracker": get_cuda_rng_tracker().get_states(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    # deferred: looked up at call time so the CPU shim's patch (model/cpu.py) applies
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    get_cuda_rng_tracker().set_states(state["tracker"])


def _sharded_state_dict(
    model: torch.nn.Module, optimizer: Any, train_state: dict[str, Any], *, is_loading: bool
) -> dict[str, Any]:

    unwrapped = getattr(model, "module", model)  # DDP → GPTModel
    sd: dict[str, Any] = {"model": unwrapped.sharded_state_dict()}
    sd["optimizer"] = optimizer.sharded_state_dict(
        sd, is_loading=is_loading, metadata={"distrib_optim_sharding_type": OPTIMIZER_SHARDING}
    )
    # One RNG state per model-parallel rank; data-parallel ranks are replicas (as Megatron-LM
    # saves them), so a resume with another DP size finds every state it needs.
    pp, tp = ps.get_pipeline_model_parallel_world_size(), ps.get_tensor_model_parallel_world_size()
    sd["rng_state"] = ShardedObject(
        "rng_state",
        _rng_state(),
        (pp, tp),
        (ps.get_pipeline_model_parallel_rank(), ps.get_tensor_model_parallel_rank()),
        replica_id=ps.get_data_parallel_rank(with_context_parallel=True),
    )
    sd["train_state"] = dict(train_state)
    return sd


def save_checkpoint(
    run_dir: str | Path,
    model: torch.nn.Module,
    optimizer: Any,
    train_state: dict[str, Any],
    *,
    release: str | None = None,
) -> Path:
    """Save a checkpoint on every rank (collective) and point ``latest`` at it.

    Args:
        run_dir: the run directory.
        model: this rank's model (DDP-wrapped or not).
        optimizer: the megatron optimizer.
        train_state: plain values saved once (rank 0): must hold ``iteration``.
        release: when set, the checkpoint is kept by rotation (the text says why).

    Returns:
        The checkpoint directory.
    """

    _start_writer_ignoring_signals()
    iteration = int(train_state["iteration"])
    path = checkpoint_path(run_dir, iteration)
    rank = torch.distributed.get_rank()
    if rank == 0:
        if path.exists():  # a save that died halfway: never referenced by `latest`
            shutil.rmtree(path)
        path.mkdir(parents=True)
    torch.distributed.barrier()
    sd = _sharded_state_dict(model, optimizer, train_state, is_loading=False)
    dist_checkpointing.save(
        sd, str(path), content_metadata={"distrib_optim_sharding_type": OPTIMIZER_SHARDING}
    )
    torch.distributed.barrier()
    if rank == 0:
        if release:
            atomic_write_text(path / RELEASE_MARK, release + "\n")
        atomic_write_text(path.parent / LATEST, path.name + "\n")
    torch.distributed.barrier()
    return path


_writer_started = False


def _start_writer_ignoring_signals() -> None:
    """Start megatron's checkpoint-writer helper process with SIGUSR2/SIGTERM ignored.

    ``dist_checkpointing.save`` keeps a helper process for the whole job (started at the first
    save by ``filesystem_async._get_write_results_queue``) with no handler for SLURM's signals.
    SLURM signals EVERY process of the job step before a time limit or preemption, so the
    helper died and the very checkpoint the signal asked for failed with ``BrokenPipeError``
    (found by tests/workflow/test_slurm_training.py). A child inherits ignored signals, so the
    helper is started here while they are ignored. This uses a private megatron-core 0.16.1
    function; the SLURM test fails if it stops working.
    """
    global _writer_started
    if _writer_started:
        return

    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGUSR2, signal.SIGTERM)}
    try:
        filesystem_async._get_write_results_queue()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    _writer_started = True


def load_checkpoint(
    path: str | Path, model: torch.nn.Module, optimizer: Any, *, load_optimizer: bool = True
) -> dict[str, Any]:
    """Load a checkpoint into this rank's model and optimizer (collective); restore the RNG.

    Args:
        path: a checkpoint directory written by :func:`save_checkpoint`.
        model: this rank's model (DDP-wrapped or not), built for the current layout.
        optimizer: the megatron optimizer of ``model``.
        load_optimizer: False loads the weights only (a fresh optimizer).

    Returns:
        The saved ``train_state``.

    Raises:
        ValueError: the directory is not a checkpoint, naming it.
    """

    path = Path(path)
    if not (path / "metadata.json").is_file():
        raise ValueError(f"checkpoint '{path}': not a dist_checkpointing directory")
    unwrapped = getattr(model, "module", model)
    if load_optimizer:
        _init_empty_adam_state(optimizer)
        sd = _sharded_state_dict(model, optimizer, {}, is_loading=True)
    else:
        sd = {"model": unwrapped.sharded_state_dict(), "train_state": {}}
    loaded = dist_checkpointing.load(sd, str(path))
    unwrapped.load_state_dict(loaded["model"])
    if load_optimizer:
        # With fp32 params the distributed optimizer's main params are views of the model's
        # leaf params; megatron copies into them in place, which autograd refuses outside
        # no_grad (Megatron-LM only loads bf16 runs, where they are separate tensors).
        with torch.no_grad():
            optimizer.load_state_dict(loaded["optimizer"])
        _restore_adam_steps(optimizer)
        _set_rng_state(loaded["rng_state"])
    # The DDP wrapper keeps its own fp32 copy only for grads; the distributed optimizer copies
    # its (loaded) master weights into the model's params at the next step, and the loaded
    # model weights above are those same values.
    return dict(loaded.get("train_state", {}))


def _inner_optimizers(optimizer: Any) -> list[torch.optim.Optimizer]:
    """The torch optimizers inside a megatron (possibly chained) optimizer."""
    inner = []
    for opt in getattr(optimizer, "chained_optimizers", [optimizer]):
        if getattr(opt, "optimizer", None) is not None:
            inner.append(opt.optimizer)
    return inner


def _init_empty_adam_state(optimizer: Any) -> None:
    """Zero Adam moments and step for every parameter that has no state yet.

    A freshly built optimizer has no state, and megatron's distributed optimizer cannot describe
    (nor receive) a checkpoint's state without it; the values are overwritten by the load.
    """
    for inner in _inner_optimizers(optimizer):
        for group in inner.param_groups:
            for p in group["params"]:
                state = inner.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_avg_sq"] = torch.zeros_like(p.data)
                    state["step"] = torch.zeros((), dtype=torch.float32)


def _restore_adam_steps(optimizer: Any) -> None:
    """Give each parameter the step count of its group (why: docs/megatron-cpu.md)."""
    for inner in _inner_optimizers(optimizer):
        for group in inner.param_groups:
            step = group.get("step")
            if step is None:
                continue
            for p in group["params"]:
                state = inner.state.get(p)
                if state is not None and "step" in state:
                    state["step"] = torch.as_tensor(step, dtype=state["step"].dtype)


def rotate_checkpoints(run_dir: str | Path, keep_last: int) -> list[Path]:
    """Delete periodic checkpoints beyond the newest ``keep_last`` (rank 0 only).

    Releases and the checkpoint ``latest`` names are never deleted.

    Returns:
        The deleted directories.
    """
    latest = latest_checkpoint(run_dir)
    periodic = [
        p for p in list_checkpoints(run_dir) if not (p / RELEASE_MARK).exists() and p != latest
    ]
    # `latest` counts as one of the kept ones.
    doomed = periodic[: max(0, len(periodic) - max(0, keep_last - 1))]
    for p in doomed:
        shutil.rmtree(p)
    return doomed


def checkpoint_bytes(path: str | Path) -> int:
    """Bytes on disk of a checkpoint directory."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def is_release(path: str | Path) -> bool:
    return (Path(path) / RELEASE_MARK).exists()


def release_reason(path: str | Path) -> str | None:
    mark = Path(path) / RELEASE_MARK
    return mark.read_text(encoding="utf-8").strip() if mark.exists() else None
