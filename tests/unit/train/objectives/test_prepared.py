"""Encodings prepared once by the step and read by the job: the same rows come back (ragged,
pairs, extra arrays, meta), and a job never reads encodings written for another spec."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from skyforge.train.chat import Encoded
from skyforge.train.objectives.base import prepared_path, read_prepared, write_prepared
from skyforge.train.spec import StageSpec


def _spec(tmp_path, **changes) -> StageSpec:
    spec = StageSpec(
        stage="sft",
        description="",
        workdir=str(tmp_path),
        run_dir=str(tmp_path / "ck" / "sft"),
        manifest="m.json",
        blend="b.json",
        tokenizer="t.json",
        model={"seq_length": 8},
        parallel={},
        accelerator="cpu",
        global_batch_size=2,
        train_steps=3,
        schedule={"schedule": "constant", "lr_max": 1e-4},
        optimizer={},
        num_train_samples=6,
        seed=1,
        eod_mask_loss=False,
        log_interval_steps=1,
        eval_interval_steps=1,
        eval_samples=1,
        save_interval_steps=1,
        keep_last_checkpoints=1,
        kind="sft",
    )
    return dataclasses.replace(spec, **changes)


def test_prepared_encodings_round_trip(tmp_path):
    spec = _spec(tmp_path)
    train = [Encoded([5, 6, 7], [False, True, True]), Encoded([9], [True]), Encoded([], [])]
    heldout = [Encoded([1, 2], [False, False])]
    ref = np.array([[-1.5, -2.25]])
    meta = {"train": {"rows": 3, "file": "t.jsonl"}, "heldout": {"rows": 1}}  # not sorted
    path = write_prepared(
        spec, {"train": train, "heldout": heldout}, arrays={"heldout": ref}, meta=meta
    )
    assert path == prepared_path(spec) == tmp_path / "ck" / "sft.data.npz"
    got = read_prepared(spec)
    assert got.encoded == {"train": train, "heldout": heldout}
    assert all(type(i) is int for e in got.encoded["train"] for i in e.ids)
    assert all(type(t) is bool for e in got.encoded["train"] for t in e.target)
    assert got.arrays["heldout"].tolist() == ref.tolist()
    # The meta reaches the manifest as it was given, key order included.
    assert json.dumps(got.meta) == json.dumps(meta)


def test_prepared_encodings_of_another_spec_are_refused(tmp_path):
    spec = _spec(tmp_path)
    with pytest.raises(ValueError, match=r"prepared data '.*sft.data.npz' not found"):
        read_prepared(spec)
    write_prepared(spec, {"train": [Encoded([1], [True])]})
    other = _spec(tmp_path, num_train_samples=8)
    assert other.config_hash() != spec.config_hash()
    with pytest.raises(ValueError, match="written for config hash"):
        read_prepared(other)
