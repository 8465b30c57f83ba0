"""Tracked config slices: a step reads only what its rule tracks, and a key outside the slice is
an error, not a schema default."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from skyforge import config as C
from skyforge.tokenize import blends as B
from skyforge.tokenize import tokenizer as T
from skyforge.train import spec as S

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def default() -> dict:
    d = C.load_config_files([REPO / "config.yaml"])
    d["train"]["stage2"]["substages"] = [
        {"stem_share": 0.1, "tokens": 60_000},
        {"stem_share": 0.3, "tokens": 40_000},
    ]
    d["blends"]["decay"] = {"tokens": 30_000, "curated_share": 0.2, "instruction_share": 0.0}
    return C.validate_config(d)


def _as_step_sees(slice_: dict, sections: tuple[str, ...]) -> C.Slice:
    text = json.dumps(slice_, sort_keys=True, separators=(",", ":"))
    return C.parse_sections_json(text, sections, what="--config-json")


def test_a_key_outside_the_slice_is_an_error():
    cfg = _as_step_sees({"eval": {"max_chars": 100}}, ("eval",))
    assert cfg["eval"]["max_chars"] == 100
    with pytest.raises(C.ConfigError, match="'eval.batch_tokens': not in this step's"):
        cfg["eval"]["batch_tokens"]
    with pytest.raises(C.ConfigError, match="'eval.max_charz': unknown key"):
        _as_step_sees({"eval": {"max_charz": 1}}, ("eval",))
    with pytest.raises(C.ConfigError, match="'model': required key is missing"):
        _as_step_sees({"eval": {}}, ("eval", "model"))


def test_tokenizer_slice(default):
    cfg = _as_step_sees(T.tracked_config(default), ("tokenizer", "train"))
    assert cfg["train"]["stage1"]["mix"] == default["train"]["stage1"]["mix"]
    changed = copy.deepcopy(default)
    changed["train"]["stage1"]["sessions"][0]["lr_max"] *= 2
    changed["train"]["stage2"]["substages"].append({"stem_share": 0.5, "tokens": 1})
    assert T.tracked_config(changed) == T.tracked_config(default)


def _pack_stats() -> tuple[dict, dict]:
    corpora = ("main-en", "main-zh", "main-code", "stem", "parallel")
    stats = {c: {"prefix": f"/p/{c}", "tokens": 200_000, "docs": 100} for c in corpora}
    return stats, {c: f"/h/{c}" for c in corpora}


def test_stage_blend_from_its_slice_equals_the_full_build(default, tmp_path):
    stats, heldout = _pack_stats()
    b = default["blends"]
    full = B.build_blends(
        stats,
        heldout,
        C.TrainConfig.from_dict(default["train"]),
        default["model"]["seq_length"],
        tmp_path / "full",
        max_epochs=b["max_epochs"],
        parallel_share=b["parallel_share"],
        decay=b["decay"],
    )
    assert list(full) == ["stage1", "stage2_0", "stage2_1", "decay"]
    for stage, path in full.items():
        cfg = _as_step_sees(B.tracked_config(default, stage), ("train", "model", "blends"))
        one = B.build_stage_blend(cfg, stage, stats, heldout, tmp_path / "one")
        assert one.read_bytes() == path.read_bytes(), stage


def test_blend_slices_are_per_stage(default):
    changed = copy.deepcopy(default)
    changed["train"]["stage2"]["substages"][0]["tokens"] = 1
    changed["train"]["stage1"]["sessions"][0]["lr_max"] *= 2
    for stage, same in (("stage1", True), ("stage2_0", False), ("stage2_1", True), ("decay", True)):
        assert (B.tracked_config(changed, stage) == B.tracked_config(default, stage)) is same


def _spec(d: dict, stage: str, tmp_path: Path) -> S.StageSpec:
    for name in ("blend.json", "tokenizer.json"):
        (tmp_path / name).write_text("{}")
    layout = C.Layout.from_dict(d)
    return S.build_stage_spec(
        stage,
        model=layout.model,
        parallel=layout.parallel,
        train=layout.train,
        options=S.TrainingOptions.from_config(d),
        accelerator=layout.cluster.accelerator,
        decay=d["blends"]["decay"],
        blend=tmp_path / "blend.json",
        tokenizer=tmp_path / "tokenizer.json",
        manifest=tmp_path / "m.json",
        init_manifest=None,
    )


def test_stage_hash_follows_the_tracked_slice(default, tmp_path):
    """What the pretrain rule tracks (spec.tracked_config) covers what the config hash covers:
    a change outside the slice changes neither; a change inside it changes both."""
    base = _spec(default, "stage1_0", tmp_path).config_hash()
    outside = copy.deepcopy(default)
    outside["train"]["stage2"]["substages"][0]["tokens"] = 7
    outside["monitoring"]["log_interval_steps"] += 1
    outside["model"]["attention_backend"] = "local"
    assert S.tracked_config(outside, "stage1_0") == S.tracked_config(default, "stage1_0")
    assert _spec(outside, "stage1_0", tmp_path).config_hash() == base
    inside = copy.deepcopy(default)
    inside["train"]["stage1"]["sessions"][0]["lr_max"] *= 2
    assert S.tracked_config(inside, "stage1_0") != S.tracked_config(default, "stage1_0")
    assert _spec(inside, "stage1_0", tmp_path).config_hash() != base


def test_a_slice_survives_pickle_and_asdict():
    import pickle

    cfg = _as_step_sees({"sft": {"lr": 1e-5}}, ("sft",))
    again = pickle.loads(pickle.dumps(cfg))
    assert again == {"sft": {"lr": 1e-5}}
    with pytest.raises(C.ConfigError, match="'sft.beta'"):
        again["sft"]["beta"]
    assert dataclasses.asdict(_Holder(cfg["sft"])) == {"x": {"lr": 1e-5}}


@dataclasses.dataclass
class _Holder:
    x: dict


def test_every_section_is_typed_and_takes_every_key(default):
    cfg = C.SkyforgeConfig.from_dict(default)
    assert cfg.eval.max_chars == default["eval"]["max_chars"]
    assert len(dataclasses.fields(C.SkyforgeConfig)) == len(C.load_schema()["properties"])
    model = {k: v for k, v in default["model"].items() if k != "norm_head"}
    with pytest.raises(C.ConfigError, match="'model.norm_head': required key is missing"):
        C.ModelConfig.from_dict(model)
    with pytest.raises(C.ConfigError, match="'eval.max_chars': required key is missing"):
        C.EvalConfig.from_dict({k: v for k, v in default["eval"].items() if k != "max_chars"})
    assert (
        C.ModelConfig.with_defaults(num_layers=3).hidden_size
        == C.schema_defaults("model")["hidden_size"]
    )
