"""The training loop: one stage, on every rank, on megatron-core primitives, for any objective.

In the spirit of megatron-core's ``examples/run_simple_mcore_train_loop.py``: the process and
the model come from :mod:`skyforge.train.distributed`; :func:`train_stage` runs the steps —
micro-batches through ``get_forward_backward_func`` (1F1B when pipelined), the learning rate
from :mod:`skyforge.train.schedules`, validation, logging, checkpoints, the manifest. What is
trained (datasets, forward step and loss, metrics) is the stage's objective
(:mod:`skyforge.train.objectives`, chosen by ``spec.kind``); nothing here depends on which.
Megatron-LM's ``pretrain()`` is not used: it is not on PyPI for Python 3.11, reads its whole
configuration from argparse globals and owns checkpoint naming, logging and data loading.

Data order: the train dataset is indexed by a global sample number. Step ``s`` reads samples
``[c, c + global_batch)``, ``c`` the samples consumed before it, in Megatron-LM's pretraining
sampler order (:func:`skyforge.train.objectives.base.micro_batches`). ``c`` is saved in every
checkpoint, so a resumed run, on any data-parallel size, reads exactly the samples an
uninterrupted run would have read.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from megatron.core import parallel_state as ps
from megatron.core.pipeline_parallel import get_forward_backward_func

from skyforge.core.io import atomic_write_text, workdir_relative
from skyforge.model.attention import resolve_backend
from skyforge.model.gpt import kernel_options
from skyforge.plan.planner import flops_per_token, gpu_for_device
from skyforge.tokenize.tokenizer import load_tokenizer
from skyforge.train import checkpoint as ckpt
from skyforge.train.distributed import (
    build_training,
    check_shared_directory,
    initialize_distributed,
)
from skyforge.train.metrics import MetricsWriter
from skyforge.train.objectives import objective_for
from skyforge.train.objectives.base import micro_batches
from skyforge.train.schedules import lr_at
from skyforge.train.spec import StageSpec, load_manifest

__all__ = ["forward_backward", "rank_process", "train_stage", "train_step"]

log = logging.getLogger("skyforge.train")


def _reduce_sums(losses: list[dict], device: torch.device, key: str, size: int) -> torch.Tensor:
    """The loss function's ``key`` sums over every micro-batch and every DP rank.

    Only the last pipeline stage has losses; every rank joins the all-reduce, so global rank 0
    (first stage) can log the value.
    """
    acc = torch.zeros(size, dtype=torch.float64, device=device)
    if ps.is_pipeline_last_stage() and ps.get_tensor_model_parallel_rank() == 0:
        for d in losses:
            acc += d[key].to(torch.float64)
    torch.distributed.all_reduce(acc)
    return acc.cpu()


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
    name = torch.cuda.get_device_name()
    gpu = gpu_for_device(name)
    return name, gpu.peak_bf16_tflops * 1e12 if gpu else None


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
    spec = StageSpec.load(spec_path)
    with rank_process(spec) as device:
        return _Stage(spec, device, stop_at_step=stop_at_step).run()


@contextlib.contextmanager
def rank_process(spec: StageSpec) -> Iterator[torch.device]:
    """This rank set up for ``spec``'s job: the working directory, logging, CPU threads, the
    process group and megatron's parallel groups (torn down on leaving). Yields the device.

    The loop runs in it, and so does the pre-flight check (:mod:`skyforge.train.preflight`), so
    both measure the same process set-up."""
    os.chdir(spec.workdir)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # megatron-core logs every index it builds or loads at INFO: one screen per stage.
    logging.getLogger("megatron.core").setLevel(logging.WARNING)
    if not torch.cuda.is_available():
        # Each rank gets its share of the cores: under SLURM the cores its task was given
        # (launch.cpus_per_task), else the node's cores over its ranks; oversubscribed ranks
        # thrash.
        allotted = os.environ.get("SLURM_CPUS_PER_TASK", "")
        local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        per_rank = int(allotted) if allotted.isdigit() else (os.cpu_count() or 1) // local_ranks
        torch.set_num_threads(max(1, per_rank))
    tp, pp = spec.parallel["tensor"], spec.parallel["pipeline"]
    device = initialize_distributed(tp, pp, spec.seed)
    try:
        yield device
    finally:
        ps.destroy_model_parallel()
        torch.distributed.destroy_process_group()


def forward_backward(
    model: Any,
    objective: Any,
    batches: Iterator[dict],
    *,
    num_micro: int,
    seq_length: int,
    micro_batch_size: int,
    forward_only: bool,
) -> list[dict]:
    """``num_micro`` micro-batches through megatron's schedule (1F1B when pipelined); the
    objective's loss-function outputs of this rank (empty but on the last pipeline stage)."""
    return get_forward_backward_func()(
        forward_step_func=objective.forward_step,
        data_iterator=batches,
        model=[model],
        num_microbatches=num_micro,
        seq_length=seq_length,
        micro_batch_size=micro_batch_size * objective.rows_per_sample,
        decoder_seq_length=seq_length,
        forward_only=forward_only,
    )


def train_step(
    model: Any,
    optimizer: Any,
    objective: Any,
    batches: Iterator[dict],
    *,
    num_micro: int,
    seq_length: int,
    micro_batch_size: int,
    lr: float,
) -> tuple[bool, list[dict], float | None]:
    """One optimizer step at learning rate ``lr`` on ``num_micro`` micro-batches.

    Returns:
        (whether the optimizer stepped — False on inf/nan gradients, the loss-function outputs
        of this rank, the gradient norm).
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad()
    model.zero_grad_buffer()
    losses = forward_backward(
        model,
        objective,
        batches,
        num_micro=num_micro,
        seq_length=seq_length,
        micro_batch_size=micro_batch_size,
        forward_only=False,
    )
    ok, grad_norm, _ = optimizer.step()
    return ok, losses, grad_norm


class _Stage:
    """The state of one stage's training on one rank."""

    def __init__(
        self, spec: StageSpec, device: torch.device, *, stop_at_step: int | None = None
    ) -> None:
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
        self.attention = resolve_backend(spec.model.get("attention_backend", "auto"))
        self.dense_mask = self.attention.name == "local"  # the others read position ids
        self.objective = objective_for(spec, self.attention.name)
        self.data_stats: dict[str, Any] = {}
        self.stop = _StopRequested()
        self.stop_at_step = stop_at_step

    # -- data --------------------------------------------------------------------------------

    def _build_data(self) -> None:
        spec = self.spec
        data = self.objective.build_data(
            load_tokenizer(spec.tokenizer),
            rank=self.rank,
            cache=self.run_dir / "index-cache",
            dense_mask=self.dense_mask,
        )
        self.train_ds, self.valid, self.data_stats = data.train, data.valid, data.stats
        per_eval = self.dp_size * spec.parallel["micro_batch_size"]
        self.eval_micro = {}
        for domain, ds in self.valid.items():
            cap = len(ds) if domain in data.full_eval else spec.eval_samples
            n = min(cap, len(ds)) // per_eval
            if n:
                self.eval_micro[domain] = n
            elif self.rank == 0:
                log.warning(
                    "held-out domain %s: %d samples, fewer than one per data-parallel rank "
                    "(%d): not validated",
                    domain,
                    len(ds),
                    per_eval,
                )

    def _batches(self, dataset: Any, first: int, num_micro: int) -> Iterator[dict]:
        return micro_batches(
            dataset,
            first,
            num_micro=num_micro,
            micro_batch_size=self.spec.parallel["micro_batch_size"],
            dp_rank=self.dp_rank,
            dp_size=self.dp_size,
            device=self.device,
            dense_mask=self.dense_mask,
            extra=self.objective.batch_keys,
        )

    def _forward_backward(self, batches: Iterator[dict], num_micro: int, forward_only: bool):
        return forward_backward(
            self.model,
            self.objective,
            batches,
            num_micro=num_micro,
            seq_length=self.spec.model["seq_length"],
            micro_batch_size=self.spec.parallel["micro_batch_size"],
            forward_only=forward_only,
        )

    def _summarize(self, losses: list[dict], name: str) -> dict[str, float]:
        """The objective's metrics of the losses, reduced over micro-batches and ranks."""
        sums = _reduce_sums(losses, self.device, *self.objective.sums)
        return self.objective.summarize(sums, name)

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
                        self.run_dir,
                        old.config_hash(),
                        self.spec.config_hash(),
                        aside,
                    )
                    if aside.exists():
                        shutil.rmtree(aside)
                    self.run_dir.rename(aside)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(spec_file, self.spec.to_json())
        torch.distributed.barrier()
        # Checkpoints are written by some ranks and read after a requeue by ranks on other
        # nodes: one directory for all of them, checked before the first step.
        check_shared_directory(self.run_dir, "config key 'checkpoints.dir': run directory")

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
        """Metrics on each held-out set (a fixed set of samples, the same at every eval)."""
        with self._params_synced():
            self.model.eval()
            out = {}
            with torch.no_grad():
                for domain, num_micro in self.eval_micro.items():
                    batches = self._batches(self.valid[domain], 0, num_micro)
                    losses = self._forward_backward(batches, num_micro, forward_only=True)
                    out.update(self._summarize(losses, domain))
            self.model.train()
            return out

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any] | None:
        spec = self.spec
        t_setup = time.time()
        self._prepare_run_dir()
        self.model, self.optimizer, self.config = build_training(spec, self.attention.name)
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
        self.stop.install()
        if self.rank == 0:
            log.info(
                "%s: %s, steps %d → %d, %d ranks (TP%d PP%d DP%d), %d micro-batches of %d, "
                "attention %s (%s), set-up %.1f s",
                spec.stage,
                spec.description,
                iteration,
                spec.train_steps,
                self.world,
                spec.parallel["tensor"],
                spec.parallel["pipeline"],
                self.dp_size,
                self.num_micro,
                spec.parallel["micro_batch_size"],
                self.attention.name,
                self.attention.reason,
                time.time() - t_setup,
            )
        if iteration == 0 and state["fresh"]:
            # Validation before the first step: the start of the loss curve.
            start_val = {f"val/{k}": v for k, v in self.evaluate().items()}
            metrics.write(iteration, tokens_before, start_val)
        window_t, window_tokens = time.time(), 0
        last_val: dict[str, float] = {}
        train_loss = float("nan")
        while iteration < spec.train_steps:
            lr = lr_at(iteration, **spec.schedule)
            ok, losses, grad_norm = train_step(
                self.model,
                self.optimizer,
                self.objective,
                self._batches(self.train_ds, consumed, self.num_micro),
                num_micro=self.num_micro,
                seq_length=spec.model["seq_length"],
                micro_batch_size=spec.parallel["micro_batch_size"],
                lr=lr,
            )
            if not ok:
                raise RuntimeError(f"{spec.stage}: optimizer step {iteration} failed (inf/nan)")
            iteration += 1
            consumed += spec.global_batch_size
            window_tokens += spec.tokens_per_step
            step_metrics = self._summarize(losses, "train")
            if "train" in step_metrics:  # a single loss, named after the set
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
                row.update(
                    {
                        "perf/tokens_per_s": tok_s,
                        "perf/tokens_per_s_per_device": per_dev,
                        "perf/tflops_per_device": per_dev * flops_tok / 1e12,
                    }
                )
                if peak:
                    row["perf/mfu"] = per_dev * flops_tok / peak
                window_t, window_tokens = step_end, 0
                if self.rank == 0:
                    log.info(
                        "%s step %d/%d | tokens %.4g | loss %.4f%s | lr %.3g | grad norm %.3f | "
                        "%.0f tokens/s/%s",
                        spec.stage,
                        iteration,
                        spec.train_steps,
                        tokens_seen,
                        train_loss,
                        self.objective.log_detail(row),
                        lr,
                        row["train/grad_norm"],
                        per_dev,
                        device_name,
                    )
            if iteration % spec.eval_interval_steps == 0 or iteration == spec.train_steps:
                last_val = self.evaluate()
                row.update({f"val/{k}": v for k, v in last_val.items()})
                if self.rank == 0:
                    log.info(
                        "%s step %d validation: %s",
                        spec.stage,
                        iteration,
                        ", ".join(f"{k} {v:.4f}" for k, v in last_val.items()),
                    )
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
                    iteration=iteration,
                    consumed_samples=consumed,
                    tokens_seen=tokens_seen,
                    stage=spec.stage,
                    config_hash=spec.config_hash(),
                    tokens_at_start=tokens_before,
                )
                self._save(train_state, release)
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

    def _save(self, train_state: dict[str, Any], release: str | None) -> None:
        t0 = time.time()
        with self._params_synced():
            path = ckpt.save_checkpoint(
                self.run_dir, self.model, self.optimizer, train_state, release=release
            )
        if self.rank == 0:
            deleted = ckpt.rotate_checkpoints(self.run_dir, self.spec.keep_last_checkpoints)
            log.info(
                "%s: saved %s in %.1f s%s%s",
                self.spec.stage,
                path,
                time.time() - t0,
                f" (release: {release})" if release else "",
                f", removed {len(deleted)} older" if deleted else "",
            )

    def _logged(self, name: str, step: int, default: float) -> float:
        """The value of ``name`` logged at ``step`` in this run's metrics.csv (else default)."""
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
                iteration=ts["iteration"],
                consumed_samples=ts["consumed_samples"],
                tokens_seen=ts["tokens_at_start"],
                fresh=False,
            )
        if spec.init_manifest is None:
            if self.rank == 0:
                log.info("%s: random initialisation (seed %d)", spec.stage, spec.seed)
            return dict(iteration=0, consumed_samples=0, tokens_seen=0, fresh=True)
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
                "%s: starting from %s (stage %s, step %d, %.4g tokens)",
                spec.stage,
                prev["checkpoint"],
                prev["stage"],
                prev["iteration"],
                prev["tokens_seen"],
            )
        consumed = ts["consumed_samples"] if spec.continue_data else 0
        return dict(
            iteration=0, consumed_samples=consumed, tokens_seen=prev["tokens_seen"], fresh=True
        )

    def _write_manifest(
        self,
        iteration: int,
        consumed: int,
        tokens_seen: float,
        train_loss: float,
        val: dict[str, float],
    ) -> dict[str, Any]:
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
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("spec", type=Path, help="the stage's spec.json")
    parser.add_argument("--stop-at-step", type=int, default=None)
    args = parser.parse_args(argv)
    train_stage(args.spec, stop_at_step=args.stop_at_step)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
