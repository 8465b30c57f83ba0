"""How the DAG scales with the number of input WARC files: `snakemake -n` wall time and jobs.

Not a test: run it by hand and quote the command and its output::

    .venv/bin/python benchmarks/dag_scale.py --files 1000 10000 100000 --files-per-shard 10

For each count N it writes N empty placeholder ``.warc.gz`` files (a dry run reads none of
them), a config with ``crawl.source: warc`` over them and ``crawl.num_shards = N /
files-per-shard``, and times ``snakemake -n`` (the whole DAG: every target of ``rule all``) in a
fresh process, three ways: plain, and with ``--profile slurm`` (what a cluster user runs; no
SLURM is contacted by a dry run). Reported: wall seconds, peak RSS of the Snakemake process,
and the job count Snakemake prints (its "total" line), i.e. what ``--profile slurm`` would
submit as separate SLURM jobs.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _placeholders(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"CC-MAIN-{i:06d}.warc.gz").touch()


def _dry_run(work: Path, config: Path, profile: bool) -> dict:
    cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(REPO / "Snakefile")]
    cmd += ["--configfile", str(REPO / "config.yaml"), str(config)]
    if profile:
        cmd += ["--profile", str(REPO / "slurm")]
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode:
        sys.exit(f"snakemake -n failed in {work}:\n{proc.stderr[-3000:]}")
    found = re.search(r"^total\s+(\d+)", proc.stdout, re.MULTILINE)
    return {
        "wall_s": wall,
        "jobs": int(found.group(1)) if found else -1,
        "peak_rss_mb": max(peak, before) / 1024,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--files-per-shard", type=int, default=10)
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}; snakemake -n of the whole DAG in a fresh process")
    print("| input files | shards | profile | jobs | wall s | peak RSS MB (max so far) |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    for n in args.files:
        shards = max(1, n // args.files_per_shard)
        with tempfile.TemporaryDirectory(prefix="bench-dag-") as tmp:
            work = Path(tmp)
            _placeholders(work / "warc", n)
            config = work / "scale.yaml"
            config.write_text(
                "crawl:\n  source: warc\n"
                f"  warc_glob: {work / 'warc' / '*.warc.gz'}\n  num_shards: {shards}\n",
                encoding="utf-8",
            )
            for profile in (False, True):
                r = _dry_run(work, config, profile)
                print(
                    f"| {n:,} | {shards:,} | {'slurm' if profile else 'none'} | {r['jobs']:,} "
                    f"| {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
