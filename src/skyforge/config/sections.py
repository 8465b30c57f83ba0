"""One frozen dataclass per section of the config schema (``schemas/config.schema.yaml``).

``SkyforgeConfig`` holds them all. Each section's ``from_dict`` takes a validated section; the
sections without checks of their own (:class:`Section` subclasses) take every key and name a
missing or unknown one in a :class:`ConfigError`, and hold no defaults: those live only in the
schema, which :func:`skyforge.config.schema.validate_schema` fills in. ``with_defaults`` builds
one from a few keys plus the schema's defaults (tests, benchmarks).

The sections with checks or derived values of their own (crawl, model, cluster, parallel,
train, plan) take every key as well; ``with_defaults`` fills the rest from the schema.
Checks across sections live in :mod:`skyforge.config.checks`. The module is long (~640 lines)
only because the schema has 25 sections, one short class each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from skyforge.config.schema import ConfigError, fill_defaults, schema_defaults

__all__ = [
    "BlendsConfig",
    "CheckpointsConfig",
    "ClusterConfig",
    "CorporaConfig",
    "CrawlConfig",
    "DecontamSection",
    "DedupConfig",
    "DpoConfig",
    "EncodingConfig",
    "EvalConfig",
    "ExtractConfig",
    "StreamConfig",
    "FiltersConfig",
    "GenerateConfig",
    "HarmfulConfig",
    "HarmfulModelConfig",
    "LaunchConfig",
    "ModelConfig",
    "MonitoringConfig",
    "ParallelConfig",
    "PlanConfig",
    "PreflightConfig",
    "QualityModelConfig",
    "RUNTIME_MODEL_KEYS",
    "ReversePlanConfig",
    "Section",
    "SessionConfig",
    "SftConfig",
    "SubstageConfig",
    "SyntheticCrawlConfig",
    "TokenizerConfig",
    "TrainConfig",
    "model_identity",
]


def _section_fields(cls: type, d: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Every field of ``cls`` from ``d``: a missing or unknown key is a :class:`ConfigError`."""
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in d]
    if missing:
        raise ConfigError(f"config key '{key}.{missing[0]}': required key is missing")
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(f"config key '{key}.{unknown[0]}': unknown key")
    return {n: d[n] for n in names}


class Section:
    """A schema section read as is: ``SECTION`` names it, every field is one of its keys."""

    SECTION: ClassVar[str]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        """From a validated section (every key present).

        Raises:
            ConfigError: a missing or unknown key, naming it.
        """
        return cls(**_section_fields(cls, d, cls.SECTION))

    @classmethod
    def with_defaults(cls, **given: Any) -> Any:
        """The schema's defaults of the section, overridden by ``given``."""
        return cls.from_dict({**schema_defaults(cls.SECTION), **given})


def _frozen_mapping(d: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((str(k), float(v)) for k, v in d.items()))


def _need(d: Mapping[str, Any], keys: tuple[str, ...], key: str) -> None:
    """Raise a :class:`ConfigError` naming the first of ``keys`` that ``d`` lacks."""
    for name in keys:
        if name not in d:
            raise ConfigError(f"config key '{key}.{name}': required key is missing")


class _Typed:
    """``with_defaults`` for the typed sections: ``PATH`` locates them in the schema."""

    PATH: ClassVar[tuple[str, ...]]

    @classmethod
    def with_defaults(cls, d: Mapping[str, Any] | None = None, **given: Any) -> Any:
        """From ``d`` and ``given``, the rest at the schema's defaults (tests, benchmarks)."""
        return cls.from_dict(fill_defaults(cls.PATH, {**(d or {}), **given}))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SyntheticCrawlConfig(_Typed):
    """Size and make-up of the synthetic bilingual crawl (``skyforge synth-crawl``)."""

    PATH: ClassVar[tuple[str, ...]] = ("crawl", "synthetic")
    seed: int
    num_pages: int
    """HTML pages, duplicates included (non-HTML and truncated records come on top)."""
    start_date: str
    end_date: str
    mix: tuple[tuple[str, float], ...]
    """(kind, share) pairs, normalised to sum to 1; see ``mix_dict``."""
    exact_dup_fraction: float
    near_dup_fraction: float
    gbk_fraction: float
    dropdown_fraction: float
    num_non_html: int
    num_truncated: int

    @property
    def mix_dict(self) -> dict[str, float]:
        """Kind → share, normalised to sum to 1."""
        total = sum(v for _, v in self.mix)
        return {k: v / total for k, v in self.mix}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SyntheticCrawlConfig:
        d = _section_fields(cls, d, "crawl.synthetic")
        if sum(d["mix"].values()) <= 0:
            raise ConfigError("config key 'crawl.synthetic.mix': shares must not all be zero")
        if d["exact_dup_fraction"] + d["near_dup_fraction"] >= 0.9:
            raise ConfigError(
                "config key 'crawl.synthetic.near_dup_fraction': exact + near duplicate "
                "fractions must stay below 0.9"
            )
        if d["start_date"] > d["end_date"]:
            raise ConfigError("config key 'crawl.synthetic.end_date': is before start_date")
        return cls(**{**d, "mix": _frozen_mapping(d["mix"])})


@dataclass(frozen=True)
class CrawlConfig(_Typed):
    """Where the raw crawl comes from (rule ``crawl``)."""

    PATH: ClassVar[tuple[str, ...]] = ("crawl",)
    source: str
    warc_glob: str | None
    warc_base_url: str | None
    num_shards: int
    reshard: bool
    synthetic: SyntheticCrawlConfig

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CrawlConfig:
        d = _section_fields(cls, d, "crawl")
        cfg = cls(**{**d, "synthetic": SyntheticCrawlConfig.with_defaults(d["synthetic"])})
        if cfg.source == "warc" and not cfg.warc_glob:
            raise ConfigError("config key 'crawl.warc_glob': required when crawl.source is warc")
        return cfg


@dataclass(frozen=True)
class ModelConfig(_Typed):
    """LLaMA-style decoder dimensions."""

    PATH: ClassVar[tuple[str, ...]] = ("model",)
    name: str
    num_layers: int
    hidden_size: int
    ffn_hidden_size: int
    num_attention_heads: int
    num_query_groups: int | None
    """Key/value groups; None = one per head (multi-head attention)."""
    seq_length: int
    vocab_size: int
    norm_head: bool
    attention_backend: str
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
        cfg = cls(**_section_fields(cls, d, "model"))
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
class ClusterConfig(_Typed):
    """Hardware a training job is sized for."""

    PATH: ClassVar[tuple[str, ...]] = ("cluster",)
    accelerator: str
    nodes: int
    gpus_per_node: int

    @property
    def num_gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClusterConfig:
        return cls(**_section_fields(cls, d, "cluster"))


@dataclass(frozen=True)
class ParallelConfig(_Typed):
    """Parallel layout of a training job (TP × PP × DP, ZeRO stage, micro-batch)."""

    PATH: ClassVar[tuple[str, ...]] = ("parallel",)
    tensor: int
    pipeline: int
    data: int
    zero_stage: int
    micro_batch_size: int
    recompute: str

    @property
    def world_size(self) -> int:
        return self.tensor * self.pipeline * self.data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ParallelConfig:
        return cls(**_section_fields(cls, d, "parallel"))


@dataclass(frozen=True)
class SessionConfig(_Typed):
    """One stage-1 session: a token budget with its own learning-rate schedule."""

    PATH: ClassVar[tuple[str, ...]] = ("train", "stage1", "sessions")
    OPTIONAL: ClassVar[tuple[str, ...]] = ("lr_min", "decay_fraction")
    """Keys without a schema default: left out, the schedule derives them (None here)."""
    name: str
    tokens: float
    schedule: str
    lr_max: float
    lr_min: float | None
    warmup_tokens: float
    decay_fraction: float | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], key: str = "train.stage1.sessions[]") -> SessionConfig:
        return cls(**_section_fields(cls, {**dict.fromkeys(cls.OPTIONAL), **d}, key))


@dataclass(frozen=True)
class SubstageConfig:
    """One stage-2 sub-stage: a STEM share and a token budget."""

    stem_share: float
    tokens: float


OPTIMIZER_KEYS = ("beta1", "beta2", "eps", "weight_decay", "grad_clip")


@dataclass(frozen=True)
class TrainConfig(_Typed):
    """Optimisation and token budgets of the pretraining stages."""

    PATH: ClassVar[tuple[str, ...]] = ("train",)
    global_batch_size: int
    sessions: tuple[SessionConfig, ...]
    stage1_mix: tuple[tuple[str, float], ...]
    stage2_lr: float
    substages: tuple[SubstageConfig, ...]
    keep_checkpoints_at_tokens: tuple[float, ...]
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    grad_clip: float

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
        _need(d, ("global_batch_size", "optimizer", "stage1", "stage2"), "train")
        s1, s2, opt = d["stage1"], d["stage2"], d["optimizer"]
        _need(s1, ("mix", "sessions", "keep_checkpoints_at_tokens"), "train.stage1")
        _need(s2, ("lr", "substages"), "train.stage2")
        _need(opt, OPTIMIZER_KEYS, "train.optimizer")
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
            sess = SessionConfig.from_dict(s, f"train.stage1.sessions[{i}]")
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
        return cls(
            global_batch_size=d["global_batch_size"],
            sessions=tuple(sessions),
            stage1_mix=_frozen_mapping(mix),
            stage2_lr=s2["lr"],
            substages=tuple(SubstageConfig(**s) for s in s2["substages"]),
            keep_checkpoints_at_tokens=tuple(s1["keep_checkpoints_at_tokens"]),
            **{k: opt[k] for k in OPTIMIZER_KEYS},
        )


@dataclass(frozen=True)
class ReversePlanConfig:
    """The reverse planning question: tokens, days and GPUs → largest model."""

    tokens: float
    days: float
    gpus: int


@dataclass(frozen=True)
class PlanConfig(_Typed):
    """Inputs of the compute plan beyond model, cluster, parallel and train."""

    PATH: ClassVar[tuple[str, ...]] = ("plan",)
    gpu: str
    assumed_mfu: float
    overhead_gib: float
    reverse: ReversePlanConfig
    data: dict[str, Any]
    """The data half's crawl size, cores and node memory (skyforge.plan.data_plan)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlanConfig:
        d = _section_fields(cls, d, "plan")
        reverse = ReversePlanConfig(
            **_section_fields(ReversePlanConfig, d["reverse"], "plan.reverse")
        )
        return cls(**{**d, "reverse": reverse})


@dataclass(frozen=True)
class StreamConfig(Section):
    """The ``stream`` section: record-batch limits of the per-shard data jobs."""

    SECTION: ClassVar[str] = "stream"
    batch_docs: int
    batch_mb: float


@dataclass(frozen=True)
class ExtractConfig(Section):
    """The ``extract`` section."""

    SECTION: ClassVar[str] = "extract"
    extractor: str
    min_text_chars: int
    form_fields: bool


@dataclass(frozen=True)
class FiltersConfig(Section):
    """The ``filters`` section."""

    SECTION: ClassVar[str] = "filters"
    blocklists: list[Any]
    url_patterns: list[Any]
    keep_langs: list[Any]
    min_lang_score: float
    fasttext_model_path: str | None
    lang_id_max_chars: int
    lang_id_min_chars: int
    min_code_score: float
    clean_lines: bool
    max_boilerplate_line_words: int
    min_words: int
    max_words: int
    min_words_zh: int
    max_words_zh: int
    min_mean_word_length: float
    max_mean_word_length: float
    max_symbol_word_ratio: float
    max_ellipsis_lines: float
    max_bullet_lines: float
    min_alpha_words: float
    min_stop_words: int
    max_caps_lines: float
    max_dup_lines: float
    max_dup_paragraphs: float
    max_dup_line_chars: float
    max_dup_paragraph_chars: float
    max_top_ngram_frac: list[Any]
    max_dup_ngram_frac: list[Any]
    stuffing_top_k: int
    max_stuffing_frac: float
    farm_rules: bool
    farm_max_bracketed_share: float
    farm_min_bracketed_chars: int
    farm_max_stitch_marks: int
    farm_max_isolated_share: float
    farm_min_sentences: int


@dataclass(frozen=True)
class EncodingConfig(Section):
    """The ``encoding`` section."""

    SECTION: ClassVar[str] = "encoding"
    enabled: bool
    min_line_bytes: int
    min_valid_share: float
    max_replacement_share: float
    max_damaged_share: float
    max_fragments: int


@dataclass(frozen=True)
class HarmfulConfig(Section):
    """The ``harmful`` section."""

    SECTION: ClassVar[str] = "harmful"
    enabled: bool
    langs: list[Any]
    min_score: dict[str, Any]
    min_density: dict[str, Any]
    min_strong_terms: int
    min_contacts: int
    min_contact_density: float
    min_link_lines: int
    min_link_line_share: float
    confident_factor: float


@dataclass(frozen=True)
class HarmfulModelConfig(Section):
    """The ``harmful_model`` section."""

    SECTION: ClassVar[str] = "harmful_model"
    planted_num_docs: int
    thresholds: dict[str, Any]
    require_signal: bool
    num_folds: int
    seed: int
    epochs: int
    lr: float
    word_ngrams: int
    dim: int
    max_per_class: int
    val_fraction: float


@dataclass(frozen=True)
class QualityModelConfig(Section):
    """The ``quality_model`` section."""

    SECTION: ClassVar[str] = "quality_model"
    reference: str
    reference_num_docs: int
    thresholds: dict[str, Any]
    seed: int
    epochs: int
    skip_harmful_signal: bool
    lr: float
    word_ngrams: int
    dim: int
    max_per_class: int
    val_fraction: float


@dataclass(frozen=True)
class DedupConfig(Section):
    """The ``dedup`` section."""

    SECTION: ClassVar[str] = "dedup"
    exact: dict[str, Any]
    near: dict[str, Any]
    substring: dict[str, Any]


@dataclass(frozen=True)
class DecontamSection(Section):
    """The ``decontam`` section (the matcher's own parameters are
    ``skyforge.data.decontam.DecontamConfig``, built from ``matcher``)."""

    SECTION: ClassVar[str] = "decontam"
    tasks: list[str] | None
    action: str
    min_chars_after: int
    matcher: dict[str, Any]


@dataclass(frozen=True)
class CorporaConfig(Section):
    """The ``corpora`` section."""

    SECTION: ClassVar[str] = "corpora"
    heldout_fraction: float


@dataclass(frozen=True)
class TokenizerConfig(Section):
    """The ``tokenizer`` section."""

    SECTION: ClassVar[str] = "tokenizer"
    existing: str | None
    vocab_size: int
    sample_bytes: float
    split_digits: bool
    byte_fallback: bool
    special_tokens: list[Any] | None
    reference: str | None
    seed: int


@dataclass(frozen=True)
class BlendsConfig(Section):
    """The ``blends`` section."""

    SECTION: ClassVar[str] = "blends"
    max_epochs: float
    parallel_share: float
    decay: dict[str, Any] | None


@dataclass(frozen=True)
class MonitoringConfig(Section):
    """The ``monitoring`` section."""

    SECTION: ClassVar[str] = "monitoring"
    log_interval_steps: int
    eval_interval_steps: int
    eval_samples: int


@dataclass(frozen=True)
class CheckpointsConfig(Section):
    """The ``checkpoints`` section."""

    SECTION: ClassVar[str] = "checkpoints"
    dir: str
    save_interval_steps: int
    keep_last: int


@dataclass(frozen=True)
class LaunchConfig(Section):
    """The ``launch`` section."""

    SECTION: ClassVar[str] = "launch"
    executor: str
    slurm_partition: str | None
    slurm_account: str | None
    cpu_partition: str | None
    gpu_partition: str | None
    crawl_bytes: float | None
    timeout_min: int
    cpus_per_task: int
    mem_gb: float | None
    signal_delay_s: int
    max_num_timeout: int
    poll_interval_s: float
    unavailable_timeout_min: float
    slurm_additional_parameters: dict[str, Any]


@dataclass(frozen=True)
class PreflightConfig(Section):
    """The ``preflight`` section."""

    SECTION: ClassVar[str] = "preflight"
    enabled: bool | str
    min_fraction_of_plan: float
    min_cross_node_busbw_gbps: float
    min_intra_node_busbw_gbps: float
    warmup_steps: int
    steps: int
    repetitions: int

    def active(self, executor: str) -> bool:
        """Whether the pre-flight runs: ``enabled``, where ``auto`` means a SLURM run
        (``launch.executor``)."""
        return executor == "slurm" if self.enabled == "auto" else bool(self.enabled)


@dataclass(frozen=True)
class SftConfig(Section):
    """The ``sft`` section."""

    SECTION: ClassVar[str] = "sft"
    train_file: str | None
    heldout_file: str | None
    lr: float
    lr_min: float
    schedule: str
    warmup_fraction: float
    epochs: int
    global_batch_size: int | None
    pretrain_ratio: float
    load_optimizer_state: bool
    ablation: bool
    synthetic: dict[str, Any]


@dataclass(frozen=True)
class DpoConfig(Section):
    """The ``dpo`` section."""

    SECTION: ClassVar[str] = "dpo"
    train_file: str | None
    heldout_file: str | None
    beta: float
    lr: float
    lr_min: float
    schedule: str
    warmup_fraction: float
    epochs: int
    global_batch_size: int | None
    synthetic: dict[str, Any]


@dataclass(frozen=True)
class GenerateConfig(Section):
    """The ``generate`` section."""

    SECTION: ClassVar[str] = "generate"
    prompts: list[Any]
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int
    batch_size: int


@dataclass(frozen=True)
class EvalConfig(Section):
    """The ``eval`` section."""

    SECTION: ClassVar[str] = "eval"
    models: dict[str, Any]
    include: list[Any]
    domains: dict[str, Any]
    heldout_docs: int
    reference_tokenizer: str | None
    max_chars: int
    batch_tokens: int
    layer_cosine_docs: int
    benchmarks: dict[str, Any]
    contamination: dict[str, Any]
    ablation: dict[str, Any]
