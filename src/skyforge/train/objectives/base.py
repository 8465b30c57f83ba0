"""What a training objective gives the generic loop, and the data an objective prepares once.

The loop (:mod:`skyforge.train.loop`) knows steps, batches, validation, checkpoints and logs;
an :class:`Objective` knows what is trained: which datasets (:meth:`Objective.build_data`), how
a micro-batch goes through the model and becomes a loss (:attr:`Objective.forward_step`, the
function megatron's schedule calls), and how the loss function's reduced sums read as metrics
(:meth:`Objective.summarize`). Pretraining, SFT and DPO each implement it in their own module.

Data read from files (SFT conversations, DPO pairs) is read, checked and encoded ONCE, by the
objective's ``prepare`` in the step that writes the job's spec (it needs the sample count to
know the step count): :func:`write_prepared` stores the encodings beside the spec file,
:func:`read_prepared` gives them to every rank of the job. The file records the spec's config
hash, so a job never trains on encodings made for another spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from skyforge.core.io import atomic_path
from skyforge.train.chat import Encoded
from skyforge.train.spec import StageSpec

__all__ = [
    "Objective",
    "Prepared",
    "TrainingData",
    "collate",
    "micro_batches",
    "prepared_path",
    "read_prepared",
    "write_prepared",
]


@dataclass
class TrainingData:
    """The datasets of a stage, indexed by a global sample number (megatron's convention)."""

    train: Any
    valid: dict[str, Any]
    """Held-out name → dataset, validated in this order."""
    full_eval: frozenset[str] = frozenset()
    """Held-out sets validated whole (the others: ``spec.eval_samples`` samples)."""
    stats: dict[str, Any] = field(default_factory=dict)
    """Data counts for the manifest (its ``data`` entry)."""


class Objective(Protocol):
    """What the loop asks of a training objective (one instance per stage and rank)."""

    rows_per_sample: int
    """Sequences each dataset sample sends through the model (a DPO pair: 2)."""
    sums: tuple[str, int]
    """Key and length of the sums the loss function reports (reduced over ranks by the loop)."""
    batch_keys: tuple[str, ...]
    """Per-sample tensors the batches carry besides the language-model ones."""
    forward_step: Callable[..., tuple]
    """``(data_iterator, model) -> (output, loss_func)``, as megatron's schedule calls it."""

    def build_data(
        self, tokenizer: Any, *, rank: int, cache: Path, dense_mask: bool
    ) -> TrainingData:
        """The stage's datasets on this rank (``cache``: megatron's index cache; without
        ``dense_mask`` the samples carry no dense attention mask)."""
        ...

    def summarize(self, sums: torch.Tensor, name: str) -> dict[str, float]:
        """Metrics of a reduced sum vector; ``name`` is ``train`` or a held-out set."""
        ...

    def log_detail(self, row: dict[str, float]) -> str:
        """Extra text for a step's log line (the row holds the step's ``train/…`` metrics)."""
        ...


_LM_KEYS = ("tokens", "labels", "loss_mask", "position_ids", "attention_mask")


def collate(
    samples: list[dict[str, Any]],
    device: torch.device,
    dense_mask: bool = True,
    extra: tuple[str, ...] = (),
) -> dict[str, torch.Tensor]:
    """Stack samples into a batch on ``device``; ``dense_mask`` False (or a sample without
    one) leaves the attention mask out; ``extra`` keys are stacked as they are."""
    batch = {}
    for key in _LM_KEYS:
        if key == "attention_mask" and (not dense_mask or samples[0].get(key) is None):
            continue  # a backend that takes the documents from the position ids
        batch[key] = torch.stack([torch.as_tensor(s[key]) for s in samples]).to(device)
    for key in extra:
        batch[key] = torch.stack([s[key] for s in samples]).to(device)
    return batch


def micro_batches(
    dataset: Any,
    first: int,
    *,
    num_micro: int,
    micro_batch_size: int,
    dp_rank: int,
    dp_size: int,
    device: torch.device,
    dense_mask: bool = True,
    extra: tuple[str, ...] = (),
) -> Iterator[dict[str, torch.Tensor]]:
    """The micro-batches of one step of a data-parallel rank: micro-batch ``m`` of rank ``r``
    reads samples ``first + (m·dp + r)·mbs …`` (Megatron-LM's pretraining sampler order)."""
    for m in range(num_micro):
        base = first + (m * dp_size + dp_rank) * micro_batch_size
        samples = [dataset[base + j] for j in range(micro_batch_size)]
        yield collate(samples, device, dense_mask, extra)


# ---------------------------------------------------------------------------------------------
# Encodings prepared once, read by the job
# ---------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """Encoded rows per split, extra arrays and a JSON-able ``meta``, as :func:`write_prepared`
    stored them."""

    encoded: dict[str, list[Encoded]]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


def prepared_path(spec: StageSpec) -> Path:
    """``<checkpoint dir>/<stage>.data.npz``: beside the run directory (as the spec file), so
    a run directory moved aside for another configuration does not take it along."""
    return Path(spec.run_dir).with_name(f"{spec.stage}.data.npz")


def write_prepared(
    spec: StageSpec,
    encoded: dict[str, list[Encoded]],
    *,
    arrays: dict[str, np.ndarray] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Store the encodings of each split (ragged, concatenated) for ``spec``'s job."""
    out: dict[str, np.ndarray] = {}
    for split, rows in encoded.items():
        out[f"{split}.lengths"] = np.array([len(e.ids) for e in rows], dtype=np.int64)
        out[f"{split}.ids"] = np.array([i for e in rows for i in e.ids], dtype=np.int64)
        out[f"{split}.target"] = np.array([t for e in rows for t in e.target], dtype=bool)
    for name, value in (arrays or {}).items():
        out[f"array.{name}"] = np.asarray(value)
    header = {"config_hash": spec.config_hash(), "splits": list(encoded), "meta": meta or {}}
    out["header"] = np.array(json.dumps(header))  # key order kept: it reaches the manifest
    path = prepared_path(spec)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **out)
    return path


def read_prepared(spec: StageSpec) -> Prepared:
    """The encodings :func:`write_prepared` stored for ``spec``.

    Raises:
        ValueError: the file is missing or was written for another spec (naming it).
    """
    path = prepared_path(spec)
    if not path.is_file():
        raise ValueError(f"{spec.stage}: prepared data '{path}' not found (rerun the step)")
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(str(z["header"]))
        if header["config_hash"] != spec.config_hash():
            raise ValueError(
                f"{spec.stage}: prepared data '{path}' was written for config hash "
                f"{header['config_hash']}, this stage has {spec.config_hash()} (rerun the step)"
            )
        encoded = {}
        for split in header["splits"]:
            ends = np.cumsum(z[f"{split}.lengths"])
            ids = np.split(z[f"{split}.ids"], ends[:-1]) if len(ends) else []
            target = np.split(z[f"{split}.target"], ends[:-1]) if len(ends) else []
            encoded[split] = [
                Encoded(i.tolist(), t.tolist()) for i, t in zip(ids, target, strict=True)
            ]
        arrays = {k[len("array.") :]: z[k] for k in z.files if k.startswith("array.")}
    return Prepared(encoded, arrays, header["meta"])
