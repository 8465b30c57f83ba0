"""The step registry: rules and steps mirror each other, and the CLI built from it behaves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skyforge import cli
from skyforge.steps.registry import REGISTRY, parse_pairs

ROOT = Path(__file__).resolve().parents[3]
COMMAND = re.compile(r"python -m skyforge\.cli ([a-z][a-z-]*)")


def _rule_commands() -> dict[str, set[str]]:
    """rules/<name>.smk → the sub-commands its shell lines call."""
    return {
        smk.stem: set(COMMAND.findall(smk.read_text()))
        for smk in sorted((ROOT / "rules").glob("*.smk"))
    }


def test_every_rule_command_is_a_step_of_the_module_named_after_its_rules_file():
    commands = _rule_commands()
    assert sum(map(len, commands.values())) > 40
    for rules_file, names in commands.items():
        for name in names:
            assert name in REGISTRY, f"rules/{rules_file}.smk calls unknown step '{name}'"
            module = REGISTRY[name].func.__module__
            # export-hf serves pretrain.smk and align.smk; it lives with the first.
            if name != "export-hf" or rules_file == "pretrain":
                assert module == f"skyforge.steps.{rules_file}", (name, module)


def test_every_step_module_mirrors_a_rules_file():
    rules = {p.stem for p in (ROOT / "rules").glob("*.smk")}
    modules = {s.func.__module__.rsplit(".", 1)[1] for s in REGISTRY.values()}
    assert modules <= rules, modules - rules


def test_parser_lists_every_step_once():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == sorted(
        REGISTRY,
        key=lambda n: [m.__name__ for m in cli.STEP_MODULES].index(REGISTRY[n].func.__module__),
    )
    assert set(sub.choices) == set(REGISTRY)


def test_parse_pairs():
    assert parse_pairs(["a=x/y", "b=c=d"], "models") == {"a": "x/y", "b": "c=d"}
    with pytest.raises(ValueError, match="--models 'nope': expected name=value"):
        parse_pairs(["nope"], "models")
    with pytest.raises(ValueError, match="expected name=value"):
        parse_pairs(["=x"], "models")


def _skyforge(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skyforge.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_config_json_missing_a_section_is_one_line_naming_it(tmp_path):
    r = _skyforge(
        "plan", "--config-json", json.dumps({"model": {}}), "--out-dir", str(tmp_path), cwd=ROOT
    )
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skyforge plan: error:"), r.stderr
    assert "cluster" in err[0]
    assert not any(tmp_path.iterdir())


def test_config_json_not_json_is_one_line(tmp_path):
    r = _skyforge("plan", "--config-json", "{oops", "--out-dir", str(tmp_path), cwd=ROOT)
    assert r.returncode == 2
    assert "--config-json: not valid JSON" in r.stderr


def test_stats_file_holds_what_the_step_returned(tmp_path):
    stats = tmp_path / "stats.json"
    r = _skyforge(
        "plan",
        "--configfile",
        str(ROOT / "config.yaml"),
        "--out-dir",
        str(tmp_path / "plan"),
        "--stats",
        str(stats),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(stats.read_text())
    summary = (tmp_path / "plan" / "summary.csv").read_text()
    assert got["fits"] in (True, False) and got["params_b"] > 0
    assert "params_total" in summary


def test_every_step_parses_its_own_arguments_and_keeps_its_step():
    """A step argument named like the parser's own fields (apply-drop's --step) must not hide
    which step runs."""
    parser = cli.build_parser()
    args = parser.parse_args(
        ["apply-drop", "--step", "exact_dedup", "--docs", "d", "--drop", "x", "--shard", "0"]
        + ["--out-docs", "o", "--out-removed", "r"]
    )
    assert args.step == "exact_dedup" and args.step_ is REGISTRY["apply-drop"]
    for name, s in REGISTRY.items():
        dests = {a.kwargs.get("dest") or a.flags[0].lstrip("-").replace("-", "_") for a in s.args}
        reserved = {"step_", "stats", "command"}
        if s.sections:  # the CLI adds --configfile / --config-json
            reserved |= {"configfile", "config_json"}
        assert not dests & reserved, name
