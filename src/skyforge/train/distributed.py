"""Set-up of a training process on megatron-core: process groups, the model and its optimizer.

:func:`initialize_distributed` joins the process group (NCCL on GPUs, gloo on CPU with the shim
of :mod:`skyforge.model.cpu`) and builds megatron's tensor/pipeline/data-parallel groups and RNG
streams; :func:`build_training` builds this pipeline stage's model, wraps it in megatron's
``DistributedDataParallel`` and makes its optimizer (``get_megatron_optimizer``; the distributed
optimizer, i.e. ZeRO-1, when ``parallel.zero_stage`` ≥ 1).

They live apart from the loop (:mod:`skyforge.train.loop`) because other one-model jobs use the
same set-up without training: the DPO reference scoring (:mod:`skyforge.train.reference`) and
the HF export check (:mod:`skyforge.train.hf_stage`).
"""

from __future__ import annotations

import datetime
import os
import secrets
import socket
import tempfile
from pathlib import Path
from typing import Any

import torch
from megatron.core import parallel_state as ps
from megatron.core.distributed import (
    DistributedDataParallel,
    DistributedDataParallelConfig,
    finalize_model_grads,
)
from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer
from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

from skyforge.model.cpu import apply_cpu_shim
from skyforge.model.gpt import build_model, kernel_options
from skyforge.train.spec import StageSpec

__all__ = ["build_training", "check_shared_directory", "initialize_distributed", "params_dtype"]


def initialize_distributed(tensor: int, pipeline: int, seed: int) -> torch.device:
    """Join the process group from the env:// variables and build megatron's parallel groups.

    NCCL on GPUs, gloo on CPU (with the CPU shim of :mod:`skyforge.model.cpu`). A world of one
    without ``MASTER_ADDR`` gets a private file store, so a single process needs no launcher.

    Returns:
        This rank's device.
    """
    on_gpu = torch.cuda.is_available()
    if not on_gpu:
        apply_cpu_shim()
    if not torch.distributed.is_initialized():
        timeout = datetime.timedelta(minutes=30)
        if "MASTER_ADDR" in os.environ:
            if on_gpu:
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            torch.distributed.init_process_group("nccl" if on_gpu else "gloo", timeout=timeout)
        else:
            store = torch.distributed.FileStore(tempfile.mktemp(prefix="skyforge-store-"), 1)
            torch.distributed.init_process_group(
                "nccl" if on_gpu else "gloo", store=store, rank=0, world_size=1, timeout=timeout
            )
    ps.initialize_model_parallel(
        tensor_model_parallel_size=tensor, pipeline_model_parallel_size=pipeline
    )
    model_parallel_cuda_manual_seed(seed)
    torch.manual_seed(seed)
    return torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")


def check_shared_directory(directory: str | os.PathLike[str], what: str) -> None:
    """Fail on every rank, before any training step, when ``directory`` is not one directory
    for all nodes (a node-local path such as /tmp, or a filesystem mounted on some nodes only).

    Rank 0 writes a file with a random token into the directory; every rank then reads it back
    and the answers are gathered, so that all ranks raise the same one-line error naming the
    nodes that see something else (a check on one rank alone would leave the others waiting in
    the next collective until the process-group timeout). A checkpoint written there by rank 0
    and read after a requeue by a rank on another node would otherwise be missing or stale.

    Call it on every rank of an initialised process group; the directory must exist on rank 0.

    Raises:
        RuntimeError: naming ``what``, the directory and the nodes that do not share it.
    """
    directory = Path(directory)
    # Rank 0's token and its name of the directory (the one the message gives).
    sent = [secrets.token_hex(16), str(directory)] if torch.distributed.get_rank() == 0 else [0, 0]
    torch.distributed.broadcast_object_list(sent, src=0)
    token, named = sent
    probe = directory / f".shared-check-{token}"
    if torch.distributed.get_rank() == 0:
        probe.write_text(token, encoding="utf-8")
    torch.distributed.barrier()
    try:
        seen = probe.read_text(encoding="utf-8") == token
    except OSError:
        seen = False
    answers: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(answers, (socket.gethostname(), seen))
    if torch.distributed.get_rank() == 0:
        probe.unlink(missing_ok=True)
    blind = sorted({host for host, ok in answers if not ok})
    if blind:
        raise RuntimeError(
            f"{what} {named} is not shared by all nodes: {', '.join(blind)} cannot read "
            f"the file rank 0 wrote there on {answers[0][0]}; put it on a filesystem every "
            "node mounts at the same path"
        )


def params_dtype() -> torch.dtype:
    """bf16 on GPUs (Skywork, Index); CPUs have no fast bf16 GEMM here and fp32 keeps the
    resume tests exact."""
    return torch.bfloat16 if torch.cuda.is_available() else torch.float32


def build_training(spec: StageSpec, backend: str = "local") -> tuple[Any, Any, Any]:
    """The DDP-wrapped model of this pipeline stage, its megatron optimizer and its config.

    Args:
        spec: the stage.
        backend: the resolved attention backend (:func:`skyforge.model.attention.
            resolve_backend`).

    Returns:
        (model, optimizer, TransformerConfig).
    """
    dtype = params_dtype()
    kernels = kernel_options()
    model = build_model(
        spec.model_config(),
        pre_process=ps.is_pipeline_first_stage(),
        post_process=ps.is_pipeline_last_stage(),
        params_dtype=dtype,
        reset_attention_mask=True,
        attention_backend=backend,
        recompute=spec.parallel.get("recompute", "none"),
    )
    if torch.cuda.is_available():
        model.cuda(torch.cuda.current_device())
    config = model.config
    zero = spec.parallel["zero_stage"] >= 1
    ddp_config = DistributedDataParallelConfig(
        grad_reduce_in_fp32=True,
        overlap_grad_reduce=kernels["overlap_grad_reduce"],
        # Param all-gather overlaps the next forward only with the distributed optimizer.
        overlap_param_gather=kernels["overlap_param_gather"] and zero,
        use_distributed_optimizer=zero,
    )
    model = DistributedDataParallel(config=config, ddp_config=ddp_config, module=model)
    opt = spec.optimizer
    optimizer = get_megatron_optimizer(
        OptimizerConfig(
            optimizer="adam",
            lr=spec.schedule["lr_max"],
            weight_decay=opt["weight_decay"],
            adam_beta1=opt["beta1"],
            adam_beta2=opt["beta2"],
            adam_eps=opt["eps"],
            clip_grad=opt["grad_clip"],
            bf16=dtype == torch.bfloat16,
            params_dtype=dtype,
            use_distributed_optimizer=zero,
        ),
        [model],
    )
    # What the schedule needs to reduce grads over DP and to skip the sync on all but the last
    # micro-batch; PP needs the dtype of the activations it sends.
    config.finalize_model_grads_func = finalize_model_grads
    config.no_sync_func = model.no_sync
    config.pipeline_dtype = dtype
    return model, optimizer, config
