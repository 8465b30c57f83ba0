"""Read single weights of a megatron-core ``dist_checkpointing`` checkpoint, one at a time.

A training checkpoint (``torch_dist`` format, i.e. torch.distributed.checkpoint files) stores the
decoder layers stacked: ``decoder.layers.mlp.linear_fc1.weight`` is one global tensor
``[num_layers, 2·ffn, hidden]`` written as per-layer chunks (and per-TP-rank chunks). The export
and the eval path of a 13 B model must not hold the whole model in host memory, so they read one
layer's tensor at a time: a ``ChunkStorageMetadata`` with the layer's offset is turned into read
items with torch's own ``create_read_items_for_chunk_list`` and loaded by torch's own
``FileSystemReader``, which reads only the bytes of the chunks that overlap the request.

Why not ``megatron.core.dist_checkpointing.load`` with the layer's ``ShardedTensor``: on one rank
megatron turns a partial request into a torch ``ShardedTensor`` whose metadata must list every
fragment on some rank, and it refuses a request for one layer out of many (measured with
megatron-core 0.16.1: "Number of local shards (1) does not match ..."). Megatron's own names and
offsets still come from megatron: :func:`module_layout` reads them from the model's
``sharded_state_dict()``, built on the meta device.

Memory of :meth:`CheckpointReader.read`: the requested tensor once when it is one stored chunk
(each layer of a TP = 1 run, the embedding, the head: its bytes are read straight into the result,
see :func:`_read_saved_tensor`), else twice (torch's reader loads each stored chunk, then copies
it into the result).
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch.distributed.checkpoint import FileSystemReader
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.metadata import (
    ChunkStorageMetadata,
    MetadataIndex,
    TensorStorageMetadata,
)
from torch.distributed.checkpoint.planner import LoadPlan
from torch.distributed.checkpoint.planner_helpers import create_read_items_for_chunk_list

__all__ = ["CheckpointReader", "Slice", "module_layout"]


@dataclass(frozen=True)
class Slice:
    """Where a module's tensor lies in the checkpoint: the stored key, the offset of the tensor
    in the stored (global, possibly layer-stacked) tensor, and the slice's shape there."""

    key: str
    offsets: tuple[int, ...]
    shape: tuple[int, ...]
    squeeze: int  # leading stacked axes (one per layer axis) dropped from the result


def module_layout(sharded_state_dict: dict[str, Any]) -> dict[str, Slice]:
    """Module parameter name → :class:`Slice`, from a TP = PP = 1 model's ``sharded_state_dict()``
    (it may be built on the meta device: only names, offsets and shapes are read)."""
    # deferred: heavy import (megatron), only for this path
    from megatron.core.dist_checkpointing.mapping import ShardedTensor, ShardedTensorFactory

    layout: dict[str, Slice] = {}
    for name, item in sharded_state_dict.items():
        if isinstance(item, ShardedTensor):
            lead = item.prepend_axis_num
            shape = (1,) * lead + tuple(item.local_shape)
            layout[name] = Slice(item.key, tuple(item.global_offset), shape, lead)
        elif isinstance(item, ShardedTensorFactory):
            # SwiGLU's fc1: stored as its [gate; up] halves under one key, which together are
            # the model's own [gate; up] tensor at TP = 1; read both halves as one slice.
            gate = item.build()[0]
            if gate.key != item.key:
                raise ValueError(f"{name}: stored as separate '{gate.key}' halves (unsupported)")
            lead = gate.prepend_axis_num
            shape = (1,) * lead + tuple(item.data.shape)
            layout[name] = Slice(item.key, tuple(gate.global_offset), shape, lead)
    return layout


class _Window(io.RawIOBase):
    """A read-only window ``[start, start + length)`` of an open file, seekable, for zipfile."""

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self._f, self._start, self._len, self._pos = f, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._len}[whence]
        self._pos = max(0, min(self._len, base + pos))
        return self._pos

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = min(len(buffer), self._len - self._pos)
        self._f.seek(self._start + self._pos)
        got = self._f.readinto(memoryview(buffer)[:n])
        self._pos += got
        return got


def _read_saved_tensor(
    f: BinaryIO, start: int, length: int, shape: tuple[int, ...], md: TensorStorageMetadata
) -> torch.Tensor | None:
    """Read a tensor that ``torch.save`` wrote at ``[start, start + length)`` of ``f`` straight
    into its final buffer (one copy, where ``torch.load`` of a stream holds the bytes twice).

    ``torch.save`` writes a zip whose ``data/0`` member holds the storage uncompressed; its
    bytes are read in place when the member is exactly the tensor (no larger storage behind a
    view). None when it is not, so that the caller falls back to torch's reader.
    """
    window = _Window(f, start, length)
    with zipfile.ZipFile(window) as zf:
        members = [i for i in zf.infolist() if i.filename.endswith("/data/0")]
        if len(zf.infolist()) == 0 or len(members) != 1:
            return None
        info = members[0]
        out = torch.empty(shape, dtype=md.properties.dtype)
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != out.nbytes:
            return None
        window.seek(info.header_offset)
        header = window.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        window.seek(info.header_offset + 30 + name_len + extra_len)
        raw = out.view(torch.int16) if out.dtype == torch.bfloat16 else out
        buffer = memoryview(raw.numpy()).cast("B")
        done = 0
        while done < len(buffer):
            got = window.readinto(buffer[done:])
            if not got:
                return None
            done += got
    return out


class _SlicePlanner(DefaultLoadPlanner):
    """Load one slice of a stored tensor into a tensor of the slice's shape."""

    def __init__(self, offsets: dict[str, tuple[int, ...]]) -> None:
        super().__init__(flatten_state_dict=False, flatten_sharded_tensors=False)
        self._offsets = offsets

    def create_local_plan(self) -> LoadPlan:
        items = []
        for key, tensor in self.state_dict.items():
            md = self.metadata.state_dict_metadata[key]
            chunk = ChunkStorageMetadata(
                offsets=torch.Size(self._offsets[key]), sizes=torch.Size(tensor.shape)
            )
            items += create_read_items_for_chunk_list(key, md, [chunk])
        return LoadPlan(items)

    def lookup_tensor(self, index):  # noqa: ANN001, ANN201
        # The read items carry the slice's global offset; the destination is the plain tensor
        # of that slice (torch's default lookup expects a ShardedTensor there).
        return self.state_dict[index.fqn]


class CheckpointReader:
    """Random access to the tensors of one ``dist_checkpointing`` checkpoint directory.

    Raises:
        ValueError: the directory is not a torch_dist checkpoint, naming it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "metadata.json").is_file() or not (self.path / ".metadata").is_file():
            raise ValueError(f"checkpoint '{self.path}': not a dist_checkpointing directory")
        self._reader = FileSystemReader(str(self.path))
        self.metadata = self._reader.read_metadata()

    def stored(self, key: str) -> TensorStorageMetadata:
        """The stored tensor's metadata (global shape, dtype, chunks)."""
        md = self.metadata.state_dict_metadata.get(key)
        if not isinstance(md, TensorStorageMetadata):
            raise ValueError(f"checkpoint '{self.path}': no tensor '{key}'")
        return md

    def _read_whole_chunk(self, where: Slice, md: TensorStorageMetadata) -> torch.Tensor | None:
        """The slice when it is exactly one stored chunk (each layer of a TP = 1 run, the
        embedding, the head): torch.load of that chunk alone, with no second copy."""
        for i, chunk in enumerate(md.chunks):
            if tuple(chunk.offsets) != where.offsets or tuple(chunk.sizes) != where.shape:
                continue
            info = self.metadata.storage_data[MetadataIndex(where.key, chunk.offsets, i)]
            if info.transform_descriptors:  # compressed or otherwise transformed: torch's path
                return None
            with open(self.path / info.relative_path, "rb") as f:
                tensor = _read_saved_tensor(f, info.offset, info.length, where.shape, md)
            return tensor
        return None

    def read(self, where: Slice) -> torch.Tensor:
        """The slice as a tensor of the stored dtype (leading stacked axes removed)."""
        # deferred: the loader needs no process group (no_dist)
        import torch.distributed.checkpoint as dcp

        md = self.stored(where.key)
        out = self._read_whole_chunk(where, md)
        if out is not None:
            for _ in range(where.squeeze):
                out = out.squeeze(0)
            return out
        out = torch.empty(where.shape, dtype=md.properties.dtype)
        dcp.load(
            {where.key: out},
            storage_reader=self._reader,
            planner=_SlicePlanner({where.key: where.offsets}),
            no_dist=True,
        )
        for _ in range(where.squeeze):
            out = out.squeeze(0)
        return out
