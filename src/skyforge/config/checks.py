"""Checks that span config sections, and the whole validated configuration.

The schema checks one key at a time; whether the parallel layout fits the cluster, the model
and the batch (:func:`check_layout`), or the dedup groups cover the kept languages
(:func:`check_data_sections`), needs several sections at once. :func:`validate_config` runs the
schema and these checks; :class:`SkyforgeConfig` is the typed result, :class:`Layout` the four
sections that decide a training job's shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skyforge.config.schema import ConfigError, read_config_files, validate_schema
from skyforge.config.sections import (
    BlendsConfig,
    CheckpointsConfig,
    ClusterConfig,
    CorporaConfig,
    CrawlConfig,
    DecontamSection,
    DedupConfig,
    DpoConfig,
    EncodingConfig,
    EvalConfig,
    ExtractConfig,
    FiltersConfig,
    GenerateConfig,
    HarmfulConfig,
    HarmfulModelConfig,
    LaunchConfig,
    ModelConfig,
    MonitoringConfig,
    ParallelConfig,
    PlanConfig,
    PreflightConfig,
    QualityModelConfig,
    SftConfig,
    StreamConfig,
    TokenizerConfig,
    TrainConfig,
)

__all__ = [
    "Layout",
    "SkyforgeConfig",
    "check_data_sections",
    "check_layout",
    "load_config_files",
    "validate_config",
]


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a merged config dict against the schema and the cross-key rules.

    Args:
        config: the merged configuration (not modified).

    Returns:
        A deep copy with schema defaults filled in.

    Raises:
        ConfigError: one line naming the first offending key.
    """
    data = validate_schema(config)
    SkyforgeConfig.from_dict(data)  # cross-key checks
    return data


def load_config_files(paths: list[str | Path]) -> dict[str, Any]:
    """Read YAML files, merge them in order and validate the result."""
    return validate_config(read_config_files(paths))


@dataclasses.dataclass(frozen=True)
class SkyforgeConfig:
    """The whole validated configuration."""

    run_name: str
    crawl: CrawlConfig
    model: ModelConfig
    cluster: ClusterConfig
    parallel: ParallelConfig
    train: TrainConfig
    plan: PlanConfig
    stream: StreamConfig
    extract: ExtractConfig
    filters: FiltersConfig
    encoding: EncodingConfig
    harmful: HarmfulConfig
    harmful_model: HarmfulModelConfig
    quality_model: QualityModelConfig
    dedup: DedupConfig
    decontam: DecontamSection
    corpora: CorporaConfig
    tokenizer: TokenizerConfig
    blends: BlendsConfig
    monitoring: MonitoringConfig
    checkpoints: CheckpointsConfig
    launch: LaunchConfig
    preflight: PreflightConfig
    sft: SftConfig
    dpo: DpoConfig
    generate: GenerateConfig
    eval: EvalConfig

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
            stream=StreamConfig.from_dict(d["stream"]),
            extract=ExtractConfig.from_dict(d["extract"]),
            filters=FiltersConfig.from_dict(d["filters"]),
            encoding=EncodingConfig.from_dict(d["encoding"]),
            harmful=HarmfulConfig.from_dict(d["harmful"]),
            harmful_model=HarmfulModelConfig.from_dict(d["harmful_model"]),
            quality_model=QualityModelConfig.from_dict(d["quality_model"]),
            dedup=DedupConfig.from_dict(d["dedup"]),
            decontam=DecontamSection.from_dict(d["decontam"]),
            corpora=CorporaConfig.from_dict(d["corpora"]),
            tokenizer=TokenizerConfig.from_dict(d["tokenizer"]),
            blends=BlendsConfig.from_dict(d["blends"]),
            monitoring=MonitoringConfig.from_dict(d["monitoring"]),
            checkpoints=CheckpointsConfig.from_dict(d["checkpoints"]),
            launch=LaunchConfig.from_dict(d["launch"]),
            preflight=PreflightConfig.from_dict(d["preflight"]),
            sft=SftConfig.from_dict(d["sft"]),
            dpo=DpoConfig.from_dict(d["dpo"]),
            generate=GenerateConfig.from_dict(d["generate"]),
            eval=EvalConfig.from_dict(d["eval"]),
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


@dataclasses.dataclass(frozen=True)
class Layout:
    """The four typed sections that decide a training job's shape, checked against each other."""

    model: ModelConfig
    cluster: ClusterConfig
    parallel: ParallelConfig
    train: TrainConfig

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Layout:
        """Build the sections from a validated config and run :func:`check_layout`."""
        layout = cls(
            ModelConfig.from_dict(d["model"]),
            ClusterConfig.from_dict(d["cluster"]),
            ParallelConfig.from_dict(d["parallel"]),
            TrainConfig.from_dict(d["train"]),
        )
        check_layout(layout.model, layout.cluster, layout.parallel, layout.train)
        return layout
