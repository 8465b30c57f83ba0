"""Content digests of what a training-type job reads: recorded in its job record and manifest.

A GPU rule that Snakemake runs again (an input was regenerated with identical bytes, or the
output was deleted) submits nothing when its job already completed with the same spec file and
the same digests (docs/staleness.md). The digests cover every file the job reads besides its
spec: the blend and every pack it names (train, validation and test), the tokenizer, the
starting manifest, and SFT/DPO data files. They are cheap: a pack's digests are read from its
count file (written with the pack), any other file is hashed once and cached by its stat
(:func:`skyforge.core.digest.file_digest`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from skyforge.core.digest import file_digest
from skyforge.core.io import workdir_relative
from skyforge.tokenize.blends import pack_prefixes
from skyforge.tokenize.packs import pack_digests
from skyforge.train.spec import StageSpec

__all__ = ["input_digests", "stage_input_digests", "with_input_digests"]

PathLike = str | os.PathLike[str]


def input_digests(
    files: Iterable[PathLike | None], *, blends: Iterable[PathLike] = ()
) -> dict[str, str]:
    """Working-directory-relative path → SHA-256 of ``files`` and of every pack of ``blends``
    (the blend files themselves included). None entries are skipped.

    Raises:
        FileNotFoundError: a file, or a pack a blend names, is missing.
    """
    out: dict[str, str] = {}
    for path in files:
        if path is not None:
            out[workdir_relative(path)] = file_digest(path)
    for blend in blends:
        out[workdir_relative(blend)] = file_digest(blend)
        for prefix in pack_prefixes(json.loads(Path(blend).read_text(encoding="utf-8"))):
            for path, digest in pack_digests(Path(prefix)).items():
                out[workdir_relative(path)] = digest
    return dict(sorted(out.items()))


def stage_input_digests(spec: StageSpec, extra: Mapping[str, PathLike] | None = None) -> dict:
    """The input digests of a pretraining, SFT or DPO job (and the leaky control, the ablation):
    its blend with its packs, tokenizer, starting manifest, the task's data files (SFT/DPO) and
    ``extra`` files."""
    task_files = (spec.task or {}).get("files") or {}
    root = Path(spec.workdir)
    files: list[PathLike | None] = [spec.tokenizer, spec.init_manifest]
    files += [root / p for p in task_files.values()]
    files += list((extra or {}).values())
    return input_digests(files, blends=[spec.blend])


def with_input_digests(spec: StageSpec) -> StageSpec:
    """``spec`` with :attr:`StageSpec.input_digests` filled in (:func:`stage_input_digests`)."""
    return dataclasses.replace(spec, input_digests=stage_input_digests(spec))
