"""Layer kinds whose layers share one block's weights keep two layers in the cut stack."""

from __future__ import annotations

import torch
from transformers import ZambaConfig, ZambaForCausalLM

from hfscan.harness.shrink import _cut_pattern, tiny_config


def test_a_cut_pattern_keeps_a_second_layer_of_a_shared_kind():
    pattern = ["mamba", "mamba", "hybrid", "mamba", "hybrid", "mamba", "attention", "mamba"]
    assert _cut_pattern(pattern, 4) == ["mamba", "hybrid", "hybrid", "attention"]
    assert _cut_pattern(["a", "b", "a", "b"], 2) == ["a", "b"]  # kinds not sharing weights: one each


def test_hybrid_layers_tied_to_the_first_build_and_run():
    config, _ = tiny_config(ZambaConfig)
    assert config.layers_block_type.count("hybrid") == 2
    assert config.attention_hidden_size == 2 * config.hidden_size  # the hidden states joined with the embeddings
    model = ZambaForCausalLM(config).eval()  # ties every later hybrid layer's shared block to the first one's
    with torch.no_grad():
        logits = model(input_ids=torch.randint(0, config.vocab_size, (2, 6))).logits
    assert logits.shape == (2, 6, config.vocab_size) and torch.isfinite(logits).all()
