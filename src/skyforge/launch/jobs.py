"""Run one training-type job to its end: write its spec file, dispatch it, check its output.

Pretraining stages, SFT, DPO, the DPO reference scoring, the leaky control and the in-domain
ablation all go through :func:`run_job`, so they share the job record beside the declared output
(a restarted Snakemake re-attaches instead of submitting a second job), requeue on signal, and the
one-line failure when a job ends without its manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skyforge.config import ClusterConfig
from skyforge.core.io import atomic_write_text
from skyforge.launch.dispatch import DEFAULT_ENTRY, dispatch, launch_config


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

    Raises:
        RuntimeError: the job failed, or ended without writing ``output``.
    """
    atomic_write_text(spec_path, spec_json)
    on_cpu = cluster.accelerator == "cpu"
    result = dispatch(
        str(spec_path),
        launch_config(run.get("launch")),
        nodes=cluster.nodes,
        gpus_per_node=0 if on_cpu else cluster.gpus_per_node,
        tasks_per_node=cluster.gpus_per_node,
        folder=job_folder,
        job_record=Path(output).with_name("job.json"),
        job_name=job_name,
        entry=entry or DEFAULT_ENTRY,
        # Snakemake runs a rule only when its output is missing or stale: a job that completed
        # before is not the answer (the new one resumes from its run directory).
        reuse_completed=False,
    )
    if not Path(output).is_file():
        raise RuntimeError(f"job {job_name}: it ended without writing {output}")
    return result
