"""Run a model whose weights are on the meta device, loading each weight just before the module
that owns it runs and dropping it right after.

The export's logit check (and any forward of a model larger than host memory) then holds one
module's weights at a time, never the model: the peak is the largest single weight plus the
activations. The model's own ``forward`` runs unchanged (megatron's GPTModel, transformers'
LlamaForCausalLM), so the check compares the two libraries' real code paths, not a
re-implementation of them. Forward hooks are torch's mechanism for exactly this; accelerate's
``dispatch_model`` / disk offload does the same for transformers models only, and needs its own
weight files in its own layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

__all__ = ["weights_on_demand"]


@contextmanager
def weights_on_demand(
    model: torch.nn.Module,
    load: Callable[[str], torch.Tensor],
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Iterator[torch.nn.Module]:
    """Within the block, every module with parameters of its own loads them with
    ``load(qualified parameter name)`` when its forward starts and drops them when it ends.

    Args:
        model: A model built on the meta device (its buffers must be real).
        load: Parameter name (as in ``model.named_parameters()``) → its tensor.
        device: Where the loaded weights go.
        dtype: Their dtype.
    """
    handles = []
    for prefix, module in model.named_modules():
        names = [n for n, _ in module.named_parameters(recurse=False)]
        if not names:
            continue

        meta = {n: module._parameters[n] for n in names}

        def pre(mod: torch.nn.Module, _args, prefix=prefix, meta=meta) -> None:  # noqa: ANN001
            for n, p in meta.items():
                key = f"{prefix}.{n}" if prefix else n
                t = load(key).to(device=device, dtype=dtype)
                if t.shape != p.shape:
                    raise ValueError(f"{key}: loaded {tuple(t.shape)}, model has {tuple(p.shape)}")
                # A real tensor cannot take a meta parameter's place through .data: swap the
                # Parameter object, and put the meta one back afterwards.
                mod._parameters[n] = torch.nn.Parameter(t, requires_grad=False)

        def post(mod: torch.nn.Module, _args, _out, meta=meta) -> None:  # noqa: ANN001
            mod._parameters.update(meta)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    try:
        yield model
    finally:
        for h in handles:
            h.remove()
