"""run_job through submitit's real local executor: a rule that runs again with the same spec and
the same input digests submits nothing and gets its output back; anything else submits anew.

The job runs this module's ``write_output`` in a real subprocess (hence ``job_env``, as in
test_dispatch.py): it writes the declared output (a manifest naming a checkpoint) and counts its
runs in a file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from skyforge.config import ClusterConfig
from skyforge.launch.jobs import run_job
from skyforge.launch.records import read_job_record

HERE = Path(__file__).resolve().parent
RUN = {"launch": {"executor": "local", "poll_interval_s": 0.2, "timeout_min": 5}}
CLUSTER = ClusterConfig(accelerator="cpu", nodes=1, gpus_per_node=1)
INPUTS = {"results/blends/stage1.json": "a" * 64, "results/packs/en/train.bin": "b" * 64}


def write_output(spec_path: str) -> dict:
    """The job: write the manifest (the rule's output) last, like the training loop."""
    spec = json.loads(Path(spec_path).read_text())
    runs = Path(spec["runs"])
    runs.write_text(str(int(runs.read_text() or 0) + 1 if runs.exists() else 1))
    Path(spec["checkpoint"]).mkdir(parents=True, exist_ok=True)
    manifest = {"stage": "s", "checkpoint": spec["checkpoint"], "loss": 1.25}
    Path(spec["output"]).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), *([path] if path else [])]))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(workdir: Path, inputs: dict | None) -> dict:
    output = workdir / "results" / "s" / "manifest.json"
    spec = {
        "output": str(output),
        "checkpoint": "checkpoints/s/iter_0000003",
        "runs": str(workdir / "runs.txt"),
    }
    return run_job(
        workdir / "checkpoints" / "s.spec.json",
        json.dumps(spec),
        run=RUN,
        cluster=CLUSTER,
        job_name="t-reuse",
        job_folder=workdir / "logs" / "s.submitit",
        output=output,
        entry=f"{__name__}:write_output",
        inputs=inputs,
    )


def _submitted(workdir: Path) -> set[str]:
    return {p.name.split("_")[0] for p in (workdir / "logs/s.submitit").glob("*_submitted.pkl")}


def _runs(workdir: Path) -> int:
    return int((workdir / "runs.txt").read_text())


def test_same_spec_and_inputs_submit_nothing_and_restore_the_output(
    workdir: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="skyforge.launch")
    output = workdir / "results/s/manifest.json"
    first = _run(workdir, INPUTS)
    record = read_job_record(output.with_name("job.json"))
    written = output.read_bytes()
    assert record["inputs"] == INPUTS and record["state"] == "COMPLETED"
    assert record["output"]["path"] == "results/s/manifest.json"
    assert (workdir / record["output"]["copy"]).read_bytes() == written

    # Snakemake replans the rule (an input regenerated with identical bytes): it deletes the
    # output first. Nothing is submitted; the output comes back byte for byte.
    output.unlink()
    caplog.clear()
    assert _run(workdir, dict(reversed(INPUTS.items()))) == first
    assert output.read_bytes() == written
    assert _submitted(workdir) == {record["job_id"]} and _runs(workdir) == 1
    again = read_job_record(output.with_name("job.json"))
    assert again["job_id"] == record["job_id"] and "reused_at" in again
    lines = [r.getMessage() for r in caplog.records if "nothing submitted" in r.getMessage()]
    assert len(lines) == 1 and record["job_id"] in lines[0]

    # A changed input digest: a new job, which the record names; the old one is history.
    output.unlink()
    _run(workdir, {**INPUTS, "results/packs/en/train.bin": "c" * 64})
    changed = read_job_record(output.with_name("job.json"))
    assert changed["job_id"] != record["job_id"] and _runs(workdir) == 2
    assert [p["job_id"] for p in changed["previous_jobs"]] == [record["job_id"]]
    assert "its inputs changed: results/packs/en/train.bin" in caplog.text


def test_a_gone_checkpoint_or_copy_or_no_digests_submit_anew(workdir: Path):
    output = workdir / "results/s/manifest.json"
    _run(workdir, INPUTS)
    assert _runs(workdir) == 1

    shutil.rmtree(workdir / "checkpoints/s/iter_0000003")  # the result names it: not reusable
    output.unlink()
    _run(workdir, INPUTS)
    assert _runs(workdir) == 2

    (output.with_name("job.manifest.json")).write_text("{}\n")  # the kept copy was altered
    output.unlink()
    _run(workdir, INPUTS)
    assert _runs(workdir) == 3

    output.unlink()
    _run(workdir, None)  # no input digests: always a new job, as before digests existed
    assert _runs(workdir) == 4
    output.unlink()
    _run(workdir, INPUTS)  # the record of that job has no digests to compare: a new job
    assert _runs(workdir) == 5
    output.unlink()
    _run(workdir, INPUTS)  # now everything matches: reused
    assert _runs(workdir) == 5 and len(_submitted(workdir)) == 5
