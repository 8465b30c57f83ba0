"""The harmful / spam classifier: fastText, trained in the DAG on what the content rules flagged.

SkyPile removes harmful text with trained classifiers after its rules (docs/recipe.md). The
rules (:mod:`skyforge.data.filters.harmful`) are precise but literal: ``百·家·乐`` or
``c.a.s.i.n.o`` is invisible to them. A classifier trained on what they flag generalises from
the rest of the page, and its tokenisation undoes symbol-broken words. Positives are the rules'
confident removals plus planted synthetic pages; negatives are the clean corpora less pages with
a listed term or contact handle (what the rules missed must not be learnt as clean); negatives
are cross-fitted over ``num_folds`` folds so that no document is scored by a model that saw it
as a negative. ``apply_harmful`` removes documents above their language's threshold among the
rules' near misses only (``require_signal``): alone, the model also flags real pages that
merely look unlike its negatives.

fastText (the PyPI package) learns; this module prepares its input, folds and scores.

See docs/cleaning.md.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from skyforge.core.io import atomic_path, atomic_write_text
from skyforge.data.classifiers.quality import (
    Reservoir,
    _prf,
    fasttext_tokens,
    iter_rows,
    train_fasttext_rows,
)
from skyforge.data.docs import (
    BatchLimits,
    count_rows,
    doc_writer,
    iter_doc_rows,
    removed_writer,
)

__all__ = [
    "PLANTED_SCHEMA",
    "fold_of",
    "train_harmful_model",
    "apply_harmful",
]

log = logging.getLogger(__name__)

HARMFUL_LABEL = "__label__harmful"
CLEAN_LABEL = "__label__clean"
PLANTED_SCHEMA = pa.schema(
    [
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ]
)
"""The planted positives' table (``synthetic.planted`` writes it for the embedded default)."""


def fold_of(doc_id: str, num_folds: int) -> int:
    """The cross-fitting fold of a document (a stable hash of its id)."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % num_folds


def _model_path(out_dir: Path, fold: int) -> Path:
    return Path(out_dir) / f"model-{fold}.bin"


def _p_harmful(model, texts: list[str]) -> list[float]:
    if not texts:
        return []
    tokens = [fasttext_tokens(t) for t in texts]
    labels, probs = model.predict(tokens, k=2)
    out = []
    for toks, labs, ps in zip(tokens, labels, probs, strict=True):
        p = dict(zip(labs, ps, strict=True))
        # No tokens: fastText answers with its class prior alone, which says nothing of the page.
        out.append(
            float(min(1.0, p.get(HARMFUL_LABEL, 1.0 - p.get(CLEAN_LABEL, 0.0)))) if toks else 0.0
        )
    return out


def train_harmful_model(
    flagged: list[Path],
    planted: Path | None,
    negatives: list[Path],
    out_dir: Path,
    *,
    langs: tuple[str, ...] = ("zh", "en"),
    min_confidence: float = 2.0,
    threshold: float = 0.5,
    num_folds: int = 2,
    seed: int = 0,
    epochs: int = 10,
    lr: float = 0.5,
    wordNgrams: int = 2,  # fastText's own name, so the config maps 1:1
    dim: int = 32,
    bucket: int = 200_000,
    max_per_class: int = 100_000,
    val_fraction: float = 0.1,
    uncertain: Callable[[str, str], bool] | None = None,
) -> dict[str, Any]:
    """Train ``num_folds`` cross-fitted fastText models and write their validation metrics.

    Args:
        flagged: the filter's flagged tables (text, lang, reason, confidence).
        planted: synthetic harmful pages (``PLANTED_SCHEMA``), or None.
        negatives: document tables of the clean corpora (``docs.DOC_SCHEMA``, ``lang`` set).
        out_dir: receives ``model-<k>.bin``, ``metrics.csv`` and ``metrics.md``.
        langs: languages the model learns and judges.
        min_confidence: flagged documents below this rule confidence are not positives.
        threshold: P(harmful) from which validation counts a document as harmful.
        num_folds: cross-fitting folds (models) over the negatives.
        seed: sampling, split and fastText seed.
        epochs, lr, wordNgrams, dim, bucket: fastText settings (see ``quality.py``).
        max_per_class: positives and negatives per language at most.
        val_fraction: share of the positives held out for validation.
        uncertain: ``(text, lang) -> True`` for a corpus document that is not a reliable
            negative (``HarmfulRules.has_signal``: a listed term or a contact handle the rules
            let through); such documents are left out of the negatives, not learnt as clean.

    Returns:
        Summary: counts, per-language metrics, seconds.

    Raises:
        ValueError: a missing file or column, bad parameters, or no positives or negatives.
    """
    if num_folds < 2:
        raise ValueError(f"config key 'harmful_model.num_folds': must be >= 2, got {num_folds}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"config key 'harmful_model.val_fraction': must be in (0, 1), got {val_fraction}"
        )
    started = time.perf_counter()
    rng = random.Random(seed)
    out_dir = Path(out_dir)

    # Every pool keeps at most what the sampling below can use (a reservoir: all of it, in
    # order, under the cap), so memory follows max_per_class, not the crawl.
    pool_rng = random.Random(f"{seed}:pool")
    pos: dict[str, Reservoir] = {lang: Reservoir(max_per_class, pool_rng) for lang in langs}
    num_flagged = num_planted = 0
    for path in flagged:
        for text, lang, conf in iter_rows(
            path, "harmful flagged table", ["text", "lang", "confidence"]
        ):
            if lang in pos and text and conf is not None and conf >= min_confidence:
                pos[lang].offer(text)
                num_flagged += 1
    if planted is not None:
        for text, lang in iter_rows(planted, "harmful planted set", ["text", "lang"]):
            if lang in pos and text:
                pos[lang].offer(text)
                num_planted += 1
    # Each fold trains on the others' negatives, up to max_per_class: a pool of that many per
    # fold covers it.
    neg: dict[str, Reservoir] = {
        lang: Reservoir(max_per_class * num_folds, pool_rng) for lang in langs
    }
    num_uncertain = 0
    for path in negatives:
        for doc_id, text, lang in iter_rows(path, "harmful negatives", ["id", "text", "lang"]):
            if lang in neg and text:
                if uncertain is not None and uncertain(text, lang):
                    num_uncertain += 1
                    continue
                neg[lang].offer((fold_of(doc_id, num_folds), text))
    if not any(pos.values()) or not any(neg.values()):
        raise ValueError(
            f"harmful model: needs positives and negatives (set config key "
            f"'harmful_model.planted_num_docs' above 0 for planted positives; positives: "
            f"{ {k: len(v) for k, v in pos.items()} }, negatives: "
            f"{ {k: len(v) for k, v in neg.items()} })"
        )

    val: list[tuple[str, int, int, str]] = []  # (lang, is_harmful, fold or -1, text)
    train_pos: list[tuple[str, str]] = []
    for lang in langs:
        sample = rng.sample(pos[lang], min(len(pos[lang]), max_per_class))
        num_val = round(len(sample) * val_fraction)
        val += [(lang, 1, -1, t) for t in sample[:num_val]]
        train_pos += [(lang, t) for t in sample[num_val:]]
    out_dir.mkdir(parents=True, exist_ok=True)
    models = []
    for k in range(num_folds):
        train = [(HARMFUL_LABEL, fasttext_tokens(t)) for _, t in train_pos]
        for lang in langs:
            others = [t for f, t in neg[lang] if f != k]
            train += [
                (CLEAN_LABEL, fasttext_tokens(t))
                for t in rng.sample(others, min(len(others), max_per_class))
            ]
            mine = [t for f, t in neg[lang] if f == k]
            val += [(lang, 0, k, t) for t in rng.sample(mine, min(len(mine), 200))]
        rng.shuffle(train)
        model = train_fasttext_rows(
            train,
            out_dir,
            seed=seed + k,
            dim=dim,
            bucket=bucket,
            epoch=epochs,
            lr=lr,
            wordNgrams=wordNgrams,
            minCount=1,
            loss="softmax",
        )
        with atomic_path(_model_path(out_dir, k)) as tmp:
            model.save_model(str(tmp))
        models.append(model)

    # Positives are scored by model 0 (no model saw them); negatives by their fold's model.
    probs = [_p_harmful(models[max(fold, 0)], [text])[0] for _, _, fold, text in val]
    rows = []
    for lang in [*langs, "all"]:
        pairs = [
            (y, p >= threshold)
            for (vl, y, _, _), p in zip(val, probs, strict=True)
            if lang in ("all", vl)
        ]
        tp = sum(1 for y, yhat in pairs if y and yhat)
        fp = sum(1 for y, yhat in pairs if not y and yhat)
        fn = sum(1 for y, yhat in pairs if y and not yhat)
        precision, recall, f1 = _prf(tp, fp, fn)
        rows.append(
            {
                "lang": lang,
                "num_train_pos": sum(1 for lg, _ in train_pos if lang in ("all", lg)),
                "num_neg": sum(len(v) for lg, v in neg.items() if lang in ("all", lg)),
                "num_val_pos": sum(1 for y, _ in pairs if y),
                "num_val_neg": sum(1 for y, _ in pairs if not y),
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "false_positive_rate": round(fp / max(1, sum(1 for y, _ in pairs if not y)), 4),
            }
        )
    _write_metrics(out_dir, rows, threshold, num_flagged, num_planted, num_folds, num_uncertain)
    seconds = time.perf_counter() - started
    log.info("harmful model: %d folds, overall F1 %.3f", num_folds, rows[-1]["f1"])
    return {
        "num_flagged_positives": num_flagged,
        "num_planted_positives": num_planted,
        "num_folds": num_folds,
        "num_uncertain_left_out": num_uncertain,
        "metrics": rows,
        "seconds": round(seconds, 2),
    }


def _write_metrics(
    out_dir: Path,
    rows: list[dict[str, Any]],
    threshold: float,
    num_flagged: int,
    num_planted: int,
    num_folds: int,
    num_uncertain: int,
) -> None:
    cols = list(rows[0])
    csv = "\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]) + "\n"
    atomic_write_text(out_dir / "metrics.csv", csv)
    md = [
        "# Harmful / spam classifier: validation metrics",
        "",
        f"Positive class = harmful. Positives: {num_flagged} documents the content rules removed "
        f"with high confidence and {num_planted} planted synthetic pages; negatives: the clean "
        f"corpora, in {num_folds} cross-fitting folds, less {num_uncertain} documents with a "
        f"listed term or a contact handle (not reliable negatives). A document is predicted "
        f"harmful when P(harmful) >= {threshold}.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    md += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    atomic_write_text(out_dir / "metrics.md", "\n".join(md) + "\n")


def apply_harmful(
    docs_in: Path,
    shard: int,
    model_dir: Path,
    out_docs: Path,
    out_removed: Path,
    thresholds: dict[str, float],
    num_folds: int = 2,
    candidate: Callable[[str, str], bool] | None = None,
    limits: BatchLimits | None = None,
) -> dict[str, Any]:
    """Remove documents whose P(harmful) reaches the threshold of their language.

    The shard is read and written one record batch at a time (``limits``).

    Args:
        docs_in: documents of one shard (``lang`` set).
        shard: shard index, written into every output row.
        model_dir: holds ``model-<k>.bin`` for every fold from ``train_harmful_model``.
        out_docs: kept documents (unchanged).
        out_removed: removal rows, step ``harmful_model``, reason ``harmful_classifier``.
        thresholds: language -> P(harmful) from which a document goes; others are kept.
        num_folds: the folds the models were trained with.
        candidate: ``(text, lang) -> True`` for the documents the classifier may remove
            (``HarmfulRules.has_signal``: the rules' near misses); None: every document. On
            real clean text (news, recipes, encyclopedia pages) the model alone flags 0.5–20 %
            of the documents at 0.5, gated none (``benchmarks/harmful.py --real-data``).

        limits: record-batch limits (config section ``stream``).

    Returns:
        Statistics: documents in / scored / kept / removed, removals per language, seconds.

    Raises:
        ValueError: a threshold outside [0, 1] or a missing model.
    """
    # deferred: fastText loads its native library; only training / scoring needs it
    import fasttext

    for lang, value in thresholds.items():
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"config key 'harmful_model.thresholds.{lang}': must be in [0, 1]")
    started = time.perf_counter()
    models = []
    for k in range(num_folds):
        path = _model_path(model_dir, k)
        if not path.is_file():
            raise ValueError(f"harmful model '{path}': no such file (run train_harmful_model)")
        models.append(fasttext.load_model(str(path)))
    num_in = num_scored = 0
    removed_per_lang: Counter[str] = Counter()
    rows = tqdm(
        iter_doc_rows(docs_in, limits),
        total=count_rows(docs_in),
        desc=f"harmful shard {shard}",
        unit="doc",
        mininterval=5,
    )
    with doc_writer(out_docs, limits) as kept, removed_writer(out_removed, limits) as removed:
        for doc in rows:
            num_in += 1
            lang = doc.get("lang")
            if lang in thresholds and (candidate is None or candidate(doc["text"], lang)):
                num_scored += 1
                p = _p_harmful(models[fold_of(doc["id"], num_folds)], [doc["text"]])[0]
                if p >= thresholds[lang]:
                    removed.write(
                        {
                            "id": doc["id"],
                            "url": doc.get("url"),
                            "step": "harmful_model",
                            "reason": "harmful_classifier",
                            "bytes": len(doc["text"].encode("utf-8")),
                            "shard": shard,
                        }
                    )
                    removed_per_lang[lang] += 1
                    continue
            doc["shard"] = shard
            kept.write(doc)
    return {
        "shard": shard,
        "num_docs_in": num_in,
        "num_scored": num_scored,
        "num_kept": kept.num_rows,
        "num_removed": removed.num_rows,
        "removed_per_lang": dict(sorted(removed_per_lang.items())),
        "seconds": round(time.perf_counter() - started, 3),
    }
