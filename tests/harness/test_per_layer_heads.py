"""Key/value head counts given per layer follow the query heads' cap, each layer's grouping kept."""

from __future__ import annotations

from transformers import Sapiens2Config

from hfscan.harness.shrink import tiny_config


def test_per_layer_kv_heads_follow_the_capped_query_heads():
    original = Sapiens2Config()
    cfg, _ = tiny_config(Sapiens2Config)
    assert cfg.num_attention_heads < original.num_attention_heads
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads_per_layer
    assert len(kv) == cfg.num_hidden_layers and all(heads % k == 0 for k in kv)
    # each kept layer keeps its original grouping ratio (16 query heads over 16 or 8 kv heads: 1 and 2)
    ratios = {original.num_attention_heads // k for k in original.num_key_value_heads_per_layer}
    assert {heads // k for k in kv} == ratios
    assert heads % cfg.num_key_value_attention_heads == 0
