"""The report a person reads: ``snakemake --report`` rendered in headless Chromium shows every
section of the DAG in order, with images and no script errors (a screenshot is kept), and
``results/summary.md`` carries the run's headline figures, read from its artifacts."""

from __future__ import annotations

import json
import re
import sys

import pandas as pd
import pytest
from conftest import REPO_ROOT, describe, run

pytestmark = pytest.mark.workflow

SECTIONS = (
    "0. Summary",
    "1. Plan",
    "2. Crawl",
    "3. Data",
    "4. Tokenizer",
    "5. Pretraining",
    "6. SFT and DPO",
    "7. Evaluation",
)
ARTIFACTS = REPO_ROOT / "test-artifacts"
# Flags of a headless Chromium on a machine with no network (connections are refused, not
# waited for) and no user profile.
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=15000",
]


def _visible_text(dom: str) -> str:
    """The rendered page without scripts and styles (the report embeds its data in scripts)."""
    body = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", "", dom, flags=re.S)
    return body


@pytest.fixture(scope="module")
def report_html(default_dag_run):
    workdir, _ = default_dag_run
    out = workdir / "results" / "report.html"
    proc = run(
        [sys.executable, "-m", "snakemake", "-s", REPO_ROOT / "Snakefile", "--report", out],
        timeout=600,
        cwd=workdir,
    )
    assert proc.returncode == 0 and out.stat().st_size > 100_000, describe(proc)
    return out


def test_report_renders_every_section_without_script_errors(report_html, chromium, tmp_path):
    url = report_html.as_uri()
    proc = run(
        [chromium, *HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        timeout=180,
    )
    assert proc.returncode == 0, describe(proc)
    body = _visible_text(proc.stdout)
    positions = [body.find(s) for s in SECTIONS]
    assert all(p >= 0 for p in positions), dict(zip(SECTIONS, positions, strict=True))
    assert positions == sorted(positions), "sections out of DAG order"
    assert "Skyforge builds every artifact" in body  # the workflow description
    assert body.count("<img") + body.count("<svg") >= 1
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    errors = [
        line for line in console if re.search(r"Uncaught|Error|TypeError|is not defined", line)
    ]
    assert not errors, "\n".join(errors)
    # Every table and plot people read is embedded (the report carries them as data).
    html = report_html.read_text(encoding="utf-8", errors="replace")
    for name in (
        "summary.md",
        "curves.png",
        "funnel.png",
        "scores.csv",
        "domain_loss.png",
        "benchmarks.png",
        "contamination.png",
        "layer_cosine.png",
        "samples.md",
        "benchmarks.csv",  # the corpus audit: benchmark items found in the crawl
        "samples.csv",  # the corpus audit: removed documents per reason and language
        "data_vs_model.csv",
    ):
        assert name in html, name
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    proc = run(
        [
            chromium,
            *HEADLESS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            f"--screenshot={shot}",
            "--window-size=1400,1000",
            url,
        ],
        timeout=180,
    )
    assert proc.returncode == 0 and shot.stat().st_size > 10_000, describe(proc)


def test_summary_is_built_from_the_artifacts(default_dag_run):
    workdir, _ = default_dag_run
    text = (workdir / "results/summary.md").read_text()
    assert text.startswith("# Run `tiny-cpu`")
    assert re.search(r"Config hash `[0-9a-f]{16}`", text)
    funnel = pd.read_csv(workdir / "results/data/funnel/funnel.csv")
    assert f"→ {int(funnel.iloc[-1].docs_out):,} documents kept" in text
    m = json.loads((workdir / "results/pretrain/stage2_3/manifest.json").read_text())
    assert f"| {m['final_metrics']['train/loss']:.3f} |" in text
    assert "flagged: leaky control" in text
    for link in (
        "data/funnel/funnel.md",
        "eval/domain_loss/domain_loss.md",
        "align/report/samples.md",
    ):
        assert f"]({link})" in text and (workdir / "results" / link).is_file()
