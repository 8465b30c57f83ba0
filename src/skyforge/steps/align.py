"""Steps of ``rules/align.smk``: chat data, SFT, DPO (with its reference log-probs), generation.

``sft`` and ``dpo`` resolve a :class:`~skyforge.train.spec.StageSpec` and run it with
:func:`skyforge.launch.jobs.run_job`, the same dispatch and training loop as pretraining.
Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import JOB_FOLDER, RUN_JSON, arg, parse_pairs, path, run_sections, step

log = logging.getLogger("skyforge")

ALIGN_SECTIONS = ("model", "cluster", "parallel", "train")
JOB_ARGS = (RUN_JSON, path("tokenizer"), path("out", help="the declared output"), JOB_FOLDER)
DATA_ARGS = (path("train-file"), path("heldout-file"))


def _run(spec: Any, spec_path: Path, run: dict, layout: C.Layout, name: str, args, **kw) -> Any:
    """Run one job through the same dispatch as pretraining."""
    from skyforge.launch.jobs import run_job

    return run_job(
        spec_path,
        spec.to_json(),
        run=run,
        cluster=layout.cluster,
        job_name=f"{layout.model.name}-{name}",
        job_folder=args.job_folder,
        output=args.out,
        **kw,
    )


def _shape(layout: C.Layout) -> dict[str, Any]:
    return {
        "model": layout.model,
        "parallel": layout.parallel,
        "train": layout.train,
        "accelerator": layout.cluster.accelerator,
    }


@step(
    "chat-data",
    "write the synthetic SFT set and preference pairs",
    sections=("sft", "dpo"),
    args=(path("out-dir"),),
)
def chat_data(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Write the synthetic bilingual SFT set and preference pairs (the embedded default)."""
    from skyforge.synthetic.chat import write_preference_prompts, write_sft_set

    args.out_dir.mkdir(parents=True, exist_ok=True)
    s, p = cfg["sft"]["synthetic"], cfg["dpo"]["synthetic"]
    sft = write_sft_set(
        args.out_dir,
        seed=s["seed"],
        num_conversations=s["num_conversations"],
        heldout_fraction=s["heldout_fraction"],
    )
    pref = write_preference_prompts(
        args.out_dir,
        seed=p["seed"],
        num_pairs=p["num_pairs"],
        heldout_fraction=p["heldout_fraction"],
    )
    return {"sft": sft, "preferences": pref}


@step(
    "sft",
    "supervised fine-tuning from the final pretraining checkpoint",
    sections=(*ALIGN_SECTIONS, "sft"),
    args=(
        *JOB_ARGS,
        arg("--name", required=True, help="target name (run directory)"),
        arg(
            "--variant",
            choices=["config", "other"],
            default="config",
            help="other: the opposite of sft.load_optimizer_state (the ablation)",
        ),
        path("init-manifest"),
        path("blend", help="blend of the starting stage"),
        *DATA_ARGS,
    ),
)
def sft(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune the final pretraining checkpoint on conversations (submitit job)."""
    from skyforge.train.inputs import with_input_digests
    from skyforge.train.objectives.sft import prepare
    from skyforge.train.spec import TrainingOptions

    run = run_sections(args)
    layout = C.Layout.from_dict(cfg)
    section = cfg["sft"]
    load_optimizer = section["load_optimizer_state"]
    if args.variant == "other":
        load_optimizer = not load_optimizer
    # The data are read, encoded and counted once (the spec knows its steps); the job reads them.
    spec = prepare(
        args.name,
        **_shape(layout),
        options=TrainingOptions.from_config({**run, "train": cfg["train"]}),
        section=section,
        files={"train": args.train_file, "heldout": args.heldout_file},
        blend=args.blend,
        tokenizer=args.tokenizer,
        manifest=args.out,
        init_manifest=args.init_manifest,
        load_optimizer=load_optimizer,
    )
    stats = spec.task["stats"]
    log.info(
        "sft %s: %s; %d conversations → %d packed samples + %d pretraining samples "
        "(%d pretraining : %d response tokens = %.3f), %d steps, run dir %s",
        args.name,
        spec.description,
        stats["conversations"],
        stats["sft_samples"],
        stats["pretrain_samples"],
        stats["pretrain_tokens"],
        stats["response_tokens"],
        stats["pretrain_to_response"],
        spec.train_steps,
        spec.run_dir,
    )
    for split, summary in stats["skipped"].items():
        log.warning("sft %s: %s", split, json.dumps(summary))
    spec_path = Path(spec.run_dir).with_name(f"{spec.stage}.spec.json")
    spec = with_input_digests(spec)
    result = _run(spec, spec_path, run, layout, args.name, args, inputs=spec.input_digests)
    return result["final_metrics"]


@step(
    "dpo-reference-logprobs",
    "reference log-probs of the SFT model",
    sections=(*ALIGN_SECTIONS, "dpo"),
    args=(*JOB_ARGS, path("sft-manifest"), *DATA_ARGS),
)
def dpo_reference_logprobs(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Summed log-probs of every pair's chosen and rejected response under the SFT model."""
    from skyforge.train.inputs import input_digests
    from skyforge.train.objectives.dpo import ReferenceSpec

    run = run_sections(args)
    layout = C.Layout.from_dict(cfg)
    checkpoint_dir = Path(run.get("checkpoints", {}).get("dir", "checkpoints"))
    spec = ReferenceSpec(
        workdir=str(Path.cwd()),
        sft_manifest=str(Path(args.sft_manifest).resolve()),
        tokenizer=str(Path(args.tokenizer).resolve()),
        files={
            "train": str(Path(args.train_file).resolve()),
            "heldout": str(Path(args.heldout_file).resolve()),
        },
        output=str(Path(args.out).resolve()),
        seq_length=cfg["model"]["seq_length"],
        micro_batch_size=cfg["parallel"]["micro_batch_size"],
    )
    spec_path = (checkpoint_dir / "dpo_reference.spec.json").resolve()
    entry = "skyforge.train.reference:reference_logprobs_job"
    inputs = input_digests([spec.sft_manifest, spec.tokenizer, *spec.files.values()])
    return _run(spec, spec_path, run, layout, "dpo-reference", args, entry=entry, inputs=inputs)


@step(
    "dpo",
    "DPO from the SFT model (sigmoid loss)",
    sections=(*ALIGN_SECTIONS, "dpo"),
    args=(*JOB_ARGS, path("sft-manifest"), path("reference"), path("blend"), *DATA_ARGS),
)
def dpo(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train DPO from the SFT model against the precomputed reference log-probs."""
    from skyforge.train.inputs import with_input_digests
    from skyforge.train.objectives.dpo import prepare
    from skyforge.train.spec import TrainingOptions

    run = run_sections(args)
    layout = C.Layout.from_dict(cfg)
    # The pairs and their reference log-probs are read once (a stale table fails here).
    spec = prepare(
        "dpo",
        **_shape(layout),
        options=TrainingOptions.from_config({**run, "train": cfg["train"]}),
        section=cfg["dpo"],
        files={"train": args.train_file, "heldout": args.heldout_file},
        reference=args.reference,
        blend=args.blend,
        tokenizer=args.tokenizer,
        manifest=args.out,
        init_manifest=args.sft_manifest,
    )
    counts = spec.task["stats"]
    log.info(
        "dpo: %s; %d train pairs, %d held-out, %d steps, run dir %s",
        spec.description,
        counts["train"]["pairs"],
        counts["heldout"]["pairs"],
        spec.train_steps,
        spec.run_dir,
    )
    spec_path = Path(spec.run_dir).with_name(f"{spec.stage}.spec.json")
    spec = with_input_digests(spec)
    result = _run(spec, spec_path, run, layout, "dpo", args, inputs=spec.input_digests)
    return result["final_metrics"]


@step(
    "refusals",
    "the SFT model's replies to the safety prompts",
    sections=("generate",),
    args=(path("model", help="the SFT model's HF export"), path("prompts"), path("out")),
)
def refusals(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """The SFT model's own replies to the safety prompts (greedy), for DPO's chosen side."""
    from skyforge.train.generate import read_prompts, write_replies

    options = C.GenerateConfig.from_dict({**cfg["generate"], "temperature": 0.0})
    rows = read_prompts(args.prompts)
    n = write_replies({"model_dir": args.model}, rows, options, args.out, with_prompt=False)
    return {"replies": n}


@step(
    "preference-data",
    "complete the safety pairs",
    args=(path("safety-prompts"), path("refusals"), path("out-dir")),
)
def preference_data(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Complete the safety pairs with the SFT model's refusals (fallback: written ones)."""
    from skyforge.synthetic.chat import complete_safety_pairs
    from skyforge.train.generate import read_replies

    return complete_safety_pairs(args.safety_prompts, read_replies(args.refusals), args.out_dir)


@step(
    "generate",
    "chat replies from an HF export or a manifest",
    args=(
        arg("--model", type=Path, help="an HF model folder (an export)"),
        arg("--manifest", type=Path, help="a training manifest (exported on the fly)"),
        arg("--tokenizer-dir", type=Path, help="with --manifest: results/tokenizer"),
        arg("--prompt", action="append", default=[], help="a user prompt (repeatable)"),
        arg("--prompts-file", type=Path, help="JSONL rows with 'prompt' (messages)"),
        arg("--max-new-tokens", type=int, help="default: the schema's generate.max_new_tokens"),
        arg("--temperature", type=float, help="0 = greedy; default: generate.temperature"),
        arg("--top-p", type=float, help="default: the schema's generate.top_p"),
        arg("--seed", type=int, help="default: the schema's generate.seed"),
        arg("--out", type=Path, default=None, help="JSONL (default: stdout)"),
    ),
)
def generate(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Decode replies to prompts with an HF export or a manifest (greedy or sampled)."""
    from skyforge.train.generate import read_prompts, write_replies

    if (args.model is None) == (args.manifest is None):
        raise ValueError("generate: give exactly one of --model and --manifest")
    given = {k: getattr(args, k) for k in ("max_new_tokens", "temperature", "top_p", "seed")}
    options = C.GenerateConfig.with_defaults(**{k: v for k, v in given.items() if v is not None})
    if args.prompts_file:
        rows = read_prompts(args.prompts_file)
    else:
        rows = [
            {"id": str(i), "prompt": [{"role": "user", "content": p}]}
            for i, p in enumerate(args.prompt)
        ]
    model_args = {
        "model_dir": args.model,
        "manifest": args.manifest,
        "tokenizer_dir": args.tokenizer_dir,
    }
    write_replies(model_args, rows, options, args.out, with_prompt=True)


@step(
    "samples",
    "every model's replies to the configured prompts",
    sections=("generate",),
    args=(arg("--models", nargs="+", required=True, help="name=HF folder"), path("out-dir")),
)
def samples(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Every model's replies to the same prompts (the report's samples table)."""
    from skyforge.reports.align import write_samples

    write_samples(
        parse_pairs(args.models, "models"),
        C.GenerateConfig.from_dict(cfg["generate"]),
        args.out_dir,
    )


@step(
    "align-report",
    "SFT and DPO curves",
    args=(
        path("manifests", many=True),
        arg("--preference-stats", type=Path, default=None),
        path("out-dir"),
    ),
)
def align_report(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """SFT and DPO curves and the summary table."""
    from skyforge.reports.align import write_align_report

    write_align_report(args.manifests, args.out_dir, preference_stats=args.preference_stats)
