"""Fluent low-quality pages that pass every rule (kind ``low_quality``, step ``quality_model``).

SEO listicles, templated what-is pages and spun articles about consumer products: punctuated,
full of stop words, no repeated line, so no heuristic rule (Gopher / C4 / FineWeb style) gives
them away; only the quality classifier can, which makes them its ground truth. Their topics
(consumer products, ``vocab.low_quality``) never occur on the clean news pages.
"""

from __future__ import annotations

import random

from skyforge.synthetic.pages.text import Block, Doc, fill, title_case
from skyforge.synthetic.vocab import low_quality as L

LOW_QUALITY_STYLES = ("listicle", "whatis", "spun")
"""Styles of ``low_quality`` pages (see ``vocab.low_quality``)."""


def low_quality_doc(rng: random.Random, lang: str, style: str | None = None) -> Doc:
    """An SEO listicle, a templated what-is page or a spun article about a consumer product.

    Fluent and punctuated, with stop words and no repeated line: nothing a heuristic rule
    measures gives it away; its sentences differ from any clean page's in kind.
    """
    style = style or rng.choice(LOW_QUALITY_STYLES)
    zh = lang == "zh"
    product = rng.choice(L.ZH_PRODUCTS if zh else L.EN_PRODUCTS)
    use = rng.choice(L.ZH_USES if zh else L.EN_USES)
    spin = L.ZH_SPIN if zh else L.EN_SPIN
    seo = L.ZH_SEO if zh else L.EN_SEO
    rank = iter(range(1, 100))

    def draw(slot: str) -> str:
        match slot:
            case "product" | "Product":
                return product if slot == "product" or zh else title_case(product)
            case "use" | "Use":
                return use if slot == "use" or zh else title_case(use)
            case "brand":
                return rng.choice(L.ZH_BRANDS if zh else L.EN_BRANDS)
            case "model":
                return f"{rng.choice(L.ZH_MODELS if zh else L.EN_MODELS)} {rng.randint(2, 900)}"
            case "buyer":
                return rng.choice(L.ZH_BUYERS if zh else L.EN_BUYERS)
            case "part":
                return rng.choice(L.ZH_PARTS if zh else L.EN_PARTS)
            case "k":
                return str(rng.randint(3, 15))
            case "n":
                return f"{rng.randint(2, 90) * 100:,}"
            case "i":
                return str(next(rank))
            case "year":
                return str(rng.randint(2019, 2024))
        if slot in spin:
            return rng.choice(spin[slot])
        if slot in seo:
            return rng.choice(seo[slot])
        raise AssertionError(f"unknown low-quality slot {slot!r}")

    titles = (L.ZH_TITLES if zh else L.EN_TITLES)[style]
    pool = (L.ZH_SENTENCES if zh else L.EN_SENTENCES)[style]
    # About half of the style's sentences (pools of 12 to 24, their wording slots drawn per
    # page): two pages of one style share too little to be near duplicates, even when both carry
    # the site-wide archive menu (120 English, 240 Chinese shingles, shared by all its pages).
    # Pools of 11 fixed-wording sentences made Chinese what-is pages of 250 characters, menu
    # included, 0.6-0.85 Jaccard apart, and MinHash took some for near duplicates.
    num = rng.randint(len(pool) // 2 + 1, len(pool) * 2 // 3 + 1)
    sentences = [fill(t, draw) for t in rng.sample(pool, num)]
    cuts = sorted(rng.sample(range(1, len(sentences)), 3))
    sep = "" if zh else " "
    bounds = zip([0, *cuts], [*cuts, len(sentences)], strict=True)
    paras = [sep.join(sentences[a:b]) for a, b in bounds]
    return Doc(fill(rng.choice(titles), draw), "", tuple(Block("p", p) for p in paras))
