"""Planted positives for the harmful / spam classifier: synthetic harmful pages of every kind.

The classifier learns from what the content rules flagged; a real crawl with few flagged pages
would leave it little to learn, so the DAG adds ``harmful_model.planted_num_docs`` planted
pages made by the crawl's own harmful generators (``pages.harmful``: adult listings, gambling
promotions and their evasive twins, contact spam, link farms, error pages), both languages and
every kind in turn, a third of the Chinese ones in traditional script. The seed is offset from
the crawl's and the reference set's, so no planted page is also a crawl page.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from skyforge.data.classifiers.harmful import PLANTED_SCHEMA
from skyforge.data.docs import write_table
from skyforge.synthetic.pages.harmful import (
    HARMFUL_KINDS,
    adult_listing_doc,
    contact_spam_doc,
    error_links_doc,
    gambling_promo_doc,
    link_farm_doc,
    maybe_traditional,
)
from skyforge.synthetic.pages.sites import Sites

__all__ = ["synthesize_planted"]

# Far from the crawl's and the reference set's seeds: no planted page is also a crawl page.
_SEED_OFFSET = 2_000_029


def synthesize_planted(seed: int, num_docs: int, out: Path) -> int:
    """Write ``num_docs`` synthetic harmful pages (both languages, every harmful kind) to ``out``.

    Returns:
        The number of rows written.
    """
    rng = random.Random(seed + _SEED_OFFSET)
    sites = Sites(rng)
    rows = []
    day0 = date(2020, 1, 1)
    for i in range(num_docs):
        lang = "en" if i % 2 == 0 else "zh"
        kind = HARMFUL_KINDS[(i // 2) % len(HARMFUL_KINDS)]
        when = day0 + timedelta(days=rng.randrange(1000))
        match kind:
            case "adult_listing":
                doc = adult_listing_doc(rng, lang, when, sites.junk_host(lang))
            case "gambling_promo" | "harmful_evasive":
                doc = gambling_promo_doc(rng, lang, evasive=kind == "harmful_evasive")
            case "contact_spam":
                doc = contact_spam_doc(rng, lang)
            case "link_farm":
                doc = link_farm_doc(rng, lang)
            case "error_links":
                doc = error_links_doc(rng, lang)
            case _:
                raise AssertionError(f"no planted page for kind {kind!r}")
        if lang == "zh":
            doc = maybe_traditional(rng, doc)
        rows.append({"text": doc.main_text, "lang": lang, "kind": kind})
    return write_table(out, rows, PLANTED_SCHEMA)
