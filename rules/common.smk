"""Validate the merged config, constrain wildcards, and name the targets (thin helpers only)."""

import glob
import os
import sys

# Rules run `python -m skyforge.cli` from this checkout's src/, in whatever environment runs the
# job (the local venv, or a conda env from envs/ under --sdm conda), with no install step.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
# Without --sdm conda, jobs use the interpreter that runs Snakemake (e.g. .venv/bin/python),
# also when it was started by path without activating the venv.
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
)

from skyforge.config import ConfigError, section_json, validate_config  # noqa: E402

try:
    _validated = validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_validated)


wildcard_constraints:
    shard=r"\d{5}",


def step_config(*sections):
    """The config sections a step depends on, as JSON for `--config-json`."""
    return section_json(config, *sections)


def crawl_shards():
    """The WARC shards of the raw crawl."""
    n = config["crawl"]["num_shards"]
    return [f"results/crawl/shard-{i:05d}.warc.gz" for i in range(n)]


def warc_inputs():
    """The real WARC files matched by crawl.warc_glob (source: warc)."""
    pattern = config["crawl"]["warc_glob"]
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise WorkflowError(f"config key 'crawl.warc_glob': '{pattern}' matches no file")
    return paths


def plan_outputs():
    """The compute plan tables."""
    return [
        f"results/plan/{name}" for name in ("summary.csv", "layouts.csv", "reverse.csv", "plan.md")
    ]


def all_targets():
    """Every artifact the DAG builds so far."""
    return plan_outputs() + crawl_shards() + ["results/crawl/manifest.json"]
