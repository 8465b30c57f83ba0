"""The data half of the plan: what cleaning a crawl of a given size costs, step by step.

For a crawl of ``warc_bytes`` in ``shards`` shards, each data rule of the DAG gets its number of
jobs, the peak memory and time of one job, core-hours, and the wall time on ``cores`` cores, from
the per-rule rates of :data:`skyforge.plan.resources.DATA_RATES`. Those rates (peak RSS = base +
k × bytes, seconds = s0 + rate × MB, on one core) were measured on this repository's reference
machine with the default crawl and an 8× crawl; ``plan.data.rates_file`` replaces them with rates
measured on the user's own nodes (JSON: rule → ``{"base_mb", "k", "s0", "s_per_mb"}``).

Jobs per rule follow the DAG: one per shard for the per-shard steps, bands × partitions of each
band's keys for ``minhash_buckets``, one per language group for ``substring_dedup``, one per
partition for ``exact_duplicates`` and ``minhash_components``, one for the other global steps.
Wall time adds up the rules one after another (each rule's jobs spread over the cores), which
ignores the overlap of independent rules: an upper bound. A job whose peak memory exceeds
``plan.data.node_memory_gb`` cannot run as the code stands, and the table says so (at the
preset's 100 TB none: the global steps stream, sample or partition). The ground-truth scores
(:data:`SYNTHETIC_ONLY`) are planned only for a synthetic crawl. The exact-dedup reduce, the
MinHash bucket jobs of each band and the MinHash components run in as many partitions as their
memory budgets need (:func:`skyforge.plan.resources.dedup_partitions`, reported below the
table); the MinHash merge holds every document of a cluster once.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from skyforge.config import ConfigError
from skyforge.plan import resources as R

__all__ = ["DataStep", "SYNTHETIC_ONLY", "data_plan", "load_rates", "render_data_plan"]

SYNTHETIC_ONLY = frozenset({"score_removals"})
"""Data rules of a synthetic crawl's DAG only (scored against its ground truth): not planned for
a crawl of WARC files."""


@dataclass(frozen=True)
class DataStep:
    """One data rule at the planned crawl size."""

    rule: str
    jobs: int
    cpus: int
    peak_gb: float
    """One job's peak memory."""
    hours_per_job: float
    core_hours: float
    wall_hours: float
    """On the planned cores, the rule's jobs spread over them."""
    fits: bool
    """One job's peak fits one node's memory."""


def load_rates(path: str | Path | None) -> dict[str, R.DataRate]:
    """The shipped rates, with those of ``path`` (JSON) in their place.

    Raises:
        ConfigError: naming ``plan.data.rates_file`` for a missing file, an unknown rule or a
            rate without its four numbers.
    """
    rates = dict(R.DATA_RATES)
    if path is None:
        return rates
    key = "config key 'plan.data.rates_file'"
    try:
        given = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key}: {path}: {exc}") from None
    for rule, values in given.items():
        if rule not in rates:
            raise ConfigError(f"{key}: {path}: unknown rule {rule!r}")
        try:
            rates[rule] = replace(
                rates[rule],
                base_mb=float(values["base_mb"]),
                k=float(values["k"]),
                s0=float(values["s0"]),
                s_per_mb=float(values["s_per_mb"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{key}: {path}: rule {rule!r} needs numbers base_mb, k, s0, s_per_mb"
            ) from None
    return rates


def _jobs(rule: str, rate: R.DataRate, shards: int, config: Mapping[str, Any], crawl: float) -> int:
    if rate.scale == "shard":
        return shards
    if rule in ("exact_duplicates", "minhash_components"):
        return R.dedup_partitions(rule, config, crawl)
    if rule == "minhash_buckets":
        return int(config["dedup"]["near"]["bands"]) * R.dedup_partitions(rule, config, crawl)
    if rule == "substring_dedup":
        return len(config["dedup"]["substring"]["groups"])
    return 1


def data_plan(config: Mapping[str, Any], default_crawl_bytes: float) -> dict[str, Any]:
    """Every data rule at the size of ``plan.data`` (null sizes: this run's own crawl).

    Args:
        config: The validated config.
        default_crawl_bytes: This run's crawl bytes (``skyforge.plan.resources.crawl_bytes``),
            used when ``plan.data.warc_bytes`` is null.

    Returns:
        JSON-ready: ``warc_bytes``, ``shards``, ``cores``, ``node_memory_gb``, ``rates`` (where
        the rates come from) and ``steps`` (:class:`DataStep` dicts, in DAG order).
    """
    d = config["plan"]["data"]
    crawl = float(d["warc_bytes"] or default_crawl_bytes)
    shards = int(d["shards"] or config["crawl"]["num_shards"])
    cores = int(d["cores"])
    node_bytes = float(d["node_memory_gb"]) * 1e9
    rates = load_rates(d["rates_file"])
    sized = copy.deepcopy(dict(config))
    sized["crawl"] = {**sized["crawl"], "num_shards": shards}
    if d["warc_bytes"]:  # a crawl of a given size is a real one: WARC files, not the generator
        sized["crawl"]["source"] = "warc"
    steps = []
    for rule, rate in rates.items():
        if sized["crawl"]["source"] != "synthetic" and rule in SYNTHETIC_ONLY:
            continue
        req = R.data_request(rule, rate, crawl, "planned", sized, None)
        jobs = _jobs(rule, rate, shards, sized, crawl)
        cpus = req.cpus_per_task
        hours = req.need_runtime_min / 60
        peak = req.need_mem_mb * 2**20
        steps.append(
            asdict(
                DataStep(  # fixed-size steps (generators, small tables) are lumped in the table
                    rule=rule,
                    jobs=jobs,
                    cpus=cpus,
                    peak_gb=peak / 1e9,
                    hours_per_job=hours,
                    core_hours=jobs * cpus * hours,
                    wall_hours=math.ceil(jobs * cpus / cores) * hours,
                    fits=peak <= node_bytes,
                )
            )
        )
    return {
        "warc_bytes": crawl,
        "shards": shards,
        "cores": cores,
        "node_memory_gb": float(d["node_memory_gb"]),
        "rates": str(d["rates_file"]) if d["rates_file"] else "reference machine",
        "documents": R.planned_docs(sized, crawl),
        "partitions": {
            rule: R.dedup_partitions(rule, sized, crawl)
            for rule in ("exact_duplicates", "minhash_buckets", "minhash_components")
        },
        "bands": int(config["dedup"]["near"]["bands"]),
        "budgets_gb": {
            "exact_duplicates": float(config["dedup"]["exact"]["memory_budget_gb"]),
            "minhash_buckets": float(config["dedup"]["near"]["memory_budget_gb"]),
            "minhash_components": float(config["dedup"]["near"]["memory_budget_gb"]),
        },
        "steps": steps,
    }


def render_data_plan(plan: Mapping[str, Any]) -> str:
    """The data half as Markdown (plan.md's "Data half" section)."""
    rates = (
        f"from {plan['rates']}"
        if plan["rates"] != "reference machine"
        else "measured on one core of the reference machine (skyforge.plan.resources.DATA_RATES)"
    )
    lines = [
        "## Data half",
        "",
        f"Crawl: {plan['warc_bytes'] / 1e12:.3g} TB of WARC in {plan['shards']:,} shards, on "
        f"{plan['cores']:,} cores with {plan['node_memory_gb']:g} GB per node; per-core rates "
        f"{rates}. Wall hours add the rules up one after another (an upper bound).",
        "",
        "| rule | jobs | CPUs/job | peak memory/job | hours/job | core-hours | wall hours "
        "| fits a node |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    steps = plan["steps"]
    fixed = [s for s in steps if s["rule"] in _FIXED]
    for s in [s for s in steps if s["rule"] not in _FIXED]:
        lines.append(
            f"| {s['rule']} | {s['jobs']:,} | {s['cpus']} | {_gb(s['peak_gb'])} "
            f"| {_num(s['hours_per_job'])} | {_num(s['core_hours'])} | {_num(s['wall_hours'])} "
            f"| {'yes' if s['fits'] else '**no**'} |"
        )
    if fixed:
        lines.append(
            f"| {len(fixed)} fixed-size steps (generators, reports) | {len(fixed)} | 1 "
            f"| ≤ {_gb(max(s['peak_gb'] for s in fixed))} "
            f"| ≤ {_num(max(s['hours_per_job'] for s in fixed))} "
            f"| {_num(sum(s['core_hours'] for s in fixed))} "
            f"| {_num(sum(s['wall_hours'] for s in fixed))} "
            f"| {'yes' if all(s['fits'] for s in fixed) else '**no**'} |"
        )
    core_hours = sum(s["core_hours"] for s in steps)
    wall_hours = sum(s["wall_hours"] for s in steps)
    jobs = sum(s["jobs"] for s in steps)
    lines.append(f"| **total** | {jobs:,} | | | | {_num(core_hours)} | {_num(wall_hours)} | |")
    parts = plan.get("partitions") or {}
    if parts:
        budgets, docs = plan["budgets_gb"], plan["documents"]
        counted = f"{docs / 1e9:.3g} billion" if docs >= 1e9 else f"{docs:,.0f}"
        lines += [
            "",
            f"Global dedup reduces for ~{counted} documents (docs/dedup.md): exact_duplicates in "
            f"{_partitions(parts['exact_duplicates'])} of the hash space "
            f"(dedup.exact.memory_budget_gb {budgets['exact_duplicates']:g} GiB), "
            f"minhash_buckets in {_partitions(parts['minhash_buckets'])} of each of the "
            f"{plan['bands']} bands' keys ({plan['bands'] * parts['minhash_buckets']:,} jobs, "
            f"dedup.near.memory_budget_gb {budgets['minhash_buckets']:g} GiB each), "
            f"minhash_components in {_partitions(parts['minhash_components'])} of the pairs "
            f"(dedup.near.memory_budget_gb {budgets['minhash_components']:g} GiB), then one "
            f"minhash_clusters merge holding every document of a cluster.",
        ]
    broken = [s["rule"] for s in steps if not s["fits"]]
    if broken:
        lines += [
            "",
            f"Does not fit one node as the code stands: {', '.join(broken)} (their memory grows "
            "with the crawl).",
        ]
    return "\n".join(lines) + "\n"


_FIXED = frozenset(r for r, rate in R.DATA_RATES.items() if rate.scale == "fixed")


def _partitions(n: int) -> str:
    return f"{n:,} partition{'s' if n != 1 else ''}"


def _gb(x: float) -> str:
    return f"{x:,.0f} GB" if x >= 100 else f"{x:.3g} GB"


def _num(x: float) -> str:
    """Hours: three significant digits below 1,000, else whole numbers with separators."""
    return f"{x:,.0f}" if x >= 1000 else f"{x:.3g}"
