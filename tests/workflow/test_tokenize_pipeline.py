"""Tokenizer, packs and blends built by the default DAG: the packs open with megatron-core's
IndexedDataset and decode back to the corpus text; the blends cover every stage."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from skyforge.data.corpora import CORPORA, SPLITS

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run_dir(default_dag_run):
    return default_dag_run[0]


def test_tokenizer_artifact(run_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(run_dir / "results/tokenizer/tokenizer.json"))
    assert tok.get_vocab_size() == 4096
    for name in ("tokenizer_config.json", "special_tokens_map.json", "stats.csv", "stats.md"):
        assert (run_dir / "results/tokenizer" / name).stat().st_size > 0
    stats = (run_dir / "results/tokenizer/stats.md").read_text()
    assert "main-zh" in stats and "main-en" in stats


@pytest.mark.parametrize("corpus", CORPORA)
def test_packs_round_trip_to_the_corpus_text(run_dir, corpus):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    from skyforge.tokenize.tokenizer import load_tokenizer

    tok = load_tokenizer(run_dir / "results/tokenizer/tokenizer.json")
    for split in SPLITS:
        texts = []
        for shard in sorted((run_dir / "results/corpora" / corpus / split).glob("*.parquet")):
            texts += pq.read_table(shard, columns=["text"]).column("text").to_pylist()
        prefix = run_dir / "results/packs" / corpus / split
        counts = json.loads(prefix.with_suffix(".json").read_text())
        assert counts["docs"] == len(texts)
        if not texts:
            continue
        ds = IndexedDataset(str(prefix))
        assert len(ds) == len(texts)
        for i, text in enumerate(texts):
            ids = ds[i].tolist()
            assert ids[-1] == tok.eod
            assert tok.detokenize(ids[:-1]) == text


def test_blends_cover_every_stage(run_dir):
    names = ["stage1"] + [f"stage2_{i}" for i in range(4)]
    stem_shares = []
    for name in names:
        blend = json.loads((run_dir / "results/blends" / f"{name}.json").read_text())
        prefixes, weights = blend["blend"]
        assert abs(sum(weights) - 1) < 1e-9 and len(prefixes) == len(weights)
        assert blend["split"] == "100,0,0"
        for prefix in prefixes:
            assert (run_dir / f"{prefix}.bin").exists() and prefix.endswith("/train")
        stem_shares.append(blend["corpora"].get("stem", {}).get("share", 0.0))
        # Validation is the held-out split of every domain, never a slice of the train packs.
        assert set(blend["validation"]) == set(CORPORA)
        assert all(p.endswith("/heldout") for p in blend["validation"].values())
    assert stem_shares == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    summary = (run_dir / "results/blends/summary.md").read_text()
    assert "epochs" in summary
