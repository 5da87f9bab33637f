"""fidelity: the tiny model keeps every module class and layer kind of the full-size model of its class."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hfscan.harness import fidelity
from hfscan.harness.checks import CheckFailure
from hfscan.harness.fidelity import FidelitySkip, compare, layer_kind, layer_kinds, run_fidelity
from hfscan.harness.records import Status


class Attention(nn.Module):
    def __init__(self, sliding: bool, cross: bool = False):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.sliding_window = 8 if sliding else None
        self.is_cross_attention = cross


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(4, 4)


class Experts(nn.Module):
    def __init__(self):
        super().__init__()
        self.experts = nn.ModuleList(Mlp() for _ in range(2))


class Layer(nn.Module):
    def __init__(self, sliding: bool, sparse: bool = False, cross: bool = False):
        super().__init__()
        self.attn = Attention(sliding, cross)
        self.mlp = Experts() if sparse else Mlp()


class Net(nn.Module):
    def __init__(self, *layers: Layer):
        super().__init__()
        self.layers = nn.ModuleList(layers)


def test_a_layers_kind_names_its_class_children_and_path_values():
    kind = layer_kind(Layer(sliding=True))
    assert kind.startswith("Layer(Attention, Mlp)")
    assert "attn.sliding_window:set" in kind and "attn.is_cross_attention=False" in kind
    assert layer_kind(Layer(sliding=False)) != kind
    assert layer_kind(Layer(sliding=True, cross=True)) != kind
    assert set(layer_kinds(Net(Layer(True), Layer(True, sparse=True)))) == {"layers", "layers.*.mlp.experts"}


def test_the_same_kinds_at_another_depth_are_faithful():
    full = Net(*(Layer(i % 2 == 0, sparse=i > 0) for i in range(8)))
    tiny = Net(Layer(True, sparse=True), Layer(False, sparse=True), Layer(True))
    result = compare(full, tiny)
    assert result.ok, result.message()
    assert result.details()["layer_kinds"][0] == result.details()["layer_kinds"][1]


def test_a_dropped_layer_kind_and_a_dropped_module_class_are_named():
    full = Net(Layer(False), Layer(True, sparse=True))
    result = compare(full, Net(Layer(False), Layer(True)))  # the sparse layer (its experts) is gone
    assert not result.ok
    assert result.missing_classes == ["Experts"]
    assert list(result.missing_kinds) == ["layers", "layers.*.mlp.experts"]
    assert "Experts" in result.message()
    result = compare(full, Net(Layer(True, sparse=True), Layer(True, sparse=True)))  # the global layer is gone
    assert result.missing_classes == [] and "attn.sliding_window:unset" in result.missing_kinds["layers"][0]


class NeedsValues(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.steps = int(torch.arange(3).sum().item())  # a value read in __init__: no meta tensor has one


def test_a_class_that_cannot_be_built_on_meta_is_a_skip_with_the_reason():
    with pytest.raises(FidelitySkip, match="could not build the full model on meta"):
        fidelity.full_model(NeedsValues, None)


def test_the_signature_data_file_is_validated():
    rules = fidelity.signature_rules()
    assert "sliding_window" in rules["presence"] and "attention_type" in rules["values"]


def _attempt(model_type: str, inventory):
    from hfscan.harness import smoke

    [job] = smoke.plan_jobs(inventory.get(model_type), checks=("build", "fidelity"))
    from hfscan.harness.shrink import levels

    a = smoke._attempt(job, levels()[0], None)
    assert a.model is not None, a.error
    return job, a


@pytest.mark.slow
def test_removing_one_layer_kind_from_a_real_tiny_model_fails_fidelity(inventory):
    job, a = _attempt("gemma3_text", inventory)
    details = run_fidelity(job, a)  # sliding and full attention layers both kept
    assert details["layer_kinds"][0] == details["layer_kinds"][1] and details["stacks"] >= 1
    layers = a.model.model.layers
    kinds = [layer_kind(layer, len(layers)) for layer in layers]
    assert len(set(kinds)) >= 2
    a.model.model.layers = nn.ModuleList([layer for layer, k in zip(layers, kinds) if k == kinds[0]])
    with pytest.raises(CheckFailure) as failure:
        run_fidelity(job, a)
    assert "layer kinds missing: model.layers" in str(failure.value)
    assert failure.value.observed["missing_kinds"]["model.layers"]


@pytest.mark.slow
def test_fidelity_is_a_result_of_every_job(inventory):
    from hfscan.harness import smoke

    [job] = smoke.plan_jobs(inventory.get("llama"), checks=("build", "forward", "fidelity"))
    results = {r.check: r for r in smoke.run_job(job)}
    assert results["fidelity"].status == Status.PASSED, results["fidelity"].message
    counts = results["fidelity"].detail["fidelity"]
    assert counts["module_classes"][0] == counts["module_classes"][1] > 5


def test_a_checkpoint_config_whose_tiny_copy_loses_its_sparse_layers_fails():
    from transformers import DeepseekV3Config, DeepseekV3ForCausalLM

    sizes = dict(hidden_size=32, intermediate_size=64, moe_intermediate_size=16, num_attention_heads=2,
                 num_key_value_heads=2, n_routed_experts=4, num_experts_per_tok=2, n_group=2, topk_group=1,
                 kv_lora_rank=8, q_lora_rank=8, qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=8, vocab_size=64)
    full = DeepseekV3Config(num_hidden_layers=4, first_k_dense_replace=1, **sizes)
    assert fidelity.compare_configs(DeepseekV3ForCausalLM, full, DeepseekV3Config(
        num_hidden_layers=2, first_k_dense_replace=1, **sizes)).ok
    lost = fidelity.compare_configs(DeepseekV3ForCausalLM, full, DeepseekV3Config(
        num_hidden_layers=2, first_k_dense_replace=2, **sizes))  # "first k dense" at the cut depth: no MoE left
    assert not lost.ok and "DeepseekV3MoE" in lost.missing_classes


class Grouped(nn.Module):
    def __init__(self, heads: int, kv: int):
        super().__init__()
        self.q = nn.Linear(4, 4)
        self.num_heads, self.num_key_value_heads = heads, kv


def test_shared_key_value_heads_are_a_kind_of_their_own_but_how_many_share_is_a_size():
    wrap = lambda *attn: nn.Sequential(*(nn.Sequential(a) for a in attn))  # noqa: E731
    assert compare(wrap(Grouped(28, 4)), wrap(Grouped(4, 1))).ok  # 7 per kv head -> 4 per kv head
    lost = compare(wrap(Grouped(71, 1)), wrap(Grouped(4, 4)))  # multi-query shrunk to one kv head per query
    assert not lost.ok and "kv_heads:shared" in next(iter(lost.missing_kinds.values()))[0]


def test_a_value_the_defaults_leave_unset_is_taken_from_the_shrinker_only_where_unset():
    from transformers import AutoformerConfig

    assert fidelity.full_config(AutoformerConfig).prediction_length is None  # the model cannot be built so
    cfg = fidelity.full_config(AutoformerConfig, set_unset=[("prediction_length", None, 4), ("d_model", 64, 16)])
    assert cfg.prediction_length == 4 and cfg.d_model == 64  # a size the shrinker cut stays full
