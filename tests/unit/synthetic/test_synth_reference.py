"""The quality classifier's synthetic reference set."""

from __future__ import annotations

import pandas as pd

from skyforge.synthetic.reference import synthesize_reference
from skyforge.synthetic.vocab import low_quality as L


def test_synthetic_reference_is_curated_style(tmp_path):
    """Half encyclopedia / textbook text by its own generator, half clean pages; both languages;
    no sentence of the crawl's low-quality pages; deterministic for a seed."""
    assert synthesize_reference(3, 200, tmp_path / "a.parquet") == 200
    synthesize_reference(3, 200, tmp_path / "b.parquet")
    a = pd.read_parquet(tmp_path / "a.parquet")
    assert a.equals(pd.read_parquet(tmp_path / "b.parquet"))
    assert (a.lang.value_counts() == 100).all() and set(a.lang) == {"en", "zh"}
    text = "\n".join(a.text)
    curated = ["Standard references define", "are usually classified by", "Example 1."]
    curated += ["一般文献把", "例1："]
    assert all(marker in text for marker in curated)
    shares = a.text.str.contains("Standard references|Several types|例1|Example 1|一般文献|历史上")
    assert 0.3 < shares.mean() < 0.8, shares.mean()
    assert not any(p in text for p in L.EN_PRODUCTS + L.ZH_PRODUCTS)
