"""Harmful and spam pages on random, unlisted domains, which only their content gives away.

The page types a Chinese pretraining team meets in a real Common Crawl slice: adult-video
listing titles stacked above a copied article (``adult_listing``), gambling promotions with
deposit bonuses and contact lines (``gambling_promo``), service ads stuffed with QQ / WeChat /
phone handles (``contact_spam``), casino mirror lists (``link_farm``) and error pages full of
gambling links (``error_links``): the content rules (step ``harmful``) must remove them. Their
evasive twin (``harmful_evasive``: key words broken up by symbols) is for the classifier
(``harmful_model``). A third of the Chinese ones are in traditional script, as Hong Kong and
Taiwan-facing sites write them. The planted positives (``synthetic.planted``) reuse these.
"""

from __future__ import annotations

import random
from datetime import date

from skyforge.data.filters.harmful import to_traditional
from skyforge.synthetic.pages.articles import article_doc
from skyforge.synthetic.pages.sites import Site
from skyforge.synthetic.pages.text import Block, Doc, fill
from skyforge.synthetic.vocab import general as V
from skyforge.synthetic.vocab import harmful as H

HARMFUL_KINDS = (
    "adult_listing",
    "gambling_promo",
    "contact_spam",
    "link_farm",
    "error_links",
    "harmful_evasive",
)
"""Harmful and spam pages on random, unlisted domains that only their content gives away."""


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(5, 95)}:{rng.randint(0, 59):02d}"


def adult_listing_doc(rng: random.Random, lang: str, when: date, site: Site) -> Doc:
    """Adult-video listing titles stacked above a copied article (a hijacked page)."""
    article = article_doc(rng, lang, when, site)
    if lang == "zh":
        titles = [
            f"{rng.choice(H.ZH_ADULT_WHO)}{rng.choice(H.ZH_ADULT_WHAT)}第{rng.randint(1, 999)}集"
            f" {rng.choice(H.ZH_ADULT_TAG)} {_clock(rng)}"
            for _ in range(rng.randint(8, 14))
        ]
    else:
        titles = [
            f"{rng.choice(H.EN_ADULT_WHO).title()} {rng.choice(H.EN_ADULT_WHAT)} part "
            f"{rng.randint(1, 99)} - {rng.choice(H.EN_ADULT_TAG)} {_clock(rng)}"
            for _ in range(rng.randint(8, 14))
        ]
    blocks = tuple(Block("p", t) for t in titles) + article.blocks
    return Doc(titles[0], "", blocks)


def _promo_fill(rng: random.Random, lang: str, template: str, brand: str) -> str:
    games = H.ZH_GAMES if lang == "zh" else H.EN_GAMES
    egames = H.ZH_EVASIVE_GAMES if lang == "zh" else H.EN_EVASIVE_GAMES

    def draw(slot: str) -> str:
        match slot:
            case "brand":
                return brand
            case "game":
                return rng.choice(games)
            case "egame":
                return rng.choice(egames)
            case "n":
                return str(rng.choice([100, 200, 500, 1000, 2000, 5000]) * rng.randint(1, 3))
            case "m":
                return str(rng.choice([8, 18, 28, 38, 58, 88, 188, 288, 888]))
            case "pct":
                return str(rng.randint(1, 9) * 5)
            case "k":
                return str(rng.randint(2, 30))
            case "code":
                return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
            case "country":
                return rng.choice(H.EN_COUNTRIES)
        raise AssertionError(f"unknown promotion slot {slot!r}")

    return fill(template, draw)


def _contacts(rng: random.Random, lang: str, num: int) -> list[str]:
    """``num`` contact lines for one advertiser: the same handles, written different ways."""
    qq = str(rng.randint(10**7, 10**10))
    wx = rng.choice(["vip", "kf", "bc", "yl", "dd"]) + str(rng.randint(1000, 99999))
    phone = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}"
    handle = rng.choice(["win", "vip", "pay", "fast", "help"]) + str(rng.randint(100, 9999))
    forms = H.ZH_CONTACT_FORMS if lang == "zh" else H.EN_CONTACT_FORMS
    values = {"qq": qq, "wx": wx, "phone": phone, "handle": handle}

    def draw(slot: str) -> str:
        # Parts of international numbers: one per form (an advertiser lists several lines).
        if slot in values:
            return values[slot]
        return str(rng.randint(200, 999) if slot == "p3" else rng.randint(1000, 9999))

    return [fill(f, draw) for f in rng.sample(forms, min(num, len(forms)))]


def gambling_promo_doc(rng: random.Random, lang: str, evasive: bool = False) -> Doc:
    """Deposit bonuses, free credit, agent recruitment and a contact line or two."""
    if lang == "zh":
        brands = H.ZH_EVASIVE_BRANDS if evasive else H.ZH_GAMBLING_BRANDS
        pool = H.ZH_EVASIVE_SENTENCES if evasive else H.ZH_GAMBLING_SENTENCES
        sep = ""
    else:
        brands = H.EN_CASINO_BRANDS
        pool = H.EN_EVASIVE_SENTENCES if evasive else H.EN_GAMBLING_SENTENCES
        sep = " "
    brand = rng.choice(brands)
    sentences = [_promo_fill(rng, lang, t, brand) for t in rng.sample(pool, rng.randint(6, 9))]
    cut = sorted(rng.sample(range(1, len(sentences)), 2))
    paras = [sentences[: cut[0]], sentences[cut[0] : cut[1]], sentences[cut[1] :]]
    blocks = [Block("p", sep.join(p)) for p in paras]
    blocks += [Block("p", c) for c in _contacts(rng, lang, rng.randint(1, 2))]
    if lang == "zh":
        title = f"{brand}｜最新优惠活动" if evasive else f"{brand}娱乐城官网｜首存送彩金"
    else:
        title = f"{brand} - New Player Offers" if evasive else f"{brand} Casino - Free Spins Bonus"
    return Doc(title, "", tuple(blocks))


def contact_spam_doc(rng: random.Random, lang: str) -> Doc:
    """A service ad whose every paragraph ends with the same QQ / WeChat / phone handles."""
    if lang == "zh":
        service, city = rng.choice(H.ZH_SERVICES), rng.choice(V.ZH_CITIES)
        templates, sep = H.ZH_SERVICE_SENTENCES, "，"
    else:
        service, city = rng.choice(H.EN_SERVICES), rng.choice(V.EN_CITIES)
        templates, sep = H.EN_SERVICE_SENTENCES, " - "
    values = {"service": service, "city": city, "k": str(rng.randint(12, 24))}
    values["n"] = str(rng.randint(3, 90) * 100)
    contacts = _contacts(rng, lang, 8)
    blocks = []
    sentences = [fill(t, values.__getitem__) for t in rng.sample(templates, len(templates))]
    joiner = "" if lang == "zh" else " "
    for i in range(4):
        blocks.append(Block("p", joiner.join(sentences[2 * i : 2 * i + 2])))
        blocks.append(Block("p", sep.join(contacts[2 * i : 2 * i + 2])))
    title = f"{city}{service}" if lang == "zh" else f"{service.title()} in {city}"
    return Doc(title, "", tuple(blocks))


def _mirror_domain(rng: random.Random) -> str:
    stem = rng.choice(
        [
            f"{rng.randint(0, 9)}{rng.randint(1000, 99999)}",
            "".join(rng.sample(V.ZH_PINYIN, 2)) + str(rng.randint(10, 999)),
            rng.choice(["js", "yh", "xpj", "hg", "am", "bm"]) + str(rng.randint(100, 9999)),
        ]
    )
    prefix = rng.choice(["", "", "", "www.", "m."])
    return f"{prefix}{stem}.{rng.choice(['com', 'cc', 'vip', 'net', 'top'])}"


def link_farm_doc(rng: random.Random, lang: str) -> Doc:
    """A mirror list: a few lines of text, then dozens of bare casino domains."""
    intros = H.ZH_LINK_FARM_INTROS if lang == "zh" else H.EN_LINK_FARM_INTROS
    # Enough running text for the length rules (75 CJK characters, 50 English words).
    blocks = [Block("p", t) for t in rng.sample(intros, len(intros))]
    blocks += [Block("p", _mirror_domain(rng)) for _ in range(rng.randint(20, 35))]
    title = "最新网址导航" if lang == "zh" else "Mirror list - working links"
    return Doc(title, "", tuple(blocks))


def error_links_doc(rng: random.Random, lang: str) -> Doc:
    """An error page stuffed with links to gambling sites."""
    if lang == "zh":
        msgs = rng.sample(H.ZH_ERROR_MESSAGES, 2)
        names = H.ZH_GAMBLING_BRANDS + H.ZH_GAMES
        suffixes, heading, sep = H.ZH_GAMBLING_LINK_SUFFIX, "热门推荐", ""
    else:
        msgs = rng.sample(H.EN_ERROR_MESSAGES, 2)
        names, suffixes = H.EN_CASINO_BRANDS, H.EN_GAMBLING_LINK_SUFFIX
        heading, sep = "Popular pages", " "
    pairs = rng.sample([(a, b) for a in names for b in suffixes], rng.randint(15, 25))
    blocks = [Block("p", m) for m in msgs] + [Block("h2", heading)]
    blocks += [
        Block("plink", f"{a}{sep}{b}", f"https://{_mirror_domain(rng)}/?from=404") for a, b in pairs
    ]
    return Doc("404", "", tuple(blocks))


def maybe_traditional(rng: random.Random, doc: Doc, share: float = 1 / 3) -> Doc:
    """With probability ``share``, the page in traditional characters (those the term lists'
    folding table knows, as a Hong Kong or Taiwan site writes the same promotion)."""
    if rng.random() >= share:
        return doc
    blocks = tuple(b._replace(text=to_traditional(b.text)) for b in doc.blocks)
    return Doc(to_traditional(doc.title), to_traditional(doc.byline), blocks)
