"""The pretraining loop: one stage of the chain, on every rank, on megatron-core primitives.

In the spirit of megatron-core's ``examples/run_simple_mcore_train_loop.py``, each piece is a
short function: :func:`initialize_distributed` (process group, TP/PP/DP groups, RNG streams),
:func:`build_training` (model → megatron ``DistributedDataParallel`` → ``get_megatron_optimizer``
with the distributed optimizer = ZeRO-1), :func:`forward_step` (the GPT forward with the reset
attention mask, loss masked per token), and :func:`train_stage`, the loop: micro-batches through
``get_forward_backward_func`` (1F1B when pipelined), the learning rate from the pure schedule
functions of :mod:`skyforge.train.schedules`, per-domain validation, logging, checkpoints.

Why a loop of our own and not Megatron-LM's ``pretrain()``: Megatron-LM (the training package
around megatron-core) is not on PyPI for Python 3.11, reads its whole configuration from argparse
globals, and owns checkpoint naming, logging and data loading. The loop here is ~300 lines over
the same megatron-core calls that ``pretrain()`` makes.

Data order: the train dataset (megatron ``BlendedDataset`` of the stage's blend) is indexed by a
global sample number. Step ``s`` reads samples ``[c, c + global_batch)`` where ``c`` is the
number of samples consumed before it, micro-batch ``m`` of data-parallel rank ``r`` reading
``c + m·dp·mbs + r·mbs …`` — Megatron-LM's ``MegatronPretrainingSampler`` order. ``c`` is
saved in every checkpoint, so a resumed run, on any data-parallel size, reads exactly the
samples an uninterrupted run would have read.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import torch

from skyforge.train.spec import StageSpec

__all__ = ["initialize_distributed", "build_training", "forward_step", "train_stage"]

log = logging.getLogger("skyforge.train")


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------


def initialize_distributed(tensor: int, pipeline: int, seed: int) -> torch.device:
    """Join the process group from the env:// variables and build megatron's parallel groups.

    NCCL on GPUs, gloo on CPU (with the CPU shim of :mod:`skyforge.model.cpu`). A world of one
    without ``MASTER_ADDR`` gets a private file store, so a single process needs no launcher.

    Returns:
        This rank's device.
    """
    from megatron.core import parallel_state
    from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

    from skyforge.model.cpu import apply_cpu_shim

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
            import tempfile

            store = torch.distributed.FileStore(tempfile.mktemp(prefix="skyforge-store-"), 1)
            torch.distributed.init_process_group(
                "nccl" if on_gpu else "gloo", store=store, rank=0, world_size=1, timeout=timeout
            )
    parallel_state.initialize_model_parallel(
        tensor_model_parallel_size=tensor, pipeline_model_parallel_size=pipeline
    )
    model_parallel_cuda_manual_seed(seed)
    torch.manual_seed(seed)
    return torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")


def _params_dtype() -> torch.dtype:
    # bf16 on GPUs (Skywork, Index); CPUs have no fast bf16 GEMM here and fp32 keeps the
    # resume tests exact.
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
    from megatron.core import parallel_state as ps
    from megatron.core.distributed import (
        DistributedDataParallel,
        DistributedDataParallelConfig,
        finalize_model_grads,
    )
    from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer

    from skyforge.model.gpt import build_model, kernel_options

    dtype = _params_dtype()
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


# ---------------------------------------------------------------------------------------------
# Batches and the forward step
# ---------------------------------------------------------------------------------------------


def _collate(
    samples: list[dict[str, Any]], device: torch.device, dense_mask: bool = True
) -> dict[str, torch.Tensor]:
    batch = {}
    for key in ("tokens", "labels", "loss_mask", "position_ids", "attention_mask"):
        if key == "attention_mask" and (not dense_mask or samples[0].get(key) is None):
            continue  # a backend that takes the documents from the position ids
        batch[key] = torch.stack([torch.as_tensor(s[key]) for s in samples]).to(device)
    if "ref_logps" in samples[0]:  # DPO pairs
        batch["ref_logps"] = torch.stack([s["ref_logps"] for s in samples]).to(device)
    return batch


def _micro_batches(
    dataset: Any,
    first: int,
    *,
    num_micro: int,
    micro_batch_size: int,
    dp_rank: int,
    dp_size: int,
    device: torch.device,
    dense_mask: bool = True,
) -> Iterator[dict[str, torch.Tensor]]:
    """The micro-batches of one step of this data-parallel rank (see the module docstring);
    ``dense_mask`` False leaves the dense attention mask out (only ``local`` reads it)."""
    for m in range(num_micro):
        base = first + (m * dp_size + dp_rank) * micro_batch_size
        samples = [dataset[base + j] for j in range(micro_batch_size)]
        yield _collate(samples, device, dense_mask)


def _loss_func(loss_mask: torch.Tensor, output: torch.Tensor) -> tuple[torch.Tensor, dict]:
    losses = output.float().view(-1)
    mask = loss_mask.float().view(-1)
    total = torch.sum(losses * mask)
    count = mask.sum()
    # Mean over the micro-batch's tokens drives the gradient (Megatron's default); the sum and
    # count are reported so that logged losses are exact token averages over the step.
    return total / count.clamp(min=1.0), {"lm": torch.stack([total.detach(), count])}


def forward_step(
    data_iterator: Iterator[dict[str, torch.Tensor]], model: Any, *, backend: str = "local"
) -> tuple:
    """One micro-batch through the model; megatron's schedule calls it (and the loss func)."""
    from skyforge.model.attention import model_forward

    batch = next(data_iterator)
    output = model_forward(
        model, backend, batch["tokens"], batch["position_ids"], batch.get("attention_mask"),
        labels=batch["labels"],
    )  # fmt: skip
    return output, partial(_loss_func, batch["loss_mask"])


_REDUCED = {"lm": 2, "dpo": 8}
"""The loss functions' reported sums: key → vector length (``lm``: NLL sum and token count;
``dpo``: pair count and the sums of :data:`skyforge.train.dpo.DPO_METRICS`)."""


def _reduce_sums(losses: list[dict], device: torch.device, key: str = "lm") -> torch.Tensor:
    """The loss function's ``key`` sums over every micro-batch and every DP rank.

    Only the last pipeline stage has losses; every rank joins the all-reduce, so global rank 0
    (first stage) can log the value.
    """
    from megatron.core import parallel_state as ps

    acc = torch.zeros(_REDUCED[key], dtype=torch.float64, device=device)
    if ps.is_pipeline_last_stage() and ps.get_tensor_model_parallel_rank() == 0:
        for d in losses:
            acc += d[key].to(torch.float64)
    torch.distributed.all_reduce(acc)
    return acc.cpu()


def _reduce_loss(losses: list[dict], device: torch.device) -> float:
    """Token-averaged loss of a step over every micro-batch and every DP rank."""
    acc = _reduce_sums(losses, device, "lm")
    return float(acc[0] / acc[1]) if acc[1] > 0 else float("nan")


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------


class _StopRequested:
    """Set by SIGUSR2/SIGTERM on any rank; checked collectively once per step.

    SLURM signals every task before a time limit or a preemption (submitit asks for
    ``--signal=USR2@N``), and submitit's own handler makes rank 0 requeue the job and exit at
    once — mid-step, losing everything since the last periodic checkpoint. This handler runs
    first: it only sets a flag; all ranks agree on it at the end of the step, save a
    checkpoint, and then :meth:`hand_over` calls the handler it replaced (submitit's requeue).
    """

    def __init__(self) -> None:
        self.flag = False
        self._pending: list[tuple[Any, int]] = []
        self._received: list[int] = []

    def install(self) -> None:
        for sig in (signal.SIGUSR2, signal.SIGTERM):
            previous = signal.getsignal(sig)

            def handler(signum, frame, previous=previous):  # noqa: ANN001
                self.flag = True
                self._received.append(signum)
                if callable(previous):
                    self._pending.append((previous, signum))

            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(sig, handler)

    def hand_over(self) -> list[str]:
        """Run the replaced handlers (submitit: checkpoint() and requeue on rank 0).

        Returns:
            Names of the signals received (empty when the stop was not a signal's).
        """
        pending, self._pending = self._pending, []
        names = [signal.Signals(signum).name for signum in self._received]
        for previous, signum in pending:
            previous(signum, None)
        return names


def _format_tokens(n: float) -> str:
    """500 B, 2 T, 3.1 T, 20,480: how token counts are written in the papers."""
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n:,.0f}"


def _peak_flops() -> tuple[str, float | None]:
    """Name and dense bf16 peak FLOP/s of this device (None when unknown: CPUs)."""
    if not torch.cuda.is_available():
        return "cpu", None
    from skyforge.plan.planner import GPUS

    name = torch.cuda.get_device_name()
    for key, gpu in GPUS.items():
        if key.split("-")[0].lower() in name.lower():
            return name, gpu.peak_bf16_tflops * 1e12
    return name, None


def train_stage(
    spec_path: str | os.PathLike, *, stop_at_step: int | None = None
) -> dict[str, Any] | None:
    """Train one stage on this rank; resume from the run directory's latest checkpoint.

    Call it on every rank with the env:// variables exported (``MASTER_ADDR``, ``MASTER_PORT``,
    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) — submitit's ``TorchDistributedEnvironment``
    does it in :mod:`skyforge.launch.dispatch` — or in a single process with none of them.

    Args:
        spec_path: the stage's ``spec.json``.
        stop_at_step: save a checkpoint at this step and return None without a manifest, as a
            preempted job would (tests and benchmarks interrupt runs with it).

    Returns:
        The manifest (global rank 0), None on the other ranks or when stopped early.
    """
    from megatron.core import parallel_state as ps

    spec = StageSpec.load(spec_path)
    os.chdir(spec.workdir)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # megatron-core logs every index it builds or loads at INFO: one screen per stage.
    logging.getLogger("megatron.core").setLevel(logging.WARNING)
    if not torch.cuda.is_available():
        # Each rank gets its share of the cores; oversubscribed ranks thrash.
        per_rank = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        torch.set_num_threads(per_rank)
    tp, pp = spec.parallel["tensor"], spec.parallel["pipeline"]
    device = initialize_distributed(tp, pp, spec.seed)
    try:
        return _Stage(spec, device, stop_at_step=stop_at_step).run()
    finally:
        ps.destroy_model_parallel()
        torch.distributed.destroy_process_group()


class _Stage:
    """The state of one stage's training on one rank."""

    def __init__(
        self, spec: StageSpec, device: torch.device, *, stop_at_step: int | None = None
    ) -> None:
        from megatron.core import parallel_state as ps

        self.spec = spec
        self.device = device
        self.rank = torch.distributed.get_rank()
        self.world = torch.distributed.get_world_size()
        self.dp_rank = ps.get_data_parallel_rank()
        self.dp_size = ps.get_data_parallel_world_size()
        mbs = spec.parallel["micro_batch_size"]
        if spec.global_batch_size % (mbs * self.dp_size):
            raise ValueError(
                f"config key 'train.global_batch_size': {spec.global_batch_size} is not a "
                f"multiple of micro_batch_size {mbs} × data-parallel size {self.dp_size}"
            )
        self.num_micro = spec.global_batch_size // (mbs * self.dp_size)
        self.run_dir = Path(spec.run_dir)
        self.kind = spec.kind
        # DPO micro-batches hold pairs: 2 sequences per sample go through the model.
        self.rows_per_sample = 2 if spec.kind == "dpo" else 1
        from skyforge.model.attention import resolve_backend

        self.attention = resolve_backend(spec.model.get("attention_backend", "auto"))
        backend = self.attention.name
        self.dense_mask = backend == "local"  # the others read documents from position ids
        if spec.kind == "dpo":
            from skyforge.train.dpo import dpo_forward_step

            beta = float(spec.task["section"]["beta"])
            self.forward_step = partial(dpo_forward_step, beta, backend=backend)
        else:
            self.forward_step = partial(forward_step, backend=backend)
        self.data_stats: dict[str, Any] = {}
        self.stop = _StopRequested()
        self.stop_at_step = stop_at_step

    # -- data --------------------------------------------------------------------------------

    def _build_data(self) -> None:
        from skyforge.tokenize.dataset import build_datasets
        from skyforge.tokenize.tokenizer import load_tokenizer

        spec = self.spec
        tokenizer = load_tokenizer(spec.tokenizer)
        cache = self.run_dir / "index-cache"
        if spec.kind == "dpo":
            self._build_dpo_data(tokenizer)
        else:
            # SFT mixes in text of the blend it starts from: as many samples as the spec says.
            num_text = spec.num_train_samples
            if spec.kind == "sft":
                num_text = max(1, int(spec.task["stats"].get("pretrain_samples", 0)))
            # Rank 0 builds megatron's sample indices into the cache; the others then read them.
            for turn in (True, False):
                if (self.rank == 0) == turn:
                    self.train_ds, self.valid = build_datasets(
                        Path(spec.blend),
                        tokenizer,
                        spec.model["seq_length"],
                        seed=spec.seed,
                        num_samples={"train": num_text},
                        eod_mask_loss=spec.eod_mask_loss,
                        path_to_cache=cache,
                        # 16 M entries per 4,096-token sample: only the local backend reads it.
                        create_attention_mask=self.dense_mask,
                    )
                if turn:
                    torch.distributed.barrier()
            if spec.kind == "sft":
                self._build_sft_data(tokenizer)
        per_eval = self.dp_size * self.spec.parallel["micro_batch_size"]
        self.eval_micro = {}
        for domain, ds in self.valid.items():
            # The SFT/DPO held-out sets are the evaluation sets: all of them, every time.
            cap = len(ds) if domain in self.full_eval else spec.eval_samples
            n = min(cap, len(ds)) // per_eval
            if n:
                self.eval_micro[domain] = n
            elif self.rank == 0:
                log.warning(
                    "held-out domain %s: %d samples, fewer than one per data-parallel rank "
                    "(%d): not validated", domain, len(ds), per_eval,
                )  # fmt: skip

    full_eval: frozenset[str] = frozenset({"sft_heldout", "heldout"})

    def _build_sft_data(self, tokenizer: Any) -> None:
        """Packed conversations + the blend's text (train); held-out conversations (valid)."""
        from skyforge.train.chat import ChatFormat
        from skyforge.train.sft import SFTDataset, encode_conversations, read_sft_file

        spec, section = self.spec, self.spec.task["section"]
        fmt, seq = ChatFormat(tokenizer), spec.model["seq_length"]
        pad = tokenizer.pad if tokenizer.pad is not None else tokenizer.eod
        files = spec.task["files"]
        train_report = read_sft_file(files["train"])
        train = encode_conversations(train_report, fmt, seq)
        heldout_report = read_sft_file(files["heldout"])
        heldout = encode_conversations(heldout_report, fmt, seq)
        text = self.train_ds
        self.train_ds = SFTDataset(
            train, seq_length=seq, eod=tokenizer.eod, pad=pad, epochs=section["epochs"],
            seed=spec.seed, pretrain=text, pretrain_ratio=section["pretrain_ratio"],
            create_attention_mask=self.dense_mask,
        )  # fmt: skip
        if len(self.train_ds) != spec.num_train_samples:
            raise RuntimeError(
                f"{spec.stage}: {len(self.train_ds)} training samples, the spec was sized for "
                f"{spec.num_train_samples} (the data changed since the spec was written)"
            )
        self.valid = {
            "sft_heldout": SFTDataset(
                heldout, seq_length=seq, eod=tokenizer.eod, pad=pad,
                create_attention_mask=self.dense_mask,
            ),  # fmt: skip
            **self.valid,
        }
        self.data_stats = {
            "train": {**self.train_ds.stats(), **train_report.summary()},
            "heldout": {**self.valid["sft_heldout"].stats(), **heldout_report.summary()},
        }

    def _build_dpo_data(self, tokenizer: Any) -> None:
        """Preference pairs with their reference log-probs (train, held-out)."""
        from skyforge.train.chat import ChatFormat
        from skyforge.train.dpo import (
            PreferenceDataset,
            encode_pairs,
            read_preference_file,
            read_reference,
        )

        spec, section = self.spec, self.spec.task["section"]
        fmt, seq = ChatFormat(tokenizer), spec.model["seq_length"]
        pad = tokenizer.pad if tokenizer.pad is not None else tokenizer.eod
        files = spec.task["files"]
        datasets, self.data_stats = {}, {}
        for split in ("train", "heldout"):
            report = read_preference_file(files[split])
            pairs = encode_pairs(report, fmt, seq)
            ref = read_reference(files["reference"], split, len(pairs))
            datasets[split] = PreferenceDataset(
                pairs, seq_length=seq, pad=pad, reference=ref,
                epochs=section["epochs"] if split == "train" else 1,
                seed=spec.seed if split == "train" else None,
            )  # fmt: skip
            self.data_stats[split] = {"pairs": len(pairs), **report.summary()}
        self.train_ds, self.valid = datasets["train"], {"heldout": datasets["heldout"]}

    # -- run directory -----------------------------------------------------------------------

    def _prepare_run_dir(self) -> None:
        """Keep the run directory when it was made by this spec; otherwise move it aside."""
        spec_file = self.run_dir / "spec.json"
        if self.rank == 0:
            if spec_file.is_file():
                old = StageSpec.load(spec_file)
                if old.config_hash() != self.spec.config_hash():
                    aside = self.run_dir.with_name(
                        f"{self.run_dir.name}.superseded-{old.config_hash()}"
                    )
                    log.warning(
                        "run directory %s was trained with another configuration (hash %s, "
                        "now %s): moved to %s",
                        self.run_dir, old.config_hash(), self.spec.config_hash(), aside,
                    )  # fmt: skip
                    if aside.exists():
                        import shutil

                        shutil.rmtree(aside)
                    self.run_dir.rename(aside)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            from skyforge.core.io import atomic_write_text

            atomic_write_text(spec_file, self.spec.to_json())
        torch.distributed.barrier()

    # -- validation --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _params_synced(self) -> Iterator[None]:
        """With ``overlap_param_gather`` the updated parameters are all-gathered only by the next
        training forward's pre-hooks: gather them now (validation, checkpoints read them) and
        re-arm the hooks after, as Megatron-LM does around its evaluation and saves."""
        if not getattr(self.model, "use_forward_hook", False):
            yield
            return
        self.model.disable_forward_pre_hook(param_sync=True)
        try:
            yield
        finally:
            self.model.enable_forward_pre_hook()

    def evaluate(self) -> dict[str, float]:
        """Loss on each held-out domain (a fixed set of samples, the same at every eval)."""
        with self._params_synced():
            return self._evaluate()

    def _evaluate(self) -> dict[str, float]:
        from megatron.core.pipeline_parallel import get_forward_backward_func

        self.model.eval()
        fwd_bwd = get_forward_backward_func()
        out = {}
        mbs, seq = self.spec.parallel["micro_batch_size"], self.spec.model["seq_length"]
        with torch.no_grad():
            for domain, num_micro in self.eval_micro.items():
                it = _micro_batches(
                    self.valid[domain], 0, num_micro=num_micro, micro_batch_size=mbs,
                    dp_rank=self.dp_rank, dp_size=self.dp_size, device=self.device,
                    dense_mask=self.dense_mask,
                )  # fmt: skip
                losses = fwd_bwd(
                    forward_step_func=self.forward_step, data_iterator=it, model=[self.model],
                    num_microbatches=num_micro, seq_length=seq,
                    micro_batch_size=mbs * self.rows_per_sample, decoder_seq_length=seq,
                    forward_only=True,
                )  # fmt: skip
                out.update(self._summarize(losses, domain))
        self.model.train()
        return out

    def _summarize(self, losses: list[dict], name: str) -> dict[str, float]:
        """``{name: loss}`` (language modelling) or ``{name/metric: value}`` (DPO)."""
        if self.kind == "dpo":
            from skyforge.train.dpo import summarize_dpo

            sums = _reduce_sums(losses, self.device, "dpo")
            return {f"{name}/{k}": v for k, v in summarize_dpo(sums).items()}
        return {name: _reduce_loss(losses, self.device)}

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any] | None:
        from megatron.core.pipeline_parallel import get_forward_backward_func

        from skyforge.plan.planner import flops_per_token
        from skyforge.train import checkpoint as ckpt
        from skyforge.train.metrics import MetricsWriter
        from skyforge.train.schedules import lr_at

        spec = self.spec
        t_setup = time.time()
        self._prepare_run_dir()
        self.model, self.optimizer, self.config = build_training(spec, self.attention.name)
        from skyforge.model.gpt import kernel_options

        ddp = self.model.ddp_config
        self.kernels = {
            **kernel_options(),
            "overlap_grad_reduce": ddp.overlap_grad_reduce,
            "overlap_param_gather": ddp.overlap_param_gather,
        }
        self._build_data()
        state = self._initial_state()
        iteration, consumed = state["iteration"], state["consumed_samples"]
        tokens_before = state["tokens_seen"]
        metrics = MetricsWriter(self.run_dir, enabled=self.rank == 0, resume_step=iteration)
        device_name, peak = _peak_flops()
        flops_tok = flops_per_token(spec.model_config())
        mbs, seq = spec.parallel["micro_batch_size"], spec.model["seq_length"]
        fwd_bwd = get_forward_backward_func()
        self.stop.install()
        if self.rank == 0:
            log.info(
                "%s: %s, steps %d → %d, %d ranks (TP%d PP%d DP%d), %d micro-batches of %d, "
                "attention %s (%s), set-up %.1f s",
                spec.stage, spec.description, iteration, spec.train_steps, self.world,
                spec.parallel["tensor"], spec.parallel["pipeline"], self.dp_size,
                self.num_micro, mbs, self.attention.name, self.attention.reason,
                time.time() - t_setup,
            )  # fmt: skip
        if iteration == 0 and state["fresh"]:
            # Validation before the first step: the start of the loss curve.
            start_val = {f"val/{k}": v for k, v in self.evaluate().items()}
            metrics.write(iteration, tokens_before, start_val)
        window_t, window_tokens = time.time(), 0
        last_val: dict[str, float] = {}
        train_loss = float("nan")
        while iteration < spec.train_steps:
            lr = lr_at(iteration, **spec.schedule)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.optimizer.zero_grad()
            self.model.zero_grad_buffer()
            it = _micro_batches(
                self.train_ds, consumed, num_micro=self.num_micro, micro_batch_size=mbs,
                dp_rank=self.dp_rank, dp_size=self.dp_size, device=self.device,
                dense_mask=self.dense_mask,
            )  # fmt: skip
            losses = fwd_bwd(
                forward_step_func=self.forward_step, data_iterator=it, model=[self.model],
                num_microbatches=self.num_micro, seq_length=seq,
                micro_batch_size=mbs * self.rows_per_sample, decoder_seq_length=seq,
                forward_only=False,
            )  # fmt: skip
            ok, grad_norm, _ = self.optimizer.step()
            if not ok:
                raise RuntimeError(f"{spec.stage}: optimizer step {iteration} failed (inf/nan)")
            iteration += 1
            consumed += spec.global_batch_size
            window_tokens += spec.tokens_per_step
            step_metrics = self._summarize(losses, "train")
            if "train" in step_metrics:
                train_loss = step_metrics.pop("train")
            else:
                train_loss = step_metrics["train/loss"]
            step_end = time.time()
            tokens_seen = tokens_before + iteration * spec.tokens_per_step
            row: dict[str, float] = {
                **step_metrics,
                "train/loss": train_loss,
                "train/lr": lr,
                "train/grad_norm": float(grad_norm or 0.0),
                "train/loss_scale": float(self.optimizer.get_loss_scale()),
            }
            if iteration % spec.log_interval_steps == 0 or iteration == spec.train_steps:
                elapsed = max(step_end - window_t, 1e-9)
                tok_s = window_tokens / elapsed
                per_dev = tok_s / self.world
                row.update({
                    "perf/tokens_per_s": tok_s,
                    "perf/tokens_per_s_per_device": per_dev,
                    "perf/tflops_per_device": per_dev * flops_tok / 1e12,
                })  # fmt: skip
                if peak:
                    row["perf/mfu"] = per_dev * flops_tok / peak
                window_t, window_tokens = step_end, 0
                if self.rank == 0:
                    extra = ""
                    if self.kind == "dpo":
                        margin = row["train/rewards/margins"]
                        extra = f" | margin {margin:.3f} | accuracy "
                        extra += f"{row['train/rewards/accuracies']:.2f}"
                    log.info(
                        "%s step %d/%d | tokens %.4g | loss %.4f%s | lr %.3g | grad norm %.3f | "
                        "%.0f tokens/s/%s",
                        spec.stage, iteration, spec.train_steps, tokens_seen, train_loss, extra,
                        lr, row["train/grad_norm"], per_dev, device_name,
                    )  # fmt: skip
            if iteration % spec.eval_interval_steps == 0 or iteration == spec.train_steps:
                last_val = self.evaluate()
                row.update({f"val/{k}": v for k, v in last_val.items()})
                if self.rank == 0:
                    log.info(
                        "%s step %d validation: %s", spec.stage, iteration,
                        ", ".join(f"{k} {v:.4f}" for k, v in last_val.items()),
                    )  # fmt: skip
            metrics.write(iteration, tokens_seen, row)
            release = self._release_reason(tokens_seen - spec.tokens_per_step, tokens_seen)
            stop = self._stop_requested() or iteration == self.stop_at_step
            if (
                iteration % spec.save_interval_steps == 0
                or iteration == spec.train_steps
                or release
                or stop
            ):
                train_state = dict(
                    iteration=iteration, consumed_samples=consumed, tokens_seen=tokens_seen,
                    stage=spec.stage, config_hash=spec.config_hash(),
                    tokens_at_start=tokens_before,
                )  # fmt: skip
                t0 = time.time()
                with self._params_synced():
                    path = ckpt.save_checkpoint(
                        self.run_dir, self.model, self.optimizer, train_state, release=release
                    )
                if self.rank == 0:
                    deleted = ckpt.rotate_checkpoints(self.run_dir, spec.keep_last_checkpoints)
                    log.info(
                        "%s: saved %s in %.1f s%s%s", spec.stage, path, time.time() - t0,
                        f" (release: {release})" if release else "",
                        f", removed {len(deleted)} older" if deleted else "",
                    )  # fmt: skip
            # Validation and checkpoint time is not training throughput.
            window_t += time.time() - step_end
            if stop:
                metrics.close()
                if self.rank == 0:
                    log.warning("%s: stopped at step %d after a checkpoint", spec.stage, iteration)
                signals = self.stop.hand_over()
                if signals and self.rank == 0:
                    # Still here: the handler did not requeue (SIGTERM, or not under submitit).
                    raise RuntimeError(
                        f"{spec.stage}: stopped by {'/'.join(signals)} at step {iteration}; "
                        f"checkpoint saved, a rerun resumes from it"
                    )
                return None
        if not last_val:
            # Nothing left to train (the job died between its final save and the manifest, or a
            # rerun resubmitted a finished stage): validate again, and take the final training
            # loss from the run's metrics instead of recording NaN.
            last_val = self.evaluate()
            train_loss = self._logged("train/loss", iteration, train_loss)
        metrics.close()
        if self.rank != 0:
            return None
        tokens_seen = tokens_before + iteration * spec.tokens_per_step
        return self._write_manifest(iteration, consumed, tokens_seen, train_loss, last_val)

    def _logged(self, name: str, step: int, default: float) -> float:
        """The value of ``name`` logged at ``step`` in this run's metrics.csv (else default)."""
        import csv

        path = self.run_dir / "metrics.csv"
        if not path.is_file():
            return default
        with path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["name"] == name and int(r["step"]) == step]
        return float(rows[-1]["value"]) if rows else default

    def _stop_requested(self) -> bool:
        flag = torch.tensor([1.0 if self.stop.flag else 0.0], device=self.device)
        torch.distributed.all_reduce(flag)
        return bool(flag.item() > 0)

    def _release_reason(self, before: float, after: float) -> str | None:
        for mark in self.spec.keep_at_tokens:
            if before < mark <= after:
                return f"release at {_format_tokens(mark)} tokens"
        return None

    def _initial_state(self) -> dict[str, Any]:
        """Resume from this run's latest checkpoint, else start from the previous stage's."""
        from skyforge.train import checkpoint as ckpt

        spec = self.spec
        latest = ckpt.latest_checkpoint(self.run_dir)
        if latest is not None:
            ts = ckpt.load_checkpoint(latest, self.model, self.optimizer)
            if ts.get("config_hash") != spec.config_hash():
                raise ValueError(
                    f"checkpoint '{latest}': saved with config hash {ts.get('config_hash')}, "
                    f"this stage has {spec.config_hash()}"
                )
            if self.rank == 0:
                log.info("%s: resumed from %s (step %d)", spec.stage, latest, ts["iteration"])
            return dict(
                iteration=ts["iteration"], consumed_samples=ts["consumed_samples"],
                tokens_seen=ts["tokens_at_start"], fresh=False,
            )  # fmt: skip
        if spec.init_manifest is None:
            if self.rank == 0:
                log.info("%s: random initialisation (seed %d)", spec.stage, spec.seed)
            return dict(iteration=0, consumed_samples=0, tokens_seen=0, fresh=True)
        from skyforge.train.spec import load_manifest

        prev = load_manifest(spec.init_manifest)
        ts = ckpt.load_checkpoint(
            prev["checkpoint"], self.model, self.optimizer, load_optimizer=spec.load_optimizer
        )
        if not spec.load_optimizer:
            # Fresh Adam moments; the optimizer's master weights must follow the loaded model
            # (on GPUs they are separate fp32 copies made when the optimizer was built).
            with torch.no_grad():
                self.optimizer.reload_model_params()
        if self.rank == 0:
            log.info(
                "%s: starting from %s (stage %s, step %d, %.4g tokens)", spec.stage,
                prev["checkpoint"], prev["stage"], prev["iteration"], prev["tokens_seen"],
            )  # fmt: skip
        consumed = ts["consumed_samples"] if spec.continue_data else 0
        return dict(
            iteration=0, consumed_samples=consumed, tokens_seen=prev["tokens_seen"], fresh=True
        )

    def _write_manifest(
        self, iteration: int, consumed: int, tokens_seen: float, train_loss: float,
        val: dict[str, float],
    ) -> dict[str, Any]:  # fmt: skip
        from skyforge.core.io import atomic_write_text, workdir_relative
        from skyforge.train import checkpoint as ckpt

        spec = self.spec
        latest = ckpt.latest_checkpoint(self.run_dir)

        def rel(path: Path | str) -> str:
            # Relative to the working directory: a moved run still resolves its manifests.
            return workdir_relative(path, spec.workdir)

        manifest = {
            "stage": spec.stage,
            "kind": spec.kind,
            "description": spec.description,
            "checkpoint": rel(latest),
            "iteration": iteration,
            "consumed_samples": consumed,
            "tokens_seen": tokens_seen,
            "tokens_this_stage": iteration * spec.tokens_per_step,
            "config_hash": spec.config_hash(),
            "run_dir": rel(self.run_dir),
            "metrics_csv": rel(self.run_dir / "metrics.csv"),
            "tensorboard": rel(self.run_dir / "tensorboard"),
            "releases": [
                {"checkpoint": rel(p), "reason": ckpt.release_reason(p)}
                for p in ckpt.list_checkpoints(self.run_dir)
                if ckpt.is_release(p)
            ],
            "final_metrics": {"train/loss": train_loss, **{f"val/{k}": v for k, v in val.items()}},
            "data": self.data_stats,
            "model": spec.model,
            "attention": {"backend": self.attention.name, "reason": self.attention.reason},
            "kernels": self.kernels,
            "parallel": spec.parallel,
            "world_size": self.world,
            "spec": spec.portable(),
        }
        atomic_write_text(Path(spec.manifest), json.dumps(manifest, indent=2) + "\n")
        log.info("%s: done, manifest %s", spec.stage, spec.manifest)
        return manifest


def main(argv: list[str] | None = None) -> int:
    """``python -m skyforge.train.loop SPEC [--stop-at-step N]`` on every rank (any launcher)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("spec", type=Path, help="the stage's spec.json")
    parser.add_argument("--stop-at-step", type=int, default=None)
    args = parser.parse_args(argv)
    train_stage(args.spec, stop_at_step=args.stop_at_step)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
