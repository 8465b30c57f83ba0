"""Steps of ``rules/quality.smk``: the fastText quality and harmful / spam classifiers.

Library imports sit inside each step (see :mod:`skyforge.steps.plan`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.steps.registry import arg, path, step

SHARD = arg("--shard", type=int, required=True)
APPLY_ARGS = (path("docs"), path("model-dir"), path("out-docs"), path("out-removed"), SHARD)


def _harmful_rules(section: dict[str, Any]):
    from skyforge.data.filters.harmful import HarmfulRules

    return HarmfulRules(C.HarmfulConfig.from_dict(section))


@step(
    "reference-set",
    "the quality classifier's positives",
    sections=("quality_model", "crawl"),
    args=(path("out"),),
)
def reference_set(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """The quality classifier's positives: synthesised, or copied from the configured file."""
    qm = cfg["quality_model"]
    if qm["reference"] == "synthetic":
        from skyforge.synthetic.reference import synthesize_reference

        seed = cfg["crawl"]["synthetic"]["seed"]
        return {"reference_docs": synthesize_reference(seed, qm["reference_num_docs"], args.out)}
    from skyforge.data.classifiers.reference import copy_reference_set

    path_ = Path(qm["reference"])
    if not path_.exists():
        raise FileNotFoundError(f"config key 'quality_model.reference': no file '{path_}'")
    return {"reference_docs": copy_reference_set(path_, args.out)}


@step(
    "train-quality",
    "train the fastText quality classifier",
    sections=("quality_model",),
    args=(path("positives"), path("out-dir"), path("negatives", many=True)),
)
def train_quality(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train the fastText quality classifier (positives: reference set; negatives: crawl)."""
    from skyforge.data.classifiers.quality import train_quality_model

    qm = cfg["quality_model"]
    return train_quality_model(
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


@step(
    "quality",
    "apply the quality classifier to one shard",
    sections=("quality_model", "harmful", "stream"),
    args=APPLY_ARGS,
)
def quality(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Apply the quality classifier to one shard."""
    from skyforge.data.classifiers.quality import apply_quality
    from skyforge.data.docs import BatchLimits

    qm = cfg["quality_model"]
    skip = _harmful_rules(cfg["harmful"]).has_signal if qm["skip_harmful_signal"] else None
    return apply_quality(
        args.docs,
        args.shard,
        args.model_dir,
        args.out_docs,
        args.out_removed,
        qm["thresholds"],
        skip=skip,
        limits=BatchLimits.from_section(cfg["stream"]),
    )


@step(
    "harmful-planted",
    "planted synthetic harmful pages",
    sections=("harmful_model", "crawl"),
    args=(path("out"),),
)
def harmful_planted(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """The harmful classifier's planted positives: synthetic harmful and spam pages."""
    from skyforge.synthetic.planted import synthesize_planted

    seed = cfg["crawl"]["synthetic"]["seed"]
    n = synthesize_planted(seed, cfg["harmful_model"]["planted_num_docs"], args.out)
    return {"planted_docs": n}


@step(
    "train-harmful",
    "train the fastText harmful / spam classifier",
    sections=("harmful_model", "harmful"),
    args=(
        path("planted"),
        path("out-dir"),
        path("flagged", many=True),
        path("negatives", many=True),
    ),
)
def train_harmful(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train the cross-fitted fastText harmful / spam classifier."""
    from skyforge.data.classifiers.harmful import train_harmful_model

    hm = cfg["harmful_model"]
    return train_harmful_model(
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
        uncertain=_harmful_rules(cfg["harmful"]).has_signal,
    )


@step(
    "harmful",
    "apply the harmful / spam classifier to one shard",
    sections=("harmful_model", "harmful", "stream"),
    args=APPLY_ARGS,
)
def harmful(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Apply the harmful / spam classifier to one shard."""
    from skyforge.data.classifiers.harmful import apply_harmful
    from skyforge.data.docs import BatchLimits

    hm = cfg["harmful_model"]
    return apply_harmful(
        args.docs,
        args.shard,
        args.model_dir,
        args.out_docs,
        args.out_removed,
        hm["thresholds"],
        num_folds=hm["num_folds"],
        candidate=_harmful_rules(cfg["harmful"]).has_signal if hm["require_signal"] else None,
        limits=BatchLimits.from_section(cfg["stream"]),
    )
