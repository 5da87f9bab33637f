"""The one view of a config tree: paths, parts by modality, special tokens."""

from __future__ import annotations

import pytest
from transformers import BertConfig, LlavaConfig, WhisperConfig

from hfscan.harness import configtree as T
from hfscan.harness.inputs import Context


def test_walk_gives_every_config_with_its_path_and_list_items_by_index():
    cfg = LlavaConfig()
    cfg.priors = [BertConfig(), BertConfig()]
    paths = [p for p, _ in T.walk(cfg)]
    assert sorted(paths) == ["", "priors.0.", "priors.1.", "text_config.", "vision_config."] and paths[0] == ""
    assert dict(T.config_tree(cfg))["text_config."] is cfg.text_config


def test_parts_by_modality_and_sub():
    cfg = LlavaConfig()
    assert T.parts(cfg, "vision") == [cfg.vision_config] and T.parts(cfg, "audio") == []
    assert T.sub(cfg, "text_config") is cfg.text_config and T.sub(cfg, "model_type") is None
    assert T.text_config(cfg) is cfg.text_config and T.text_config(BertConfig()).model_type == "bert"


@pytest.mark.parametrize("config_class", [LlavaConfig, WhisperConfig, BertConfig])
@pytest.mark.parametrize("where", ["any", "text", "vision", "audio"])
def test_input_builders_look_values_up_nearest_first(config_class, where):
    """inputs.Context.find returns the value of the first config of nearest_first that sets it: the modality's
    parts first, then the root and its sub-configs breadth first."""
    cfg = config_class()
    order = list(T.nearest_first(cfg, where))
    assert order[0] is (T.parts(cfg, where) or [cfg])[0] and len({id(c) for c in order}) == len(order)
    ctx = Context(model=None, config=cfg, task="base", torch=None)
    for name in ("hidden_size", "d_model", "vocab_size", "image_size", "num_mel_bins", "no_such_attribute"):
        first = next((getattr(c, name) for c in order if getattr(c, name, None) is not None), "default")
        assert ctx.find(name, default="default", where=where) == first


def test_input_builders_special_ids_are_the_trees_token_ids():
    cfg = LlavaConfig()
    cfg.text_config.eos_token_id = [7, 9]
    ctx = Context(model=None, config=cfg, task="base", torch=None)
    assert ctx.special_ids() == T.token_ids(T.config_tree(cfg)) and {7, 9, cfg.image_token_id} <= ctx.special_ids()


def test_special_tokens_one_definition():
    cfg = LlavaConfig()
    cfg.text_config.eos_token_id = [7, 9]
    cfg.text_config.bos_token_id = None
    tokens = T.special_tokens(cfg.text_config)
    assert tokens["eos_token_id"] == [7, 9] and "bos_token_id" not in tokens
    assert {7, 9, cfg.image_token_id} <= T.token_ids(T.config_tree(cfg))
    assert T.is_placeholder_token("image_token_index") and not T.is_placeholder_token("pad_token_id")
    assert all(s in T.TOKEN_SUFFIXES for s in T.TOKEN_ID_SUFFIXES) and "_token_ids" not in T.TOKEN_ID_SUFFIXES


def test_dotted_reads_stored_values_and_list_items():
    cfg = LlavaConfig()
    assert T.dotted(cfg, "vision_config.hidden_size") == cfg.vision_config.hidden_size
    assert T.dotted(cfg, "vision_config.no_such") is None and T.dotted(cfg, "model_type[0]") is None


def test_widths_depths_and_vocabularies_are_the_shrink_rules_names():
    assert "hidden_size" in T.width_attrs() and "num_hidden_layers" in T.depth_attrs()
    assert "vocab_size" in T.vocab_attrs() and T.vocab_sizes(BertConfig()) == [30522]
