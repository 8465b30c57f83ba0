"""MinHash benchmark: signature throughput per core and near-dup quality, ours vs datatrove.

Not a test: run it by hand and quote the command and its output.

Input: a synthetic bilingual crawl (``--pages`` HTML pages, 2 shards) generated into a temporary
folder, extracted with ``extract_shard``, reduced to the documents that reach near-dup dedup
(ground-truth ``expected_step`` empty or a dedup step, i.e. as if the filters before dedup were
perfect) and exact-deduplicated with ``dedup_exact``. Both systems get exactly these documents.

1. **Throughput per core** — CPU seconds (``time.process_time``, so per core whatever the
   machine) of
   * ours: ``compute_signatures`` on the texts (compute only) and ``minhash_signatures`` on the
     Parquet shards (the whole map job: read, hash, write), at the default 128 = 16 × 8
     permutations and at datatrove's 112 = 14 × 8;
   * datatrove 0.10.1: ``MinhashDedupSignature.get_shingles`` + ``get_signature`` per document
     (compute only) and ``MinhashDedupSignature.run`` (its whole step: signatures, bucket files,
     sort), with its default ``MinhashConfig`` (5-grams, 14 × 8, 64-bit xxhash) and its word
     tokenizer per language: spaCy + jieba (``cmn_Hani``) for ``zh`` documents, spaCy English
     for the rest (``en``, ``code``). datatrove has no language-agnostic mode, and its ``zho``
     code falls back to splitting on whitespace, which leaves Chinese sentences as one token.
   Figures: signatures/s and MB/s (UTF-8 text) per CPU second, per language and overall, and
   the ratio ours / datatrove.
2. **Quality** — each system's full near-dup chain on the same documents (ours: signatures →
   buckets → clusters; datatrove: signature → buckets → cluster, whose ``.remove`` files list
   the documents to drop), scored per ground-truth duplicate cluster: a cluster of m present
   documents should lose m − 1, which member survives is free; precision = correct removals /
   removals, recall = correct removals / expected.

3. **Reduce memory** (``--memory``; with ``--memory-only`` nothing else runs) — the peak memory
   of the global reduce steps next to the formulas of their docstrings, on generated tables of
   a given size (no crawl): ``exact_duplicates`` on ``--exact-docs`` hash rows in 8 shards, 20 %
   of them copies (one job, then partition 0 of ``--partitions``); the MinHash reduce on pair
   files for ``--near-docs`` documents in near-duplicate clusters (sizes 2–40, each pair
   listed in each of 16 bands with probability 0.9, ``minhash_buckets``' star + chain above
   32) over 8 shards: the one-job ``minhash_clusters``, every ``minhash_components`` partition
   and ``merge_components``, whose drop list must be byte-equal to the one job's. Each call
   runs in a fresh subprocess, first on a tiny input (imports, thread pools); "peak above
   start" is then its peak resident size (``VmHWM``) less its resident size just before the
   call, and "formula" is the docstring's bytes per document times the documents the call held
   (its own statistics): ``EXACT_BYTES_PER_DOC`` (data/dedup/exact.py) and
   ``COMPONENT_BYTES_PER_DOC`` and ``MERGE_BYTES_PER_DOC`` (data/dedup/minhash.py). The
   ``minhash_buckets`` rows run band 0 (one job, then partition 0 of ``--partitions``) on
   signature files of ``--bucket-docs`` documents over 8 shards, 30 % of them in a bucket of
   two or more (a document copies another's band and 90 % of its other values); formula:
   ``bucket_peak_bytes(documents, candidates)`` (data/dedup/minhash.py).

datatrove must not go into the project's venv. Make a separate one and pass its interpreter::

    .venv/bin/python -m venv /tmp/dt-venv
    /tmp/dt-venv/bin/pip install datatrove==0.10.1 "xxhash<4" regex tokenizers "spacy>=3.8" jieba
    .venv/bin/python benchmarks/minhash.py --datatrove-python /tmp/dt-venv/bin/python

(``regex`` and ``tokenizers`` are imported by ``datatrove.pipeline.dedup``; spaCy and jieba are
its English and Chinese word tokenizers; none is a declared dependency of the bare package.)
Without ``--datatrove-python`` the datatrove rows are skipped. This file is also the datatrove
worker (``--datatrove-worker``, run under the other interpreter), so it imports nothing from
skyforge at module level.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# datatrove's word tokenizer per ``lang`` value; anything else (``code``) gets the English one.
DT_LANG = {"en": "eng", "zh": "cmn_Hani"}


# ---------------------------------------------------------------------------------------------
# datatrove worker (runs under --datatrove-python)
# ---------------------------------------------------------------------------------------------


def datatrove_worker(docs_jsonl: str, work: str) -> None:
    """Run datatrove's MinHash on each language's documents; print one JSON line of figures."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupSignature,
    )

    rows = [json.loads(line) for line in Path(docs_jsonl).read_text().splitlines()]
    config = MinhashConfig()
    result: dict = {"config": str(config), "langs": {}}
    for lang in sorted({r["lang"] for r in rows}):
        code = DT_LANG.get(lang, "eng")
        docs = [r for r in rows if r["lang"] == lang]
        folder = Path(work) / lang
        step = MinhashDedupSignature(str(folder / "sigs"), config=config, language=code)
        step.get_shingles(docs[0]["text"])  # load the spaCy/jieba tokenizer outside the timing
        t0 = time.process_time()
        for d in docs:
            shingles = step.get_shingles(d["text"])
            if shingles.size:
                step.get_signature(shingles)
        compute = time.process_time() - t0
        t0 = time.process_time()
        step.run((Document(text=d["text"], id=d["id"]) for d in docs), rank=0, world_size=1)
        full = time.process_time() - t0
        t0 = time.process_time()
        for b in range(config.num_buckets):
            MinhashDedupBuckets(str(folder / "sigs"), str(folder / "buckets"), config=config).run(
                None, rank=b, world_size=config.num_buckets
            )
        MinhashDedupCluster(str(folder / "buckets"), str(folder / "remove"), config=config).run()
        rest = time.process_time() - t0
        remove = folder / "remove" / "000000.remove"
        raw = remove.read_bytes() if remove.exists() else b""
        idx = struct.unpack(f"<{len(raw) // 4}I", raw)
        result["langs"][lang] = {
            "num_docs": len(docs),
            "bytes": sum(len(d["text"].encode()) for d in docs),
            "compute_s": compute,
            "step_s": full,
            "buckets_cluster_s": rest,
            "removed": [docs[i]["id"] for i in idx],
        }
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Ours, and the comparison (runs under the project venv)
# ---------------------------------------------------------------------------------------------


def _prepare(pages: int, work: Path):
    """Synthetic crawl → extracted → survivors of the pre-dedup steps → exact-deduplicated."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from skyforge.config import SyntheticCrawlConfig
    from skyforge.data.dedup import exact as E
    from skyforge.data.docs import read_docs, write_docs
    from skyforge.data.extract import extract_shard
    from skyforge.synthetic.crawl import shard_name, synthesize_crawl

    synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": pages}), 2, work)
    gt = pq.read_table(work / "ground_truth.parquet").to_pandas()
    ok = gt.expected_step.isna() | gt.expected_step.isin(["exact_dedup", "near_dedup"])
    lang = dict(zip(gt.record_id[ok], gt.lang[ok], strict=True))
    hashes = []
    for s in range(2):
        extract_shard(work / shard_name(s), s, work / f"x{s}.parquet", work / f"xr{s}.parquet")
        t = read_docs(work / f"x{s}.parquet")
        t = t.filter(pc.is_in(t.column("id"), value_set=pa.array(list(lang))))
        t = t.set_column(
            t.schema.get_field_index("lang"),
            "lang",
            pa.array([lang[i] for i in t.column("id").to_pylist()], pa.string()),
        )
        write_docs(work / f"in{s}.parquet", t)
        hashes.append(work / f"h{s}.parquet")
        E.exact_hashes(work / f"in{s}.parquet", s, hashes[-1])
    E.exact_duplicates(hashes, work / "exact.parquet")
    paths = []
    for s in range(2):
        paths.append(work / f"docs{s}.parquet")
        E.apply_drop(
            work / f"in{s}.parquet",
            work / "exact.parquet",
            s,
            "exact_dedup",
            paths[-1],
            work / f"er{s}.parquet",
        )
    return paths, gt


def _score(removed: list[str], present: set[str], gt) -> tuple[float, float, int]:
    """Cluster-aware precision and recall of a list of removed ids (see module docstring)."""
    cluster = dict(zip(gt.record_id, gt.dup_cluster, strict=True))
    members: dict[int, int] = {}
    for i in present:
        if cluster[i] >= 0:
            members[cluster[i]] = members.get(cluster[i], 0) + 1
    quota = {c: m - 1 for c, m in members.items()}
    expected = sum(quota.values())
    correct = 0
    for i in removed:
        c = cluster[i]
        if c >= 0 and quota.get(c, 0) > 0:
            quota[c] -= 1
            correct += 1
    return correct / max(len(removed), 1), correct / max(expected, 1), expected


def _ours(paths: list[Path], work: Path, params) -> dict:
    from skyforge.data.dedup import minhash as M
    from skyforge.data.docs import read_docs

    docs = [r for p in paths for r in read_docs(p).to_pylist()]
    out: dict = {"langs": {}}
    M.compute_signatures([docs[0]["text"]], params)  # warm the token cache's code paths only
    for lang in sorted({d["lang"] for d in docs}):
        texts = [d["text"] for d in docs if d["lang"] == lang]
        M._HASHERS.clear()  # a cold token cache, as a fresh job starts with
        t0 = time.process_time()
        M.compute_signatures(texts, params)
        out["langs"][lang] = {
            "num_docs": len(texts),
            "bytes": sum(len(t.encode()) for t in texts),
            "compute_s": time.process_time() - t0,
        }
    M._HASHERS.clear()
    t0 = time.process_time()
    sigs = []
    for s, p in enumerate(paths):
        sigs.append(work / f"sig{s}.parquet")
        M.minhash_signatures(p, s, sigs[-1], params)
    out["step_s"] = time.process_time() - t0
    t0 = time.process_time()
    pairs = []
    for b in range(params.bands):
        pairs.append(work / f"pairs{b}.parquet")
        M.minhash_buckets(sigs, b, pairs[-1], params)
    M.minhash_clusters(pairs, work / "drop.parquet", params)
    out["buckets_cluster_s"] = time.process_time() - t0
    import pyarrow.parquet as pq

    out["removed"] = pq.read_table(work / "drop.parquet").column("id").to_pylist()
    return out


# ---------------------------------------------------------------------------------------------
# Reduce memory (generated tables; each call in a fresh subprocess)
# ---------------------------------------------------------------------------------------------

SHARDS = 8


def _rss_bytes() -> int:
    """Current resident set size (Linux /proc)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def _hwm_bytes() -> int:
    """Peak resident set size of this process image (VmHWM). Not ``ru_maxrss``: Linux carries
    that over from the parent across fork and exec, so a worker started by a parent holding
    the generated tables would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _ids(rng, n: int) -> list[str]:
    """``n`` distinct WARC-Record-IDs (47 characters, as the crawl's)."""
    raw = rng.bytes(16 * n).hex()
    return [
        f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}>"
        for h in (raw[32 * i : 32 * i + 32] for i in range(n))
    ]


def _dates(rng, n: int):
    """``n`` crawl dates over 500 days of 2022–2023, 2 % missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    days = pa.array(rng.integers(19_000, 19_500, n).astype("datetime64[D]"))
    dates = pc.strftime(days, format="%Y-%m-%d")
    return pc.if_else(pa.array(rng.random(n) < 0.02), pa.scalar(None, pa.string()), dates)


def _make_hashes(work: Path, num_docs: int, seed: int = 1, copies: float = 0.2) -> list[Path]:
    """``SHARDS`` hash tables of ``num_docs`` rows in all; 20 % are copies of another row's
    hash (duplicate groups spread over the shards)."""
    import numpy as np
    import pyarrow as pa

    from skyforge.data.dedup.exact import HASH_SCHEMA
    from skyforge.data.docs import write_table

    rng = np.random.default_rng(seed)
    hashes = np.array([rng.bytes(16).hex() for _ in range(num_docs)], dtype=object)
    copy = rng.random(num_docs) < copies
    hashes[copy] = hashes[rng.integers(0, num_docs, int(copy.sum()))]
    ids, dates = pa.array(_ids(rng, num_docs)), _dates(rng, num_docs)
    shard = rng.integers(0, SHARDS, num_docs)
    paths = []
    for s in range(SHARDS):
        rows = np.flatnonzero(shard == s)
        table = pa.table(
            {
                "id": ids.take(pa.array(rows)),
                "shard": pa.array(np.full(len(rows), s, np.int32)),
                "hash": pa.array(hashes[rows].tolist(), pa.string()),
                "crawl_date": dates.take(pa.array(rows)),
            }
        )
        paths.append(work / f"hashes-{s}.parquet")
        write_table(paths[-1], table, HASH_SCHEMA)
    return paths


def _make_pairs(work: Path, num_docs: int, bands: int = 16, seed: int = 2) -> tuple[list, int]:
    """Pair files (one per band) for ``num_docs`` documents in near-duplicate clusters."""
    import numpy as np
    import pyarrow as pa

    from skyforge.data.dedup import minhash as M

    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < num_docs:
        r = rng.random()
        sizes.append(
            2 if r < 0.6 else int(rng.integers(3, 6)) if r < 0.9 else int(rng.integers(6, 41))
        )
    sizes[-1] -= sum(sizes) - num_docs
    sizes = np.array([m for m in sizes if m >= 2])
    n = int(sizes.sum())
    ids, dates = pa.array(_ids(rng, n)), _dates(rng, n)
    shard = rng.integers(0, SHARDS, n).astype(np.int32)
    starts = np.cumsum(sizes) - sizes
    a_parts, b_parts = [], []
    for m in np.unique(sizes):
        first = starts[sizes == m][:, None]
        if m <= 32:
            i, j = np.triu_indices(m, k=1)
        else:  # minhash_buckets' star to the first member plus a chain
            i = np.concatenate([np.zeros(m - 1, int), np.arange(1, m - 1)])
            j = np.concatenate([np.arange(1, m), np.arange(2, m)])
        a_parts.append((first + i).ravel())
        b_parts.append((first + j).ravel())
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    files, rows = [], 0
    for band in range(bands):
        keep = np.flatnonzero(rng.random(len(a)) < 0.9)
        ia, ib = pa.array(a[keep]), pa.array(b[keep])
        table = pa.table(
            {
                "id_a": ids.take(ia),
                "shard_a": pa.array(shard[a[keep]]),
                "crawl_date_a": dates.take(ia),
                "id_b": ids.take(ib),
                "shard_b": pa.array(shard[b[keep]]),
                "crawl_date_b": dates.take(ib),
                "similarity": pa.array(rng.uniform(0.7, 1.0, len(keep)).astype(np.float32)),
                "band": pa.array(np.full(len(keep), band, np.int16)),
            }
        )
        files.append(work / f"band-{band}.parquet")
        M._write_pairs(files[-1], table)
        rows += len(keep)
    return files, rows


def _make_signatures(work: Path, num_docs: int, seed: int = 3, share: float = 0.3) -> list[Path]:
    """``SHARDS`` signature files (default parameters) of ``num_docs`` documents in all; about
    ``share`` of them share band 0 with another document (copies: band 0 and 90 % of the other
    hash values of their source, so their pairs verify)."""
    import numpy as np
    import pyarrow as pa

    from skyforge.config import DedupConfig, section_defaults
    from skyforge.data.dedup import minhash as M
    from skyforge.data.docs import write_table

    params = M.MinHashParams.from_section(DedupConfig.from_dict(section_defaults("dedup")))
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 2**31 - 1, (num_docs, params.num_perm), dtype=np.uint32)
    copy = np.flatnonzero(rng.random(num_docs) < share / 2)
    src = rng.integers(0, num_docs, len(copy))
    keep = ~np.isin(src, copy)
    src, copy = src[keep], copy[keep]
    same = rng.random((len(copy), params.num_perm)) < 0.9
    same[:, : params.rows] = True
    sig[copy] = np.where(same, sig[src], sig[copy])
    ids, dates = pa.array(_ids(rng, num_docs)), _dates(rng, num_docs)
    shard = rng.integers(0, SHARDS, num_docs)
    schema = M.signature_schema(params)
    paths = []
    for s in range(SHARDS):
        rows = np.flatnonzero(shard == s)
        cols = {
            "id": ids.take(pa.array(rows)),
            "shard": pa.array(np.full(len(rows), s, np.int32)),
            "crawl_date": dates.take(pa.array(rows)),
        }
        for i in range(params.num_perm):
            cols[M.hash_column(i)] = pa.array(sig[rows, i])
        paths.append(work / f"signatures-{s}.parquet")
        write_table(paths[-1], pa.table(cols), schema)
    return paths


def reduce_worker(spec: str) -> None:
    """Run one reduce call (JSON ``spec``) and print its statistics and memory as JSON.

    The same call first runs on a tiny generated input, so that the imports, Arrow's thread
    pools and the allocator's first arenas are in the resident size measured before the call.
    """
    from skyforge.config import DedupConfig, section_defaults
    from skyforge.data.dedup import exact as E
    from skyforge.data.dedup import minhash as M

    job = json.loads(spec)
    params = M.MinHashParams.from_section(DedupConfig.from_dict(section_defaults("dedup")))

    def call(files: list[Path], out: Path) -> dict:
        if job["step"] == "exact_duplicates":
            part = {"partition": job["partition"], "num_partitions": job["partitions"]}
            return E.exact_duplicates(files, out, **part, batch_rows=job["batch_rows"])
        if job["step"] == "minhash_buckets":
            part = {"partition": job["partition"], "num_partitions": job["partitions"]}
            return M.minhash_buckets(files, 0, out, params, **part, batch_rows=job["batch_rows"])
        pending = {"min_pending": job["min_pending"], "batch_rows": job["batch_rows"]}
        if job["step"] == "minhash_clusters":
            return M.minhash_clusters(files, out, params, **pending)
        if job["step"] == "minhash_components":
            part = {"partition": job["partition"], "num_partitions": job["partitions"]}
            return M.minhash_components(files, out, params, **part, **pending)
        return M.merge_components(files, out, **pending)

    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        warm = Path(tmp)
        if job["step"] == "exact_duplicates":
            call(_make_hashes(warm, 2000), warm / "out.parquet")
        elif job["step"] == "minhash_buckets":
            call(_make_signatures(warm, 2000), warm / "out.parquet")
        else:
            pairs, _ = _make_pairs(warm, 300)
            M.minhash_components(pairs, warm / "c.parquet", params)
            M.merge_components([warm / "c.parquet"], warm / "m.parquet")
            M.minhash_clusters(pairs, warm / "o.parquet", params)
    start = _rss_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    stats = call([Path(f) for f in job["inputs"]], Path(job["out"]))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _hwm_bytes()
    out = {"stats": stats, "start": start, "peak": peak, "seconds": seconds, "cpu": cpu}
    print(json.dumps(out))


def _run_reduce(job: dict) -> dict:
    """Run one reduce call in a fresh process. glibc's malloc gets a fixed mmap threshold
    (128 kB), so that freed numpy arrays go back to the system as the gigabyte-sized arrays of
    a full crawl do; with its default, moving threshold, arrays of a few MB are kept in the heap
    after they are freed and the peak of these small tables would count them."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    proc = subprocess.run(
        [sys.executable, __file__, "--reduce-worker", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode:
        sys.exit(f"reduce worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_section(
    exact_docs: int,
    near_docs: int,
    partitions: int,
    min_pending: int,
    batch_rows: int,
    bucket_docs: int = 0,
) -> None:
    """Print the reduce steps' measured peak memory next to their docstrings' formulas.

    Every step runs on a table a quarter of the size and on the full one: the first run's
    peak holds what does not grow with the input (batches read, thread pools), the formula
    adds its bytes per document for the documents the second run holds more; the measured
    bytes per document is the slope between the two runs.
    """
    import filecmp

    from skyforge.data.dedup.exact import exact_peak_bytes
    from skyforge.data.dedup.minhash import (
        COMPONENT_BYTES_PER_DOC,
        MERGE_BYTES_PER_DOC,
        bucket_peak_bytes,
    )

    def held(step: str, stats: dict) -> int:
        if step in ("exact_duplicates", "minhash_buckets"):
            return stats["num_docs"]
        return stats["num_docs" if step == "minhash_components" else "num_docs_in_clusters"]

    def formula(step: str, stats: dict) -> float:
        if step == "exact_duplicates":
            dup_rows = stats["num_drop"] + stats["num_duplicate_groups"]
            return exact_peak_bytes(stats["num_docs"], dup_rows)
        if step == "minhash_buckets":
            return bucket_peak_bytes(stats["num_docs"], stats["num_candidates"])
        per_doc = MERGE_BYTES_PER_DOC if step == "merge" else COMPONENT_BYTES_PER_DOC
        return per_doc * held(step, stats)

    print("\n## Reduce memory: measured peak next to the docstrings' formulas\n")
    print(
        "| step | partition | docs held (¼ → full) | pair rows read (full) | peak above start MB "
        "(¼ → full) | formula: ¼ peak + bytes of the added docs, MB | measured B/doc "
        "| formula B/doc | seconds (full) | CPU s ¼ → full |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="bench-reduce-") as tmp:
        work = Path(tmp)
        jobs: dict[str, list[dict]] = {}
        for size, scale in (("small", 4), ("full", 1)):
            folder = work / size
            folder.mkdir()
            runs = jobs.setdefault(size, [])
            if exact_docs:
                hashes = [str(p) for p in _make_hashes(folder, exact_docs // scale)]
                for part, n in ((0, 1), (0, partitions)):
                    runs.append(
                        {"step": "exact_duplicates", "inputs": hashes, "partition": part}
                        | {"partitions": n, "out": str(folder / f"exact-{n}.parquet")}
                    )
            if bucket_docs:
                sigs = [str(p) for p in _make_signatures(folder, bucket_docs // scale)]
                for n in (1, partitions):
                    runs.append(
                        {"step": "minhash_buckets", "inputs": sigs, "partition": 0}
                        | {"partitions": n, "out": str(folder / f"buckets-{n}.parquet")}
                    )
            if near_docs:
                pairs, _ = _make_pairs(folder, near_docs // scale, bands=4)
                pairs = [str(p) for p in pairs]
                pending = {"min_pending": min_pending}
                comps = [str(folder / f"comp-{p}.parquet") for p in range(partitions)]
                runs.append(
                    {
                        "step": "minhash_clusters",
                        "inputs": pairs,
                        "out": str(folder / "one.parquet"),
                    }
                    | pending
                )
                for p in range(partitions):  # the merge needs every partition
                    runs.append(
                        {"step": "minhash_components", "inputs": pairs, "partition": p}
                        | {"partitions": partitions, "out": comps[p]}
                        | pending
                    )
                runs.append(
                    {"step": "merge", "inputs": comps, "out": str(folder / "merged.parquet")}
                    | pending
                )
        for small, full in zip(jobs["small"], jobs["full"], strict=True):
            a = _run_reduce(small | {"batch_rows": batch_rows})
            b = _run_reduce(full | {"batch_rows": batch_rows})
            step = full["step"]
            docs_a, docs_b = held(step, a["stats"]), held(step, b["stats"])
            peak_a, peak_b = a["peak"] - a["start"], b["peak"] - b["start"]
            added = formula(step, b["stats"]) - formula(step, a["stats"])
            predicted = peak_a + added
            per_doc = max(docs_b - docs_a, 1)
            rows = b["stats"].get("num_pairs", b["stats"].get("num_verified_pairs"))
            name = "merge_components" if step == "merge" else step
            print(
                f"| {name} | {full.get('partition', 0)} of {full.get('partitions', 1)} "
                f"| {docs_a:,} → {docs_b:,} | {'' if rows is None else f'{rows:,}'} "
                f"| {peak_a / 1e6:,.0f} → {peak_b / 1e6:,.0f} | {predicted / 1e6:,.0f} "
                f"| {(peak_b - peak_a) / per_doc:.0f} | {added / per_doc:.0f} "
                f"| {b['seconds']:.1f} | {a['cpu']:.1f} → {b['cpu']:.1f} |"
            )
        if near_docs:
            full = work / "full"
            same = filecmp.cmp(full / "one.parquet", full / "merged.parquet", shallow=False)
            print(
                f"\nMinHash: drop list of {partitions} partitions + merge byte-equal to one job: "
                f"{same}"
            )


def _fmt_row(name: str, n: int, nbytes: int, seconds: float) -> str:
    return (
        f"| {name} | {n} | {nbytes / 1e6:.2f} | {seconds:.2f} | {n / seconds:,.0f} "
        f"| {nbytes / 1e6 / seconds:.2f} |"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=4000, help="synthetic crawl size (HTML pages)")
    ap.add_argument("--datatrove-python", help="interpreter of a venv with datatrove==0.10.1")
    ap.add_argument("--memory", action="store_true", help="also measure the reduce steps' memory")
    ap.add_argument("--memory-only", action="store_true", help="only the reduce steps' memory")
    ap.add_argument("--exact-docs", type=int, default=2_000_000, help="hash rows (memory part)")
    ap.add_argument("--near-docs", type=int, default=1_000_000, help="clustered docs (memory)")
    ap.add_argument(
        "--bucket-docs", type=int, default=1_000_000, help="signature rows (memory part)"
    )
    ap.add_argument("--partitions", type=int, default=4, help="reduce partitions (memory part)")
    ap.add_argument(
        "--min-pending",
        type=int,
        default=1 << 13,
        help="MinHash edges buffered before the first compaction (memory part; the steps use "
        "2^20, negligible beside the documents of a full crawl, not beside these tables)",
    )
    ap.add_argument(
        "--batch-rows",
        type=int,
        default=1 << 13,
        help="rows per record batch read (memory part; the steps read 2^16, likewise)",
    )
    ap.add_argument(
        "--datatrove-worker", nargs=2, metavar=("DOCS_JSONL", "WORKDIR"), help=argparse.SUPPRESS
    )
    ap.add_argument("--reduce-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.datatrove_worker:
        datatrove_worker(*args.datatrove_worker)
        return
    if args.reduce_worker:
        reduce_worker(args.reduce_worker)
        return
    if args.memory_only:
        memory_section(
            args.exact_docs,
            args.near_docs,
            args.partitions,
            args.min_pending,
            args.batch_rows,
            args.bucket_docs,
        )
        return

    from skyforge.config import DedupConfig, section_defaults
    from skyforge.data.dedup.minhash import MinHashParams

    default = MinHashParams.from_section(DedupConfig.from_dict(section_defaults("dedup")))

    with tempfile.TemporaryDirectory(prefix="bench-minhash-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        paths, gt = _prepare(args.pages, work / "crawl")
        from skyforge.data.docs import read_docs

        docs = [r for p in paths for r in read_docs(p).to_pylist()]
        present = {d["id"] for d in docs}
        print(
            f"input: {args.pages} pages → {len(docs)} documents after exact dedup "
            f"({sum(len(d['text'].encode()) for d in docs) / 1e6:.2f} MB text), "
            f"prepared in {time.perf_counter() - t0:.1f} s; python {sys.version.split()[0]}"
        )
        results = {}
        for name, params in (
            ("ours 16×8=128", default),
            ("ours 14×8=112", dataclasses.replace(default, num_perm=112, bands=14, rows=8)),
        ):
            (work / name[:9].replace(" ", "")).mkdir(exist_ok=True)
            results[name] = _ours(paths, work / name[:9].replace(" ", ""), params)
        if args.datatrove_python:
            jsonl = work / "docs.jsonl"
            jsonl.write_text(
                "".join(json.dumps({k: d[k] for k in ("id", "text", "lang")}) + "\n" for d in docs)
            )
            proc = subprocess.run(
                [
                    args.datatrove_python,
                    __file__,
                    "--datatrove-worker",
                    str(jsonl),
                    str(work / "dt"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode:
                sys.exit(f"datatrove worker failed:\n{proc.stderr[-3000:]}")
            dt = json.loads(proc.stdout.strip().splitlines()[-1])
            dt["removed"] = [i for v in dt["langs"].values() for i in v["removed"]]
            results[f"datatrove 0.10.1 ({dt['config']})"] = dt

        print("\n## Signatures, compute only (CPU s of one process)\n")
        print("| system | docs | MB | CPU s | signatures/s | MB/s |")
        print("| --- | --- | --- | --- | --- | --- |")
        totals = {}
        for name, r in results.items():
            n = sum(v["num_docs"] for v in r["langs"].values())
            nb = sum(v["bytes"] for v in r["langs"].values())
            s = sum(v["compute_s"] for v in r["langs"].values())
            totals[name] = (n, nb, s)
            for lang, v in r["langs"].items():
                print(_fmt_row(f"{name} [{lang}]", v["num_docs"], v["bytes"], v["compute_s"]))
            print(_fmt_row(f"**{name} [all]**", n, nb, s))
        print("\n## Whole signature step (read docs, sign, write) and the rest of the chain\n")
        print("| system | step CPU s | docs/s | MB/s | buckets+clusters CPU s |")
        print("| --- | --- | --- | --- | --- |")
        for name, r in results.items():
            n, nb, _ = totals[name]
            step = r["step_s"] if "step_s" in r else sum(v["step_s"] for v in r["langs"].values())
            rest = r.get("buckets_cluster_s") or sum(
                v["buckets_cluster_s"] for v in r["langs"].values()
            )
            r["step_total"] = step
            print(f"| {name} | {step:.2f} | {n / step:,.0f} | {nb / 1e6 / step:.2f} | {rest:.2f} |")
        print("\n## Near-dup quality on the labelled set (cluster-aware)\n")
        print("| system | removed | expected | precision | recall |")
        print("| --- | --- | --- | --- | --- |")
        for name, r in results.items():
            p, rc, expected = _score(r["removed"], present, gt)
            print(f"| {name} | {len(r['removed'])} | {expected} | {p:.3f} | {rc:.3f} |")
        dt_names = [n for n in results if n.startswith("datatrove")]
        if dt_names:
            dn = dt_names[0]
            print("\n## Ratio ours / datatrove (per core, higher is faster)\n")
            for name in results:
                if name == dn:
                    continue
                compute = totals[dn][2] / totals[name][2]
                step = results[dn]["step_total"] / results[name]["step_total"]
                per_lang = ", ".join(
                    f"{lang} {results[dn]['langs'][lang]['compute_s'] / v['compute_s']:.1f}×"
                    for lang, v in results[name]["langs"].items()
                )
                print(f"- {name}: compute {compute:.1f}× ({per_lang}); whole step {step:.1f}×")
    if args.memory:
        memory_section(
            args.exact_docs,
            args.near_docs,
            args.partitions,
            args.min_pending,
            args.batch_rows,
            args.bucket_docs,
        )


if __name__ == "__main__":
    main()
