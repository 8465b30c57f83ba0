"""DPO: the sigmoid loss, rewards and accuracy against hand-computed values; the reference
log-probs job's computation equals the in-training one for the frozen model (1e-5); bad
preference rows are named, counted and skipped."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from skyforge.train.chat import Encoded
from skyforge.train.objectives.base import collate
from skyforge.train.objectives.dpo import (
    DPO_METRICS,
    DPOObjective,
    PreferenceDataset,
    dpo_forward_step,
    dpo_loss,
    read_preference_file,
    summarize_dpo,
)
from skyforge.train.reference import compute_reference_logprobs


def test_dpo_loss_rewards_and_accuracy_by_hand():
    # Two pairs: (policy chosen, policy rejected), (reference chosen, reference rejected).
    policy = torch.tensor([[-10.0, -14.0], [-8.0, -6.0]], dtype=torch.float64)
    reference = torch.tensor([[-11.0, -12.0], [-8.5, -7.0]], dtype=torch.float64)
    beta = 0.5
    losses, m = dpo_loss(policy, reference, beta)
    # Pair 1: rewards 0.5·(−10+11) = 0.5 and 0.5·(−14+12) = −1.0; margin 1.5.
    # Pair 2: rewards 0.5·(−8+8.5) = 0.25 and 0.5·(−6+7) = 0.5; margin −0.25.
    assert m["rewards/chosen"].tolist() == [0.5, 0.25]
    assert m["rewards/rejected"].tolist() == [-1.0, 0.5]
    assert m["rewards/margins"].tolist() == [1.5, -0.25]
    assert m["rewards/accuracies"].tolist() == [1.0, 0.0]
    expected = [math.log1p(math.exp(-1.5)), math.log1p(math.exp(0.25))]  # −log σ(margin)
    assert losses.tolist() == pytest.approx(expected, abs=1e-12)
    assert m["logps/chosen"].tolist() == [-10.0, -8.0]
    # The reduced form the loop logs: means over pairs.
    sums = torch.tensor([2.0] + [float(m[k].sum()) for k in DPO_METRICS], dtype=torch.float64)
    s = summarize_dpo(sums)
    assert s["loss"] == pytest.approx(sum(expected) / 2)
    assert s["rewards/accuracies"] == 0.5 and s["rewards/margins"] == pytest.approx(0.625)
    # Policy == reference: every reward 0, loss log 2.
    losses, m = dpo_loss(policy, policy, beta)
    assert losses.tolist() == pytest.approx([math.log(2)] * 2)
    assert m["rewards/accuracies"].tolist() == [0.0, 0.0]


def _pairs(rng, vocab: int, n: int, seq: int) -> list[tuple[Encoded, Encoded]]:
    pairs = []
    for _ in range(n):
        prompt = rng.integers(10, vocab, size=int(rng.integers(3, 10))).tolist()
        sides = []
        for _ in range(2):
            resp = rng.integers(10, vocab, size=int(rng.integers(2, seq - len(prompt)))).tolist()
            sides.append(Encoded(prompt + resp, [False] * len(prompt) + [True] * len(resp)))
        pairs.append(tuple(sides))
    return pairs


def test_reference_job_computation_equals_the_in_training_one(megatron_one_rank):
    """The frozen model scored by the reference job's function (micro-batches of 3, plain
    forward) and by DPO's forward step + loss function (micro-batches of 2, as megatron's
    schedule calls them): the same summed log-probs to 1e-5, so every reward starts at 0."""
    from megatron.core.pipeline_parallel import get_forward_backward_func

    from skyforge.config import ModelConfig
    from skyforge.model.gpt import build_model

    seq, vocab = 24, 128
    cfg = ModelConfig.with_defaults(
        num_layers=2,
        hidden_size=32,
        ffn_hidden_size=88,
        num_attention_heads=4,
        seq_length=seq,
        vocab_size=vocab,
    )
    model = build_model(cfg, params_dtype=torch.float32).eval()
    model.config.pipeline_dtype = torch.float32
    pairs = _pairs(np.random.default_rng(0), vocab, 10, seq)
    ds = PreferenceDataset(pairs, seq_length=seq, pad=0, seed=None)
    ref = compute_reference_logprobs(model, ds, list(range(10)), 3, torch.device("cpu"))
    assert ref.shape == (10, 2) and (ref < 0).all()

    # In training: the same pairs with these reference values, through the megatron schedule.
    ds_ref = PreferenceDataset(pairs, seq_length=seq, pad=0, reference=ref, seed=None)
    extra = DPOObjective.batch_keys  # the reference log-probs

    batches = iter(
        [
            collate([ds_ref[2 * k], ds_ref[2 * k + 1]], torch.device("cpu"), extra=extra)
            for k in range(5)
        ]
    )
    from functools import partial

    with torch.no_grad():
        out = get_forward_backward_func()(
            forward_step_func=partial(dpo_forward_step, 1.0),
            data_iterator=batches,
            model=[model],
            num_microbatches=5,
            seq_length=seq,
            micro_batch_size=4,
            decoder_seq_length=seq,
            forward_only=True,
        )
    sums = sum(d["dpo"] for d in out)
    s = summarize_dpo(sums)
    assert s["logps/chosen"] == pytest.approx(ref[:, 0].mean(), abs=1e-5)
    assert s["logps/rejected"] == pytest.approx(ref[:, 1].mean(), abs=1e-5)
    assert abs(s["rewards/chosen"]) < 1e-5 and abs(s["rewards/rejected"]) < 1e-5
    assert s["loss"] == pytest.approx(math.log(2), abs=1e-5)

    # Per pair, too: one pair per micro-batch.
    for k in range(10):
        batch = iter([collate([ds_ref[k]], torch.device("cpu"), extra=extra)])
        with torch.no_grad():
            out = get_forward_backward_func()(
                forward_step_func=partial(dpo_forward_step, 1.0),
                data_iterator=batch,
                model=[model],
                num_microbatches=1,
                seq_length=seq,
                micro_batch_size=2,
                decoder_seq_length=seq,
                forward_only=True,
            )
        s = summarize_dpo(out[0]["dpo"])
        assert s["logps/chosen"] == pytest.approx(ref[k, 0], abs=1e-5)
        assert s["logps/rejected"] == pytest.approx(ref[k, 1], abs=1e-5)

    # The flex attention backend (no dense mask in the batch: the collate leaves it out) scores
    # the pairs the same.
    flex = build_model(cfg, params_dtype=torch.float32, attention_backend="flex").eval()
    _, unexpected = flex.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected
    flex.config.pipeline_dtype = torch.float32
    batches = [
        collate([ds_ref[2 * k], ds_ref[2 * k + 1]], torch.device("cpu"), False, extra)
        for k in range(5)
    ]
    assert "attention_mask" not in batches[0]
    with torch.no_grad():
        out = get_forward_backward_func()(
            forward_step_func=partial(dpo_forward_step, 1.0, backend="flex"),
            data_iterator=iter(batches),
            model=[flex],
            num_microbatches=5,
            seq_length=seq,
            micro_batch_size=4,
            decoder_seq_length=seq,
            forward_only=True,
        )
    s = summarize_dpo(sum(d["dpo"] for d in out))
    assert s["logps/chosen"] == pytest.approx(ref[:, 0].mean(), abs=1e-5)
    assert s["logps/rejected"] == pytest.approx(ref[:, 1].mean(), abs=1e-5)

    # Padding is masked out: the log-prob of a pair does not depend on the context length.
    longer = PreferenceDataset(pairs, seq_length=seq + 8, pad=0, seed=None)
    cfg_long = ModelConfig(**{**cfg.__dict__, "seq_length": seq + 8})
    assert cfg_long.seq_length == seq + 8
    again = compute_reference_logprobs(model, longer, list(range(10)), 5, torch.device("cpu"))
    assert np.abs(again - ref).max() < 1e-5


def test_bad_preference_rows_are_named_counted_and_skipped(tmp_path, caplog):
    prompt = [{"role": "user", "content": "2 + 2?"}]
    good = {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": "4"}],
        "rejected": [{"role": "assistant", "content": "5"}],
    }
    rows = [
        good,
        {**good, "rejected": good["chosen"]},
        {**good, "chosen": [{"role": "robot", "content": "4"}]},
        {"prompt": prompt, "chosen": good["chosen"]},
        {**good, "prompt": [{"role": "assistant", "content": "hi"}]},
        {**good, "chosen": "4 (a bare string is TRL's shorthand)"},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with caplog.at_level("WARNING"):
        report = read_preference_file(path)
    assert [r["_row"] for r in report.rows] == [1, 6]
    assert report.rows[1]["chosen"] == [
        {"role": "assistant", "content": "4 (a bare string is TRL's shorthand)"}
    ]
    assert report.skipped_by_reason == {
        "chosen_equals_rejected": 1,
        "unknown_role": 1,
        "malformed": 1,
        "turn_order": 1,
    }
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"preference file '{path}', row 2: skipped: chosen == rejected" in text
    assert "row 3" in text and "unknown role 'robot'" in text
    assert "row 4: skipped: no 'rejected' field" in text
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"preference file '.*empty.jsonl': empty"):
        read_preference_file(empty)
    same = tmp_path / "same.jsonl"
    same.write_text(json.dumps({**good, "rejected": good["chosen"]}) + "\n")
    with pytest.raises(ValueError, match="no usable row"):
        read_preference_file(same)
