"""What one training job trains: a :class:`StageSpec`, and the chain of stages of a config.

A pretraining run is a chain of stages, each its own Snakemake target (docs/ARCHITECTURE.md,
decision 7): the stage-1 sessions (``stage1_0``, ``stage1_1``, … — Skywork: 2 T tokens cosine, then
1.1 T constant), the stage-2 sub-stages (``stage2_0`` … — STEM share 10 % → 40 %) and the
optional WSD decay stage (``decay``). Every stage starts from the final checkpoint of the one
before it. The stage-1 sessions share ONE blend and one sample order: a later session continues
at the sample where the previous one stopped. A stage-2 sub-stage or the decay stage has a
blend of its own and starts at its first sample, keeping the model and the optimizer state.

A ``StageSpec`` is everything a job needs, resolved (steps, not tokens; absolute paths), so the
job reads one JSON file and the same file resubmits it after a preemption. Its
:meth:`StageSpec.config_hash` covers what determines the trained weights — model, data (blend
and tokenizer content), schedule, optimizer, batch, seed and the starting checkpoint — and not
the parallel layout, the intervals or where files go: a run directory is resumed (also on a
different number of GPUs) only when the hash matches, and a stale one is moved aside.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skyforge.config import (
    ConfigError,
    ModelConfig,
    ParallelConfig,
    TrainConfig,
    model_identity,
)
from skyforge.train.schedules import session_schedule

__all__ = [
    "StageSpec",
    "TrainingOptions",
    "build_align_spec",
    "continuation_spec",
    "load_manifest",
    "build_stage_spec",
    "file_sha256",
    "stage_names",
    "tracked_config",
    "align_tracked_config",
]


@dataclass(frozen=True)
class TrainingOptions:
    """Seed, loss masking, logging and checkpointing of the jobs (``train.seed``,
    ``train.eod_mask_loss``, ``monitoring.*``, ``checkpoints.*``)."""

    seed: int = 1234
    eod_mask_loss: bool = False
    log_interval_steps: int = 5
    eval_interval_steps: int = 10
    eval_samples: int = 16
    """Validation samples per held-out domain at each evaluation (all of them when fewer)."""
    save_interval_steps: int = 20
    keep_last_checkpoints: int = 2
    """Periodic checkpoints kept besides the newest one and the releases."""
    checkpoint_dir: str = "checkpoints"
    """Where run directories go (relative to the Snakemake working directory, or absolute)."""

    @classmethod
    def from_config(cls, d: dict[str, Any]) -> TrainingOptions:
        """From the validated config (schema defaults filled in)."""
        mon, ck = d.get("monitoring", {}), d.get("checkpoints", {})
        return cls(
            seed=d["train"].get("seed", 1234),
            eod_mask_loss=d["train"].get("eod_mask_loss", False),
            log_interval_steps=mon.get("log_interval_steps", 5),
            eval_interval_steps=mon.get("eval_interval_steps", 10),
            eval_samples=mon.get("eval_samples", 16),
            save_interval_steps=ck.get("save_interval_steps", 20),
            keep_last_checkpoints=ck.get("keep_last", 2),
            checkpoint_dir=ck.get("dir", "checkpoints"),
        )


@dataclass(frozen=True)
class StageSpec:
    """One training stage, fully resolved. Written to ``<run_dir>/spec.json`` by the launcher."""

    stage: str
    """Target name: ``stage1_<i>``, ``stage2_<i>`` or ``decay``."""
    description: str
    workdir: str
    """The Snakemake working directory: relative paths inside the blend file start here."""
    run_dir: str
    """Checkpoints, TensorBoard events, metrics and job logs (not a Snakemake output)."""
    manifest: str
    """The declared output, written last by global rank 0."""
    blend: str
    tokenizer: str
    model: dict[str, Any]
    parallel: dict[str, Any]
    accelerator: str
    global_batch_size: int
    train_steps: int
    schedule: dict[str, Any]
    """Keyword arguments of :func:`skyforge.train.schedules.lr_at` (without ``step``)."""
    optimizer: dict[str, float]
    num_train_samples: int
    """Samples of the stage's train dataset; equal for every stage sharing the blend."""
    seed: int
    eod_mask_loss: bool
    log_interval_steps: int
    eval_interval_steps: int
    eval_samples: int
    save_interval_steps: int
    keep_last_checkpoints: int
    keep_at_tokens: list[float] = field(default_factory=list)
    """Total tokens seen (over the whole chain) at which a checkpoint is kept as a release."""
    init_manifest: str | None = None
    """Manifest of the stage this one starts from (None: random initialisation)."""
    continue_data: bool = False
    """Continue the previous stage's sample order (stage-1 sessions) instead of sample 0."""
    init_hash: str = ""
    """Config hash and step of the starting checkpoint (part of this stage's hash)."""
    data_hash: str = ""
    """SHA-256 of the blend file and the tokenizer (part of this stage's hash)."""
    kind: str = "pretrain"
    """What the job trains: ``pretrain`` (packed text), ``sft`` (packed conversations mixed
    with pretraining text) or ``dpo`` (preference pairs against reference log-probs)."""
    task: dict[str, Any] = field(default_factory=dict)
    """The SFT/DPO settings and data files (see :func:`build_align_spec`)."""
    load_optimizer: bool = True
    """Load the starting checkpoint's optimizer state (Index-1.9B: it helps SFT)."""
    input_digests: dict[str, str] = field(default_factory=dict)
    """SHA-256 of every file the job reads (working-directory-relative path → digest; see
    :mod:`skyforge.train.inputs`), recorded in the manifest and the job record. Not part of the
    config hash: a rerun with identical inputs reuses the completed job (docs/staleness.md)."""

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch_size * self.model["seq_length"]

    def model_config(self) -> ModelConfig:
        return ModelConfig(**self.model)

    def parallel_config(self) -> ParallelConfig:
        return ParallelConfig(**self.parallel)

    def config_hash(self) -> str:
        """Hash of everything that determines the trained weights (see the module docstring)."""
        keys = (
            "stage",
            "model",
            "global_batch_size",
            "train_steps",
            "schedule",
            "optimizer",
            "num_train_samples",
            "seed",
            "eod_mask_loss",
            "continue_data",
            "init_hash",
            "data_hash",
        )
        if self.kind != "pretrain":
            # Only for the stages after pretraining, so pretraining hashes (and the run
            # directories they guard) stay what they were before these fields existed.
            keys += ("kind", "task", "load_optimizer")
        d = dataclasses.asdict(self)
        d["model"] = model_identity(d["model"])  # the attention backend is not the model
        blob = json.dumps({k: d[k] for k in keys}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    PATH_FIELDS = ("run_dir", "manifest", "blend", "tokenizer", "init_manifest")
    """Path fields, recorded relative to ``workdir`` in manifests (see :meth:`portable`)."""

    def portable(self) -> dict[str, Any]:
        """The spec as a manifest records it: paths relative to the working directory (when
        inside it), ``workdir`` as ``.``, so a moved run directory still resolves them."""
        from skyforge.core.io import workdir_relative

        d = dataclasses.asdict(self)
        for key in self.PATH_FIELDS:
            if d[key] is not None:
                d[key] = workdir_relative(d[key], self.workdir)
        files = d.get("task", {}).get("files")
        if files:
            d["task"]["files"] = {k: workdir_relative(v, self.workdir) for k, v in files.items()}
        d["workdir"] = "."
        return d

    @classmethod
    def from_manifest(
        cls, manifest: dict[str, Any], workdir: str | Path | None = None
    ) -> StageSpec:
        """The spec recorded in a manifest, its relative paths resolved against ``workdir``
        (default: the run's working directory found by :func:`load_manifest`, else the current
        directory, where Snakemake runs every rule)."""
        import os

        root = Path(workdir or manifest.get("workdir") or os.getcwd()).resolve()
        d = dict(manifest["spec"])

        def resolve(p: str | None) -> str | None:
            return None if p is None else str((root / p).resolve())

        for key in cls.PATH_FIELDS:
            d[key] = resolve(d.get(key))
        files = d.get("task", {}).get("files")
        if files:
            d["task"] = {**d["task"], "files": {k: resolve(v) for k, v in files.items()}}
        d["workdir"] = str(root)
        return cls(**d)

    @classmethod
    def load(cls, path: str | Path) -> StageSpec:
        """Read a spec written by :meth:`to_json`.

        Raises:
            ValueError: naming the file, when it is missing, not JSON or has unknown keys.
        """
        path = Path(path)
        d = _read_json(path, "stage spec")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"stage spec '{path}': unknown key '{unknown[0]}'")
        return cls(**d)


def _read_json(path: Path, what: str) -> Any:
    """A JSON file; a missing or broken one is a one-line ValueError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{what} '{path}': not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} '{path}': not valid JSON ({exc.msg})") from None


MANIFEST_PATH_KEYS = ("checkpoint", "run_dir", "metrics_csv", "tensorboard")


def manifest_root(path: str | Path, manifest: dict[str, Any]) -> Path:
    """The working directory a manifest's relative paths start from.

    The spec inside records the manifest's own path relative to that directory (e.g.
    ``results/pretrain/stage1_0/manifest.json``), so the directory is what precedes it in the
    file's present location — wherever the run was moved. Otherwise: the current directory.
    """
    import os

    rel = (manifest.get("spec") or {}).get("manifest")
    here = Path(path).resolve()
    if rel and not Path(rel).is_absolute():
        parts = Path(rel).parts
        if here.parts[-len(parts) :] == parts:
            return Path(*here.parts[: -len(parts)])
    return Path(os.getcwd()).resolve()


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a training manifest with its paths made absolute for this machine and location.

    Manifests record paths relative to the run's working directory (so a run can move); this
    resolves them against :func:`manifest_root` and records that directory as ``workdir``.

    Raises:
        ValueError: the manifest is missing or not JSON (naming it).
    """
    path = Path(path)
    m = _read_json(path, "manifest")
    root = manifest_root(path, m)

    def resolve(p: str) -> str:
        return p if Path(p).is_absolute() else str(root / p)

    for key in MANIFEST_PATH_KEYS:
        if isinstance(m.get(key), str):
            m[key] = resolve(m[key])
    for release in m.get("releases", []):
        release["checkpoint"] = resolve(release["checkpoint"])
    m["workdir"] = str(root)
    return m


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stage_names(train: TrainConfig, *, decay: bool) -> list[str]:
    """The stages of the chain, in training order."""
    names = [f"stage1_{i}" for i in range(len(train.sessions))]
    names += [f"stage2_{i}" for i in range(len(train.substages))]
    return names + (["decay"] if decay else [])


def _optimizer(train: TrainConfig) -> dict[str, float]:
    """AdamW settings of a spec (the same for every stage, SFT and DPO)."""
    keys = ("beta1", "beta2", "eps", "weight_decay", "grad_clip")
    return {k: getattr(train, k) for k in keys}


def _steps(tokens: float, tokens_per_step: int) -> int:
    return max(1, math.ceil(tokens / tokens_per_step))


def build_stage_spec(
    stage: str,
    *,
    model: ModelConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    options: TrainingOptions,
    accelerator: str,
    decay: dict[str, Any] | None,
    blend: Path,
    tokenizer: Path,
    manifest: Path,
    init_manifest: Path | None,
) -> StageSpec:
    """Resolve one stage of the chain into a :class:`StageSpec`.

    Args:
        stage: a name from :func:`stage_names`.
        model, parallel, train, options, accelerator: the validated config sections.
        decay: ``blends.decay`` (None when there is no decay stage).
        blend: the stage's blend file (``results/blends/<stage1|stage2_i|decay>.json``).
        tokenizer: ``results/tokenizer/tokenizer.json``.
        manifest: the stage's declared output.
        init_manifest: the previous stage's manifest (None for the first stage).

    Returns:
        The spec; ``run_dir`` is ``<options.checkpoint_dir>/<stage>``, made absolute.

    Raises:
        ValueError: an unknown stage or a missing starting manifest, naming it.
    """
    names = stage_names(train, decay=decay is not None)
    if stage not in names:
        raise ConfigError(f"stage '{stage}': not a stage of this config ({', '.join(names)})")
    tokens_per_step = train.global_batch_size * model.seq_length
    schedule: dict[str, Any]
    continue_data = False
    if stage.startswith("stage1_"):
        i = int(stage.split("_")[1])
        session = train.sessions[i]
        schedule = session_schedule(session, tokens_per_step)
        steps = schedule["total_steps"]
        description = f"stage-1 session {i} '{session.name}' ({session.schedule})"
        continue_data = i > 0
        # Every session reads the same dataset, so it is built for the whole of stage 1.
        num_samples = sum(_steps(s.tokens, tokens_per_step) for s in train.sessions)
        num_samples *= train.global_batch_size
    elif stage.startswith("stage2_"):
        i = int(stage.split("_")[1])
        sub = train.substages[i]
        steps = _steps(sub.tokens, tokens_per_step)
        schedule = dict(total_steps=steps, schedule="constant", lr_max=train.stage2_lr)
        description = f"stage-2 sub-stage {i} (STEM share {sub.stem_share:.0%})"
        num_samples = steps * train.global_batch_size
    else:
        assert decay is not None
        steps = _steps(float(decay["tokens"]), tokens_per_step)
        # WSD's decay phase (Index-1.9B): from the rate training stopped at down to 1 % of the
        # stage-1 peak, over the whole stage.
        peak = max(s.lr_max for s in train.sessions)
        start = train.stage2_lr if train.substages else train.sessions[-1].lr_max
        schedule = dict(
            total_steps=steps,
            schedule="wsd",
            lr_max=start,
            lr_min=min(0.01 * peak, start),
            warmup_steps=0,
            decay_fraction=1.0,
            decay_shape="sqrt",
        )
        description = "WSD decay stage (curated share raised)"
        num_samples = steps * train.global_batch_size
    init_hash = ""
    if init_manifest is not None:
        try:
            prev = json.loads(Path(init_manifest).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(
                f"stage '{stage}': starting manifest '{init_manifest}' not found"
            ) from None
        init_hash = f"{prev['config_hash']}@{prev['iteration']}"
    run_dir = Path(options.checkpoint_dir) / stage
    return StageSpec(
        stage=stage,
        description=description,
        workdir=str(Path.cwd()),
        run_dir=str(run_dir.resolve()),
        manifest=str(Path(manifest).resolve()),
        blend=str(Path(blend).resolve()),
        tokenizer=str(Path(tokenizer).resolve()),
        model=dataclasses.asdict(model),
        parallel=dataclasses.asdict(parallel),
        accelerator=accelerator,
        global_batch_size=train.global_batch_size,
        train_steps=steps,
        schedule=schedule,
        optimizer=_optimizer(train),
        num_train_samples=num_samples,
        seed=options.seed,
        eod_mask_loss=options.eod_mask_loss,
        log_interval_steps=options.log_interval_steps,
        eval_interval_steps=options.eval_interval_steps,
        eval_samples=options.eval_samples,
        save_interval_steps=options.save_interval_steps,
        keep_last_checkpoints=options.keep_last_checkpoints,
        keep_at_tokens=[float(t) for t in train.keep_checkpoints_at_tokens],
        init_manifest=str(Path(init_manifest).resolve()) if init_manifest else None,
        continue_data=continue_data,
        init_hash=init_hash,
        data_hash=file_sha256(blend)[:16] + file_sha256(tokenizer)[:16],
    )


def tracked_config(config: dict[str, Any], stage: str) -> dict[str, Any]:
    """What determines ``stage``'s weights besides its input files, from the validated config.

    The ``pretrain`` rule tracks exactly this (Snakemake reruns a job whose params changed), so
    a new stage-2 sub-stage or decay stage does not retrain stage 1: a stage's predecessors
    reach it through its inputs (the previous manifest, the blend), never through this dict.
    :meth:`StageSpec.config_hash` covers the spec fields resolved from these keys (less the
    parallel layout and the cluster, which a run may change and still resume).
    """
    t = config["train"]
    train: dict[str, Any] = {
        k: t.get(k) for k in ("global_batch_size", "optimizer", "seed", "eod_mask_loss")
    }
    if stage.startswith("stage1_"):
        # Every session shares one dataset sized for all of stage 1.
        train["stage1"] = t["stage1"]
    elif stage.startswith("stage2_"):
        train["stage2"] = {
            "lr": t["stage2"]["lr"],
            "substage": t["stage2"]["substages"][int(stage[7:])],
        }
    else:
        train["decay"] = config["blends"]["decay"]
        train["stage2_lr"] = t["stage2"]["lr"] if t["stage2"]["substages"] else None
        train["stage1_lr_max"] = [s["lr_max"] for s in t["stage1"]["sessions"]]
    return {
        "model": model_identity(config["model"]),
        "cluster": config["cluster"],
        "parallel": config["parallel"],
        "train": train,
    }


def align_tracked_config(config: dict[str, Any], section: str) -> dict[str, Any]:
    """What determines an SFT or DPO model besides its input files (what its rule tracks): the
    ``sft``/``dpo`` section less its data generator and ablation switch, the model, the parallel
    layout and the optimizer, batch and seed of ``train``."""
    d = {k: v for k, v in config[section].items() if k not in ("synthetic", "ablation")}
    t = config["train"]
    train = {k: t.get(k) for k in ("global_batch_size", "optimizer", "seed")}
    model = model_identity(config["model"])
    return {section: d, "model": model, "parallel": config["parallel"], "train": train}


ALIGN_KINDS = ("sft", "dpo")


def build_align_spec(
    name: str,
    kind: str,
    *,
    description: str,
    model: ModelConfig,
    parallel: ParallelConfig,
    train: TrainConfig,
    options: TrainingOptions,
    accelerator: str,
    section: dict[str, Any],
    data_files: dict[str, Path],
    num_train_samples: int,
    blend: Path,
    tokenizer: Path,
    manifest: Path,
    init_manifest: Path,
    load_optimizer: bool,
    stats: dict[str, Any] | None = None,
) -> StageSpec:
    """Resolve an SFT or DPO run into a :class:`StageSpec` for the same loop as pretraining.

    Args:
        name: the target (``sft``, ``sft_fresh_optimizer``, ``dpo``); also the run directory.
        kind: ``sft`` or ``dpo`` (the objective, :mod:`skyforge.train.objectives`).
        description: one line for logs and the manifest.
        model, parallel, train, options, accelerator: the validated config sections.
        section: the validated ``sft`` or ``dpo`` config section.
        data_files: role → file (``train``, ``heldout``, and for DPO ``reference``).
        num_train_samples: samples of one pass as the job will build them (packed SFT samples
            plus mixed-in pretraining samples; DPO pairs × epochs).
        blend: the blend of the stage it starts from (pretraining text and held-out domains).
        tokenizer, manifest, init_manifest: as for :func:`build_stage_spec`.
        load_optimizer: start from the previous optimizer state (False: fresh Adam moments).
        stats: data counts recorded in the spec and the manifest.

    Raises:
        ValueError: a missing starting manifest or data file, naming it.
    """
    from skyforge.core.io import workdir_relative

    if kind not in ALIGN_KINDS:
        raise ConfigError(f"kind '{kind}': not one of {ALIGN_KINDS}")
    gbs = section.get("global_batch_size") or train.global_batch_size
    steps = max(1, math.ceil(num_train_samples / gbs))
    warmup = int(round(section.get("warmup_fraction", 0.0) * steps))
    schedule: dict[str, Any] = dict(
        total_steps=steps,
        schedule=section.get("schedule", "constant"),
        lr_max=float(section["lr"]),
        warmup_steps=min(warmup, steps - 1),
    )
    if schedule["schedule"] == "cosine":
        schedule["lr_min"] = float(section.get("lr_min", 0.0))
    try:
        prev = json.loads(Path(init_manifest).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{name}: starting manifest '{init_manifest}' not found") from None
    hashes = {}
    for role, path in sorted(data_files.items()):
        if not Path(path).is_file():
            raise ValueError(f"{name}: {role} data file '{path}' not found")
        hashes[role] = file_sha256(path)[:16]
    task = {
        "section": section,
        # Relative to the working directory (when inside it): the hash must not change when
        # the run directory moves.
        "files": {role: workdir_relative(p) for role, p in data_files.items()},
        "file_hashes": hashes,
        "stats": stats or {},
    }
    return StageSpec(
        stage=name,
        description=description,
        workdir=str(Path.cwd()),
        run_dir=str((Path(options.checkpoint_dir) / name).resolve()),
        manifest=str(Path(manifest).resolve()),
        blend=str(Path(blend).resolve()),
        tokenizer=str(Path(tokenizer).resolve()),
        model=dataclasses.asdict(model),
        parallel=dataclasses.asdict(parallel),
        accelerator=accelerator,
        global_batch_size=gbs,
        train_steps=steps,
        schedule=schedule,
        optimizer=_optimizer(train),
        num_train_samples=num_train_samples,
        seed=options.seed,
        eod_mask_loss=False,
        log_interval_steps=options.log_interval_steps,
        eval_interval_steps=options.eval_interval_steps,
        eval_samples=options.eval_samples,
        save_interval_steps=options.save_interval_steps,
        keep_last_checkpoints=options.keep_last_checkpoints,
        keep_at_tokens=[],
        init_manifest=str(Path(init_manifest).resolve()),
        continue_data=False,
        init_hash=f"{prev['config_hash']}@{prev['iteration']}",
        data_hash=file_sha256(blend)[:16] + file_sha256(tokenizer)[:16],
        kind=kind,
        task=task,
        load_optimizer=load_optimizer,
    )


def continuation_spec(
    base_manifest: Path,
    stage: str,
    description: str,
    *,
    blend: Path,
    tokens: float,
    lr: float,
    run_dir: Path,
    manifest: Path,
) -> StageSpec:
    """A short extra stage that continues a manifest's model on another blend (the leaky
    control, the in-domain ablation): the base stage's spec with a new blend, a constant rate
    and its own run directory; the optimizer state is the base checkpoint's."""
    prev = load_manifest(base_manifest)
    base = StageSpec.from_manifest(prev)
    steps = max(1, math.ceil(tokens / base.tokens_per_step))
    return dataclasses.replace(
        base,
        stage=stage,
        description=description,
        workdir=str(Path.cwd()),
        run_dir=str(Path(run_dir).resolve()),
        manifest=str(Path(manifest).resolve()),
        blend=str(Path(blend).resolve()),
        train_steps=steps,
        schedule=dict(total_steps=steps, schedule="constant", lr_max=lr),
        num_train_samples=steps * base.global_batch_size,
        keep_at_tokens=[],
        init_manifest=str(Path(base_manifest).resolve()),
        continue_data=False,
        init_hash=f"{prev['config_hash']}@{prev['iteration']}",
        data_hash=file_sha256(blend)[:16] + file_sha256(base.tokenizer)[:16],
        eval_interval_steps=steps,
    )
