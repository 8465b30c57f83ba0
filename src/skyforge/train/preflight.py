"""Pre-flight check of a pretraining job's hardware, on the job's own layout and nodes.

Before the first pretraining stage (``stage1_0``) a short job with exactly that stage's layout
(same nodes × tasks, same executor, started by :func:`skyforge.launch.jobs.run_job` like the
stage itself) runs :func:`run_preflight` on every rank:

(a) all-reduce bus bandwidth at the message sizes of the stage's gradient buckets — read from
    the DDP-wrapped model megatron-core builds for the stage (``bucket_size`` default
    max(40 M, 1 M × DP) parameters with overlapped reduction, else one bucket per buffer;
    fp32 gradients; never more than the parameters of a pipeline stage, and measured at most
    at :data:`MAX_MESSAGE_BYTES`) — within each node (the ranks sharing a host name) and
    across nodes (all ranks), NCCL on GPUs and gloo on CPU. busbw = bytes × 2(n − 1)/n /
    time, as nccl-tests define it for all-reduce; the median of ``preflight.repetitions``
    timed calls, each the slowest rank's time.
(b) ``warmup_steps`` + ``steps`` real optimizer steps of the stage's model, built by the
    training loop's own code (:func:`skyforge.train.distributed.build_training`,
    :func:`skyforge.train.loop.train_step`, the pretraining objective) on random tokens at the
    stage's global batch, micro-batch and sequence length: tokens/s per GPU and MFU.

The step then sets the figures beside the plan's prediction (:func:`preflight_table`) and
:func:`write_preflight` writes the table, or raises one line when the throughput is below
``preflight.min_fraction_of_plan`` of the plan, or the bandwidth at the largest bucket below
``preflight.min_cross_node_busbw_gbps`` across nodes or ``preflight.min_intra_node_busbw_gbps``
within the slowest node (docs/preflight.md).

The plan predicts throughput for a GPU of the planner's table (:data:`skyforge.plan.planner.GPUS`)
at ``plan.assumed_mfu``. The prediction is made for the device the job ran on when the table
holds it (which may differ from ``plan.gpu``: the note says so); on CPU, or an unknown GPU, there
is no peak FLOP/s, hence no MFU and no prediction, and only the bandwidth floors are checked.

torch and megatron-core are imported inside the functions that run in the job: Snakemake's
``rules/common.smk`` imports :func:`tracked_config` from here at every start.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skyforge.config import (
    ModelConfig,
    ParallelConfig,
    PlanConfig,
    PreflightConfig,
    TrainConfig,
    model_identity,
)
from skyforge.config.sections import OPTIMIZER_KEYS
from skyforge.core.io import atomic_write_text
from skyforge.core.tables import write_csv
from skyforge.plan import planner as P
from skyforge.train.schedules import session_schedule
from skyforge.train.spec import StageSpec, stage_names

if TYPE_CHECKING:
    import pandas as pd
    import torch

__all__ = [
    "PreflightFailed",
    "PreflightSpec",
    "build_preflight_spec",
    "check_preflight",
    "preflight_table",
    "run_preflight",
    "tracked_config",
    "write_preflight",
]

GRAD_BYTES = 4
"""Bytes per gradient element on the wire: megatron-core reduces gradients in fp32
(``grad_reduce_in_fp32``, :func:`skyforge.train.distributed.build_training`)."""

MAX_MESSAGE_SIZES = 4
"""Distinct bucket sizes measured at most (the smallest, the largest and evenly between)."""

MAX_MESSAGE_BYTES = 2**30
"""Largest message measured. A pipeline stage after the first reduces its gradients in one
piece (megatron-core turns bucketing off there), i.e. several GB on a large model: such a bucket
is measured at 1 GiB, where bus bandwidth has long reached its plateau, so the extra GPU memory
of the check stays bounded."""


class PreflightFailed(RuntimeError):
    """A measured figure below its threshold; the message is one line naming the config key."""


def tracked_config(config: dict[str, Any]) -> dict[str, Any]:
    """What the pre-flight table depends on (the ``preflight`` rule's tracked params).

    The first stage's shapes (model identity, cluster, layout, batch, optimizer, seed, first
    session), the plan's GPU and MFU, and the ``preflight`` section less ``enabled`` (which only
    decides whether the rule is in the DAG).
    """
    t = config["train"]
    return {
        "model": model_identity(config["model"]),
        "cluster": config["cluster"],
        "parallel": config["parallel"],
        "train": {
            "global_batch_size": t["global_batch_size"],
            "optimizer": t.get("optimizer"),
            "seed": t.get("seed"),
            "session": t["stage1"]["sessions"][0],
        },
        "plan": {k: config["plan"].get(k) for k in ("gpu", "assumed_mfu")},
        "preflight": {k: v for k, v in config["preflight"].items() if k != "enabled"},
    }


# ---------------------------------------------------------------------------------------------
# The job's spec
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreflightSpec:
    """What every rank of the pre-flight job reads: the first stage's shapes as a
    :class:`~skyforge.train.spec.StageSpec` (no data files: the tokens are random) and how much
    to measure."""

    stage: StageSpec
    warmup_steps: int
    steps: int
    repetitions: int
    result: str
    """The measurements as JSON, written last by global rank 0 (the job's declared output)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: str | os.PathLike) -> PreflightSpec:
        """Read a spec written by :meth:`to_json`.

        Raises:
            ValueError: the file is missing or not JSON (naming it).
        """
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError) as exc:
            raise ValueError(f"pre-flight spec '{path}': {exc}") from None
        return cls(**{**d, "stage": StageSpec(**d["stage"])})


def build_preflight_spec(
    *,
    model: ModelConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    preflight: PreflightConfig,
    accelerator: str,
    seed: int,
    result: Path,
) -> PreflightSpec:
    """The pre-flight job of the first stage: its model, layout, batch, optimizer and the first
    steps of its learning-rate schedule; the job's files go beside ``result``."""
    first = stage_names(train, decay=False)[0]
    tokens_per_step = train.global_batch_size * model.seq_length
    steps = preflight.warmup_steps + preflight.steps
    job_dir = Path(result).resolve().parent
    stage = StageSpec(
        stage=first,
        description=f"pre-flight of {first}: {steps} steps on random tokens",
        workdir=str(Path.cwd()),
        run_dir=str(job_dir),
        manifest=str(Path(result).resolve()),
        blend="",
        tokenizer="",
        model=dataclasses.asdict(model),
        parallel=dataclasses.asdict(parallel),
        accelerator=accelerator,
        global_batch_size=train.global_batch_size,
        train_steps=steps,
        schedule=session_schedule(train.sessions[0], tokens_per_step),
        optimizer={k: getattr(train, k) for k in OPTIMIZER_KEYS},
        num_train_samples=steps * train.global_batch_size,
        seed=seed,
        eod_mask_loss=False,
        log_interval_steps=1,
        eval_interval_steps=steps,
        eval_samples=1,
        save_interval_steps=steps,
        keep_last_checkpoints=1,
    )
    return PreflightSpec(
        stage=stage,
        warmup_steps=preflight.warmup_steps,
        steps=preflight.steps,
        repetitions=preflight.repetitions,
        result=str(Path(result).resolve()),
    )


# ---------------------------------------------------------------------------------------------
# The job (every rank)
# ---------------------------------------------------------------------------------------------


def run_preflight(spec_path: str | os.PathLike) -> dict[str, Any] | None:
    """Measure bandwidth and training throughput on this rank's job (every rank calls it).

    Call it like :func:`skyforge.train.loop.train_stage`: on every rank with the env://
    variables exported (submitit's ``TorchDistributedEnvironment``, or torchrun), or in one
    process with none of them.

    Returns:
        The measurements (global rank 0, also written to the spec's ``result``), None on the
        other ranks.

    Raises:
        RuntimeError: an optimizer step failed (inf/nan).
    """
    # deferred: heavy import (torch, megatron-core, the training loop)
    import torch

    from skyforge.model.attention import resolve_backend
    from skyforge.train.distributed import build_training
    from skyforge.train.loop import rank_process
    from skyforge.train.objectives import objective_for

    pf = PreflightSpec.load(spec_path)
    spec = pf.stage
    with rank_process(spec) as device:
        dist = torch.distributed
        rank, world = dist.get_rank(), dist.get_world_size()
        attention = resolve_backend(spec.model.get("attention_backend", "auto"))
        t0 = time.time()
        model, optimizer, _ = build_training(spec, attention.name)
        setup_s = time.time() - t0
        hosts: list[str] = [""] * world
        dist.all_gather_object(hosts, socket.gethostname())
        sizes = _message_sizes(model)
        allreduce = _bandwidth(hosts, sizes, pf.repetitions, device)
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the all-reduce buffers, before the training steps
        objective = objective_for(spec, attention.name)
        train = _throughput(pf, model, optimizer, objective, attention.name == "local", device)
        if rank != 0:
            return None
        nodes = list(dict.fromkeys(hosts))
        result = {
            "stage": spec.stage,
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "backend": dist.get_backend(),
            "world_size": world,
            "nodes": len(nodes),
            "ranks_per_node": {h: hosts.count(h) for h in nodes},
            "local_world_size": int(os.environ.get("LOCAL_WORLD_SIZE", world)),
            "attention": attention.name,
            "setup_s": setup_s,
            "message_bytes": sizes,
            "allreduce": allreduce,
            "train": train,
        }
        atomic_write_text(pf.result, json.dumps(result, indent=2) + "\n")
        return result


def _message_sizes(model: Any) -> list[int]:
    """The distinct gradient-bucket sizes in bytes over all ranks (at most
    :data:`MAX_MESSAGE_SIZES`: the smallest, the largest and evenly spaced between)."""
    import torch  # deferred: heavy import

    local = [
        bucket.grad_data.numel() * bucket.grad_data.element_size()
        for buffer in model.buffers + model.expert_parallel_buffers
        for bucket in buffer.buckets
    ]
    gathered: list[list[int]] = [[] for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather_object(gathered, local)
    sizes = sorted({min(s, MAX_MESSAGE_BYTES) for part in gathered for s in part if s > 0})
    if len(sizes) > MAX_MESSAGE_SIZES:
        last = len(sizes) - 1
        picks = {round(i * last / (MAX_MESSAGE_SIZES - 1)) for i in range(MAX_MESSAGE_SIZES)}
        sizes = [sizes[i] for i in sorted(picks)]
    return sizes


def _timed_allreduce(
    group: Any, nbytes: int, repetitions: int, device: torch.device
) -> tuple[float, float]:
    """(median seconds of one all-reduce of ``nbytes`` fp32 bytes in ``group``, its first
    timing) on this rank; one untimed call first (communicator set-up)."""
    import torch  # deferred: heavy import

    dist = torch.distributed
    tensor = torch.ones(max(1, nbytes // GRAD_BYTES), dtype=torch.float32, device=device)
    dist.all_reduce(tensor, group=group)
    times = []
    for _ in range(repetitions):
        dist.barrier(group=group)
        _sync(device)
        start = time.perf_counter()
        dist.all_reduce(tensor, group=group)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times[0]


def _bandwidth(
    hosts: list[str], sizes: list[int], repetitions: int, device: torch.device
) -> list[dict[str, Any]]:
    """All-reduce bus bandwidth within each node (all nodes at once) and across nodes, per
    message size. Every rank takes part; the rows are complete on every rank."""
    import torch  # deferred: heavy import

    dist = torch.distributed
    rank, world = dist.get_rank(), dist.get_world_size()
    nodes = list(dict.fromkeys(hosts))
    members = {h: [r for r in range(world) if hosts[r] == h] for h in nodes}
    if len(nodes) == 1:
        my_group = None  # the node is the world
    else:
        # Every rank creates every group, in the same order (torch.distributed's rule).
        groups = {h: dist.new_group(members[h]) for h in nodes}
        my_group = groups[hosts[rank]]
    rows: list[dict[str, Any]] = []
    for nbytes in sizes:
        for scope, group, size in (
            ("within node", my_group, len(members[hosts[rank]])),
            ("across nodes", None, world),
        ):
            if scope == "across nodes" and len(nodes) == 1:
                rows.append(_bw_row(scope, nbytes, world, None, "one node"))
                continue
            seconds = float("nan")
            if size > 1:
                seconds, _ = _timed_allreduce(group, nbytes, repetitions, device)
            gathered: list[float] = [0.0] * world
            dist.all_gather_object(gathered, seconds)
            if scope == "within node":
                per_node = {h: max(gathered[r] for r in members[h]) for h in nodes}
                rows.append(_node_row(nbytes, members, per_node))
            else:
                rows.append(_bw_row(scope, nbytes, world, max(gathered), ""))
    return rows


def _busbw(nbytes: int, ranks: int, seconds: float) -> float:
    """nccl-tests' bus bandwidth of an all-reduce, GB/s."""
    return nbytes * 2.0 * (ranks - 1) / ranks / seconds / 1e9


def _bw_row(scope: str, nbytes: int, ranks: int, seconds: float | None, note: str) -> dict:
    ok = seconds is not None and ranks > 1 and seconds > 0
    return {
        "scope": scope,
        "message_bytes": nbytes,
        "ranks": ranks,
        "seconds": seconds if ok else None,
        "busbw_gbps": _busbw(nbytes, ranks, seconds) if ok else None,
        "note": note,
    }


def _node_row(nbytes: int, members: dict[str, list[int]], seconds: dict[str, float]) -> dict:
    """The slowest node's figure (each node's time: its slowest rank), the others in the note."""
    busbw = {
        h: _busbw(nbytes, len(members[h]), s)
        for h, s in seconds.items()
        if len(members[h]) > 1 and s > 0
    }
    if not busbw:
        return _bw_row("within node", nbytes, 1, None, "one rank per node")
    slowest = min(busbw, key=busbw.get)
    row = _bw_row("within node", nbytes, len(members[slowest]), seconds[slowest], "")
    if len(busbw) > 1:
        row["note"] = (
            f"slowest of {len(busbw)} nodes: {slowest}; median node "
            f"{statistics.median(busbw.values()):.3g} GB/s"
        )
    else:
        row["note"] = f"node {slowest}"
    return row


def _sync(device: torch.device) -> None:
    import torch  # deferred: heavy import

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _random_batches(
    spec: StageSpec, num_micro: int, dense_mask: bool, device: torch.device
) -> list[dict]:
    """One step's micro-batches of this rank: random tokens, one document per sample, in the
    dataset's sample format (:func:`skyforge.train.objectives.base.collate`)."""
    import torch  # deferred: heavy import

    from skyforge.train.objectives.base import collate

    seq, vocab = spec.model["seq_length"], spec.model["vocab_size"]
    gen = torch.Generator().manual_seed(spec.seed + torch.distributed.get_rank())
    causal = torch.tril(torch.ones(1, seq, seq)) < 0.5  # True = masked, as megatron's dataset
    batches = []
    for _ in range(num_micro):
        samples = []
        for _ in range(spec.parallel["micro_batch_size"]):
            tokens = torch.randint(0, vocab, (seq + 1,), generator=gen, dtype=torch.int64)
            samples.append(
                {
                    "tokens": tokens[:-1],
                    "labels": tokens[1:],
                    "loss_mask": torch.ones(seq, dtype=torch.float32),
                    "position_ids": torch.arange(seq, dtype=torch.int64),
                    "attention_mask": causal if dense_mask else None,
                }
            )
        batches.append(collate(samples, device, dense_mask))
    return batches


def _throughput(
    pf: PreflightSpec,
    model: Any,
    optimizer: Any,
    objective: Any,
    dense_mask: bool,
    device: torch.device,
) -> dict[str, Any]:
    """Warm-up plus timed optimizer steps of full global batches; figures per GPU."""
    import torch  # deferred: heavy import
    from megatron.core import parallel_state as ps

    from skyforge.train.loop import train_step
    from skyforge.train.schedules import lr_at

    spec = pf.stage
    dist = torch.distributed
    world = dist.get_world_size()
    mbs, seq = spec.parallel["micro_batch_size"], spec.model["seq_length"]
    dp = ps.get_data_parallel_world_size()
    if spec.global_batch_size % (mbs * dp):
        raise ValueError(
            f"config key 'train.global_batch_size': {spec.global_batch_size} is not a "
            f"multiple of micro_batch_size {mbs} × data-parallel size {dp}"
        )
    num_micro = spec.global_batch_size // (mbs * dp)
    batches = _random_batches(spec, num_micro, dense_mask, device)
    step_s: list[float] = []
    for i in range(pf.warmup_steps + pf.steps):
        dist.barrier()
        _sync(device)
        start = time.perf_counter()
        ok, _, _ = train_step(
            model,
            optimizer,
            objective,
            iter(batches),
            num_micro=num_micro,
            seq_length=seq,
            micro_batch_size=mbs,
            lr=lr_at(i, **spec.schedule),
        )
        _sync(device)
        dist.barrier()
        if not ok:
            raise RuntimeError(f"pre-flight: optimizer step {i} failed (inf/nan)")
        if i >= pf.warmup_steps:
            step_s.append(time.perf_counter() - start)
    tokens_per_step = spec.global_batch_size * seq
    per_gpu = tokens_per_step * len(step_s) / sum(step_s) / world
    flops_tok = P.flops_per_token(spec.model_config())
    return {
        "warmup_steps": pf.warmup_steps,
        "steps": pf.steps,
        "num_microbatches": num_micro,
        "tokens_per_step": tokens_per_step,
        "step_seconds": step_s,
        "tokens_per_s_per_gpu": per_gpu,
        "tflops_per_gpu": per_gpu * flops_tok / 1e12,
    }


# ---------------------------------------------------------------------------------------------
# The table beside the plan, and the check
# ---------------------------------------------------------------------------------------------

COLUMNS = (
    "check",
    "scope",
    "message_mib",
    "ranks",
    "measured",
    "plan",
    "threshold",
    "unit",
    "status",
    "note",
)


def _layout_name(parallel: ParallelConfig) -> str:
    return f"TP{parallel.tensor}·PP{parallel.pipeline}·DP{parallel.data}"


def preflight_table(
    result: dict[str, Any],
    *,
    model: ModelConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    plan: PlanConfig,
    preflight: PreflightConfig,
) -> pd.DataFrame:
    """The measurements beside the plan, one row per figure, with each check's status
    (``ok``, ``FAILED``, ``not checked``, ``not measured``, ``info``)."""
    import pandas as pd  # deferred: a CLI step process pays for pandas only here

    gpu = P.gpu_for_device(result["device"]) if result["device"] != "cpu" else None
    rows: list[dict[str, Any]] = []
    largest = max(result["message_bytes"], default=0)
    for r in result["allreduce"]:
        within = r["scope"] == "within node"
        row = {
            "check": "all-reduce busbw",
            "scope": r["scope"],
            "message_mib": r["message_bytes"] / 2**20,
            "ranks": r["ranks"],
            "measured": r["busbw_gbps"],
            "plan": (gpu.intra_node_gbps if within else gpu.inter_node_gbps_per_gpu)
            if gpu
            else None,
            "threshold": None,
            "unit": "GB/s",
            "status": "info",
            "note": r["note"],
        }
        floor = (
            preflight.min_intra_node_busbw_gbps if within else preflight.min_cross_node_busbw_gbps
        )
        if r["busbw_gbps"] is None:
            row["status"] = "not measured"
        elif r["message_bytes"] == largest:
            row["threshold"] = floor
            row["status"] = "ok" if r["busbw_gbps"] >= floor else "FAILED"
        rows.append(row)

    t = result["train"]
    world = result["world_size"]
    measured_tps = t["tokens_per_s_per_gpu"]
    flops_tok = P.flops_per_token(model)
    layout = _layout_name(parallel)
    if gpu is None:
        what = "CPU" if result["device"] == "cpu" else f"'{result['device']}'"
        why = (
            f"the planner has no peak FLOP/s for {what}: no MFU, no prediction, not checked "
            f"(plan made for {plan.gpu})"
        )
        pred_mfu = pred_tps = measured_mfu = None
    else:
        pred_mfu = P.predict_mfu(
            model, parallel, parallel, train.global_batch_size, gpu, plan.assumed_mfu
        )
        pred_tps = P.throughput_from_mfu(pred_mfu, model, gpu)
        measured_mfu = P.mfu_from_throughput(measured_tps, model, gpu)
        why = f"plan for {layout} on {gpu.name} at assumed MFU {plan.assumed_mfu:g}"
        if gpu.name != plan.gpu:
            why += f" (the device in use; plan.gpu is {plan.gpu})"
    tps_row = {
        "check": "training throughput",
        "scope": f"{layout}, {t['steps']} steps",
        "message_mib": None,
        "ranks": world,
        "measured": measured_tps,
        "plan": pred_tps,
        "threshold": None if pred_tps is None else preflight.min_fraction_of_plan * pred_tps,
        "unit": "tokens/s per GPU",
        "status": "not checked",
        "note": why,
    }
    if pred_tps is not None:
        ok = measured_tps >= preflight.min_fraction_of_plan * pred_tps
        tps_row["status"] = "ok" if ok else "FAILED"
        tps_row["note"] = f"{measured_tps / pred_tps:.2f} of the {why}"
    step_s = statistics.median(t["step_seconds"])
    rows += [
        tps_row,
        {
            "check": "MFU",
            "scope": layout,
            "message_mib": None,
            "ranks": world,
            "measured": measured_mfu,
            "plan": pred_mfu,
            "threshold": None,
            "unit": "",
            "status": "info" if gpu else "not measured",
            "note": f"{measured_tps * flops_tok / 1e12:.3g} TFLOP/s per GPU measured",
        },
        {
            "check": "step time",
            "scope": f"{t['num_microbatches']} micro-batches of {parallel.micro_batch_size}",
            "message_mib": None,
            "ranks": world,
            "measured": step_s,
            "plan": t["tokens_per_step"] / (pred_tps * world) if pred_tps else None,
            "threshold": None,
            "unit": "s",
            "status": "info",
            "note": f"median of {t['steps']} after {t['warmup_steps']} warm-up",
        },
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def check_preflight(table: pd.DataFrame) -> str | None:
    """None when every check passed, else one line naming each failed figure, the plan's value
    and the config key."""
    problems = []
    for r in table[table.status == "FAILED"].itertuples():
        if r.check == "training throughput":
            problems.append(
                f"{r.measured:,.0f} tokens/s per GPU is {r.measured / r.plan:.2f} of the plan's "
                f"{r.plan:,.0f} ({r.scope}), below preflight.min_fraction_of_plan "
                f"{r.threshold / r.plan:g}"
            )
        else:
            within = r.scope == "within node"
            what, key = ("within-node", "intra") if within else ("cross-node", "cross")
            plan = f", plan {r.plan:g} GB/s" if _number(r.plan) else ""
            problems.append(
                f"{what} all-reduce busbw {r.measured:.3g} GB/s at {r.message_mib:.3g} MiB "
                f"({r.ranks} ranks{plan}) is below preflight.min_{key}_node_busbw_gbps "
                f"{r.threshold:g}"
            )
    return "pre-flight failed: " + "; ".join(problems) if problems else None


def _number(x: Any) -> bool:
    """Whether a table cell holds a number (not None or NaN)."""
    return isinstance(x, int | float) and not math.isnan(x)


def _markdown(table: pd.DataFrame, result: dict[str, Any], failed: str | None) -> str:
    def fmt(x: Any) -> str:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return ""
        if isinstance(x, float) and not isinstance(x, bool):
            return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"
        return str(x)

    head = "| " + " | ".join(COLUMNS) + " |"
    lines = [
        f"# Pre-flight of {result['stage']}",
        "",
        f"{result['world_size']} ranks on {result['nodes']} node(s) "
        f"({', '.join(f'{h}: {n}' for h, n in result['ranks_per_node'].items())}), device "
        f"{result['device']}, {result['backend']}, attention {result['attention']}. All-reduce "
        "bus bandwidth as nccl-tests define it (bytes × 2(n−1)/n / time, median of the timed "
        "calls, slowest rank) at the sizes of the gradient buckets; throughput over full "
        "global batches of random tokens.",
        "",
        f"**{failed}**" if failed else "All checks passed.",
        "",
        head,
        "|" + "---|" * len(COLUMNS),
    ]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_preflight(
    result: dict[str, Any], table: pd.DataFrame, csv: Path, markdown: Path
) -> dict[str, Path]:
    """Write the table as ``csv`` and ``markdown`` when every check passed; otherwise write it
    beside them as ``<name>.failed.csv`` / ``.failed.md`` (for diagnosis), leave the outputs
    absent, and raise.

    Raises:
        PreflightFailed: one line naming the failed figures and their config keys.
    """
    csv, markdown = Path(csv), Path(markdown)
    failed_csv = csv.with_name(f"{csv.stem}.failed.csv")
    failed_md = markdown.with_name(f"{markdown.stem}.failed.md")
    failed = check_preflight(table)
    text = _markdown(table, result, failed)
    if failed:
        for path in (csv, markdown):
            path.unlink(missing_ok=True)
        write_csv(failed_csv, table)
        atomic_write_text(failed_md, text)
        raise PreflightFailed(f"{failed} (table: {failed_csv})")
    for path in (failed_csv, failed_md):
        path.unlink(missing_ok=True)
    atomic_write_text(markdown, text)
    write_csv(csv, table)
    return {"csv": csv, "md": markdown}


def main(argv: list[str] | None = None) -> int:
    """``python -m skyforge.train.preflight SPEC`` on every rank (torchrun, or by hand)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("spec", type=Path, help="the pre-flight spec (PreflightSpec.to_json)")
    run_preflight(parser.parse_args(argv).spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
