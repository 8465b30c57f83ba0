"""Run one training-type job to its end: write its spec file, dispatch it, check its output.

Pretraining stages, SFT, DPO, the DPO reference scoring, the leaky control and the in-domain
ablation all go through :func:`run_job`, so they share the job record beside the declared output
(a restarted Snakemake re-attaches instead of submitting a second job), requeue on signal, and the
one-line failure when a job ends without its manifest.

A rule that runs again although its job already completed with the same spec and the same input
content (Snakemake replanned it because an input was regenerated with identical bytes, or its
output was deleted) submits nothing: the job record keeps the content digests of the inputs and
of the output, a copy of the output is kept beside the record (``job.<output name>``, a hard link
when possible), and the output is restored from it (docs/staleness.md).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skyforge.config import ClusterConfig
from skyforge.core.digest import sha256_file
from skyforge.core.io import atomic_path, atomic_write_text, workdir_relative
from skyforge.launch.dispatch import DEFAULT_ENTRY, dispatch, launch_config
from skyforge.launch.records import read_job_record, write_record

log = logging.getLogger(__name__)


def run_job(
    spec_path: Path,
    spec_json: str,
    *,
    run: dict[str, Any],
    cluster: ClusterConfig,
    job_name: str,
    job_folder: Path,
    output: Path,
    entry: str | None = None,
    inputs: Mapping[str, str] | None = None,
) -> Any:
    """Write a job's spec file and run it to its end through submitit (local or SLURM).

    Args:
        spec_path: where the job reads its spec (beside its run directory, not in it: a run
            directory trained with another configuration is moved aside by the job, and a
            requeued job must still find its spec).
        spec_json: the spec, as JSON.
        run: the validated ``monitoring``/``checkpoints``/``launch`` sections (may be empty).
        cluster: nodes and GPUs per node; on CPU, "GPUs" are worker processes.
        job_name: the SLURM job name.
        job_folder: submitit's logs and pickles.
        output: the rule's declared output; the job record goes beside it.
        entry: ``module:function`` the job runs (default: the training loop).
        inputs: content digests of everything the job reads besides its spec (path → SHA-256;
            see :mod:`skyforge.train.inputs`). With them, a job that already
            completed with the same spec and inputs is not submitted again: its output is
            restored from the copy kept beside the job record. None: always submit anew.

    Raises:
        RuntimeError: the job failed, or ended without writing ``output``.
    """
    atomic_write_text(spec_path, spec_json)
    output = Path(output)
    job_record = output.with_name("job.json")
    on_cpu = cluster.accelerator == "cpu"
    result = dispatch(
        str(spec_path),
        launch_config(run.get("launch")),
        nodes=cluster.nodes,
        gpus_per_node=0 if on_cpu else cluster.gpus_per_node,
        tasks_per_node=cluster.gpus_per_node,
        folder=job_folder,
        job_record=job_record,
        job_name=job_name,
        entry=entry or DEFAULT_ENTRY,
        # Snakemake runs a rule only when its output is missing or stale: a job that completed
        # before is the answer only when its spec and the content of its inputs are the same
        # (else the new job resumes from its run directory).
        reuse_completed=False,
        inputs=inputs,
        reuse=lambda result, record: restore_output(output, result, record),
    )
    if not output.is_file():
        raise RuntimeError(f"job {job_name}: it ended without writing {output}")
    if inputs is not None:
        keep_output(output, job_record)
    return result


def _kept_copy(output: Path) -> Path:
    return output.with_name(f"job.{output.name}")


def keep_output(output: Path, job_record: Path) -> None:
    """Record the output's digest in the job record and keep a copy of it beside the record.

    The copy is a hard link when the file system allows (the writers replace files by rename,
    so the link keeps the bytes the job wrote), else a copy.
    """
    record = read_job_record(job_record)
    digest = sha256_file(output)
    copy = _kept_copy(output)
    kept = record.get("output") or {}
    if kept.get("sha256") == digest and copy.is_file() and sha256_file(copy) == digest:
        return
    with atomic_path(copy) as tmp:
        tmp.unlink()
        try:
            os.link(output, tmp)
        except OSError:
            shutil.copyfile(output, tmp)
    record["output"] = {
        "path": workdir_relative(output),
        "sha256": digest,
        "copy": workdir_relative(copy),
    }
    write_record(job_record, record)


def restore_output(output: Path, result: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Put back the output a completed job wrote, from the copy beside its record.

    Returns False (the caller then submits anew) when the record has no output digest, the
    copy is missing or differs from it, or a checkpoint the result names is gone.
    """
    kept = record.get("output")
    if not isinstance(kept, dict) or not kept.get("sha256"):
        log.info("job %s: no copy of its output was recorded", record.get("job_id"))
        return False
    copy = _kept_copy(output)
    if not copy.is_file() or sha256_file(copy) != kept["sha256"]:
        log.info("job %s: the copy %s of its output is gone or changed", record["job_id"], copy)
        return False
    checkpoint = result.get("checkpoint")
    if isinstance(checkpoint, str) and not Path(checkpoint).exists():
        log.info("job %s: its checkpoint %s is gone", record["job_id"], checkpoint)
        return False
    with atomic_path(output) as tmp:
        shutil.copyfile(copy, tmp)
    return True
