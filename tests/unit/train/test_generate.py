"""Batched generation (generate.batch_size): left-padded batches give the same greedy replies as
one conversation at a time, on a small random Llama with the training chat template."""

from __future__ import annotations

import torch

from skyforge.config import GenerateConfig
from skyforge.train.chat import CHAT_TEMPLATE, END, ROLE_TOKENS
from skyforge.train.generate import generate_replies


def _model_and_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<s>", "</s>", "<pad>", *ROLE_TOKENS.values(), END]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(
        ["What is 12 + 30? 计算 7 加 15。 The capital of France is Paris."] * 4, trainer
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=128,
    )
    return LlamaForCausalLM(config).eval(), tokenizer


def test_batched_greedy_replies_equal_one_at_a_time():
    model, tokenizer = _model_and_tokenizer()
    prompts = ["What is 12 + 30?", "计算 7 加 15。", "Paris?", "The capital of France is", "12"]
    conversations = [[{"role": "user", "content": p}] for p in prompts]
    options = dict(prompts=prompts, max_new_tokens=12, temperature=0.0, top_p=0.9, seed=1)
    one = generate_replies(model, tokenizer, conversations, GenerateConfig(**options, batch_size=1))
    batched = generate_replies(
        model, tokenizer, conversations, GenerateConfig(**options, batch_size=3)
    )
    assert [r["reply"] for r in batched] == [r["reply"] for r in one]
    assert batched == one
    assert len({r["reply"] for r in one}) > 1  # the prompts matter: not one fixed output
