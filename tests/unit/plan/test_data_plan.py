"""The data half of the plan: jobs, memory, core-hours and wall time of every data rule."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from skyforge.config import ConfigError, load_config_files, validate_config
from skyforge.plan import resources as R
from skyforge.plan.data_plan import data_plan, render_data_plan

REPO = Path(__file__).resolve().parents[3]


def _config(*files: str, **data) -> dict:
    cfg = load_config_files([REPO / f for f in files])
    if data:
        cfg = copy.deepcopy(cfg)
        cfg["plan"]["data"].update(data)
        cfg = validate_config(cfg)
    return cfg


def _steps(cfg: dict) -> dict[str, dict]:
    crawl, _ = R.crawl_bytes(cfg, R.DagShape(0, 0, 0, 0))
    return {s["rule"]: s for s in data_plan(cfg, crawl)["steps"]}


def test_default_plans_every_data_rule_with_the_dag_job_counts():
    cfg = _config("config.yaml")
    steps = _steps(cfg)
    assert set(steps) == set(R.DATA_RATES)
    shards = cfg["crawl"]["num_shards"]
    assert steps["extract"]["jobs"] == steps["filter"]["jobs"] == shards
    assert steps["minhash_buckets"]["jobs"] == cfg["dedup"]["near"]["bands"]
    assert steps["substring_dedup"]["jobs"] == len(cfg["dedup"]["substring"]["groups"])
    # The global dedup reduces: one partition each on the tiny default (3,000 pages).
    assert steps["exact_duplicates"]["jobs"] == steps["minhash_components"]["jobs"] == 1
    assert steps["minhash_clusters"]["jobs"] == 1
    assert all(s["fits"] for s in steps.values())  # the tiny default fits the laptop


def test_sizes_scale_with_the_crawl_shards_and_cores():
    base = _steps(_config("config.yaml", warc_bytes=1e12, shards=100, cores=100))
    double = _steps(_config("config.yaml", warc_bytes=2e12, shards=100, cores=100))
    # Per-shard steps stream record batches: their memory does not follow the shard (k = 0),
    # their time does. A global step's memory still follows the crawl.
    assert R.DATA_RATES["filter"].k == 0
    assert double["filter"]["peak_gb"] == base["filter"]["peak_gb"]
    assert double["filter"]["core_hours"] == pytest.approx(2 * base["filter"]["core_hours"], 0.02)
    # The MinHash merge holds every clustered document; the ground-truth scores exist only for
    # a synthetic crawl, not for one of WARC files.
    assert double["minhash_clusters"]["peak_gb"] > base["minhash_clusters"]["peak_gb"]
    assert "score_removals" not in base and "score_removals" in _steps(_config("config.yaml"))
    more_shards = _steps(_config("config.yaml", warc_bytes=1e12, shards=200, cores=100))
    assert more_shards["filter"]["jobs"] == 200
    assert more_shards["filter"]["hours_per_job"] < base["filter"]["hours_per_job"]
    # 100 jobs on 100 cores: one wave; on 50 cores: two.
    fewer_cores = _steps(_config("config.yaml", warc_bytes=1e12, shards=100, cores=50))
    assert fewer_cores["filter"]["wall_hours"] == pytest.approx(2 * base["filter"]["wall_hours"])


def test_the_preset_plans_a_common_crawl_dump_in_jobs_that_fit_a_node():
    cfg = _config("config.yaml", "presets/a800_512.yaml")
    crawl, _ = R.crawl_bytes(cfg, R.DagShape(0, 0, 0, 0))
    plan = data_plan(cfg, crawl)
    assert plan["warc_bytes"] == 1e14 and plan["shards"] == 1000 and plan["cores"] == 8192
    steps = {s["rule"]: s for s in plan["steps"]}
    per_shard = [r for r, rate in R.DATA_RATES.items() if rate.scale == "shard"]
    assert all(steps[r]["fits"] and steps[r]["jobs"] == 1000 for r in per_shard)
    # Streaming jobs: a 100 GB shard needs well under a GB in every per-shard step.
    assert all(steps[r]["peak_gb"] < 1.0 for r in per_shard if r != "pack_shard"), steps
    # Read in place (crawl.reshard: false): the crawl job lists files, it copies nothing.
    assert steps["crawl"]["hours_per_job"] < 0.01
    assert steps["substring_dedup"]["fits"]  # hash partitions within its budget
    assert steps["crawl"]["peak_gb"] < 1  # real WARCs are streamed, not held
    # ~3 billion pages (33 kB of WARC each): the dedup reduces run in as many partitions as
    # their 16 GiB budgets need, and each job, the one merge included, fits a 512 GB node.
    docs = 1e14 / R.WARC_BYTES_PER_DOC
    assert plan["documents"] == pytest.approx(docs)
    exact = steps["exact_duplicates"]
    assert exact["jobs"] == plan["partitions"]["exact_duplicates"] == 25  # ⌈140 × 3.03e9 / 16 GiB⌉
    assert exact["fits"] and exact["peak_gb"] < 16 * 2**30 / 1e9 + 0.3
    components = steps["minhash_components"]
    assert components["jobs"] == plan["partitions"]["minhash_components"] == 53
    assert components["fits"] and components["peak_gb"] < 16 * 2**30 / 1e9 + 0.4
    buckets = steps["minhash_buckets"]  # each band's keys in P partitions of 16 GiB
    per_doc = R.BUCKET_BYTES_PER_DOC + R.BUCKET_BYTES_PER_CANDIDATE * R.BUCKET_CANDIDATE_SHARE
    parts = plan["partitions"]["minhash_buckets"]
    assert parts == math.ceil(per_doc * docs / (16 * 2**30)) and parts > 1
    assert buckets["jobs"] == 16 * parts
    assert buckets["fits"] and buckets["peak_gb"] < 16 * 2**30 / 1e9 + 0.2
    merge = steps["minhash_clusters"]
    assert merge["jobs"] == 1 and merge["fits"]
    held = R.MERGE_BYTES_PER_DOC * R.NEAR_DUP_SHARE * docs
    assert merge["peak_gb"] == pytest.approx((held + 350e6) / 1e9, rel=0.01)
    md = render_data_plan(plan)
    assert md.startswith("## Data half") and "100 TB of WARC in 1,000 shards" in md
    assert "| exact_duplicates | 25 | 1 | 17.2 GB |" in md
    assert "exact_duplicates in 25 partitions of the hash space" in md
    assert "minhash_components in 53 partitions of the pairs" in md
    assert f"minhash_buckets in {parts} partitions of each of the 16 bands' keys" in md
    assert f"({16 * parts:,} jobs, dedup.near.memory_budget_gb 16 GiB each)" in md
    # Every job of the data half fits a 512 GB node: the global steps stream too.
    assert all(s["fits"] for s in plan["steps"]), [s for s in plan["steps"] if not s["fits"]]
    assert "Does not fit" not in md
    # A reduce's CPU time: every document streamed once per job, plus those its partition holds.
    read, held = R.REDUCE_CPU_S_PER_DOC["minhash_buckets"]
    hours = (read * docs + held * docs / parts + R.DATA_RATES["minhash_buckets"].s0) / 3600
    assert buckets["hours_per_job"] == pytest.approx(hours, rel=0.05)
    read, held = R.REDUCE_CPU_S_PER_DOC["exact_duplicates"]
    hours = (read * docs + held * docs / 25 + R.DATA_RATES["exact_duplicates"].s0) / 3600
    assert exact["hours_per_job"] == pytest.approx(hours, rel=0.05)


def test_a_smaller_budget_makes_more_partitions_of_the_same_total():
    cfg = _config("config.yaml", "presets/a800_512.yaml")
    half = copy.deepcopy(cfg)
    half["dedup"]["exact"]["memory_budget_gb"] = 8
    half["dedup"]["near"]["memory_budget_gb"] = 8
    a, b = _steps(cfg), _steps(validate_config(half))
    for rule in ("exact_duplicates", "minhash_components"):
        assert b[rule]["jobs"] in (2 * a[rule]["jobs"] - 1, 2 * a[rule]["jobs"]), rule
        held = [
            (s[rule]["peak_gb"] * 1e9 - R.DATA_RATES[rule].base_mb * 1e6) * s[rule]["jobs"]
            for s in (a, b)
        ]
        assert held[1] == pytest.approx(held[0], rel=0.01), rule  # the same bytes, split
    assert b["minhash_clusters"]["peak_gb"] == a["minhash_clusters"]["peak_gb"]  # the one merge


def test_rates_measured_elsewhere_replace_the_shipped_ones(tmp_path: Path):
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps({"filter": {"base_mb": 100, "k": 1, "s0": 1, "s_per_mb": 0.5}}))
    steps = _steps(_config("config.yaml", warc_bytes=1e11, shards=10, rates_file=str(rates)))
    assert steps["filter"]["peak_gb"] == pytest.approx((100e6 + 1e10) / 1e9, rel=0.01)
    assert steps["filter"]["hours_per_job"] == pytest.approx((1 + 0.5 * 1e4) / 3600, rel=0.01)
    rates.write_text(json.dumps({"fliter": {"base_mb": 1, "k": 1, "s0": 1, "s_per_mb": 1}}))
    with pytest.raises(ConfigError, match=r"^config key 'plan.data.rates_file': .*'fliter'"):
        _steps(_config("config.yaml", rates_file=str(rates)))
    rates.write_text(json.dumps({"filter": {"base_mb": 1}}))
    with pytest.raises(ConfigError, match="needs numbers base_mb, k, s0, s_per_mb"):
        _steps(_config("config.yaml", rates_file=str(rates)))
    with pytest.raises(ConfigError, match="plan.data.rates_file"):
        _steps(_config("config.yaml", rates_file=str(tmp_path / "missing.json")))


def test_classifier_training_memory_follows_its_reservoirs_not_the_crawl():
    """Training pools are reservoirs of max_per_class documents per class and language: at
    100 TB the quality and harmful models fit a node, and their memory grows with the cap."""
    cfg = _config("config.yaml", "presets/a800_512.yaml")
    steps = _steps(cfg)
    assert steps["train_quality_model"]["fits"] and steps["train_harmful_model"]["fits"]
    assert steps["train_quality_model"]["peak_gb"] < 20
    bigger = copy.deepcopy(cfg)
    bigger["quality_model"]["max_per_class"] = 400_000
    assert (
        _steps(bigger)["train_quality_model"]["peak_gb"] > steps["train_quality_model"]["peak_gb"]
    )
