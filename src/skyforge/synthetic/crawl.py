"""A synthetic bilingual Common-Crawl-style crawl whose every record has a known fate.

The embedded default cannot download a crawl, yet every cleaning step must be checked against
something it can get wrong. ``synthesize_crawl`` writes real WARC/1.1 shards laid out as Common
Crawl's (``warcinfo``, then ``request`` + ``response`` pairs, one gzip member per record) and
``ground_truth.parquet``: one row per fetched document (response or revisit record) naming the
first step that should remove it (``expected_step``, null when it should survive) and, for
duplicates, the original it copies (the first of its cluster in reading order). Page kinds and
the step each tests live in ``synthetic.pages``; sites and chrome in ``synthetic.sites``; who
goes where in ``synthetic.crawl_plan``. This module renders the plan and writes the files.

Deterministic: every draw comes from ``random.Random`` seeded from the config seed (per page
``f"{seed}/{uid}/{purpose}"``, hashed with SHA-512, so ``PYTHONHASHSEED`` does not matter),
record ids are UUIDs from RNG bits and the gzip members carry mtime 0: the same configuration,
shard count and Python installation give byte-identical files.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import random
import zlib
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from skyforge.config import SyntheticCrawlConfig, schema_defaults
from skyforge.data.crawl import shard_name
from skyforge.synthetic.benchmarks import synthetic_benchmark_items
from skyforge.synthetic.crawl_plan import EXTRA_KINDS, PAGE_KINDS, Item, Plan
from skyforge.synthetic.pages.articles import article_doc, code_doc, parallel_doc
from skyforge.synthetic.pages.farms import (
    FARM_KINDS,
    bracketed_doc,
    mojibake_fragments_doc,
    stitched_doc,
)
from skyforge.synthetic.pages.harmful import (
    HARMFUL_KINDS,
    adult_listing_doc,
    contact_spam_doc,
    error_links_doc,
    gambling_promo_doc,
    link_farm_doc,
    maybe_traditional,
)
from skyforge.synthetic.pages.junk import (
    adult_doc,
    boilerplate_doc,
    mojibake_doc,
    other_lang_doc,
    pdf,
    png,
    spam_doc,
)
from skyforge.synthetic.pages.leaks import (
    LEAK_KINDS,
    LEAK_NEGATIVE_KINDS,
    LeakPool,
    leak_doc,
    negative_doc,
)
from skyforge.synthetic.pages.low_quality import low_quality_doc
from skyforge.synthetic.pages.near_dup import near_variant
from skyforge.synthetic.pages.sites import (
    DROPDOWN_HTML_EN,
    DROPDOWN_HTML_ZH,
    DROPDOWN_TEXT_EN,
    DROPDOWN_TEXT_ZH,
    page_html,
)
from skyforge.synthetic.pages.stem import stem_doc
from skyforge.synthetic.pages.text import Doc

# The crawl's public names; the kinds and the drop-down are defined beside the code that uses them.
__all__ = [
    "REMOVAL_STEPS",
    "PAGE_KINDS",
    "HARMFUL_KINDS",
    "LEAK_KINDS",
    "LEAK_NEGATIVE_KINDS",
    "FARM_KINDS",
    "EXTRA_KINDS",
    "DROPDOWN_HTML_EN",
    "DROPDOWN_HTML_ZH",
    "DROPDOWN_TEXT_EN",
    "DROPDOWN_TEXT_ZH",
    "GROUND_TRUTH_SCHEMA",
    "synthesize_crawl",
    "shard_name",
]

log = logging.getLogger(__name__)

REMOVAL_STEPS = (
    "extract",
    "url_filter",
    "encoding",
    "language",
    "heuristic",
    "harmful",
    "exact_dedup",
    "near_dedup",
    "decontaminate",
    "quality_model",
    "harmful_model",
)
"""Pipeline steps that remove documents, in pipeline order (``expected_step`` values)."""

# The first step that removes each kind; kinds not listed are kept unless duplicated.
_KIND_STEP = {
    "adult": ("url_filter", "domain on the adult blocklist"),
    "other_lang": ("language", "not Chinese or English"),
    "spam": ("heuristic", "keyword-stuffed spam with a link farm"),
    "boilerplate_only": ("heuristic", "navigation and boilerplate only, no main content"),
    "non_html": ("extract", "not HTML"),
    "revisit": ("extract", "revisit record: no payload"),
    "truncated": ("extract", "truncated record"),
    "adult_listing": ("harmful", "adult-video listing titles above a copied article"),
    "gambling_promo": ("harmful", "gambling promotion: deposit bonuses, agents, contact lines"),
    "contact_spam": ("harmful", "service ad stuffed with QQ / WeChat / phone contacts"),
    "link_farm": ("harmful", "link farm of casino mirror domains"),
    "error_links": ("harmful", "error page stuffed with gambling links"),
    "harmful_evasive": ("harmful_model", "gambling promotion with its key words broken up"),
    "mojibake": ("encoding", "body is UTF-8 read as GBK / Windows-1252, bytes lost"),
    "low_quality": ("quality_model", "fluent low-quality text: SEO listicle, what-is page, spun"),
    "leak_verbatim": ("decontaminate", "benchmark items copied as they are"),
    "leak_edited": ("decontaminate", "benchmark items lightly edited"),
    "leak_embedded": ("decontaminate", "a benchmark item inside a long unrelated article"),
    "leak_translated": ("decontaminate", "benchmark items translated (zh <-> en)"),
    "farm_stitched": ("heuristic", "content farm: sentences of unrelated news stories"),
    "farm_bracketed": ("heuristic", "content farm: characters wrapped one by one in brackets"),
    "farm_mojibake": ("encoding", "content farm: mojibake fragments inside clean lines"),
}

_SOFTWARE = "skyforge-synth-crawl/0.1"
_USER_AGENT = "Mozilla/5.0 (compatible; SkyforgeSynthBot/0.1; synthetic crawl)"

GROUND_TRUTH_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("url", pa.string()),
        ("shard", pa.int32()),
        ("offset", pa.int64()),
        ("record_type", pa.string()),
        ("kind", pa.string()),
        ("lang", pa.string()),
        ("encoding", pa.string()),
        ("charset_in_header", pa.bool_()),
        ("content_type", pa.string()),
        ("crawl_date", pa.timestamp("s", tz="UTC")),
        ("dup_cluster", pa.int64()),
        ("dup_of", pa.string()),
        ("dup_type", pa.string()),
        ("expected_step", pa.string()),
        ("reason", pa.string()),
        ("has_dropdown", pa.bool_()),
        ("title", pa.string()),
        ("main_text", pa.string()),
        ("leak_benchmark", pa.string()),
        ("leak_items", pa.list_(pa.string())),
        ("leak_equivalents", pa.list_(pa.string())),
    ]
)
"""Columns of ``ground_truth.parquet``. Beyond the scoring columns: ``offset`` (byte offset of the
record's gzip member in its shard), ``record_type`` (response / revisit), ``content_type`` (of the
HTTP response), ``charset_in_header`` (whether the HTTP header names the charset; otherwise only
``<meta>`` does), ``title`` and ``main_text`` (the text a perfect extractor returns: title, date
line and body, without navigation, boilerplate or the drop-down; null for non-HTML),
``leak_benchmark`` and ``leak_items`` (pages of the leak kinds: the benchmark and the ids of the
eval-split items planted, ``task/split/subject/row`` as ``synthetic.benchmarks.item_id`` names
them; null on every other row, the hard negatives included), ``leak_equivalents`` (the
eval-split items of any task with the same template and numbers as a planted one: naming them is
no false find)."""


class _Renderer:
    """Builds documents and HTML bodies; copies of one original reuse its bytes."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.seed = plan.cfg.seed
        self._docs: dict[int, Doc] = {}
        self._bodies: dict[int, bytes] = {}
        sources = {it.source for it in plan.items if it.source is not None}
        self._keep = sources  # originals whose doc/body copies or revisits reuse
        self._last: tuple[int, Doc] | None = None

    def rng(self, uid: int, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}/{uid}/{purpose}")

    def doc(self, it: Item) -> Doc:
        if it.uid in self._docs:
            return self._docs[it.uid]
        if self._last is not None and self._last[0] == it.uid:
            return self._last[1]  # the body and the ground-truth row both ask for it
        if it.dup_type == "exact":
            return self.doc(self.plan.items[it.source])
        if it.dup_type == "near":
            base = self.doc(self.plan.items[it.source])
            day = it.date.date() - timedelta(days=self.rng(it.uid, "date").randint(0, 3))
            doc = near_variant(self.rng(it.uid, "edit"), base, it.lang, day, it.site)
        else:
            doc = self._fresh_doc(it)
        if it.uid in self._keep:
            self._docs[it.uid] = doc
        self._last = (it.uid, doc)
        return doc

    def _fresh_doc(self, it: Item) -> Doc:
        doc = self._fresh_doc_simplified(it)
        if it.kind in HARMFUL_KINDS and it.lang == "zh":
            # A third of the Chinese spam comes from Hong Kong / Taiwan-facing sites.
            doc = maybe_traditional(self.rng(it.uid, "script"), doc)
        return doc

    def _fresh_doc_simplified(self, it: Item) -> Doc:
        r = self.rng(it.uid, "doc")
        day = it.date.date() - timedelta(days=r.randint(0, 30))
        match it.kind:
            case "en_article" | "zh_article" | "truncated":
                return article_doc(r, it.lang, day, it.site)
            case "code":
                return code_doc(r, day)
            case "stem_qa":
                return stem_doc(r, it.lang, day)
            case "parallel":
                return parallel_doc(r, day)
            case "spam":
                return spam_doc(r, it.lang)
            case "adult":
                return adult_doc(r, it.lang, it.site)
            case "other_lang":
                return other_lang_doc(r, it.sublang, day)
            case "boilerplate_only":
                return boilerplate_doc(r, it.lang)
            case "adult_listing":
                return adult_listing_doc(r, it.lang, day, it.site)
            case "gambling_promo" | "harmful_evasive":
                return gambling_promo_doc(r, it.lang, evasive=it.kind == "harmful_evasive")
            case "contact_spam":
                return contact_spam_doc(r, it.lang)
            case "link_farm":
                return link_farm_doc(r, it.lang)
            case "error_links":
                return error_links_doc(r, it.lang)
            case "low_quality":
                return low_quality_doc(r, it.lang)
            case "mojibake" | "mojibake_fixable":
                return mojibake_doc(r, it.lang, day, it.site, fixable=it.kind == "mojibake_fixable")
            case "leak_verbatim" | "leak_edited" | "leak_embedded" | "leak_translated":
                assert self.plan.leaks is not None
                return leak_doc(
                    r, it.kind, it.lang, day, it.site, self.plan.leaks, list(it.leak_items)
                )
            case "leak_negative_template" | "leak_negative_topic":
                assert self.plan.leaks is not None
                return negative_doc(
                    r, it.kind, it.leak_task, it.lang, day, it.site, self.plan.leaks
                )
            case "farm_stitched":
                return stitched_doc(r, it.lang, day, it.site)
            case "farm_bracketed":
                return bracketed_doc(r, day, it.site)
            case "farm_mojibake":
                return mojibake_fragments_doc(r, it.lang, day, it.site)
        raise AssertionError(f"no document for kind {it.kind!r}")

    def body(self, it: Item) -> bytes:
        """The HTTP payload; exact copies return their original's bytes."""
        if it.dup_type == "exact":
            return self.body(self.plan.items[it.source])
        if it.uid in self._bodies:
            return self._bodies[it.uid]
        if it.kind == "non_html":
            r = self.rng(it.uid, "binary")
            body = png(r) if it.sublang == "png" else pdf(r)
        else:
            page_lang = it.sublang if it.kind == "other_lang" else it.lang
            text = page_html(
                self.rng(it.uid, "chrome"),
                it.site,
                self.doc(it),
                lang=page_lang,
                encoding=it.encoding or "utf-8",
                dropdown=it.has_dropdown,
                year=it.date.year,
            )
            # GBK lacks a few symbols (², •); GBK sites write them as character references.
            body = text.encode(it.encoding or "utf-8", errors="xmlcharrefreplace")
        if it.uid in self._keep:
            self._bodies[it.uid] = body
        return body


def _content_type(it: Item) -> str:
    if it.kind == "non_html":
        return "image/png" if it.sublang == "png" else "application/pdf"
    if it.charset_in_header:
        return f"text/html; charset={'GBK' if it.encoding == 'gbk' else 'UTF-8'}"
    return "text/html"


def _http_response(it: Item, body_len: int) -> StatusAndHeaders:
    headers = [
        ("Date", format_datetime(it.date, usegmt=True)),
        ("Server", it.site.server),
        ("Content-Type", _content_type(it)),
        ("Content-Length", str(body_len)),
        ("Connection", "close"),
    ]
    if it.kind != "non_html":
        headers.insert(3, ("Cache-Control", "max-age=600"))
        headers.append(("Vary", "Accept-Encoding"))
    return StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")


def _http_request(it: Item) -> StatusAndHeaders:
    host, _, path = it.url.removeprefix("https://").removeprefix("http://").partition("/")
    path = "/" + path.split("#", 1)[0]
    accept_lang = "zh-CN,zh;q=0.9,en;q=0.6" if it.lang == "zh" else "en-US,en;q=0.8"
    headers = [
        ("Host", host),
        ("User-Agent", _USER_AGENT),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", accept_lang),
        ("Connection", "close"),
    ]
    return StatusAndHeaders(f"GET {path}", headers, protocol="HTTP/1.1", is_http_request=True)


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _warc_date(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


class _SeededWARCWriter(WARCWriter):
    """A WARCWriter that refuses to invent ids or dates (warcio would use uuid4 and the clock)."""

    def _make_warc_id(self):  # noqa: ANN202 - overrides warcio's classmethod
        raise AssertionError("synthetic records must carry an explicit WARC-Record-ID")

    def curr_warc_date(self):  # noqa: ANN202
        raise AssertionError("synthetic records must carry an explicit WARC-Date")


def synthesize_crawl(
    cfg: SyntheticCrawlConfig,
    num_shards: int,
    out_dir: Path,
    benchmarks: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a synthetic bilingual crawl as WARC shards plus its ground truth.

    Args:
        cfg: size and make-up of the crawl (``crawl.synthetic``).
        num_shards: number of ``shard-NNNNN.warc.gz`` files (``crawl.num_shards``).
        out_dir: created if missing; outputs are written under temporary names and renamed
            only when everything succeeded, so a failure leaves no final file behind.
        benchmarks: the settings of the DAG's synthetic benchmark sets
            (``eval.benchmarks.synthetic``), whose eval-split items the leak kinds plant; None
            takes the schema's defaults.

    Returns:
        A JSON-serialisable summary (the crawl manifest): page counts per kind, duplicate,
        GBK, drop-down and removal counts, and records and bytes per shard.

    Raises:
        ValueError: ``num_shards`` below 1, an unknown kind in ``mix``, or a bad date.
    """
    if num_shards < 1:
        raise ValueError(f"config key 'crawl.num_shards': must be at least 1, got {num_shards}")
    out_dir = Path(out_dir)
    if benchmarks is None:
        benchmarks = schema_defaults("eval", "benchmarks", "synthetic")
    leaks = LeakPool(synthetic_benchmark_items(**benchmarks))
    plan = Plan(cfg, num_shards, leaks)
    render = _Renderer(plan)
    out_dir.mkdir(parents=True, exist_ok=True)

    names = [shard_name(i) for i in range(num_shards)] + ["ground_truth.parquet"]
    temps = {n: out_dir / f".{n}.partial" for n in names}
    by_shard: list[list[Item]] = [[] for _ in range(num_shards)]
    for it in sorted(plan.items + plan.truncated, key=lambda i: (i.shard, i.slot)):
        by_shard[it.shard].append(it)

    rows: list[dict[str, Any]] = []
    records_per_shard, bytes_per_shard = [], []
    type_counts: Counter[str] = Counter()
    try:
        with tqdm(
            total=len(plan.items) + len(plan.truncated),
            desc="synth-crawl",
            unit="page",
            mininterval=1.0,
        ) as bar:
            for shard, items in enumerate(by_shard):
                path = temps[shard_name(shard)]
                with open(path, "wb") as fh:
                    n = _write_shard(fh, plan, render, shard, items, rows, type_counts, bar)
                records_per_shard.append(n)
                bytes_per_shard.append(path.stat().st_size)
        table = pa.Table.from_pylist(rows, schema=GROUND_TRUTH_SCHEMA)
        pq.write_table(table, temps["ground_truth.parquet"], compression="zstd")
        for name, tmp in temps.items():
            os.replace(tmp, out_dir / name)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise

    pages = [r for r in rows if r["kind"] in PAGE_KINDS]
    summary = {
        "seed": cfg.seed,
        "num_pages": cfg.num_pages,
        "num_shards": num_shards,
        "files": names,
        "pages_per_kind": {k: sum(r["kind"] == k for r in pages) for k in PAGE_KINDS},
        "records_per_kind": dict(sorted(Counter(r["kind"] for r in rows).items())),
        "records_per_type": dict(sorted(type_counts.items())),
        "records_per_shard": records_per_shard,
        "bytes_per_shard": bytes_per_shard,
        "total_bytes": sum(bytes_per_shard),
        "num_exact_dups": sum(r["dup_type"] == "exact" for r in rows),
        "num_near_dups": sum(r["dup_type"] == "near" for r in rows),
        "num_dup_clusters": len(plan.clusters),
        "num_gbk_pages": sum(r["encoding"] == "gbk" for r in pages),
        "num_dropdown_pages": sum(r["has_dropdown"] for r in pages),
        "num_non_html": sum(r["kind"] == "non_html" for r in rows),
        "num_revisits": sum(r["kind"] == "revisit" for r in rows),
        "num_truncated": sum(r["kind"] == "truncated" for r in rows),
        "expected_removals": {s: sum(r["expected_step"] == s for r in rows) for s in REMOVAL_STEPS},
        "num_kept": sum(r["expected_step"] is None for r in rows),
        "leak_items_per_kind": {
            k: sum(len(r["leak_items"] or ()) for r in pages if r["kind"] == k) for k in LEAK_KINDS
        },
        "leak_items_per_benchmark": dict(
            sorted(
                Counter(r["leak_benchmark"] for r in pages for _ in r["leak_items"] or ()).items()
            )
        ),
    }
    log.info(
        "synthetic crawl: %d records in %d shards, %d bytes",
        len(rows),
        num_shards,
        summary["total_bytes"],
    )
    return summary


def _write_shard(
    fh: io.BufferedWriter,
    plan: Plan,
    render: _Renderer,
    shard: int,
    items: list[Item],
    rows: list[dict[str, Any]],
    type_counts: Counter[str],
    bar: tqdm,
) -> int:
    """Write one shard; returns its number of WARC records."""
    writer = _SeededWARCWriter(fh, gzip=True, warc_version="1.1")
    info_id = plan.shard_info_ids[shard]
    fields = (
        f"software: {_SOFTWARE}\r\nformat: WARC File Format 1.1\r\n"
        f"conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/"
        f"warc-1.1/\r\nisPartOf: skyforge-synthetic-crawl\r\n"
        f"description: synthetic bilingual crawl, seed {plan.cfg.seed}, shard {shard}\r\n"
        f"robots: classic\r\n"
    ).encode()
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(fields),
            length=len(fields),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Type": "warcinfo",
                "WARC-Date": _warc_date(plan.start),
                "WARC-Record-ID": info_id,
                "WARC-Filename": shard_name(shard),
            },
        )
    )
    type_counts["warcinfo"] += 1
    num_records = 1
    for it in items:
        common = {"WARC-Date": _warc_date(it.date), "WARC-Warcinfo-ID": info_id}
        req = writer.create_warc_record(
            it.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=_http_request(it),
            warc_headers_dict={
                "WARC-Type": "request",
                "WARC-Record-ID": it.request_id,
                **common,
                "WARC-Concurrent-To": it.record_id,
            },
        )
        writer.write_record(req)
        type_counts["request"] += 1
        offset = fh.tell()
        if it.kind == "revisit":
            ref = plan.items[it.source]
            ref_body = render.body(ref)
            rec = writer.create_revisit_record(
                it.url,
                _sha1_b32(ref_body),
                ref.url,
                _warc_date(ref.date),
                http_headers=_http_response(it, len(ref_body)),
                warc_headers_dict={
                    "WARC-Type": "revisit",
                    "WARC-Record-ID": it.record_id,
                    **common,
                    "WARC-IP-Address": it.site.ip,
                },
            )
            writer.write_record(rec)
            type_counts["revisit"] += 1
        else:
            body = render.body(it)
            rec = writer.create_warc_record(
                it.url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=_http_response(it, len(body)),
                warc_headers_dict={
                    "WARC-Type": "response",
                    "WARC-Record-ID": it.record_id,
                    **common,
                    "WARC-IP-Address": it.site.ip,
                },
            )
            if it.kind == "truncated":
                fh.write(_truncated_member(writer, rec))
            else:
                writer.write_record(rec)
            type_counts["response"] += 1
        num_records += 2
        rows.append(_row(plan, render, it, shard, offset))
        bar.update(1)
    return num_records


def _truncated_member(writer: WARCWriter, rec: Any) -> bytes:
    """One complete gzip member holding a record cut to a third of its declared content."""
    plain = io.BytesIO()
    plain_writer = _SeededWARCWriter(plain, gzip=False, warc_version="1.1")
    plain_writer.write_record(rec)
    raw = plain.getvalue()
    head_end = raw.index(b"\r\n\r\n") + 4
    content = raw[head_end:-4]  # the two CRLFs after a record are not part of its content
    cut = raw[:head_end] + content[: max(1, len(content) // 3)]
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS + 16)  # gzip header, mtime 0
    return comp.compress(cut) + comp.flush()


def _row(plan: Plan, render: _Renderer, it: Item, shard: int, offset: int) -> dict[str, Any]:
    members = plan.clusters.get(it.cluster, [])
    dup_of = plan.items[members[0]].record_id if it.dup_type else None
    step, reason = _KIND_STEP.get(it.kind, (None, None))
    if it.kind == "non_html":
        reason = f"not HTML ({_content_type(it)})"
    elif it.kind == "other_lang":
        reason = f"language {it.sublang}"
    elif it.kind == "revisit":
        reason = f"revisit of {plan.items[it.source].record_id}: no payload"
    elif it.kind == "truncated":
        reason = "truncated record: Content-Length exceeds the bytes present"
    elif it.leak_items:
        reason = f"{reason}: {', '.join(it.leak_items)}"
    elif step is None and it.dup_type == "exact":
        step, reason = "exact_dedup", f"exact copy of {dup_of}"
    elif step is None and it.dup_type == "near":
        step, reason = "near_dedup", f"near copy of {dup_of}"
    html_doc = None if it.kind in ("non_html", "revisit", "truncated") else render.doc(it)
    return {
        "record_id": it.record_id,
        "url": it.url,
        "shard": shard,
        "offset": offset,
        "record_type": "revisit" if it.kind == "revisit" else "response",
        "kind": it.kind,
        "lang": "none" if it.kind == "revisit" else it.lang,
        "encoding": None if it.kind == "revisit" else it.encoding,
        "charset_in_header": it.charset_in_header,
        "content_type": _content_type(it),
        "crawl_date": it.date,
        "dup_cluster": it.cluster,
        "dup_of": dup_of,
        "dup_type": it.dup_type,
        "expected_step": step,
        "reason": reason,
        "has_dropdown": it.has_dropdown,
        "title": html_doc.title if html_doc else None,
        "main_text": html_doc.main_text if html_doc else None,
        "leak_benchmark": it.leak_task if it.leak_items else None,
        "leak_items": list(it.leak_items) if it.leak_items else None,
        "leak_equivalents": (
            sorted({e for i in it.leak_items for e in plan.leaks.equivalents(i)})
            if it.leak_items and plan.leaks is not None
            else None
        ),
    }
