"""Extraction: every WARC record is a document or a removal row, and damage is never fatal.

The synthetic crawl (``synthetic.crawl``) supplies the ground truth; small WARCs written here with
warcio cover what it does not (HTTP status, content-encodings, missing Content-Type, a record cut
short in the middle of a file, broken gzip members, garbage files).
"""

from __future__ import annotations

import gzip
import io
import logging
import random
import re
import zlib
from pathlib import Path

import pandas as pd
import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from skyforge.config import SyntheticCrawlConfig
from skyforge.data import docs
from skyforge.data.extract import REASONS, extract_shard, extract_text, iter_warc
from skyforge.synthetic import crawl as sc

NUM_SHARDS = 2
CFG = SyntheticCrawlConfig.with_defaults(
    {"seed": 11, "num_pages": 240, "num_non_html": 6, "num_truncated": 2, "gbk_fraction": 0.4}
)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def run(warc: Path, shard: int = 0, **kw) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    out = warc.parent / f"out-{warc.name}"
    stats = extract_shard(warc, shard, out / "docs.parquet", out / "removed.parquet", **kw)
    kept = docs.read_docs(out / "docs.parquet").to_pandas()
    removed = docs.read_removed(out / "removed.parquet").to_pandas()
    return kept, removed, stats


def num_records(path: Path) -> int:
    """Records in a WARC as warcio counts them (a record cut short at the end included)."""
    with open(path, "rb") as fh:
        return sum(1 for _ in ArchiveIterator(fh, no_record_parse=True))


def members(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, compressed bytes) of each gzip member of a per-record-gzip WARC."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        out.append((pos, data[pos:end]))
        pos = end
    return out


def gunzip_all(data: bytes) -> bytes:
    return b"".join(gzip.decompress(m) for _, m in members(data))


def write_warc(path: Path, pages: list[tuple], *, gz: bool = True) -> Path:
    """Write ``(url, status, headers, body)`` responses, each after its request, with warcio."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gz)
        for url, status, headers, body in pages:
            req = StatusAndHeaders("GET / ", [("Host", "x")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(url, "request", http_headers=req, payload=io.BytesIO())
            )
            http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
            rec = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
            )
            writer.write_record(rec)
    return path


def html(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> "
        f"<a href='/about'>About us</a></nav><article><h1>{title}</h1><p>{body}</p></article>"
        f"<footer>Copyright 2024 Example Corp. All rights reserved.</footer></body></html>"
    )


EN_BODY = (
    "The harbour authority said on Tuesday that container traffic rose by twelve percent last "
    "year, the fastest growth since the port reopened after the long renovation of its quays."
)


# ---------------------------------------------------------------------------------------------
# The synthetic crawl against its ground truth
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("crawl")
    sc.synthesize_crawl(CFG, NUM_SHARDS, root)
    gt = pd.read_parquet(root / "ground_truth.parquet")
    out = []
    for i in range(NUM_SHARDS):
        kept, removed, stats = run(root / sc.shard_name(i), i)
        out.append((kept, removed, stats))
    return root, gt, out


def test_every_record_is_kept_or_removed(crawl):
    root, _, out = crawl
    for i, (kept, removed, stats) in enumerate(out):
        n = num_records(root / sc.shard_name(i))
        assert len(kept) + len(removed) == n == stats["records_read"]
        assert stats["docs_kept"] == len(kept)
        assert sum(stats["removed"].values()) == len(removed)
        assert set(removed.step) == {"extract"} and set(removed.reason) <= set(REASONS)
        ids = pd.concat([kept.id, removed.id])
        assert ids.is_unique
        assert (kept.shard == i).all() and (removed.shard == i).all()


def test_extract_removes_exactly_what_ground_truth_says(crawl):
    _, gt, out = crawl
    kept = pd.concat([k for k, _, _ in out]).set_index("id")
    removed = pd.concat([r for _, r, _ in out]).set_index("id")
    truth = gt.set_index("record_id")
    expected = set(truth.index[truth.expected_step == "extract"])
    removed_docs = set(removed.index) & set(truth.index)  # responses and revisits only
    assert removed_docs == expected
    # Everything else in the ground truth, boilerplate-only pages included, survives this step:
    # resiliparse keeps their one-line notice ("请登录后查看全文。") and the archive widget's
    # heading, so they reach the heuristic step that the ground truth names for them.
    assert set(kept.index) == set(truth.index) - expected
    assert (truth.loc[truth.kind == "boilerplate_only"].index.isin(kept.index)).all()
    reason_of_kind = {"non_html": "non_html", "revisit": "revisit_record", "truncated": "truncated"}
    for rid in expected:
        assert removed.loc[rid, "reason"] == reason_of_kind[truth.loc[rid, "kind"]]
    other = removed.drop(index=list(expected))
    assert set(other.reason) == {"warcinfo_record", "request_record"}
    assert (other.reason == "warcinfo_record").sum() == NUM_SHARDS


def test_document_fields(crawl):
    _, gt, out = crawl
    kept = pd.concat([k for k, _, _ in out]).set_index("id")
    truth = gt.set_index("record_id").loc[kept.index]
    assert (kept.url == truth.url).all()
    hosts = truth.url.str.extract(r"https?://([^/:]+)")[0].str.lower()
    assert (kept.domain == hosts.str.replace(r"^www\.", "", regex=True)).all()
    assert (kept.crawl_date == truth.crawl_date.dt.strftime("%Y-%m-%d")).all()
    titled = truth.title.fillna("") != ""
    assert all(
        k.startswith(t) for k, t in zip(kept.title[titled], truth.title[titled], strict=True)
    )
    assert kept.lang.isna().all() and kept.lang_score.isna().all()
    assert not kept.text.str.contains("\ufffd").any()
    # Boilerplate is gone: navigation, footer and cookie banner text are not in the main text.
    articles = truth.kind.isin(["en_article", "zh_article"])
    assert not kept.text[articles].str.contains("ICP备|Accept all|接受|Manage preferences").any()
    for rid in kept.index[articles]:
        first_paragraph = truth.main_text[rid].split("\n")[2]
        assert re.sub(r"\s+", " ", first_paragraph) in kept.text[rid]


def test_gbk_pages_decode_like_their_utf8_twins(crawl, tmp_path):
    root, gt, out = crawl
    kept = pd.concat([k for k, _, _ in out]).set_index("id")
    gbk = gt[(gt.encoding == "gbk") & (gt.kind == "zh_article") & gt.record_id.isin(kept.index)]
    # Both ways a GBK page declares itself: in the HTTP header, and only in <meta>.
    assert gbk.charset_in_header.any() and (~gbk.charset_in_header).any()
    assert (kept.loc[gbk.record_id, "encoding"] == "gb18030").all()
    payloads = {
        it.record_id: it.payload
        for i in range(NUM_SHARDS)
        for it in iter_warc(root / sc.shard_name(i))
        if it.record_id in set(gbk.record_id)
    }
    pages = []
    for rid in gbk.record_id:
        page = payloads[rid].decode("gb18030").replace("charset=gbk", "charset=utf-8")
        assert "charset=utf-8" in page
        pages.append(
            (
                gt.set_index("record_id").url[rid],
                "200 OK",
                [("Content-Type", "text/html; charset=UTF-8")],
                page.encode(),
            )
        )
    twin, _, _ = run(write_warc(tmp_path / "utf8.warc.gz", pages))
    assert list(twin.text) == list(kept.loc[gbk.record_id, "text"])
    assert (twin.encoding == "utf-8").all()
    for rid in gbk.record_id:
        text = kept.text[rid]
        words = re.sub(r"\s+", " ", gt.set_index("record_id").main_text[rid]).split(" ")
        assert re.search(r"[\u4e00-\u9fff]{8}", text) and all(w in text for w in words)
        assert not re.search("[ÀÃÂÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêë]{3}", text), "mojibake"
        assert gt.set_index("record_id").title[rid] in text


def test_site_wide_menu_survives_extraction(crawl):
    # The synthetic crawl's archive menu is plain text lines in the article container, as CMS
    # themes render it; extraction must keep it, since only substring dedup can tell it apart.
    _, gt, out = crawl
    kept = pd.concat([k for k, _, _ in out]).set_index("id")
    truth = gt.set_index("record_id").loc[kept.index]
    menus = (sc.DROPDOWN_TEXT_EN, sc.DROPDOWN_TEXT_ZH)
    has_menu = kept.text.map(lambda t: any(m in t for m in menus))
    assert truth.has_dropdown.sum() > 20
    assert (has_menu == truth.has_dropdown).all()


def test_select_options_kept_one_per_line_only_when_asked(tmp_path):
    months = ["December 2023", "November 2023", "October 2023"]
    menu = (
        "<select name='archive'><option value=''>Select Month</option>"
        + "".join(f"<option value='/{i}'>{m}</option>" for i, m in enumerate(months))
        + "</select>"
    )
    page = html("Harbour traffic", EN_BODY).replace("</p>", f"</p>{menu}").encode()
    path = write_warc(tmp_path / "menu.warc.gz", [("http://a.org/", "200 OK", [], page)])
    default, _, _ = run(path)
    assert EN_BODY in default.text[0] and "Select Month" not in default.text[0]
    kept, _, _ = run(path, form_fields=True)
    assert "\n".join(["Select Month", *months]) in kept.text[0]
    assert kept.text[0].replace("\n".join(["Select Month", *months]), "").strip() == default.text[0]


def test_truncated_record_at_end_of_shard(crawl):
    _, gt, out = crawl
    for i, (kept, removed, _) in enumerate(out):
        trunc = gt[(gt.shard == i) & (gt.kind == "truncated")].record_id
        assert len(trunc) == 1
        assert removed.set_index("id").loc[trunc.iloc[0], "reason"] == "truncated"
        expected_kept = gt[(gt.shard == i) & gt.expected_step.ne("extract")]
        assert set(kept.id) == set(expected_kept.record_id)


# ---------------------------------------------------------------------------------------------
# Damage in the middle of a file
# ---------------------------------------------------------------------------------------------


def _spliced(crawl, tmp_path: Path, shard: int = 0) -> tuple[Path, str, pd.DataFrame]:
    """Shard ``shard`` with its truncated record moved from the end to the middle."""
    root, gt, out = crawl
    data = (root / sc.shard_name(shard)).read_bytes()
    rows = gt[gt.shard == shard].sort_values("offset")
    trunc = rows[rows.kind == "truncated"].iloc[0]
    middle = int(rows.offset.iloc[len(rows) // 2])
    cut = int(trunc.offset)
    spliced = data[:middle] + data[cut:] + data[middle:cut]
    path = tmp_path / "spliced.warc.gz"
    path.write_bytes(spliced)
    return path, trunc.record_id, out[shard][0]


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_record_cut_short_mid_file_keeps_the_rest(crawl, tmp_path, gz, caplog):
    path, trunc_id, kept_before = _spliced(crawl, tmp_path)
    if not gz:
        path = path.with_name("spliced.warc")
        path.write_bytes(gunzip_all((tmp_path / "spliced.warc.gz").read_bytes()))
    with caplog.at_level(logging.WARNING, logger="skyforge.data.extract"):
        kept, removed, stats = run(path)
    assert removed.set_index("id").loc[trunc_id, "reason"] == "truncated"
    assert (removed.reason == "truncated").sum() == 1
    assert set(kept.id) == set(kept_before.id)
    assert stats["records_read"] == num_records(tmp_path / "spliced.warc.gz")
    assert any(str(path) in r.getMessage() and "offset" in r.getMessage() for r in caplog.records)


def test_broken_gzip_member_costs_one_record(crawl, tmp_path):
    root, gt, out = crawl
    data = bytearray((root / sc.shard_name(1)).read_bytes())
    rows = gt[(gt.shard == 1) & (gt.kind == "en_article")].sort_values("offset")
    victim = rows.iloc[len(rows) // 2]
    start = int(victim.offset)
    data[start + 200 : start + 240] = bytes(40)  # zeros inside the deflate stream
    path = tmp_path / "broken.warc.gz"
    path.write_bytes(bytes(data))
    kept, removed, stats = run(path, 1)
    assert (removed.reason == "truncated").sum() == 2  # the shard's own truncated record + this
    assert set(kept.id) == set(out[1][0].id) - {victim.record_id}
    assert stats["records_read"] == out[1][2]["records_read"]


@pytest.mark.parametrize(
    "content",
    [
        random.Random(0).randbytes(20_000),
        gzip.compress(random.Random(1).randbytes(20_000)),
        b"<html><body>Not a WARC file at all</body></html>\n" * 50,
    ],
    ids=["random", "gzipped-random", "html"],
)
def test_garbage_file_is_one_corrupt_row(tmp_path, content, caplog):
    path = tmp_path / "garbage.warc.gz"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="skyforge.data.extract"):
        kept, removed, stats = run(path, 7)
    assert len(kept) == 0
    # Not gzip: nothing parses, "corrupt". A gzip member that holds no WARC: "truncated"
    # would be wrong, it decompresses whole; it is no record either, so "corrupt" too.
    assert len(removed) == 1
    row = removed.iloc[0]
    assert (row.id, row.step, row.reason, row.shard) == ("7:0", "extract", "corrupt", 7)
    assert pd.isna(row.url)
    assert stats["records_read"] == 1
    assert any(str(path) in r.getMessage() for r in caplog.records)


def test_empty_file_gives_empty_tables(tmp_path):
    path = tmp_path / "empty.warc.gz"
    path.write_bytes(b"")
    kept, removed, stats = run(path)
    assert len(kept) == len(removed) == stats["records_read"] == 0


def test_outputs_are_atomic(crawl, tmp_path):
    root, _, _ = crawl
    out = tmp_path / "out"
    extract_shard(root / sc.shard_name(0), 0, out / "d.parquet", out / "r.parquet")
    assert sorted(p.name for p in out.iterdir()) == ["d.parquet", "r.parquet"]


# ---------------------------------------------------------------------------------------------
# HTTP details, decoding, options
# ---------------------------------------------------------------------------------------------


def _chunked(data: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (data[:50], data[50:])) + b"0\r\n\r\n"


def test_http_cases(tmp_path):
    page = html("Harbour traffic", EN_BODY).encode()
    pages = [
        ("http://WWW.Example.com:8080/a", "200 OK", [("Content-Type", "text/html")], page),
        (
            "http://example.com/b",
            "200 OK",
            [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            gzip.compress(page),
        ),
        (
            "http://example.com/c",
            "200 OK",
            [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")],
            _chunked(page),
        ),
        ("http://example.com/d", "200 OK", [], page),  # no Content-Type: sniffed
        ("http://example.com/e", "301 Moved Permanently", [("Location", "/a")], b""),
        ("http://example.com/f", "404 Not Found", [("Content-Type", "text/html")], page),
        (
            "http://example.com/g",
            "200 OK",
            [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            page,
        ),
        ("http://example.com/h", "200 OK", [("Content-Type", "application/pdf")], b"%PDF-1.4 ..."),
        (
            "http://example.com/i",
            "200 OK",
            [("Content-Type", "text/html; charset=iso-8859-1")],
            html("Café", "Crème brûlée " * 20).encode("utf-8"),
        ),
        (
            "http://example.com/j",
            "200 OK",
            [("Content-Type", "text/html; charset=iso-8859-1")],
            html("Café", "Crème brûlée " * 20).encode("latin-1"),
        ),
        (
            "http://example.com/k",
            "200 OK",
            [("Content-Type", "text/html")],
            b"<html><body><nav>Home</nav></body></html>",
        ),
    ]
    kept, removed, _ = run(write_warc(tmp_path / "http.warc.gz", pages))
    responses = removed[removed.reason != "request_record"]
    fate = {
        **{u: "kept" for u in kept.url},
        **dict(zip(responses.url, responses.reason, strict=True)),
    }
    assert fate == {
        "http://WWW.Example.com:8080/a": "kept",
        "http://example.com/b": "kept",
        "http://example.com/c": "kept",
        "http://example.com/d": "kept",
        "http://example.com/e": "http_status",
        "http://example.com/f": "http_status",
        "http://example.com/g": "decode_error",  # says gzip, is not
        "http://example.com/h": "non_html",
        "http://example.com/i": "kept",
        "http://example.com/j": "kept",
        "http://example.com/k": "empty_text",
    }
    assert (removed.reason == "request_record").sum() == len(pages)
    k = kept.set_index("url")
    assert k.domain["http://WWW.Example.com:8080/a"] == "example.com"
    assert k.title["http://WWW.Example.com:8080/a"] == "Harbour traffic"
    for url in "abcd":
        text = k.text[f"http://{'WWW.Example.com:8080' if url == 'a' else 'example.com'}/{url}"]
        assert EN_BODY in text and "About us" not in text and "Copyright" not in text
    # Mislabelled UTF-8 (header says Latin-1) and real Latin-1 both come out right.
    assert "Crème brûlée" in k.text["http://example.com/i"]
    assert "Crème brûlée" in k.text["http://example.com/j"]
    assert k.encoding["http://example.com/i"] == "utf-8"
    assert k.encoding["http://example.com/j"] == "cp1252"


def test_plain_warc_counts_every_record(tmp_path):
    pages = [
        ("http://a.org/ok", "200 OK", [("Content-Type", "text/html")], html("T", EN_BODY).encode()),
        ("http://a.org/png", "200 OK", [("Content-Type", "image/png")], b"\x89PNG" + bytes(99)),
    ]
    kept, removed, stats = run(write_warc(tmp_path / "r.warc", pages, gz=False))
    assert list(kept.url) == ["http://a.org/ok"]
    assert stats["removed"] == {"request_record": 2, "non_html": 1}
    assert stats["records_read"] == 4 == num_records(tmp_path / "r.warc")


def test_min_text_chars(tmp_path):
    pages = [
        ("http://a.org/", "200 OK", [("Content-Type", "text/html")], html("T", EN_BODY).encode())
    ]
    path = write_warc(tmp_path / "m.warc.gz", pages)
    kept, _, _ = run(path, min_text_chars=10)
    assert len(kept) == 1
    kept, removed, _ = run(path, min_text_chars=10_000)
    assert len(kept) == 0 and "empty_text" in set(removed.reason)


def test_short_link_heavy_lone_article_is_kept():
    # resiliparse drops an <article> of at most 500 bytes with over 20 % link text as a teaser
    # card; a Chinese error page (two sentences, a heading, a dozen links) is ~170 characters
    # of it. As the page's only article it is the page's text; teasers in a list still go.
    links = ["亚博最新网址", "永利官网", "银河在线投注", "博狗真人娱乐", "六合彩官网", "太阳城开户"]
    lines = "".join(f'<p><a href="https://x{i}.com/">{t}</a></p>' for i, t in enumerate(links))
    words = "抱歉，您访问的页面不存在或已被删除，请检查网址是否正确。"
    body = f"<h1>404</h1><p>{words}</p><h2>热门推荐</h2>{lines}"
    chrome = "<header><nav><a href='/'>首页</a></nav></header>"
    page = (
        f"<html><head><title>404</title></head><body>{chrome}<div class='layout'><main>"
        f"<article class='post'>{body}</article></main></div>"
        "<footer>版权所有</footer></body></html>"
    )
    text, title = extract_text(page)
    assert title == "404" and words in text and all(t in text for t in links)
    assert "首页" not in text and "版权所有" not in text
    teasers = "".join(f"<article>{body}</article>" for _ in range(3))
    listing = page.replace(f"<article class='post'>{body}</article>", f"<p>{words}</p>{teasers}")
    assert extract_text(listing)[0] == words


def test_trafilatura_extractor(tmp_path):
    pages = [
        ("http://a.org/", "200 OK", [("Content-Type", "text/html")], html("T", EN_BODY).encode())
    ]
    kept, _, stats = run(write_warc(tmp_path / "t.warc.gz", pages), extractor="trafilatura")
    assert stats["extractor"] == "trafilatura"
    assert EN_BODY in kept.text.iloc[0] and "Copyright" not in kept.text.iloc[0]


def test_bad_arguments_name_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="nope.warc.gz"):
        extract_shard(tmp_path / "nope.warc.gz", 0, tmp_path / "d", tmp_path / "r")
    path = write_warc(tmp_path / "a.warc.gz", [])
    with pytest.raises(ValueError, match="extractor 'bs4'"):
        extract_shard(path, 0, tmp_path / "d", tmp_path / "r", extractor="bs4")
    with pytest.raises(ValueError, match="min_text_chars"):
        extract_shard(path, 0, tmp_path / "d", tmp_path / "r", min_text_chars=0)
