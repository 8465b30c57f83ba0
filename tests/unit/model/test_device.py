"""Where the model rules run: the node's GPU in bf16 when there is one, else the CPU in fp32."""

from __future__ import annotations

import torch

from skyforge.model.device import inference_device, inference_dtype


def test_device_follows_the_node_and_can_be_forced(monkeypatch):
    monkeypatch.delenv("SKYFORGE_INFERENCE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert inference_device().type == expected
    assert inference_dtype(inference_device()) == (
        torch.bfloat16 if expected == "cuda" else torch.float32
    )
    monkeypatch.setenv("SKYFORGE_INFERENCE_DEVICE", "cpu")
    assert inference_device() == torch.device("cpu")
    assert inference_dtype("cpu") == torch.float32
