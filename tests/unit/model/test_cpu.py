"""The CPU shim: each patch is still needed by megatron-core, applied once, and off with CUDA.

The megatron checks run in ONE subprocess (this file run as a script; importing megatron costs
~5 s): for each patch, the megatron operation it covers runs with every patch applied (must
work), with all patches but that one (must fail: otherwise megatron-core no longer needs the
patch and it should go), and with the patch applied again. The subprocess also checks that the
shim changes nothing when CUDA is reported available.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta

import pytest
import torch

from skyforge.model import cpu


def _current_device_op() -> None:
    from megatron.core.models.common.embeddings.rotary_pos_embedding import RotaryEmbedding

    RotaryEmbedding(kv_channels=8, rotary_percent=1.0)  # inv_freq on current_device()


def _synchronize_op() -> None:
    from megatron.core import parallel_state

    parallel_state.update_pg_timeout(timedelta(minutes=10))  # barrier, then synchronize()


def _rng_tracker_op() -> None:
    from megatron.core.tensor_parallel import get_cuda_rng_tracker, model_parallel_cuda_manual_seed

    model_parallel_cuda_manual_seed(123, force_reset_rng=True)
    with get_cuda_rng_tracker().fork():  # what DotProductAttention.forward does
        torch.rand(1)


def _device_mode_op() -> None:
    from megatron.core.optimizer.clip_grads import clip_grad_by_total_norm_fp32
    from megatron.core.optimizer.grad_scaler import ConstantGradScaler

    ConstantGradScaler(1.0)  # torch.tensor(..., device='cuda')
    param = torch.nn.Parameter(torch.ones(3))
    param.grad = torch.ones(3)
    clip_grad_by_total_norm_fp32([param], max_norm=1.0, total_norm=2.0)  # .type() assert


def _checkpoint_rng_op() -> None:
    from megatron.core.tensor_parallel import checkpoint

    x = torch.ones(3, requires_grad=True)
    checkpoint(lambda t: t * 2, False, x).sum().backward()  # recomputed in backward


OPS = {
    "current_device": _current_device_op,
    "synchronize": _synchronize_op,
    "rng_tracker": _rng_tracker_op,
    "device_mode": _device_mode_op,
    "checkpoint_rng": _checkpoint_rng_op,
}


def _error(op) -> str | None:  # noqa: ANN001
    try:
        op()
    except Exception as exc:  # noqa: BLE001 - any failure means the patch is needed
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def main() -> None:
    from megatron.core import parallel_state
    from megatron.core.tensor_parallel import random as tp_random

    original = {
        "current_device": torch.cuda.current_device,
        "synchronize": torch.cuda.synchronize,
        "tracker_class": tp_random.CudaRNGStatesTracker,
        "get_cuda_rng": tp_random._get_cuda_rng_state,
        "set_cuda_rng": tp_random._set_cuda_rng_state,
    }

    def undo(name: str) -> None:
        if name == "current_device":
            torch.cuda.current_device = original["current_device"]
        elif name == "synchronize":
            torch.cuda.synchronize = original["synchronize"]
        elif name == "rng_tracker":
            tp_random.CudaRNGStatesTracker = original["tracker_class"]
            tp_random._CUDA_RNG_STATE_TRACKER = None
            tp_random._CUDA_RNG_STATE_TRACKER_INITIALIZED = False
        elif name == "device_mode":
            cpu._mode.__exit__(None, None, None)
        elif name == "checkpoint_rng":
            tp_random._get_cuda_rng_state = original["get_cuda_rng"]
            tp_random._set_cuda_rng_state = original["set_cuda_rng"]
        cpu._applied.discard(name)

    # With CUDA reported present the shim must change nothing.
    real_is_available = torch.cuda.is_available
    torch.cuda.is_available = lambda: True
    noop = cpu.apply_cpu_shim() is False and not cpu.applied_patches()
    noop = noop and torch.cuda.current_device is original["current_device"]
    torch.cuda.is_available = real_is_available

    store = torch.distributed.FileStore(os.path.join(tempfile.mkdtemp(), "store"), 1)
    torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    parallel_state.initialize_model_parallel(1, 1)

    result: dict = {"noop_with_cuda": noop}
    cpu.apply_cpu_shim()
    for name, op in OPS.items():
        result[name] = {"with": _error(op)}
        undo(name)
        result[name]["without"] = _error(op)
        cpu._apply([name])
        result[name]["reapplied"] = _error(op)
    parallel_state.destroy_model_parallel()
    torch.distributed.destroy_process_group()
    json.dump(result, sys.stdout)


# ---------------------------------------------------------------------------------------------
# The tests (pytest side)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe() -> dict:
    """Run this file as the probe subprocess and parse its JSON."""
    proc = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_probe_covers_every_patch():
    assert set(OPS) == set(cpu.PATCHES)


@pytest.mark.parametrize("name", sorted(cpu.PATCHES))
def test_patch_makes_its_call_site_work(probe: dict, name: str):
    assert probe[name]["with"] is None
    assert probe[name]["reapplied"] is None


@pytest.mark.parametrize("name", sorted(cpu.PATCHES))
def test_megatron_still_needs_patch(probe: dict, name: str):
    assert probe[name]["without"] is not None, (
        f"megatron-core no longer needs the CPU patch {name!r}: remove it from train/cpu.py"
    )


def test_noop_when_cuda_is_available(probe: dict):
    assert probe["noop_with_cuda"]


def test_needed_patches_follow_cuda_availability(monkeypatch: pytest.MonkeyPatch):
    on_cpu = not torch.cuda.is_available()
    assert cpu.needed_patches() == {name: on_cpu for name in cpu.PATCHES}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not any(cpu.needed_patches().values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="the shim is a no-op with CUDA")
def test_idempotent():
    assert cpu.apply_cpu_shim()
    current_device, synchronize, mode = torch.cuda.current_device, torch.cuda.synchronize, cpu._mode
    assert cpu.apply_cpu_shim()
    assert cpu.applied_patches() == set(cpu.PATCHES)
    assert torch.cuda.current_device is current_device
    assert torch.cuda.synchronize is synchronize
    assert cpu._mode is mode  # the device mode is entered once, not stacked
    assert torch.cuda.current_device() == torch.device("cpu")
    assert torch.zeros(1, device="cuda").device.type == "cpu"


def test_unknown_patch_is_a_value_error():
    with pytest.raises(ValueError, match="unknown CPU patch 'nope'"):
        cpu._apply(["nope"])


def test_cpu_rng_tracker_streams():
    tracker = cpu.CpuRNGStatesTracker()
    tracker.add("a", 1)
    with pytest.raises(Exception, match="already exists"):
        tracker.add("b", 1)
    outer = torch.get_rng_state()
    with tracker.fork("a"):
        first = torch.rand(3)
    assert torch.equal(torch.get_rng_state(), outer)  # the caller's stream is untouched
    with tracker.fork("a"):
        second = torch.rand(3)
    # The stream continues across forks: two draws of 3 equal one draw of 6 from seed 1.
    expected = torch.rand(6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.cat([first, second]), expected)


if __name__ == "__main__":
    main()
