"""A finished run directory moved elsewhere still works: Snakemake has nothing to do there, and
an HF export deleted after the move is rebuilt from the moved checkpoints (manifests and job
records hold paths relative to the working directory)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from conftest import REPO_ROOT, describe, run

pytestmark = pytest.mark.workflow


def _planned(out: str) -> set[str]:
    names = set()
    for line in out.splitlines():
        line = line.strip()
        for prefix in ("rule ", "localrule "):
            if line.startswith(prefix) and line.endswith(":"):
                names.add(line[len(prefix) : -1])
    return names - {"all"}


def test_a_moved_run_reruns_nothing_and_still_exports(default_dag_run, tmp_path):
    workdir, _ = default_dag_run
    moved = tmp_path / "moved-run"
    shutil.copytree(workdir, moved, symlinks=True)
    for path in (
        "results/pretrain/stage2_3/manifest.json",
        "results/align/sft/manifest.json",
        "results/pretrain/stage2_3/job.json",
    ):
        text = (moved / path).read_text()
        assert str(workdir) not in text, f"{path} holds an absolute path into the old run"
    snakemake = [sys.executable, "-m", "snakemake", "-s", REPO_ROOT / "Snakefile", "--cores", "2"]
    dry = run([*snakemake, "-n"], timeout=300, cwd=moved)
    assert dry.returncode == 0, describe(dry)
    # (test_dag may have changed a plan value in the original directory: only the plan and the
    # summary page showing it may run.)
    assert _planned(dry.stdout + dry.stderr) <= {"plan", "summary"}, dry.stdout[-3000:]
    # The original is gone from reach: the export must come from the moved checkpoints.
    shutil.rmtree(moved / "results/hf/stage2_3")
    proc = run([*snakemake, "--", "results/hf/stage2_3"], timeout=600, cwd=moved)
    assert proc.returncode == 0, describe(proc)
    assert _planned(proc.stdout + proc.stderr) == {"export_hf"}
    report = json.loads((moved / "results/hf/stage2_3/skyforge_export.json").read_text())
    assert report["max_abs_logit_diff"] < 1e-4
    assert not report["checkpoint"].startswith("/")
