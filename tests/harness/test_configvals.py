"""Config values only a checkpoint sets: found in the failing code, filled generically (real tiny models)."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from transformers import CONFIG_MAPPING

from hfscan.harness import configvals, shrink
from hfscan.harness.configvals import Fills, candidates, unset_reads
from hfscan.harness.records import Job, Status
from hfscan.harness.smoke import run_job


def _error(build: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        build()
    return info.value


def _tiny(model_type: str, filled: dict | None = None) -> Any:
    return shrink.tiny_config(CONFIG_MAPPING[model_type], filled=filled)[0]


def _filled(job: Job) -> tuple[dict, dict]:
    """The job's results by check, and the values its build filled."""
    results = {r.check: r for r in run_job(job)}
    return results, json.loads(results["build"].details)["shrink"].get("filled", {})


def test_an_undeclared_attribute_is_read_from_the_attribute_error_and_follows_its_relation():
    """MoonshineStreamingDecoderLayer reads config.num_key_value_heads, which MoonshineStreamingConfig does not
    declare: the AttributeError names the config and attribute, and the `same` rule (kv heads follow the
    query heads) gives the value; the model then builds, runs and reloads."""
    from transformers import MoonshineStreamingForConditionalGeneration

    cfg = _tiny("moonshine_streaming")
    exc = _error(lambda: MoonshineStreamingForConditionalGeneration(cfg))
    assert unset_reads(exc, cfg) == [("", "num_key_value_heads", [])]
    assert candidates(cfg, "num_key_value_heads", cfg)[0] == cfg.num_attention_heads
    results, filled = _filled(Job(model_type="moonshine_streaming", task="seq2seq",
                                  model_class="MoonshineStreamingForConditionalGeneration",
                                  checks=("build", "forward", "save-load")))
    assert all(r.status == Status.PASSED for r in results.values()), [r.message for r in results.values()]
    assert filled == {"num_key_value_heads": cfg.num_attention_heads}


def test_a_qualified_width_takes_the_width_it_qualifies_and_undeclared_dropouts_their_default():
    """Qwen3-Omni's talker MoE reads shared_expert_intermediate_size (undeclared): the config's own
    intermediate_size. T5Gemma2's encoder reads dropout_rate that only its composite parent sets: the
    [checkpoint_values] value, on the sub-config that lacks it."""
    from transformers import T5Gemma2Encoder

    talker = _tiny("qwen3_omni_moe_talker_text")
    assert candidates(talker, "shared_expert_intermediate_size", talker)[0] == talker.intermediate_size
    cfg = _tiny("t5gemma2_encoder")
    exc = _error(lambda: T5Gemma2Encoder(cfg))
    assert [(p, a) for p, a, _ in unset_reads(exc, cfg)] == [("text_config.", "dropout_rate")]
    fills = Fills()
    assert fills.learn(exc, cfg)
    T5Gemma2Encoder(_tiny("t5gemma2_encoder", fills.as_config()))
    assert fills.as_config() == {"text_config": {"dropout_rate": 0.0}}


def test_a_sub_config_list_read_unset_in_the_failing_statement_gets_one_tiny_stage():
    """Sapiens2Head subscripts config.head_config.upsample_out_channels, None by default: the traceback's
    statement names it; its list[int] annotation gives one stage of a tiny width."""
    from transformers import Sapiens2ForSemanticSegmentation

    cfg = _tiny("sapiens2")
    exc = _error(lambda: Sapiens2ForSemanticSegmentation(cfg))
    assert [(p, a) for p, a, _ in unset_reads(exc, cfg)] == [("head_config.", "upsample_out_channels")]
    width = shrink.rules()["checkpoint_values"]["width"]
    assert candidates(cfg.head_config, "upsample_out_channels", cfg) == [[width]]


def test_values_bound_to_names_the_failing_statement_uses_are_found_in_its_function():
    """Qwen4-Exp's indexer computes self.token_budget // self.compress_ratio, both bound from unset config
    values earlier in __init__; a raise under `if sliding_window is None` (masking_utils) is traced to the
    getattr that bound it."""
    from transformers import Qwen4ExpForCausalLM

    cfg = _tiny("qwen4_exp_text")
    exc = _error(lambda: Qwen4ExpForCausalLM(cfg))
    assert {a for _, a, _ in unset_reads(exc, cfg)} == {"indexer_budget", "indexer_compress_ratio"}
    results, filled = _filled(Job(model_type="step3p5", model_class="Step3p7TextModel", task="base",
                                  checks=("build", "forward")))
    assert results["forward"].status == Status.PASSED, results["forward"].message
    assert filled == {"sliding_window": shrink.rules()["checkpoint_values"]["values"]["sliding_window"]}


def test_an_attribute_bound_in_init_and_read_in_forward_gets_a_value_of_its_annotated_type():
    """DbrxAttention clamps with self.clip_qkv, bound in __init__ from attn_config.clip_qkv (None,
    annotated int | float | None): found through the class's self assignments, filled with an int."""
    results, filled = _filled(Job(model_type="dbrx", model_class="DbrxForCausalLM", task="causal-lm",
                                  checks=("build", "forward")))
    assert results["forward"].status == Status.PASSED, results["forward"].message
    assert filled["attn_config.clip_qkv"] == shrink.rules()["checkpoint_values"]["int"][0]
    assert filled["attn_config.rope_theta"] == shrink.rules()["checkpoint_values"]["values"]["rope_theta"]


def test_documented_values_per_class_examples_and_item_shapes():
    """The config docstring tells what a value holds: one item per class (PP-DocLayoutV2's class thresholds and
    reading orders), a quoted example (Granite4Vision's "1/4" downsample rate), `[a, b]` items (its layer
    pairs); another config of the tree holds a value under the same name (the talker's spatial_merge_size)."""
    doc = _tiny("pp_doclayout_v2")
    assert candidates(doc, "class_thresholds", doc)[:2] == [[0.5] * doc.num_labels, [1.0] * doc.num_labels]
    assert candidates(doc, "class_order", doc)[0] == list(range(doc.num_labels))
    granite = _tiny("granite4_vision")
    assert candidates(granite, "downsample_rate", granite)[0] == "1/4"
    assert candidates(granite, "deepstack_layer_map", granite) == [[[0, 0]]]
    omni = _tiny("qwen3_omni_moe")
    assert candidates(omni.talker_config, "spatial_merge_size", omni)[0] == \
        omni.thinker_config.vision_config.spatial_merge_size


def test_a_callee_default_is_the_value_for_what_the_config_leaves_undeclared():
    """NemotronH-Omni passes audio_config.projection_bias as its projector's bias=, which defaults to False."""
    from transformers.models.nemotron_h_omni import modeling_nemotron_h_omni as m

    cfg = _tiny("nemotron_h_omni", {"audio_config": {"projection_hidden_size": 16}})
    model_class = next(c for n, c in vars(m).items() if n.endswith("Reasoning_V3"))
    exc = _error(lambda: model_class(cfg))
    assert unset_reads(exc, cfg) == [("audio_config.", "projection_bias", [False])]


def test_an_empty_list_the_failing_module_reads_is_the_last_resort():
    """LwDetrConfig's projector_scale_factors defaults to (): the model builds no feature level and forward
    fails concatenating nothing, where no statement reads the value; the module reads it, so it is filled
    (and the config's derived feature levels recomputed)."""
    results, filled = _filled(Job(model_type="lw_detr", model_class="LwDetrForObjectDetection",
                                  task="object-detection", checks=("build", "forward")))
    assert results["forward"].status == Status.PASSED, results["forward"].message
    assert filled == {"projector_scale_factors": [shrink.rules()["checkpoint_values"]["float"][0]]}


def test_the_next_candidate_is_tried_while_the_code_still_fails_on_a_filled_value():
    """A value filled from the first candidate that the code then reads and fails on again gets the next one;
    without candidates left (or unset reads) nothing changes."""
    cfg = _tiny("pp_doclayout_v2")

    def fails() -> None:
        config = cfg
        raise ValueError(config.class_thresholds)

    fills = Fills()
    assert fills.learn(_error(fails), cfg) and fills.values[("", "class_thresholds")] == [0.5] * cfg.num_labels
    cfg.class_thresholds = fills.values[("", "class_thresholds")]
    assert fills.learn(_error(fails), cfg) and fills.values[("", "class_thresholds")] == [1.0] * cfg.num_labels
    while fills.learn(_error(fails), cfg):  # the rest, then none left
        pass
    assert not fills.left[("", "class_thresholds")]
    assert not Fills().learn(_error(lambda: 1 / 0), cfg)
    assert configvals._kind("int | float | None") == "int" and configvals._kind("Optional[list[int]]") == "list[int]"


def test_an_undeclared_special_token_gets_a_free_id_of_the_vocabulary():
    """A special-token id the code reads but the config lacks (a checkpoint's config.json carries it) gets the
    highest id no special token of the config holds."""
    from transformers import LlamaForCausalLM

    cfg = _tiny("llama")
    model = LlamaForCausalLM(cfg)
    token = candidates(cfg, "vision_start_token_id", cfg, model)[0]
    assert token < cfg.vocab_size and token not in (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id)
    assert candidates(cfg, "vision_start_token_id", cfg) == []  # no model, no vocabulary to choose from


def test_self_attribute_targets_are_those_unparse_writes_self_dot():
    import ast
    import inspect

    import transformers.modeling_utils
    import transformers.models.bert.modeling_bert

    from hfscan.harness.configvals import _self_attribute

    sources = [inspect.getsource(transformers.modeling_utils), inspect.getsource(transformers.models.bert.modeling_bert),
               "self.a, b = 1, 2\n[self.a] = x\nself.a.b = 1\nself.x[0] = 1\nself[0].x = 1\nself = 1\n"
               "*self.a, b = x\nself.a = b = 1\nselfish.x = 1\n"]
    targets = [t for src in sources for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Assign) for t in n.targets]
    assert sum(map(_self_attribute, targets)) > 100
    assert [_self_attribute(t) for t in targets] == [ast.unparse(t).startswith("self.") for t in targets]
