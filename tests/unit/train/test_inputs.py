"""The input digests a training-type job records: the blend with every pack it names (digests
read from the packs' count files, not hashed again), the tokenizer and the other files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from skyforge.train.inputs import input_digests

RECORDED = {"bin": "b" * 64, "idx": "c" * 64}


def _pack(prefix: Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    for kind in ("bin", "idx"):
        Path(f"{prefix}.{kind}").write_bytes(kind.encode() * 10)
    files = {k: {"sha256": RECORDED[k], "size": 30} for k in ("bin", "idx")}
    Path(f"{prefix}.json").write_text(json.dumps({"docs": 1, "files": files}))


def test_blend_packs_come_from_count_files_and_keys_are_workdir_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train, heldout = Path("results/packs/en/train"), Path("results/packs/en/heldout")
    _pack(train)
    _pack(heldout)
    blend = Path("results/blends/stage1.json")
    blend.parent.mkdir(parents=True)
    blend.write_text(
        json.dumps({"blend": [[str(train)], [1.0]], "validation": {"en": str(heldout)}, "test": {}})
    )
    tokenizer = tmp_path / "results/tokenizer/tokenizer.json"  # absolute: still relative keys
    tokenizer.parent.mkdir(parents=True)
    tokenizer.write_text("{}")

    digests = input_digests([tokenizer, None], blends=[blend])

    assert digests == {
        "results/blends/stage1.json": hashlib.sha256(blend.read_bytes()).hexdigest(),
        "results/packs/en/heldout.bin": RECORDED["bin"],
        "results/packs/en/heldout.idx": RECORDED["idx"],
        "results/packs/en/train.bin": RECORDED["bin"],
        "results/packs/en/train.idx": RECORDED["idx"],
        "results/tokenizer/tokenizer.json": hashlib.sha256(b"{}").hexdigest(),
    }
    Path(f"{train}.idx").unlink()
    with pytest.raises(FileNotFoundError):
        input_digests([], blends=[blend])
