"""Exact-substring dedup benchmark: MB/s and peak memory per input MB at several input sizes.

Not a test: run it by hand and quote the command and its output::

    .venv/bin/python benchmarks/substring.py --sizes-mb 4 16 64 --budget-mb 400

Each size runs both methods on the same input: the whole-group suffix array (the baseline) and
the step's hash-partitioned K-byte windows (as many partitions as ``--budget-mb`` needs), and
checks that their span tables are byte-identical.

Input per size: generated bilingual documents (half the bytes English-like — words drawn from a
Zipf-distributed 20,000-word vocabulary — half Chinese-like — characters drawn Zipf-wise from
3,000 CJK characters), 1–6 KB each, in 4 shards; 35 % of documents carry the synthetic crawl's
month drop-down text (``DROPDOWN_TEXT_EN`` / ``_ZH``) and 3 % repeat a paragraph of an earlier
document. Random text has few long repeats, so the suffix-array pass sees a realistic mix of
short LCPs and a few large duplicate families.

Each size runs ``substring_dedup`` (both languages as one group, K = 225 bytes) in a fresh
subprocess, so that ``ru_maxrss`` (the process's peak resident memory) belongs to that size
alone. Reported: wall and CPU seconds, MB/s of input text per CPU second, peak RSS, and the
peak RSS above the process's resident size just before the call, per input MB — the figure the
module docstring's "≈ 13 B per byte" predicts (text 1 + SA 4 + LCP 4 + Kasai's rank array 4,
plus the Arrow tables and the edited texts).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def _generate(size_mb: float, out_dir: Path, seed: int = 0) -> list[Path]:
    """Write ≈ ``size_mb`` MB of document text as 4 Parquet shards; return their paths."""
    import numpy as np

    from skyforge.data.docs import write_docs
    from skyforge.synthetic.crawl import DROPDOWN_TEXT_EN, DROPDOWN_TEXT_ZH

    rng = np.random.default_rng(seed)
    syll = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "tu", "ve", "zo", "an", "el", "is", "or"]
    vocab = np.array(
        ["".join(rng.choice(syll, size=rng.integers(1, 4))) + str(i % 7) for i in range(20000)]
    )
    zipf_en = 1.0 / np.arange(1, len(vocab) + 1)
    zipf_en /= zipf_en.sum()
    chars = np.array([chr(0x4E00 + i) for i in range(3000)])
    zipf_zh = 1.0 / np.arange(1, len(chars) + 1) ** 0.8
    zipf_zh /= zipf_zh.sum()
    target = int(size_mb * 1e6)
    shards: list[list[dict]] = [[], [], [], []]
    total = n = 0
    paragraphs: list[str] = []
    while total < target:
        zh = n % 2 == 1
        nbytes = int(rng.integers(1000, 6000))
        if zh:
            body = "".join(rng.choice(chars, size=nbytes // 3, p=zipf_zh))
            body = "。\n".join(body[i : i + 120] for i in range(0, len(body), 120))
        else:
            words = rng.choice(vocab, size=nbytes // 6, p=zipf_en)
            body = ". ".join(" ".join(words[i : i + 15]) for i in range(0, len(words), 15))
        if paragraphs and rng.random() < 0.03:
            body += "\n" + paragraphs[int(rng.integers(len(paragraphs)))]
        if rng.random() < 0.35:
            body += "\n" + (DROPDOWN_TEXT_ZH if zh else DROPDOWN_TEXT_EN)
        if rng.random() < 0.05:
            paragraphs.append(body[:600])
        s = n % 4
        shards[s].append(
            {
                "id": f"g{n:08d}",
                "text": body,
                "lang": "zh" if zh else "en",
                "shard": s,
                "crawl_date": "2024-01-01",
            }
        )
        total += len(body.encode())
        n += 1
    paths = []
    for s, rows in enumerate(shards):
        paths.append(out_dir / f"docs-{s}.parquet")
        write_docs(paths[-1], rows)
    return paths


def worker(size_mb: float, work: str, method: str, budget_mb: float | None) -> None:
    """Generate (in a child) then run one size with one method; print a JSON line of figures."""
    work_dir = Path(work)
    subprocess.run([sys.executable, __file__, "--generate", str(size_mb), work], check=True)
    from skyforge.data.dedup.substring import substring_dedup

    paths = sorted(work_dir.glob("docs-*.parquet"))
    before = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    stats = substring_dedup(
        paths,
        list(range(len(paths))),
        [work_dir / f"out-{s}.parquet" for s in range(len(paths))],
        [work_dir / f"rm-{s}.parquet" for s in range(len(paths))],
        work_dir / "spans.parquet",
        min_length_bytes=225,
        langs=["en", "zh"],
        method=method,
        memory_budget_bytes=None if budget_mb is None else int(budget_mb * 2**20),
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux → ~MB
    print(
        json.dumps(
            {
                "size_mb": size_mb,
                "wall_s": wall,
                "cpu_s": cpu,
                "rss_before_mb": before,
                "peak_rss_mb": peak,
                **stats,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes-mb", type=float, nargs="+", default=[4, 16, 64])
    ap.add_argument(
        "--budget-mb",
        type=float,
        default=None,
        help="memory budget of the windows method (partitions = what it needs; default: one)",
    )
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        _generate(float(args.generate[0]), Path(args.generate[1]))
        return
    if args.worker:
        size, work, method, budget = args.worker
        worker(float(size), work, method, None if budget == "none" else float(budget))
        return
    print(f"python {sys.version.split()[0]}; one process per size and method; K = 225 bytes")
    print(
        "| method | input MB | partitions | spans | removed MB | wall s | CPU s | MB/s (CPU) "
        "| peak RSS MB | RSS before MB | peak − before, B per input byte | same spans |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    budget = "none" if args.budget_mb is None else str(args.budget_mb)
    for size in args.sizes_mb:
        with tempfile.TemporaryDirectory(prefix="bench-substring-") as tmp:
            spans = {}
            for method, b in (("suffix_array", "none"), ("windows", budget)):
                work = Path(tmp) / method
                work.mkdir()
                proc = subprocess.run(
                    [sys.executable, __file__, "--worker", str(size), str(work), method, b],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode:
                    sys.exit(f"size {size} MB, {method} failed:\n{proc.stderr[-3000:]}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                spans[method] = (work / "spans.parquet").read_bytes()
                mb = r["bytes_in"] / 1e6
                per_byte = (r["peak_rss_mb"] - r["rss_before_mb"]) / mb
                same = (
                    "baseline"
                    if method == "suffix_array"
                    else ("yes" if spans[method] == spans["suffix_array"] else "NO")
                )
                print(
                    f"| {method} | {mb:.1f} | {r['partitions']} | {r['num_spans']} "
                    f"| {r['bytes_spans'] / 1e6:.2f} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
                    f"| {mb / r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} "
                    f"| {per_byte:.1f} | {same} |"
                )


if __name__ == "__main__":
    main()
