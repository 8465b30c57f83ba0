"""CLI sub-commands of the eval tables (``python -m skyforge.cli eval-...``).

Thin glue between argparse and :mod:`skyforge.eval`: every table takes its models as
``name=folder`` pairs (the rules build the list from ``eval.models`` and the DAG's own exports,
so a user's model is a config line, not code) and its data as ``name=file`` pairs.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyforge import config as C

log = logging.getLogger("skyforge")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--{what} {item!r}: expected name=path")
        out[name] = path
    return out


def cmd_eval_domains(args: argparse.Namespace, load: Callable) -> int:
    """Held-out corpora → one JSONL domain file each (the default domains of the loss table)."""
    import pyarrow.parquet as pq

    from skyforge.core.io import atomic_write_text

    d = load(args, ("eval",))
    n = d["eval"]["heldout_docs"]
    by_corpus: dict[str, list[str]] = {}
    for path in sorted(args.heldout):
        corpus = Path(path).parent.parent.name  # results/corpora/<corpus>/heldout/<shard>
        by_corpus.setdefault(corpus, [])
        by_corpus[corpus] += pq.read_table(path, columns=["text"]).column("text").to_pylist()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for corpus, texts in by_corpus.items():
        texts = [t for t in texts if t.strip()][:n]
        lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
        atomic_write_text(args.out_dir / f"{corpus}.jsonl", "\n".join(lines) + "\n")
        log.info("eval-domains: %s: %d documents", corpus, len(lines))
    return 0


def cmd_eval_domain_loss(args: argparse.Namespace, load: Callable) -> int:
    """Normalised loss / PPL of every model on every domain (Skywork's table)."""
    from skyforge.eval.domain_loss import domain_loss_table

    e = load(args, ("eval",))["eval"]
    table = domain_loss_table(
        _pairs(args.models, "models"), _pairs(args.domains, "domains"),
        args.reference_tokenizer, args.out_dir, max_chars=e["max_chars"],
        batch_tokens=e["batch_tokens"],
    )  # fmt: skip
    failed = int((table.status != "ok").sum())
    log.info("eval-domain-loss: %d cells, %d failed", len(table), failed)
    return 0


def cmd_eval_benchmarks_data(args: argparse.Namespace, load: Callable) -> int:
    """The synthetic benchmark sets (C-Eval, CMMLU, MMLU, GSM8K layouts) of the default."""
    from skyforge.eval.benchmarks import write_synthetic_benchmarks

    s = load(args, ("eval",))["eval"]["benchmarks"]["synthetic"]
    counts = write_synthetic_benchmarks(args.out_dir, **s)
    log.info("eval-benchmarks-data: %s", json.dumps(counts))
    return 0


def cmd_eval_benchmarks(args: argparse.Namespace, load: Callable) -> int:
    """C-Eval, CMMLU, MMLU and GSM8K through lm-eval, models × tasks."""
    from skyforge.eval.benchmarks import evaluate_benchmarks

    b = load(args, ("eval",))["eval"]["benchmarks"]
    data = _pairs(args.data, "data")
    data = {t: Path(p) for t, p in data.items() if t in b["tasks"]}
    evaluate_benchmarks(
        {k: Path(v) for k, v in _pairs(args.models, "models").items()}, data, args.out_dir,
        num_fewshot=b["num_fewshot"], limit=b["limit"], batch_size=b["batch_size"],
        max_gen_tokens=b["max_gen_tokens"],
    )  # fmt: skip
    return 0


def cmd_leaky_control(args: argparse.Namespace, load: Callable) -> int:
    """Train the leaky control: the final model on a blend that contains the test file."""
    from skyforge.eval.leaky import build_leaky_blend, leaky_spec

    d = load(args, ("model", "cluster", "eval"))
    c = d["eval"]["contamination"]
    run = _run_json(args)
    out_dir = Path(args.out).parent
    blend = build_leaky_blend(args.test_file, args.blend, args.tokenizer, out_dir,
                              share=c["leaky_share"])  # fmt: skip
    spec = leaky_spec(args.final_manifest, blend, tokens=c["leaky_tokens"], lr=c["leaky_lr"],
                      run_dir=_run_dir(run, "leaky_control"), manifest=args.out)  # fmt: skip
    log.info("leaky-control: %d steps at lr %g, %.0f%% of the blend is the test file",
             spec.train_steps, c["leaky_lr"], 100 * c["leaky_share"])  # fmt: skip
    _dispatch(spec, "leaky_control", run, d, args)
    return 0


def _run_dir(run: dict, name: str) -> Path:
    """Where an eval training job keeps its checkpoints: ``checkpoints.dir/<name>``."""
    return Path(run.get("checkpoints", {}).get("dir", "checkpoints")) / name


def _dispatch(spec: Any, name: str, run: dict, d: dict, args: argparse.Namespace) -> None:
    """Submit an eval training job (leaky control, ablation) like a pretraining stage."""
    from skyforge.train.steps import dispatch_job

    dispatch_job(
        Path(spec.run_dir).with_name(f"{name}.spec.json"), spec.to_json(), run=run,
        cluster=C.ClusterConfig.from_dict(d["cluster"]),
        job_name=f"{d['model']['name']}-{name}", job_folder=args.job_folder, output=args.out,
    )  # fmt: skip


def cmd_eval_contamination(args: argparse.Namespace, load: Callable) -> int:
    """L_train, L_test, L_ref, Δ1, Δ2 per model, with the leaky control row."""
    from skyforge.eval.contamination import contamination_table

    e = load(args, ("eval",))["eval"]
    table = contamination_table(
        _pairs(args.models, "models"), {"train": args.train, "test": args.test, "ref": args.ref},
        args.out_dir, threshold=e["contamination"]["threshold"], control=args.control,
        batch_tokens=e["batch_tokens"],
    )  # fmt: skip
    log.info("eval-contamination:\n%s", table.to_string())
    return 0


def cmd_eval_layer_cosine(args: argparse.Namespace, load: Callable) -> int:
    """Cosine of each layer's input and output hidden states, layers × models."""
    from skyforge.eval.domain_loss import read_domain_file
    from skyforge.eval.layer_cosine import layer_cosine_table

    e = load(args, ("eval",))["eval"]
    texts: list[str] = []
    per_file = max(1, e["layer_cosine_docs"] // max(1, len(args.domains)))
    for path in args.domains:
        texts += read_domain_file(path, e["max_chars"])[:per_file]
    layer_cosine_table(_pairs(args.models, "models"), texts, args.out_dir)
    return 0


def _run_json(args: argparse.Namespace) -> dict:
    try:
        run = json.loads(args.run_json) if args.run_json else {}
    except json.JSONDecodeError as exc:
        raise C.ConfigError(f"--run-json: not valid JSON ({exc.msg})") from None
    return C.validate_sections(run, ("monitoring", "checkpoints", "launch")) if run else {}


def cmd_ablation_train(args: argparse.Namespace, load: Callable) -> int:
    """The in-domain ablation: a stage-1 release continued on the STEM pack alone."""
    from skyforge.eval.ablation import release_manifest, stem_only_blend
    from skyforge.train.spec import continuation_spec

    d = load(args, ("model", "cluster", "train", "eval"))
    a = d["eval"]["ablation"]
    run = _run_json(args)
    out_dir = Path(args.out).parent
    start = out_dir / "start_manifest.json"
    release_manifest(args.stage_manifest, start, index=a["release"])
    blend = stem_only_blend(args.blend, out_dir / "stem_blend.json")
    lr = a["lr"] or d["train"]["stage2"]["lr"]
    spec = continuation_spec(
        start, "ablation_stem", "in-domain ablation: a stage-1 release continued on STEM only",
        blend=blend, tokens=a["tokens"], lr=lr, run_dir=_run_dir(run, "ablation_stem"),
        manifest=args.out,
    )  # fmt: skip
    log.info("ablation: %d steps of STEM only at lr %g from %s", spec.train_steps, lr, start)
    _dispatch(spec, "ablation_stem", run, d, args)
    return 0


def cmd_eval_ablation(args: argparse.Namespace, load: Callable) -> int:
    """Domain losses and benchmarks of the release and its STEM continuation, and the deltas."""
    from skyforge.eval.ablation import ablation_table
    from skyforge.eval.benchmarks import evaluate_benchmarks
    from skyforge.eval.domain_loss import domain_loss_table

    e = load(args, ("eval",))["eval"]
    b = e["benchmarks"]
    models = {"stage-1 release": args.before, "release + STEM": args.after}
    domain_loss_table(models, _pairs(args.domains, "domains"), args.reference_tokenizer,
                      args.out_dir / "domain_loss", max_chars=e["max_chars"],
                      batch_tokens=e["batch_tokens"])  # fmt: skip
    data = {t: Path(p) for t, p in _pairs(args.data, "data").items() if t in b["tasks"]}
    evaluate_benchmarks({k: Path(v) for k, v in models.items()}, data,
                        args.out_dir / "benchmarks", num_fewshot=b["num_fewshot"],
                        limit=b["limit"], batch_size=b["batch_size"],
                        max_gen_tokens=b["max_gen_tokens"])  # fmt: skip
    table = ablation_table(*models, args.out_dir / "domain_loss" / "domain_loss.csv",
                           args.out_dir / "benchmarks" / "benchmarks.csv", args.out_dir)
    log.info("eval-ablation:\n%s", table.to_string())
    return 0


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the eval sub-commands (``add`` from :func:`skyforge.cli.step_adder`)."""
    models = {"nargs": "+", "required": True, "help": "name=HF folder (a row per model)"}

    p = add("eval-domains", cmd_eval_domains, "held-out corpora → domain JSONL files")
    p.add_argument("--heldout", type=Path, nargs="+", required=True)
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("eval-domain-loss", cmd_eval_domain_loss, "normalised domain loss and PPL table")
    p.add_argument("--models", **models)
    p.add_argument("--domains", nargs="+", required=True, help="name=JSONL file (a column each)")
    p.add_argument("--reference-tokenizer", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("eval-benchmarks-data", cmd_eval_benchmarks_data, "write the synthetic benchmarks")
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("eval-benchmarks", cmd_eval_benchmarks, "C-Eval/CMMLU/MMLU/GSM8K through lm-eval")
    p.add_argument("--models", **models)
    p.add_argument("--data", nargs="+", required=True, help="task=directory")
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("leaky-control", cmd_leaky_control, "train the contamination table's leaky control")
    p.add_argument("--run-json", help="monitoring, checkpoints and launch sections, as JSON")
    p.add_argument("--final-manifest", type=Path, required=True)
    p.add_argument("--blend", type=Path, required=True)
    p.add_argument("--test-file", type=Path, required=True)
    p.add_argument("--tokenizer", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="the manifest (declared output)")
    p.add_argument("--job-folder", type=Path, required=True)

    p = add("ablation-train", cmd_ablation_train, "continue a stage-1 release on STEM only")
    p.add_argument("--run-json", help="monitoring, checkpoints and launch sections, as JSON")
    p.add_argument("--stage-manifest", type=Path, required=True, help="stage with the release")
    p.add_argument("--blend", type=Path, required=True, help="a blend holding the STEM pack")
    p.add_argument("--out", type=Path, required=True, help="the manifest (declared output)")
    p.add_argument("--job-folder", type=Path, required=True)

    p = add("eval-ablation", cmd_eval_ablation, "in-domain ablation deltas")
    p.add_argument("--before", type=Path, required=True, help="HF folder of the release")
    p.add_argument("--after", type=Path, required=True, help="HF folder after STEM")
    p.add_argument("--domains", nargs="+", required=True, help="name=JSONL file")
    p.add_argument("--data", nargs="+", required=True, help="task=directory")
    p.add_argument("--reference-tokenizer", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("eval-contamination", cmd_eval_contamination, "GSM8K contamination table")
    p.add_argument("--models", **models)
    p.add_argument("--control", default=None, help="display name of the leaky control")
    for split in ("train", "test", "ref"):
        p.add_argument(f"--{split}", type=Path, required=True, help=f"GSM8K-format {split} file")
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("eval-layer-cosine", cmd_eval_layer_cosine, "layer input/output cosine heatmap")
    p.add_argument("--models", **models)
    p.add_argument("--domains", type=Path, nargs="+", required=True)
    p.add_argument("--out-dir", type=Path, required=True)
