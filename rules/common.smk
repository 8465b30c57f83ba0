"""Validate the merged config, constrain wildcards, and name the targets (thin helpers only)."""

import glob
import json
import os
import sys

# Rules run `python -m skyforge.cli` from this checkout's src/, in whatever environment runs the
# job (the local venv, or a conda env from envs/ under --sdm conda), with no install step.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
# Without --sdm conda, jobs use the interpreter that runs Snakemake (e.g. .venv/bin/python),
# also when it was started by path without activating the venv.
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
)

from skyforge.config import ConfigError, section_json, validate_config  # noqa: E402
from skyforge.data.corpora import CORPORA, SPLITS  # noqa: E402
from skyforge.data.crawl import is_listing  # noqa: E402
from skyforge.data.remote import is_url  # noqa: E402
from skyforge.launch.partition import check_rule_partitions  # noqa: E402
from skyforge.plan.data_plan import data_plan  # noqa: E402
from skyforge.plan.resources import (  # noqa: E402
    DagShape,
    check_overrides,
    crawl_bytes,
    plan_resources,
)
from skyforge.tokenize.blends import tracked_config as blend_tracked  # noqa: E402
from skyforge.tokenize.tokenizer import tracked_config as tokenizer_tracked  # noqa: E402
from skyforge.train.preflight import tracked_config as preflight_tracked  # noqa: E402
from skyforge.train.spec import align_tracked_config, stage_names  # noqa: E402
from skyforge.train.spec import tracked_config as stage_tracked  # noqa: E402

try:
    _validated = validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_validated)


wildcard_constraints:
    shard=r"\d{5}",
    band=r"\d+",
    group="|".join(config["dedup"]["substring"]["groups"]),
    corpus="|".join(CORPORA),
    split="|".join(SPLITS),
    stage=r"stage1_\d+|stage2_\d+|decay",
    variant=r"sft|sft_fresh_optimizer|sft_with_optimizer|dpo|leaky_control|ablation_start|ablation_stem",
    sft=r"sft|sft_fresh_optimizer|sft_with_optimizer",
    blend=r"stage1|stage2_\d+|decay",


def step_config(*sections):
    """The config sections a step depends on, as JSON for `--config-json`."""
    return section_json(config, *sections)


def synthetic_crawl_config():
    """The crawl section and the synthetic benchmark settings whose test items the synthetic
    crawl plants as leaks (a change to the benchmark sets regenerates the crawl)."""
    synthetic = config["eval"]["benchmarks"]["synthetic"]
    sliced = {"crawl": config["crawl"], "eval": {"benchmarks": {"synthetic": synthetic}}}
    return section_json(sliced, "crawl", "eval")


# Content checks (docs/staleness.md). Snakemake compares checksums only of files up to 1 MB and
# falls back to modification times for larger ones, so a data file regenerated with identical
# bytes would make everything downstream stale. Its producer therefore also writes a small
# digest file `<file>.sha256` (the step's `--digests`, declared as an output), and each consumer
# takes the large file as ancient() with the digest file as a second input: a changed file has
# a changed digest, an identical one has an identical digest, which Snakemake checksums.


def digest_of(files):
    """The digest file `<file>.sha256` of a data file (a list for a list; patterns allowed)."""
    if isinstance(files, str):
        return f"{files}.sha256"
    return [f"{f}.sha256" for f in files]


def by_content(files):
    """A large data input compared by content: ancient(files). The rule must also take
    digest_of(files) as an input (its producer writes them)."""
    return ancient(files)


def crawl_shard_pattern():
    """One shard of the raw crawl: a WARC file, or with `crawl.reshard: false` the listing of
    the input files it reads in place (docs/cleaning.md)."""
    c = config["crawl"]
    if c["source"] == "warc" and not c.get("reshard", True):
        return "results/crawl/shard-{shard}.inputs.json"
    return "results/crawl/shard-{shard}.warc.gz"


def crawl_shards():
    """The shards of the raw crawl (crawl_shard_pattern for every shard)."""
    n = config["crawl"]["num_shards"]
    return [crawl_shard_pattern().format(shard=f"{i:05d}") for i in range(n)]


def warc_inputs():
    """The real WARC files matched by crawl.warc_glob (source: warc). URLs and listings are no
    files of the DAG: the crawl reads them as streams, and the tracked crawl config reruns it
    when they change."""
    pattern = config["crawl"]["warc_glob"]
    if is_url(pattern) or is_listing(pattern):
        return []
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise WorkflowError(f"config key 'crawl.warc_glob': '{pattern}' matches no file")
    return paths


def shard_ids():
    """Shard names: 00000, 00001, …"""
    return [f"{i:05d}" for i in range(config["crawl"]["num_shards"])]


def shard_files(pattern):
    """``pattern`` with {shard} filled for every shard (other wildcards kept)."""
    return expand(pattern, shard=shard_ids(), allow_missing=True)


def band_files(pattern):
    """``pattern`` with {band} filled for every MinHash LSH band."""
    return expand(pattern, band=range(config["dedup"]["near"]["bands"]), allow_missing=True)


def group_files(pattern):
    """``pattern`` with {group} filled for every substring-dedup language group."""
    return expand(pattern, group=list(config["dedup"]["substring"]["groups"]), allow_missing=True)


def corpus_files(shard):
    """The corpus × split files of one shard (``shard`` may be a wildcard pattern)."""
    return expand(
        "results/corpora/{corpus}/{split}/{shard}.parquet",
        corpus=CORPORA,
        split=SPLITS,
        shard=shard,
    )


def all_corpus_files():
    """Every corpus × split file of every shard."""
    return [f for shard in shard_ids() for f in corpus_files(shard)]


# Removal tables and kept tables of each cleaning step, in pipeline order.
_STEP_TABLES = {
    "extract": "results/data/extract/{shard}",
    "harmful": "results/data/filter/{shard}",  # the filter's last step (URL ... content rules)
    "exact_dedup": "results/data/exact/{shard}",
    "near_dedup": "results/data/near/{shard}",
    "substring_dedup": "results/data/substring/{group}/{shard}",
    "decontaminate": "results/data/decontam/{group}/{shard}",
    "quality_model": "results/data/quality/{group}/{shard}",
    "harmful_model": "results/data/harmful/{group}/{shard}",
}


def removal_tables():
    """Every removal table of the run."""
    return [
        f
        for prefix in _STEP_TABLES.values()
        for f in group_files(shard_files(f"{prefix}.removed.parquet"))
    ]


def decontam_ledgers():
    """Every decontaminate ledger (the matches of every group and shard)."""
    return group_files(shard_files("results/data/decontam/{group}/{shard}.matches.parquet"))


def audit_pairs(shard):
    """(removal table, that step's input table or None) of every step of one shard, for the
    corpus audit's samples: a step reads the kept table of the step before it."""
    groups = list(config["dedup"]["substring"]["groups"])
    prefixes = list(_STEP_TABLES.values())
    pairs = []
    for i, prefix in enumerate(prefixes):
        for group in groups if "{group}" in prefix else [None]:
            removed = prefix.format(shard=shard, group=group) + ".removed.parquet"
            before = prefixes[i - 1].format(shard=shard, group=group) + ".parquet" if i else None
            pairs.append((removed, before))
    return pairs


def audit_shard_inputs(wildcards):
    """The tables ``audit_shard`` reads for one shard."""
    return sorted({f for pair in audit_pairs(wildcards.shard) for f in pair if f})


def kept_tables():
    """Step → the kept-document tables after that step."""
    return {
        step: group_files(shard_files(f"{prefix}.parquet")) for step, prefix in _STEP_TABLES.items()
    }


def kept_after_args():
    """``STEP=path,path`` arguments for the funnel's measured byte counts."""
    return " ".join(f"{step}={','.join(files)}" for step, files in kept_tables().items())


def corpus_split_files(split):
    """Every corpus file of one split (train or heldout), all corpora and shards."""
    return [f for f in all_corpus_files() if f.split("/")[-2] == split]


def pack_stats():
    """The count files of the merged packs, every corpus and split."""
    return expand("results/packs/{corpus}/{split}.json", corpus=CORPORA, split=SPLITS)


def blend_files():
    """One Megatron blend JSON per training (sub-)stage, in training order."""
    names = ["stage1"] + [f"stage2_{i}" for i in range(len(config["train"]["stage2"]["substages"]))]
    if config["blends"]["decay"]:
        names.append("decay")
    return [f"results/blends/{name}.json" for name in names]


def tracked_json(slice_):
    """A tracked config slice as compact JSON (a rule's params and its step's `--config-json`)."""
    return json.dumps(slice_, sort_keys=True, separators=(",", ":"))


def tokenizer_config_json():
    """What the tokenizer is trained from (skyforge.tokenize.tokenizer.tracked_config)."""
    return tracked_json(tokenizer_tracked(config))


def blend_config_json(blend):
    """What one stage's blend is computed from (skyforge.tokenize.blends.tracked_config)."""
    return tracked_json(blend_tracked(config, blend))


def training_stages():
    """Names of the pretraining stages, in training order (stage1_<i>, stage2_<i>, decay)."""
    from skyforge.config import TrainConfig

    return stage_names(
        TrainConfig.from_dict(config["train"]), decay=bool(config["blends"]["decay"])
    )


def stage_manifests(prefix=""):
    """The manifest of every stage whose name starts with ``prefix``, in training order."""
    return [
        f"results/pretrain/{s}/manifest.json" for s in training_stages() if s.startswith(prefix)
    ]


def stage1_manifests():
    """Manifests of the stage-1 sessions."""
    return stage_manifests("stage1_")


def stage2_manifests():
    """Manifests of the stage-2 sub-stages."""
    return stage_manifests("stage2_")


def pretrain_inputs(wildcards):
    """Blend, tokenizer and (after the first stage) the previous stage's manifest."""
    stages = training_stages()
    if wildcards.stage not in stages:
        raise WorkflowError(f"stage '{wildcards.stage}' is not in this config: {stages}")
    i = stages.index(wildcards.stage)
    blend = "stage1" if wildcards.stage.startswith("stage1_") else wildcards.stage
    inputs = {
        "blend": f"results/blends/{blend}.json",
        "tokenizer": "results/tokenizer/tokenizer.json",
    }
    if i > 0:
        inputs["init"] = f"results/pretrain/{stages[i - 1]}/manifest.json"
    elif preflight_enabled():
        # Only an order (docs/preflight.md): ancient(), and no other rule asks for the table
        # (the summary reads it when present), so a pre-flight never reruns a trained stage.
        inputs["preflight"] = ancient("results/preflight/preflight.csv")
    return inputs


def preflight_enabled():
    """Whether the pre-flight check is in the DAG (preflight.enabled, auto meaning a SLURM run)."""
    from skyforge.config import PreflightConfig

    return PreflightConfig.from_dict(config["preflight"]).active(config["launch"]["executor"])


def preflight_params_json():
    """What the pre-flight table depends on (skyforge.train.preflight.tracked_config)."""
    return tracked_json(preflight_tracked(config))


def stage_params_json(stage):
    """What determines one pretraining stage (skyforge.train.spec.tracked_config)."""
    return tracked_json(stage_tracked(config, stage))


def run_config_json(resources):
    """monitoring, checkpoints and launch as JSON; the profile's SLURM partition and account
    (default-resources) fill launch keys left null."""
    launch = dict(config["launch"])
    for key in ("slurm_partition", "slurm_account"):
        if launch.get(key) is None and getattr(resources, key, None) not in (None, ""):
            launch[key] = str(getattr(resources, key))
    return json.dumps(
        {
            "monitoring": config["monitoring"],
            "checkpoints": config["checkpoints"],
            "launch": launch,
        },
        sort_keys=True,
    )


def hf_exports():
    """HF folders of the final model of stage 1, stage 2 and the decay stage."""
    stages = training_stages()
    finals = [[s for s in stages if s.startswith(p)] for p in ("stage1_", "stage2_", "decay")]
    return [f"results/hf/{group[-1]}" for group in finals if group]


def final_stage_blend():
    """The blend of the last pretraining stage (SFT's pretraining text and held-out domains)."""
    last = training_stages()[-1]
    return f"results/blends/{'stage1' if last.startswith('stage1_') else last}.json"


def sft_variants():
    """SFT targets: ``sft`` as configured, plus the other optimizer-state variant (ablation)."""
    variants = ["sft"]
    if config["sft"]["ablation"]:
        load = config["sft"]["load_optimizer_state"]
        variants.append("sft_fresh_optimizer" if load else "sft_with_optimizer")
    return variants


def raw_chat_file(section, role):
    """A user-given chat data file, or the synthetic one the DAG writes (before
    decontamination)."""
    given = config[section][f"{role}_file"]
    if given:
        return given
    if section == "sft":
        return f"results/chat/sft_{role}.jsonl"
    return f"results/chat/pref_{role}_full.jsonl"


def chat_file(section, role):
    """The chat data file SFT / DPO train on: the raw one without benchmark items."""
    return f"results/chat/decontam/{section}_{role}.jsonl"


def sft_inputs(wildcards):
    """Final pretraining manifest, its blend, the tokenizer and the conversations."""
    if wildcards.sft not in sft_variants():
        raise WorkflowError(f"'{wildcards.sft}' is not an SFT target of this config")
    return {
        "init": f"results/pretrain/{training_stages()[-1]}/manifest.json",
        "blend": final_stage_blend(),
        "tokenizer": "results/tokenizer/tokenizer.json",
        "train": chat_file("sft", "train"),
        "heldout": chat_file("sft", "heldout"),
    }


def dpo_data_inputs(wildcards):
    """The preference pairs (train, held-out)."""
    return {"train": chat_file("dpo", "train"), "heldout": chat_file("dpo", "heldout")}


def synthetic_chat_json():
    """The sft and dpo sections with only their generator settings (what chat_data tracks)."""
    return tracked_json({s: {"synthetic": config[s]["synthetic"]} for s in ("sft", "dpo")})


def align_params_json(section):
    """What determines an SFT/DPO model (skyforge.train.spec.align_tracked_config)."""
    return tracked_json(align_tracked_config(config, section))


def preference_stats_files():
    """The synthetic safety pairs' counts (model-written vs fallback refusals), if any."""
    return [] if config["dpo"]["train_file"] else ["results/chat/preference_stats.json"]


def eval_models():
    """Display name → HF folder of every row of the eval tables (own exports, then eval.models)."""
    wanted = config["eval"]["include"]
    models = {}
    if "stages" in wanted:
        models.update({os.path.basename(f): f for f in hf_exports()})
    for name in ("sft", "dpo"):
        if name in wanted:
            models[name] = f"results/hf/{name}"
    models.update(config["eval"]["models"])
    return models


def own_eval_models():
    """The eval models the DAG builds (inputs); user folders are passed as params only, so a
    missing one fails its row instead of the DAG."""
    return [p for n, p in eval_models().items() if n not in config["eval"]["models"]]


def pairs_args(mapping):
    """``name=path`` arguments, shell-quoted."""
    import shlex

    return " ".join(shlex.quote(f"{k}={v}") for k, v in mapping.items())


def eval_domain_files():
    """Domain name → JSONL file of the loss table (config, or this run's held-out corpora)."""
    if config["eval"]["domains"]:
        return dict(config["eval"]["domains"])
    return {c: f"results/eval/domains/{c}.jsonl" for c in CORPORA}


def eval_config(*keys):
    """``--config-json`` with only these keys of the eval section, so that, say, a benchmark
    setting does not rerun the loss table; the step reading any other key is an error."""
    return json.dumps({"eval": {k: config["eval"][k] for k in keys}}, sort_keys=True)


def reference_tokenizer():
    """The one tokenizer that normalises every model's loss."""
    return config["eval"]["reference_tokenizer"] or "results/tokenizer"


def synthetic_benchmarks_json():
    """Only the synthetic generator's settings (what eval_benchmarks_data tracks)."""
    synthetic = config["eval"]["benchmarks"]["synthetic"]
    return json.dumps({"eval": {"benchmarks": {"synthetic": synthetic}}}, sort_keys=True)


BENCHMARK_DATA = "results/eval/benchmarks/data"


def benchmark_dirs():
    """Task → directory in the official layout (config, or the synthetic sets)."""
    given = config["eval"]["benchmarks"]["data"]
    return {t: given.get(t, f"{BENCHMARK_DATA}/{t}") for t in config["eval"]["benchmarks"]["tasks"]}


def decontam_dirs():
    """Task → directory of the benchmarks decontamination removes (config, or synthetic)."""
    given = config["eval"]["benchmarks"]["data"]
    tasks = config["decontam"]["tasks"]
    if tasks is None:
        tasks = config["eval"]["benchmarks"]["tasks"]
    return {t: given.get(t, f"{BENCHMARK_DATA}/{t}") for t in tasks}


def decontam_inputs():
    """The benchmark directories decontamination reads (the synthetic sets when used)."""
    dirs = list(decontam_dirs().values())
    return [BENCHMARK_DATA] if any(d.startswith(BENCHMARK_DATA) for d in dirs) else dirs


def benchmark_inputs():
    """The synthetic benchmark directory when any task or contamination file uses it."""
    c = config["eval"]["contamination"]
    uses = any(d.startswith(BENCHMARK_DATA) for d in benchmark_dirs().values())
    uses = uses or not all(c[k] for k in ("train", "test", "ref"))
    return [BENCHMARK_DATA] if uses else []


def gsm8k_files():
    """train / test / ref GSM8K-format files of the contamination table."""
    c = config["eval"]["contamination"]
    return {k: c[k] or f"{BENCHMARK_DATA}/gsm8k/{k}.jsonl" for k in ("train", "test", "ref")}


def contamination_models():
    """The eval models plus the leaky control."""
    models = eval_models()
    if config["eval"]["contamination"]["leaky_control"]:
        models["leaky control"] = "results/hf/leaky_control"
    return models


def contamination_model_inputs():
    """The DAG-built folders of the contamination table."""
    own = own_eval_models()
    if config["eval"]["contamination"]["leaky_control"]:
        own.append("results/hf/leaky_control")
    return own


def export_manifest(wildcards):
    """The manifest an SFT/DPO/leaky-control export is made from."""
    if wildcards.variant == "leaky_control":
        return "results/eval/contamination/leaky_control/manifest.json"
    if wildcards.variant == "ablation_start":  # written by ablation_stem beside its manifest
        return "results/eval/ablation/stem/start_manifest.json"
    if wildcards.variant == "ablation_stem":
        return "results/eval/ablation/stem/manifest.json"
    return f"results/align/{wildcards.variant}/manifest.json"


def config_hash():
    """SHA-256 (16 hex digits) of the validated config, defaults filled in."""
    import hashlib

    blob = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# Resources (src/skyforge/plan/resources.py): every rule that Snakemake submits takes its
# `resources:` from the plan, sized from the config. A profile's set-resources still override
# them (Snakemake applies those after the rule's own), though never below the planned need, which
# is one line at dry-run time naming the rule and the key.

_PLANNED = {}


def local_crawl_bytes():
    """Bytes of the local WARC inputs (crawl.source warc with a glob of files), else None."""
    if config["crawl"]["source"] != "warc":
        return None
    pattern = config["crawl"]["warc_glob"]
    if is_url(pattern) or is_listing(pattern):
        return None
    return sum(os.path.getsize(p) for p in warc_inputs())


def planned_shape():
    """The counts the resources need from the DAG (skyforge.plan.resources.DagShape)."""
    return DagShape(
        eval_models=len(eval_models()),
        contamination_models=len(contamination_models()),
        chat_models=len(chat_model_exports()),
        eval_domains=len(eval_domain_files()),
        crawl_bytes=local_crawl_bytes(),
    )


def planned_resources():
    """Rule → planned request (skyforge.plan.resources.Request), computed once."""
    if not _PLANNED:
        try:
            _PLANNED.update(plan_resources(config, planned_shape()))
            # SKYFORGE_PARTITION_CHECK=off skips it (a dry run of a preset on a machine whose
            # SLURM is not the preset's cluster, as in the tests).
            if os.environ.get("SKYFORGE_PARTITION_CHECK", "auto") != "off":
                check_rule_partitions(partition_checks(_PLANNED))
        except ConfigError as exc:
            raise WorkflowError(str(exc)) from None
    return _PLANNED


def partition_checks(planned):
    """(rule, key, partition, GPUs) of every Snakemake job with a partition from the config, for
    the sinfo check at dry-run time (skyforge.launch.partition.check_rule_partitions)."""
    launch = config["launch"]
    checks = []
    for rule, req in planned.items():
        if req.kind == "submitit" or not req.partition:
            continue
        if req.gpus:
            key = (
                "launch.gpu_partition" if launch.get("gpu_partition") else "launch.slurm_partition"
            )
        else:
            key = "launch.cpu_partition"
        checks.append((rule, key, req.partition, req.gpus))
    return checks


def profile_overrides(rule):
    """The profile's set-resources of ``rule`` with concrete values. Snakemake keeps a value that
    is not a number as an expression evaluated per job; a literal or a bare word (gpu:1) is read
    here as Snakemake would read it, a real expression is left out (not checked)."""
    import ast

    from snakemake.resources import Resources

    given = workflow.resource_settings.overwrite_resources.get(rule)
    if not given:
        return {}
    values = {}
    for key, res in Resources.from_mapping(given).items():
        if not res.is_evaluable():
            values[key] = res.value
        elif isinstance(res.raw, str):
            try:
                values[key] = ast.literal_eval(res.raw)
            except SyntaxError:
                values[key] = res.raw
            except ValueError:
                pass
    return values


def rule_resources(name):
    """The `resources:` of rule ``name`` from the plan, after checking the profile's overrides."""
    planned = planned_resources()
    if name not in planned:
        raise WorkflowError(
            f"{name!r} has no planned resources; add the rule to DATA_RATES or MODEL_RULES in "
            "src/skyforge/plan/resources.py"
        )
    try:
        check_overrides(planned[name], profile_overrides(name))
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    return planned[name].snakemake()


def data_plan_json():
    """The data half of the plan (skyforge.plan.data_plan) as JSON, sized from the config."""
    crawl, _origin = crawl_bytes(config, planned_shape())
    try:
        return json.dumps(data_plan(config, crawl), sort_keys=True, separators=(",", ":"))
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None


def resource_table_json():
    """Every planned request as JSON (the plan step's table; tracked, so it reruns the plan)."""
    rows = [r.as_row() for r in planned_resources().values()]
    return json.dumps(rows, sort_keys=True, separators=(",", ":"))
