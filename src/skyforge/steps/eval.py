"""Steps of ``rules/eval.smk``: domain loss, benchmarks, contamination, layer cosine, ablation.

Every table takes its models as ``name=folder`` pairs (the rules build the list from
``eval.models`` and the DAG's own exports, so a user's model is a config line, not code) and its
data as ``name=file`` pairs. Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import JOB_FOLDER, RUN_JSON, arg, parse_pairs, path, run_sections, step

MODELS = arg("--models", nargs="+", required=True, help="name=HF folder (a row per model)")
DOMAINS = arg("--domains", nargs="+", required=True, help="name=JSONL file (a column each)")
DATA = arg("--data", nargs="+", required=True, help="task=directory")
MANIFEST_OUT = path("out", help="the manifest (declared output)")


def _models(args: argparse.Namespace) -> dict[str, Path]:
    return {k: Path(v) for k, v in parse_pairs(args.models, "models").items()}


def _tasks(args: argparse.Namespace, tasks: list[str]) -> dict[str, Path]:
    """The ``--data`` directories of the configured tasks."""
    return {t: Path(p) for t, p in parse_pairs(args.data, "data").items() if t in tasks}


def _benchmarks(models: dict[str, Path], data: dict[str, Path], out_dir: Path, b: dict) -> None:
    from skyforge.eval.benchmarks import evaluate_benchmarks  # deferred: lm-eval, torch

    evaluate_benchmarks(
        models,
        data,
        out_dir,
        num_fewshot=b["num_fewshot"],
        limit=b["limit"],
        batch_size=b["batch_size"],
        max_gen_tokens=b["max_gen_tokens"],
    )


def _run_training(spec: Any, name: str, cfg: dict, run: dict, args: argparse.Namespace) -> None:
    """Run an eval training job (leaky control, ablation) like a pretraining stage."""
    from skyforge.launch.jobs import run_job
    from skyforge.train.inputs import with_input_digests

    spec = with_input_digests(spec)
    run_job(
        Path(spec.run_dir).with_name(f"{name}.spec.json"),
        spec.to_json(),
        run=run,
        cluster=C.ClusterConfig.from_dict(cfg["cluster"]),
        job_name=f"{cfg['model']['name']}-{name}",
        job_folder=args.job_folder,
        output=args.out,
        inputs=spec.input_digests,
    )


def _run_dir(run: dict, name: str) -> Path:
    """Where an eval training job keeps its checkpoints: ``checkpoints.dir/<name>``."""
    return Path(run.get("checkpoints", {}).get("dir", "checkpoints")) / name


@step(
    "eval-domains",
    "held-out corpora → domain JSONL files",
    sections=("eval",),
    args=(path("heldout", many=True), path("out-dir")),
)
def eval_domains(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Held-out corpora → one JSONL domain file each (the default domains of the loss table)."""
    from skyforge.eval.domains import write_domain_files

    return write_domain_files(args.heldout, args.out_dir, cfg["eval"]["heldout_docs"])


@step(
    "eval-domain-loss",
    "normalised domain loss and PPL table",
    sections=("eval",),
    args=(MODELS, DOMAINS, path("reference-tokenizer"), path("out-dir")),
)
def eval_domain_loss(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Normalised loss / PPL of every model on every domain (Skywork's table)."""
    from skyforge.eval.domain_loss import domain_loss_table  # deferred: torch, transformers

    e = cfg["eval"]
    table = domain_loss_table(
        parse_pairs(args.models, "models"),
        parse_pairs(args.domains, "domains"),
        args.reference_tokenizer,
        args.out_dir,
        max_chars=e["max_chars"],
        batch_tokens=e["batch_tokens"],
    )
    return {"cells": len(table), "failed": int((table.status != "ok").sum())}


@step(
    "eval-benchmarks-data",
    "write the synthetic benchmarks",
    sections=("eval",),
    args=(path("out-dir"),),
)
def eval_benchmarks_data(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """The synthetic benchmark sets (C-Eval, CMMLU, MMLU, GSM8K layouts) of the default."""
    from skyforge.synthetic.benchmarks import write_synthetic_benchmarks

    return write_synthetic_benchmarks(args.out_dir, **cfg["eval"]["benchmarks"]["synthetic"])


@step(
    "eval-benchmarks",
    "C-Eval/CMMLU/MMLU/GSM8K through lm-eval",
    sections=("eval",),
    args=(MODELS, DATA, path("out-dir")),
)
def eval_benchmarks(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """C-Eval, CMMLU, MMLU and GSM8K through lm-eval, models × tasks."""
    b = cfg["eval"]["benchmarks"]
    _benchmarks(_models(args), _tasks(args, b["tasks"]), args.out_dir, b)


@step(
    "leaky-control",
    "train the contamination table's leaky control",
    sections=("model", "cluster", "eval"),
    args=(
        RUN_JSON,
        path("final-manifest"),
        path("blend"),
        path("test-file"),
        path("tokenizer"),
        MANIFEST_OUT,
        JOB_FOLDER,
    ),
)
def leaky_control(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train the leaky control: the final model on a blend that contains the test file."""
    from skyforge.eval.leaky import build_leaky_blend, leaky_spec

    c = cfg["eval"]["contamination"]
    run = run_sections(args)
    blend = build_leaky_blend(
        args.test_file, args.blend, args.tokenizer, Path(args.out).parent, share=c["leaky_share"]
    )
    spec = leaky_spec(
        args.final_manifest,
        blend,
        tokens=c["leaky_tokens"],
        lr=c["leaky_lr"],
        run_dir=_run_dir(run, "leaky_control"),
        manifest=args.out,
    )
    _run_training(spec, "leaky_control", cfg, run, args)
    return {"steps": spec.train_steps, "lr": c["leaky_lr"], "test_share": c["leaky_share"]}


@step(
    "contamination-summary",
    "data-side and model-side contamination in one table",
    args=(
        path("audit", help="results/data/audit/benchmarks.csv"),
        path("contamination", help="the model-side table (contamination.csv)"),
        path("out-dir"),
    ),
)
def contamination_summary(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Per benchmark: items found in the crawl before removal, beside each model's Δ1 / Δ2."""
    import pandas as pd

    from skyforge.core.tables import write_table
    from skyforge.reports.contamination import data_vs_model, render_data_vs_model

    table = data_vs_model(pd.read_csv(args.audit), pd.read_csv(args.contamination))
    write_table(args.out_dir, "data_vs_model", table, render_data_vs_model(table))
    return {"rows": len(table)}


@step(
    "eval-contamination",
    "GSM8K contamination table",
    sections=("eval",),
    args=(
        MODELS,
        arg("--control", default=None, help="display name of the leaky control"),
        *(path(s, help=f"GSM8K-format {s} file") for s in ("train", "test", "ref")),
        path("out-dir"),
    ),
)
def eval_contamination(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """L_train, L_test, L_ref, Δ1, Δ2 per model, with the leaky control row."""
    from skyforge.eval.contamination import contamination_table  # deferred: torch

    e = cfg["eval"]
    contamination_table(
        parse_pairs(args.models, "models"),
        {"train": args.train, "test": args.test, "ref": args.ref},
        args.out_dir,
        threshold=e["contamination"]["threshold"],
        control=args.control,
        batch_tokens=e["batch_tokens"],
    )


@step(
    "eval-layer-cosine",
    "layer input/output cosine heatmap",
    sections=("eval",),
    args=(MODELS, path("domains", many=True), path("out-dir")),
)
def eval_layer_cosine(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Cosine of each layer's input and output hidden states, layers × models."""
    from skyforge.eval.layer_cosine import domain_texts, layer_cosine_table  # deferred: torch

    e = cfg["eval"]
    texts = domain_texts(args.domains, e["max_chars"], e["layer_cosine_docs"])
    layer_cosine_table(parse_pairs(args.models, "models"), texts, args.out_dir)


@step(
    "ablation-train",
    "continue a stage-1 release on STEM only",
    sections=("model", "cluster", "train", "eval"),
    args=(
        RUN_JSON,
        path("stage-manifest", help="stage with the release"),
        path("blend", help="a blend holding the STEM pack"),
        MANIFEST_OUT,
        JOB_FOLDER,
    ),
)
def ablation_train(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """The in-domain ablation: a stage-1 release continued on the STEM pack alone."""
    from skyforge.eval.ablation import release_manifest, stem_only_blend
    from skyforge.train.spec import continuation_spec

    a = cfg["eval"]["ablation"]
    run = run_sections(args)
    out_dir = Path(args.out).parent
    start = out_dir / "start_manifest.json"
    release_manifest(args.stage_manifest, start, index=a["release"])
    blend = stem_only_blend(args.blend, out_dir / "stem_blend.json")
    lr = a["lr"] or cfg["train"]["stage2"]["lr"]
    spec = continuation_spec(
        start,
        "ablation_stem",
        "in-domain ablation: a stage-1 release continued on STEM only",
        blend=blend,
        tokens=a["tokens"],
        lr=lr,
        run_dir=_run_dir(run, "ablation_stem"),
        manifest=args.out,
    )
    _run_training(spec, "ablation_stem", cfg, run, args)
    return {"steps": spec.train_steps, "lr": lr, "start": str(start)}


@step(
    "eval-ablation",
    "in-domain ablation deltas",
    sections=("eval",),
    args=(
        path("before", help="HF folder of the release"),
        path("after", help="HF folder after STEM"),
        DOMAINS,
        DATA,
        path("reference-tokenizer"),
        path("out-dir"),
    ),
)
def eval_ablation(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """Domain losses and benchmarks of the release and its STEM continuation, and the deltas."""
    from skyforge.eval.ablation import ablation_table
    from skyforge.eval.domain_loss import domain_loss_table  # deferred: torch, transformers

    e = cfg["eval"]
    models = {"stage-1 release": args.before, "release + STEM": args.after}
    domain_loss_table(
        models,
        parse_pairs(args.domains, "domains"),
        args.reference_tokenizer,
        args.out_dir / "domain_loss",
        max_chars=e["max_chars"],
        batch_tokens=e["batch_tokens"],
    )
    b = e["benchmarks"]
    _benchmarks(models, _tasks(args, b["tasks"]), args.out_dir / "benchmarks", b)
    ablation_table(
        *models,
        args.out_dir / "domain_loss" / "domain_loss.csv",
        args.out_dir / "benchmarks" / "benchmarks.csv",
        args.out_dir,
    )
