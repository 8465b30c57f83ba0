"""Remote crawl inputs: real WARC files served over HTTP by a server the test starts on
127.0.0.1 (Python's http.server with Range support), read through fsspec as streams. A connection
cut planted in the middle of a file is resumed at the byte where it stopped (the shards equal
those of the local files); a server that keeps cutting fails the run with one line naming the
URL; a Common Crawl style warc.paths.gz listing with a base URL names the inputs."""

from __future__ import annotations

import gzip
import http.server
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from skyforge.config import SyntheticCrawlConfig
from skyforge.data import remote
from skyforge.data.crawl import shard_warcs, warc_paths
from skyforge.data.remote import RemoteReadError, ResumingReader, is_url, read_listing
from skyforge.synthetic.crawl import synthesize_crawl


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files under ``root`` with single Range requests; the planted cuts
    close the connection after ``cut_at`` bytes of a response body."""

    root: Path
    cuts: dict[str, int] = {}  # file name → cuts left
    cut_at = 40_000
    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def _target(self) -> Path | None:
        path = self.root / self.path.lstrip("/")
        return path if path.is_file() else None

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server API
        path = self._target()
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        path = self._target()
        self.requests.append((self.path, self.headers.get("Range")))
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if match:
            start = int(match[1])
            end = min(int(match[2]) if match[2] else end, end)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start : end + 1]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        name = path.name
        if self.cuts.get(name, 0) > 0 and len(body) > self.cut_at:
            self.cuts[name] -= 1
            self.wfile.write(body[: self.cut_at])
            self.wfile.flush()
            self.close_connection = True  # the rest never comes: the client sees a short body
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def crawl_files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("served")
    cfg = SyntheticCrawlConfig.with_defaults({"seed": 5, "num_pages": 60, "num_truncated": 0})
    synthesize_crawl(cfg, 2, root)
    return root


@pytest.fixture
def server(crawl_files) -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"root": crawl_files, "cuts": {}, "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _warcs(root: Path) -> list[Path]:
    files = sorted(root.glob("shard-*.warc.gz"))
    assert len(files) == 2 and all(f.stat().st_size > 2 * _Handler.cut_at for f in files)
    return files


def test_a_cut_connection_resumes_at_the_byte_and_the_shards_equal_the_local_ones(
    server, crawl_files, tmp_path, caplog
) -> None:
    base, handler = server
    files = _warcs(crawl_files)
    urls = [f"{base}/{f.name}" for f in files]
    handler.cuts.update({files[0].name: 1})  # one cut, mid-file, in the first input

    with caplog.at_level(logging.WARNING, logger="skyforge.data.remote"):
        remote = shard_warcs(urls, 3, tmp_path / "remote")
    local = shard_warcs(files, 3, tmp_path / "local")
    assert handler.cuts[files[0].name] == 0, "the planted cut was never served"
    assert re.search(
        rf"crawl input '{re.escape(urls[0])}': connection lost at byte \d+ of "
        rf"{files[0].stat().st_size} .*; resuming there \(try 1 of \d+\)",
        caplog.text,
    ), caplog.text
    # The resumed read asked for the rest with a Range request from where the cut fell.
    assert any(r and r.startswith("bytes=") and r != "bytes=0-" for _, r in handler.requests)
    for name in local["shards"]:
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert remote["records_written"] == local["records_written"] > 0
    assert remote["records_corrupt"] == local["records_corrupt"] == 0


def test_a_server_that_keeps_cutting_fails_with_one_line_and_no_shard(
    server, crawl_files, tmp_path, monkeypatch
) -> None:
    base, handler = server
    files = _warcs(crawl_files)
    url = f"{base}/{files[1].name}"
    handler.cuts.update({files[1].name: 100})
    reader = ResumingReader(url, retries=2, backoff_s=0.01)
    with pytest.raises(RemoteReadError) as error:
        while reader.read(1 << 16):
            pass
    message = str(error.value)
    assert "\n" not in message
    assert re.fullmatch(
        rf"crawl input '{re.escape(url)}': connection lost at byte \d+ of "
        rf"{files[1].stat().st_size}, 2 retries failed \(.+\)",
        message,
    ), message
    # Through the crawl step: the error surfaces, and no shard (final or partial) is left.
    handler.cuts.update({files[1].name: 100})
    monkeypatch.setattr(remote, "DEFAULT_RETRIES", 2)
    monkeypatch.setattr(remote, "DEFAULT_BACKOFF_S", 0.01)
    with pytest.raises(RemoteReadError, match=re.escape(url)):
        shard_warcs([f"{base}/{files[0].name}", url], 2, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_missing_url_is_one_line(server, tmp_path) -> None:
    base, _ = server
    with pytest.raises(RemoteReadError) as error:
        shard_warcs([f"{base}/nowhere.warc.gz"], 1, tmp_path / "out")
    assert str(error.value) == f"crawl input '{base}/nowhere.warc.gz': not found"


def test_a_listing_with_a_base_url_names_the_inputs(server, crawl_files, tmp_path) -> None:
    base, _ = server
    files = _warcs(crawl_files)
    listing = crawl_files / "warc.paths.gz"
    listing.write_bytes(gzip.compress("".join(f"{f.name}\n" for f in files).encode()))
    # The listing itself remote, its entries relative to the listing's directory ...
    assert warc_paths(f"{base}/warc.paths.gz") == [f"{base}/{f.name}" for f in files]
    # ... or to a base URL (Common Crawl: https://data.commoncrawl.org/), from a local file.
    assert read_listing(str(listing), f"{base}/") == [f"{base}/{f.name}" for f in files]
    assert all(is_url(u) for u in warc_paths(str(listing), base))
    empty = tmp_path / "empty.paths"
    empty.write_text("# nothing\n")
    with pytest.raises(ValueError, match=r"^config key 'crawl.warc_glob': listing '.*' names no"):
        warc_paths(str(empty))


def test_shards_read_in_place_over_http_equal_the_local_files(server, crawl_files, tmp_path):
    """``crawl.reshard: false``: a shard is a listing of whole input files, extracted where
    they lie; over HTTP, with a cut planted mid-file, extraction writes exactly what it writes
    from the local files, and nothing is copied."""
    from skyforge.data.crawl import shard_inputs
    from skyforge.data.docs import read_docs, read_removed
    from skyforge.data.extract import extract_shard

    base, handler = server
    files = _warcs(crawl_files)
    handler.cuts.update({files[1].name: 1})
    out = {}
    for label, sources in (("local", files), ("remote", [f"{base}/{f.name}" for f in files])):
        summary = shard_inputs(sources, 1, tmp_path / label)
        assert summary["files_per_shard"] == [2] and not list((tmp_path / label).glob("*.warc*"))
        stats = extract_shard(
            tmp_path / label / "shard-00000.inputs.json",
            0,
            tmp_path / label / "docs.parquet",
            tmp_path / label / "removed.parquet",
        )
        out[label] = stats
    assert handler.cuts[files[1].name] == 0, "the planted cut was never served"
    assert out["remote"]["records_read"] == out["local"]["records_read"] > 60
    assert out["remote"]["inputs"] == 2
    for name, read in (("docs", read_docs), ("removed", read_removed)):
        a = read(tmp_path / "remote" / f"{name}.parquet")
        assert a.equals(read(tmp_path / "local" / f"{name}.parquet")), name
