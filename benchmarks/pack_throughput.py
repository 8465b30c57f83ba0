"""Pack-writer benchmark: tokenization throughput per core and peak memory, ours vs a baseline.

Not a test: run it by hand and quote the command and its output.

Input: every ``train`` shard of the corpora folder of a DAG run (default: the one made by
``snakemake`` in ``/tmp/tokrun``), concatenated into one CORPUS_SCHEMA shard (1×) and into
shards holding the same documents several times over (e.g. 4×), with 1,024-row row groups as the
corpus step writes them. The tokenizer is ``--tokenizer`` or, without it, one trained here with
``train_tokenizer`` (vocabulary 4,096, the stage-1 mix, the default DAG's size).

Systems, each in a fresh process (the Rust thread pool is sized once per process, and peak RSS
is per process):

* **baseline** — what Megatron-LM's ``tools/preprocess_data.py`` does in each worker: a plain
  single-process loop, ``tokenizers`` ``encode`` one document at a time (+ EOD), then
  megatron-core's ``IndexedDatasetBuilder.add_document`` with the id list; the shard is streamed
  by record batches, as preprocess_data streams its JSONL.
* **ours** — ``skyforge.tokenize.packs.tokenize_shard`` with ``num_threads`` 1 and 2 (batched
  ``encode_batch_fast`` on the Rust pool, same builder, atomic renames, stats JSON).

Figures: docs/s and tokens/s (wall), the same per core used (threads; 1 for the baseline), CPU
seconds, the ratio to baseline × cores (the issue's goal is ≥ 1: near-linear scaling), RSS after
the imports and peak RSS (``ru_maxrss``), whose difference must not grow with the corpus. The
``.bin`` files of all systems are compared byte for byte: the same input must give the same pack.

    .venv/bin/python benchmarks/pack_throughput.py --corpora /tmp/tokrun/results/corpora
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPORA = ("main-en", "main-zh", "main-code", "stem", "parallel")
STAGE1_MIX = {"main-en": 0.522, "main-zh": 0.396, "main-code": 0.08}


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def worker(system: str, shard: Path, tokenizer: Path, out_prefix: Path, threads: int) -> None:
    """Run one system on one shard and print its figures as JSON (runs in a child process)."""
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    import megatron.core.datasets.indexed_dataset as indexed_dataset  # noqa: F401 (import cost)
    import pyarrow.parquet as pq
    from tokenizers import Tokenizer

    from skyforge.tokenize.packs import tokenize_shard

    rss_before = _rss_kib()
    start, cpu_start = time.perf_counter(), time.process_time()
    if system == "baseline":
        tok = Tokenizer.from_file(str(tokenizer))
        tok.encode_special_tokens = True  # as ours: "</s>" in text is text
        eod = tok.token_to_id("</s>")
        dtype = indexed_dataset.DType.optimal_dtype(tok.get_vocab_size())
        builder = indexed_dataset.IndexedDatasetBuilder(f"{out_prefix}.bin", dtype=dtype)
        docs = tokens = 0
        parquet = pq.ParquetFile(shard, pre_buffer=False)  # stream, as ours does
        for batch in parquet.iter_batches(batch_size=1024, columns=["text"]):
            for text in batch.column(0).to_pylist():
                ids = tok.encode(text, add_special_tokens=False).ids
                ids.append(eod)
                builder.add_document(ids, [len(ids)])
                docs += 1
                tokens += len(ids)
        builder.finalize(f"{out_prefix}.idx")
    else:
        stats = tokenize_shard(shard, tokenizer, out_prefix, num_threads=threads)
        docs, tokens = stats["docs"], stats["tokens"]
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "docs": docs,
                "tokens": tokens,
                "wall": wall,
                "cpu": cpu,
                "rss_before_mib": rss_before / 1024,
                "peak_rss_mib": peak / 1024,
            }
        )
    )


def _inputs(corpora: Path, sizes: list[int], workdir: Path) -> dict[int, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from skyforge.data.corpora import CORPUS_SCHEMA

    files = [f for c in CORPORA for f in sorted((corpora / c / "train").glob("*.parquet"))]
    if not files:
        sys.exit(f"no train shards under {corpora} (run the DAG first, see the docstring)")
    table = pa.concat_tables(pq.read_table(f).cast(CORPUS_SCHEMA) for f in files)
    shards = {}
    for size in sizes:
        shards[size] = workdir / f"input_{size}x.parquet"
        pq.write_table(pa.concat_tables([table] * size), shards[size], row_group_size=1024)
    return shards


def _tokenizer(corpora: Path, workdir: Path) -> Path:
    from skyforge.tokenize.tokenizer import DEFAULT_SPECIAL_TOKENS, train_tokenizer

    def split(name: str) -> dict[str, list[Path]]:
        return {c: sorted((corpora / c / name).glob("*.parquet")) for c in CORPORA}

    train_tokenizer(
        split("train"),
        split("heldout"),
        workdir / "tokenizer",
        vocab_size=4096,
        mix=STAGE1_MIX,
        sample_bytes=4_000_000,
        special_tokens=DEFAULT_SPECIAL_TOKENS,
    )
    return workdir / "tokenizer" / "tokenizer.json"


def _run(system: str, shard: Path, tokenizer: Path, out_prefix: Path, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", system, "--shard", str(shard)]
    cmd += ["--tokenizer", str(tokenizer), "--out", str(out_prefix), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"worker failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=Path("/tmp/tokrun/results/corpora"))
    parser.add_argument("--tokenizer", type=Path, help="tokenizer.json (default: train one)")
    parser.add_argument("--sizes", default="1,4", help="input sizes, multiples of the corpus")
    parser.add_argument("--threads", default="1,2", help="thread counts for ours")
    parser.add_argument("--repeats", type=int, default=2, help="runs per cell; the best is shown")
    parser.add_argument("--worker", choices=["baseline", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--shard", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.shard, args.tokenizer, args.out, int(args.threads))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    thread_counts = [int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="tokbench.") as tmp:
        workdir = Path(tmp)
        tokenizer = args.tokenizer or _tokenizer(args.corpora, workdir)
        shards = _inputs(args.corpora, sizes, workdir)
        print(f"cpus available: {len(os.sched_getaffinity(0))}; tokenizer: {tokenizer}")
        header = (
            f"{'input':>5} {'system':<10} {'docs':>6} {'tokens':>9} {'wall s':>6} {'cpu s':>6} "
            f"{'docs/s':>6} {'tok/s':>8} {'tok/s/core':>10} {'tok/cpu-s':>9} {'÷base×cores':>11} "
            f"{'RSS0 MiB':>8} {'peak MiB':>8} {'Δ MiB':>5}"
        )
        print(header)
        print("-" * len(header))
        for size in sizes:
            runs = [("baseline", 1)] + [("ours", t) for t in thread_counts]
            base_rate = None
            reference_bin = None
            for system, threads in runs:
                prefix = workdir / f"{system}{threads}_{size}x"
                results = [
                    _run(system, shards[size], tokenizer, prefix, threads)
                    for _ in range(args.repeats)
                ]
                best = min(results, key=lambda r: r["wall"])
                rate = best["tokens"] / best["wall"]
                base_rate = base_rate or rate
                name = "baseline" if system == "baseline" else f"ours {threads}t"
                peak = max(r["peak_rss_mib"] for r in results)
                print(
                    f"{size:>4}× {name:<10} {best['docs']:>6} {best['tokens']:>9} "
                    f"{best['wall']:>6.2f} {best['cpu']:>6.2f} {best['docs'] / best['wall']:>6.0f} "
                    f"{rate:>8.0f} {rate / threads:>10.0f} {best['tokens'] / best['cpu']:>9.0f} "
                    f"{rate / (base_rate * threads):>11.2f} {best['rss_before_mib']:>8.0f} "
                    f"{peak:>8.0f} {peak - best['rss_before_mib']:>5.0f}"
                )
                bin_path = Path(f"{prefix}.bin")
                if reference_bin is None:
                    reference_bin = bin_path
                elif not filecmp.cmp(reference_bin, bin_path, shallow=False):
                    print(f"      !! {bin_path.name} differs from {reference_bin.name}")
        print("(best of", args.repeats, "runs per cell; peak = max over runs)")


if __name__ == "__main__":
    main()
