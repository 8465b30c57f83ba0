"""The high-quality reference set the quality classifier learns from (its positives).

CCNet and RefinedWeb train their quality classifiers on text from a trusted source (Wikipedia, or
pages Wikipedia cites) against random crawl text. A cluster run points ``clean.quality_model``
at such a set (Parquet with ``text`` and ``lang``). The embedded default has no download, so
``synthesize_reference`` writes a stand-in: clean article and worked-problem text from the same
generators as the synthetic crawl, with a different seed, and no page chrome, spam or junk — a
curated set in the sense that matters here.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from skyforge.data import synth_crawl as S
from skyforge.data.docs import write_table

REFERENCE_SCHEMA = pa.schema(
    [pa.field("text", pa.string(), nullable=False), pa.field("lang", pa.string(), nullable=False)]
)

# A seed far from the crawl's so that no reference text is also a crawl page.
_SEED_OFFSET = 1_000_003


def synthesize_reference(seed: int, num_docs: int, out: Path) -> int:
    """Write ``num_docs`` clean reference documents (half English, half Chinese) to ``out``."""
    rng = random.Random(seed + _SEED_OFFSET)
    sites = S._Sites(rng)
    rows = []
    day0 = date(2020, 1, 1)
    for i in range(num_docs):
        lang = "en" if i % 2 == 0 else "zh"
        when = day0 + timedelta(days=rng.randrange(1000))
        if rng.random() < 0.8:
            doc = S._article_doc(rng, lang, when, sites.make(lang))
        else:
            doc = S._stem_doc(rng, lang, when)
        # Title and paragraphs; no byline (dates and view counts are page chrome, not prose).
        text = "\n".join([doc.title] + [b.text for b in doc.blocks])
        rows.append({"text": text, "lang": lang})
    return write_table(out, rows, REFERENCE_SCHEMA)
