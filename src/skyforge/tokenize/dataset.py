"""The datasets training reads: a stage's blend packed into fixed-length samples, reset at EOD.

``build_datasets`` turns a blend file (:mod:`skyforge.tokenize.blends`) into megatron-core
datasets: the train blend through ``BlendedMegatronDatasetBuilder`` with split ``"100,0,0"``,
and one validation dataset per held-out domain, so the loss is reported per domain and no
training document is ever validated on.

Packing (Index-1.9B, docs/recipe.md#tokenizer-and-packing): samples are ``seq_length + 1``
consecutive tokens crossing document boundaries; megatron-core's ``GPTDataset`` restarts the
position ids after every EOD, makes the attention mask block-diagonal causal and masks the loss
where the input token is EOD. This module only configures megatron-core, and works around what
0.16.1 does unasked: index caches written into the pack directory and keyed by path, not
content; ``BlendedDataset`` needing a process group; and a fused softmax kernel that silently
ignores the document mask on some GPU shapes.

See docs/tokenize.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from skyforge.tokenize.blends import TRAIN_SPLIT

__all__ = ["NUM_SAMPLES_KEYS", "build_datasets", "read_blend"]

NUM_SAMPLES_KEYS = ("train", "valid")
_TOKENIZER_ATTRS = ("vocab_size", "eod", "unique_identifiers")


def read_blend(blend_json: Path) -> dict[str, Any]:
    """Read and check a blend file written by ``skyforge.tokenize.blends.build_blends``.

    Raises:
        ValueError: the file is missing, not JSON, or lacks a key (naming file and key).
    """
    blend_json = Path(blend_json)
    try:
        blend = json.loads(blend_json.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"blend file '{blend_json}': not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"blend file '{blend_json}': not valid JSON ({exc.msg})") from None
    for key in ("blend", "validation", "seq_length"):
        if key not in blend:
            raise ValueError(f"blend file '{blend_json}': key '{key}' is missing")
    prefixes, weights = blend["blend"]
    if not prefixes or len(prefixes) != len(weights):
        raise ValueError(f"blend file '{blend_json}': key 'blend' needs as many weights as packs")
    return blend


def _check_packs(prefixes: list[str], blend_json: Path) -> None:
    for prefix in prefixes:
        for suffix in (".bin", ".idx"):
            if not Path(prefix + suffix).is_file():
                raise ValueError(
                    f"blend file '{blend_json}': pack file '{prefix}{suffix}' does not exist"
                )


def _pack_fingerprint(prefixes: list[str]) -> str:
    """A short hash of the packs' paths, sizes and index mtimes (names the cache sub-directory)."""
    h = hashlib.sha256()
    for prefix in sorted(prefixes):
        idx, bin_ = os.stat(prefix + ".idx"), os.stat(prefix + ".bin")
        h.update(f"{os.path.abspath(prefix)}\0{idx.st_size}\0{idx.st_mtime_ns}\0".encode())
        h.update(f"{bin_.st_size}\0".encode())
    return h.hexdigest()[:16]


def _check_num_samples(num_samples: Mapping[str, int | None]) -> tuple[int, int | None]:
    unknown = sorted(set(num_samples) - set(NUM_SAMPLES_KEYS))
    if unknown:
        raise ValueError(
            f"num_samples.{unknown[0]}: unknown key (allowed: {', '.join(NUM_SAMPLES_KEYS)})"
        )
    train = num_samples.get("train")
    if not isinstance(train, int) or train <= 0:
        raise ValueError(f"num_samples.train: {train!r} is not a positive sample count")
    valid = num_samples.get("valid")
    if valid is not None and (not isinstance(valid, int) or valid <= 0):
        raise ValueError(f"num_samples.valid: {valid!r} is not a positive sample count (or None)")
    return train, valid


@contextlib.contextmanager
def _process_group_if_needed() -> Iterator[None]:
    """A temporary single-process gloo group when torch.distributed is not initialised.

    megatron-core 0.16.1's ``BlendedDataset`` asks ``torch.distributed.get_rank()`` before
    writing its cache and fails without a group; a world of one answers it.
    """
    dist = torch.distributed
    if dist.is_initialized():
        yield
        return
    with tempfile.TemporaryDirectory(prefix="skyforge-dist-") as tmp:
        store = dist.FileStore(os.path.join(tmp, "store"), 1)
        dist.init_process_group("gloo", store=store, rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


@contextlib.contextmanager
def _cache_dir(path_to_cache: Path | None, prefixes: list[str]) -> Iterator[str]:
    if path_to_cache is None:
        # The indices are returned in memory when built, so a directory that disappears
        # afterwards is safe; it only keeps megatron from writing next to the packs.
        with tempfile.TemporaryDirectory(prefix="skyforge-index-cache-") as tmp:
            yield tmp
        return
    path = Path(path_to_cache) / _pack_fingerprint(prefixes)
    path.mkdir(parents=True, exist_ok=True)
    yield str(path)


def build_datasets(
    blend_json: Path,
    tokenizer: Any,
    seq_length: int,
    *,
    seed: int,
    num_samples: dict[str, int],
    eod_mask_loss: bool,
    reset_position_ids: bool = True,
    reset_attention_mask: bool = True,
    path_to_cache: Path | None,
    create_attention_mask: bool = True,
    is_built_on_rank: Callable[[], bool] | None = None,
) -> tuple[torch.utils.data.Dataset, dict[str, torch.utils.data.Dataset]]:
    """Build the train dataset of a stage and one validation dataset per held-out domain.

    Args:
        blend_json: a stage's blend file (``results/blends/<stage>.json``).
        tokenizer: any object with ``vocab_size``, ``eod`` (EOD token id) and
            ``unique_identifiers`` (a JSON-able dict, part of megatron's cache key); optionally
            ``pad``. ``vocab_size`` <= 65,536 means uint16 packs.
        seq_length: tokens per sample fed to the model (each sample reads seq_length + 1).
        seed: seed of the document and sample shuffles.
        num_samples: ``{"train": samples to draw, "valid": samples per domain}``; ``valid``
            missing or None means one pass over each held-out pack.
        eod_mask_loss: mask the loss where the input token is EOD.
        reset_position_ids: restart position ids at 0 after every EOD.
        reset_attention_mask: block-diagonal causal mask (no attention across an EOD).
        path_to_cache: directory for megatron's index caches (kept out of the pack directory);
            None: a temporary directory, removed after the build (single process only; with
            several ranks it must be a directory they all see).
        create_attention_mask: return the dense ``[1, s, s]`` mask (True = masked); turn off
            only for a kernel that builds document masks itself.
        is_built_on_rank: megatron's "build on this rank" predicate; default every rank.

    Returns:
        (train dataset, domain → validation dataset), the latter in the blend file's order. The
        train dataset has at least ``num_samples["train"]`` samples (megatron rounds each
        corpus's share up). A held-out pack that is empty, or shorter than one sample in a
        single pass, is left out with a warning.

    Raises:
        ValueError: a bad blend file, missing pack, bad tokenizer or bad num_samples, naming it.
    """
    # Deferred: importing megatron.core costs seconds, and the blend arithmetic does not need it.
    # deferred: heavy import (megatron), only for this path
    from megatron.core.datasets.blended_megatron_dataset_builder import (
        BlendedMegatronDatasetBuilder,
    )
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    blend_json = Path(blend_json)
    blend = read_blend(blend_json)
    prefixes, weights = (list(x) for x in blend["blend"])
    domains: dict[str, str] = dict(blend["validation"])
    if seq_length != blend["seq_length"]:
        raise ValueError(
            f"blend file '{blend_json}': planned for seq_length {blend['seq_length']}, "
            f"not {seq_length}"
        )
    if blend.get("split", TRAIN_SPLIT) != TRAIN_SPLIT:
        raise ValueError(
            f"blend file '{blend_json}': split must be '{TRAIN_SPLIT}' (validation comes from "
            f"the held-out packs), not '{blend['split']}'"
        )
    for attr in _TOKENIZER_ATTRS:
        if not hasattr(tokenizer, attr):
            raise ValueError(f"tokenizer {type(tokenizer).__name__}: attribute '{attr}' missing")
    n_train, n_valid = _check_num_samples(num_samples)
    dist = torch.distributed
    if path_to_cache is None and dist.is_initialized() and dist.get_world_size() > 1:
        # Rank 0 builds the indices and the other ranks load them from the cache directory.
        raise ValueError("path_to_cache: required (a directory all ranks share) with >1 rank")
    _check_packs(prefixes + list(domains.values()), blend_json)
    for prefix in prefixes:
        if os.path.getsize(prefix + ".bin") == 0:
            raise ValueError(f"blend file '{blend_json}': train pack '{prefix}' is empty")
    for domain, prefix in list(domains.items()):
        # megatron-core cannot mmap a 0-byte .bin; an empty held-out set has no loss to report.
        if os.path.getsize(prefix + ".bin") == 0:
            warnings.warn(
                f"held-out pack '{prefix}' is empty: no validation for '{domain}'", stacklevel=2
            )
            del domains[domain]
    on_rank = is_built_on_rank or (lambda: True)

    def config(**kwargs: Any) -> GPTDatasetConfig:
        return GPTDatasetConfig(
            random_seed=seed,
            sequence_length=seq_length,
            tokenizer=tokenizer,
            reset_position_ids=reset_position_ids,
            reset_attention_mask=reset_attention_mask,
            eod_mask_loss=eod_mask_loss,
            create_attention_mask=create_attention_mask,
            **kwargs,
        )

    with (
        _cache_dir(path_to_cache, prefixes + list(domains.values())) as cache,
        _process_group_if_needed(),
    ):
        # Valid/test sizes 0, not None: megatron asserts "no size ⇒ no weights" per split.
        train_ds = BlendedMegatronDatasetBuilder(
            GPTDataset,
            [n_train, 0, 0],
            on_rank,
            config(blend=(prefixes, weights), split=TRAIN_SPLIT, path_to_cache=cache),
        ).build()[0]
        valid: dict[str, torch.utils.data.Dataset] = {}
        for domain, prefix in domains.items():
            valid[domain] = BlendedMegatronDatasetBuilder(
                GPTDataset,
                [0, n_valid, 0],
                on_rank,
                config(blend_per_split=[None, ([prefix], None), None], path_to_cache=cache),
            ).build()[1]
            if valid[domain] is not None and len(valid[domain]) == 0:
                # Fewer than seq_length + 1 tokens in one pass: megatron drops the partial
                # sample, and an empty validation set would stall an eval loop.
                warnings.warn(
                    f"held-out pack '{prefix}' holds no full sample of {seq_length + 1} tokens: "
                    f"no validation for '{domain}' (ask num_samples['valid'] to repeat it)",
                    stacklevel=2,
                )
                del valid[domain]
    return train_ds, valid
