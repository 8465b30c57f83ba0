"""CLI sub-commands after pretraining: SFT, DPO (with its reference log-probs), generation.

Thin glue like :mod:`skyforge.train.steps`: ``sft`` and ``dpo`` resolve a
:class:`~skyforge.train.spec.StageSpec` (the data are read and counted here, so the step count
is known before a job starts) and hand it to the same submitit dispatch and the same training
loop as pretraining (job record and re-attach, requeue on signal, dist_checkpointing resume,
manifest written last). ``dpo-reference-logprobs`` dispatches the frozen SFT model's scoring
job; ``generate`` decodes with an HF export; ``chat-data`` and ``preference-data`` write the
embedded default's synthetic conversations and pairs; ``align-report`` draws the curves.
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

ALIGN_SECTIONS = ("model", "cluster", "parallel", "train")
RUN_SECTIONS = ("monitoring", "checkpoints", "launch")


def _run_sections(args: argparse.Namespace) -> dict[str, Any]:
    try:
        run = json.loads(args.run_json) if args.run_json else {}
    except json.JSONDecodeError as exc:
        raise C.ConfigError(f"--run-json: not valid JSON ({exc.msg})") from None
    return C.validate_sections(run, RUN_SECTIONS) if run else {}


def _dispatch(spec_path: Path, spec_json: str, run: dict, d: dict, name: str, args, **kw) -> Any:
    """Run one job through the same dispatch as pretraining (see ``dispatch_job``)."""
    from skyforge.train.steps import dispatch_job

    return dispatch_job(
        spec_path, spec_json, run=run, cluster=C.ClusterConfig.from_dict(d["cluster"]),
        job_name=f"{d['model']['name']}-{name}", job_folder=args.job_folder, output=args.out,
        **kw,
    )  # fmt: skip


def _configs(d: dict) -> dict[str, Any]:
    model = C.ModelConfig.from_dict(d["model"])
    cluster = C.ClusterConfig.from_dict(d["cluster"])
    parallel = C.ParallelConfig.from_dict(d["parallel"])
    train = C.TrainConfig.from_dict(d["train"])
    C.check_layout(model, cluster, parallel, train)
    return dict(model=model, parallel=parallel, train=train, accelerator=cluster.accelerator)


def cmd_sft(args: argparse.Namespace, load: Callable) -> int:
    """Fine-tune the final pretraining checkpoint on conversations (submitit job)."""
    from skyforge.tokenize.tokenizer import load_tokenizer
    from skyforge.train.chat import ChatFormat
    from skyforge.train.sft import SFTDataset, encode_conversations, read_sft_file
    from skyforge.train.spec import TrainingOptions, build_align_spec

    d = load(args, (*ALIGN_SECTIONS, "sft"))
    run = _run_sections(args)
    cfg = _configs(d)
    section = d["sft"]
    load_optimizer = section["load_optimizer_state"]
    if args.variant == "other":
        load_optimizer = not load_optimizer
    seq = cfg["model"].seq_length
    tok = load_tokenizer(args.tokenizer)
    fmt = ChatFormat(tok)
    options = TrainingOptions.from_config({**run, "train": d["train"]})
    # Counted here exactly as the job will build it, so the spec knows its steps.
    reports, data = {}, {}
    for split, path in (("train", args.train_file), ("heldout", args.heldout_file)):
        reports[split] = read_sft_file(path)
        data[split] = encode_conversations(reports[split], fmt, seq)
    pad = tok.pad if tok.pad is not None else tok.eod
    ds = SFTDataset(
        data["train"], seq_length=seq, eod=tok.eod, pad=pad, epochs=section["epochs"],
        seed=options.seed, pretrain=None, pretrain_ratio=section["pretrain_ratio"],
    )  # fmt: skip
    stats = {
        **ds.stats(),
        "skipped": {s: r.summary() for s, r in reports.items() if r.skipped},
    }
    spec = build_align_spec(
        args.name, "sft", **cfg, options=options, section=section,
        data_files={"train": args.train_file, "heldout": args.heldout_file},
        num_train_samples=len(ds), blend=args.blend, tokenizer=args.tokenizer,
        manifest=args.out, init_manifest=args.init_manifest, load_optimizer=load_optimizer,
        stats=stats,
    )  # fmt: skip
    log.info(
        "sft %s: %s; %d conversations → %d packed samples + %d pretraining samples "
        "(%d pretraining : %d response tokens = %.3f), %d steps, run dir %s",
        args.name, spec.description, stats["conversations"], stats["sft_samples"],
        stats["pretrain_samples"], stats["pretrain_tokens"], stats["response_tokens"],
        stats["pretrain_to_response"], spec.train_steps, spec.run_dir,
    )  # fmt: skip
    for split, r in reports.items():
        if r.skipped:
            log.warning("sft %s: %s", split, json.dumps(r.summary()))
    spec_path = Path(spec.run_dir).with_name(f"{spec.stage}.spec.json")
    result = _dispatch(spec_path, spec.to_json(), run, d, args.name, args)
    log.info("sft %s: final metrics %s", args.name, json.dumps(result["final_metrics"]))
    return 0


def cmd_dpo_reference(args: argparse.Namespace, load: Callable) -> int:
    """Summed log-probs of every pair's chosen and rejected response under the SFT model."""
    from skyforge.train.dpo import ReferenceSpec

    d = load(args, (*ALIGN_SECTIONS, "dpo"))
    run = _run_sections(args)
    _configs(d)
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
        seq_length=d["model"]["seq_length"],
        micro_batch_size=d["parallel"]["micro_batch_size"],
    )
    spec_path = (checkpoint_dir / "dpo_reference.spec.json").resolve()
    result = _dispatch(
        spec_path, spec.to_json(), run, d, "dpo-reference", args,
        entry="skyforge.train.dpo:reference_logprobs_job",
    )  # fmt: skip
    log.info("dpo-reference-logprobs: %s", json.dumps(result))
    return 0


def cmd_dpo(args: argparse.Namespace, load: Callable) -> int:
    """Train DPO from the SFT model against the precomputed reference log-probs."""
    from skyforge.train.dpo import load_pairs, read_reference
    from skyforge.train.spec import TrainingOptions, build_align_spec

    d = load(args, (*ALIGN_SECTIONS, "dpo"))
    run = _run_sections(args)
    cfg = _configs(d)
    section = d["dpo"]
    seq = cfg["model"].seq_length
    counts = {}
    for split, path in (("train", args.train_file), ("heldout", args.heldout_file)):
        report, pairs, _ = load_pairs(path, args.tokenizer, seq)
        read_reference(args.reference, split, len(pairs))  # fails early on a stale table
        counts[split] = {"pairs": len(pairs), **report.summary()}
    options = TrainingOptions.from_config({**run, "train": d["train"]})
    spec = build_align_spec(
        "dpo", "dpo", **cfg, options=options, section=section,
        data_files={
            "train": args.train_file, "heldout": args.heldout_file, "reference": args.reference,
        },
        num_train_samples=counts["train"]["pairs"] * section["epochs"], blend=args.blend,
        tokenizer=args.tokenizer, manifest=args.out, init_manifest=args.sft_manifest,
        load_optimizer=False, stats=counts,
    )  # fmt: skip
    log.info(
        "dpo: %s; %d train pairs, %d held-out, %d steps, run dir %s", spec.description,
        counts["train"]["pairs"], counts["heldout"]["pairs"], spec.train_steps, spec.run_dir,
    )  # fmt: skip
    spec_path = Path(spec.run_dir).with_name(f"{spec.stage}.spec.json")
    result = _dispatch(spec_path, spec.to_json(), run, d, "dpo", args)
    log.info("dpo: final metrics %s", json.dumps(result["final_metrics"]))
    return 0


def cmd_chat_data(args: argparse.Namespace, load: Callable) -> int:
    """Write the synthetic bilingual SFT set and preference pairs (the embedded default)."""
    from skyforge.synthetic.chat import write_preference_prompts, write_sft_set

    d = load(args, ("sft", "dpo"))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    s, p = d["sft"]["synthetic"], d["dpo"]["synthetic"]
    sft = write_sft_set(
        args.out_dir, seed=s["seed"], num_conversations=s["num_conversations"],
        heldout_fraction=s["heldout_fraction"],
    )  # fmt: skip
    pref = write_preference_prompts(
        args.out_dir, seed=p["seed"], num_pairs=p["num_pairs"],
        heldout_fraction=p["heldout_fraction"],
    )  # fmt: skip
    log.info("chat-data: SFT %s; preferences %s", json.dumps(sft), json.dumps(pref))
    return 0


def _decode_to_file(model_args: dict, rows: list[dict], options: Any, out: Path | None,
                    *, with_prompt: bool) -> int:  # fmt: skip
    """Decode a reply to each row's prompt and write them as JSONL (stdout without ``out``)."""
    from skyforge.core.io import atomic_write_text
    from skyforge.train.generate import generate_replies, load_chat_model

    if not rows:
        raise ValueError("generate: no prompt given (--prompt or --prompts-file)")
    model, tokenizer = load_chat_model(**model_args)
    replies = generate_replies(model, tokenizer, [r["prompt"] for r in rows], options)
    lines = [
        json.dumps({"id": r["id"], **({"prompt": r["prompt"]} if with_prompt else {}), **rep},
                   ensure_ascii=False)
        for r, rep in zip(rows, replies, strict=True)
    ]  # fmt: skip
    if out is None:
        print("\n".join(lines))
    else:
        atomic_write_text(out, "\n".join(lines) + "\n")
    return len(lines)


def cmd_refusals(args: argparse.Namespace, load: Callable) -> int:
    """The SFT model's own replies to the safety prompts (greedy), for DPO's chosen side."""
    from skyforge.train.generate import DecodeOptions, read_prompts

    d = load(args, ("generate",))
    options = DecodeOptions.from_dict({**d["generate"], "temperature": 0.0})
    n = _decode_to_file({"model_dir": args.model}, read_prompts(args.prompts), options, args.out,
                        with_prompt=False)  # fmt: skip
    log.info("refusals: %d replies written to %s", n, args.out)
    return 0


def cmd_preference_data(args: argparse.Namespace, load: Callable) -> int:
    """Complete the safety pairs with the SFT model's refusals (fallback: written ones)."""
    from skyforge.synthetic.chat import complete_safety_pairs

    refusals = {}
    with open(args.refusals, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                refusals[row["id"]] = row["reply"]
    counts = complete_safety_pairs(args.safety_prompts, refusals, args.out_dir)
    log.info("preference-data: %s", json.dumps(counts))
    if args.stats:
        from skyforge.core.io import atomic_write_text

        atomic_write_text(args.stats, json.dumps(counts, indent=2) + "\n")
    return 0


def cmd_generate(args: argparse.Namespace, load: Callable) -> int:
    """Decode replies to prompts with an HF export or a manifest (greedy or sampled)."""
    from skyforge.train.generate import DecodeOptions, read_prompts

    options = DecodeOptions(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
        seed=args.seed,
    )  # fmt: skip
    if args.prompts_file:
        rows = read_prompts(args.prompts_file)
    else:
        rows = [{"id": str(i), "prompt": [{"role": "user", "content": p}]}
                for i, p in enumerate(args.prompt)]  # fmt: skip
    model_args = {"model_dir": args.model, "manifest": args.manifest,
                  "tokenizer_dir": args.tokenizer_dir}  # fmt: skip
    _decode_to_file(model_args, rows, options, args.out, with_prompt=True)
    return 0


def cmd_samples(args: argparse.Namespace, load: Callable) -> int:
    """Every model's replies to the same prompts (the report's samples table)."""
    from skyforge.reports.align import write_samples

    d = load(args, ("generate",))
    models = dict(item.split("=", 1) for item in args.models)
    write_samples(models, d["generate"], args.out_dir)
    return 0


def cmd_align_report(args: argparse.Namespace, load: Callable) -> int:
    """SFT and DPO curves and the summary table."""
    from skyforge.reports.align import write_align_report

    write_align_report(args.manifests, args.out_dir, preference_stats=args.preference_stats)
    return 0


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the SFT/DPO sub-commands (``add`` from :func:`skyforge.cli.step_adder`)."""

    def job_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--run-json", help="monitoring, checkpoints and launch sections, as JSON")
        p.add_argument("--tokenizer", type=Path, required=True)
        p.add_argument("--out", type=Path, required=True, help="the declared output")
        p.add_argument("--job-folder", type=Path, required=True, help="submitit logs")

    p = add("sft", cmd_sft, "supervised fine-tuning from the final pretraining checkpoint")
    job_args(p)
    p.add_argument("--name", required=True, help="target name (run directory)")
    p.add_argument("--variant", choices=["config", "other"], default="config",
                   help="other: the opposite of sft.load_optimizer_state (the ablation)")
    p.add_argument("--init-manifest", type=Path, required=True)
    p.add_argument("--blend", type=Path, required=True, help="blend of the starting stage")
    p.add_argument("--train-file", type=Path, required=True)
    p.add_argument("--heldout-file", type=Path, required=True)

    p = add("dpo-reference-logprobs", cmd_dpo_reference, "reference log-probs of the SFT model")
    job_args(p)
    p.add_argument("--sft-manifest", type=Path, required=True)
    p.add_argument("--train-file", type=Path, required=True)
    p.add_argument("--heldout-file", type=Path, required=True)

    p = add("dpo", cmd_dpo, "DPO from the SFT model (sigmoid loss)")
    job_args(p)
    p.add_argument("--sft-manifest", type=Path, required=True)
    p.add_argument("--reference", type=Path, required=True)
    p.add_argument("--blend", type=Path, required=True)
    p.add_argument("--train-file", type=Path, required=True)
    p.add_argument("--heldout-file", type=Path, required=True)

    p = add("chat-data", cmd_chat_data, "write the synthetic SFT set and preference pairs")
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("refusals", cmd_refusals, "the SFT model's replies to the safety prompts")
    p.add_argument("--model", type=Path, required=True, help="the SFT model's HF export")
    p.add_argument("--prompts", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("preference-data", cmd_preference_data, "complete the safety pairs", config=False)
    p.add_argument("--safety-prompts", type=Path, required=True)
    p.add_argument("--refusals", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--stats", type=Path, default=None)

    p = add("generate", cmd_generate, "chat replies from an HF export or a manifest",
            config=False)  # fmt: skip
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", type=Path, help="an HF model folder (an export)")
    g.add_argument("--manifest", type=Path, help="a training manifest (exported on the fly)")
    p.add_argument("--tokenizer-dir", type=Path, help="with --manifest: results/tokenizer")
    p.add_argument("--prompt", action="append", default=[], help="a user prompt (repeatable)")
    p.add_argument("--prompts-file", type=Path, help="JSONL rows with 'prompt' (messages)")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--out", type=Path, default=None, help="JSONL (default: stdout)")

    p = add("samples", cmd_samples, "every model's replies to the configured prompts")
    p.add_argument("--models", nargs="+", required=True, help="name=HF folder")
    p.add_argument("--out-dir", type=Path, required=True)

    p = add("align-report", cmd_align_report, "SFT and DPO curves", config=False)
    p.add_argument("--manifests", type=Path, nargs="+", required=True)
    p.add_argument("--preference-stats", type=Path, default=None)
    p.add_argument("--out-dir", type=Path, required=True)
