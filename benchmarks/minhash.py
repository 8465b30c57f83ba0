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


def _fmt_row(name: str, n: int, nbytes: int, seconds: float) -> str:
    return (
        f"| {name} | {n} | {nbytes / 1e6:.2f} | {seconds:.2f} | {n / seconds:,.0f} "
        f"| {nbytes / 1e6 / seconds:.2f} |"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=4000, help="synthetic crawl size (HTML pages)")
    ap.add_argument("--datatrove-python", help="interpreter of a venv with datatrove==0.10.1")
    ap.add_argument(
        "--datatrove-worker", nargs=2, metavar=("DOCS_JSONL", "WORKDIR"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.datatrove_worker:
        datatrove_worker(*args.datatrove_worker)
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


if __name__ == "__main__":
    main()
