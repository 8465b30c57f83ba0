"""Extraction benchmark: quality against gold snippets, and throughput per core vs datatrove.

Not a test: run it by hand and quote the command and its output.

1. **Quality** — each page of the trafilatura evaluation subset (``--gold``; by default
   ``html-trafilatura`` in ``SHARED``, the folder of real data beside the checkout, never
   shipped with the project: 40 English + 4 Chinese saved pages, each with ``with`` snippets
   that must appear in the main text and ``without`` snippets of boilerplate that must not) is
   decoded and extracted as ``extract_shard`` does, by resiliparse, by trafilatura with
   our settings, and by trafilatura with datatrove's settings (``favor_precision``,
   ``deduplicate``). Scored as trafilatura's own evaluation scores it: a found ``with`` snippet
   is a true positive, a missing one a false negative, a found ``without`` snippet a false
   positive; precision, recall and F1 over all snippets, for all pages and per language
   (whitespace collapsed on both sides, since resiliparse collapses it). Pages/s is decode +
   extract on this machine, best of ``--repeat`` runs.
2. **Throughput per core** — ``extract_shard`` (resiliparse and trafilatura) and HF datatrove's
   ``WarcReader`` → ``Trafilatura`` → ``ParquetWriter`` (datatrove's FineWeb recipe; 0.10.1 has
   no resiliparse extractor) on the same WARC files, one after the other in one run: the real
   wget crawl (``--warcs``; by default ``warc-dolma`` in ``SHARED``) and a synthetic bilingual
   crawl generated into a temporary folder. Work is CPU seconds (user + sys of the process and
   of every child it waited for: datatrove runs trafilatura in a sandbox subprocess), measured
   around the extraction only (imports and start-up excluded), best of ``--repeat`` runs (other
   load on a shared machine only adds CPU time), so figures are per core whatever the machine;
   run under ``taskset -c 0`` to make wall time per core too. Throughput is input MB (compressed
   WARC bytes) and HTML pages per CPU second; "× datatrove" is datatrove's CPU time / ours.

datatrove must not go into the project's venv. Make a separate one for the baseline and pass
its interpreter::

    .venv/bin/python -m venv /tmp/dt-extract-venv
    /tmp/dt-extract-venv/bin/pip install datatrove==0.10.1 trafilatura==2.3.1 lxml_html_clean \\
        pyarrow warcio faust-cchardet python-magic   # WarcReader's dependencies (+ apt libmagic1)
    taskset -c 0 .venv/bin/python benchmarks/extraction.py \\
        --datatrove-python /tmp/dt-extract-venv/bin/python

Without ``--datatrove-python`` the datatrove rows are skipped. This file is also the datatrove
worker (``--datatrove-worker``, run under the other interpreter), so it imports nothing from
skyforge at module level.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_GOLD = SHARED / "html-trafilatura"
DEFAULT_WARCS = str(SHARED / "warc-dolma" / "*.warc.gz")
_WS = re.compile(r"\s+")


def cpu_seconds() -> float:
    """User + sys CPU seconds of this process and of all children it has waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ---------------------------------------------------------------------------------------------
# datatrove worker (runs under --datatrove-python)
# ---------------------------------------------------------------------------------------------


def datatrove_worker(folder: str, glob: str, out: str) -> None:
    """Run datatrove's WARC → Trafilatura → Parquet pipeline; print a JSON line of figures."""
    # Imported before the clock starts, as for our runs; datatrove's extractor sandbox is a
    # forked child, so it inherits the module instead of importing it on the clock.
    import trafilatura  # noqa: F401
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(folder, glob_pattern=glob),
            Trafilatura(),
            ParquetWriter(os.path.join(out, "docs"), compression="zstd"),
        ],
        tasks=1,
        workers=1,
        logging_dir=os.path.join(out, "logs"),
    )
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    executor.run()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    import pyarrow.parquet as pq

    docs = sum(pq.read_metadata(p).num_rows for p in Path(out, "docs").glob("*.parquet"))
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "docs": docs}))


# ---------------------------------------------------------------------------------------------
# 1. Quality against the gold snippets
# ---------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _is_zh(entry: dict) -> bool:
    return any(re.search(r"[\u4e00-\u9fff]", s) for s in entry["with"] + entry["without"])


def quality(gold_dir: Path, repeat: int) -> list[dict]:
    """Precision / recall / F1 and pages/s per extractor, overall and per language."""
    import trafilatura

    from skyforge.data.extract import decode_html, extract_text

    entries = json.loads((gold_dir / "evaldata.subset.json").read_text(encoding="utf-8"))
    pages = [(e, (gold_dir / "pages" / e["file"]).read_bytes()) for e in entries.values()]

    def datatrove_settings(html: str) -> str:
        # datatrove.pipeline.extractors.Trafilatura's defaults, called the way it calls them.
        text = trafilatura.extract(
            html, favor_precision=True, include_comments=False, deduplicate=True
        )
        return text or ""

    extractors = {
        "resiliparse": lambda html: extract_text(html, "resiliparse")[0],
        "trafilatura": lambda html: extract_text(html, "trafilatura")[0],
        "trafilatura (datatrove settings)": datatrove_settings,
    }
    rows = []
    for name, fn in extractors.items():
        best = float("inf")
        texts: list[str] = []
        for i in range(repeat):
            start = time.perf_counter()
            out = [fn(decode_html(body)[0]) for _, body in pages]
            best = min(best, time.perf_counter() - start)
            # Score the first pass: with deduplicate=True trafilatura remembers text across
            # calls, so later passes over the same pages lose recall.
            texts = out if i == 0 else texts
        for lang in ("all", "en", "zh"):
            tp = fn_ = fp = 0
            n = 0
            for (entry, _), text in zip(pages, texts, strict=True):
                if lang != "all" and (lang == "zh") != _is_zh(entry):
                    continue
                n += 1
                got = _norm(text)
                found = [_norm(s) in got for s in entry["with"]]
                tp += sum(found)
                fn_ += len(found) - sum(found)
                fp += sum(_norm(s) in got for s in entry["without"])
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn_) if tp + fn_ else 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            rows.append(
                {
                    "extractor": name,
                    "pages": f"{lang} ({n})",
                    "precision": p,
                    "recall": r,
                    "F1": f1,
                    "pages/s": len(pages) / best if lang == "all" else None,
                }
            )
    return rows


# ---------------------------------------------------------------------------------------------
# 2. Throughput per core
# ---------------------------------------------------------------------------------------------


def _html_pages(paths: list[Path]) -> int:
    """HTML response records in the inputs (the pages every pipeline has to extract)."""
    from skyforge.data.extract import iter_warc

    n = 0
    for p in paths:
        for item in iter_warc(p):
            ctype = item.content_type or ""
            if item.rec_type == "response" and not item.damage and "html" in ctype:
                n += 1
    return n


def _ours(paths: list[Path], extractor: str, tmp: Path) -> dict:
    from skyforge.data.extract import extract_shard

    if extractor == "trafilatura":
        import trafilatura  # noqa: F401 - import cost is start-up, not extraction

    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    docs = 0
    for i, p in enumerate(paths):
        stats = extract_shard(
            p, i, tmp / f"{i}.docs.parquet", tmp / f"{i}.removed.parquet", extractor=extractor
        )
        docs += stats["docs_kept"]
    return {"cpu_s": cpu_seconds() - cpu0, "wall_s": time.perf_counter() - wall0, "docs": docs}


def _datatrove(python: str, paths: list[Path], tmp: Path) -> dict:
    # datatrove reads a folder + glob; link the inputs into one folder so both see the same files.
    folder = tmp / "in"
    folder.mkdir()
    for i, p in enumerate(paths):
        (folder / f"{i:03d}-{p.name}").symlink_to(p.resolve())
    cmd = [python, __file__, "--datatrove-worker", str(folder), "*.warc.gz", str(tmp / "out")]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"datatrove worker failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def throughput(inputs: dict[str, list[Path]], dt_python: str | None, repeat: int) -> list[dict]:
    """Best of ``repeat`` runs per pipeline (least CPU: other load on the machine only adds)."""
    rows = []
    for label, paths in inputs.items():
        mb = sum(p.stat().st_size for p in paths) / 1e6
        pages = _html_pages(paths)
        runs: dict[str, dict] = {}
        for _ in range(repeat):
            for name in ("resiliparse", "trafilatura"):
                with tempfile.TemporaryDirectory() as tmp:
                    r = _ours(paths, name, Path(tmp))
                key = f"skyforge/{name}"
                if key not in runs or r["cpu_s"] < runs[key]["cpu_s"]:
                    runs[key] = r
            if dt_python:
                with tempfile.TemporaryDirectory() as tmp:
                    r = _datatrove(dt_python, paths, Path(tmp))
                key = "datatrove/trafilatura"
                if key not in runs or r["cpu_s"] < runs[key]["cpu_s"]:
                    runs[key] = r
        base = runs.get("datatrove/trafilatura")
        for name, r in runs.items():
            rows.append(
                {
                    "input": f"{label} ({len(paths)} files, {mb:.1f} MB, {pages} pages)",
                    "pipeline": name,
                    "docs out": r["docs"],
                    "CPU s": r["cpu_s"],
                    "wall s": r["wall_s"],
                    "MB/CPU-s": mb / r["cpu_s"],
                    "pages/CPU-s": pages / r["cpu_s"],
                    "× datatrove": base["cpu_s"] / r["cpu_s"] if base else None,
                }
            )
    return rows


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def _table(rows: list[dict]) -> str:
    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.3f}" if v < 10 else f"{v:.1f}"
        return str(v)

    cols = list(rows[0])
    cells = [[cell(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="html-trafilatura folder")
    ap.add_argument("--warcs", default=DEFAULT_WARCS, help="glob of real WARC files")
    ap.add_argument("--synthetic-pages", type=int, default=2000, help="0: no synthetic crawl")
    ap.add_argument("--repeat", type=int, default=3, help="timings: best of N runs")
    ap.add_argument("--datatrove-python", help="interpreter of a venv with datatrove==0.10.1")
    ap.add_argument("--datatrove-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.datatrove_worker:
        datatrove_worker(*args.datatrove_worker)
        return

    import glob
    import logging

    logging.basicConfig(level=logging.ERROR)  # damaged records are expected; keep the table clean
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    print(f"# extraction benchmark — {cores} core(s) available to this process")
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")

    if not (args.gold / "evaldata.subset.json").is_file():
        raise ValueError(f"gold folder '{args.gold}': no evaldata.subset.json in it")
    print("## 1. Extraction quality (gold snippets, trafilatura evaluation subset)\n")
    print(_table(quality(args.gold, args.repeat)) + "\n")

    inputs: dict[str, list[Path]] = {}
    real = sorted(Path(p) for p in glob.glob(args.warcs))
    if real:
        inputs["real WARCs"] = real
    tmp = tempfile.TemporaryDirectory()
    if args.synthetic_pages:
        from skyforge.config import SyntheticCrawlConfig
        from skyforge.synthetic.crawl import synthesize_crawl

        cfg = SyntheticCrawlConfig.with_defaults({"num_pages": args.synthetic_pages})
        synthesize_crawl(cfg, 1, Path(tmp.name))
        inputs["synthetic crawl"] = sorted(Path(tmp.name).glob("shard-*.warc.gz"))
    if not inputs:
        raise ValueError(f"--warcs '{args.warcs}' matched no files and --synthetic-pages is 0")
    print(f"## 2. Throughput per core (CPU seconds, extraction only, best of {args.repeat})\n")
    if not args.datatrove_python:
        print("(no --datatrove-python: datatrove rows skipped)\n")
    print(_table(throughput(inputs, args.datatrove_python, args.repeat)))
    tmp.cleanup()


if __name__ == "__main__":
    main()
