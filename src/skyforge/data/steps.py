"""CLI sub-commands of the cleaning pipeline (``python -m skyforge.cli <step>``).

Thin glue between argparse and the step functions in this package: each command reads its config
sections from ``--config-json`` (what the Snakemake rule passes) and its files from explicit
arguments, calls one library function, and writes the function's statistics as JSON to
``--stats`` when asked (so that logs and reports can show them). No logic lives here.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyforge.core.io import atomic_write_text

log = logging.getLogger("skyforge")

Loader = Callable[[argparse.Namespace, tuple[str, ...]], dict[str, Any]]


def _stats(args: argparse.Namespace, stats: dict[str, Any], what: str) -> int:
    text = json.dumps(stats, indent=1, sort_keys=True, default=str)
    if getattr(args, "stats", None):
        atomic_write_text(args.stats, text + "\n")
    log.info("%s: %s", what, json.dumps(_short(stats), default=str))
    return 0


def _short(stats: dict[str, Any]) -> dict[str, Any]:
    """Scalars only, for one log line."""
    return {k: v for k, v in stats.items() if isinstance(v, int | float | str)}


# ---------------------------------------------------------------------------------------------


def cmd_extract(args: argparse.Namespace, load: Loader) -> int:
    """HTML → main text for one WARC shard."""
    from skyforge.data.extract import extract_shard

    cfg = load(args, ("extract",))["extract"]
    stats = extract_shard(
        args.warc,
        args.shard,
        args.out_docs,
        args.out_removed,
        extractor=cfg["extractor"],
        min_text_chars=cfg["min_text_chars"],
        form_fields=cfg["form_fields"],
    )
    return _stats(args, stats, "extract")


def cmd_filter(args: argparse.Namespace, load: Loader) -> int:
    """URL filter, language ID, line cleanup and heuristic rules for one shard."""
    from skyforge.data.filters.encoding import EncodingParams
    from skyforge.data.filters.heuristics import FilterParams, filter_shard
    from skyforge.data.filters.harmful import HarmfulParams

    cfg = load(args, ("filters", "encoding", "harmful"))
    stats = filter_shard(
        args.docs,
        args.shard,
        args.out_docs,
        args.out_removed,
        FilterParams.from_dict(cfg["filters"]),
        encoding=EncodingParams.from_dict(cfg["encoding"]),
        harmful=HarmfulParams.from_dict(cfg["harmful"]),
        out_flagged=args.out_flagged,
        out_repaired=args.out_repaired,
    )
    return _stats(args, stats, "filter")


def cmd_harmful_planted(args: argparse.Namespace, load: Loader) -> int:
    """The harmful classifier's planted positives: synthetic harmful and spam pages."""
    from skyforge.data.classifiers.harmful import synthesize_planted

    cfg = load(args, ("harmful_model", "crawl"))
    n = synthesize_planted(
        cfg["crawl"]["synthetic"]["seed"], cfg["harmful_model"]["planted_num_docs"], args.out
    )
    return _stats(args, {"planted_docs": n}, "harmful-planted")


def cmd_train_harmful(args: argparse.Namespace, load: Loader) -> int:
    """Train the cross-fitted fastText harmful / spam classifier."""
    from skyforge.data.filters.harmful import HarmfulParams, HarmfulRules
    from skyforge.data.classifiers.harmful import train_harmful_model

    cfg = load(args, ("harmful_model", "harmful"))
    hm = cfg["harmful_model"]
    rules = HarmfulRules(HarmfulParams.from_dict(cfg["harmful"]))
    stats = train_harmful_model(
        args.flagged,
        args.planted,
        args.negatives,
        args.out_dir,
        langs=tuple(hm["thresholds"]) or ("zh", "en"),
        min_confidence=cfg["harmful"]["confident_factor"],
        threshold=min(hm["thresholds"].values(), default=0.5),
        num_folds=hm["num_folds"],
        seed=hm["seed"],
        epochs=hm["epochs"],
        lr=hm["lr"],
        wordNgrams=hm["word_ngrams"],
        dim=hm["dim"],
        max_per_class=hm["max_per_class"],
        val_fraction=hm["val_fraction"],
        uncertain=rules.has_signal,
    )
    return _stats(args, stats, "train-harmful")


def cmd_harmful(args: argparse.Namespace, load: Loader) -> int:
    """Apply the harmful / spam classifier to one shard."""
    from skyforge.data.filters.harmful import HarmfulParams, HarmfulRules
    from skyforge.data.classifiers.harmful import apply_harmful

    cfg = load(args, ("harmful_model", "harmful"))
    hm = cfg["harmful_model"]
    rules = HarmfulRules(HarmfulParams.from_dict(cfg["harmful"]))
    stats = apply_harmful(
        args.docs,
        args.shard,
        args.model_dir,
        args.out_docs,
        args.out_removed,
        hm["thresholds"],
        num_folds=hm["num_folds"],
        candidate=rules.has_signal if hm["require_signal"] else None,
    )
    return _stats(args, stats, "harmful")


def cmd_reference_set(args: argparse.Namespace, load: Loader) -> int:
    """The quality classifier's positives: synthesised, or copied from the configured file."""
    from skyforge.data.classifiers.reference import synthesize_reference

    cfg = load(args, ("quality_model", "crawl"))
    qm = cfg["quality_model"]
    if qm["reference"] == "synthetic":
        seed = cfg["crawl"]["synthetic"]["seed"]
        n = synthesize_reference(seed, qm["reference_num_docs"], args.out)
    else:
        import pyarrow.parquet as pq

        from skyforge.data.docs import write_table
        from skyforge.data.classifiers.reference import REFERENCE_SCHEMA

        path = Path(qm["reference"])
        if not path.exists():
            raise FileNotFoundError(f"config key 'quality_model.reference': no file '{path}'")
        table = pq.read_table(path)
        missing = {"text", "lang"} - set(table.column_names)
        if missing:
            raise ValueError(f"'{path}': reference set lacks columns {sorted(missing)}")
        n = write_table(args.out, table.select(["text", "lang"]), REFERENCE_SCHEMA)
    return _stats(args, {"reference_docs": n}, "reference-set")


def cmd_train_quality(args: argparse.Namespace, load: Loader) -> int:
    """Train the fastText quality classifier (positives: reference set; negatives: crawl)."""
    from skyforge.data.classifiers.quality import train_quality_model

    qm = load(args, ("quality_model",))["quality_model"]
    stats = train_quality_model(
        args.positives,
        args.negatives,
        args.out_dir,
        seed=qm["seed"],
        epochs=qm["epochs"],
        lr=qm["lr"],
        wordNgrams=qm["word_ngrams"],
        dim=qm["dim"],
        max_per_class=qm["max_per_class"],
        val_fraction=qm["val_fraction"],
    )
    return _stats(args, stats, "train-quality")


def cmd_quality(args: argparse.Namespace, load: Loader) -> int:
    """Apply the quality classifier to one shard."""
    from skyforge.data.filters.harmful import HarmfulParams, HarmfulRules
    from skyforge.data.classifiers.quality import apply_quality

    cfg = load(args, ("quality_model", "harmful"))
    qm = cfg["quality_model"]
    skip = None
    if qm["skip_harmful_signal"]:
        skip = HarmfulRules(HarmfulParams.from_dict(cfg["harmful"])).has_signal
    stats = apply_quality(
        args.docs,
        args.shard,
        args.model_dir,
        args.out_docs,
        args.out_removed,
        qm["thresholds"],
        skip=skip,
    )
    return _stats(args, stats, "quality")


def cmd_exact_hashes(args: argparse.Namespace, load: Loader) -> int:
    """Map: normalised-text hashes of one shard."""
    from skyforge.data.dedup.exact import exact_hashes

    return _stats(args, exact_hashes(args.docs, args.shard, args.out), "exact-hashes")


def cmd_exact_dups(args: argparse.Namespace, load: Loader) -> int:
    """Reduce: documents whose normalised text an earlier document already has."""
    from skyforge.data.dedup.exact import exact_duplicates

    return _stats(args, exact_duplicates(args.hashes, args.out), "exact-dups")


def cmd_apply_drop(args: argparse.Namespace, load: Loader) -> int:
    """Remove one shard's documents listed in a drop file."""
    from skyforge.data.dedup.exact import apply_drop

    stats = apply_drop(args.docs, args.drop, args.shard, args.step, args.out_docs, args.out_removed)
    return _stats(args, stats, f"apply-drop {args.step}")


def _minhash_params(args: argparse.Namespace, load: Loader):
    from skyforge.data.dedup.minhash import MinHashParams

    return MinHashParams.from_dict(load(args, ("dedup",))["dedup"]["near"])


def cmd_minhash_signatures(args: argparse.Namespace, load: Loader) -> int:
    """Map: MinHash signatures of one shard."""
    from skyforge.data.dedup.minhash import minhash_signatures

    params = _minhash_params(args, load)
    return _stats(args, minhash_signatures(args.docs, args.shard, args.out, params), "minhash")


def cmd_minhash_buckets(args: argparse.Namespace, load: Loader) -> int:
    """Shuffle: one LSH band over all shards' signatures → verified candidate pairs."""
    from skyforge.data.dedup.minhash import minhash_buckets

    params = _minhash_params(args, load)
    stats = minhash_buckets(args.signatures, args.band, args.out, params)
    return _stats(args, stats, f"minhash-buckets band {args.band}")


def cmd_minhash_clusters(args: argparse.Namespace, load: Loader) -> int:
    """Reduce: connected components of near-duplicate pairs → drop list."""
    from skyforge.data.dedup.minhash import minhash_clusters

    params = _minhash_params(args, load)
    stats = minhash_clusters(args.pairs, args.out, params, out_clusters=args.out_clusters)
    return _stats(args, stats, "minhash-clusters")


def cmd_substring_dedup(args: argparse.Namespace, load: Loader) -> int:
    """Suffix-array removal of repeated substrings in one language group of all shards."""
    from skyforge.data.dedup.substring import default_min_length_bytes, substring_dedup

    sub = load(args, ("dedup",))["dedup"]["substring"]
    langs = sub["groups"][args.group]
    min_len = sub["min_length_bytes"] or default_min_length_bytes(langs)
    stats = substring_dedup(
        args.docs,
        args.shards,
        args.out_docs,
        args.out_removed,
        args.out_spans,
        min_length_bytes=min_len,
        langs=langs,
    )
    return _stats(args, stats, f"substring-dedup {args.group}")


def cmd_corpus_dates(args: argparse.Namespace, load: Loader) -> int:
    """Map: documents per corpus and crawl date of one shard."""
    from skyforge.data.corpora import date_histogram

    hist = date_histogram(args.docs, args.out)
    return _stats(args, {c: sum(h.values()) for c, h in hist.items()}, "corpus-dates")


def cmd_corpus_cutoffs(args: argparse.Namespace, load: Loader) -> int:
    """Reduce: per-corpus crawl-date cutoff of the held-out split."""
    from skyforge.data.corpora import heldout_cutoffs

    frac = load(args, ("corpora",))["corpora"]["heldout_fraction"]
    return _stats(args, heldout_cutoffs(args.histograms, args.out, frac), "corpus-cutoffs")


def cmd_corpus_split(args: argparse.Namespace, load: Loader) -> int:
    """Write one shard's documents into corpus × split files."""
    from skyforge.data.corpora import CORPORA, SPLITS, split_shard

    keys = [(c, s) for c in CORPORA for s in SPLITS]
    if len(args.outputs) != len(keys):
        raise ValueError(
            f"--outputs: expected {len(keys)} paths (corpus × split), got {len(args.outputs)}"
        )
    stats = split_shard(args.docs, args.cutoffs, dict(zip(keys, args.outputs, strict=True)))
    return _stats(args, stats, "corpus-split")


def cmd_funnel(args: argparse.Namespace, load: Loader) -> int:
    """The funnel: documents and bytes per step and reason; checks that it adds up."""
    from skyforge.data.funnel import write_funnel

    manifest = json.loads(Path(args.crawl_manifest).read_text())
    if "records_per_shard" not in manifest:
        raise ValueError(f"'{args.crawl_manifest}': no records_per_shard in the crawl manifest")
    records_in = int(sum(manifest["records_per_shard"]))
    kept_after = {}
    for item in args.kept_after or []:
        step, _, paths = item.partition("=")
        kept_after[step] = [Path(p) for p in paths.split(",") if p]
    funnel = write_funnel(
        args.out_dir, args.removed, kept_after, args.final, records_in, args.repaired or ()
    )
    return _stats(
        args, {"records_in": records_in, "docs_out": int(funnel.iloc[-1].docs_out)}, "funnel"
    )


def cmd_score(args: argparse.Namespace, load: Loader) -> int:
    """Score removals against the synthetic crawl's ground truth."""
    import pandas as pd

    from skyforge.data.scoring import load_removed, render_markdown, score_removals
    from skyforge.core.io import atomic_path

    gt = pd.read_parquet(args.ground_truth)
    repaired = None
    if args.repaired:
        repaired = pd.concat(
            [pd.read_parquet(p, columns=["id"]) for p in args.repaired], ignore_index=True
        )
    scores = score_removals(gt, load_removed(args.removed), repaired)
    out_dir = Path(args.out_dir)
    with atomic_path(out_dir / "scores.csv") as tmp:
        scores.to_csv(tmp, index=False)
    atomic_write_text(out_dir / "scores.md", render_markdown(scores))
    return _stats(args, {"steps": len(scores)}, "score")


def _paths(p: argparse.ArgumentParser, *names: str, many: bool = False) -> None:
    for name in names:
        p.add_argument(f"--{name}", type=Path, nargs="+" if many else None, required=True)


def register(sub: argparse._SubParsersAction, add_config_args: Callable, load: Loader) -> None:
    """Add the cleaning sub-commands to the ``skyforge`` parser."""

    def add(name: str, func: Callable, help_text: str, config: bool = True):
        p = sub.add_parser(name, help=help_text, description=func.__doc__)
        p.set_defaults(func=lambda a: func(a, load))
        if config:
            add_config_args(p)
        p.add_argument("--stats", type=Path, help="write the step's statistics here (JSON)")
        return p

    p = add("extract", cmd_extract, "HTML → main text for one WARC shard")
    _paths(p, "warc", "out-docs", "out-removed")
    p.add_argument("--shard", type=int, required=True)

    p = add("filter", cmd_filter, "URL filter, mojibake, language ID, heuristics, content rules")
    _paths(p, "docs", "out-docs", "out-removed")
    p.add_argument("--shard", type=int, required=True)
    p.add_argument(
        "--out-flagged", type=Path, help="text of the documents the content rules remove"
    )
    p.add_argument("--out-repaired", type=Path, help="documents whose mojibake was repaired")

    p = add("harmful-planted", cmd_harmful_planted, "planted synthetic harmful pages")
    _paths(p, "out")

    p = add("train-harmful", cmd_train_harmful, "train the fastText harmful / spam classifier")
    _paths(p, "planted", "out-dir")
    _paths(p, "flagged", "negatives", many=True)

    p = add("harmful", cmd_harmful, "apply the harmful / spam classifier to one shard")
    _paths(p, "docs", "model-dir", "out-docs", "out-removed")
    p.add_argument("--shard", type=int, required=True)

    p = add("reference-set", cmd_reference_set, "the quality classifier's positives")
    _paths(p, "out")

    p = add("train-quality", cmd_train_quality, "train the fastText quality classifier")
    _paths(p, "positives", "out-dir")
    _paths(p, "negatives", many=True)

    p = add("quality", cmd_quality, "apply the quality classifier to one shard")
    _paths(p, "docs", "model-dir", "out-docs", "out-removed")
    p.add_argument("--shard", type=int, required=True)

    p = add("exact-hashes", cmd_exact_hashes, "map: normalised-text hashes", config=False)
    _paths(p, "docs", "out")
    p.add_argument("--shard", type=int, required=True)

    p = add("exact-dups", cmd_exact_dups, "reduce: exact duplicates across shards", config=False)
    _paths(p, "out")
    _paths(p, "hashes", many=True)

    p = add("apply-drop", cmd_apply_drop, "remove listed documents of one shard", config=False)
    _paths(p, "docs", "drop", "out-docs", "out-removed")
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--step", required=True, choices=["exact_dedup", "near_dedup"])

    p = add("minhash-signatures", cmd_minhash_signatures, "map: MinHash signatures")
    _paths(p, "docs", "out")
    p.add_argument("--shard", type=int, required=True)

    p = add("minhash-buckets", cmd_minhash_buckets, "shuffle: one LSH band → pairs")
    _paths(p, "out")
    _paths(p, "signatures", many=True)
    p.add_argument("--band", type=int, required=True)

    p = add("minhash-clusters", cmd_minhash_clusters, "reduce: components → drop list")
    _paths(p, "out", "out-clusters")
    _paths(p, "pairs", many=True)

    p = add("substring-dedup", cmd_substring_dedup, "suffix-array substring dedup of a group")
    p.add_argument("--group", required=True)
    p.add_argument("--shards", type=int, nargs="+", required=True)
    _paths(p, "out-spans")
    _paths(p, "docs", "out-docs", "out-removed", many=True)

    p = add("corpus-dates", cmd_corpus_dates, "map: documents per corpus and date", config=False)
    _paths(p, "out")
    _paths(p, "docs", many=True)

    p = add("corpus-cutoffs", cmd_corpus_cutoffs, "reduce: held-out date cutoffs")
    _paths(p, "out")
    _paths(p, "histograms", many=True)

    p = add("corpus-split", cmd_corpus_split, "write corpus × split files", config=False)
    _paths(p, "cutoffs")
    _paths(p, "docs", "outputs", many=True)

    p = add("funnel", cmd_funnel, "documents and bytes per step and reason", config=False)
    _paths(p, "crawl-manifest", "out-dir")
    _paths(p, "removed", "final", many=True)
    p.add_argument("--kept-after", nargs="*", help="STEP=path,path,... (measured byte counts)")
    p.add_argument("--repaired", type=Path, nargs="*", help="the filter's repaired tables")

    p = add("score", cmd_score, "score removals against the ground truth", config=False)
    _paths(p, "ground-truth", "out-dir")
    _paths(p, "removed", many=True)
    p.add_argument("--repaired", type=Path, nargs="*", help="the filter's repaired tables")
