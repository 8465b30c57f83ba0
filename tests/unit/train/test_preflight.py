"""The pre-flight check: its config keys, and the real step on CPU — 2 gloo ranks started by
submitit's local executor through ``run_job``, megatron-core's model and the loop's training step,
nothing mocked — writing its table; then its measurements against thresholds they miss: one
line, and no table. The job runs once (a launch costs megatron-core's import on every rank)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from skyforge import cli
from skyforge import config as C
from skyforge.plan.planner import count_parameters
from skyforge.reports.summary import write_summary
from skyforge.train import preflight as PF

REPO = Path(__file__).resolve().parents[3]
RUN = {
    "monitoring": {},
    "checkpoints": {},
    "launch": {"executor": "local", "poll_interval_s": 0.2, "timeout_min": 5},
}
FAST = {"enabled": True, "warmup_steps": 1, "steps": 2, "repetitions": 3}


@pytest.fixture(scope="module")
def default() -> dict:
    return C.load_config_files([REPO / "config.yaml"])


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


def _one_line_error(cfg: dict) -> str:
    with pytest.raises(C.ConfigError) as exc:
        C.validate_config(cfg)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def test_preflight_config(default):
    pf = C.SkyforgeConfig.from_dict(default).preflight
    assert pf.enabled == "auto" and not pf.active(default["launch"]["executor"])  # the default
    assert pf.active("slurm") and not pf.active("debug")
    assert 0 < pf.min_fraction_of_plan <= 1 and pf.steps >= 1
    cfg = copy.deepcopy(default)
    # `snakemake --config preflight='{enabled: true, steps: 2}'` passes every leaf as a string.
    cfg["preflight"] = {"enabled": "true", "steps": "2"}
    out = C.validate_config(cfg)["preflight"]
    assert out["enabled"] is True and out["steps"] == 2
    assert C.PreflightConfig.from_dict(out).active("local")
    cfg["preflight"] = {"enabled": "false"}
    assert C.validate_config(cfg)["preflight"]["enabled"] is False
    cfg["preflight"] = {"enabled": "yes"}
    assert _one_line_error(cfg).startswith("config key 'preflight.enabled': 'yes' is not one of")
    cfg["preflight"] = {"min_fraction_of_plan": -0.5}
    assert _one_line_error(cfg).startswith("config key 'preflight.min_fraction_of_plan':")
    cfg["preflight"] = {"min_fraction_of_plann": 0.5}
    assert _one_line_error(cfg).startswith(
        "config key 'preflight.min_fraction_of_plann': unknown key (allowed here: enabled, "
    )
    with pytest.raises(C.ConfigError, match="'preflight.steps': required key is missing"):
        C.PreflightConfig.from_dict({k: v for k, v in default["preflight"].items() if k != "steps"})


def test_tracked_config_leaves_out_what_does_not_change_the_table(default):
    base = PF.tracked_config(default)
    changed = copy.deepcopy(default)
    changed["preflight"]["enabled"] = True  # only whether the rule is in the DAG
    changed["train"]["stage2"]["substages"].append({"stem_share": 0.5, "tokens": 1.0})
    changed["model"]["attention_backend"] = "local"  # runtime, as for the stages
    assert PF.tracked_config(changed) == base
    changed["preflight"]["min_fraction_of_plan"] = 0.9
    assert PF.tracked_config(changed) != base


# ---------------------------------------------------------------------------------------------
# The step, end to end on 2 gloo ranks
# ---------------------------------------------------------------------------------------------


def _preflight_cli(root: Path, **preflight) -> tuple[int, dict[str, Path]]:
    """``skyforge preflight`` in ``root`` on config.yaml with ``preflight`` overlaid."""
    overlay = root / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"preflight": {**FAST, **preflight}}))
    paths = {
        "measurements": root / "logs/preflight/measurements.json",
        "csv": root / "results/preflight/preflight.csv",
        "markdown": root / "results/preflight/preflight.md",
        "job-folder": root / "logs/preflight/preflight.submitit",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # the job's working directory, as under Snakemake
        rc = cli.main(
            ["preflight", "--configfile", str(REPO / "config.yaml"), "--configfile", str(overlay)]
            + ["--run-json", json.dumps(RUN)]
            + [a for k, p in paths.items() for a in (f"--{k}", str(p))]
        )
    return rc, paths


@pytest.fixture(scope="module")
def passed(tmp_path_factory):
    root = tmp_path_factory.mktemp("preflight-ok")
    rc, paths = _preflight_cli(root)
    assert rc == 0
    return paths


def test_table_of_a_passing_run(passed, default):
    table = pd.read_csv(passed["csv"])
    assert tuple(table.columns) == PF.COLUMNS
    measured = json.loads(passed["measurements"].read_text())
    assert measured["world_size"] == 2 and measured["nodes"] == 1
    assert measured["backend"] == "gloo" and measured["device"] == "cpu"
    # The message size is the gradient bucket megatron-core built: every parameter of the
    # (single-stage) model once, fp32, plus the distributed optimizer's padding.
    params = count_parameters(C.ModelConfig.from_dict(default["model"])).total
    assert len(measured["message_bytes"]) == 1
    assert 4 * params <= measured["message_bytes"][0] <= 4.05 * params
    bw = table[table.check == "all-reduce busbw"].set_index("scope")
    assert list(bw.index) == ["within node", "across nodes"]
    assert bw.loc["within node", "measured"] > 0 and bw.loc["within node", "ranks"] == 2
    assert bw.loc["within node", "status"] == "ok"
    assert bw.loc["within node", "threshold"] == default["preflight"]["min_intra_node_busbw_gbps"]
    assert bw.loc["across nodes", "status"] == "not measured" and pd.isna(
        bw.loc["across nodes", "measured"]
    )
    tps = table[table.check == "training throughput"].iloc[0]
    assert tps.measured > 0 and tps.unit == "tokens/s per GPU"
    # No peak FLOP/s for a CPU: no prediction, no MFU, and the throughput is not checked.
    assert tps.status == "not checked" and pd.isna(tps.plan) and "CPU" in tps.note
    assert table[table.check == "MFU"].iloc[0].status == "not measured"
    step = table[table.check == "step time"].iloc[0]
    assert step.measured > 0 and "median of 2 after 1 warm-up" in step.note
    md = passed["markdown"].read_text()
    assert "All checks passed." in md and "| all-reduce busbw | within node |" in md
    assert not passed["csv"].with_name("preflight.failed.csv").exists()
    # The summary page shows the table when the run has one, and nothing otherwise.
    results = passed["csv"].parents[1]
    text = write_summary(results, results / "summary.md", run_name="t", config_hash="0", stages=[])
    assert "## Pre-flight" in text and "| training throughput |" in text
    empty = passed["csv"].parents[2] / "empty"
    text = write_summary(empty, empty / "summary.md", run_name="t", config_hash="0", stages=[])
    assert "Pre-flight" not in text


def _sections(default: dict) -> dict:
    layout = C.Layout.from_dict(default)
    plan = C.PlanConfig.from_dict(default["plan"])
    return dict(model=layout.model, parallel=layout.parallel, train=layout.train, plan=plan)


def test_a_failed_floor_stops_with_one_line_and_no_table(passed, default, tmp_path):
    """The run's own measurements against an impossible within-node floor (the one floor a
    one-node CPU job can miss; the cross-node one is not measured on one node)."""
    result = json.loads(passed["measurements"].read_text())
    csv, md = tmp_path / "preflight.csv", tmp_path / "preflight.md"
    for path in (csv, md):
        path.write_text("a table of an earlier, passing run")
    strict = C.PreflightConfig.with_defaults(min_intra_node_busbw_gbps=1.0e6)
    table = PF.preflight_table(result, preflight=strict, **_sections(default))
    with pytest.raises(PF.PreflightFailed) as exc:
        PF.write_preflight(result, table, csv, md)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("pre-flight failed: within-node all-reduce busbw ")
    assert "(2 ranks) is below preflight.min_intra_node_busbw_gbps 1e+06" in msg
    assert not csv.exists() and not md.exists()  # no output, not even an earlier one
    failed = pd.read_csv(tmp_path / "preflight.failed.csv")
    assert list(failed.status[failed.scope == "within node"]) == ["FAILED"]
    assert "**pre-flight failed: " in (tmp_path / "preflight.failed.md").read_text()
    # The CLI prints a RuntimeError as one line, "skyforge preflight: failed: …", exit 1.
    assert isinstance(exc.value, RuntimeError)


def test_throughput_is_checked_against_the_plan_on_a_gpu_it_knows(passed, default, tmp_path):
    """The plan comparison on the CPU measurement relabelled as an A800's: the planner predicts
    ~10⁸ tokens/s per GPU for this 0.6 M-parameter model there, so the check must fail."""
    result = json.loads(passed["measurements"].read_text())
    result["device"] = "NVIDIA A800-SXM4-80GB"
    sections = _sections(default)
    settings = C.PreflightConfig.from_dict(default["preflight"])
    table = PF.preflight_table(result, preflight=settings, **sections)
    tps = table[table.check == "training throughput"].iloc[0]
    assert tps.status == "FAILED" and tps.plan > 1e6 and "A800-80G" in tps.note
    assert 0 < table[table.check == "MFU"].iloc[0].plan <= 0.565  # at most plan.assumed_mfu
    csv, md = tmp_path / "preflight.csv", tmp_path / "preflight.md"
    with pytest.raises(PF.PreflightFailed) as exc:
        PF.write_preflight(result, table, csv, md)
    msg = str(exc.value)
    assert "\n" not in msg and not csv.exists() and not md.exists()
    assert f"{tps.measured:,.0f} tokens/s per GPU is 0.00 of the plan's {tps.plan:,.0f}" in msg
    assert "below preflight.min_fraction_of_plan 0.5" in msg
    lenient = C.PreflightConfig.with_defaults(min_fraction_of_plan=0.0)
    table = PF.preflight_table(result, preflight=lenient, **sections)
    assert table[table.check == "training throughput"].iloc[0].status == "ok"
    PF.write_preflight(result, table, csv, md)
    assert csv.is_file() and not (tmp_path / "preflight.failed.csv").exists()
