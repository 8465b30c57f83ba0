"""Every rule's SLURM request, checked on the dry run under the SLURM profile (no cluster needed):
the a800_512 preset asks for a GPU and the planned memory for every model rule and sized memory
for every data rule; the embedded default stays CPU-only and small; a profile's set-resources
overrides a rule, but not below the planned need (one line naming the rule and the key)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skyforge.config import ModelConfig, load_config_files
from skyforge.plan import resources as R
from skyforge.plan.inference import export_host_peak_bytes

REPO = Path(__file__).resolve().parents[2]
PRESET = REPO / "presets" / "a800_512.yaml"
PROFILE_DEFAULT_MEM_MB = 2000  # slurm/config.yaml default-resources


def dry_run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", *args]
    # The preset's partitions are not those of a local test cluster that may be up in this
    # session: the sinfo check has its own test (test_slurm_multinode.py).
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SKYFORGE_PARTITION_CHECK": "off"}
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def _out(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr}"


def requested(text: str) -> dict[str, list[dict[str, str]]]:
    """Rule → the `resources:` line of each of its jobs in a dry run, as key → value."""
    jobs: dict[str, list[dict[str, str]]] = {}
    rule = None
    for line in text.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if m:
            rule = m.group(1)
        elif rule and line.strip().startswith("resources:"):
            pairs = re.findall(r"(\w+)=([^,]+)", line.split(":", 1)[1])
            jobs.setdefault(rule, []).append({k: v.strip() for k, v in pairs})
            rule = None
    return jobs


def planned(text: str) -> dict[str, dict]:
    """The plan the DAG computed: the rows the `plan` rule passes to its step (--resources-json),
    read from the dry run's printed shell command (the profile sets printshellcmds)."""
    for line in text.splitlines():
        if "skyforge.cli plan " in line and "--resources-json" in line:
            argv = shlex.split(line.split("Shell command:", 1)[-1])
            rows = json.loads(argv[argv.index("--resources-json") + 1])
            return {row["rule"]: row for row in rows}
    raise AssertionError("no plan job with --resources-json in the dry run")


def test_preset_under_the_slurm_profile_sizes_every_rule(tmp_path):
    proc = dry_run(tmp_path, "--profile", str(REPO / "slurm"), "--configfile", str(PRESET))
    assert proc.returncode == 0, _out(proc)
    text = proc.stdout + proc.stderr
    jobs, plan = requested(text), planned(text)
    for rule in R.MODEL_RULES:
        if rule == "eval_ablation":  # an optional target, not in `all`
            continue
        assert jobs.get(rule), f"{rule} is not in the dry run\n{_out(proc)}"
        for res in jobs[rule]:
            assert plan[rule]["gpus"] >= 1, (rule, plan[rule])
            assert res["gres"] == f"gpu:{plan[rule]['gpus']}", (rule, res)
            assert res["slurm_partition"] == "gpu", (rule, res)
            assert int(res["mem_mb"]) >= plan[rule]["need_mem_mb"], (rule, res)
    # The needs are the formulas': the export streams (a fraction of the 27.7 GB bf16 model), an
    # eval rule holds the bf16 weights while loading.
    model = ModelConfig.from_dict(load_config_files([REPO / "config.yaml", PRESET])["model"])
    peak = export_host_peak_bytes(model, stored_bytes=2, out_dtype_bytes=2)
    assert plan["export_hf"]["need_mem_mb"] == -(-peak // 2**20)
    assert plan["eval_domain_loss"]["need_mem_mb"] * 2**20 > 27.7e9
    data = [r for r in R.DATA_RATES if r in jobs]
    assert len(data) >= 30, sorted(jobs)
    for rule in data:
        assert plan[rule]["kind"] == "data", plan[rule]
        for res in jobs[rule]:
            assert int(res["mem_mb"]) != PROFILE_DEFAULT_MEM_MB, (rule, res)
            assert int(res["mem_mb"]) >= plan[rule]["need_mem_mb"], (rule, res)
            assert "gres" not in res and res["slurm_partition"] == "cpu", (rule, res)
    # Only the local rules (submitit dispatchers) and `all` keep the profile's defaults.
    defaults = {r for r, rs in jobs.items() if int(rs[0]["mem_mb"]) == PROFILE_DEFAULT_MEM_MB}
    assert defaults <= set(R.SUBMITIT_RULES) | {"all"}, defaults


def test_default_under_the_slurm_profile_stays_cpu_only_and_small(tmp_path):
    proc = dry_run(tmp_path, "--profile", str(REPO / "slurm"))
    assert proc.returncode == 0, _out(proc)
    jobs = requested(proc.stdout + proc.stderr)
    assert set(R.MODEL_RULES) - {"eval_ablation"} <= set(jobs), sorted(jobs)
    for rule, runs in jobs.items():
        for res in runs:
            assert "gres" not in res and "gpu" not in res, (rule, res)
            assert int(res.get("cpus_per_task", 1)) <= 2, (rule, res)  # the local cluster's nodes
            assert int(res["mem_mb"]) <= 2048, (rule, res)


@pytest.fixture
def profile(tmp_path: Path):
    """A copy of slurm/ whose config.yaml gets extra set-resources."""

    def make(set_resources: dict) -> Path:
        folder = tmp_path / "profile"
        shutil.copytree(REPO / "slurm", folder, dirs_exist_ok=True)
        data = yaml.safe_load((folder / "config.yaml").read_text())
        data["set-resources"] = set_resources
        (folder / "config.yaml").write_text(yaml.safe_dump(data))
        return folder

    return make


def test_profile_override_wins_but_not_below_the_need(tmp_path, profile):
    work = tmp_path / "work"
    work.mkdir()
    above = profile({"eval_domain_loss": {"runtime": "6h", "mem_mb": 99000}})
    proc = dry_run(work, "--profile", str(above), "--configfile", str(PRESET))
    assert proc.returncode == 0, _out(proc)
    text = proc.stdout + proc.stderr
    res = requested(text)["eval_domain_loss"][0]
    assert (res["runtime"], res["mem_mb"], res["gres"]) == ("360", "99000", "gpu:1"), res
    need = planned(text)["eval_domain_loss"]["need_mem_mb"]

    below = profile({"eval_domain_loss": {"mem_mb": 2000}})
    proc = dry_run(work, "--profile", str(below), "--configfile", str(PRESET))
    assert proc.returncode != 0
    lines = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith("rule eval_domain_loss: set-resources mem_mb=2000 is below")
    ]
    assert len(lines) == 1, _out(proc)
    assert f"need of {need:,} MiB" in lines[0]
    assert not (work / "results").exists()
