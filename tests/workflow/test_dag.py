"""The Snakefile itself: lint, dry runs for every config, fast config errors, a real local run
with rerun detection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PRESETS = sorted((REPO / "presets").glob("*.yaml"))


def snakemake(*args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run snakemake with this interpreter; the process output is kept for assertion messages."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def _out(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def test_lint_is_clean(tmp_path):
    proc = snakemake("--lint", cwd=tmp_path)
    assert proc.returncode == 0, _out(proc)
    assert "Lints for" not in proc.stdout + proc.stderr, _out(proc)


def test_snakefmt_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, _out(proc)


@pytest.mark.parametrize("preset", [None, *PRESETS], ids=lambda p: p.stem if p else "default")
def test_dry_run(preset, tmp_path):
    extra = ["--configfile", str(preset)] if preset else []
    proc = snakemake("-n", "--cores", "2", *extra, cwd=tmp_path)
    assert proc.returncode == 0, _out(proc)
    text = proc.stdout + proc.stderr
    for rule in ("plan", "crawl", "extract", "minhash_buckets", "corpus_split", "funnel", "all"):
        assert f"rule {rule}:" in text or f"localrule {rule}:" in text, _out(proc)


def test_config_typo_fails_fast_with_the_key(tmp_path):
    overlay = tmp_path / "typo.yaml"
    overlay.write_text(yaml.safe_dump({"model": {"hidden_sise": 128}}))
    proc = snakemake("-n", "--cores", "1", "--configfile", str(overlay), cwd=tmp_path)
    assert proc.returncode != 0
    assert "config key 'model.hidden_sise': unknown key" in proc.stdout + proc.stderr, _out(proc)
    assert not (tmp_path / "results").exists()


def test_preset_that_does_not_fit_the_gpus_fails(tmp_path):
    overlay = tmp_path / "half.yaml"
    overlay.write_text(yaml.safe_dump({"cluster": {"nodes": 32}}))
    proc = snakemake(
        "-n", "--configfile", str(REPO / "presets" / "a800_512.yaml"), str(overlay), cwd=tmp_path
    )
    assert proc.returncode != 0
    assert (
        "config key 'parallel': tensor 1 × pipeline 2 × data 256 = 512" in proc.stdout + proc.stderr
    ), _out(proc)


def _jobs_run(proc: subprocess.CompletedProcess) -> set[str]:
    """Rule names Snakemake reports as executed ("rule NAME:" / "localrule NAME:" blocks)."""
    names = set()
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        for prefix in ("rule ", "localrule "):
            if line.startswith(prefix) and line.endswith(":"):
                names.add(line[len(prefix) : -1])
    return names - {"all"}


@pytest.mark.workflow
def test_local_run_builds_every_target_and_reruns_only_what_is_stale(default_dag_run):
    tmp_path, proc = default_dag_run
    ran = _jobs_run(proc)
    assert {"plan", "crawl", "extract", "filter", "substring_dedup", "funnel"} <= ran, ran

    summary = pd.read_csv(tmp_path / "results/plan/summary.csv")
    assert int(summary.set_index("name").loc["params_total", "value"]) > 0
    manifest = json.loads((tmp_path / "results/crawl/manifest.json").read_text())
    assert manifest["source"] == "synthetic"
    shards = sorted((tmp_path / "results/crawl").glob("shard-*.warc.gz"))
    assert len(shards) == 2 and all(s.stat().st_size > 100_000 for s in shards)
    assert (tmp_path / "logs/plan/plan.log").exists()
    assert not list((tmp_path / "results").rglob("*.tmp")), "temp files left behind"

    # Nothing is stale: a second run does nothing.
    proc = snakemake("-n", "--cores", "2", cwd=tmp_path)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, _out(proc)

    # A value only the plan reads: only the plan reruns (and the summary page, which shows the
    # plan and the config hash), and its result changes.
    before = (tmp_path / "results/plan/plan.md").read_text()
    proc = snakemake("--cores", "2", "--config", "plan={assumed_mfu: 0.40}", cwd=tmp_path)
    assert proc.returncode == 0, _out(proc)
    assert _jobs_run(proc) == {"plan", "summary"}, _out(proc)
    after = (tmp_path / "results/plan/plan.md").read_text()
    assert "56.5%" in before and "40.0%" in after


def test_warc_inputs_read_in_place_and_a_changed_file_reruns_its_shard_only(tmp_path):
    """``crawl.reshard: false``: the crawl job writes one listing per shard and copies nothing;
    extraction reads the listed files in place; a changed input file reruns the crawl listing
    and the extraction of its own shard only (the other listing's digest is unchanged; the
    byte-balanced split stays where it was for this seed)."""
    from skyforge.config import SyntheticCrawlConfig
    from skyforge.synthetic.crawl import synthesize_crawl

    synthesize_crawl(SyntheticCrawlConfig.with_defaults({"num_pages": 90}), 4, tmp_path / "in")
    overlay = tmp_path / "warc.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "crawl": {
                    "source": "warc",
                    "warc_glob": str(tmp_path / "in" / "shard-*.warc.gz"),
                    "num_shards": 2,
                    "reshard": False,
                }
            }
        )
    )
    targets = ["results/data/extract/00000.parquet", "results/data/extract/00001.parquet"]
    proc = snakemake(*targets, "--cores", "2", "--configfile", str(overlay), cwd=tmp_path)
    assert proc.returncode == 0, _out(proc)
    crawl_dir = tmp_path / "results/crawl"
    assert sorted(p.name for p in crawl_dir.glob("shard-*")) == [
        "shard-00000.inputs.json",
        "shard-00000.inputs.json.sha256",
        "shard-00001.inputs.json",
        "shard-00001.inputs.json.sha256",
    ]
    listing = json.loads((crawl_dir / "shard-00001.inputs.json").read_text())
    first, second = (tmp_path / e["source"] for e in listing["inputs"])  # run-relative paths
    first.write_bytes(second.read_bytes())  # new content (Snakemake checksums files < 1 MB)
    config = ["--cores", "2", "--configfile", str(overlay)]
    proc = snakemake("results/crawl/manifest.json", *config, cwd=tmp_path)
    assert proc.returncode == 0 and _jobs_run(proc) == {"crawl"}, _out(proc)
    # The crawl rewrote both listings; only shard 1's has new content, so only its extraction
    # is stale (an invocation that reruns the crawl itself plans every consumer, as always).
    proc = snakemake(*targets, *config, "-n", cwd=tmp_path)
    assert proc.returncode == 0, _out(proc)
    text = proc.stdout + proc.stderr
    assert _jobs_run(proc) == {"extract"}, _out(proc)
    assert "output: results/data/extract/00001.parquet" in text, _out(proc)
    assert "output: results/data/extract/00000.parquet" not in text, _out(proc)
