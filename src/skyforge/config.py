"""Validated, typed configuration.

The merged Snakemake config (config.yaml plus any ``--configfile`` overlays) is checked against
``schemas/config.schema.yaml`` and turned into frozen dataclasses, one per section. Rules pass
each CLI step only the sections it depends on (as JSON), so that Snakemake's params tracking
reruns exactly the steps whose configuration changed.

Validation uses ``jsonschema`` (the library under ``snakemake.utils.validate``) directly, for two
reasons: the CLI must validate outside Snakemake too, and a user error must be ONE line naming the
key (``config key 'model.hidden_sise': unknown key ...``), which Snakemake's multi-line
ValidationError dump is not. Defaults declared in the schema are filled in as in Snakemake.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = [
    "ConfigError",
    "load_schema",
    "validate_config",
    "validate_sections",
    "load_config_files",
    "merge_configs",
    "CrawlConfig",
    "SyntheticCrawlConfig",
    "ModelConfig",
    "RUNTIME_MODEL_KEYS",
    "model_identity",
    "ClusterConfig",
    "ParallelConfig",
    "TrainConfig",
    "PlanConfig",
    "SkyforgeConfig",
]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A user error in the configuration; the message is one line and names the key."""


# ---------------------------------------------------------------------------------------------
# Schema validation
# ---------------------------------------------------------------------------------------------


def load_schema() -> dict[str, Any]:
    """Return the config JSON schema (from the checkout, or the installed package copy)."""
    if SCHEMA_PATH.exists():
        text = SCHEMA_PATH.read_text(encoding="utf-8")
    else:  # installed without the checkout: fall back to the packaged copy
        text = resources.files("skyforge").joinpath("config.schema.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _extend_with_defaults(validator_class: type) -> type:
    """A validator class that fills ``default`` values in while validating (as Snakemake does)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "<top level>"


def _one_line(error: jsonschema.ValidationError) -> str:
    """Turn a jsonschema error into one line that names the offending key."""
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = f"{key}.{unknown[0]}" if key != "<top level>" else unknown[0]
        return f"config key '{name}': unknown key (allowed here: {', '.join(allowed)})"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        name = f"{key}.{missing}" if key != "<top level>" else missing
        return f"config key '{name}': required key is missing"
    if error.validator == "type" and isinstance(error.instance, str):
        try:
            float(error.instance)
        except ValueError:
            pass
        else:
            if "e" not in error.instance.lower():
                return f"config key '{key}': '{error.instance}' is a string, not a number"
            # PyYAML reads 2.0e12 as a string: YAML 1.1 wants a sign in the exponent.
            return (
                f"config key '{key}': '{error.instance}' is a string, not a number "
                f"(write exponents with a sign, e.g. 2.0e+12)"
            )
    return f"config key '{key}': {error.message}"


def _coerce_scalar(value: str, types: str | list[str]) -> tuple[bool, Any]:
    """Read a string as the scalar type the schema wants, if it unambiguously is one."""
    for t in [types] if isinstance(types, str) else types:
        text = value.strip()
        if t == "integer" and text.lstrip("+-").isdigit():
            return True, int(text)
        if t == "number":
            try:
                number = float(text)
            except ValueError:
                continue
            return True, int(number) if text.lstrip("+-").isdigit() else number
        if t == "boolean" and text.lower() in ("true", "false"):
            return True, text.lower() == "true"
        if t == "null" and text in ("null", "~", ""):
            return True, None
    return False, value


def _coerce_strings(validator: Any, data: dict[str, Any]) -> list[Any]:
    """Validate, turning strings into the numbers/booleans the schema asks for; return errors.

    Two common inputs carry numbers as strings: `snakemake --config key='{nested: 1}'` (Snakemake
    parses nested values with YAML's BaseLoader, so every leaf is a string) and YAML 1.1 floats
    written without an exponent sign (PyYAML reads ``2.0e12`` as a string). Where the schema
    wants a number and the string is one, it is read as one; anything else is still an error.
    """
    for _ in range(1000):  # one coercion per pass; bounded for safety
        errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.path))
        for err in errors:
            if err.validator == "type" and isinstance(err.instance, str) and err.absolute_path:
                ok, value = _coerce_scalar(err.instance, err.validator_value)
                if ok:
                    parent = data
                    *head, last = list(err.absolute_path)
                    for part in head:
                        parent = parent[part]
                    parent[last] = value
                    break
        else:
            return errors
    return errors


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a merged config dict against the schema and the cross-key rules.

    Args:
        config: the merged configuration (not modified).

    Returns:
        A deep copy with schema defaults filled in.

    Raises:
        ConfigError: one line naming the first offending key.
    """
    data = json.loads(json.dumps(config))  # deep copy; also rejects non-JSON values early
    schema = load_schema()
    validator_cls = _extend_with_defaults(jsonschema.validators.validator_for(schema))
    validator = validator_cls(schema)
    errors = _coerce_strings(validator, data)
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise ConfigError(_one_line(best))
    SkyforgeConfig.from_dict(data)  # cross-key checks
    return data


def validate_sections(config: Mapping[str, Any], sections: tuple[str, ...]) -> dict[str, Any]:
    """Validate only the named top-level sections (what a rule passes to one CLI step).

    Raises:
        ConfigError: one line naming the offending key (or a missing section).
    """
    data = json.loads(json.dumps(dict(config)))
    schema = load_schema()
    sub = dict(schema)
    sub["properties"] = {k: v for k, v in schema["properties"].items() if k in sections}
    sub["required"] = list(sections)
    validator_cls = _extend_with_defaults(jsonschema.validators.validator_for(schema))
    errors = _coerce_strings(validator_cls(sub), data)
    if errors:
        raise ConfigError(_one_line(jsonschema.exceptions.best_match(errors)))
    return data


def merge_configs(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` over ``base`` key by key, as Snakemake merges ``--configfile``s."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_configs(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config_files(paths: list[str | Path]) -> dict[str, Any]:
    """Read YAML files, merge them in order and validate the result."""
    merged: dict[str, Any] = {}
    for path in paths:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}': not found") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file '{path}'{where}: not valid YAML") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file '{path}': top level must be a mapping")
        merged = merge_configs(merged, data)
    return validate_config(merged)


# ---------------------------------------------------------------------------------------------
# Typed sections
# ---------------------------------------------------------------------------------------------


def _frozen_mapping(d: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((str(k), float(v)) for k, v in d.items()))


DEFAULT_CRAWL_MIX = {
    "en_article": 0.28,
    "zh_article": 0.28,
    "code": 0.08,
    "stem_qa": 0.10,
    "parallel": 0.05,
    "spam": 0.04,
    "adult": 0.03,
    "other_lang": 0.03,
    "boilerplate_only": 0.04,
    "adult_listing": 0.015,
    "gambling_promo": 0.015,
    "contact_spam": 0.01,
    "link_farm": 0.01,
    "error_links": 0.01,
    "harmful_evasive": 0.015,
    "mojibake": 0.01,
    "mojibake_fixable": 0.01,
    "low_quality": 0.04,
}


@dataclass(frozen=True)
class SyntheticCrawlConfig:
    """Size and make-up of the synthetic bilingual crawl (``skyforge synth-crawl``)."""

    seed: int = 1234
    num_pages: int = 3000
    """HTML pages, duplicates included (non-HTML and truncated records come on top)."""
    start_date: str = "2023-01-01"
    end_date: str = "2024-06-30"
    mix: tuple[tuple[str, float], ...] = tuple(sorted(DEFAULT_CRAWL_MIX.items()))
    """(kind, share) pairs, normalised to sum to 1; see ``mix_dict``."""
    exact_dup_fraction: float = 0.05
    near_dup_fraction: float = 0.05
    gbk_fraction: float = 0.15
    dropdown_fraction: float = 0.35
    num_non_html: int = 20
    num_truncated: int = 1

    @property
    def mix_dict(self) -> dict[str, float]:
        """Kind → share, normalised to sum to 1."""
        total = sum(v for _, v in self.mix)
        return {k: v / total for k, v in self.mix}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SyntheticCrawlConfig:
        d = dict(d)
        mix = d.pop("mix", None) or DEFAULT_CRAWL_MIX
        if sum(mix.values()) <= 0:
            raise ConfigError("config key 'crawl.synthetic.mix': shares must not all be zero")
        if d.get("exact_dup_fraction", 0.05) + d.get("near_dup_fraction", 0.05) >= 0.9:
            raise ConfigError(
                "config key 'crawl.synthetic.near_dup_fraction': exact + near duplicate "
                "fractions must stay below 0.9"
            )
        if d.get("start_date", cls.start_date) > d.get("end_date", cls.end_date):
            raise ConfigError("config key 'crawl.synthetic.end_date': is before start_date")
        return cls(mix=_frozen_mapping(mix), **d)


@dataclass(frozen=True)
class CrawlConfig:
    """Where the raw crawl comes from (rule ``crawl``)."""

    source: str = "synthetic"
    warc_glob: str | None = None
    num_shards: int = 2
    synthetic: SyntheticCrawlConfig = field(default_factory=SyntheticCrawlConfig)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CrawlConfig:
        d = dict(d)
        synthetic = SyntheticCrawlConfig.from_dict(d.pop("synthetic", {}) or {})
        cfg = cls(synthetic=synthetic, **d)
        if cfg.source == "warc" and not cfg.warc_glob:
            raise ConfigError("config key 'crawl.warc_glob': required when crawl.source is warc")
        return cfg


@dataclass(frozen=True)
class ModelConfig:
    """LLaMA-style decoder dimensions."""

    num_layers: int
    hidden_size: int
    ffn_hidden_size: int
    num_attention_heads: int
    seq_length: int
    vocab_size: int
    name: str = "tiny"
    num_query_groups: int | None = None
    """Key/value groups; None = one per head (multi-head attention)."""
    norm_head: bool = False
    attention_backend: str = "auto"
    """How attention is computed (:mod:`skyforge.model.attention`); not part of the model's
    identity: a checkpoint loads under every backend (see :func:`model_identity`)."""

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def kv_groups(self) -> int:
        return self.num_query_groups or self.num_attention_heads

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        cfg = cls(**d)
        if cfg.hidden_size % cfg.num_attention_heads:
            raise ConfigError(
                f"config key 'model.num_attention_heads': {cfg.num_attention_heads} does not "
                f"divide model.hidden_size {cfg.hidden_size}"
            )
        if cfg.num_attention_heads % cfg.kv_groups:
            raise ConfigError(
                f"config key 'model.num_query_groups': {cfg.kv_groups} does not divide "
                f"model.num_attention_heads {cfg.num_attention_heads}"
            )
        return cfg


RUNTIME_MODEL_KEYS = ("attention_backend",)
"""``model`` keys that choose how the model is computed, not what it is: left out of every
hash and tracked parameter, so switching them reruns nothing and resumes the same run."""


def model_identity(model: Mapping[str, Any]) -> dict[str, Any]:
    """The ``model`` section without :data:`RUNTIME_MODEL_KEYS` (what hashes and params track)."""
    return {k: v for k, v in model.items() if k not in RUNTIME_MODEL_KEYS}


@dataclass(frozen=True)
class ClusterConfig:
    """Hardware a training job is sized for."""

    nodes: int
    gpus_per_node: int
    accelerator: str = "cpu"

    @property
    def num_gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClusterConfig:
        return cls(**d)


@dataclass(frozen=True)
class ParallelConfig:
    """Parallel layout of a training job (TP × PP × DP, ZeRO stage, micro-batch)."""

    tensor: int
    pipeline: int
    data: int
    zero_stage: int = 1
    micro_batch_size: int = 1
    recompute: str = "none"

    @property
    def world_size(self) -> int:
        return self.tensor * self.pipeline * self.data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ParallelConfig:
        return cls(**d)


@dataclass(frozen=True)
class SessionConfig:
    """One stage-1 session: a token budget with its own learning-rate schedule."""

    name: str
    tokens: float
    schedule: str
    lr_max: float
    lr_min: float | None = None
    warmup_tokens: float = 0.0
    decay_fraction: float | None = None


@dataclass(frozen=True)
class SubstageConfig:
    """One stage-2 sub-stage: a STEM share and a token budget."""

    stem_share: float
    tokens: float


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and token budgets of the pretraining stages."""

    global_batch_size: int
    sessions: tuple[SessionConfig, ...]
    stage1_mix: tuple[tuple[str, float], ...]
    stage2_lr: float
    substages: tuple[SubstageConfig, ...]
    keep_checkpoints_at_tokens: tuple[float, ...] = ()
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0

    @property
    def stage1_tokens(self) -> float:
        return sum(s.tokens for s in self.sessions)

    @property
    def stage2_tokens(self) -> float:
        return sum(s.tokens for s in self.substages)

    @property
    def total_tokens(self) -> float:
        """All pretraining tokens: stage-1 sessions plus stage-2 sub-stages."""
        return self.stage1_tokens + self.stage2_tokens

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        s1, s2 = d["stage1"], d["stage2"]
        mix = s1["mix"]
        # Published mixes are rounded (Skywork's 52.2 + 39.6 + 8 = 99.8 %): accept a 1 % slack
        # and normalise; anything further off is a typo.
        if abs(sum(mix.values()) - 1.0) > 0.01:
            raise ConfigError(
                f"config key 'train.stage1.mix': shares sum to {sum(mix.values()):.4f}, not 1"
            )
        mix = {k: v / sum(mix.values()) for k, v in mix.items()}
        sessions = []
        for i, s in enumerate(s1["sessions"]):
            sess = SessionConfig(**s)
            if sess.schedule in ("cosine", "wsd") and sess.lr_min is not None:
                if sess.lr_min > sess.lr_max:
                    raise ConfigError(
                        f"config key 'train.stage1.sessions[{i}].lr_min': above lr_max"
                    )
            if sess.warmup_tokens >= sess.tokens:
                raise ConfigError(
                    f"config key 'train.stage1.sessions[{i}].warmup_tokens': not below tokens"
                )
            sessions.append(sess)
        opt = d.get("optimizer", {}) or {}
        return cls(
            global_batch_size=d["global_batch_size"],
            sessions=tuple(sessions),
            stage1_mix=_frozen_mapping(mix),
            stage2_lr=s2["lr"],
            substages=tuple(SubstageConfig(**s) for s in s2["substages"]),
            keep_checkpoints_at_tokens=tuple(s1.get("keep_checkpoints_at_tokens", ())),
            **opt,
        )


@dataclass(frozen=True)
class ReversePlanConfig:
    """The reverse planning question: tokens, days and GPUs → largest model."""

    tokens: float = 1.0e12
    days: float = 60.0
    gpus: int = 300


@dataclass(frozen=True)
class PlanConfig:
    """Inputs of the compute plan beyond model, cluster, parallel and train."""

    gpu: str = "A800-80G"
    assumed_mfu: float = 0.565
    overhead_gib: float = 2.0
    reverse: ReversePlanConfig = field(default_factory=ReversePlanConfig)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlanConfig:
        d = dict(d)
        reverse = ReversePlanConfig(**(d.pop("reverse", {}) or {}))
        return cls(reverse=reverse, **d)


@dataclass(frozen=True)
class SkyforgeConfig:
    """The whole validated configuration."""

    run_name: str
    crawl: CrawlConfig
    model: ModelConfig
    cluster: ClusterConfig
    parallel: ParallelConfig
    train: TrainConfig
    plan: PlanConfig

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SkyforgeConfig:
        """Build every section and run the checks that span sections."""
        cfg = cls(
            run_name=d["run_name"],
            crawl=CrawlConfig.from_dict(d["crawl"]),
            model=ModelConfig.from_dict(d["model"]),
            cluster=ClusterConfig.from_dict(d["cluster"]),
            parallel=ParallelConfig.from_dict(d["parallel"]),
            train=TrainConfig.from_dict(d["train"]),
            plan=PlanConfig.from_dict(d["plan"]),
        )
        check_layout(cfg.model, cfg.cluster, cfg.parallel, cfg.train)
        check_data_sections(d)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_layout(
    model: ModelConfig, cluster: ClusterConfig, parallel: ParallelConfig, train: TrainConfig
) -> None:
    """Check that the parallel layout fits the cluster, the model and the batch.

    Raises:
        ConfigError: naming the key to change.
    """
    if parallel.world_size != cluster.num_gpus:
        raise ConfigError(
            f"config key 'parallel': tensor {parallel.tensor} × pipeline {parallel.pipeline} × "
            f"data {parallel.data} = {parallel.world_size}, but cluster.nodes {cluster.nodes} × "
            f"cluster.gpus_per_node {cluster.gpus_per_node} = {cluster.num_gpus} GPUs"
        )
    if parallel.tensor > cluster.gpus_per_node:
        raise ConfigError(
            f"config key 'parallel.tensor': {parallel.tensor} exceeds cluster.gpus_per_node "
            f"{cluster.gpus_per_node} (tensor parallelism stays inside a node)"
        )
    if model.num_attention_heads % parallel.tensor or model.kv_groups % parallel.tensor:
        raise ConfigError(
            f"config key 'parallel.tensor': {parallel.tensor} does not divide the attention "
            f"heads ({model.num_attention_heads}) and KV groups ({model.kv_groups})"
        )
    if model.num_layers % parallel.pipeline:
        raise ConfigError(
            f"config key 'parallel.pipeline': {parallel.pipeline} does not divide "
            f"model.num_layers {model.num_layers}"
        )
    per_step = parallel.data * parallel.micro_batch_size
    if train.global_batch_size % per_step:
        raise ConfigError(
            f"config key 'train.global_batch_size': {train.global_batch_size} is not a multiple "
            f"of parallel.data × parallel.micro_batch_size = {per_step}"
        )


def check_data_sections(d: Mapping[str, Any]) -> None:
    """Checks across the cleaning sections (present once the schema filled the defaults).

    Raises:
        ConfigError: naming the key to change.
    """
    if "tokenizer" in d and d["tokenizer"]["vocab_size"] > d["model"]["vocab_size"]:
        raise ConfigError(
            f"config key 'tokenizer.vocab_size': {d['tokenizer']['vocab_size']} exceeds "
            f"model.vocab_size {d['model']['vocab_size']} (the embedding must hold every token)"
        )
    if "dedup" not in d or "filters" not in d:
        return
    near = d["dedup"]["near"]
    if near["bands"] * near["rows"] != near["num_perm"]:
        raise ConfigError(
            f"config key 'dedup.near.num_perm': {near['num_perm']} must equal bands "
            f"{near['bands']} × rows {near['rows']}"
        )
    groups = d["dedup"]["substring"]["groups"]
    seen: dict[str, str] = {}
    for name, langs in groups.items():
        for lang in langs:
            if lang in seen:
                raise ConfigError(
                    f"config key 'dedup.substring.groups.{name}': language '{lang}' is already "
                    f"in group '{seen[lang]}'"
                )
            seen[lang] = name
    missing = [lang for lang in d["filters"]["keep_langs"] if lang not in seen]
    if missing:
        raise ConfigError(
            f"config key 'dedup.substring.groups': kept language(s) {missing} "
            f"(filters.keep_langs) are in no group"
        )


def section_json(config: Mapping[str, Any], *sections: str) -> str:
    """The named top-level sections as compact JSON (what rules pass to the CLI)."""
    return json.dumps({s: config[s] for s in sections}, sort_keys=True, separators=(",", ":"))
