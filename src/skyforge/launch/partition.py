"""What a SLURM partition can give a multi-node job: checked before submitting, and while the job
waits for nodes that may never come up.

Before a job is submitted, :func:`check_partition` compares what it asks for (nodes, GPUs per
node) with the partition's nodes as ``sinfo`` reports them, so that a partition with fewer nodes
than ``cluster.nodes``, or with nodes short of ``cluster.gpus_per_node`` GPUs, is one line naming
the key and the nodes, not a job that pends forever (SLURM accepts such a job when the partition
could grow, and the message it leaves in ``squeue`` is a reason code). While a job waits,
:func:`blocked_reason` tells a queue (other jobs first: wait, however long) from nodes that are
down, drained or missing (an operator must act: the dispatcher gives up after
``launch.unavailable_timeout_min``).

Written here rather than taken from a library: submitit and the Snakemake SLURM plugin submit and
poll jobs but do not look at the partition; pyslurm needs the SLURM headers of the exact version.
Both commands used (``sinfo``, ``squeue``) print fixed ``-o`` formats that are stable across
SLURM releases.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass

from skyforge.config import ConfigError

__all__ = [
    "Node",
    "blocked_reason",
    "check_partition",
    "check_rule_partitions",
    "parse_sinfo",
    "partition_nodes",
]

log = logging.getLogger(__name__)

SLURM_QUERY_TIMEOUT_S = 60
# Pending reasons (squeue %r) that no amount of queueing resolves: a node or the partition is
# down, drained, missing, or the request can never be met. Resources and Priority are a queue.
BLOCKING_REASONS = (
    "ReqNodeNotAvail",
    "NodeDown",
    "PartitionDown",
    "PartitionInactive",
    "PartitionNodeLimit",
    "PartitionConfig",
    "BadConstraints",
    "JobHeldAdmin",
    "launch failed requeued held",
    # The long form squeue prints once the scheduler has looked at the job (seen here for a
    # job whose nodes were drained after it was submitted).
    "Nodes required for job are DOWN",
)
# Node states (sinfo %T, lower case, a trailing * means not responding) in which a node takes
# no job until an operator or the node itself brings it back.
_UNUSABLE = ("down", "drain", "fail", "maint", "unk", "not_responding", "future", "inval", "power")


@dataclass(frozen=True)
class Node:
    """One node of a partition as ``sinfo -N`` reports it."""

    name: str
    gpus: int
    state: str

    @property
    def usable(self) -> bool:
        """Whether the node can take a job now (idle, mixed, allocated, completing...)."""
        state = self.state.lower()
        return not state.endswith("*") and not state.startswith(_UNUSABLE)


def _gpu_count(gres: str) -> int:
    """GPUs in a gres string: ``gpu:8``, ``gpu:a800:8(S:0-1)``, ``gpu:2,shard:4``, ``(null)``."""
    total = 0
    for item in gres.split(","):
        item = re.sub(r"\(.*?\)", "", item).strip()
        if not item.startswith("gpu"):
            continue
        count = item.rsplit(":", 1)[-1]
        total += int(count) if count.isdigit() else 1
    return total


def parse_sinfo(text: str) -> list[Node]:
    """Nodes from ``sinfo -N -h -o '%N|%G|%T'`` output (a node listed twice counts once)."""
    nodes: dict[str, Node] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, gres, state = (part.strip() for part in line.split("|", 2))
        nodes.setdefault(name, Node(name, _gpu_count(gres), state))
    return list(nodes.values())


def _run(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=SLURM_QUERY_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"$ {' '.join(cmd)}: {error}") from error
    if proc.returncode != 0:
        raise RuntimeError(f"$ {' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def partition_nodes(partition: str | None) -> tuple[str, list[Node]]:
    """The partition's name (the cluster's default one for None) and its nodes.

    Raises:
        ConfigError: naming ``launch.slurm_partition`` when SLURM has no such partition.
        RuntimeError: when ``sinfo`` cannot be run.
    """
    if partition is None:
        names = _run(["sinfo", "-h", "-o", "%P"]).split()
        default = [name[:-1] for name in names if name.endswith("*")]
        if not default:
            raise ConfigError(
                "config key 'launch.slurm_partition': not set, and this cluster has no default "
                f"partition (partitions: {', '.join(names) or 'none'})"
            )
        partition = default[0]
    nodes = parse_sinfo(_run(["sinfo", "-N", "-h", "-p", partition, "-o", "%N|%G|%T"]))
    if not nodes:
        raise ConfigError(
            f"config key 'launch.slurm_partition': SLURM has no partition {partition!r} "
            "(or it has no nodes): see `sinfo -s`"
        )
    return partition, nodes


def _names(nodes: list[Node], limit: int = 4) -> str:
    shown = [f"{n.name} ({n.gpus} GPUs)" for n in nodes[:limit]]
    more = f" and {len(nodes) - limit} more" if len(nodes) > limit else ""
    return ", ".join(shown) + more


def check_partition(
    partition: str, nodes: list[Node], *, num_nodes: int, gpus_per_node: int, job_name: str
) -> None:
    """Refuse, before submitting, a job the partition can never run; warn about nodes of
    unequal GPU counts (SLURM then picks only nodes with enough, which is fine but rarely
    meant).

    Raises:
        ConfigError: one line naming ``cluster.nodes`` or ``cluster.gpus_per_node``, the
            partition and the nodes short of GPUs.
    """
    if len(nodes) < num_nodes:
        raise ConfigError(
            f"config key 'cluster.nodes': job {job_name!r} asks for {num_nodes} nodes, but "
            f"partition {partition!r} has {len(nodes)} ({', '.join(n.name for n in nodes)})"
        )
    if not gpus_per_node:
        return
    enough = [n for n in nodes if n.gpus >= gpus_per_node]
    short = [n for n in nodes if n.gpus < gpus_per_node]
    if len(enough) < num_nodes:
        raise ConfigError(
            f"config key 'cluster.gpus_per_node': job {job_name!r} asks for {num_nodes} nodes "
            f"of {gpus_per_node} GPUs, but only {len(enough)} of the {len(nodes)} nodes of "
            f"partition {partition!r} have that many (short: {_names(short)})"
        )
    if short:
        log.warning(
            "partition %r has nodes of unequal GPU counts: %s have fewer than the %d per node "
            "job %r asks for, and SLURM will not place it there",
            partition,
            _names(short),
            gpus_per_node,
            job_name,
        )


def blocked_reason(job_id: str) -> str | None:
    """Why the pending job ``job_id`` cannot start without an operator, or None when it is
    merely queued (or not pending, or unknown to squeue).

    Blocked: a pending reason of :data:`BLOCKING_REASONS`, or waiting for ``Resources`` while
    the partition has fewer usable nodes than the job needs (a node down or drained).

    Raises:
        RuntimeError: when ``squeue`` or ``sinfo`` cannot be run.
    """
    out = _run(["squeue", "-h", "-j", job_id, "-o", "%T|%D|%P|%r"]).strip()
    if not out:
        return None
    state, count, partition, reason = out.splitlines()[0].split("|", 3)
    if state != "PENDING" or not (reason.startswith(BLOCKING_REASONS) or reason == "Resources"):
        return None
    nodes = parse_sinfo(_run(["sinfo", "-N", "-h", "-p", partition, "-o", "%N|%G|%T"]))
    usable = [n for n in nodes if n.usable]
    down = ", ".join(f"{n.name} {n.state}" for n in nodes if not n.usable)
    if reason == "Resources":
        if count.isdigit() and len(usable) < int(count):
            return f"Resources: {len(usable)} of the {count} nodes it needs are up; {down}"
        return None  # a queue
    return f"{reason}; {down}" if down else reason


def check_rule_partitions(requests: list[tuple[str, str, str, int]]) -> None:
    """At dry-run time, when this machine reaches SLURM: each rule's partition exists and, for a
    rule that asks for GPUs, has a node with that many (a partition without GPUs would take the
    job and run it on the CPU, for days). Without ``sinfo`` (a laptop dry run) nothing is
    checked.

    Args:
        requests: ``(rule, config key, partition, GPUs per node)`` per rule with a partition.

    Raises:
        ConfigError: one line naming the rule, the key, the partition and its nodes.
    """
    if not requests or shutil.which("sinfo") is None:
        return
    try:
        names = [n.rstrip("*") for n in _run(["sinfo", "-h", "-o", "%P"]).split()]
    except RuntimeError:  # sinfo without a reachable controller: nothing to check against
        return
    nodes: dict[str, list[Node]] = {}
    for rule, key, partition, gpus in requests:
        if partition not in names:
            raise ConfigError(
                f"rule {rule}: config key '{key}': SLURM has no partition {partition!r} "
                f"(partitions: {', '.join(sorted(set(names))) or 'none'})"
            )
        if gpus <= 0:
            continue
        if partition not in nodes:
            out = _run(["sinfo", "-N", "-h", "-p", partition, "-o", "%N|%G|%T"])
            nodes[partition] = parse_sinfo(out)
        if not any(n.gpus >= gpus for n in nodes[partition]):
            listed = ", ".join(f"{n.name} ({n.gpus} GPUs)" for n in nodes[partition]) or "none"
            raise ConfigError(
                f"rule {rule}: config key '{key}': asks for {gpus} GPUs on one node, but no node "
                f"of partition {partition!r} has that many (nodes: {listed})"
            )
