"""The leaky control of the contamination table: the final clean model, trained on purpose on a
blend that contains the GSM8K-format test file.

A contamination check is only as good as the difference it can show, so the embedded default
builds a model that IS contaminated and puts it in the table beside the clean ones. It is one
short extra training stage of the same loop as pretraining (same megatron-core code, spec,
checkpoints and submitit dispatch): it starts from the final pretraining stage's manifest and
trains ``tokens`` tokens at a constant rate on the final stage's blend with ``share`` of the
weight moved to a pack of the test file's documents (question + newline + answer, the same text
the contamination table scores). Nothing else in the DAG reads this model.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from skyforge.core.io import atomic_write_text
from skyforge.eval.contamination import read_gsm8k
from skyforge.tokenize.packs import pack_texts
from skyforge.train.spec import continuation_spec

__all__ = ["build_leaky_blend", "leaky_spec"]


def build_leaky_blend(
    test_file: Path, base_blend: Path, tokenizer: Path, out_dir: Path, *, share: float
) -> Path:
    """Pack the test documents and write a blend giving them ``share`` of the weight.

    Returns:
        The blend file (``out_dir/leaky_blend.json``); its pack paths are relative to the
        working directory, like every other blend.
    """

    if not 0 < share < 1:
        raise ValueError(f"config key 'eval.contamination.leaky_share': {share} is not in (0, 1)")
    docs = read_gsm8k(test_file)
    prefix = Path(out_dir) / "test_pack"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    counts = pack_texts(docs, tokenizer, prefix, num_threads=1)
    blend = json.loads(Path(base_blend).read_text(encoding="utf-8"))
    out = copy.deepcopy(blend)
    prefixes, weights = blend["blend"]
    weights = [w * (1 - share) for w in weights] + [share]
    prefixes = [*prefixes, str(prefix)]
    out["stage"] = "leaky_control"
    out["blend"] = [prefixes, weights]
    out["data_path"] = [x for pair in zip(weights, prefixes, strict=True) for x in pair]
    out["leaked_test_file"] = {
        "path": str(test_file),
        "docs": counts["docs"],
        "tokens": counts["tokens"],
        "share": share,
    }
    path = Path(out_dir) / "leaky_blend.json"
    atomic_write_text(path, json.dumps(out, indent=1) + "\n")
    return path


def leaky_spec(
    final_manifest: Path, blend: Path, *, tokens: float, lr: float, run_dir: Path, manifest: Path
) -> Any:
    """The final stage's spec, turned into the leaky control stage (see the module docstring)."""

    return continuation_spec(
        final_manifest,
        "leaky_control",
        "leaky control: the final model trained on a blend containing the test set",
        blend=blend,
        tokens=tokens,
        lr=lr,
        run_dir=run_dir,
        manifest=manifest,
    )
