"""Run megatron-core 0.16.1 on CPU (gloo): the few CUDA calls it makes, redirected to the CPU.

megatron-core has no CPU mode: it allocates on ``torch.cuda.current_device()``, synchronises the
GPU in pipeline communication, keeps its model-parallel RNG streams on the CUDA generator and
writes ``device="cuda"`` literally in its optimizer and schedules. No flag or environment
variable turns any of that off (docs/megatron-cpu.md lists what was measured), so
:func:`apply_cpu_shim` redirects exactly those calls, process-wide, and only when CUDA is absent:
the training code is the same on a laptop and on the cluster.

Each patch has a name (:data:`PATCHES`); ``tests/unit/model/test_cpu.py`` switches each one off
in turn and checks that the megatron call site it covers still fails without it, so a patch that
megatron-core stops needing is noticed instead of kept forever.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["PATCHES", "CpuRNGStatesTracker", "apply_cpu_shim", "applied_patches", "needed_patches"]

PATCHES: dict[str, str] = {
    "current_device": "torch.cuda.current_device() -> CPU device (new tensors: RoPE inv_freq, "
    "attention buffers, DDP buffers, pipeline receive buffers)",
    "synchronize": "torch.cuda.synchronize() -> no-op (pipeline p2p, parallel_state, checkpoints)",
    "rng_tracker": "model-parallel RNG tracker on the CPU generator (attention forward, weight "
    "init, model_parallel_cuda_manual_seed)",
    "device_mode": "TorchFunctionMode: device='cuda', .cuda(), pin_memory and "
    "Tensor.type() == 'torch.cuda.*' checks -> CPU (optimizer, grad clipping, schedules)",
    "checkpoint_rng": "the CUDA generator state saved and restored around recomputed "
    "activations (tensor_parallel.checkpoint, parallel.recompute) -> nothing to save",
}
"""Name → what the patch redirects (and the megatron-core call sites that need it)."""

_applied: set[str] = set()
_mode: TorchFunctionMode | None = None


def needed_patches() -> dict[str, bool]:
    """Which patches this process needs: all of them without CUDA, none with CUDA."""
    on_cpu = not torch.cuda.is_available()
    return {name: on_cpu for name in PATCHES}


def applied_patches() -> frozenset[str]:
    """Names of the patches applied so far in this process."""
    return frozenset(_applied)


def apply_cpu_shim() -> bool:
    """Redirect megatron-core's CUDA calls to the CPU; a no-op when CUDA is available.

    Idempotent: a second call changes nothing. Call it before building the model and before
    ``model_parallel_cuda_manual_seed``.

    Returns:
        True when the shim is active in this process (CPU only), False when CUDA is used.
    """
    if torch.cuda.is_available():
        return False
    _apply(PATCHES)
    # fp32 params (CPU only; GPUs train in bf16) make the distributed optimizer's main params
    # views of the model's params, and megatron reads their .grad once per step to hand the
    # reduced grads over: torch warns about a non-leaf .grad although megatron sets it itself.
    warnings.filterwarnings(
        "ignore", message="The .grad attribute of a Tensor that is not a leaf", category=UserWarning
    )
    return True


def _apply(names: Iterable[str]) -> None:
    """Apply the named patches (each at most once). Tests use it to leave one patch out."""
    global _mode
    for name in names:
        if name in _applied:
            continue
        if name not in PATCHES:
            raise ValueError(f"unknown CPU patch {name!r}; known: {sorted(PATCHES)}")
        if name == "current_device":
            # megatron passes device=torch.cuda.current_device() to new tensors, e.g.
            # RotaryEmbedding.__init__ / get_freqs (inv_freq), DotProductAttention and
            # Attention buffers, MegatronModule, DDP param_and_grad_buffer, p2p receive buffers.
            torch.cuda.current_device = _cpu_device
        elif name == "synchronize":
            # pipeline_parallel/p2p_communication._communicate (after batch_isend_irecv),
            # parallel_state.update_pg_timeout, the dist_checkpointing writer: CPU ops are
            # synchronous, so there is nothing to wait for.
            torch.cuda.synchronize = _no_sync
        elif name == "rng_tracker":
            _install_cpu_rng_tracker()
        elif name == "checkpoint_rng":
            # tensor_parallel.random._get_all_rng_states / _set_all_rng_states (the activation
            # checkpoint's forward and backward) save the CPU generator, the CUDA generator and
            # the tracker's streams; without CUDA there is no CUDA generator to save.
            # deferred: heavy import (megatron), only for this path
            from megatron.core.tensor_parallel import random as tp_random

            tp_random._get_cuda_rng_state = _no_cuda_rng_state
            tp_random._set_cuda_rng_state = _no_sync
        elif name == "device_mode":
            # Literal device='cuda' in optimizer/grad_scaler.py, optimizer/clip_grads.py,
            # optimizer/optimizer.py, pipeline_parallel/schedules.py (total_num_tokens), .cuda()
            # in distrib_optimizer.py, pin_memory in checkpointing. A mode (not a patch of each
            # factory) catches all of them; entered once and never left, so it is process-wide
            # for the main thread (modes are thread-local: other threads see plain torch).
            _mode = _CudaToCpuMode()
            _mode.__enter__()
        _applied.add(name)


def _cpu_device(*_: Any) -> torch.device:
    return torch.device("cpu")


def _no_sync(*_: Any, **__: Any) -> None:
    return None


def _no_cuda_rng_state(*_: Any, **__: Any) -> torch.Tensor:
    return torch.empty(0, dtype=torch.uint8)


# ---------------------------------------------------------------------------------------------
# The model-parallel RNG tracker
# ---------------------------------------------------------------------------------------------


class CpuRNGStatesTracker:
    """Named RNG streams on the CPU generator, with megatron's ``CudaRNGStatesTracker`` API.

    megatron forks the tensor-parallel stream on every attention forward
    (``DotProductAttention.forward``: ``get_cuda_rng_tracker().fork()``, even at dropout 0) and
    for weight init (``layers._initialize_affine_weight_gpu``); its own tracker reads and writes
    ``torch.cuda`` RNG states, which do not exist without CUDA.
    """

    def __init__(self, use_cudagraphable_rng: bool = False, is_inference_rng_tracker: bool = False):
        self.use_cudagraphable_rng = use_cudagraphable_rng
        self.is_inference_rng_tracker = is_inference_rng_tracker
        self.reset()

    def is_initialized(self) -> bool:
        """Whether a state was added or set."""
        return self._is_initialized

    def reset(self) -> None:
        """Forget every stream."""
        self._is_initialized = False
        self.states_: dict[str, torch.Tensor] = {}
        self.seeds_: set[int] = set()

    def get_states(self) -> dict[str, torch.Tensor]:
        """A copy of the name → generator-state map (for checkpoints)."""
        return dict(self.states_)

    def set_states(self, states: dict[str, torch.Tensor]) -> None:
        """Restore streams saved by :meth:`get_states`."""
        self._is_initialized = True
        self.states_ = states

    def add(self, name: str, seed: int) -> None:
        """Start a stream ``name`` seeded with ``seed`` (megatron's duplicate checks kept)."""
        self._is_initialized = True
        if seed in self.seeds_:
            raise Exception(f"seed {seed} already exists")
        if name in self.states_:
            raise Exception(f"rng state {name} already exists")
        self.seeds_.add(seed)
        self.states_[name] = torch.Generator().manual_seed(seed).get_state()

    @contextlib.contextmanager
    def fork(self, name: str = "model-parallel-rng") -> Iterator[None]:
        """Run the block on stream ``name``, then give the CPU generator back its own state."""
        if name not in self.states_:
            raise Exception(f"rng state {name} is not added")
        outer = torch.get_rng_state()
        torch.set_rng_state(self.states_[name])
        try:
            yield
        finally:
            self.states_[name] = torch.get_rng_state()
            torch.set_rng_state(outer)


def _install_cpu_rng_tracker() -> None:
    # deferred: heavy import (megatron), only for this path
    from megatron.core.tensor_parallel import random as tp_random

    # initialize_rng_tracker (called by get_cuda_rng_tracker and model_parallel_cuda_manual_seed)
    # looks the class up in its module at call time, so this makes every new tracker a CPU one;
    # model_parallel_cuda_manual_seed's own torch.cuda.manual_seed is queued lazily by torch and
    # never runs without CUDA.
    tp_random.CudaRNGStatesTracker = CpuRNGStatesTracker
    if tp_random._CUDA_RNG_STATE_TRACKER is not None and not isinstance(
        tp_random._CUDA_RNG_STATE_TRACKER, CpuRNGStatesTracker
    ):
        # A tracker made before the shim cannot hold states (adding one needs CUDA): replace it.
        tp_random._CUDA_RNG_STATE_TRACKER = CpuRNGStatesTracker()


# ---------------------------------------------------------------------------------------------
# The device mode
# ---------------------------------------------------------------------------------------------


def _is_cuda(device: Any) -> bool:
    if isinstance(device, torch.device):
        return device.type == "cuda"
    if isinstance(device, str):
        return device.startswith("cuda")
    return False


class _CudaToCpuMode(TorchFunctionMode):
    """Maps every CUDA device request of a torch call to the CPU."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.cuda or func is torch.Tensor.pin_memory:
            return args[0]
        if func is torch.Tensor.type and len(args) == 1 and not kwargs:
            # clip_grads.clip_grad_by_total_norm_fp32 asserts 'torch.cuda.FloatTensor'.
            return func(*args).replace("torch.", "torch.cuda.", 1)
        if _is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        if kwargs.get("pin_memory"):
            kwargs["pin_memory"] = False
        if func is torch.Tensor.to:
            args = tuple("cpu" if _is_cuda(a) else a for a in args)
        return func(*args, **kwargs)
