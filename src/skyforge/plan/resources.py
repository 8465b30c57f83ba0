"""Every rule's SLURM request, from the plan: partition, nodes, GPUs, CPUs, memory and time limit,
each with the arithmetic behind it (the ``why`` column of ``plan.md``).

Pure arithmetic over the validated config and a few counts only the DAG knows (:class:`DagShape`);
``rules/common.smk`` turns each :class:`Request` into a rule's ``resources:`` and checks the
profile's per-rule overrides against it (:func:`check_overrides`).

Three kinds of rule:

* **model** rules (``export_hf``, ``export_hf_align``, ``eval_domain_loss``, ``eval_benchmarks``,
  ``eval_contamination``, ``eval_layer_cosine``, ``eval_ablation``, ``refusals``, ``samples``)
  load a trained model without training it. With ``cluster.accelerator: cuda`` each is one
  ordinary Snakemake SLURM job on one GPU node (``gres=gpu:1``, the benchmarks ``gpu:G`` for
  their G workers; ``launch.gpu_partition``), in bf16; on the embedded default (``cpu``) the
  same code runs on CPU in fp32 and the request stays tiny. They are NOT dispatched through
  submitit like training: each is single-node, minutes to hours long and cheap to rerun from
  scratch, so submitit's requeue-from-checkpoint and multi-node rendezvous buy nothing, while a
  plain job gets Snakemake's retries, logs and accounting like every CPU rule
  (docs/dispatch.md).
* **submitit** rules (``pretrain``, ``preflight``, ``sft``, ``dpo_reference_logprobs``, ``dpo``,
  ``leaky_control``, ``ablation_stem``) are local rules: the rule's process submits a multi-node
  job through submitit and waits. They get no ``resources:`` (their partition and account fall
  back to the profile's default resources, ``run_config_json``); their rows in the table show
  the job submitit asks for (``cluster``, ``launch``) and the planner's memory per GPU.
* **data** rules: everything else, CPU only.

Model rules (bytes from :mod:`skyforge.plan.inference`; N parameters, L layers, h hidden; a
GPU run trains and exports in bf16, a CPU run in fp32):

* export: host = ``export_host_peak_bytes`` in the run's dtype (the streaming export holds one
  tensor at a time, never the model); 1 GPU on cuda for the logit check. Time: N × (read +
  write) bytes at :data:`IO_BYTES_PER_S`.
* eval and generation: device = ``inference_bytes(batch_tokens)`` in bf16 + ``plan.overhead_gib``,
  and it must fit ONE ``plan.gpu`` (one model replica per GPU), else the dry run fails naming
  the rule and the key. The batch: ``eval.batch_tokens`` for the loss scorers (domain loss,
  contamination, layer cosine, which also keeps every layer's hidden states: (L + 1) × h ×
  2 B per token); ``eval.benchmarks.batch_size`` × ``model.seq_length`` for lm-eval (the
  context is at most the model's); ``generate.batch_size`` × ``model.seq_length`` for refusals
  and samples. Host per model process = base + bf16 weights + the largest tensor in fp32 (the
  loader converts tensor by tensor). The benchmarks run one worker process per visible GPU on
  their (model, task) cells (eval/benchmarks.py), so they ask for min(``cluster.gpus_per_node``,
  cells) GPUs and that many times the host memory; every other model rule evaluates its models
  one after another on one GPU. On CPU, host = base + ``inference_bytes`` in fp32.
  Time: every model's folder read at :data:`IO_BYTES_PER_S`, forward tokens × 2N FLOPs at
  :data:`INFERENCE_MFU` of the GPU's bf16 peak (CPU: :data:`CPU_FLOPS`), and decode steps ×
  the bf16 weights read from HBM (:data:`HBM_BYTES_PER_S`), divided over the workers. Token
  counts: domain loss and layer cosine ≤ 1 token per character of ``eval.max_chars``;
  :data:`EXAMPLE_TOKENS` per benchmark example or GSM8K problem; the published test sizes
  (:data:`BENCHMARK_ITEMS`) when a benchmark directory is configured.

Data rules: peak RSS = base + k × bytes, seconds = s0 + rate × MB, where bytes are the gzipped
WARC bytes of one shard (per-shard rules) or of the whole crawl (global steps: exact and MinHash
reduce, substring dedup, classifier training, funnel, scores, tokenizer), or nothing (fixed
size). The global dedup reduces are sized from the crawl's documents instead (crawl bytes /
:data:`WARC_BYTES_PER_DOC`, synthetic pages / :data:`SYNTH_WARC_BYTES_PER_PAGE`), split into the
partitions their memory budgets need (:func:`dedup_partitions`): ``exact_duplicates`` holds
:data:`EXACT_BYTES_PER_DOC` per document of its partition, each ``minhash_buckets`` job
:data:`BUCKET_BYTES_PER_DOC` per document of its band partition plus
:data:`BUCKET_BYTES_PER_CANDIDATE` per candidate (:data:`BUCKET_CANDIDATE_SHARE` of them; its
time stays that of a whole band, as every partition streams every signature file),
``minhash_components``
:data:`COMPONENT_BYTES_PER_DOC` per document of its partition (:data:`COMPONENT_COPIES` ×
:data:`NEAR_DUP_SHARE` × documents / partitions), and the merge ``minhash_clusters``
:data:`MERGE_BYTES_PER_DOC` per document in a cluster, all of them in one job
(data/dedup/exact.py, data/dedup/minhash.py). The crawl's bytes come from the config:
synthetic ``num_pages`` × :data:`SYNTH_WARC_BYTES_PER_PAGE`; real WARC files: their sizes
(``DagShape.crawl_bytes``); URLs or a listing: ``launch.crawl_bytes``, else
:data:`ASSUMED_WARC_SHARD_BYTES` per shard.
Measured by ``benchmarks/data_scale.py --factors 1 10 30`` (Snakemake's ``benchmark:`` files:
peak RSS and seconds of each job, 2 cores) on the synthetic crawl at 10× (60,000 pages, 2 shards
of 51 MB) and 30× (180,000 pages, 2 shards of 152 MB): k and the rate are the slopes between the
two (:data:`DATA_RATES`). The per-shard steps stream record batches (``stream``, 512 documents):
their peak moved by 0.90–1.12× from the 10× to the 30× shard and by 1.01–1.29× from the 1× one,
so their k is 0 and their base is the larger of the two peaks. Substring dedup finds repeated
windows in hash partitions within ``dedup.substring.memory_budget_gb`` (data/dedup/substring.py,
substring_windows.py): its need is base + min(budget, 52 B × group text + 72 × 4 MiB of hashing
blocks) + 2 × one record batch's text (``stream.batch_mb``), the group's text bounded by all the
crawl's text (:data:`TEXT_PER_WARC_BYTE`); the formula is an upper bound (measured 1,037 MB on
the 10× crawl and 2,533 MB on the 30× crawl). The tokenizer adds 3.8 B per
sampled byte (measured with ``tokenizer.sample_bytes`` 4 MB and 32 MB on the 8× crawl). The
synthetic crawl holds its pages in memory (1 B per crawl byte); a real crawl is re-sharded as
a stream, or with ``crawl.reshard: false`` only listed (one listing per shard, no copy).

Requests: memory = need × :data:`MEM_MARGIN`, rounded up to 256 MiB, at least
:data:`DATA_MEM_FLOOR_MB` for data rules; time = 2 × the estimate, rounded up to 10 min, at
least :data:`MIN_RUNTIME_MIN`. ``mem_mb`` is what SLURM's ``--mem`` reads, i.e. MiB. A profile
override (``set-resources``) may raise a request or lower it down to the need, not below
(:func:`check_overrides`). No partition time or memory limit is checked here (that needs
``sinfo``); a rule whose need exceeds its nodes fails at submission.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from skyforge.config import (
    ClusterConfig,
    ConfigError,
    LaunchConfig,
    ModelConfig,
    ParallelConfig,
    PlanConfig,
    TrainConfig,
)
from skyforge.plan.inference import (
    BASE_PROCESS_BYTES,
    export_host_peak_bytes,
    export_unit_params,
    inference_bytes,
    model_bytes,
)
from skyforge.plan.planner import GIB, GPUS, count_parameters, estimate_memory

__all__ = [
    "DATA_RATES",
    "MODEL_RULES",
    "SUBMITIT_RULES",
    "DagShape",
    "Request",
    "check_overrides",
    "data_request",
    "dedup_partitions",
    "crawl_bytes",
    "planned_docs",
    "plan_resources",
]

MIB = 2**20

MODEL_RULES = (
    "export_hf",
    "export_hf_align",
    "eval_domain_loss",
    "eval_benchmarks",
    "eval_contamination",
    "eval_layer_cosine",
    "eval_ablation",
    "refusals",
    "samples",
)
"""Rules that load a trained model without training it: a GPU each on a cuda cluster."""

SUBMITIT_RULES = (
    "preflight",
    "pretrain",
    "sft",
    "dpo_reference_logprobs",
    "dpo",
    "leaky_control",
    "ablation_stem",
)
"""Local rules that dispatch a multi-node job through submitit (no Snakemake resources)."""

# --- requests ------------------------------------------------------------------------------
MEM_MARGIN = 1.25
"""Requested memory over the need (allocator fragmentation, page cache of the job's files)."""
DATA_MEM_FLOOR_MB = 1024
"""Smallest memory request of a data rule (a Python process with pyarrow is ~150-450 MB)."""
MIN_RUNTIME_MIN = 10
"""Smallest time limit: the tiny default's jobs take seconds, a slow node minutes."""
RUNTIME_MARGIN = 2.0
"""Time limit over the estimate (node and file-system speeds vary)."""

# --- model rules ---------------------------------------------------------------------------
IO_BYTES_PER_S = 200e6
"""Read or write speed of one process on the shared file system (a parallel file system gives
one stream a few hundred MB/s)."""
INFERENCE_MFU = 0.3
"""Share of the GPU's bf16 peak that batched forward passes through transformers reach (no
fused kernels, padding)."""
CPU_FLOPS = 10e9
"""fp32 FLOP/s of one CPU job (a few cores of torch matmuls); only the tiny default uses it."""
HBM_BYTES_PER_S = {
    "A800-80G": 2.0e12,
    "A100-80G": 2.0e12,
    "A100-40G": 1.55e12,
    "H800-80G": 3.35e12,
    "H100-80G": 3.35e12,
    "H200-141G": 4.8e12,
}
"""GPU memory bandwidth (vendors' data sheets): a decode step reads every weight once."""
EXAMPLE_TOKENS = 200
"""Tokens of one benchmark example (question, choices, answer) or GSM8K problem with solution."""
MC_CHOICES = 4
"""lm-eval scores each of the 4 choices of a multiple-choice item as its own request."""
BENCHMARK_ITEMS = {"ceval": 1_346, "cmmlu": 11_582, "mmlu": 14_042, "gsm8k": 1_319}
"""Scored items of the real sets (C-Eval val, CMMLU test, MMLU test, GSM8K test)."""
GSM8K_FILES = {"train": 7_473, "test": 1_319, "ref": 1_319}
"""Problems of the contamination files when given (GSM8K train and test; ref as large as test)."""
CPU_MODEL_CPUS = 1
"""CPUs of a model rule on CPU (the tiny default: one core, like every job of the local cluster)."""

# --- data rules ----------------------------------------------------------------------------
SYNTH_WARC_BYTES_PER_PAGE = 3_400
"""Gzipped WARC bytes per synthetic page (measured: 10.2 MB for 3,000 pages, 81.2 MB for 24,000)."""
ASSUMED_WARC_SHARD_BYTES = 1 * GIB
"""Shard size assumed when the crawl is read from URLs and ``launch.crawl_bytes`` is null (a
Common Crawl WARC file is ~1 GiB)."""
TEXT_PER_WARC_BYTE = 0.61
"""Extracted text bytes per WARC byte (measured on the synthetic crawl; real pages carry more
markup, so less text): bounds what the tokenizer can sample."""
TOKENIZER_BYTES_PER_SAMPLE_BYTE = 3.8
"""Extra RSS of the tokenizer trainer per sampled text byte (measured, 4 MB vs 32 MB samples)."""
TOKENIZER_S_PER_SAMPLE_MB = 0.2
"""Extra seconds per sampled MB (same measurement)."""
WINDOW_BYTES_PER_TEXT_BYTE = 52
"""Substring dedup: bytes per kept window in a partition (data/dedup/substring_windows.py)."""
WINDOW_HASH_BLOCK_BYTES = 72 * 4 * 2**20
"""Substring dedup: the hashing arrays of one 4 MiB block of window starts (same module)."""
WARC_BYTES_PER_DOC = 33_000
"""Gzipped WARC bytes per page of a real crawl, to count its documents: a Common Crawl dump
holds ~3 billion pages in ~100 TB of WARC (the 90,000 files of ~1.1 GB of
presets/a800_512.yaml). Every page is counted, as if no filter ran before dedup: an upper bound."""
EXACT_BYTES_PER_DOC = 45 + 190 * 0.5
"""``exact_duplicates``: bytes per document of a partition, 45 for each plus 190 for each in a
group of copies (data/dedup/exact.py, measured by benchmarks/minhash.py), taking half of the
documents to have a copy (an upper bound: Common Crawl pages repeat less)."""
NEAR_DUP_SHARE = 0.3
"""Share of the crawl's documents in a near-duplicate cluster (kept ones included): the upper
end of the 10–30 % assumed in docs/dedup.md."""
COMPONENT_BYTES_PER_DOC = 500
"""MinHash reduce: bytes per document held by a ``minhash_components`` job
(data/dedup/minhash.py, measured by benchmarks/minhash.py)."""
MERGE_BYTES_PER_DOC = 400
"""MinHash reduce: bytes per document held by the merge, ``minhash_clusters`` (same)."""
BUCKET_BYTES_PER_DOC = 48
"""MinHash buckets: bytes per document of a band partition held by a ``minhash_buckets`` job
(its band key and file/row reference sorted; data/dedup/minhash.py, measured by
benchmarks/minhash.py)."""
BUCKET_BYTES_PER_CANDIDATE = 1_600
"""MinHash buckets: bytes per candidate (a document in a bucket of two or more: its signature,
id, date, pairs and output rows; same)."""
BUCKET_CANDIDATE_SHARE = NEAR_DUP_SHARE
"""Share of a band's documents in a bucket of two or more, taken as the share of documents in a
near-duplicate cluster (a pair verified in some band shares that band's bucket)."""
REDUCE_CPU_S_PER_DOC: dict[str, tuple[float, float]] = {
    "exact_duplicates": (0.78e-6, 0.87e-6),
    "minhash_buckets": (5.8e-6, 2.8e-6),
    "minhash_components": (0.0, 23e-6),
    "minhash_clusters": (0.0, 10.3e-6),
}
"""CPU seconds of one global dedup reduce job: (per document of the crawl it streams, per
document it holds). Every ``exact_duplicates`` partition streams every hash row and every
``minhash_buckets`` partition every signature row of its band; a ``minhash_components`` job
reads only its shards' pair rows and the merge the components' rows, so their time follows what
they hold. Measured by ``benchmarks/minhash.py --memory-only --partitions 4`` on generated tables
(2 M hash rows; band 0 of 1 M signatures; 1 M clustered documents with ~15 pair rows each): the
one-job and partition-0-of-4 CPU seconds of a step solve for the two rates (exact 3.3 and 2.0 s,
buckets 8.6 and 6.5 s; components 12.8 s for 546 k documents held, the merge 10.3 s for 1 M)."""
COMPONENT_COPIES = 2
"""Documents held by the ``minhash_components`` partitions together, per document in a cluster:
a document is in the partition of its own shard and in those of the earlier documents it pairs
with (1.4–1.5 on the synthetic crawl's clusters; 2 taken)."""


@dataclass(frozen=True)
class DataRate:
    """Measured peak RSS and time of one data rule: base + k × bytes, s0 + rate × MB."""

    scale: str
    """``shard`` (one shard's WARC bytes), ``crawl`` (the whole crawl's) or ``fixed``."""
    base_mb: float
    k: float
    """RSS bytes per byte of ``scale``."""
    s0: float
    s_per_mb: float
    measured: bool = True
    """False: an assumed size (not measured)."""


DATA_RATES: dict[str, DataRate] = {
    # per shard, streamed in batches of 512 documents: flat memory, base = the larger peak of the
    # 10× (51 MB) and 30× (152 MB) shards (benchmarks/data_scale.py at stream.batch_docs 512);
    # seconds = s0 + rate × shard MB through the two (the run at batch_docs 2,048)
    "extract": DataRate("shard", 165, 0, 8.5, 0.034),  # 163 → 164 MB, 10.1 → 13.4 s
    "filter": DataRate("shard", 245, 0, 60, 0.35),  # 236 → 245 MB, 77 → 111 s
    "exact_hashes": DataRate("shard", 150, 0, 3.5, 0.011),  # 149 → 134 MB, 4.0 → 5.0 s
    "exact_dedup": DataRate("shard", 200, 0, 1.8, 0.01),  # 193 → 196 MB, 1.8 → 1.4 s
    "minhash_signatures": DataRate("shard", 195, 0, 7.7, 0.042),  # 185 → 194 MB, 9.7 → 13.7 s
    "near_dedup": DataRate("shard", 205, 0, 1.7, 0.01),  # 197 → 202 MB, 1.6 → 1.0 s
    "quality": DataRate("shard", 210, 0, 5.6, 0.026),  # 186 → 209 MB, 6.9 → 9.3 s
    "harmful": DataRate("shard", 220, 0, 3.3, 0.01),  # 215 → 218 MB, 3.4 → 3.5 s
    "corpus_dates": DataRate("shard", 190, 0, 2.6, 0.012),  # as corpus_split (no benchmark:)
    "corpus_split": DataRate("shard", 190, 0, 2.6, 0.012),  # 188 → 176 MB, 3.1 → 4.3 s
    # 165 → 164 MB; time from benchmarks/decontaminate.py with the real benchmark sets (the
    # scale run has the synthetic ones): 450 pages/s per core at 30 pages per WARC MB
    "decontaminate": DataRate("shard", 170, 0, 1.3, 0.07),
    # assumed, not in the scale run: reads the shard's removal tables and its steps' input
    # tables one row group at a time, holding 64 ids per (step, reason)
    "audit_shard": DataRate("shard", 250, 0, 2.0, 0.02),
    "pack_shard": DataRate("shard", 510, 0, 6.2, 0.01),  # 490 → 509 MB (time: default → 8×)
    # whole crawl: the 10× crawl's 101 MB → the 30× crawl's 304 MB
    "crawl": DataRate("crawl", 90, 1.0, 0.1, 0.21),  # synthetic: 184 → 372 MB, 19.7 → 59.1 s
    # exact_duplicates, minhash_buckets, minhash_components, minhash_clusters: + documents ×
    # bytes (docstring); their time is per document (REDUCE_CPU_S_PER_DOC), not s_per_mb.
    "exact_duplicates": DataRate("crawl", 250, 0, 0.7, 0.01),
    "minhash_buckets": DataRate("crawl", 200, 0, 1.9, 0.01),
    "minhash_components": DataRate("crawl", 350, 0, 0.9, 0.01),
    "minhash_clusters": DataRate("crawl", 350, 0, 0.9, 0.01),
    "substring_dedup": DataRate("crawl", 290, 0, 9.6, 0.07),  # + windows (docstring); 16 → 29 s
    "train_quality_model": DataRate("crawl", 310, 0.66, 2.7, 0.002),  # 375 → 502 MB; 0.0019 s/MB
    # 519 → 365 MB (30×: fewer negatives pass max_per_class); k of the default → 8× runs
    "train_harmful_model": DataRate("crawl", 520, 0.7, 1.8, 0.15),  # 16.0 → 44.4 s
    "funnel": DataRate("crawl", 260, 0, 1.7, 0.005),  # row groups: 258 → 249 MB, 2.2 → 3.1 s
    "score_removals": DataRate("crawl", 110, 1.63, 3.0, 0.01),  # 264 → 578 MB, 3.0 → 3.1 s
    # default → 8× crawl (not in the data half's benchmark targets)
    "eval_domains": DataRate("fixed", 150, 0, 0.8, 0),  # stops at eval.heldout_docs: < 1 s
    "train_tokenizer": DataRate("crawl", 335, 0, 2.6, 0.0012),  # 284 → 334 MB (+ the sample)
    # fixed size (config-sized generators, small tables); the largest of both runs
    "merge_packs": DataRate("fixed", 410, 0, 17.3, 0),  # streams the shards' packs
    "harmful_planted": DataRate("fixed", 150, 0, 0.8, 0),
    "reference_set": DataRate("fixed", 160, 0, 0.9, 0),
    "corpus_cutoffs": DataRate("fixed", 90, 0, 0.5, 0),
    "chat_data": DataRate("fixed", 30, 0, 0.3, 0),
    "decontaminate_chat": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "corpus_audit": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "contamination_summary": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "eval_benchmarks_data": DataRate("fixed", 30, 0, 0.3, 0),
    "blend": DataRate("fixed", 30, 0, 0.4, 0),
    "blends": DataRate("fixed", 30, 0, 0.2, 0),
    # not measured: pandas / matplotlib tables of a few hundred rows
    "plan": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "preference_data": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "pretrain_report": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "align_report": DataRate("fixed", 300, 0, 5, 0, measured=False),
    "summary": DataRate("fixed", 300, 0, 5, 0, measured=False),
}
"""Every data rule's measured rates (module docstring)."""

DEDUP_REDUCES = ("exact_duplicates", "minhash_buckets", "minhash_components", "minhash_clusters")
"""Global dedup steps whose memory follows the crawl's documents (:func:`dedup_partitions`);
``minhash_buckets``' measured ``k`` × crawl bytes (the one job per band of before) is replaced
by its documents formula."""

DATA_CPUS = {"train_tokenizer": 2}
"""Data rules with more than one core (their ``threads:``)."""


@dataclass(frozen=True)
class DagShape:
    """Counts the DAG knows and the config alone does not (``rules/common.smk`` fills them)."""

    eval_models: int
    """Rows of the eval tables (own exports plus ``eval.models``)."""
    contamination_models: int
    chat_models: int
    """Models whose replies ``samples`` shows."""
    eval_domains: int
    crawl_bytes: int | None = None
    """Bytes of the local WARC inputs (``crawl.source: warc``); None: synthetic or URLs."""


@dataclass(frozen=True)
class Request:
    """One rule's request and the need it covers."""

    rule: str
    kind: str
    """``data``, ``model`` or ``submitit``."""
    partition: str | None
    """None: the profile's default partition (``slurm_partition`` default resource)."""
    nodes: int
    gpus: int
    """GPUs per node."""
    cpus_per_task: int
    mem_mb: int | None
    """Memory asked for, MiB (None: the partition's default; submitit rows only)."""
    runtime_min: int
    need_mem_mb: int
    """The planned need: an override may not go below it."""
    need_runtime_min: float
    why: str

    def snakemake(self) -> dict[str, Any]:
        """The rule's ``resources:`` (the keys snakemake-executor-plugin-slurm 2.8 reads)."""
        if self.kind == "submitit":
            raise ValueError(f"rule {self.rule}: a submitit rule takes no Snakemake resources")
        res: dict[str, Any] = {
            "nodes": self.nodes,
            "cpus_per_task": self.cpus_per_task,
            "mem_mb": self.mem_mb,
            "runtime": self.runtime_min,
        }
        if self.partition:
            res["slurm_partition"] = self.partition
        if self.gpus:
            res["gres"] = f"gpu:{self.gpus}"
        return res

    def as_row(self) -> dict[str, Any]:
        """The request as a plain dict (JSON, tables)."""
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


def _count(n: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f} {unit}" if unit == "B" else f"{n / div:.3g} {unit}"
    return f"{n:.0f}"


def _tok(n: float) -> str:
    return f"{n / 1024:g}k" if n >= 1024 and n % 1024 == 0 else _count(n)


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:,.1f} min" if seconds < 3600 else f"{seconds / 3600:,.1f} h"


def _round_mem(need_bytes: float, floor_mb: int = 0) -> tuple[int, int]:
    """(need, request) in MiB: the request is the need × margin, up to 256 MiB."""
    need = math.ceil(need_bytes / MIB)
    request = max(floor_mb, math.ceil(need * MEM_MARGIN / 256) * 256)
    return need, request


def _round_time(seconds: float) -> tuple[float, int]:
    """(need, limit) in minutes: the limit is 2 × the estimate, up to 10 min, at least 10."""
    need = seconds / 60
    return need, max(MIN_RUNTIME_MIN, math.ceil(need * RUNTIME_MARGIN / 10) * 10)


# ---------------------------------------------------------------------------------------------
# Sizes the config implies
# ---------------------------------------------------------------------------------------------


def crawl_bytes(config: Mapping[str, Any], shape: DagShape) -> tuple[float, str]:
    """Gzipped WARC bytes of the whole crawl, and where the figure comes from."""
    crawl, launch = config["crawl"], config["launch"]
    if launch.get("crawl_bytes"):
        return float(launch["crawl_bytes"]), "= launch.crawl_bytes"
    if crawl["source"] == "synthetic":
        pages = crawl["synthetic"]["num_pages"]
        return (
            pages * SYNTH_WARC_BYTES_PER_PAGE,
            f"= {pages:,} pages × {SYNTH_WARC_BYTES_PER_PAGE / 1e3:g} kB",
        )
    if shape.crawl_bytes:
        return float(shape.crawl_bytes), "= the WARC files' sizes"
    n = crawl["num_shards"]
    return n * ASSUMED_WARC_SHARD_BYTES, f"= 1 GiB × {n} shards assumed (set launch.crawl_bytes)"


TRAINING_POOLS = {"train_quality_model": "quality_model", "train_harmful_model": "harmful_model"}
"""Classifier training keeps its pools in reservoirs of ``max_per_class`` documents
(data/classifiers/quality.py ``Reservoir``): per language, 2 pools for the quality model
(reference, crawl) and 1 + ``num_folds`` for the harmful model (positives, and negatives for
every fold). Memory then follows the documents held, not the crawl; the time still follows
the crawl, which is read whole."""

TRAINING_LANGS = 2
"""Languages the classifiers train on (zh, en)."""


def _training_pool_bytes(rule: str, config: Mapping[str, Any], crawl: float) -> float | None:
    """WARC bytes' worth of the documents a classifier's reservoirs hold (None: not one)."""
    if rule not in TRAINING_POOLS:
        return None
    section = TRAINING_POOLS[rule]
    cap = config[section]["max_per_class"]
    pools = 2 if rule == "train_quality_model" else 1 + config[section]["num_folds"]
    docs = planned_docs(config, crawl)
    per_doc = crawl / docs if docs else 0.0
    return float(pools * TRAINING_LANGS * cap * per_doc)


def planned_docs(config: Mapping[str, Any], crawl: float) -> float:
    """Documents of a crawl of ``crawl`` WARC bytes: synthetic pages at
    :data:`SYNTH_WARC_BYTES_PER_PAGE`, real ones at :data:`WARC_BYTES_PER_DOC`."""
    per_doc = (
        SYNTH_WARC_BYTES_PER_PAGE
        if config["crawl"]["source"] == "synthetic"
        else WARC_BYTES_PER_DOC
    )
    return crawl / per_doc


def dedup_partitions(rule: str, config: Mapping[str, Any], crawl: float) -> int:
    """Jobs a global dedup reduce is split into for a crawl of ``crawl`` WARC bytes: the fewest
    whose memory fits the step's budget.

    * ``exact_duplicates``: ⌈:data:`EXACT_BYTES_PER_DOC` × documents /
      ``dedup.exact.memory_budget_gb``⌉ partitions of the hash space;
    * ``minhash_components``: ⌈:data:`COMPONENT_BYTES_PER_DOC` × :data:`COMPONENT_COPIES` ×
      :data:`NEAR_DUP_SHARE` × documents / ``dedup.near.memory_budget_gb``⌉ partitions of the
      pairs by shard, at most one per shard;
    * ``minhash_buckets``: ⌈(:data:`BUCKET_BYTES_PER_DOC` + :data:`BUCKET_BYTES_PER_CANDIDATE`
      × :data:`BUCKET_CANDIDATE_SHARE`) × documents / ``dedup.near.memory_budget_gb``⌉
      partitions of each band's key space (jobs: bands × partitions).

    A budget rather than a count, so that one config fits any crawl: the tiny default gets one
    job each, a Common Crawl dump as many as its size needs. The DAG (rules/dedup.smk) sizes
    the run's crawl with this function, the data plan the crawl of ``plan.data``.

    Raises:
        ValueError: another rule (an internal invariant).
    """
    docs = planned_docs(config, crawl)
    if rule == "exact_duplicates":
        need = EXACT_BYTES_PER_DOC * docs
        budget = config["dedup"]["exact"]["memory_budget_gb"] * GIB
        return max(1, math.ceil(need / budget))
    if rule == "minhash_components":
        need = COMPONENT_BYTES_PER_DOC * COMPONENT_COPIES * NEAR_DUP_SHARE * docs
        budget = config["dedup"]["near"]["memory_budget_gb"] * GIB
        return max(1, min(config["crawl"]["num_shards"], math.ceil(need / budget)))
    if rule == "minhash_buckets":
        budget = config["dedup"]["near"]["memory_budget_gb"] * GIB
        return max(1, math.ceil(_bucket_bytes_per_doc() * docs / budget))
    raise ValueError(f"{rule!r} is not a partitioned dedup reduce")


def _bucket_bytes_per_doc() -> float:
    """Memory of ``minhash_buckets`` per document of a band partition, candidates included."""
    return BUCKET_BYTES_PER_DOC + BUCKET_BYTES_PER_CANDIDATE * BUCKET_CANDIDATE_SHARE


def _parts(n: int) -> str:
    return f"{n:,} partition{'s' if n != 1 else ''}"


def _dedup_need(
    rule: str, config: Mapping[str, Any], crawl: float, origin: str
) -> tuple[float, str]:
    """Memory of one job of a global dedup reduce (beyond its base), and the arithmetic."""
    docs = planned_docs(config, crawl)
    counted = f"{_count(docs)} documents ({_gb(crawl)} crawl {origin})"
    if rule == "exact_duplicates":
        parts = dedup_partitions(rule, config, crawl)
        key = f"dedup.exact.memory_budget_gb {config['dedup']['exact']['memory_budget_gb']:g}"
        need = EXACT_BYTES_PER_DOC * docs / parts
        return need, f"{EXACT_BYTES_PER_DOC:g} B × {counted} / {_parts(parts)} ({key} GiB)"
    if rule == "minhash_buckets":
        parts = dedup_partitions(rule, config, crawl)
        key = f"dedup.near.memory_budget_gb {config['dedup']['near']['memory_budget_gb']:g}"
        need = _bucket_bytes_per_doc() * docs / parts
        return need, (
            f"({BUCKET_BYTES_PER_DOC} B + {BUCKET_BYTES_PER_CANDIDATE:,} B × "
            f"{BUCKET_CANDIDATE_SHARE:g} candidates) × {counted} / {_parts(parts)} per band "
            f"({key} GiB)"
        )
    clustered = NEAR_DUP_SHARE * docs
    if rule == "minhash_components":
        parts = dedup_partitions(rule, config, crawl)
        key = f"dedup.near.memory_budget_gb {config['dedup']['near']['memory_budget_gb']:g}"
        need = COMPONENT_BYTES_PER_DOC * COMPONENT_COPIES * clustered / parts
        return need, (
            f"{COMPONENT_BYTES_PER_DOC} B × {COMPONENT_COPIES} × {NEAR_DUP_SHARE:g} × {counted} "
            f"/ {_parts(parts)} ({key} GiB)"
        )
    need = MERGE_BYTES_PER_DOC * clustered
    return need, f"{MERGE_BYTES_PER_DOC} B × {NEAR_DUP_SHARE:g} × {counted} in clusters"


def _dedup_seconds(rule: str, config: Mapping[str, Any], crawl: float) -> tuple[float, str]:
    """CPU seconds of one job of a global dedup reduce (:data:`REDUCE_CPU_S_PER_DOC`), and the
    arithmetic."""
    docs = planned_docs(config, crawl)
    read, held = REDUCE_CPU_S_PER_DOC[rule]
    if rule in ("exact_duplicates", "minhash_buckets"):
        parts = dedup_partitions(rule, config, crawl)
        seconds = read * docs + held * docs / parts
        return seconds, (
            f"{read * 1e6:g} µs × {_count(docs)} documents streamed + {held * 1e6:g} µs × "
            f"{_count(docs / parts)} held = {_minutes(seconds)}"
        )
    clustered = NEAR_DUP_SHARE * docs
    if rule == "minhash_components":
        clustered *= COMPONENT_COPIES / dedup_partitions(rule, config, crawl)
    seconds = held * clustered
    return seconds, f"{held * 1e6:g} µs × {_count(clustered)} documents held = {_minutes(seconds)}"


def data_request(
    rule: str,
    rate: DataRate,
    crawl: float,
    origin: str,
    config: Mapping[str, Any],
    partition: str | None,
) -> Request:
    """One data rule's request for a crawl of ``crawl`` bytes in ``crawl.num_shards`` shards
    (also the data half of the plan, :mod:`skyforge.plan.data_plan`)."""
    shards = config["crawl"]["num_shards"]
    streamed = rule == "crawl" and config["crawl"]["source"] == "warc"
    in_place = streamed and not config["crawl"].get("reshard", True)
    size = {"shard": crawl / shards, "crawl": crawl, "fixed": 0.0}[rate.scale]
    need_b = rate.base_mb * 1e6 + (0.0 if streamed else rate.k * size)
    seconds = rate.s0 + (0.0 if in_place else rate.s_per_mb * size / 1e6)
    held = _training_pool_bytes(rule, config, crawl)
    if held is not None and held < crawl:
        need_b = rate.base_mb * 1e6 + rate.k * held
    if rate.scale == "fixed":
        why = f"fixed size: {rate.base_mb:g} MB {'measured' if rate.measured else 'assumed'}"
    elif held is not None and held < crawl:
        section = TRAINING_POOLS[rule]
        why = (
            f"{rate.base_mb:g} MB + {rate.k:g} × {_gb(held)} of crawl held (reservoirs of "
            f"{section}.max_per_class documents per class and language, of the {_gb(crawl)} "
            f"crawl ({origin}))"
        )
    elif in_place:
        why = f"{rate.base_mb:g} MB, one listing per shard of the {_gb(crawl)} crawl, no copy"
    elif streamed:
        why = f"{rate.base_mb:g} MB, records streamed from the {_gb(crawl)} crawl ({origin})"
    elif rate.scale == "shard" and rate.k == 0:
        why = (
            f"{rate.base_mb:g} MB, record batches streamed through the {_gb(size)} shard "
            f"({_gb(crawl)} {origin}, / {shards} shards)"
        )
    elif rate.scale == "shard":
        crawl_why = f"{_gb(crawl)} {origin}"
        why = (
            f"{rate.base_mb:g} MB + {rate.k:g} × {_gb(size)} shard ({crawl_why}, / {shards} shards)"
        )
    elif rate.k == 0:
        why = f"{rate.base_mb:g} MB, row groups streamed from the {_gb(crawl)} crawl ({origin})"
    else:
        why = f"{rate.base_mb:g} MB + {rate.k:g} × {_gb(crawl)} crawl ({origin})"
    if rule in DEDUP_REDUCES:
        extra, arithmetic = _dedup_need(rule, config, crawl, origin)
        if rule == "minhash_buckets":  # the documents formula replaces k × crawl bytes
            need_b = rate.base_mb * 1e6
        need_b += extra
        why = f"{rate.base_mb:g} MB + {arithmetic}"
        if rate.k and rule != "minhash_buckets":
            why += f" + {rate.k:g} × {_gb(crawl)} crawl"
        work, timing = _dedup_seconds(rule, config, crawl)
        seconds = rate.s0 + work
    if rule == "substring_dedup":
        budget = config["dedup"]["substring"]["memory_budget_gb"] * GIB
        text = crawl * TEXT_PER_WARC_BYTE
        windows = min(budget, WINDOW_BYTES_PER_TEXT_BYTE * text + WINDOW_HASH_BLOCK_BYTES)
        batch = min(text / shards, config["stream"]["batch_mb"] * 2**20)
        need_b += windows + 2 * batch
        why = (
            f"{rate.base_mb:g} MB + windows min({budget / GIB:g} GiB budget, 52 × {_gb(text)} "
            f"text of the {_gb(crawl)} crawl ({origin}) + 302 MB) = {_gb(windows)} + 2 × "
            f"{_gb(batch)} batch text"
        )
    if rule == "train_tokenizer":
        sample = min(float(config["tokenizer"]["sample_bytes"]), crawl * TEXT_PER_WARC_BYTE)
        if config["tokenizer"].get("existing"):
            sample = 0.0
        need_b += TOKENIZER_BYTES_PER_SAMPLE_BYTE * sample
        seconds += TOKENIZER_S_PER_SAMPLE_MB * sample / 1e6
        why += f" + {TOKENIZER_BYTES_PER_SAMPLE_BYTE:g} × {_gb(sample)} sampled"
    if rate.scale != "fixed":
        why += f" = {_gb(need_b)}"
        if rule in DEDUP_REDUCES:  # their time is per document (_dedup_seconds)
            why += f"; CPU {timing}"
        else:
            why += f"; {_minutes(seconds)} at {rate.s_per_mb:g} s/MB"
    need_mb, mem_mb = _round_mem(need_b, DATA_MEM_FLOOR_MB)
    need_min, limit = _round_time(seconds)
    return Request(
        rule=rule,
        kind="data",
        partition=partition,
        nodes=1,
        gpus=0,
        cpus_per_task=DATA_CPUS.get(rule, 1),
        mem_mb=mem_mb,
        runtime_min=limit,
        need_mem_mb=need_mb,
        need_runtime_min=need_min,
        why=why,
    )


# ---------------------------------------------------------------------------------------------
# Model rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Work:
    """What one model rule computes: batch in flight, forward tokens, decode steps, models, and
    the (model, task) cells the benchmarks spread over one GPU each."""

    batch_tokens: int
    batch_key: str
    forward_tokens: float
    decode_steps: float
    models: int
    hidden_states: bool = False
    cells: int = 1


def _benchmark_work(config: Mapping[str, Any], models: int) -> tuple[float, float]:
    """(forward tokens, decode steps) of the benchmarks for ``models`` models."""
    ev, seq = config["eval"], config["model"]["seq_length"]
    b = ev["benchmarks"]
    synth = b["synthetic"]
    forward = decode = 0.0
    for task in b["tasks"]:
        if task in b["data"]:
            items = BENCHMARK_ITEMS[task]
        elif task == "gsm8k":
            items = synth["gsm8k_test"]
        else:
            items = synth["subjects_per_task"] * synth["questions_per_subject"]
        if b["limit"]:
            items = min(items, b["limit"])
        ctx = min(seq, (b["num_fewshot"][task] + 1) * EXAMPLE_TOKENS)
        if task == "gsm8k":
            forward += items * ctx
            decode += math.ceil(items / b["batch_size"]) * b["max_gen_tokens"]
        else:
            forward += items * MC_CHOICES * ctx
    return forward * models, decode * models


def _model_work(rule: str, config: Mapping[str, Any], shape: DagShape) -> _Work:
    ev, gen, seq = config["eval"], config["generate"], config["model"]["seq_length"]
    bench_batch = ev["benchmarks"]["batch_size"] * seq
    gen_batch = gen["batch_size"] * seq
    tasks = len(ev["benchmarks"]["tasks"])
    loss_docs = ev["heldout_docs"] * shape.eval_domains * ev["max_chars"]
    if rule == "eval_domain_loss":
        tokens = loss_docs * shape.eval_models
        return _Work(ev["batch_tokens"], "eval.batch_tokens", tokens, 0, shape.eval_models)
    if rule == "eval_layer_cosine":
        tokens = ev["layer_cosine_docs"] * ev["max_chars"] * shape.eval_models
        return _Work(ev["batch_tokens"], "eval.batch_tokens", tokens, 0, shape.eval_models, True)
    if rule == "eval_contamination":
        c, synth = ev["contamination"], ev["benchmarks"]["synthetic"]
        given = {k: GSM8K_FILES[k] for k in ("train", "test", "ref") if c[k]}
        synthetic = {k: synth[f"gsm8k_{k}"] for k in ("train", "test", "ref")}
        problems = sum({**synthetic, **given}.values())
        n = shape.contamination_models
        return _Work(ev["batch_tokens"], "eval.batch_tokens", problems * EXAMPLE_TOKENS * n, 0, n)
    if rule in ("eval_benchmarks", "eval_ablation"):
        models = shape.eval_models if rule == "eval_benchmarks" else 2
        fwd, dec = _benchmark_work(config, models)
        if rule == "eval_ablation":
            fwd += models * loss_docs
        key = "eval.benchmarks.batch_size"
        return _Work(bench_batch, key, fwd, dec, models, cells=max(1, models * tasks))
    steps_per_prompt = gen["max_new_tokens"] / gen["batch_size"]
    if rule == "refusals":
        prompts = config["dpo"]["synthetic"]["num_pairs"]  # an upper bound: ~20 % are safety
        return _Work(gen_batch, "generate.batch_size", 0, prompts * steps_per_prompt, 1)
    if rule == "samples":
        steps = len(gen["prompts"]) * steps_per_prompt * shape.chat_models
        return _Work(gen_batch, "generate.batch_size", 0, steps, shape.chat_models)
    raise KeyError(rule)


def _model_request(
    rule: str,
    config: Mapping[str, Any],
    shape: DagShape,
    partition: str | None,
) -> Request:
    model = ModelConfig.from_dict(config["model"])
    plan = PlanConfig.from_dict(config["plan"])
    cluster = ClusterConfig.from_dict(config["cluster"])
    launch = LaunchConfig.from_dict(config["launch"])
    cuda = cluster.accelerator == "cuda"
    gpu = GPUS[plan.gpu]
    n = count_parameters(model).total
    unit = export_unit_params(model)
    # A GPU run trains (and exports) in bf16, a CPU run in fp32.
    dtype = 2 if cuda else 4
    precision = "bf16" if cuda else "fp32"

    if rule in ("export_hf", "export_hf_align"):
        gpus = 1 if cuda else 0
        cpus = launch.cpus_per_task if cuda else CPU_MODEL_CPUS
        host = export_host_peak_bytes(model, stored_bytes=dtype, out_dtype_bytes=dtype)
        seconds = n * 2 * dtype / IO_BYTES_PER_S
        why = (
            f"streaming export ({precision}): {_gb(BASE_PROCESS_BYTES)} base + largest tensor "
            f"{_count(unit)} × ({dtype} read + {dtype} out + 4 check) B + check logits = "
            f"{_gb(host)} host{'; 1 GPU for the logit check' if cuda else ''}; {_count(n)} "
            f"params × 2 × {dtype} B at {IO_BYTES_PER_S / 1e6:g} MB/s = {_minutes(seconds)}"
        )
        need_mb, mem_mb = _round_mem(host)
        need_min, limit = _round_time(seconds)
        return Request(
            rule, "model", partition, 1, gpus, cpus, mem_mb, limit, need_mb, need_min, why
        )

    work = _model_work(rule, config, shape)
    # The benchmarks run one worker process per visible GPU, each on its own (model, task) cells.
    gpus = min(cluster.gpus_per_node, work.cells) if cuda else 0
    workers = max(gpus, 1)
    cpus = launch.cpus_per_task * gpus if cuda else CPU_MODEL_CPUS
    infer = inference_bytes(model, batch_tokens=work.batch_tokens, dtype_bytes=dtype)
    hidden = (model.num_layers + 1) * model.hidden_size * dtype * work.batch_tokens
    device = infer + (hidden if work.hidden_states else 0)
    weights = model_bytes(model, dtype)
    kv = 2 * model.num_layers * model.kv_groups * model.head_dim * work.batch_tokens * dtype
    parts = (
        f"{_count(n)} params × {dtype} B ({precision}) = {_gb(weights)} weights"
        f" + KV 2×{model.num_layers}×{model.kv_groups * model.head_dim}×"
        f"{_tok(work.batch_tokens)} tok×{dtype} B = {_gb(kv)}"
        f" + work {_gb(infer - weights - kv)}"
        + (f" + hidden states {_gb(hidden)}" if work.hidden_states else "")
    )
    # time: read every model's folder, forward FLOPs, decode steps; spread over the workers
    load_s = work.models * weights / IO_BYTES_PER_S
    if cuda:
        rate = gpu.peak_bf16_tflops * 1e12 * INFERENCE_MFU
        step_s = weights / HBM_BYTES_PER_S[gpu.name]
    else:
        rate = CPU_FLOPS
        step_s = 2 * n / CPU_FLOPS
    seconds = load_s + work.forward_tokens * 2 * n / rate + work.decode_steps * step_s
    seconds /= workers
    time_why = (
        f"{work.models} model(s) read + {_count(work.forward_tokens)} tokens forward"
        + (f" + {_count(work.decode_steps)} decode steps" if work.decode_steps else "")
        + (f", / {workers} GPUs" if workers > 1 else "")
        + f" = {_minutes(seconds)}"
    )
    if cuda:
        overhead = plan.overhead_gib * GIB
        need_device = device + overhead
        capacity = gpu.memory_gib * GIB
        if need_device > capacity:
            key = "plan.gpu" if weights + overhead > capacity else work.batch_key
            raise ConfigError(
                f"rule {rule}: config key '{key}': {_count(n)} params need {_gb(weights)} in "
                f"bf16 + {_gb(device - weights)} working set ({_tok(work.batch_tokens)} tokens) "
                f"+ {plan.overhead_gib:g} GiB overhead = {need_device / GIB:,.1f} GiB, more than "
                f"one {gpu.name}'s {gpu.memory_gib:g} GiB (inference runs one model per GPU)"
            )
        per_worker = BASE_PROCESS_BYTES + weights + unit * 4
        host = workers * per_worker
        placed = f"{workers} × 1 {gpu.name} (one worker each)" if workers > 1 else f"1 {gpu.name}"
        why = (
            f"{parts} + {plan.overhead_gib:g} GiB = {need_device / GIB:,.1f} GiB ≤ "
            f"{gpu.memory_gib:g} GiB → {placed}; host "
            + (f"{workers} × " if workers > 1 else "")
            + f"{_gb(per_worker)} (base + bf16 weights + largest tensor in fp32 while loading)"
            f"; {time_why}"
        )
    else:
        host = BASE_PROCESS_BYTES + device
        why = f"CPU: {_gb(BASE_PROCESS_BYTES)} base + {parts} = {_gb(host)} host; {time_why}"
    need_mb, mem_mb = _round_mem(host)
    need_min, limit = _round_time(seconds)
    return Request(rule, "model", partition, 1, gpus, cpus, mem_mb, limit, need_mb, need_min, why)


# ---------------------------------------------------------------------------------------------
# Submitit rules (shown, not requested through Snakemake)
# ---------------------------------------------------------------------------------------------


def _submitit_request(rule: str, config: Mapping[str, Any]) -> Request:
    cluster = ClusterConfig.from_dict(config["cluster"])
    launch = LaunchConfig.from_dict(config["launch"])
    cuda = cluster.accelerator == "cuda"
    mem_mb = math.ceil(launch.mem_gb * 1e9 / MIB) if launch.mem_gb else None
    if cuda:
        model = ModelConfig.from_dict(config["model"])
        parallel = ParallelConfig.from_dict(config["parallel"])
        train = TrainConfig.from_dict(config["train"])
        plan = PlanConfig.from_dict(config["plan"])
        mem = estimate_memory(model, parallel, train.global_batch_size, plan.overhead_gib)
        why = (
            f"submitit job: TP{parallel.tensor}·PP{parallel.pipeline}·DP{parallel.data} on "
            f"{cluster.nodes} × {cluster.gpus_per_node} GPUs, {mem.total_gib:,.1f} GiB per GPU "
            f"of {GPUS[plan.gpu].memory_gib:g} (plan); requeued from its checkpoint at "
            f"launch.timeout_min"
        )
    else:
        why = (
            f"submitit job: {cluster.nodes} × {cluster.gpus_per_node} CPU worker processes "
            f"({launch.executor} executor); the rule itself only waits"
        )
    return Request(
        rule=rule,
        kind="submitit",
        partition=launch.slurm_partition,
        nodes=cluster.nodes,
        gpus=cluster.gpus_per_node if cuda else 0,
        cpus_per_task=launch.cpus_per_task,
        mem_mb=mem_mb,
        runtime_min=launch.timeout_min,
        need_mem_mb=0,
        need_runtime_min=0.0,
        why=why,
    )


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


def gpu_partition(config: Mapping[str, Any]) -> str | None:
    """The model rules' partition on a cuda cluster: launch.gpu_partition, else the training
    jobs' launch.slurm_partition (None: the profile's default)."""
    launch = config["launch"]
    return launch.get("gpu_partition") or launch.get("slurm_partition")


def plan_resources(config: Mapping[str, Any], shape: DagShape) -> dict[str, Request]:
    """Every rule's request, keyed by rule name (data rules, model rules, submitit rows).

    Args:
        config: the validated config (defaults filled in).
        shape: the counts only the DAG knows.

    Raises:
        ConfigError: one line naming the rule and the key: a model that does not fit one
            ``plan.gpu`` for inference, or no GPU partition for a cuda run on SLURM.
    """
    cuda = config["cluster"]["accelerator"] == "cuda"
    launch = config["launch"]
    cpu_part = launch.get("cpu_partition")
    model_part = gpu_partition(config) if cuda else cpu_part
    if cuda and launch["executor"] == "slurm" and model_part is None:
        raise ConfigError(
            f"rule {MODEL_RULES[0]}: config key 'launch.gpu_partition': null (and "
            "launch.slurm_partition null) while cluster.accelerator is cuda and launch.executor "
            "slurm: the model rules' GPU jobs would go to the profile's default partition; "
            "name the GPU partition"
        )
    crawl, origin = crawl_bytes(config, shape)
    requests: dict[str, Request] = {}
    for rule, rate in DATA_RATES.items():
        requests[rule] = data_request(rule, rate, crawl, origin, config, cpu_part)
    for rule in MODEL_RULES:
        requests[rule] = _model_request(rule, config, shape, model_part)
    for rule in SUBMITIT_RULES:
        requests[rule] = _submitit_request(rule, config)
    return requests


def _gpus_of(resource: Mapping[str, Any]) -> int | None:
    """GPUs asked for by an override's ``gpu`` or ``gres`` (None: neither given)."""
    if resource.get("gpu") is not None:
        return int(resource["gpu"])
    gres = resource.get("gres")
    if gres is None:
        return None
    for part in str(gres).split(","):
        fields = part.strip().split(":")
        if fields[0] == "gpu":
            return int(fields[-1]) if len(fields) > 1 and fields[-1].isdigit() else 1
    return 0


def check_overrides(request: Request, overrides: Mapping[str, Any]) -> None:
    """Refuse a profile override (``set-resources``) below the rule's planned need.

    Args:
        request: the rule's planned request.
        overrides: resource name → concrete value as Snakemake parsed it (``mem_mb`` in MB,
            ``runtime`` in minutes; values still to be evaluated are left out by the caller).

    Raises:
        ConfigError: one line naming the rule and the key.
    """
    checks = (
        ("mem_mb", request.need_mem_mb, "MiB", f"{request.need_mem_mb:,}"),
        ("runtime", request.need_runtime_min, "min", f"{request.need_runtime_min:,.1f}"),
    )
    for key, need, unit, shown in checks:
        value = overrides.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < need:
            raise ConfigError(
                f"rule {request.rule}: set-resources {key}={value} is below the planned need of "
                f"{shown} {unit} ({request.why}); raise it or drop the override"
            )
    gpus = _gpus_of(overrides)
    if gpus is not None and gpus < request.gpus:
        raise ConfigError(
            f"rule {request.rule}: set-resources gres/gpu asks for {gpus} GPU(s), below the "
            f"planned {request.gpus} ({request.why}); raise it or drop the override"
        )
