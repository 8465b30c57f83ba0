"""Resharding real WARC/ARC files: records conserved, damage logged and counted, never a crash."""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from skyforge.config import SyntheticCrawlConfig
from skyforge.data import crawl
from skyforge.data.crawl import CorruptRecord, RawRecord, expand_warc_glob, iter_records
from skyforge.synthetic.crawl import shard_name, synthesize_crawl

# ---------------------------------------------------------------------------------------------
# Fixture files, each with a known number of records
# ---------------------------------------------------------------------------------------------


def warc_bytes(gz: bool, num_responses: int = 2) -> bytes:
    """warcinfo + request/response pairs, written by warcio."""
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz, warc_version="1.0")
    w.write_record(w.create_warcinfo_record("fixture.warc", {"software": "skyforge-tests"}))
    for i in range(num_responses):
        url = f"http://example.com/page/{i}"
        body = b"<html><body>" + bytes(range(256)) * 4 + f"page {i}".encode() + b"</body></html>"
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        resp = w.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
        )
        req_http = StatusAndHeaders(
            f"GET /page/{i}", [("Host", "example.com")], protocol="HTTP/1.1", is_http_request=True
        )
        req = w.create_warc_record(url, "request", http_headers=req_http)
        w.write_record(req)
        w.write_record(resp)
    return buf.getvalue()


def gzip_members(data: bytes) -> list[bytes]:
    members = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        d.decompress(data)
        size = len(data) - len(d.unused_data)
        members.append(data[:size])
        data = d.unused_data
    return members


def arc_bytes() -> bytes:
    """A two-record ARC v1 file (file header + one response)."""
    version = b"1 0 Skyforge\nURL IP-address Archive-date Content-type Archive-length\n"
    resp = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>hello arc</html>"
    out = b"filedesc://t.arc 0.0.0.0 20240101000000 text/plain %d\n" % len(version)
    out += version + b"\n"
    out += b"http://example.com/ 192.0.2.1 20240101000000 text/html %d\n" % len(resp) + resp
    return out + b"\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Input files and what is in them: (good records, corrupt records, not-WARC files)."""
    d = tmp_path_factory.mktemp("inputs")
    cfg = SyntheticCrawlConfig.with_defaults(
        {"seed": 3, "num_pages": 40, "num_non_html": 4, "num_truncated": 1}
    )
    synth = synthesize_crawl(cfg, 2, d / "synth")
    expected = {}
    for i, n in enumerate(synth["records_per_shard"]):
        # The truncated record is the last one of shard 0.
        expected[f"synth/{shard_name(i)}"] = (n - 1, 1) if i == 0 else (n, 0)
    plain = warc_bytes(gz=False)
    (d / "plain.warc").write_bytes(plain)
    expected["plain.warc"] = (5, 0)
    (d / "whole.warc.gz").write_bytes(gzip.compress(plain, mtime=0))
    expected["whole.warc.gz"] = (5, 0)
    members = gzip_members(warc_bytes(gz=True))
    cut = b"".join(members[:-1]) + members[-1][: len(members[-1]) // 2]  # download cut short
    (d / "cut.warc.gz").write_bytes(cut)
    expected["cut.warc.gz"] = (4, 1)
    at = plain.index(b"Content-Length: ", plain.index(b"WARC-Type: response"))
    end = plain.index(b"\r\n", at)
    wrong = plain[: at + 16] + str(int(plain[at + 16 : end]) - 10).encode() + plain[end:]
    (d / "wrong-length.warc").write_bytes(wrong)
    expected["wrong-length.warc"] = (4, 1)
    (d / "garbage.warc.gz").write_bytes(b"\x1f\x8bnot really gzip" + bytes(range(256)))
    (d / "notes.warc").write_bytes(b"Hello, this is a plain text file\nnot a warc\n")
    expected["garbage.warc.gz"] = expected["notes.warc"] = (0, 0)
    (d / "t.arc").write_bytes(arc_bytes())
    expected["t.arc"] = (2, 0)
    paths = sorted(d / name for name in expected)
    return {"dir": d, "paths": paths, "expected": expected}


def read_all(path: Path) -> list:
    with open(path, "rb") as fh:
        recs = []
        for r in ArchiveIterator(fh, check_digests="raise"):
            r.content_stream().read()  # digests are checked as the block is read
            recs.append((r.rec_type, r.rec_headers.get_header("WARC-Target-URI")))
    return recs


# ---------------------------------------------------------------------------------------------


def test_iter_records_per_file(inputs):
    for name, (good, bad) in inputs["expected"].items():
        items = list(iter_records(inputs["dir"] / name))
        got_good = sum(isinstance(i, RawRecord) for i in items)
        corrupt = [i for i in items if isinstance(i, CorruptRecord)]
        if name in ("garbage.warc.gz", "notes.warc"):
            assert [c.kind for c in corrupt] == ["not_warc"] and got_good == 0
            continue
        assert (got_good, len(corrupt)) == (good, bad), name


def test_truncated_and_wrong_length_are_located(inputs):
    d = inputs["dir"]
    items = list(iter_records(d / "synth" / shard_name(0)))
    assert all(isinstance(i, RawRecord) for i in items[:-1])
    last = items[-1]
    assert isinstance(last, CorruptRecord) and last.kind == "truncated"
    assert last.offset > items[-2].offset
    assert "Content-Length" in last.error
    (bad,) = [i for i in iter_records(d / "wrong-length.warc") if isinstance(i, CorruptRecord)]
    assert bad.offset > 0 and "Content-Length" in bad.error


def test_shard_warcs_conserves_records(inputs, tmp_path):
    summary = crawl.shard_warcs(inputs["paths"], 3, tmp_path)
    good = sum(g for g, _ in inputs["expected"].values())
    bad = sum(b for _, b in inputs["expected"].values())
    assert summary["records_written"] == good
    assert summary["records_corrupt"] == bad
    assert summary["records_written"] + summary["records_corrupt"] == good + bad
    assert summary["files_not_warc"] == 2
    assert sum(summary["records_per_shard"]) == good
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [shard_name(i) for i in range(3)] == summary["shards"]
    out = [read_all(tmp_path / n) for n in names]  # every record parses, digests hold
    assert [len(r) for r in out] == summary["records_per_shard"]
    assert max(summary["records_per_shard"]) - min(summary["records_per_shard"]) <= 0.2 * good
    per_file = {Path(f["path"]).name: f for f in summary["files"]}
    assert per_file["cut.warc.gz"]["status"] == "with_errors"
    assert per_file["cut.warc.gz"]["corrupt"][0]["kind"] == "truncated"
    assert per_file["notes.warc"]["status"] == "not_warc"
    assert per_file["plain.warc"]["status"] == "ok"


def test_captures_stay_together(inputs, tmp_path):
    synth = sorted((inputs["dir"] / "synth").glob("*.warc.gz"))
    crawl.shard_warcs(synth, 2, tmp_path)
    for i in range(2):
        recs = read_all(tmp_path / shard_name(i))
        requests = {u for t, u in recs if t == "request"}
        responses = {u for t, u in recs if t in ("response", "revisit")}
        assert responses <= requests  # each response's request went to the same shard


def test_records_are_copied_intact(inputs, tmp_path):
    crawl.shard_warcs([inputs["dir"] / "plain.warc"], 1, tmp_path)
    src = [i for i in iter_records(inputs["dir"] / "plain.warc")]
    dst = [i for i in iter_records(tmp_path / shard_name(0))]
    assert [r.block for r in src] == [r.block for r in dst]
    assert [r.headers.headers for r in src] == [r.headers.headers for r in dst]


def test_arc_records_become_warc_with_stable_ids(inputs, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    crawl.shard_warcs([inputs["dir"] / "t.arc"], 1, a)
    crawl.shard_warcs([inputs["dir"] / "t.arc"], 1, b)
    assert (a / shard_name(0)).read_bytes() == (b / shard_name(0)).read_bytes()
    recs = read_all(a / shard_name(0))
    assert recs == [("warcinfo", None), ("response", "http://example.com/")]


def test_damage_is_logged_with_file_and_offset(inputs, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="skyforge.data.crawl")
    crawl.shard_warcs(inputs["paths"], 2, tmp_path)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert any("notes.warc" in r.getMessage() and "not a WARC" in r.getMessage() for r in errors)
    assert any("garbage.warc.gz" in r.getMessage() for r in errors)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    cut = [m for m in warnings if "cut.warc.gz" in m]
    assert len(cut) == 1 and "offset" in cut[0] and "truncated" in cut[0]
    assert any("whole.warc.gz" in m and "whole file" in m for m in warnings)
    assert all("\n" not in r.getMessage() for r in caplog.records)


def test_deterministic_output(inputs, tmp_path):
    crawl.shard_warcs(inputs["paths"], 2, tmp_path / "a")
    crawl.shard_warcs(list(reversed(inputs["paths"])), 2, tmp_path / "b")  # order-independent
    for i in range(2):
        a = (tmp_path / "a" / shard_name(i)).read_bytes()
        assert a == (tmp_path / "b" / shard_name(i)).read_bytes()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        crawl.shard_warcs([], 2, tmp_path)
    with pytest.raises(ValueError, match="missing.warc.gz"):
        crawl.shard_warcs([tmp_path / "missing.warc.gz"], 2, tmp_path)
    pattern = str(tmp_path / "nothing" / "*.warc.gz")
    with pytest.raises(ValueError, match=r"crawl\.warc_glob.*nothing"):
        expand_warc_glob(pattern)
    (tmp_path / "x.warc.gz").write_bytes(b"")
    assert expand_warc_glob(str(tmp_path / "*.warc.gz")) == [tmp_path / "x.warc.gz"]
    with pytest.raises(ValueError, match="num_shards"):
        crawl.shard_warcs([tmp_path / "x.warc.gz"], 0, tmp_path)


def test_no_partial_files(inputs, tmp_path, monkeypatch):
    out = tmp_path / "ok"
    crawl.shard_warcs(inputs["paths"], 2, out)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]

    real = crawl.iter_records

    def explode_later(path):
        yield from real(path)
        if path.name == "plain.warc":
            raise RuntimeError("disk full")

    monkeypatch.setattr(crawl, "iter_records", explode_later)
    failed = tmp_path / "failed"
    with pytest.raises(RuntimeError, match="disk full"):
        crawl.shard_warcs(inputs["paths"], 2, failed)
    assert list(failed.iterdir()) == []


def test_shards_as_batches_of_input_files_without_copying(tmp_path, monkeypatch) -> None:
    """With ``crawl.reshard: false`` the crawl lists each shard's whole input files (balanced
    by bytes, relative to the run directory) and extraction of a listing equals extraction of
    its files one by one; a listed file that went missing is one line naming it."""
    from skyforge.config import SyntheticCrawlConfig
    from skyforge.data.crawl import assign_inputs, read_shard_inputs, shard_inputs
    from skyforge.data.docs import read_docs
    from skyforge.data.extract import extract_shard
    from skyforge.synthetic.crawl import synthesize_crawl

    assert [list(r) for r in assign_inputs([10, 10, 10, 10], 2)] == [[0, 1], [2, 3]]
    assert [list(r) for r in assign_inputs([100, 1, 1, 1, 1], 2)] == [[0], [1, 2, 3, 4]]
    assert [len(r) for r in assign_inputs([None, 5, 5, 5, 5], 2)] == [2, 3]  # by count
    assert [len(r) for r in assign_inputs([100, 0, 0], 3)] == [1, 1, 1]
    with pytest.raises(ValueError, match="crawl.num_shards"):
        assign_inputs([1, 2], 3)

    inputs = tmp_path / "in"
    synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": 120}), 4, inputs)
    files = sorted(inputs.glob("shard-*.warc.gz"))
    summary = shard_inputs(files, 2, tmp_path / "crawl", workdir=tmp_path)
    assert sum(summary["files_per_shard"]) == 4 and len(summary["files_per_shard"]) == 2
    listed = read_shard_inputs(tmp_path / "crawl" / "shard-00000.inputs.json")
    assert all(not p.is_absolute() and str(p).startswith("in/") for p in listed)
    monkeypatch.chdir(tmp_path)  # the run directory the listing is relative to
    stats = extract_shard(
        Path("crawl/shard-00000.inputs.json"), 0, Path("docs.parquet"), Path("rm.parquet")
    )
    one_by_one = []
    for k, path in enumerate(listed):
        extract_shard(path, 0, Path(f"d{k}.parquet"), Path(f"r{k}.parquet"))
        one_by_one += read_docs(f"d{k}.parquet").to_pylist()
    assert read_docs("docs.parquet").to_pylist() == one_by_one
    assert stats["inputs"] == len(listed) and stats["docs_kept"] == len(one_by_one) > 20
    listed[0].unlink()
    with pytest.raises(ValueError, match=rf"WARC file '{listed[0]}' \(listed in"):
        extract_shard(Path("crawl/shard-00000.inputs.json"), 0, Path("x.parquet"), Path("y"))
    assert not Path("x.parquet").exists()
