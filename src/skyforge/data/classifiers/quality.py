"""Model-based quality filter: a fastText classifier trained in the DAG, applied per language.

The recipe of CCNet (a high-quality reference corpus against the raw crawl), as a linear
classifier in GPT-3 (Brown et al. 2020, App. A) and LLaMA (Touvron et al. 2023, §2.1), and as
SkyPile used it for Skywork-13B (docs/recipe.md#data): positives are a configured reference set
(Parquet with ``text`` and ``lang``), negatives random crawl documents, both sampled to the same
size per language (so the model cannot learn "this language is good"); a held-out split gives
precision / recall / F1 (``metrics.csv``, ``metrics.md``); ``apply_quality`` removes documents
whose P(high quality) is below their language's threshold.

fastText tokenises on whitespace, which Chinese lacks, so text is normalised for it first (NFKC,
lower case, no punctuation, digit runs folded to ``0``, one token per CJK ideograph; with
``wordNgrams=2`` the character bigrams approximate Chinese words). fastText (the PyPI package)
learns; this module prepares, balances, splits and scores. One training thread makes a seed give
the same model every time (with a workaround for a fastText 0.9.3 bug, see ``train_fasttext``).

See docs/cleaning.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import random
import re
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from skyforge.core.io import atomic_path, atomic_write_text
from skyforge.data.docs import (
    BatchLimits,
    count_rows,
    doc_writer,
    iter_doc_batches,
    removed_writer,
)

__all__ = [
    "HQ_LABEL",
    "LQ_LABEL",
    "fasttext_tokens",
    "train_fasttext",
    "train_quality_model",
    "load_quality_model",
    "predict_hq",
    "apply_quality",
]

log = logging.getLogger(__name__)

HQ_LABEL = "__label__hq"
LQ_LABEL = "__label__lq"
MODEL_FILE = "model.bin"
# fastText reads one document per line; very long documents add little beyond their first
# few thousand tokens and slow training down.
_MAX_TOKENS = 2000

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_CJK_RE = re.compile(f"([{_CJK}])")
_NON_WORD_RE = re.compile(r"[\W_]+")
_DIGITS_RE = re.compile(r"\d+")


def fasttext_tokens(text: str, max_tokens: int = _MAX_TOKENS) -> str:
    """Normalise ``text`` into one line of space-separated tokens for fastText.

    NFKC (full-width forms to ASCII), lower case, punctuation and symbols to spaces, digit
    runs to ``0``, each CJK ideograph a token.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _NON_WORD_RE.sub(" ", text)
    text = _DIGITS_RE.sub("0", text)
    text = _CJK_RE.sub(r" \1 ", text)
    return " ".join(text.split()[:max_tokens])


class Reservoir(list):
    """A uniform random sample of at most ``cap`` of the items offered (Vitter's Algorithm R).

    While no more than ``cap`` items were offered it holds exactly those items, in order, and
    draws no random number, so a pool under the cap is what a plain list would hold; beyond it,
    item n replaces a random slot with probability cap / n. Classifier training offers every
    crawl document to one of these, so it holds ``cap`` documents per class and language, not
    the crawl (no library keeps a list-compatible reservoir: ``random.sample`` needs the whole
    population)."""

    def __init__(self, cap: int, rng: random.Random) -> None:
        super().__init__()
        self.cap = cap
        self.rng = rng
        self.offered = 0

    def offer(self, item: Any) -> None:
        """Consider one more item."""
        self.offered += 1
        if len(self) < self.cap:
            self.append(item)
            return
        j = self.rng.randrange(self.offered)
        if j < self.cap:
            self[j] = item


def iter_rows(path: Path, what: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    """The ``columns`` of a Parquet file, row by row, one row group at a time.

    Raises:
        ValueError: naming ``what`` and the file when it is missing or lacks a column.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} '{path}': no such file")
    missing = [c for c in columns if c not in pq.read_schema(path).names]
    if missing:
        raise ValueError(f"{what} '{path}': missing column(s) {', '.join(missing)}")
    for batch in iter_doc_batches(path, columns=columns):
        yield from zip(*(batch.column(c).to_pylist() for c in columns), strict=True)


def _read_texts(path: Path, what: str) -> Iterator[tuple[str, str]]:
    """(lang, text) pairs of a Parquet file with ``text`` and ``lang`` columns, streamed."""
    for text, lang in iter_rows(path, what, ["text", "lang"]):
        if text:
            yield lang or "other", text


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# fastText 0.9.3 allocates its input matrix with posix_memalign (uninitialised memory) and, with
# thread=1, initialises only the first tenth of it (DenseMatrix::uniform fills one of ten blocks
# per thread). The rest is whatever the heap held: training is then not reproducible and fails at
# random with "Encountered NaN". glibc can be told to hand out zeroed memory: M_PERTURB = 0xFF
# fills every malloc'd block with 0x00 (the complement) and M_MMAP_THRESHOLD makes large blocks
# fresh kernel pages, which are zero. Both are set for the duration of training only; the
# untouched rows then start at zero, the same on every run.
_M_PERTURB = -6
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1 << 20


@contextlib.contextmanager
def _zeroed_allocations() -> Iterator[bool]:
    """While active, glibc returns zero-filled memory; yields False where that is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
        ok = ok and bool(libc.mallopt(_M_PERTURB, 0xFF))
    except (OSError, AttributeError):
        libc, ok = None, False
    try:
        yield ok
    finally:
        if libc is not None:
            libc.mallopt(_M_PERTURB, 0)  # back to no perturbation (the mmap threshold stays)


def train_fasttext(train_file: Path, *, seed: int, dim: int, bucket: int, **kwargs: Any):
    """``fasttext.train_supervised`` on one thread, made reproducible (see the note above).

    Args:
        train_file: fastText training file (``__label__x tokens`` per line).
        seed: fastText seed.
        dim: embedding size.
        bucket: n-gram hash buckets.
        **kwargs: other ``train_supervised`` arguments (epoch, lr, wordNgrams, ...).

    Returns:
        The trained fastText model.
    """
    # deferred: fastText loads its native library; only training / scoring needs it
    import fasttext

    with _zeroed_allocations() as zeroed:
        if not zeroed:
            log.warning("not glibc: fastText training may not be reproducible for a seed")
        return fasttext.train_supervised(
            input=str(train_file),
            seed=seed,
            dim=dim,
            bucket=bucket,
            thread=1,
            verbose=0,
            **kwargs,
        )


def train_fasttext_rows(
    rows: list[tuple[str, str]],
    work_dir: Path,
    *,
    seed: int,
    dim: int,
    bucket: int,
    **kwargs: Any,
):
    """:func:`train_fasttext` on ``(label, tokens)`` rows, through a temporary training file in
    ``work_dir`` (fastText reads only files), removed afterwards."""
    fd, tmp_name = tempfile.mkstemp(prefix=".fasttext-train.", suffix=".txt", dir=work_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(f"{label} {tokens}\n" for label, tokens in rows)
        return train_fasttext(Path(tmp_name), seed=seed, dim=dim, bucket=bucket, **kwargs)
    finally:
        os.unlink(tmp_name)


def load_quality_model(model_dir: Path):
    """Load ``model_dir/model.bin``."""
    # deferred: fastText loads its native library; only training / scoring needs it
    import fasttext

    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise ValueError(f"quality model '{path}': no such file (run train_quality_model)")
    return fasttext.load_model(str(path))


def predict_hq(model, texts: list[str]) -> list[float]:
    """P(high quality) for each text."""
    if not texts:
        return []
    labels, probs = model.predict([fasttext_tokens(t) for t in texts], k=2)
    out = []
    for labs, ps in zip(labels, probs, strict=True):
        p = dict(zip(labs, ps, strict=True))
        out.append(float(min(1.0, p.get(HQ_LABEL, 1.0 - p.get(LQ_LABEL, 0.0)))))
    return out


def train_quality_model(
    positives: Path,
    negatives: list[Path],
    out_dir: Path,
    *,
    seed: int = 0,
    epochs: int = 5,
    lr: float = 0.5,
    wordNgrams: int = 2,  # fastText's own name, so the config maps 1:1
    dim: int = 32,
    max_per_class: int = 100_000,
    val_fraction: float = 0.1,
    bucket: int = 200_000,
) -> dict[str, Any]:
    """Train the fastText quality classifier and write it with its validation metrics.

    Args:
        positives: Parquet file with ``text`` and ``lang`` (the high-quality reference set).
        negatives: document shards (``docs.DOC_SCHEMA``; random crawl text, ``lang`` set).
        out_dir: receives ``model.bin``, ``metrics.csv`` and ``metrics.md``.
        seed: sampling, split and fastText seed.
        epochs: fastText ``epoch``.
        lr: fastText learning rate.
        wordNgrams: fastText word n-gram length (2 adds CJK character bigrams).
        dim: embedding size.
        max_per_class: documents per class and language at most (both classes are cut to the
            smaller of the two, so each language is balanced).
        val_fraction: share of each (language, class) held out for validation.
        bucket: hash buckets for n-grams (memory: bucket × dim × 4 bytes; 200,000 × 32 ≈
            26 MB, against fastText's default 2,000,000 × dim).

    Returns:
        Summary: counts, per-language metrics, training seconds, languages left out.

    Raises:
        ValueError: a missing input file or column, bad parameters, or no language present
            in both classes.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"config key 'quality.val_fraction': must be in (0, 1), got {val_fraction}"
        )
    if wordNgrams < 1:
        raise ValueError(f"config key 'quality.wordNgrams': must be >= 1, got {wordNgrams}")
    if max_per_class < 2:
        raise ValueError(f"config key 'quality.max_per_class': must be >= 2, got {max_per_class}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    rng = random.Random(seed)

    # At most max_per_class documents per class and language are kept while reading (a
    # reservoir: all of them, in order, while there are no more), so memory follows the cap,
    # not the crawl. The reservoirs draw from their own generator: under the cap they draw
    # nothing, and the sample below is the one a full read would give.
    pool_rng = random.Random(f"{seed}:pool")
    pos_by_lang: dict[str, Reservoir] = {}
    for lang, text in _read_texts(positives, "quality positives"):
        pos_by_lang.setdefault(lang, Reservoir(max_per_class, pool_rng)).offer(text)
    neg_by_lang: dict[str, Reservoir] = {}
    for path in negatives:
        for lang, text in _read_texts(path, "quality negatives"):
            neg_by_lang.setdefault(lang, Reservoir(max_per_class, pool_rng)).offer(text)
    langs = sorted(set(pos_by_lang) & set(neg_by_lang))
    left_out = sorted(set(pos_by_lang) ^ set(neg_by_lang))
    if not langs:
        raise ValueError(
            f"quality positives '{positives}': no language in common with the negatives "
            f"(positives: {sorted(pos_by_lang)}, negatives: {sorted(neg_by_lang)})"
        )
    if left_out:
        log.warning("quality model: languages in one class only are left out: %s", left_out)

    train: list[tuple[str, str]] = []  # (label, tokens)
    val: list[tuple[str, int, str]] = []  # (lang, is_hq, raw text)
    counts: dict[str, Counter[str]] = {}
    for lang in langs:
        n = min(len(pos_by_lang[lang]), len(neg_by_lang[lang]), max_per_class)
        counts[lang] = Counter()
        for label, pool in ((HQ_LABEL, pos_by_lang[lang]), (LQ_LABEL, neg_by_lang[lang])):
            sample = rng.sample(pool, n)
            num_val = max(1, round(n * val_fraction)) if n > 1 else 0
            kind = "pos" if label == HQ_LABEL else "neg"
            for text in sample[:num_val]:
                val.append((lang, int(label == HQ_LABEL), text))
            for text in sample[num_val:]:
                train.append((label, fasttext_tokens(text)))
            counts[lang][f"num_train_{kind}"] = n - num_val
            counts[lang][f"num_val_{kind}"] = num_val
    rng.shuffle(train)

    out_dir.mkdir(parents=True, exist_ok=True)
    model = train_fasttext_rows(
        train,
        out_dir,
        seed=seed,
        dim=dim,
        bucket=bucket,
        epoch=epochs,
        lr=lr,
        wordNgrams=wordNgrams,
        minCount=1,
        loss="softmax",
    )
    with atomic_path(out_dir / MODEL_FILE) as tmp:
        model.save_model(str(tmp))

    probs = predict_hq(model, [text for _, _, text in val])
    rows = []
    for lang in [*langs, "all"]:
        pairs = [
            (is_hq, p >= 0.5)
            for (vl, is_hq, _), p in zip(val, probs, strict=True)
            if lang in ("all", vl)
        ]
        tp = sum(1 for y, yhat in pairs if y and yhat)
        fp = sum(1 for y, yhat in pairs if not y and yhat)
        fn = sum(1 for y, yhat in pairs if y and not yhat)
        tn = len(pairs) - tp - fp - fn
        precision, recall, f1 = _prf(tp, fp, fn)
        c = sum(counts.values(), Counter()) if lang == "all" else counts[lang]
        rows.append(
            {
                "lang": lang,
                "num_train_pos": c["num_train_pos"],
                "num_train_neg": c["num_train_neg"],
                "num_val_pos": c["num_val_pos"],
                "num_val_neg": c["num_val_neg"],
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "accuracy": round((tp + tn) / len(pairs), 4) if pairs else 0.0,
            }
        )
    _write_metrics(out_dir, rows, left_out)
    seconds = time.perf_counter() - started
    log.info("quality model: %d training documents, overall F1 %.3f", len(train), rows[-1]["f1"])
    return {
        "num_train": len(train),
        "num_val": len(val),
        "langs": langs,
        "langs_left_out": left_out,
        "metrics": rows,
        "seconds": round(seconds, 2),
    }


def _write_metrics(out_dir: Path, rows: list[dict[str, Any]], left_out: list[str]) -> None:
    cols = list(rows[0])
    csv = "\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]) + "\n"
    atomic_write_text(out_dir / "metrics.csv", csv)
    md = [
        "# Quality classifier: validation metrics",
        "",
        "Positive class = high quality (reference set); a document is predicted high quality "
        "when P(hq) >= 0.5.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    md += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    if left_out:
        md += ["", f"Left out (present in one class only): {', '.join(left_out)}."]
    atomic_write_text(out_dir / "metrics.md", "\n".join(md) + "\n")


def apply_quality(
    docs_in: Path,
    shard: int,
    model_dir: Path,
    out_docs: Path,
    out_removed: Path,
    thresholds: dict[str, float],
    skip: Callable[[str, str], bool] | None = None,
    limits: BatchLimits | None = None,
) -> dict[str, Any]:
    """Remove documents whose P(high quality) is below the threshold of their language.

    The shard is scored and written one record batch at a time (``limits``).

    Args:
        docs_in: documents of one shard (``lang`` set by the language filter).
        shard: shard index, written into every output row.
        model_dir: directory holding ``model.bin`` from ``train_quality_model``.
        out_docs: kept documents (unchanged).
        out_removed: removal rows, step ``quality_model``, reason ``low_quality:<p>``.
        thresholds: language -> minimum P(high quality); languages not listed are kept.
        skip: ``(text, lang) -> True`` for documents this step leaves alone (kept unscored):
            the pipeline passes the harmful rules' ``has_signal``, so a page with a listed term
            or a contact handle is judged by the harmful classifier that follows, and each of
            the two steps answers for its own removals.

    Returns:
        Statistics: documents and bytes in / kept / removed / skipped, removals per language,
        seconds.

    Raises:
        ValueError: a threshold outside [0, 1] or a missing model.
    """
    for lang, value in thresholds.items():
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"config key 'quality.thresholds.{lang}': must be in [0, 1]")
    started = time.perf_counter()
    model = load_quality_model(model_dir)
    num_in = num_scored = num_in_scope = bytes_in = bytes_removed = 0
    removed_per_lang: Counter[str] = Counter()
    bar = tqdm(total=count_rows(docs_in), desc=f"quality shard {shard}", unit="doc", mininterval=5)
    with doc_writer(out_docs, limits) as kept, removed_writer(out_removed, limits) as removed:
        for batch in iter_doc_batches(docs_in, (limits or BatchLimits()).docs):
            rows = batch.to_pylist()
            in_scope = [i for i, d in enumerate(rows) if d.get("lang") in thresholds]
            scored = [
                i for i in in_scope if skip is None or not skip(rows[i]["text"], rows[i]["lang"])
            ]
            texts = [rows[i]["text"] for i in scored]
            probs = dict(zip(scored, predict_hq(model, texts), strict=True))
            num_in += len(rows)
            num_in_scope += len(in_scope)
            num_scored += len(scored)
            for i, doc in enumerate(rows):
                size = len(doc["text"].encode("utf-8"))
                bytes_in += size
                p = probs.get(i)
                if p is not None and p < thresholds[doc["lang"]]:
                    removed.write(
                        {
                            "id": doc["id"],
                            "url": doc.get("url"),
                            "step": "quality_model",
                            "reason": f"low_quality:{p:.2f}",
                            "bytes": size,
                            "shard": shard,
                        }
                    )
                    removed_per_lang[doc["lang"]] += 1
                    bytes_removed += size
                else:
                    doc["shard"] = shard
                    kept.write(doc)
            bar.update(len(rows))
    bar.close()
    seconds = time.perf_counter() - started
    return {
        "shard": shard,
        "num_docs_in": num_in,
        "num_scored": num_scored,
        "num_skipped": num_in_scope - num_scored,
        "num_kept": kept.num_rows,
        "num_removed": removed.num_rows,
        "removed_per_lang": dict(sorted(removed_per_lang.items())),
        "bytes_in": bytes_in,
        "bytes_removed": bytes_removed,
        "seconds": round(seconds, 3),
    }
