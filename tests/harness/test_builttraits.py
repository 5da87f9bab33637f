"""Traits read from built models (meta device): experts per MoE layer, dense and MoE layers, queries per key/value
head, layer kinds per stack; what a tiny model may shrink and what it may not lose."""

from hfscan.harness.builttraits import EXPERTS, KINDS, KV, MLP, built_pair, built_traits, claims, lost
from hfscan.harness.fidelity import full_model


def _traits(model_class, config):
    return built_traits(full_model(model_class, config))


def test_experts_dense_and_moe_layers_and_key_value_sharing_are_read_from_the_modules():
    from transformers import DeepseekV3Config, DeepseekV3ForCausalLM

    config = DeepseekV3Config(num_hidden_layers=3, first_k_dense_replace=1, n_routed_experts=6, num_experts_per_tok=2,
                              hidden_size=32, intermediate_size=64, moe_intermediate_size=16, num_attention_heads=4,
                              num_key_value_heads=4, q_lora_rank=16, kv_lora_rank=16, qk_rope_head_dim=8,
                              qk_nope_head_dim=8, v_head_dim=8, vocab_size=64, n_group=1, topk_group=1)
    traits = _traits(DeepseekV3ForCausalLM, config)
    assert traits[EXPERTS] == (6,) and traits[MLP] == ("dense", "moe") and traits[KV] == (1,)
    assert traits[KINDS] == (("model.layers", 2),)
    config.first_k_dense_replace = 3  # every layer dense
    dense = _traits(DeepseekV3ForCausalLM, config)
    assert dense[EXPERTS] == () and dense[MLP] == ()
    assert lost(EXPERTS, traits[EXPERTS], dense[EXPERTS]) == "no MoE layer in the tiny model"
    assert "sparse_moe = True, but the built model has no MoE layer" in claims({"sparse_moe": True}, dense)[0]
    assert claims({"sparse_moe": True}, traits) == []


def test_sizes_shrink_but_kinds_stay():
    from transformers import LlamaConfig, LlamaForCausalLM

    small = dict(hidden_size=32, intermediate_size=64, vocab_size=64, num_hidden_layers=1)
    grouped = _traits(LlamaForCausalLM, LlamaConfig(num_attention_heads=8, num_key_value_heads=1, **small))
    fewer = _traits(LlamaForCausalLM, LlamaConfig(num_attention_heads=4, num_key_value_heads=1, **small))
    per_head = _traits(LlamaForCausalLM, LlamaConfig(num_attention_heads=4, num_key_value_heads=4, **small))
    assert grouped[KV] == (8,) and fewer[KV] == (4,) and per_head[KV] == (1,)
    assert lost(KV, grouped[KV], fewer[KV]) is None  # how many queries share: a size
    assert "became ['per-head']" in lost(KV, grouped[KV], per_head[KV])
    assert lost(EXPERTS, (256,), (4,)) is None and lost(MLP, ("dense", "moe"), ("moe",)) == "layer MLP kinds ['dense'] missing"
    assert lost(KINDS, (("model.layers", 2),), (("model.layers", 1),)) == "fewer layer kinds (model.layers: 2 -> 1)"
    assert claims({"text_config.gqa_ratio": 8.0}, per_head) and not claims({"gqa_ratio": 8.0}, fewer)


def test_sliding_and_global_layers_are_two_kinds_of_the_pair():
    from transformers import Gemma2Config, Gemma2ForCausalLM

    small = dict(hidden_size=32, intermediate_size=64, vocab_size=64, num_attention_heads=2, num_key_value_heads=1,
                 head_dim=16)
    full, tiny = (full_model(Gemma2ForCausalLM, Gemma2Config(num_hidden_layers=n, **small)) for n in (6, 2))
    full_traits, tiny_traits = built_pair(full, tiny)
    assert full_traits[KINDS] == tiny_traits[KINDS] == (("model.layers", 2),)
    one = full_model(Gemma2ForCausalLM, Gemma2Config(num_hidden_layers=2, layer_types=["full_attention"] * 2, **small))
    assert lost(KINDS, full_traits[KINDS], built_pair(full, one)[1][KINDS])
