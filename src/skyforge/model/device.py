"""Where the model rules (HF export check, eval tables, generation) run: the node's GPU in bf16
when it has one, the CPU in fp32 otherwise (the embedded default, a laptop).

One place decides, so that every model rule of a SLURM job that was given a GPU (gres, see
``skyforge.plan.resources``) uses it, and the same code runs unchanged on CPU.
"""

from __future__ import annotations

import os

import torch

__all__ = ["inference_device", "inference_dtype"]


def inference_device() -> torch.device:
    """The first visible CUDA device (SLURM's gres sets CUDA_VISIBLE_DEVICES), else the CPU.

    ``SKYFORGE_INFERENCE_DEVICE=cpu`` forces the CPU (e.g. to compare against a GPU run).
    """
    forced = os.environ.get("SKYFORGE_INFERENCE_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")


def inference_dtype(device: torch.device | str) -> torch.dtype:
    """bf16 on a GPU that supports it (half the memory, the cluster's training dtype), fp32 on
    the CPU (where bf16 matmuls are slow and the tiny default's tables must stay exact)."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
