"""Packed training samples with the attention mask and position ids reset at every EOD.

The packs are written here with megatron-core's own ``IndexedDatasetBuilder``; every token id
occurs in exactly one document, so the document (and the offset in it) of every position of a
sample is known from the token alone, independently of how megatron-core finds EODs. The tests:

* for every sample, position pair (i, j ≤ i): attention allowed exactly when i and j lie in the
  same document occurrence; position ids restart at 0 after every EOD; the loss is masked where
  the input token is EOD (``eod_mask_loss``); samples run across document boundaries;
* the REAL megatron-core attention of the local layer spec (a 1-layer ``GPTModel`` on CPU) obeys
  that mask: changing document 1's tokens does not change the output anywhere in document 2, and
  the same check fails when the softmax ignores the mask (as causal fused kernels do), so a
  backend that silently drops the mask cannot pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from skyforge.config import TrainConfig
from skyforge.tokenize.blends import build_blends
from skyforge.tokenize.dataset import build_datasets

EOD = 1
VOCAB = 4096
SEQ = 32
# Document lengths (without EOD): short ones (several per sample), one spanning 3 samples.
LENGTHS = (1, 2, 3, 5, 8, 13, 4, 6, 9, 2, 70, 7, 11, 3, 1, 5)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny tensors: a second intra-op thread only adds contention (10× slower on a busy box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyTokenizer:
    """What megatron-core's GPT dataset needs from a tokenizer (the real one: tokenizer.py)."""

    vocab_size = VOCAB
    eod = EOD
    unique_identifiers = {"class": "TinyTokenizer", "vocab_size": VOCAB}


def _write_pack(prefix: Path, lengths: tuple[int, ...], first_id: int, owner: dict) -> int:
    """Write documents of fresh token ids + EOD; record token → (pack, doc, offset)."""
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder

    prefix.parent.mkdir(parents=True, exist_ok=True)
    builder = IndexedDatasetBuilder(str(prefix) + ".bin", dtype=np.uint16)
    next_id = first_id
    for doc, length in enumerate(lengths):
        ids = np.arange(next_id, next_id + length, dtype=np.int64)
        for offset, tok in enumerate(ids):
            owner[int(tok)] = (prefix.name, prefix.parent.name, doc, offset)
        builder.add_document(torch.from_numpy(np.append(ids, EOD)), [length + 1])
        next_id += length
    builder.finalize(str(prefix) + ".idx")
    assert next_id < VOCAB
    return next_id


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train packs 'a', 'b' and held-out packs for two domains, plus a hand-written blend."""
    root = tmp_path_factory.mktemp("packs")
    owner: dict[int, tuple] = {}
    next_id = 2
    prefixes = {}
    for corpus, lengths in (("a", LENGTHS), ("b", LENGTHS[::-1])):
        for split in ("train", "heldout"):
            prefix = root / corpus / split
            lens = lengths if split == "train" else lengths[:6]
            next_id = _write_pack(prefix, lens, next_id, owner)
            prefixes[corpus, split] = str(prefix)
    blend = {
        "stage": "test",
        "tokens": 200 * SEQ,
        "seq_length": SEQ,
        "split": "100,0,0",
        "blend": [[prefixes["a", "train"], prefixes["b", "train"]], [0.7, 0.3]],
        "validation": {"dom-a": prefixes["a", "heldout"], "dom-b": prefixes["b", "heldout"]},
    }
    blend_json = root / "blend.json"
    blend_json.write_text(json.dumps(blend), encoding="utf-8")
    return {"root": root, "owner": owner, "blend": blend_json, "prefixes": prefixes}


def _build(packs: dict, cache: Path | None, **kw):
    args = {"seed": 7, "num_samples": {"train": 200}, "eod_mask_loss": True}
    args.update(kw)
    return build_datasets(packs["blend"], TinyTokenizer(), SEQ, path_to_cache=cache, **args)


@pytest.fixture(scope="module")
def datasets(packs: dict, tmp_path_factory: pytest.TempPathFactory):
    return _build(packs, tmp_path_factory.mktemp("cache"))


def _occurrences(tokens: list[int], owner: dict) -> tuple[list[int], list[tuple]]:
    """Document occurrence of every position, found from token ownership alone.

    An EOD belongs to the document it ends; a token continues the previous position's
    occurrence when it is the next token of the same document.
    """
    occ, where = [], []
    for p, tok in enumerate(tokens):
        if tok == EOD:
            # The EOD ends the preceding document (offset = its length); at position 0 it ends
            # a document that began in an earlier sample.
            loc = (*where[p - 1][:3], where[p - 1][3] + 1) if p else ("tail", "", -1, 0)
        else:
            loc = owner[tok]
        same = p > 0 and loc[:3] == where[p - 1][:3] and loc[3] == where[p - 1][3] + 1
        occ.append(occ[-1] if same else (occ[-1] + 1 if occ else 0))
        where.append(loc)
    return occ, where


def _check_sample(sample: dict, owner: dict, packs_allowed: set[tuple[str, str]]) -> int:
    """All the reset-mask properties of one sample; returns its number of boundaries."""
    tokens = sample["tokens"].tolist()
    text = tokens + [int(sample["labels"][-1])]
    assert len(tokens) == SEQ
    assert sample["labels"].tolist() == text[1:]
    occ, where = _occurrences(text, owner)
    occ_t = torch.tensor(occ[:SEQ])
    for loc in where:
        if loc[0] != "tail":
            assert (loc[1], loc[0]) in packs_allowed, f"token from pack {loc[:2]}"
    # Samples run across boundaries: every occurrence but the first starts at its document's
    # first token, and every occurrence but the last ends with its EOD.
    for k in range(1, occ[-1] + 1):
        first = occ.index(k)
        assert where[first][3] == 0
        assert text[first - 1] == EOD
    # THE mask property, for every (i, j): allowed ⇔ j ≤ i and same document (True = masked).
    same_doc = occ_t[:, None] == occ_t[None, :]
    causal = torch.ones(SEQ, SEQ, dtype=torch.bool).tril()
    mask = sample["attention_mask"]
    assert mask.shape == (1, SEQ, SEQ) and mask.dtype == torch.bool
    assert torch.equal(mask[0], ~(same_doc & causal))
    # Position ids: the distance to the start of the occurrence, i.e. 0 right after every EOD.
    starts = [occ.index(o) for o in occ[:SEQ]]
    assert sample["position_ids"].tolist() == [p - s for p, s in enumerate(starts)]
    for p in range(SEQ - 1):
        if tokens[p] == EOD:
            assert sample["position_ids"][p + 1] == 0
    # Loss masked exactly where the input token is EOD.
    assert sample["loss_mask"].tolist() == [0.0 if t == EOD else 1.0 for t in tokens]
    return occ[SEQ - 1]


def test_no_token_attends_across_a_document_boundary(packs: dict, datasets):
    train, valid = datasets
    assert len(train) >= 200
    assert int(train[0]["dataset_id"]) == int(train.dataset_index[0])
    allowed = {("a", "train"), ("b", "train")}
    boundaries = sum(_check_sample(train[i], packs["owner"], allowed) for i in range(len(train)))
    assert boundaries > 2 * len(train)  # the check saw many boundaries, not a trivial case
    assert list(valid) == ["dom-a", "dom-b"]
    for domain, ds in valid.items():
        corpus = domain[-1]
        assert len(ds) > 0
        for i in range(len(ds)):
            _check_sample(ds[i], packs["owner"], {(corpus, "heldout")})


def test_blend_weights_and_validation_split(datasets):
    train, valid = datasets
    ids = np.asarray(train.dataset_index)  # the dataset_id of every sample, in order
    assert abs((ids == 0).mean() - 0.7) < 0.02
    # Validation datasets are megatron "valid" splits of the held-out packs (one pass each).
    for ds in valid.values():
        assert ds.index_split.name == "valid"
        assert ds.num_samples is None


@pytest.mark.parametrize(
    ("reset_pos", "reset_mask", "eod_loss"), [(False, False, False), (True, False, True)]
)
def test_flags_reach_megatron(packs: dict, tmp_path: Path, reset_pos, reset_mask, eod_loss):
    train, _ = _build(
        packs,
        tmp_path,
        num_samples={"train": 20},
        eod_mask_loss=eod_loss,
        reset_position_ids=reset_pos,
        reset_attention_mask=reset_mask,
    )
    causal_masked = ~torch.ones(SEQ, SEQ, dtype=torch.bool).tril()
    for i in range(len(train)):
        s = train[i]
        assert torch.equal(s["attention_mask"][0], causal_masked)  # no reset: plain causal
        if not reset_pos:
            assert s["position_ids"].tolist() == list(range(SEQ))
        if not eod_loss:
            assert bool((s["loss_mask"] == 1).all())


def test_index_cache_stays_out_of_the_pack_directory(packs: dict, tmp_path: Path):
    before = sorted(p.relative_to(packs["root"]) for p in packs["root"].rglob("*"))
    cache = tmp_path / "cache"
    train, _ = _build(packs, cache, num_samples={"train": 50})
    (sub,) = cache.iterdir()  # one directory named by the packs' fingerprint
    assert any(f.name.endswith("GPTDataset-train-shuffle_index.npy") for f in sub.iterdir())
    assert any("BlendedDataset" in f.name for f in sub.iterdir())
    # The temporary process group is gone again.
    assert not torch.distributed.is_initialized()
    # A rebuild hits the cache and yields the same samples; another seed another order.
    again, _ = _build(packs, cache, num_samples={"train": 50})
    assert all(torch.equal(train[i]["tokens"], again[i]["tokens"]) for i in range(len(train)))
    other, _ = _build(packs, cache, num_samples={"train": 50}, seed=8)
    assert any(not torch.equal(train[i]["tokens"], other[i]["tokens"]) for i in range(10))
    _build(packs, None, num_samples={"train": 50})  # no cache dir: a temporary one
    after = sorted(p.relative_to(packs["root"]) for p in packs["root"].rglob("*"))
    assert after == before


def test_blend_file_from_build_blends(tmp_path: Path):
    owner: dict[int, tuple] = {}
    stats, heldout, next_id = {}, {}, 2
    for corpus in ("main-en", "main-zh", "main-code"):
        for split in ("train", "heldout"):
            prefix = tmp_path / "packs" / corpus / split
            start = next_id
            next_id = _write_pack(prefix, LENGTHS, next_id, owner)
            if split == "train":
                stats[corpus] = {
                    "prefix": str(prefix),
                    "tokens": next_id - start + len(LENGTHS),
                    "docs": len(LENGTHS),
                }
            else:
                heldout[corpus] = str(prefix)
    train_cfg = TrainConfig.with_defaults(
        {
            "global_batch_size": 8,
            "stage1": {
                "sessions": [{"name": "c", "tokens": 6400, "schedule": "constant", "lr_max": 1e-3}],
                "mix": {"en": 0.5, "zh": 0.3, "code": 0.2},
            },
            "stage2": {"lr": 1e-4, "substages": [{"stem_share": 0.0, "tokens": 3200}]},
        }
    )
    paths = build_blends(stats, heldout, train_cfg, SEQ, tmp_path / "blends", parallel_share=0.0)
    blend = json.loads(paths["stage1"].read_text(encoding="utf-8"))
    train, valid = build_datasets(
        paths["stage1"],
        TinyTokenizer(),
        SEQ,
        seed=1,
        num_samples={"train": blend["num_samples"], "valid": 4},
        eod_mask_loss=True,
        path_to_cache=tmp_path / "cache",
    )
    ids = np.asarray(train.dataset_index)  # the dataset_id of every sample, in order
    assert len(train) >= blend["num_samples"]
    assert np.bincount(ids, minlength=3) / len(ids) == pytest.approx([0.5, 0.3, 0.2], abs=0.02)
    assert list(valid) == ["main-en", "main-zh", "main-code"]
    assert all(len(ds) >= 4 for ds in valid.values())
    with pytest.raises(ValueError, match="seq_length 32, not 64"):
        build_datasets(
            paths["stage1"],
            TinyTokenizer(),
            64,
            seed=1,
            num_samples={"train": 4},
            eod_mask_loss=True,
            path_to_cache=None,
        )


def test_bad_input(packs: dict, tmp_path: Path):
    with pytest.raises(ValueError, match="num_samples.valdi"):
        _build(packs, None, num_samples={"train": 4, "valdi": 2})
    with pytest.raises(ValueError, match="num_samples.train"):
        _build(packs, None, num_samples={"train": 0})
    no_eod = type("NoEod", (), {"vocab_size": VOCAB, "unique_identifiers": {}})()
    with pytest.raises(ValueError, match="attribute 'eod'"):
        build_datasets(
            packs["blend"],
            no_eod,
            SEQ,
            seed=1,
            num_samples={"train": 4},
            eod_mask_loss=True,
            path_to_cache=None,
        )
    blend = json.loads(packs["blend"].read_text(encoding="utf-8"))
    blend["validation"]["dom-c"] = str(tmp_path / "missing")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(blend), encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.json'.*missing.bin' does not exist"):
        build_datasets(
            bad,
            TinyTokenizer(),
            SEQ,
            seed=1,
            num_samples={"train": 4},
            eod_mask_loss=True,
            path_to_cache=None,
        )
    with pytest.raises(ValueError, match="not found"):
        build_datasets(
            tmp_path / "nope.json",
            TinyTokenizer(),
            SEQ,
            seed=1,
            num_samples={"train": 4},
            eod_mask_loss=True,
            path_to_cache=None,
        )


# ---------------------------------------------------------------------------------------------
# The real megatron-core attention (local layer spec) on CPU honours the mask
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cpu_megatron(tmp_path_factory: pytest.TempPathFactory):
    """Just enough to run megatron-core's GPTModel on CPU in this process.

    megatron-core allocates with ``torch.cuda.current_device()`` and enters the CUDA RNG tracker
    on every attention forward; the project's real CPU shim is train/cpu.py (another issue).
    """
    from megatron.core import parallel_state
    from megatron.core.tensor_parallel import random as tp_random

    own_group = not torch.distributed.is_initialized()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.cuda, "current_device", lambda: torch.device("cpu"))
        mp.setattr(
            tp_random.get_cuda_rng_tracker(), "fork", lambda *a, **k: contextlib.nullcontext()
        )
        if own_group:
            store = torch.distributed.FileStore(
                os.path.join(tmp_path_factory.mktemp("dist"), "store"), 1
            )
            torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
        parallel_state.initialize_model_parallel(1, 1)
        try:
            yield
        finally:
            parallel_state.destroy_model_parallel()
            if own_group:
                torch.distributed.destroy_process_group()


@pytest.fixture(scope="module")
def tiny_gpt(cpu_megatron):
    import torch.nn.functional as F
    from megatron.core.models.gpt import GPTModel
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
    from megatron.core.transformer.dot_product_attention import DotProductAttention
    from megatron.core.transformer.transformer_config import TransformerConfig

    config = TransformerConfig(
        num_layers=1,
        hidden_size=16,
        num_attention_heads=2,
        ffn_hidden_size=32,
        normalization="RMSNorm",
        gated_linear_unit=True,
        activation_func=F.silu,
        add_bias_linear=False,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        params_dtype=torch.float32,
        use_cpu_initialization=True,
        # The CUDA fusions do not exist on CPU; the masked softmax runs in torch.
        bias_activation_fusion=False,
        masked_softmax_fusion=False,
        persist_layer_norm=False,
        bias_dropout_fusion=False,
        apply_rope_fusion=False,
        gradient_accumulation_fusion=False,
    )
    torch.manual_seed(0)
    model = GPTModel(
        config=config,
        transformer_layer_spec=get_gpt_layer_local_spec(normalization="RMSNorm"),
        vocab_size=VOCAB,
        max_sequence_length=SEQ,
        position_embedding_type="rope",
        share_embeddings_and_output_weights=False,
    ).eval()
    assert isinstance(model.decoder.layers[0].self_attention.core_attention, DotProductAttention)
    return model


def _logits(model, tokens, position_ids, mask) -> torch.Tensor:
    with torch.no_grad():
        return model(tokens[None], position_ids[None], mask[None])[0]


def _two_doc_samples(train, n: int) -> list[tuple[dict, int]]:
    """Samples whose first document ends at e with at least 2 tokens of the next one after it."""
    found = []
    for i in range(len(train)):
        s = train[i]
        eods = (s["tokens"] == EOD).nonzero().flatten().tolist()
        if eods and 1 <= eods[0] <= SEQ - 3 and s["tokens"][eods[0] + 1] != EOD:
            found.append((s, eods[0]))
        if len(found) == n:
            break
    assert len(found) == n
    return found


def _doc2_changes(model, sample: dict, e: int, mask: torch.Tensor) -> tuple[bool, bool]:
    """Perturb document 1 (positions ≤ e); did the output change in doc 1 / after it?"""
    tokens, pos = sample["tokens"], sample["position_ids"]
    gen = torch.Generator().manual_seed(e)
    perturbed = tokens.clone()
    perturbed[: e + 1] = torch.randint(2, VOCAB, (e + 1,), generator=gen)
    before = _logits(model, tokens, pos, mask)
    after = _logits(model, perturbed, pos, mask)
    return (
        not torch.allclose(before[: e + 1], after[: e + 1], atol=1e-6),
        not torch.allclose(before[e + 1 :], after[e + 1 :], atol=1e-6),
    )


def test_megatron_attention_honours_the_reset_mask(tiny_gpt, datasets):
    train, _ = datasets
    for sample, e in _two_doc_samples(train, 8):
        doc1_changed, later_changed = _doc2_changes(tiny_gpt, sample, e, sample["attention_mask"])
        assert doc1_changed  # the perturbation is real
        assert not later_changed, "a token attended across an EOD boundary"
        # Packed = alone: document 2 gives the same outputs as when run on its own (RoPE only
        # sees relative positions, so the absolute offset in the sample does not matter).
        tokens = sample["tokens"]
        end = next((p for p in range(e + 1, SEQ) if tokens[p] == EOD), SEQ - 1) + 1
        doc2 = tokens[e + 1 : end]
        n = len(doc2)
        alone = _logits(tiny_gpt, doc2, torch.arange(n), ~torch.ones(1, n, n).bool().tril())
        packed = _logits(tiny_gpt, tokens, sample["position_ids"], sample["attention_mask"])
        torch.testing.assert_close(packed[e + 1 : end], alone, atol=1e-5, rtol=1e-5)


def test_perturbation_test_catches_an_ignored_mask(tiny_gpt, datasets, monkeypatch):
    """The same check fails when the attention uses a plain causal mask instead of the reset one
    (what a causal fused kernel does with the dataset's mask)."""
    from megatron.core.fusions.fused_softmax import FusedScaleMaskSoftmax

    original = FusedScaleMaskSoftmax.forward_torch_softmax

    def ignore_mask(self, scores, mask, softmax_offset=None):
        sq, sk = scores.shape[-2:]
        causal = torch.ones(sq, sk, dtype=torch.bool).triu(1)
        return original(self, scores, causal, softmax_offset)

    monkeypatch.setattr(FusedScaleMaskSoftmax, "forward_torch_softmax", ignore_mask)
    train, _ = datasets
    leaks = [
        _doc2_changes(tiny_gpt, s, e, s["attention_mask"])[1] for s, e in _two_doc_samples(train, 8)
    ]
    assert all(leaks)


def test_empty_or_short_heldout_is_left_out_with_a_warning(packs: dict, tmp_path: Path):
    owner: dict[int, tuple] = {}
    _write_pack(tmp_path / "short" / "heldout", (3,), 3000, owner)  # 4 tokens < SEQ + 1
    _write_pack(tmp_path / "empty" / "heldout", (), 3000, owner)  # 0-byte .bin
    blend = json.loads(packs["blend"].read_text(encoding="utf-8"))
    blend["validation"] = {
        "short": str(tmp_path / "short" / "heldout"),
        "empty": str(tmp_path / "empty" / "heldout"),
        "dom-a": blend["validation"]["dom-a"],
    }
    path = tmp_path / "blend.json"
    path.write_text(json.dumps(blend), encoding="utf-8")
    args = {"seed": 1, "eod_mask_loss": True, "path_to_cache": None}
    with pytest.warns(UserWarning, match="no validation for '(empty|short)'") as record:
        _, valid = build_datasets(path, TinyTokenizer(), SEQ, num_samples={"train": 4}, **args)
    assert list(valid) == ["dom-a"]
    warned = [re.search(r"no validation for '([\w-]+)'", str(w.message)) for w in record]
    assert {m.group(1) for m in warned if m} == {"short", "empty"}
    # Asked to repeat it, the short held-out set gives samples.
    with pytest.warns(UserWarning, match="'empty'"):
        _, valid = build_datasets(
            path, TinyTokenizer(), SEQ, num_samples={"train": 4, "valid": 2}, **args
        )
    assert list(valid) == ["short", "dom-a"] and len(valid["short"]) >= 2
