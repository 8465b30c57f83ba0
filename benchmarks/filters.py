"""Filter throughput and decisions: skyforge's ``filter_shard`` vs HF datatrove on the same input.

Both run on the same documents: a synthetic crawl (``skyforge.synthetic.crawl``) extracted with
``skyforge.data.extract``, so the ground truth says which documents the URL, language and
heuristic steps should remove. Each side runs in one process on one core:

* skyforge: ``filter_shard`` (URL blocklists, language ID, line cleanup, heuristic rules), timed
  end to end: Parquet read, model load, filtering, Parquet write.
* datatrove 0.10.1: ``URLFilter`` (our blocklists as ``extra_domains``, its bundled lists off,
  tldextract on its offline snapshot), ``GopherRepetitionFilter``, ``GopherQualityFilter``,
  ``C4QualityFilter``, in FineWeb's order, each document stopping at the first filter that
  removes it; timed over filter construction and the document loop. Its ``LanguageFilter`` is
  not run: its fastText lid.176 model is downloaded from the Hugging Face Hub at first use,
  which this machine cannot do. So datatrove's word tokenizer (spaCy; with jieba for Chinese,
  language code ``cmn_Hani``) is chosen per document from a CJK-share test; for Chinese
  documents its Gopher stop words are skyforge's ``ZH_STOP_WORDS`` and its mean-word-length
  floor is off (its defaults are English; FineWeb-2 also sets them per language). These
  choices favour datatrove. Everything else is datatrove's defaults.

datatrove must not be installed into the project's venv. Make a separate one (another benchmark
may have made it already; reuse it)::

    /work/main/.venv/bin/python -m venv /tmp/dt-venv
    /tmp/dt-venv/bin/pip install "datatrove[processing]==0.10.1" spacy jieba

(``datatrove==0.10.1`` alone lacks the filters' dependencies: tldextract, pyahocorasick, nltk,
spaCy and jieba.) Then::

    .venv/bin/python benchmarks/filters.py --datatrove-python /tmp/dt-venv/bin/python

It prints throughput (docs/s and MB/s of input text per core) for both and their ratio, then
removals per system against the ground truth and the agreement between the two.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa

from skyforge.config import FiltersConfig, SyntheticCrawlConfig
from skyforge.data import BLOCKLIST_CATEGORIES, load_blocklist
from skyforge.data.docs import read_docs, read_removed, write_docs
from skyforge.data.extract import extract_shard
from skyforge.data.filters.heuristics import ZH_STOP_WORDS, filter_shard
from skyforge.synthetic.crawl import shard_name, synthesize_crawl

MY_STEPS = ("url_filter", "language", "heuristic")

# Runs inside the datatrove venv: reads JSON lines, writes one decision per document.
DATATROVE_SCRIPT = r"""
import json, sys, time
args = json.loads(sys.argv[1])
t_import = time.perf_counter()
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter, URLFilter,
)
from tldextract import TLDExtract
import_s = time.perf_counter() - t_import

docs = [json.loads(line) for line in open(args["input"], encoding="utf-8")]
started = time.perf_counter()
url = URLFilter(use_integrated_lists=False, extra_domains=args["domains"])
url.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)  # offline snapshot
chains = {}
# FineWeb-2's language codes: plain "zh" maps to datatrove's unsegmented fallback tokenizer,
# "cmn_Hani" to spaCy with jieba.
for lang, code in (("en", "eng_Latn"), ("zh", "cmn_Hani")):
    # Chinese: skyforge's stop words, and no mean-word-length floor (jieba words average ~1.9
    # characters, under Gopher's English floor of 3), as skyforge's own Chinese rules do.
    zh = lang == "zh"
    quality = GopherQualityFilter(
        language=code,
        stop_words=args["zh_stop_words"] if zh else None,
        min_avg_word_length=None if zh else 3,
    )
    chains[lang] = [
        ("url", url),
        ("gopher_rep", GopherRepetitionFilter(language=code)),
        ("gopher_quality", quality),
        ("c4", C4QualityFilter(language=code)),
    ]
out = []
for d in docs:
    doc = Document(text=d["text"], id=d["id"], metadata={"url": d["url"]})
    removed = None
    for name, f in chains[d["script"]]:
        verdict = f.filter(doc)
        ok, why = (verdict, "") if isinstance(verdict, bool) else verdict
        if not ok:
            removed = f"{name}:{why}"
            break
    out.append({"id": d["id"], "removed": removed})
seconds = time.perf_counter() - started
json.dump({"seconds": seconds, "import_s": import_s, "decisions": out}, open(args["output"], "w"))
"""


def make_input(work: Path, num_pages: int, seed: int, num_shards: int) -> tuple[Path, pd.DataFrame]:
    """Synthesise and extract a crawl; return one Parquet of documents and the ground truth."""
    cfg = SyntheticCrawlConfig.with_defaults({"seed": seed, "num_pages": num_pages})
    synthesize_crawl(cfg, num_shards, work / "crawl")
    tables = []
    for shard in range(num_shards):
        out = work / f"extracted-{shard}.parquet"
        extract_shard(
            work / "crawl" / shard_name(shard),
            shard,
            out,
            work / f"extract-removed-{shard}.parquet",
        )
        tables.append(read_docs(out))
    docs = work / "docs.parquet"
    write_docs(docs, pa.concat_tables(tables))
    gt = pd.read_parquet(work / "crawl" / "ground_truth.parquet").set_index("record_id")
    return docs, gt


def run_skyforge(docs: Path, work: Path, repeat: int) -> tuple[float, pd.DataFrame]:
    """Best wall time of ``repeat`` runs of filter_shard, and the removal table."""
    best = float("inf")
    for i in range(repeat):
        started = time.perf_counter()
        filter_shard(docs, 0, work / f"kept-{i}.parquet", work / f"removed-{i}.parquet", PARAMS)
        best = min(best, time.perf_counter() - started)
    return best, read_removed(work / "removed-0.parquet").to_pandas()


def run_datatrove(python: str, docs: pd.DataFrame, work: Path, repeat: int) -> dict:
    """Run the datatrove filters in their own venv; best time of ``repeat`` runs."""
    src = work / "dt_input.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for row in docs.itertuples():
            cjk = sum(1 for c in row.text[:2000] if "\u4e00" <= c <= "\u9fff")
            script = "zh" if cjk > 0.3 * len(row.text[:2000]) else "en"
            fh.write(json.dumps({"id": row.id, "url": row.url, "text": row.text, "script": script}))
            fh.write("\n")
    domains = sorted(set().union(*(load_blocklist(c) for c in BLOCKLIST_CATEGORIES)))
    script = work / "dt_filters.py"
    script.write_text(DATATROVE_SCRIPT, encoding="utf-8")
    best = None
    for i in range(repeat):
        out = work / f"dt_output-{i}.json"
        args = {
            "input": str(src),
            "output": str(out),
            "domains": domains,
            "zh_stop_words": sorted(ZH_STOP_WORDS),
        }
        proc = subprocess.run(
            [python, str(script), json.dumps(args)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            sys.exit(f"datatrove run failed ({python}):\n{proc.stderr[-3000:]}")
        result = json.loads(out.read_text())
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    return best


def decisions_table(
    gt: pd.DataFrame, docs: pd.DataFrame, ours: pd.DataFrame, dt: dict
) -> pd.DataFrame:
    table = pd.DataFrame({"id": docs["id"], "bytes": docs["text"].str.encode("utf-8").str.len()})
    table["kind"] = gt.loc[table["id"], "kind"].to_numpy()
    expected = gt.loc[table["id"], "expected_step"]
    table["should_remove"] = expected.isin(MY_STEPS).to_numpy()
    ours_by_id = dict(zip(ours["id"], ours["step"] + "/" + ours["reason"], strict=True))
    table["ours"] = table["id"].map(ours_by_id)
    dt_by_id = {d["id"]: d["removed"] for d in dt["decisions"]}
    table["datatrove"] = table["id"].map(dt_by_id)
    return table


def prf(pred: pd.Series, truth: pd.Series) -> str:
    tp = int((pred & truth).sum())
    precision = tp / max(1, int(pred.sum()))
    recall = tp / max(1, int(truth.sum()))
    return f"removed {int(pred.sum()):5d}  precision {precision:.3f}  recall {recall:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datatrove-python", help="python of a venv with datatrove 0.10.1 (see top)")
    ap.add_argument("--num-pages", type=int, default=3000, help="synthetic crawl pages")
    ap.add_argument("--num-shards", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--repeat", type=int, default=3, help="runs per system; best time is kept")
    ap.add_argument("--work-dir", type=Path, help="keep inputs and outputs here (default: temp)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-filters-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        docs_path, gt = make_input(work, args.num_pages, args.seed, args.num_shards)
        docs = read_docs(docs_path, columns=["id", "url", "text"]).to_pandas()
        num_docs, mb = len(docs), docs["text"].str.encode("utf-8").str.len().sum() / 1e6
        print(f"input: {num_docs} documents, {mb:.2f} MB of text ({args.num_pages}-page crawl)")

        ours_s, ours_removed = run_skyforge(docs_path, work, args.repeat)
        report = {
            "num_docs": num_docs,
            "text_mb": round(mb, 3),
            "skyforge": {
                "seconds": round(ours_s, 3),
                "docs_per_s": round(num_docs / ours_s, 1),
                "mb_per_s": round(mb / ours_s, 3),
            },
        }
        print(
            f"skyforge  filter_shard : {ours_s:7.2f} s  {num_docs / ours_s:8.1f} docs/s  "
            f"{mb / ours_s:6.2f} MB/s  (1 core)"
        )
        if not args.datatrove_python:
            print("datatrove: skipped (no --datatrove-python; see the module docstring)")
            return
        dt = run_datatrove(args.datatrove_python, docs, work, args.repeat)
        dt_s = dt["seconds"]
        report["datatrove"] = {
            "seconds": round(dt_s, 3),
            "docs_per_s": round(num_docs / dt_s, 1),
            "mb_per_s": round(mb / dt_s, 3),
        }
        report["speedup"] = round(dt_s / ours_s, 2)
        print(
            f"datatrove URL+Gopher+C4: {dt_s:7.2f} s  {num_docs / dt_s:8.1f} docs/s  "
            f"{mb / dt_s:6.2f} MB/s  (1 core; LanguageFilter not run, see docstring)"
        )
        print(f"ratio: skyforge is {dt_s / ours_s:.2f}x datatrove's throughput per core\n")

        table = decisions_table(gt, docs, ours_removed, dt)
        ours_rm, dt_rm, truth = (
            table["ours"].notna(),
            table["datatrove"].notna(),
            table["should_remove"],
        )
        print(
            "removals vs ground truth (should remove = expected at url_filter/language/heuristic,"
            f" {int(truth.sum())} documents)"
        )
        print(f"  skyforge : {prf(ours_rm, truth)}")
        print(f"  datatrove: {prf(dt_rm, truth)}")
        agree = (ours_rm == dt_rm).mean()
        print(
            f"agreement (same keep/remove decision): {agree:.3f}  "
            f"both remove {int((ours_rm & dt_rm).sum())}, only skyforge "
            f"{int((ours_rm & ~dt_rm).sum())}, only datatrove {int((~ours_rm & dt_rm).sum())}, "
            f"both keep {int((~ours_rm & ~dt_rm).sum())}\n"
        )
        per_kind = table.groupby("kind").agg(
            docs=("id", "size"),
            should_remove=("should_remove", "sum"),
            skyforge_removed=("ours", "count"),
            datatrove_removed=("datatrove", "count"),
        )
        print(per_kind.to_string() + "\n")
        for system in ("skyforge", "datatrove"):
            col = "ours" if system == "skyforge" else "datatrove"
            top = (
                table.dropna(subset=[col])
                .groupby("kind")[col]
                .agg(lambda r: ", ".join(f"{k} {v}" for k, v in Counter(r).most_common(3)))
            )
            print(f"{system} top reasons per kind:\n{top.to_string()}\n")
        dt_reasons = Counter(
            r.split(":")[0] + ":" + r.split(":")[1] for r in table["datatrove"].dropna()
        )
        print("datatrove removals by filter:reason:", dict(dt_reasons.most_common()))
        print(
            "skyforge removals by step/reason:", dict(Counter(table["ours"].dropna()).most_common())
        )
        report["agreement"] = round(float(agree), 4)
        report["per_kind"] = per_kind.reset_index().to_dict(orient="records")
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=int))


PARAMS = FiltersConfig.with_defaults()

if __name__ == "__main__":
    main()
