"""Config validation: defaults fill in, typos and bad values fail with one line naming the key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skyforge.config import ConfigError, SkyforgeConfig, load_config_files, validate_config

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def default() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def _err(cfg: dict) -> str:
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_default_and_presets_validate():
    cfg = SkyforgeConfig.from_dict(load_config_files([REPO / "config.yaml"]))
    assert cfg.parallel.world_size == cfg.cluster.num_gpus == 2
    for preset in sorted((REPO / "presets").glob("*.yaml")):
        cfg = SkyforgeConfig.from_dict(load_config_files([REPO / "config.yaml", preset]))
        assert cfg.parallel.world_size == cfg.cluster.num_gpus


def test_defaults_are_filled(default):
    cfg = copy.deepcopy(default)
    del cfg["parallel"]["zero_stage"]
    del cfg["crawl"]["synthetic"]["num_pages"]
    out = validate_config(cfg)
    assert out["parallel"]["zero_stage"] == 1
    assert out["crawl"]["synthetic"]["num_pages"] == 3000


def test_typo_key_names_the_key(default):
    cfg = copy.deepcopy(default)
    cfg["model"]["hidden_sise"] = 64
    assert _err(cfg).startswith("config key 'model.hidden_sise': unknown key")


def test_typo_top_level_key(default):
    cfg = copy.deepcopy(default)
    cfg["modle"] = {}
    assert "'modle'" in _err(cfg)


def test_bad_value_names_the_key(default):
    cfg = copy.deepcopy(default)
    cfg["crawl"]["num_shards"] = 0
    assert _err(cfg).startswith("config key 'crawl.num_shards':")
    cfg = copy.deepcopy(default)
    cfg["train"]["stage1"]["sessions"][0]["schedule"] = "linear"
    assert _err(cfg).startswith("config key 'train.stage1.sessions[0].schedule':")


def test_numeric_strings_are_read_as_numbers(default):
    cfg = copy.deepcopy(default)
    cfg["plan"]["reverse"]["tokens"] = "1.0e12"  # what PyYAML makes of 1.0e12
    cfg["cluster"]["nodes"] = "1"  # what `snakemake --config cluster='{nodes: 1}'` gives
    cfg["model"]["norm_head"] = "true"
    out = validate_config(cfg)
    assert out["plan"]["reverse"]["tokens"] == 1.0e12
    assert out["cluster"]["nodes"] == 1 and isinstance(out["cluster"]["nodes"], int)
    assert out["model"]["norm_head"] is True
    cfg["cluster"]["nodes"] = "1.5"  # a number, but not an integer: still an error
    assert _err(cfg).startswith("config key 'cluster.nodes':")
    cfg["cluster"]["nodes"] = "two"
    assert _err(cfg) == "config key 'cluster.nodes': 'two' is not of type 'integer'"


def test_layout_must_multiply_out(default):
    cfg = copy.deepcopy(default)
    cfg["parallel"]["data"] = 4
    msg = _err(cfg)
    assert msg.startswith("config key 'parallel':") and "= 4" in msg and "= 2 GPUs" in msg


def test_preset_that_does_not_fit_the_gpus():
    preset = yaml.safe_load((REPO / "presets" / "a800_512.yaml").read_text())
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    from skyforge.config import merge_configs

    cfg = merge_configs(base, preset)
    cfg["cluster"]["nodes"] = 32
    assert _err(cfg).startswith("config key 'parallel': tensor 1 × pipeline 2 × data 256 = 512")
    cfg = merge_configs(base, preset)
    cfg["parallel"].update(pipeline=3, data=170)  # 510 ≠ 512 and 3 ∤ 52
    assert "config key 'parallel" in _err(cfg)


def test_other_cross_key_rules(default):
    cfg = copy.deepcopy(default)
    cfg["model"]["num_attention_heads"] = 5
    assert _err(cfg).startswith("config key 'model.num_attention_heads':")
    cfg = copy.deepcopy(default)
    cfg["train"]["global_batch_size"] = 6
    assert _err(cfg).startswith("config key 'train.global_batch_size':")
    cfg = copy.deepcopy(default)
    cfg["train"]["stage1"]["mix"]["en"] = 0.9
    assert _err(cfg).startswith("config key 'train.stage1.mix':")
    cfg = copy.deepcopy(default)
    cfg["crawl"]["source"] = "warc"
    assert _err(cfg).startswith("config key 'crawl.warc_glob':")


def test_every_schema_key_has_a_description():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    missing = []

    def walk(node: dict, path: str) -> None:
        for name, sub in node.get("properties", {}).items():
            if "description" not in sub:
                missing.append(f"{path}{name}")
            walk(sub, f"{path}{name}.")
            if isinstance(sub.get("items"), dict):
                walk(sub["items"], f"{path}{name}[].")

    walk(schema, "")
    for name, d in schema["$defs"].items():
        walk(d, f"$defs.{name}.")
    assert missing == []


def test_cli_one_line_error(tmp_path, default):
    bad = copy.deepcopy(default)
    bad["parallel"]["tensr"] = 2
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    proc = subprocess.run(
        [sys.executable, "-m", "skyforge.cli", "validate-config", "--configfile", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "skyforge validate-config: error: config key 'parallel.tensr': unknown key "
        "(allowed here: data, micro_batch_size, pipeline, recompute, tensor, zero_stage)"
    ]


def test_a_key_given_twice_in_one_file_is_an_error_naming_it(tmp_path):
    """PyYAML keeps the last of two equal keys silently; a second `plan:` section would drop
    the first one's keys."""
    overlay = tmp_path / "twice.yaml"
    overlay.write_text("plan:\n  gpu: H100-80G\n\nrun_name: x\nplan:\n  assumed_mfu: 0.4\n")
    with pytest.raises(ConfigError, match=r"twice.yaml. line 5: key .plan. given twice"):
        load_config_files(["config.yaml", overlay])
