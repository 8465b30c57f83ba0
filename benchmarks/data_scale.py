"""How the data half scales with the crawl: cost per document and peak memory of every data rule
at 1×, 10× and 30× the default synthetic crawl, and the per-rule rates the data plan reads.

Not a test: run it by hand and quote the command and its output::

    .venv/bin/python benchmarks/data_scale.py --factors 1 10 30 --rates-out data_rates.json

For each factor F it runs the data half of the DAG (``snakemake --cores N`` on the funnel and
the removal scores, which need every cleaning rule, the classifiers and the corpora split, and
on the tokenizer, the packs (through the blends) and the held-out domain files, which read the
corpora) in a fresh directory, on the embedded default config with ``crawl.synthetic.num_pages``
= 3,000 × F and the default two shards: a shard grows F times, so a job whose memory followed
its shard would show it. Every other key keeps its default (``stream`` batches, the
substring-dedup budget).

Per rule, from Snakemake's own ``benchmark:`` files (``logs/benchmarks/<rule>/*.tsv``: wall
seconds, CPU seconds and peak RSS of each job) and ``snakemake --summary`` (which rule wrote
which output): jobs, pages per CPU-second (pages = WARC records extract reads, the same count
for every rule, so the figure is the rule's cost per page inverted), the peak RSS of its
largest job, the bytes it wrote, and each against the 1× run. The baseline is the 1× run of the
same invocation; the last column compares the two largest runs, where every shard holds many
record batches (at 1× a shard holds ~1,500 documents, three batches of 512).

CPU seconds are Snakemake's (psutil, summed over the job's processes); a job of about a second
is mostly interpreter start-up and imports, so at 1× the cost per page is dominated by that
fixed cost and falls with size.

``--rates-out`` writes, per rule, the fit the data plan reads as ``plan.data.rates_file``
(rule → ``{"base_mb", "k", "s0", "s_per_mb"}``: peak RSS = base + k × bytes and job seconds =
s0 + s_per_mb × MB, with bytes the shard's WARC bytes for per-shard rules and the crawl's for
the global ones, as ``skyforge.plan.resources.DATA_RATES`` defines each rule's scale); a
line through the two largest runs, slopes clamped at zero (``fit_rates`` says why).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from skyforge.plan.resources import DATA_RATES  # noqa: E402

TARGETS = [
    "results/data/funnel/funnel.csv",
    "results/data/scores/scores.csv",
    # the data rules past the corpora: tokenizer training, the packs, the held-out domains
    "train_tokenizer",
    "blends",  # every corpus and split packed and merged
    "eval_domains",
]
BASE_PAGES = 3000


def _run(work: Path, factor: int, cores: int) -> float:
    config = work / "scale.yaml"
    config.write_text(
        f"crawl:\n  synthetic:\n    num_pages: {BASE_PAGES * factor}\n", encoding="utf-8"
    )
    cmd = [sys.executable, "-m", "snakemake", *TARGETS, "-s", str(REPO / "Snakefile")]
    cmd += ["--cores", str(cores), "--configfile", str(REPO / "config.yaml"), str(config)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        sys.exit(f"snakemake failed at {factor}x in {work}:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def _outputs_by_rule(work: Path) -> dict[str, int]:
    cmd = [sys.executable, "-m", "snakemake", *TARGETS, "-s", str(REPO / "Snakefile")]
    cmd += ["--summary", "--configfile", str(REPO / "config.yaml"), str(work / "scale.yaml")]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=True)
    sizes: dict[str, int] = defaultdict(int)
    for row in csv.DictReader(proc.stdout.splitlines(), delimiter="\t"):
        path = work / row["output_file"]
        if path.is_file():
            sizes[row["rule"]] += path.stat().st_size
    return dict(sizes)


def _jobs_by_rule(work: Path) -> dict[str, list[dict[str, float]]]:
    jobs: dict[str, list[dict[str, float]]] = defaultdict(list)
    for tsv in sorted((work / "logs" / "benchmarks").glob("**/*.tsv")):
        rule = tsv.relative_to(work / "logs" / "benchmarks").parts[0]
        with tsv.open() as f:
            for row in csv.DictReader(f, delimiter="\t"):
                jobs[rule].append(
                    {
                        "s": float(row["s"]),
                        "cpu": float(row["cpu_time"]),
                        "rss_mb": float(row["max_rss"]),
                    }
                )
    return dict(jobs)


def _pages(work: Path) -> int:
    """WARC records read: every one is a row of extract's kept or removed table."""
    import pyarrow.parquet as pq

    tables = (work / "results" / "data" / "extract").glob("*.parquet")
    return sum(pq.ParquetFile(p).metadata.num_rows for p in tables)


def _warc_bytes(work: Path) -> int:
    return sum(p.stat().st_size for p in (work / "results" / "crawl").glob("*.warc.gz"))


def measure(factor: int, cores: int, keep: Path | None) -> dict:
    tmp = tempfile.mkdtemp(prefix=f"bench-data-{factor}x-", dir=keep)
    work = Path(tmp)
    wall = _run(work, factor, cores)
    jobs = _jobs_by_rule(work)
    sizes = _outputs_by_rule(work)
    pages = _pages(work)
    crawl_bytes = _warc_bytes(work)
    num_shards = len(list((work / "results" / "crawl").glob("*.warc.gz")))
    rules = {}
    for rule, runs in jobs.items():
        cpu = sum(j["cpu"] for j in runs)
        rules[rule] = {
            "jobs": len(runs),
            "cpu_s": cpu,
            "wall_s": max(j["s"] for j in runs),
            "pages_per_cpu_s": pages / cpu if cpu > 0 else float("nan"),
            "peak_rss_mb": max(j["rss_mb"] for j in runs),
            "out_bytes": sizes.get(rule, 0),
        }
    return {
        "factor": factor,
        "work": str(work),
        "wall_s": wall,
        "pages": pages,
        "crawl_bytes": crawl_bytes,
        "shard_bytes": crawl_bytes / max(1, num_shards),
        "rules": rules,
    }


def fit_rates(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Per rule: peak RSS and job seconds as a line in its scale's bytes, through the two
    largest runs (at 1× a shard is less than one record batch, so the smallest run would make a
    streaming job look as if it grew with its shard). Slopes are clamped at zero and the
    intercept raised so that the line lies on or above both points."""
    out = {}
    top = sorted(runs, key=lambda r: r["crawl_bytes"])[-2:]
    for rule, rate in DATA_RATES.items():
        points = [(r, r["rules"][rule]) for r in top if rule in r["rules"]]
        if len(points) < 2 or rate.scale == "fixed":
            continue
        x = np.array(
            [(r["shard_bytes"] if rate.scale == "shard" else r["crawl_bytes"]) for r, _ in points]
        )
        rss = np.array([m["peak_rss_mb"] for _, m in points])
        sec = np.array([m["wall_s"] for _, m in points])
        k_mb = max(0.0, float((rss[1] - rss[0]) / (x[1] - x[0])))  # MB of RSS per byte
        s_per_byte = max(0.0, float((sec[1] - sec[0]) / (x[1] - x[0])))
        out[rule] = {
            "base_mb": round(float(np.max(rss - k_mb * x)), 1),
            "k": round(k_mb * 2**20, 3),  # bytes of RSS per byte of scale
            "s0": round(float(max(0.0, np.max(sec - s_per_byte * x))), 2),
            "s_per_mb": round(s_per_byte * 2**20, 4),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rates-out", type=Path, help="write the fitted rates (JSON) here")
    ap.add_argument("--json-out", type=Path, help="write every measurement (JSON) here")
    ap.add_argument("--keep", type=Path, help="run directories go here and are kept")
    args = ap.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    runs = []
    for factor in args.factors:
        r = measure(factor, args.cores, args.keep)
        runs.append(r)
        print(
            f"{factor}x: {r['pages']:,} pages, {r['crawl_bytes'] / 2**20:.1f} MB of WARC in 2 "
            f"shards, data half {r['wall_s']:.0f} s on {args.cores} cores ({r['work']})",
            flush=True,
        )
    base = runs[0]
    print()
    print(f"Baseline: the {base['factor']}x run. Ratios are N× / baseline; cost = CPU s per page.")
    head = "| rule | jobs |"
    for r in runs:
        head += (
            f" pages/CPU-s {r['factor']}x | peak RSS MB {r['factor']}x | out MB {r['factor']}x |"
        )
    for r in runs[1:]:
        head += f" cost {r['factor']}x/{base['factor']}x | RSS {r['factor']}x/{base['factor']}x |"
    if len(runs) > 2:
        last, prev = runs[-1]["factor"], runs[-2]["factor"]
        head += f" RSS {last}x/{prev}x |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for rule in sorted(
        base["rules"], key=lambda k: list(DATA_RATES).index(k) if k in DATA_RATES else 99
    ):
        if not all(rule in r["rules"] for r in runs):
            continue
        b = base["rules"][rule]
        line = f"| {rule} | {b['jobs']} |"
        for r in runs:
            m = r["rules"][rule]
            rate, rss, out_mb = m["pages_per_cpu_s"], m["peak_rss_mb"], m["out_bytes"] / 2**20
            line += f" {rate:,.0f} | {rss:,.0f} | {out_mb:,.1f} |"
        for r in runs[1:]:
            m = r["rules"][rule]
            cost = b["pages_per_cpu_s"] / m["pages_per_cpu_s"]
            line += f" {cost:.2f} | {m['peak_rss_mb'] / b['peak_rss_mb']:.2f} |"
        if len(runs) > 2:
            last, prev = runs[-1]["rules"][rule], runs[-2]["rules"][rule]
            line += f" {last['peak_rss_mb'] / prev['peak_rss_mb']:.2f} |"
        print(line)
    if args.json_out:
        args.json_out.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    if args.rates_out:
        rates = fit_rates(runs)
        args.rates_out.write_text(json.dumps(rates, indent=1, sort_keys=True) + "\n")
        print(f"\nwrote {len(rates)} rules' rates to {args.rates_out} (plan.data.rates_file)")


if __name__ == "__main__":
    main()
