"""Layer cosine (Yi-9B's depth analysis): how much each transformer layer changes its input.

For each model and each decoder layer ``i``, the cosine similarity between the hidden state
entering the layer and the one leaving it (the residual stream before and after the whole
block), averaged over every real token of the held-out documents (padding excluded). A layer
whose cosine is near 1 barely changes the residual stream: it does little work, a candidate
for depth up-scaling or pruning. The states are read with forward hooks on the decoder layers
— ``output_hidden_states`` would not do, as ``transformers`` applies the final norm to the last
entry of that tuple.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skyforge.core.tables import save_figure, write_table
from skyforge.eval.domain_loss import (
    EvalInputError,
    load_causal_lm,
    model_context,
    read_domain_file,
)

__all__ = ["layer_cosines", "layer_cosine_table"]

log = logging.getLogger(__name__)


def _decoder_layers(model) -> list[torch.nn.Module]:
    base = getattr(model, "model", None) or model.base_model
    layers = getattr(base, "layers", None)
    if layers is None:
        raise EvalInputError(f"model {model.config.name_or_path!r}: no decoder layers found")
    return list(layers)


def layer_cosines(model, tokenizer, texts: list[str], *, batch_size: int = 8) -> np.ndarray:
    """Mean cosine(input, output) of each decoder layer over the real tokens of ``texts``."""
    context = model_context(model)
    layers = _decoder_layers(model)
    sums = np.zeros(len(layers), dtype=np.float64)
    count = 0
    captured: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(i):
        def fn(module, args, kwargs, output):
            hidden_in = args[0] if args else kwargs["hidden_states"]
            hidden_out = output[0] if isinstance(output, tuple) else output
            captured[i] = (hidden_in.detach(), hidden_out.detach())

        return fn

    handles = [
        layer.register_forward_hook(hook(i), with_kwargs=True) for i, layer in enumerate(layers)
    ]
    try:
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        ids = [x[:context] for x in ids if x]
        with torch.no_grad():
            for start in range(0, len(ids), batch_size):
                chunk = ids[start : start + batch_size]
                width = max(len(x) for x in chunk)
                inp = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.bool)
                for r, x in enumerate(chunk):
                    inp[r, : len(x)] = torch.tensor(x)
                    mask[r, : len(x)] = True
                device = next(model.parameters()).device
                model(input_ids=inp.to(device), attention_mask=mask.long().to(device))
                for i, (h_in, h_out) in captured.items():
                    cos = torch.nn.functional.cosine_similarity(h_in.float(), h_out.float(), dim=-1)
                    sums[i] += float(cos[mask.to(device)].double().sum())
                count += int(mask.sum())
    finally:
        for h in handles:
            h.remove()
    return sums / max(count, 1)


def layer_cosine_table(
    models: dict[str, str | Path], texts: list[str], out_dir: str | Path
) -> pd.DataFrame:
    """Layers × models table (``layer_cosine.csv``/``.md``) and heatmap (``.png``)."""
    # deferred: matplotlib takes ~0.5 s to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = {}
    for name, folder in models.items():
        try:
            model, tok = load_causal_lm(folder)
            columns[name] = layer_cosines(model, tok, texts)
        except EvalInputError as exc:
            log.error("model %s: %s", name, exc)
    depth = max((len(v) for v in columns.values()), default=0)
    table = pd.DataFrame(
        {name: list(v) + [np.nan] * (depth - len(v)) for name, v in columns.items()},
        index=pd.Index(range(depth), name="layer"),
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = [m for m in models if m not in columns]
    text = (
        f"Mean cosine similarity between each decoder layer's input and output hidden states "
        f"over {len(texts)} held-out documents (real tokens only). Near 1: the layer barely "
        "changes the residual stream.\n\n" + table.to_markdown(floatfmt=".4f") + "\n"
    )
    if failed:
        text += "\nFailed (see the log): " + ", ".join(failed) + "\n"
    write_table(out_dir, "layer_cosine", table, text, index=True)
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * max(1, len(columns)), 1.5 + 0.35 * max(depth, 1)))
    if depth:
        im = ax.imshow(table.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(table.columns)), table.columns, rotation=30, fontsize=8)
        ax.set_yticks(range(depth))
        ax.set_ylabel("layer")
        for (r, c), v in np.ndenumerate(table.to_numpy()):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white")
        fig.colorbar(im, ax=ax, label="cos(input, output)")
    ax.set_title("Layer cosine")
    fig.tight_layout()
    save_figure(fig, out_dir / "layer_cosine.png")
    return table


def domain_texts(domain_files: list[Path], max_chars: int, num_docs: int) -> list[str]:
    """About ``num_docs`` documents spread evenly over the domain files (the probe's input)."""
    per_file = max(1, num_docs // max(1, len(domain_files)))
    texts: list[str] = []
    for path in domain_files:
        texts += read_domain_file(path, max_chars)[:per_file]
    return texts
