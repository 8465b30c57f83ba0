"""Tokenizer training, Megatron indexed-dataset packs and stage blends."""
