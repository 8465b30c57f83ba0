"""A tiny, real training workspace for tests and benchmarks: corpora → tokenizer → packs → blends.

Everything is made by the project's own steps (``train_tokenizer``, ``tokenize_shard``,
``merge_packs``-free single shards, ``build_blends``) from a few hundred generated documents in
five corpora, so a training job sees exactly the file layout the DAG gives it, in ~3 s and
without the crawl. Like OLMo-core's ``testing`` package, it lives in the library so that the
SLURM test, the loop tests and the train-step benchmark share one definition.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from skyforge.config import ModelConfig, ParallelConfig, TrainConfig
from skyforge.data.corpora import CORPUS_SCHEMA
from skyforge.tokenize.blends import build_blends
from skyforge.tokenize.packs import tokenize_shard
from skyforge.tokenize.tokenizer import DEFAULT_SPECIAL_TOKENS, train_tokenizer

__all__ = ["make_workspace", "tiny_configs"]

_EN = (
    "The council met on {0} to discuss the budget for the new library and the park. "
    "About {1} people came, and most of them asked about opening hours and parking."
)
_ZH = "市政府在{0}宣布，新图书馆将在明年春天开放，市民可以在网上预约参观时间，共有{1}人参加。"
_CODE = "def area_{0}(r):\n    # radius in metres\n    return 3.14159 * r ** {1}\n"
_STEM = "Question: what is {0} plus {1}? Answer: add the two numbers to get the sum."
_PARALLEL = "The library opens in spring. 图书馆将在春天开放。 Visitors: {0}. 访客：{1}。"
TEMPLATES = {
    "main-en": _EN,
    "main-zh": _ZH,
    "main-code": _CODE,
    "stem": _STEM,
    "parallel": _PARALLEL,
}


def _rows(corpus: str, n: int, seed: int) -> list[dict]:
    """``n`` rows of ``CORPUS_SCHEMA`` from one corpus's template."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        # 1–4 sentences so documents have different lengths and samples cross boundaries.
        text = " ".join(
            TEMPLATES[corpus].format(rng.randint(0, 999), rng.randint(0, 9999))
            for _ in range(rng.randint(1, 4))
        )
        rows.append(
            {
                "id": f"{corpus}-{seed}-{i}",
                "text": text,
                "url": None,
                "lang": "zh" if corpus == "main-zh" else "en",
                "domain": None,
                "crawl_date": "2024-01-01",
                "corpus": corpus,
                "num_chars": len(text),
                "num_bytes": len(text.encode("utf-8")),
                "num_lines": text.count("\n") + 1,
                "cjk_share": 0.0,
            }
        )
    return rows


def tiny_configs(
    *, seq_length: int = 32, global_batch_size: int = 8, data: int = 2, vocab_size: int = 640
) -> tuple[ModelConfig, ParallelConfig, TrainConfig]:
    """A 2-layer model and a 3-session stage 1 (cosine 24 steps, constant 8) + 2 sub-stages."""
    model = ModelConfig.with_defaults(
        num_layers=2,
        hidden_size=32,
        ffn_hidden_size=88,
        num_attention_heads=4,
        seq_length=seq_length,
        vocab_size=vocab_size,
    )
    parallel = ParallelConfig.with_defaults(tensor=1, pipeline=1, data=data, micro_batch_size=2)
    tps = global_batch_size * seq_length
    train = TrainConfig.with_defaults(
        {
            "global_batch_size": global_batch_size,
            "stage1": {
                "sessions": [
                    {
                        "name": "cosine",
                        "tokens": 24 * tps,
                        "schedule": "cosine",
                        "lr_max": 3e-3,
                        "lr_min": 3e-4,
                        "warmup_tokens": 2 * tps,
                    },
                    {"name": "constant", "tokens": 8 * tps, "schedule": "constant", "lr_max": 3e-4},
                ],
                "mix": {"en": 0.5, "zh": 0.4, "code": 0.1},
            },
            "stage2": {
                "lr": 3e-4,
                "substages": [
                    {"stem_share": 0.1, "tokens": 4 * tps},
                    {"stem_share": 0.4, "tokens": 4 * tps},
                ],
            },
        }
    )
    return model, parallel, train


def make_workspace(root: str | Path, *, seq_length: int = 32, docs: int = 300) -> dict[str, Path]:
    """Corpora, a BPE tokenizer, one train + one held-out pack per corpus, and the blends.

    Args:
        root: an empty directory; relative paths in the blend files start here, so jobs must
            run with ``root`` as their working directory (the specs record it).
        seq_length: the model context the blends are planned for.
        docs: train documents per corpus (held-out: a tenth of it).

    Returns:
        ``tokenizer`` (tokenizer.json), ``blends`` (directory of ``stage1.json``, …).
    """
    root = Path(root)
    corpora: dict[str, dict[str, Path]] = {}
    for k, corpus in enumerate(TEMPLATES):
        for split, n, seed in (("train", docs, k), ("heldout", max(8, docs // 10), 100 + k)):
            path = root / "results" / "corpora" / corpus / split / "00000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(_rows(corpus, n, seed), schema=CORPUS_SCHEMA), path)
            corpora.setdefault(corpus, {})[split] = path
    tok_dir = root / "results" / "tokenizer"
    train_tokenizer(
        {c: [p["train"]] for c, p in corpora.items() if c.startswith("main-")},
        {},
        tok_dir,
        vocab_size=600,
        mix={"main-en": 0.5, "main-zh": 0.4, "main-code": 0.1},
        sample_bytes=200_000,
        special_tokens=DEFAULT_SPECIAL_TOKENS,
        num_threads=1,
    )
    tokenizer = tok_dir / "tokenizer.json"
    stats, heldout = {}, {}
    for corpus, paths in corpora.items():
        for split, path in paths.items():
            prefix = Path("results") / "packs" / corpus / split
            counts = tokenize_shard(path, tokenizer, root / prefix, num_threads=1)
            if split == "train":
                stats[corpus] = {
                    "prefix": str(prefix),
                    "tokens": counts["tokens"],
                    "docs": counts["docs"],
                }
            else:
                heldout[corpus] = str(prefix)
    _, _, train = tiny_configs(seq_length=seq_length)
    blends = root / "results" / "blends"
    build_blends(stats, heldout, train, seq_length, blends, max_epochs=1000.0)
    (root / "workspace.json").write_text(json.dumps({"tokenizer": str(tokenizer)}))
    return {"tokenizer": tokenizer, "blends": blends}
