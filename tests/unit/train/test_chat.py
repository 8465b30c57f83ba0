"""The chat format: the trained-token mask on every position, the HF chat template giving our
exact ids through ``transformers``, SFT packing with megatron's reset masks, and bad rows
reported with file and row, counted, and fatal only when nothing is left."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from skyforge.synthetic.fixtures import make_workspace
from skyforge.tokenize.tokenizer import load_tokenizer
from skyforge.train.chat import CHAT_TEMPLATE, ChatFormat, check_conversation
from skyforge.train.objectives.sft import (
    SFTDataset,
    encode_conversations,
    pack_conversations,
    read_sft_file,
)

TWO_TURNS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "5."},
    {"role": "user", "content": "用中文说。"},
    {"role": "assistant", "content": "五。"},
]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("chat-ws")
    make_workspace(root, docs=60)
    return root / "results" / "tokenizer"


@pytest.fixture(scope="module")
def fmt(tokenizer_dir):
    return ChatFormat(load_tokenizer(tokenizer_dir / "tokenizer.json"))


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_loss_mask_covers_exactly_the_responses_on_a_two_turn_case(fmt):
    tok = fmt.tokenizer
    enc = fmt.encode(TWO_TURNS)
    vocab = tok.vocab
    # Expected layout, built piece by piece: (ids, trained?) per piece.
    pieces = [
        ([vocab["<|system|>"]], False),
        (tok.tokenize("Be brief."), False),
        ([fmt.end_id], False),
        ([vocab["<|user|>"]], False),
        (tok.tokenize("What is 2 + 3?"), False),
        ([fmt.end_id], False),
        ([vocab["<|assistant|>"]], False),
        (tok.tokenize("5."), True),
        ([fmt.end_id], True),
        ([vocab["<|user|>"]], False),
        (tok.tokenize("用中文说。"), False),
        ([fmt.end_id], False),
        ([vocab["<|assistant|>"]], False),
        (tok.tokenize("五。"), True),
        ([fmt.end_id], True),
    ]
    ids = [i for p, _ in pieces for i in p]
    target = [t for p, t in pieces for _ in p]
    assert enc.ids == ids
    assert enc.target == target  # every position checked
    assert enc.num_target == len(tok.tokenize("5.")) + len(tok.tokenize("五。")) + 2
    # The trained tokens decode to exactly the two responses with their end tokens.
    trained = [i for i, t in zip(enc.ids, enc.target, strict=True) if t]
    assert tok.detokenize(trained) == "5.<|end|>五。<|end|>"


def test_sample_loss_mask_is_the_target_shifted_onto_the_labels(fmt):
    enc = fmt.encode(TWO_TURNS)
    tok = fmt.tokenizer
    n = len(enc.ids)
    seq = 2 * (n + 1) + 3  # both conversations (+ EOD each) and 4 padding tokens
    packed = pack_conversations([enc, enc], [0, 1], seq, tok.eod, tok.pad)
    assert packed.tokens.shape == (1, seq + 1)
    assert (packed.tokens[0, 2 * (n + 1) :] == tok.pad).all()
    from skyforge.train.objectives.sft import packed_sample

    s = packed_sample(packed.tokens[0], packed.target[0], tok.eod)
    labels, mask = s["labels"].numpy(), s["loss_mask"].numpy()
    # Position i predicts token i + 1: the mask is on where the LABEL is a response token.
    for i in range(seq):
        j = i + 1
        expected = enc.target[j % (n + 1)] if j % (n + 1) < n and j < 2 * (n + 1) else False
        assert bool(mask[i]) == expected, i
    assert labels[n - 1] == tok.eod and mask[n - 1] == 0  # EOD is context, not trained
    # Reset at the EOD: the second conversation starts at position 0 and cannot see the first.
    assert s["position_ids"][n + 1] == 0
    assert bool(s["attention_mask"][0, n + 1, n]) and not bool(s["attention_mask"][0, n + 1, n + 1])
    assert not bool(s["attention_mask"][0, 5, 3])


def test_hf_chat_template_gives_our_ids(fmt, tokenizer_dir, tmp_path):
    from transformers import AutoTokenizer

    from skyforge.model.export_hf import _add_chat_template

    folder = tmp_path / "hf"
    shutil.copytree(tokenizer_dir, folder)
    _add_chat_template(folder / "tokenizer_config.json", CHAT_TEMPLATE)
    assert json.loads((folder / "tokenizer_config.json").read_text())["chat_template"] == (
        CHAT_TEMPLATE
    )
    hf = AutoTokenizer.from_pretrained(folder)
    cases = [
        TWO_TURNS,
        [
            {"role": "user", "content": "中文 and English 123, mixed!"},
            {"role": "assistant", "content": "  spaces  and\nnew lines "},
        ],
        [{"role": "user", "content": ""}, {"role": "assistant", "content": "empty prompt"}],
    ]
    for messages in cases:
        ours = fmt.encode(messages).ids
        theirs = hf.apply_chat_template(messages, tokenize=False)
        assert hf(theirs, add_special_tokens=False)["input_ids"] == ours, messages
    prompt = TWO_TURNS[:2]
    ours = fmt.encode(prompt, add_generation_prompt=True).ids
    text = hf.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    assert hf(text, add_special_tokens=False)["input_ids"] == ours
    assert ours[-1] == fmt.tokenizer.vocab["<|assistant|>"]
    with pytest.raises(Exception, match="unknown chat role"):
        hf.apply_chat_template([{"role": "bot", "content": "x"}], tokenize=False)


def test_bad_rows_are_named_counted_and_skipped(fmt, tmp_path, caplog):
    good = {"messages": TWO_TURNS[1:3]}
    path = _write(
        tmp_path / "sft.jsonl",
        [
            good,
            {"messages": [{"role": "user", "content": "no answer"}]},
            {"messages": [{"role": "bot", "content": "hi"}, {"role": "assistant", "content": "x"}]},
            {
                "messages": [
                    {"role": "user", "content": "long"},
                    {"role": "assistant", "content": "word " * 400},
                ]
            },
            {"text": "not a conversation"},
            good,
        ],
    )
    path.write_text(path.read_text() + "{not json\n")
    with caplog.at_level("WARNING"):
        report = read_sft_file(path)
        convs = encode_conversations(report, fmt, seq_length=64)
    assert len(convs) == 2 and len(report.rows) == 2
    assert report.skipped_by_reason == {
        "no_assistant_turn": 1,
        "unknown_role": 1,
        "too_long": 1,
        "malformed": 1,
        "not_json": 1,
    }
    assert {s["row"] for s in report.skipped} == {2, 3, 4, 5, 7}
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"'{path}', row 2: skipped: no assistant turn" in m for m in lines), lines
    assert any("row 3" in m and "unknown role 'bot'" in m for m in lines), lines
    assert any("row 4" in m and "longer than the context (64 tokens)" in m for m in lines)


def test_files_with_no_usable_row_fail_naming_the_file(fmt, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=r"SFT file '.*empty.jsonl': empty"):
        read_sft_file(empty)
    bad = _write(tmp_path / "bad.jsonl", [{"messages": [{"role": "user", "content": "q"}]}])
    with pytest.raises(ValueError, match=r"'.*bad.jsonl': no usable row \(1 skipped"):
        read_sft_file(bad)
    with pytest.raises(ValueError, match="not found"):
        read_sft_file(tmp_path / "missing.jsonl")


def test_check_conversation_rules():
    with pytest.raises(ValueError, match="only allowed first"):
        check_conversation(
            [
                {"role": "user", "content": "a"},
                {"role": "system", "content": "b"},
                {"role": "assistant", "content": "c"},
            ]
        )
    with pytest.raises(ValueError, match="turns alternate"):
        check_conversation(
            [
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "c"},
            ]
        )
    with pytest.raises(ValueError, match="not an assistant turn"):
        check_conversation(TWO_TURNS[:4])
    assert check_conversation(TWO_TURNS[:2], final_assistant=False) == TWO_TURNS[:2]


def test_sft_dataset_mixes_pretraining_text_at_the_ratio(fmt):
    tok = fmt.tokenizer
    rng = np.random.default_rng(0)
    convs = [
        fmt.encode(
            [
                {"role": "user", "content": f"What is {a} + {b}?"},
                {"role": "assistant", "content": f"{a} + {b} = {a + b}."},
            ]
        )
        for a, b in rng.integers(0, 99, size=(50, 2))
    ]
    seq = 64

    class Text:  # a stand-in for megatron's BlendedDataset: samples of pretraining text
        def __len__(self):
            return 10_000

        def __getitem__(self, i):
            return {"tokens": torch.full((seq,), 7), "loss_mask": torch.ones(seq)}

    ds = SFTDataset(
        convs,
        seq_length=seq,
        eod=tok.eod,
        pad=tok.pad,
        epochs=2,
        seed=3,
        pretrain=Text(),
        pretrain_ratio=0.4 / 0.6,
    )
    stats = ds.stats()
    assert stats["response_tokens"] == 2 * sum(c.num_target for c in convs)
    # Whole pretraining samples: the ratio is met from above, within one sample per epoch.
    assert 0.4 / 0.6 <= stats["pretrain_to_response"]
    assert stats["pretrain_tokens"] - 2 * seq < 0.4 / 0.6 * stats["response_tokens"]
    assert len(ds) == stats["sft_samples"] + stats["pretrain_samples"]
    kinds = [("loss_mask" in ds[i] and ds[i]["tokens"][0] == 7) for i in range(len(ds))]
    assert sum(kinds) == stats["pretrain_samples"]
    # Every conversation is packed whole in each epoch, and the same seed gives the same data.
    again = SFTDataset(
        convs,
        seq_length=seq,
        eod=tok.eod,
        pad=tok.pad,
        epochs=2,
        seed=3,
        pretrain=Text(),
        pretrain_ratio=0.4 / 0.6,
    )
    assert again.index == ds.index
    for p in ds.packs:
        assert int((p.tokens == tok.eod).sum()) == len(convs)
