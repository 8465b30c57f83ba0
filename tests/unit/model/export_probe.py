"""Subprocess side of test_export_stream.py: ``make CKPT`` saves a randomly initialised model of
the shape given as JSON in SKYFORGE_PROBE_MODEL; ``export CKPT OUT`` streams it into an HF folder
and prints the process's peak RSS (bytes) and the export report as one JSON line. Separate
processes, so that the export's peak is not the maker's."""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _cfg():
    from skyforge.config import ModelConfig

    return ModelConfig.with_defaults(**json.loads(os.environ["SKYFORGE_PROBE_MODEL"]))


def make(ckpt: Path) -> None:
    import torch
    from megatron.core import dist_checkpointing
    from megatron.core import parallel_state as ps

    from skyforge.model.gpt import build_model
    from skyforge.train.distributed import initialize_distributed

    initialize_distributed(1, 1, 0)
    model = build_model(_cfg())
    with torch.no_grad():  # norms away from 1: a swapped norm would show in the logits
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    ckpt.mkdir(parents=True)
    dist_checkpointing.save({"model": model.sharded_state_dict()}, str(ckpt))
    ps.destroy_model_parallel()


def export(ckpt: Path, out: Path, max_shard_bytes: int) -> None:
    from skyforge.train.hf_stage import export_checkpoint_dir

    report = export_checkpoint_dir(
        ckpt, _cfg(), out, tokenizer_dir=None, max_shard_bytes=max_shard_bytes
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss": peak, "report": report}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    else:
        export(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
