"""Every rule's SLURM request from the plan (skyforge.plan.resources): CPU-only and tiny on the
embedded default, one GPU per model rule on the a800_512 preset, data rules sized from the crawl,
and one-line errors naming the rule and the key."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from skyforge.config import ConfigError, ModelConfig, load_config_files, validate_config
from skyforge.plan import resources as R
from skyforge.plan.inference import BASE_PROCESS_BYTES, export_host_peak_bytes, inference_bytes
from skyforge.plan.planner import GIB
from skyforge.plan.tables import render_resources

REPO = Path(__file__).resolve().parents[3]
SHAPE = R.DagShape(eval_models=4, contamination_models=5, chat_models=4, eval_domains=5)


@pytest.fixture(scope="module")
def default() -> dict:
    return load_config_files([REPO / "config.yaml"])


@pytest.fixture(scope="module")
def preset() -> dict:
    return load_config_files([REPO / "config.yaml", REPO / "presets" / "a800_512.yaml"])


def _with(config: dict, **changes: dict) -> dict:
    """``config`` with sections updated key by key (and validated again)."""
    out = copy.deepcopy(config)
    for section, values in changes.items():
        out[section].update(values)
    return validate_config(out)


def test_default_is_cpu_only_and_fits_the_local_cluster(default):
    plan = R.plan_resources(default, SHAPE)
    assert set(plan) == set(R.DATA_RATES) | set(R.MODEL_RULES) | set(R.SUBMITIT_RULES)
    for rule, req in plan.items():
        if req.kind == "submitit":
            continue
        res = req.snakemake()
        assert "gres" not in res and req.gpus == 0, rule
        assert res["cpus_per_task"] <= 2 and res["nodes"] == 1, rule
        assert res["mem_mb"] <= 2048 and res["runtime"] == R.MIN_RUNTIME_MIN, rule
        assert "slurm_partition" not in res, rule  # the profile's default partition
        assert req.mem_mb >= req.need_mem_mb > 0, rule


def test_preset_model_rules_get_one_gpu_and_their_planned_memory(preset):
    plan = R.plan_resources(preset, SHAPE)
    model = ModelConfig.from_dict(preset["model"])
    for rule in R.MODEL_RULES:
        res = plan[rule].snakemake()
        # The benchmarks spread their (model, task) cells over the node's 8 GPUs, one worker each.
        gpus = 8 if rule in ("eval_benchmarks", "eval_ablation") else 1
        assert res["gres"] == f"gpu:{gpus}" and res["slurm_partition"] == "gpu", rule
        assert res["cpus_per_task"] == gpus * preset["launch"]["cpus_per_task"], rule
        assert res["mem_mb"] >= plan[rule].need_mem_mb, rule
    assert plan["eval_benchmarks"].need_mem_mb == 8 * plan["eval_domain_loss"].need_mem_mb
    # The export streams: host memory is the formula's in bf16, a fraction of the 27.7 GB model.
    export = plan["export_hf"]
    peak = export_host_peak_bytes(model, stored_bytes=2, out_dtype_bytes=2)
    assert export.need_mem_mb == -(-peak // 2**20)
    assert export.mem_mb * 2**20 < 0.25 * 13.85e9 * 2
    # An eval rule holds the bf16 weights on the host while loading, and the why shows the sum.
    loss = plan["eval_domain_loss"]
    assert loss.need_mem_mb * 2**20 > BASE_PROCESS_BYTES + 2 * 13.85e9
    assert "13.85 B params × 2 B (bf16) = 27.7 GB weights" in loss.why
    device = inference_bytes(model, batch_tokens=preset["eval"]["batch_tokens"]) + 2 * GIB
    assert f"= {device / GIB:,.1f} GiB ≤ 80 GiB → 1 A800-80G" in loss.why
    # Data rules: sized, in the CPU partition; training rows show the submitit job.
    assert plan["filter"].snakemake()["slurm_partition"] == "cpu"
    assert plan["train_tokenizer"].cpus_per_task == 2
    pretrain = plan["pretrain"]
    assert (pretrain.kind, pretrain.nodes, pretrain.gpus) == ("submitit", 64, 8)
    with pytest.raises(ValueError, match="no Snakemake resources"):
        pretrain.snakemake()


def test_data_memory_grows_with_the_shard_and_global_steps_with_the_crawl(default):
    small = R.plan_resources(default, SHAPE)
    big_cfg = _with(
        default, crawl={"synthetic": {**default["crawl"]["synthetic"], "num_pages": 3_000_000}}
    )
    big = R.plan_resources(big_cfg, SHAPE)
    crawl = 3_000_000 * R.SYNTH_WARC_BYTES_PER_PAGE
    shard = crawl / default["crawl"]["num_shards"]
    rate = R.DATA_RATES["extract"]
    assert big["extract"].need_mem_mb == -(-(rate.base_mb * 1e6 + rate.k * shard) // 2**20)
    # Substring dedup stays within its windows budget (8 GiB) plus one record batch's text
    # twice (stream.batch_mb, 64 MB), however large the shard.
    sub = R.DATA_RATES["substring_dedup"].base_mb * 1e6 + 8 * 2**30 + 2 * 64 * 2**20
    assert big["substring_dedup"].need_mem_mb == -(-sub // 2**20)
    huge_cfg = _with(big_cfg, crawl={"num_shards": 10_000})  # 10 TB of WARC, 1 GB a shard
    huge = R.plan_resources(_with(huge_cfg, launch={"crawl_bytes": 1e13}), SHAPE)
    assert 8 * 1024 < huge["substring_dedup"].need_mem_mb < 10 * 1024
    assert big["filter"].runtime_min > small["filter"].runtime_min
    assert big["chat_data"].mem_mb == small["chat_data"].mem_mb  # fixed size
    assert "3,000,000 pages × 3.4 kB" in big["crawl"].why


def test_crawl_bytes_of_real_warc_inputs(default):
    local = _with(default, crawl={"source": "warc", "warc_glob": "/data/*.warc.gz"})
    shape = R.DagShape(1, 1, 1, 1, crawl_bytes=8 * 10**9)
    assert R.crawl_bytes(local, shape)[0] == 8e9
    assert "streamed" in R.plan_resources(local, shape)["crawl"].why
    remote = _with(local, crawl={"warc_glob": "https://example.org/warc.paths.gz"})
    assert R.crawl_bytes(remote, R.DagShape(1, 1, 1, 1))[0] == 2 * 2**30  # 1 GiB × 2 shards
    given = _with(remote, launch={"crawl_bytes": 5.0e12})
    assert R.crawl_bytes(given, R.DagShape(1, 1, 1, 1)) == (5.0e12, "= launch.crawl_bytes")


def test_a_model_that_does_not_fit_the_gpu_names_the_rule_and_the_key(preset):
    # 40 GiB: the weights fit, lm-eval's 8 × 4,096-token batch does not.
    small_gpu = _with(preset, plan={"gpu": "A100-40G"}, generate={"batch_size": 1})
    with pytest.raises(ConfigError) as err:
        R.plan_resources(small_gpu, SHAPE)
    msg = str(err.value)
    assert msg.startswith("rule eval_benchmarks: config key 'eval.benchmarks.batch_size':")
    assert "\n" not in msg and "A100-40G's 40 GiB" in msg
    # A batch of one fits.
    fits = _with(small_gpu, eval={"benchmarks": {**preset["eval"]["benchmarks"], "batch_size": 1}})
    assert "×4k tok×" in R.plan_resources(fits, SHAPE)["eval_benchmarks"].why
    # Generation's batch is a key too.
    wide = _with(preset, generate={"batch_size": 16})
    with pytest.raises(ConfigError, match=r"^rule refusals: config key 'generate.batch_size':"):
        R.plan_resources(wide, SHAPE)
    # Weights alone above the GPU: the key is the GPU.
    huge = _with(preset, model={"num_layers": 104, "hidden_size": 9216, "num_attention_heads": 72})
    huge = _with(huge, model={"ffn_hidden_size": 24576})
    with pytest.raises(ConfigError, match=r"^rule eval_domain_loss: config key 'plan.gpu':"):
        R.plan_resources(huge, SHAPE)


def test_a_cuda_slurm_run_needs_a_gpu_partition(preset):
    none = _with(preset, launch={"gpu_partition": None, "slurm_partition": None})
    with pytest.raises(ConfigError, match=r"^rule export_hf: config key 'launch.gpu_partition'"):
        R.plan_resources(none, SHAPE)
    training = _with(none, launch={"slurm_partition": "a800"})
    assert R.plan_resources(training, SHAPE)["eval_benchmarks"].partition == "a800"
    # No GPUs per node is refused by the schema already.
    with pytest.raises(ConfigError, match="cluster.gpus_per_node"):
        _with(preset, cluster={"gpus_per_node": 0})


def test_overrides_below_the_need_are_refused(preset):
    req = R.plan_resources(preset, SHAPE)["eval_domain_loss"]
    R.check_overrides(req, {"mem_mb": req.need_mem_mb, "runtime": 600, "gres": "gpu:2"})
    R.check_overrides(req, {"slurm_partition": "other", "cpus_per_task": 1})
    with pytest.raises(ConfigError) as err:
        R.check_overrides(req, {"mem_mb": 2000})
    assert str(err.value).startswith("rule eval_domain_loss: set-resources mem_mb=2000 is below")
    with pytest.raises(ConfigError, match=r"^rule eval_domain_loss: set-resources runtime=1 "):
        R.check_overrides(req, {"runtime": 1})
    with pytest.raises(ConfigError, match=r"^rule eval_domain_loss: set-resources gres/gpu"):
        R.check_overrides(req, {"gres": "gpu:0"})
    with pytest.raises(ConfigError, match="gres/gpu asks for 0"):
        R.check_overrides(req, {"gpu": 0})


def test_resource_table_renders_every_row(preset):
    rows = [r.as_row() for r in R.plan_resources(preset, SHAPE).values()]
    md = render_resources(rows)
    assert md.count("\n| ") == len(rows) + 1  # header + one line per rule
    assert "| eval_benchmarks | model | gpu | 1 | 8 | 96 | " in md
    assert "| eval_domain_loss | model | gpu | 1 | 1 | 12 | 35.0 GiB | 40 min |" in md
    assert "| pretrain | submitit | default | 64 | 8 | 12 | partition default | 72 h |" in md


def test_readme_shows_the_table_the_code_prints_for_the_preset(preset):
    # The preset's DAG: the final models of stage 1 and stage 2, SFT and DPO (and the leaky
    # control in the contamination table); five held-out corpora.
    shape = R.DagShape(eval_models=4, contamination_models=5, chat_models=4, eval_domains=5)
    md = render_resources([r.as_row() for r in R.plan_resources(preset, shape).values()])
    readme = (REPO / "README.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    missing = [line for line in rows if line not in readme]
    assert not missing, "README's cluster section is out of date:\n" + "\n".join(missing)


def test_dedup_reduces_take_as_many_partitions_as_their_budgets_need(default):
    crawl, _ = R.crawl_bytes(default, SHAPE)
    assert R.planned_docs(default, crawl) == 3000  # synthetic pages
    for rule in ("exact_duplicates", "minhash_components"):
        assert R.dedup_partitions(rule, default, crawl) == 1
    real = copy.deepcopy(default)
    real["crawl"]["source"] = "warc"  # 1 TB of WARC ≈ 30.3 M documents
    docs = 1e12 / R.WARC_BYTES_PER_DOC
    assert R.dedup_partitions("exact_duplicates", real, 1e12) == 1  # 4.2 GB < 16 GiB
    real["dedup"]["exact"]["memory_budget_gb"] = 1
    real["dedup"]["near"]["memory_budget_gb"] = 1
    assert R.dedup_partitions("exact_duplicates", real, 1e12) == 4  # ⌈140 × 30.3 M / 1 GiB⌉
    assert R.dedup_partitions("minhash_components", real, 1e12) == 2  # at most one per shard
    real["crawl"]["num_shards"] = 100
    assert R.dedup_partitions("minhash_components", real, 1e12) == 9  # ⌈500 × 2 × 0.3 × 30.3 M⌉
    req = R.data_request(
        "exact_duplicates", R.DATA_RATES["exact_duplicates"], 1e12, "x", real, None
    )
    assert req.need_mem_mb == -(-(250e6 + R.EXACT_BYTES_PER_DOC * docs / 4) // 2**20)
    assert "/ 4 partitions (dedup.exact.memory_budget_gb 1 GiB)" in req.why, req.why
    merge = R.data_request(
        "minhash_clusters", R.DATA_RATES["minhash_clusters"], 1e12, "x", real, None
    )
    held = R.MERGE_BYTES_PER_DOC * R.NEAR_DUP_SHARE * docs  # every clustered document, once
    assert merge.need_mem_mb == -(-(350e6 + held) // 2**20)
    with pytest.raises(ValueError, match="not a partitioned dedup reduce"):
        R.dedup_partitions("minhash_clusters", real, 1e12)


def test_minhash_bucket_jobs_are_sized_from_documents_not_crawl_bytes(default):
    """Each band runs in P jobs (band keys ≡ p mod P), P the fewest whose bucket jobs fit
    dedup.near.memory_budget_gb; a job's memory is the documents formula over P, not the
    measured k × crawl bytes of the one job per band of before."""
    crawl, _ = R.crawl_bytes(default, SHAPE)
    assert R.dedup_partitions("minhash_buckets", default, crawl) == 1  # the default DAG
    per_doc = R.BUCKET_BYTES_PER_DOC + R.BUCKET_BYTES_PER_CANDIDATE * R.BUCKET_CANDIDATE_SHARE
    real = copy.deepcopy(default)
    real["crawl"]["source"] = "warc"
    docs = 1e12 / R.WARC_BYTES_PER_DOC  # 1 TB of WARC ≈ 30.3 M documents
    assert R.dedup_partitions("minhash_buckets", real, 1e12) == 1  # 16 GiB budget
    real["dedup"]["near"]["memory_budget_gb"] = 1
    parts = R.dedup_partitions("minhash_buckets", real, 1e12)
    assert parts == math.ceil(per_doc * docs / 2**30) and parts > 1
    rate = R.DATA_RATES["minhash_buckets"]
    req = R.data_request("minhash_buckets", rate, 1e12, "x", real, None)
    assert req.need_mem_mb == -(-(rate.base_mb * 1e6 + per_doc * docs / parts) // 2**20)
    assert req.need_mem_mb * 2**20 <= rate.base_mb * 1e6 + 2**30 + 2**20  # within the budget
    assert f"/ {parts} partitions per band (dedup.near.memory_budget_gb 1 GiB)" in req.why
    # A 100 TB crawl: every bucket job stays within the 16 GiB budget.
    real["dedup"]["near"]["memory_budget_gb"] = 16
    big = R.data_request("minhash_buckets", rate, 1e14, "x", real, None)
    assert big.need_mem_mb * 2**20 <= rate.base_mb * 1e6 + 16 * 2**30 + 2**20
