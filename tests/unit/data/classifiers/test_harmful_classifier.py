"""The harmful / spam classifier: planted pages, cross-fitted training, and what it removes."""

from __future__ import annotations

import random
from datetime import date

import pytest

from skyforge.data.classifiers.harmful import (
    apply_harmful,
    fold_of,
    train_harmful_model,
)
from skyforge.data.docs import read_docs, read_removed, write_docs, write_table
from skyforge.data.filters.heuristics import FLAGGED_SCHEMA
from skyforge.synthetic.pages.articles import article_doc
from skyforge.synthetic.pages.harmful import gambling_promo_doc
from skyforge.synthetic.pages.sites import Sites
from skyforge.synthetic.pages.stem import stem_doc
from skyforge.synthetic.planted import synthesize_planted


def _articles(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    sites = Sites(rng)
    docs = []
    for i in range(n):
        lang = ("zh", "en")[i % 2]
        if i % 5 == 4:
            doc = stem_doc(rng, lang, date(2024, 1, 1))
        else:
            doc = article_doc(rng, lang, date(2024, 1, 1), sites.make(lang))
        docs.append({"id": f"clean-{seed}-{i}", "text": doc.main_text, "lang": lang})
    return docs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("harmful-model")
    assert synthesize_planted(5, 120, d / "planted.parquet") == 120
    # Rule-flagged positives: a confident one and one below min_confidence (left out).
    rng = random.Random(9)
    flagged = [
        {
            "id": "f1",
            "lang": "zh",
            "reason": "harmful:gambling",
            "confidence": 3.0,
            "shard": 0,
            "text": gambling_promo_doc(rng, "zh").main_text,
        },
        {
            "id": "f2",
            "lang": "en",
            "reason": "harmful:adult",
            "confidence": 1.1,
            "shard": 0,
            "text": "borderline",
        },
    ]
    write_table(d / "flagged.parquet", flagged, FLAGGED_SCHEMA)
    write_docs(d / "negatives.parquet", _articles(1, 240))
    stats = train_harmful_model(
        [d / "flagged.parquet"], d / "planted.parquet", [d / "negatives.parquet"], d / "model"
    )
    return d, stats


def test_training_counts_and_metrics(trained):
    d, stats = trained
    assert stats["num_flagged_positives"] == 1  # the 1.1-confidence one is not a positive
    assert stats["num_planted_positives"] == 120
    assert sorted(p.name for p in (d / "model").iterdir()) == [
        "metrics.csv",
        "metrics.md",
        "model-0.bin",
        "model-1.bin",
    ]
    overall = stats["metrics"][-1]
    assert overall["lang"] == "all" and overall["recall"] >= 0.9
    assert overall["false_positive_rate"] <= 0.05


def test_removes_evasive_promotions_and_keeps_clean_text(trained, tmp_path):
    d, _ = trained
    rng = random.Random(77)
    evasive = [
        {
            "id": f"ev{i}",
            "text": gambling_promo_doc(rng, lang, evasive=True).main_text,
            "lang": lang,
        }
        for i, lang in enumerate(["zh", "en"] * 10)
    ]
    clean = _articles(2, 100)
    code = [
        {"id": "code", "text": "def f(x):\n    return x  # casino bonus free spins", "lang": "code"}
    ]
    write_docs(tmp_path / "in.parquet", evasive + clean + code)
    stats = apply_harmful(
        tmp_path / "in.parquet",
        3,
        d / "model",
        tmp_path / "kept.parquet",
        tmp_path / "removed.parquet",
        {"zh": 0.5, "en": 0.5},
    )
    removed = read_removed(tmp_path / "removed.parquet").to_pandas()
    kept = read_docs(tmp_path / "kept.parquet").to_pandas()
    assert len(removed) + len(kept) == len(evasive) + len(clean) + 1
    assert set(removed.step) == {"harmful_model"} and set(removed.reason) == {"harmful_classifier"}
    caught = set(removed.id) & {e["id"] for e in evasive}
    assert len(caught) >= 0.9 * len(evasive)
    assert len(set(removed.id) & {c["id"] for c in clean}) <= 0.02 * len(clean)
    assert "code" in set(kept.id)  # languages without a threshold are kept
    assert (kept.shard == 3).all() and stats["num_docs_in"] == len(kept) + len(removed)


def test_folds_are_stable_and_balanced():
    folds = [fold_of(f"<urn:uuid:{i}>", 2) for i in range(1000)]
    assert folds == [fold_of(f"<urn:uuid:{i}>", 2) for i in range(1000)]
    assert 400 < sum(folds) < 600


def test_bad_inputs(trained, tmp_path):
    d, _ = trained
    with pytest.raises(ValueError, match="no such file"):
        train_harmful_model(
            [tmp_path / "missing.parquet"], None, [d / "negatives.parquet"], tmp_path
        )
    write_docs(tmp_path / "empty.parquet", [])
    with pytest.raises(ValueError, match="needs positives and negatives"):
        train_harmful_model([], d / "planted.parquet", [tmp_path / "empty.parquet"], tmp_path)
    with pytest.raises(ValueError, match=r"harmful_model\.num_folds"):
        train_harmful_model(
            [], d / "planted.parquet", [d / "negatives.parquet"], tmp_path, num_folds=1
        )
    with pytest.raises(ValueError, match="no such file"):
        apply_harmful(d / "negatives.parquet", 0, tmp_path, tmp_path / "k", tmp_path / "r", {})
    with pytest.raises(ValueError, match=r"harmful_model\.thresholds\.zh"):
        apply_harmful(
            d / "negatives.parquet", 0, d / "model", tmp_path / "k", tmp_path / "r", {"zh": 2}
        )


def test_gate_scores_only_the_rules_near_misses(trained, tmp_path):
    from skyforge.config import HarmfulConfig
    from skyforge.data.filters.harmful import HarmfulRules

    d, _ = trained
    rules = HarmfulRules(HarmfulConfig.with_defaults())
    rng = random.Random(78)
    evasive = [
        {
            "id": f"ev{i}",
            "text": gambling_promo_doc(rng, lang, evasive=True).main_text,
            "lang": lang,
        }
        for i, lang in enumerate(["zh", "en"] * 5)
    ]
    # A page unlike every negative, with no listed term and no contact: never removed gated.
    odd = {
        "id": "odd",
        "lang": "en",
        "text": "Top 100 metal vocalists: "
        + ", ".join(f"Singer {i} of Band {i}" for i in range(100)),
    }
    write_docs(tmp_path / "in.parquet", [*evasive, odd, {"id": "e", "lang": "en", "text": ""}])
    stats = apply_harmful(
        tmp_path / "in.parquet",
        0,
        d / "model",
        tmp_path / "k.parquet",
        tmp_path / "r.parquet",
        {"zh": 0.5, "en": 0.5},
        candidate=rules.has_signal,
    )
    removed = set(read_removed(tmp_path / "r.parquet").column("id").to_pylist())
    assert stats["num_scored"] == len(evasive)  # every evasive page has a contact line
    assert removed == {e["id"] for e in evasive}
