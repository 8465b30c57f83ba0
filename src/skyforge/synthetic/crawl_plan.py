"""The crawl's plan: every record's kind, site, shard, position, date, URL and id, before any text.

``Plan`` shares ``num_pages`` between the page kinds of ``crawl.synthetic.mix`` (largest
remainder), picks which originals get exact or near copies (from kept kinds only, at most half
of a kind, clusters spread over more than one shard with the original first in reading order),
adds the ``non_html``, ``revisit`` and ``truncated`` records, deals records into shards in a
shuffled order, and draws dates, URLs (copies get tracking-parameter variants of their
original's) and record ids. Every draw comes from one RNG seeded with ``"{seed}/plan"``, so the
plan, and with it every file of the crawl, is a function of the configuration.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from skyforge.config import SyntheticCrawlConfig
from skyforge.synthetic.pages.farms import FARM_KINDS
from skyforge.synthetic.pages.harmful import HARMFUL_KINDS
from skyforge.synthetic.pages.leaks import (
    LEAK_KINDS,
    LEAK_NEGATIVE_KINDS,
    LEAK_TASKS,
    LeakPool,
    items_per_page,
    page_lang,
)
from skyforge.synthetic.pages.sites import Site, Sites
from skyforge.synthetic.vocab import general as V

log = logging.getLogger(__name__)

PAGE_KINDS = (
    "en_article",
    "zh_article",
    "code",
    "stem_qa",
    "parallel",
    "spam",
    "adult",
    "other_lang",
    "boilerplate_only",
    "adult_listing",
    "gambling_promo",
    "contact_spam",
    "link_farm",
    "error_links",
    "harmful_evasive",
    "mojibake",
    "mojibake_fixable",
    "low_quality",
    *LEAK_KINDS,
    *LEAK_NEGATIVE_KINDS,
    *FARM_KINDS,
)
"""HTML page kinds that ``SyntheticCrawlConfig.mix`` shares out ``num_pages`` between."""

EXTRA_KINDS = ("non_html", "revisit", "truncated")
"""Records written on top of ``num_pages``."""

# Kinds written with encoding damage in their content: served as UTF-8 (the damage is in the
# text the site stored, not in the transfer), never drawn for GBK.
_MOJIBAKE_KINDS = ("mojibake", "mojibake_fixable", "farm_mojibake")
# Duplicates are drawn from kept kinds only, so that dedup is scored on documents no earlier
# step removes; near copies only from prose long enough for small edits to stay above 0.8.
_EXACT_DUP_KINDS = ("en_article", "zh_article", "code", "stem_qa", "parallel")
_NEAR_DUP_KINDS = ("en_article", "zh_article")
_CLUSTER_COPIES = (1, 1, 1, 1, 2, 2, 3)  # copies per original, drawn uniformly


@dataclass
class Item:
    """One response or revisit record to write (a page, a non-HTML payload, a revisit...)."""

    uid: int
    kind: str
    lang: str
    site: Site
    sublang: str = ""  # other_lang: fr/de/es/ja; non_html: png/pdf
    encoding: str | None = "utf-8"
    charset_in_header: bool = True
    has_dropdown: bool = False
    cluster: int = -1
    dup_type: str | None = None  # set on copies only
    source: int | None = None  # uid of the cluster's original (copies) or revisit referent
    copy_index: int = 0
    leak_task: str = ""  # leak kinds and their negatives: the benchmark planted or imitated
    leak_items: tuple[str, ...] = ()  # leak kinds: ids of the items planted
    shard: int = 0
    slot: int = 0  # position in the global shuffled order
    url: str = ""
    date: datetime | None = None
    record_id: str = ""
    request_id: str = ""


def _largest_remainder(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` into integers proportional to ``weights`` (ties broken by key order)."""
    wsum = sum(weights.values())
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    counts = {k: int(math.floor(v)) for k, v in exact.items()}
    order = sorted(weights, key=lambda k: (-(exact[k] - counts[k]), list(weights).index(k)))
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def _allocate_dups(
    num: int, eligible: Sequence[str], counts: dict[str, int], used: dict[str, int]
) -> dict[str, int]:
    """Share ``num`` copies among eligible kinds, at most half of each kind's pages in all."""
    alloc = {k: 0 for k in eligible}
    left = num
    while left > 0:
        room = {k: counts[k] // 2 - used.get(k, 0) - alloc[k] for k in eligible}
        room = {k: r for k, r in room.items() if r > 0}
        if not room:
            break
        share = _largest_remainder(left, {k: float(counts[k]) for k in room})
        placed = 0
        for k, n in share.items():
            n = min(n, room[k])
            alloc[k] += n
            placed += n
        left -= placed
        if placed == 0:
            break
    return alloc


def _parse_day(value: str, key: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"config key 'crawl.synthetic.{key}': '{value}' is not a date (YYYY-MM-DD)"
        ) from None


class Plan:
    """Every record's kind, site, shard, position, date, URL and id, before any text is made."""

    def __init__(self, cfg: SyntheticCrawlConfig, num_shards: int, leaks: LeakPool | None = None):
        self.cfg = cfg
        self.num_shards = num_shards
        self.leaks = leaks
        rng = random.Random(f"{cfg.seed}/plan")
        self.rng = rng
        self.start = datetime.combine(
            _parse_day(cfg.start_date, "start_date"), datetime.min.time(), tzinfo=UTC
        )
        end_day = _parse_day(cfg.end_date, "end_date")
        self.end = datetime.combine(
            end_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC
        ) - timedelta(seconds=1)
        if self.end < self.start:
            raise ValueError("config key 'crawl.synthetic.end_date': is before start_date")
        mix = cfg.mix_dict if cfg.mix else SyntheticCrawlConfig.with_defaults().mix_dict
        unknown = sorted(set(mix) - set(PAGE_KINDS))
        if unknown:
            raise ValueError(
                f"config key 'crawl.synthetic.mix.{unknown[0]}': unknown page kind "
                f"(known: {', '.join(PAGE_KINDS)})"
            )
        self.kind_counts = _largest_remainder(
            cfg.num_pages, {k: mix.get(k, 0.0) for k in PAGE_KINDS}
        )
        self.sites = Sites(rng)
        self.items: list[Item] = []
        self.clusters: dict[int, list[int]] = {}
        self._make_pages()
        self._make_extras()
        self._order()
        self._fix_clusters()
        self._assign_dates_urls_ids()

    # -- pages -----------------------------------------------------------------------------

    def _site_pool(self, lang: str, flavor: str, num_pages: int) -> list[Site]:
        return [self.sites.make(lang, flavor) for _ in range(max(1, math.ceil(num_pages / 25)))]

    def _make_pages(self) -> None:
        cfg, rng, counts = self.cfg, self.rng, self.kind_counts
        num_exact = round(cfg.exact_dup_fraction * cfg.num_pages)
        num_near = round(cfg.near_dup_fraction * cfg.num_pages)
        near = _allocate_dups(num_near, [k for k in _NEAR_DUP_KINDS if counts[k]], counts, {})
        exact = _allocate_dups(num_exact, [k for k in _EXACT_DUP_KINDS if counts[k]], counts, near)
        placed_exact, placed_near = sum(exact.values()), sum(near.values())
        if placed_exact < num_exact or placed_near < num_near:
            log.warning(
                "synthetic crawl: the mix leaves room for %d of %d exact and %d of %d near "
                "duplicates (copies come from kept kinds, at most half of each kind)",
                placed_exact,
                num_exact,
                placed_near,
                num_near,
            )

        pools: dict[tuple[str, str], list[Site]] = {}
        # Rough pages per pool, so that a site carries some 25 pages at any crawl size.
        pool_pages = {
            ("en", "news"): counts["en_article"] + counts["boilerplate_only"] // 2,
            ("zh", "news"): counts["zh_article"] + counts["boilerplate_only"] // 2,
            ("en", "code"): counts["code"],
            ("en", "qa"): counts["stem_qa"] // 2,
            ("zh", "qa"): counts["stem_qa"] // 2,
            ("zh", "parallel"): counts["parallel"],
        }

        def site_for(lang: str, flavor: str) -> Site:
            key = (lang, flavor)
            if key not in pools:
                num = pool_pages.get(key, counts["other_lang"] // len(V.OTHER_LANGS))
                pools[key] = self._site_pool(lang, flavor, num)
            return rng.choice(pools[key])

        originals: dict[str, list[int]] = {k: [] for k in PAGE_KINDS}
        if self.leaks is None and any(counts[k] for k in (*LEAK_KINDS, *LEAK_NEGATIVE_KINDS)):
            raise ValueError("synthetic crawl: the leak kinds need the benchmark items (leaks=)")
        leak_rng = random.Random(f"{cfg.seed}/leaks")
        for kind in PAGE_KINDS:
            num_orig = counts[kind] - exact.get(kind, 0) - near.get(kind, 0)
            for index in range(num_orig):
                uid = len(self.items)
                if kind in (*LEAK_KINDS, *LEAK_NEGATIVE_KINDS):
                    self.items.append(self._leak_item(uid, kind, index, leak_rng, site_for))
                    originals[kind].append(uid)
                    continue
                if kind in ("stem_qa", "spam", "adult", "boilerplate_only", "low_quality"):
                    lang = rng.choice(("en", "zh"))
                elif kind in HARMFUL_KINDS:
                    lang = rng.choice(("en", "zh"))
                elif kind in _MOJIBAKE_KINDS or kind == "farm_stitched":
                    lang = rng.choice(("en", "zh"))
                elif kind == "farm_bracketed":
                    lang = "zh"
                else:
                    lang = {
                        "en_article": "en",
                        "zh_article": "zh",
                        "code": "code",
                        "parallel": "zh",
                        "other_lang": "other",
                    }[kind]
                sub = rng.choice(sorted(V.OTHER_LANGS)) if kind == "other_lang" else ""
                if kind == "spam":
                    site = self.sites.spam_host()
                elif kind == "adult":
                    site = self.sites.adult_host(lang)
                elif kind in (*HARMFUL_KINDS, *FARM_KINDS, "low_quality"):
                    site = self.sites.junk_host(lang)
                elif kind == "other_lang":
                    site = site_for(sub, "news")
                elif kind == "code":
                    site = site_for("en", "code")
                elif kind == "stem_qa":
                    site = site_for(lang, "qa")
                elif kind == "parallel":
                    site = site_for("zh", "parallel")
                else:
                    site = site_for("zh" if lang == "zh" else "en", "news")
                self.items.append(Item(uid, kind, lang, site, sublang=sub))
                originals[kind].append(uid)

        # Encodings and drop-downs are drawn over originals; copies inherit them.
        zh_pages = [
            it.uid for it in self.items if it.lang == "zh" and it.kind not in _MOJIBAKE_KINDS
        ]
        for i, uid in enumerate(
            sorted(rng.sample(zh_pages, round(cfg.gbk_fraction * len(zh_pages))))
        ):
            self.items[uid].encoding = "gbk"
            self.items[uid].charset_in_header = i % 2 == 0
        for it in self.items:
            if it.encoding == "utf-8":
                it.charset_in_header = rng.random() < 0.5
        for uid in rng.sample(
            range(len(self.items)), round(cfg.dropdown_fraction * len(self.items))
        ):
            self.items[uid].has_dropdown = True

        for dup_type, alloc in (("near", near), ("exact", exact)):
            for kind in PAGE_KINDS:
                self._make_clusters(dup_type, alloc.get(kind, 0), originals[kind])

    def _leak_item(
        self, uid: int, kind: str, index: int, rng: random.Random, site_for: Callable
    ) -> Item:
        """Page ``index`` of a leak kind: its benchmark (dealt in turn), language, site and, for
        the leaks themselves, the items it plants (each planted once while any is left)."""
        assert self.leaks is not None
        task = LEAK_TASKS[index % len(LEAK_TASKS)]
        lang = page_lang(kind, task, index // len(LEAK_TASKS))
        quiz = kind not in ("leak_embedded", "leak_negative_topic")
        site = site_for(lang, "qa" if quiz else "news")
        item_ids: tuple[str, ...] = ()
        if kind in LEAK_KINDS:
            item_ids = tuple(self.leaks.draw(rng, task, items_per_page(kind, task, rng)))
        return Item(uid, kind, lang, site, leak_task=task, leak_items=item_ids)

    def _make_clusters(self, dup_type: str, num_copies: int, pool: list[int]) -> None:
        rng = self.rng
        free = [u for u in pool if self.items[u].cluster < 0]
        sizes = []
        left = num_copies
        while left > 0:
            sizes.append(min(left, rng.choice(_CLUSTER_COPIES)))
            left -= sizes[-1]
        if not free:
            return
        # More clusters than free originals (tiny crawls): fold the extra copies into others.
        while len(sizes) > len(free):
            extra = sizes.pop()
            sizes[-1] += extra
        for size, src in zip(sizes, rng.sample(free, len(sizes)), strict=True):
            cid = len(self.clusters)
            orig = self.items[src]
            orig.cluster = cid
            members = [src]
            for j in range(size):
                uid = len(self.items)
                copy = replace(orig, uid=uid, dup_type=dup_type, source=src, copy_index=j + 1)
                if dup_type == "near" and rng.random() < 0.5:
                    # Syndicated elsewhere: same article on another site of the same language.
                    copy.site = self.sites.make(orig.site.lang, "news")
                self.items.append(copy)
                members.append(uid)
            self.clusters[cid] = members

    # -- extras ----------------------------------------------------------------------------

    def _make_extras(self) -> None:
        cfg, rng = self.cfg, self.rng
        news = [it.site for it in self.items if it.kind in ("en_article", "zh_article")]
        news = news or [self.sites.make("en")]
        num_revisit = cfg.num_non_html // 4
        for i in range(cfg.num_non_html - num_revisit):
            uid = len(self.items)
            self.items.append(
                Item(
                    uid,
                    "non_html",
                    "none",
                    rng.choice(news),
                    sublang="png" if i % 2 == 0 else "pdf",
                    encoding=None,
                    charset_in_header=False,
                )
            )
        kept = [it.uid for it in self.items if it.kind in _EXACT_DUP_KINDS and it.dup_type is None]
        for _ in range(num_revisit if kept else 0):
            ref = self.items[rng.choice(kept)]
            uid = len(self.items)
            self.items.append(
                Item(
                    uid,
                    "revisit",
                    ref.lang,
                    ref.site,
                    encoding=ref.encoding,
                    charset_in_header=ref.charset_in_header,
                    source=ref.uid,
                )
            )
        self.truncated: list[Item] = []
        for _ in range(cfg.num_truncated):
            lang = rng.choice(("en", "zh"))
            site = self.sites.make(lang)
            self.truncated.append(Item(-1, "truncated", lang, site, charset_in_header=True))

    # -- shards and order ------------------------------------------------------------------

    def _order(self) -> None:
        order = list(range(len(self.items)))
        self.rng.shuffle(order)
        for slot, uid in enumerate(order):
            self.items[uid].slot = slot
            self.items[uid].shard = slot % self.num_shards
        for j, it in enumerate(self.truncated):
            it.uid = len(self.items) + j
            it.shard = j % self.num_shards
            it.slot = len(self.items) + j  # after every ordinary record: at the end of its shard

    def _swap(self, a: Item, b: Item) -> None:
        a.slot, b.slot = b.slot, a.slot
        a.shard, b.shard = b.shard, a.shard

    @staticmethod
    def _pos(it: Item) -> tuple[int, int]:
        return it.shard, it.slot

    def _fix_clusters(self) -> None:
        """Spread every cluster over >1 shard, and put its original first in reading order."""
        rng = self.rng
        singles = [it for it in self.items if it.cluster < 0 and it.kind != "revisit"]
        for members in self.clusters.values():
            its = [self.items[u] for u in members]
            if self.num_shards > 1 and len({it.shard for it in its}) == 1:
                others = [s for s in singles if s.shard != its[0].shard]
                if others:
                    self._swap(its[-1], rng.choice(others))
            first = min(its, key=self._pos)
            if first.uid != members[0]:
                self._swap(first, self.items[members[0]])

    def _rand_date(self, lo: datetime | None = None) -> datetime:
        lo = lo or self.start
        span = int((self.end - lo).total_seconds())
        return lo + timedelta(seconds=self.rng.randint(0, max(0, span)))

    def _uuid(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def _assign_dates_urls_ids(self) -> None:
        rng = self.rng
        for it in self.items + self.truncated:
            if it.kind != "revisit":
                it.date = self._rand_date()
        for it in self.items:
            if it.kind == "revisit":
                it.date = self._rand_date(self.items[it.source].date)
        for it in sorted(self.items + self.truncated, key=lambda i: i.uid):
            if it.dup_type == "exact":
                continue  # needs the original's URL first
            if it.kind == "revisit":
                continue
            it.url = self._url(it)
        variants = (
            "?utm_source=rss&utm_medium=feed",
            "?ref=homepage",
            "/amp",
            "?page=1",
            "?share=wechat",
            "#comments",
        )
        for members in self.clusters.values():
            orig = self.items[members[0]]
            pick = rng.sample(variants, len(variants))
            for k, uid in enumerate(members[1:]):
                it = self.items[uid]
                if it.dup_type == "exact":
                    v = pick[k % len(pick)]
                    url = orig.url.rstrip("/") + v if v == "/amp" else orig.url + v
                    if k >= len(pick):
                        url = url.replace("https://", "http://", 1)
                    it.url = url
        for it in self.items:
            if it.kind == "revisit":
                it.url = self.items[it.source].url
        self.shard_info_ids = [self._uuid() for _ in range(self.num_shards)]
        for it in sorted(self.items + self.truncated, key=lambda i: i.uid):
            it.record_id, it.request_id = self._uuid(), self._uuid()

    def _url(self, it: Item) -> str:
        r, d = self.rng, it.date
        host = it.site.host
        n = r.randint(10_000, 9_999_999)
        if it.kind == "non_html":
            ext = it.sublang
            path = (
                f"/static/img/{r.getrandbits(64):016x}.png"
                if ext == "png"
                else f"/uploads/{d.year}/{d.month:02d}/report-{n}.pdf"
            )
        elif it.kind in ("spam", "adult", *HARMFUL_KINDS):
            path = f"/{r.choice(['index', 'hot', 'deal', 'video', 'page'])}-{n}.html"
        elif it.kind == "boilerplate_only":
            path = r.choice(
                [f"/login?next=/p/{n}", f"/404?from=/a/{n}", f"/search?q={n}", f"/video/{n}"]
            )
        elif it.lang == "zh" or it.kind == "parallel":
            path = (
                f"/{r.choice(['news', 'article', 'a', 'content'])}/{d:%Y%m}/t{d:%Y%m%d}_{n}.shtml"
            )
        else:
            path = f"/{d:%Y/%m/%d}/{r.choice(['post', 'story', 'p'])}-{n}.html"
        if it.copy_index and it.dup_type == "near":
            path = path.replace(".", f"-{it.copy_index}.", 1) if "." in path else path + "-2"
        return f"https://{host}{path}"
