"""Write safetensors files one tensor at a time, never holding a whole file's tensors.

``safetensors.torch.save_file`` (and ``save_pretrained``, which calls it per shard) takes a dict
of every tensor of the file, so a 5 GB shard costs 5 GB of host memory on top of what is being
converted; the ``safetensors`` package has no incremental writer. The format is simple enough to
write in order (https://huggingface.co/docs/safetensors: an 8-byte little-endian header length,
a JSON header mapping each name to its dtype, shape and ``data_offsets`` within the data block,
then the raw little-endian bytes), so the header is computed from the planned names, shapes and
dtypes first and each tensor's bytes are appended as the converter produces it. The files are
read back by ``safetensors`` and ``transformers`` in the tests.

Files larger than ``max_shard_bytes`` are split HF-style: ``model-00001-of-0000N.safetensors``
plus ``model.safetensors.index.json`` (``metadata.total_size`` and ``weight_map``); a model
that fits one file is ``model.safetensors``, as ``save_pretrained`` names it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["DEFAULT_SHARD_BYTES", "PlannedTensor", "plan_shards", "write_shards"]

DEFAULT_SHARD_BYTES = 5 * 1000**3
"""Largest file written: 5 GB, the HF Hub's usual shard size (nothing is buffered per file, so
the size costs no memory)."""

_DTYPES = {
    torch.float32: "F32",
    torch.bfloat16: "BF16",
    torch.float16: "F16",
    torch.int64: "I64",
    torch.int32: "I32",
}


@dataclass(frozen=True)
class PlannedTensor:
    """A tensor to be written: its name, shape and dtype, known before its values."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def nbytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n * torch.empty((), dtype=self.dtype).element_size()


def plan_shards(
    tensors: Iterable[PlannedTensor], max_shard_bytes: int
) -> list[list[PlannedTensor]]:
    """Group tensors, in order, into files of at most ``max_shard_bytes`` (a larger tensor gets a
    file of its own)."""
    shards: list[list[PlannedTensor]] = [[]]
    size = 0
    for t in tensors:
        if shards[-1] and size + t.nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(t)
        size += t.nbytes
    return [s for s in shards if s]


def _header(shard: list[PlannedTensor]) -> bytes:
    entries: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for t in shard:
        entries[t.name] = {
            "dtype": _DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + t.nbytes],
        }
        offset += t.nbytes
    raw = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data block starts 8-byte aligned
    return struct.pack("<Q", len(raw)) + raw


def write_shards(
    out_dir: Path,
    shards: list[list[PlannedTensor]],
    produce: Callable[[PlannedTensor], torch.Tensor],
) -> list[Path]:
    """Write the planned files into ``out_dir``, asking ``produce`` for each tensor in order.

    ``produce`` is called once per tensor, in the planned order, and its result is written and
    dropped before the next call. Returns the files written.

    Raises:
        ValueError: a produced tensor whose shape or dtype is not the planned one.
    """
    out_dir = Path(out_dir)
    n = len(shards)
    names = (
        ["model.safetensors"]
        if n == 1
        else [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]
    )
    weight_map: dict[str, str] = {}
    total = 0
    for name, shard in zip(names, shards, strict=True):
        with open(out_dir / name, "wb") as f:
            f.write(_header(shard))
            for planned in shard:
                tensor = produce(planned)
                if tuple(tensor.shape) != planned.shape or tensor.dtype != planned.dtype:
                    raise ValueError(
                        f"{planned.name}: produced {tuple(tensor.shape)} {tensor.dtype}, "
                        f"planned {planned.shape} {planned.dtype}"
                    )
                tensor = tensor.detach().cpu().contiguous()
                # bf16 has no numpy dtype: write the same bytes through an int16 view.
                view = tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor
                f.write(memoryview(view.numpy()).cast("B"))
                weight_map[planned.name] = name
                total += planned.nbytes
                del tensor, view
    if n > 1:
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        (out_dir / "model.safetensors.index.json").write_text(
            json.dumps(index, indent=2) + "\n", encoding="utf-8"
        )
    return [out_dir / name for name in names]
