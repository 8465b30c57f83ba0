"""Stage blends: shares, tokens and epochs per corpus, the over-repetition flag and bad input."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from skyforge.config import TrainConfig
from skyforge.tokenize.blends import build_blends

SEQ = 128
MIX = {"en": 0.5, "zh": 0.4, "code": 0.1}
STEM_RAMP = (0.1, 0.2, 0.3, 0.4)
SUB_TOKENS = 100_000


def _train(mix: dict[str, float] = MIX) -> TrainConfig:
    return TrainConfig.with_defaults(
        {
            "global_batch_size": 8,
            "stage1": {
                "sessions": [
                    {
                        "name": "cos",
                        "tokens": 600_000,
                        "schedule": "cosine",
                        "lr_max": 1e-3,
                        "lr_min": 1e-4,
                    },
                    {"name": "const", "tokens": 400_000, "schedule": "constant", "lr_max": 1e-4},
                ],
                "mix": mix,
            },
            "stage2": {
                "lr": 1e-4,
                "substages": [{"stem_share": s, "tokens": SUB_TOKENS} for s in STEM_RAMP],
            },
        }
    )


def _stats(**tokens: int) -> dict[str, dict]:
    base = {
        "main-en": 1_000_000,
        "main-zh": 1_000_000,
        "main-code": 10_000,
        "stem": 8_000,
        "parallel": 100_000,
    }
    base.update({k.replace("_", "-"): v for k, v in tokens.items()})
    return {
        c: {"prefix": f"/packs/{c}/train", "tokens": t, "docs": t // 100} for c, t in base.items()
    }


HELDOUT = {
    c: f"/packs/{c}/heldout" for c in ("main-en", "main-zh", "main-code", "stem", "parallel")
}


def _load(paths: dict[str, Path], stage: str) -> dict:
    return json.loads(paths[stage].read_text(encoding="utf-8"))


def test_stage1_follows_the_mix(tmp_path: Path):
    paths = build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path, parallel_share=0.0)
    assert list(paths) == ["stage1", "stage2_0", "stage2_1", "stage2_2", "stage2_3"]
    b = _load(paths, "stage1")
    # One blend for both sessions: planned for their sum, so session 2 resumes the same order.
    assert b["tokens"] == 1_000_000
    assert b["num_samples"] == math.ceil(1_000_000 / SEQ)
    assert b["split"] == "100,0,0"
    corpora = b["corpora"]
    assert set(corpora) == {"main-en", "main-zh", "main-code"}
    for key, corpus in (("en", "main-en"), ("zh", "main-zh"), ("code", "main-code")):
        assert corpora[corpus]["share"] == pytest.approx(MIX[key])
        assert corpora[corpus]["tokens_planned"] == round(MIX[key] * 1_000_000)
    assert corpora["main-en"]["epochs"] == pytest.approx(0.5)
    assert corpora["main-code"]["epochs"] == pytest.approx(10.0)
    prefixes, weights = b["blend"]
    assert prefixes == ["/packs/main-en/train", "/packs/main-zh/train", "/packs/main-code/train"]
    assert weights == pytest.approx([0.5, 0.4, 0.1])
    assert b["data_path"][0::2] == weights and b["data_path"][1::2] == prefixes
    # Validation and test are the held-out packs of every domain, not a slice of train.
    assert b["validation"] == HELDOUT and b["test"] == HELDOUT


def test_stage2_ramp_shares_and_epochs(tmp_path: Path):
    paths = build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path, parallel_share=0.0)
    for i, s in enumerate(STEM_RAMP):
        b = _load(paths, f"stage2_{i}")
        c = b["corpora"]
        assert b["tokens"] == SUB_TOKENS
        assert c["stem"]["share"] == pytest.approx(s)
        assert c["stem"]["tokens_planned"] == round(s * SUB_TOKENS)
        assert c["stem"]["epochs"] == pytest.approx(s * SUB_TOKENS / 8_000)
        # The rest is Main in the stage-1 proportions.
        assert c["main-en"]["share"] == pytest.approx((1 - s) * 0.5)
        assert c["main-zh"]["share"] == pytest.approx((1 - s) * 0.4)
        assert c["main-code"]["share"] == pytest.approx((1 - s) * 0.1)
        assert sum(r["share"] for r in c.values()) == pytest.approx(1.0)
        assert sum(b["blend"][1]) == pytest.approx(1.0)


def test_over_repetition_is_flagged_above_five_epochs(tmp_path: Path):
    paths = build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path, parallel_share=0.0)
    # main-code: 100,000 planned / 10,000 available = 10 passes.
    assert _load(paths, "stage1")["over_repeated"] == ["main-code"]
    assert _load(paths, "stage1")["corpora"]["main-code"]["over_repeated"] is True
    # stem at 40 %: 40,000 / 8,000 = exactly 5 passes: at the cap, not above it.
    last = _load(paths, "stage2_3")
    assert last["corpora"]["stem"]["epochs"] == pytest.approx(5.0)
    assert "stem" not in last["over_repeated"]
    # A smaller STEM corpus goes over the cap from 30 % on.
    paths = build_blends(
        _stats(stem=5_000), HELDOUT, _train(), SEQ, tmp_path / "small", parallel_share=0.0
    )
    flagged = {s: "stem" in _load(paths, s)["over_repeated"] for s in paths if s != "stage1"}
    assert flagged == {"stage2_0": False, "stage2_1": False, "stage2_2": True, "stage2_3": True}
    # A custom cap.
    paths = build_blends(
        _stats(), HELDOUT, _train(), SEQ, tmp_path / "cap", max_epochs=1.0, parallel_share=0.0
    )
    assert _load(paths, "stage2_0")["over_repeated"] == ["stem"]


def test_parallel_text_is_carved_from_en_and_zh(tmp_path: Path):
    p = 0.02
    paths = build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path, parallel_share=p)
    c = _load(paths, "stage1")["corpora"]
    assert c["parallel"]["share"] == pytest.approx(p)
    assert c["main-code"]["share"] == pytest.approx(0.1)  # code untouched
    assert c["main-en"]["share"] / c["main-zh"]["share"] == pytest.approx(0.5 / 0.4)
    assert sum(r["share"] for r in c.values()) == pytest.approx(1.0)
    c2 = _load(paths, "stage2_3")["corpora"]
    assert c2["parallel"]["share"] == pytest.approx((1 - 0.4) * p)
    assert c2["stem"]["share"] == pytest.approx(0.4)


def test_decay_stage_raises_curated_data(tmp_path: Path):
    decay = {"tokens": 50_000, "curated_share": 0.3, "instruction_share": 0.07}
    stats = _stats(stem=300_000)
    stats["instruction"] = {"prefix": "/packs/instruction/train", "tokens": 20_000, "docs": 9}
    paths = build_blends(stats, HELDOUT, _train(), SEQ, tmp_path, decay=decay)
    assert list(paths)[-1] == "decay"
    b = _load(paths, "decay")
    c = b["corpora"]
    assert b["tokens"] == 50_000
    # Curated share split between STEM and parallel in proportion to their tokens (3:1).
    assert c["stem"]["share"] == pytest.approx(0.3 * 0.75)
    assert c["parallel"]["share"] == pytest.approx(0.3 * 0.25)
    assert c["instruction"]["share"] == pytest.approx(0.07)
    assert c["instruction"]["epochs"] == pytest.approx(0.07 * 50_000 / 20_000)
    assert c["main-en"]["share"] == pytest.approx((1 - 0.37) * 0.5)
    assert sum(r["share"] for r in c.values()) == pytest.approx(1.0)
    # No instruction corpus built but a share asked for: the error names stage and corpus.
    with pytest.raises(ValueError, match=r"'decay'.*'instruction'"):
        build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path / "x", decay=decay)
    # Without instruction data the optional corpus is simply absent.
    paths = build_blends(
        _stats(),
        HELDOUT,
        _train(),
        SEQ,
        tmp_path / "y",
        decay={"tokens": 1000, "curated_share": 0.5},
    )
    assert "instruction" not in _load(paths, "decay")["corpora"]
    with pytest.raises(ValueError, match="decay.curated"):
        build_blends(
            _stats(), HELDOUT, _train(), SEQ, tmp_path / "z", decay={"tokens": 1000, "curated": 0.5}
        )


def test_zero_token_corpus_is_an_error(tmp_path: Path):
    with pytest.raises(ValueError, match=r"'stage1'.*'main-zh'.*0 tokens"):
        build_blends(_stats(main_zh=0), HELDOUT, _train(), SEQ, tmp_path, parallel_share=0.0)
    with pytest.raises(ValueError, match=r"'stage2_0'.*'stem'"):
        build_blends(_stats(stem=0), HELDOUT, _train(), SEQ, tmp_path, parallel_share=0.0)
    stats = _stats()
    del stats["parallel"]
    with pytest.raises(ValueError, match=r"'stage1'.*'parallel'.*no train pack"):
        build_blends(stats, HELDOUT, _train(), SEQ, tmp_path)
    # Nothing was written by the failed calls.
    assert not any(tmp_path.iterdir())
    # A corpus with no tokens and no share is fine (code share 0).
    paths = build_blends(
        _stats(main_code=0),
        HELDOUT,
        _train({"en": 0.6, "zh": 0.4, "code": 0}),
        SEQ,
        tmp_path,
        parallel_share=0.0,
    )
    assert _load(paths, "stage1")["blend"][0] == ["/packs/main-en/train", "/packs/main-zh/train"]


def test_bad_pack_stats(tmp_path: Path):
    stats = _stats()
    del stats["stem"]["tokens"]
    with pytest.raises(ValueError, match=r"corpus 'stem'.*'tokens'"):
        build_blends(stats, HELDOUT, _train(), SEQ, tmp_path)


def test_summary_tables(tmp_path: Path):
    paths = build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path)
    with (tmp_path / "summary.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(_load(paths, s)["corpora"]) for s in paths)
    code = next(r for r in rows if r["stage"] == "stage1" and r["corpus"] == "main-code")
    assert code["over_repeated"] == "True" and float(code["epochs"]) == pytest.approx(10.0)
    assert int(code["tokens_available"]) == 10_000
    md = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| stage1 | main-code |" in md and "over 5 epochs" in md
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{s}.json" for s in paths] + ["summary.csv", "summary.md"]
    )


def test_only_one_stage_writes_the_same_file_and_no_summary(tmp_path):
    full = build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path / "all", parallel_share=0.0)
    one = build_blends(
        _stats(), HELDOUT, _train(), SEQ, tmp_path / "one", parallel_share=0.0, only="stage2_1"
    )
    assert list(one) == ["stage2_1"]
    assert one["stage2_1"].read_text() == full["stage2_1"].read_text()
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["stage2_1.json"]
    with pytest.raises(ValueError, match="blend stage 'stage9': not a stage"):
        build_blends(_stats(), HELDOUT, _train(), SEQ, tmp_path / "x", only="stage9")
