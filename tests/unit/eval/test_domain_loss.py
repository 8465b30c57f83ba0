"""The normalised domain loss: equal to a plain per-document ``transformers`` computation,
independent of batch size and padding side, windows scoring every token once, the Average pooled
before the exp, and bad inputs failing their cells with the file and row named."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from skyforge.eval.domain_loss import (
    EvalInputError,
    domain_loss_table,
    load_reference_tokenizer,
    read_domain_file,
    reference_counts,
    score_texts,
    window_plan,
)
from skyforge.synthetic.fixtures import make_workspace

CONTEXT = 48


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A random tiny HF Llama (float64) with our real byte-level BPE, saved as a folder."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("lm")
    make_workspace(root, docs=60)
    tok_dir = root / "results" / "tokenizer"
    tok = AutoTokenizer.from_pretrained(tok_dir)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(cfg).double().eval()
    folder = root / "model"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model, tok, folder, tok_dir


def _texts(n: int = 12) -> list[str]:
    rng = np.random.default_rng(1)
    words = ["the", "council", "met", "library", "市政府", "宣布", "图书馆", "2024", "park", "。"]
    return [" ".join(rng.choice(words, size=int(rng.integers(1, 60)))) for _ in range(n)]


def _direct(model, tok, text: str) -> float:
    """Plain transformers, one document at a time, one forward per window, no padding."""
    ids = tok(text, add_special_tokens=False)["input_ids"]
    total = 0.0
    for s, e, first in window_plan(len(ids), CONTEXT):
        x = torch.tensor([ids[s:e]])
        with torch.no_grad():
            logp = torch.log_softmax(model(x).logits[0].double(), dim=-1)
        for j in range(first, e):
            total -= float(logp[j - 1 - s, ids[j]])
    return total


def test_window_plan_scores_every_token_once_with_context():
    for n in (0, 1, 2, 5, 47, 48, 49, 97, 200):
        plan = window_plan(n, CONTEXT)
        scored = [j for _, e, first in plan for j in range(first, e)]
        assert scored == list(range(1, n)), n
        for s, e, first in plan:
            assert e - s <= CONTEXT
            assert s == 0 or first - s >= CONTEXT // 2  # at least half a context before


def test_equals_a_direct_per_document_computation(tiny_lm):
    model, tok, _, _ = tiny_lm
    texts = _texts()
    lengths = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert max(lengths) > 2 * CONTEXT and min(lengths) < CONTEXT  # windows are exercised
    scores = score_texts(model, tok, texts, batch_tokens=4 * CONTEXT)
    for text, s, n in zip(texts, scores, lengths, strict=True):
        assert s.num_tokens == n and s.num_predicted == max(0, n - 1)
        assert abs(s.nll - _direct(model, tok, text)) < 1e-6


def test_independent_of_batch_size_and_padding_side(tiny_lm):
    model, tok, _, _ = tiny_lm
    texts = _texts()
    base = [s.nll for s in score_texts(model, tok, texts, batch_tokens=1)]  # one window each
    for batch_tokens in (CONTEXT, 3 * CONTEXT, 10_000):
        for side in ("right", "left"):
            other = score_texts(model, tok, texts, batch_tokens=batch_tokens, padding_side=side)
            assert np.abs(np.array([s.nll for s in other]) - base).max() < 1e-9, (
                batch_tokens,
                side,
            )


def test_table_pools_the_average_and_fails_bad_cells(tiny_lm, tmp_path, caplog):
    model, tok, folder, tok_dir = tiny_lm
    texts = _texts()
    good = tmp_path / "web.jsonl"
    good.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts[:6]))
    other = tmp_path / "news.jsonl"
    other.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[6:]))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps({"text": ""}) + "\n")
    not_lm = tmp_path / "not-a-model"
    not_lm.mkdir()
    (not_lm / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with caplog.at_level("ERROR"):
        table = domain_loss_table(
            {"tiny": folder, "broken": not_lm},
            {"web": good, "news": other, "bad": bad},
            tok_dir,
            tmp_path / "out",
            max_chars=200,
            batch_tokens=256,
        )
    t = table.set_index(["model", "domain"])
    assert t.loc[("tiny", "bad"), "status"].startswith("failed: domain file")
    assert "row 2: empty or missing 'text'" in t.loc[("tiny", "bad"), "status"]
    assert all(t.loc[("broken", d), "status"].startswith("failed") for d in ("web", "news"))
    assert any("not-a-model" in r.getMessage() for r in caplog.records)
    # The Average of a model with a failed domain is failed; recompute it over good domains.
    ok = table[(table.model == "tiny") & table.domain.isin(["web", "news"])]
    pooled = ok.nll_sum.sum() / ok.ref_tokens.sum()
    mean_of_ppl = ok.ppl.mean()
    assert math.exp(pooled) != pytest.approx(mean_of_ppl, rel=1e-6)
    for row in ok.itertuples():
        assert row.ppl == pytest.approx(math.exp(row.nll_sum / row.ref_tokens))
        assert row.bits_per_byte == pytest.approx(row.nll_sum / math.log(2) / row.bytes)
    # Cutting to max_chars happened before tokenizing (the table loads the folder in float32).
    cut = [t[:200] for t in texts[:6]]
    direct = sum(_direct(model, tok, x) for x in cut)
    assert t.loc[("tiny", "web"), "nll_sum"] == pytest.approx(direct, rel=1e-6)
    md = (tmp_path / "out" / "domain_loss.md").read_text()
    assert "failed" in md and "**" in md and "pools all documents" in md
    assert pd.read_csv(tmp_path / "out" / "domain_loss.csv").shape[0] == len(table)
    assert (tmp_path / "out" / "domain_loss.png").stat().st_size > 5_000


def test_average_is_pooled_not_a_mean_of_ppls(tiny_lm, tmp_path):
    _, _, folder, tok_dir = tiny_lm
    texts = _texts()
    files = {}
    for name, part in (("a", texts[:3]), ("b", texts[3:])):
        files[name] = tmp_path / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps({"text": x}) + "\n" for x in part))
    table = domain_loss_table({"tiny": folder}, files, tok_dir, tmp_path / "o", max_chars=500)
    t = table.set_index("domain")
    avg = t.loc["Average"]
    assert avg.status == "ok"
    assert avg.ppl == pytest.approx(
        math.exp(
            (t.loc["a"].nll_sum + t.loc["b"].nll_sum)
            / (t.loc["a"].ref_tokens + t.loc["b"].ref_tokens)
        )
    )


def test_unencodable_text_and_bad_rows_name_file_and_row(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    wl = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    wl.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=wl, unk_token="[UNK]")
    with pytest.raises(EvalInputError, match=r"domain file 'x.jsonl', row 2: .*cannot encode"):
        score_texts(None, tok, ["a b", "a 字"], context=8, where="domain file 'x.jsonl'")
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok"}\n{"txt": "wrong key"}\n')
    with pytest.raises(EvalInputError, match=r"d.jsonl', row 2: empty or missing 'text'"):
        read_domain_file(path, 100)
    path.write_text("not json\n")
    with pytest.raises(EvalInputError, match="row 1: not a JSON object"):
        read_domain_file(path, 100)
    assert Path(path).exists()


def test_reference_tokenizer_is_a_folder_or_a_tokenizer_json(tiny_lm, tmp_path):
    """The reference may be given as the folder or as its bare tokenizer.json (what HF
    `tokenizers` writes); both count the same tokens. Anything else is one line naming the key."""
    _, _, _, tok_dir = tiny_lm
    texts = _texts(6)
    from_folder = reference_counts(load_reference_tokenizer(tok_dir), texts)
    from_file = reference_counts(load_reference_tokenizer(tok_dir / "tokenizer.json"), texts)
    assert from_file == from_folder and sum(from_folder) > 0

    missing = tmp_path / "nowhere"
    with pytest.raises(EvalInputError) as error:
        load_reference_tokenizer(missing)
    assert str(error.value) == (
        f"config key 'eval.reference_tokenizer': '{missing}' is neither a tokenizer folder nor "
        "a tokenizer.json file"
    )
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(EvalInputError) as error:
        load_reference_tokenizer(broken)
    message = str(error.value)
    assert message.startswith(
        f"config key 'eval.reference_tokenizer': '{broken}' does not load as a tokenizer ("
    )
    assert "\n" not in message
