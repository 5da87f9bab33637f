"""Widths and channel lists derived from another part of the config follow it after shrinking."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from transformers import CONFIG_MAPPING, AutoBackbone, PretrainedConfig

from hfscan.harness.inputs import BATCH, build_inputs, mask_ids_name
from hfscan.harness.shrink import _dotted, tiny_config

needs_no_timm = pytest.mark.skipif(importlib.util.find_spec("timm") is not None, reason="timm is installed here")


def test_a_dotted_path_reads_a_list_item_by_index():
    cfg = PretrainedConfig(vision_config=None)
    cfg.vision_config = PretrainedConfig(out_channels=[16, 24, 320])
    assert _dotted(cfg, "vision_config.out_channels[-1]") == 320
    assert _dotted(cfg, "vision_config.out_channels[0]") == 16
    assert _dotted(cfg, "vision_config.missing[0]") is None


def test_a_width_that_was_the_last_stage_times_a_float_coefficient_stays_so():
    original = CONFIG_MAPPING["align"]()
    assert original.projection_dim == original.vision_config.out_channels[-1] * original.vision_config.width_coefficient
    cfg, report = tiny_config(CONFIG_MAPPING["align"])
    vision = cfg.vision_config
    assert cfg.projection_dim < original.projection_dim
    assert cfg.projection_dim == int(vision.out_channels[-1] * vision.width_coefficient)
    assert isinstance(cfg.projection_dim, int)


def test_a_width_that_was_a_code_constant_times_a_coefficient_stays_so():
    from transformers.models.efficientnet.modeling_efficientnet import round_filters

    original = CONFIG_MAPPING["efficientnet"]()
    assert original.hidden_dim == round_filters(original, 1280) == 1280 * original.width_coefficient
    cfg, report = tiny_config(CONFIG_MAPPING["efficientnet"])
    assert cfg.hidden_dim == round_filters(cfg, 1280)  # the top convolution's width, which its batch norm reads
    assert cfg.in_channels != original.in_channels  # the stack itself was cut


@needs_no_timm
def test_channel_lists_that_were_the_backbones_feature_widths_are_the_tiny_backbones():
    cfg, report = tiny_config(CONFIG_MAPPING["omdet-turbo"])
    with torch.device("meta"):
        channels = AutoBackbone.from_config(cfg.backbone_config).channels
    assert list(cfg.encoder_in_channels) == list(channels) != [192, 384, 768]
    assert "encoder_in_channels" in {path for path, _, _ in report.shrunk}


@needs_no_timm
def test_widths_equal_to_a_multiple_rules_base_follow_the_cut_base():
    original = CONFIG_MAPPING["omdet-turbo"](use_timm_backbone=False)
    assert original.class_embed_dim == 2 * original.decoder_hidden_dim == 2 * original.d_model
    cfg, _ = tiny_config(CONFIG_MAPPING["omdet-turbo"])
    assert cfg.class_embed_dim == 2 * cfg.decoder_hidden_dim  # the projection between them still exists
    assert cfg.d_model == cfg.decoder_hidden_dim  # it equalled the base, so it follows it
    assert set(cfg.vision_features_channels) == {cfg.decoder_hidden_dim}


class _Grounder(torch.nn.Module):
    def forward(self, classes_input_ids, classes_attention_mask, classes_structure):
        """
        Args:
            classes_input_ids (`torch.LongTensor` of shape `(total_classes, sequence_length)`):
                Classes, flattened.
            classes_attention_mask (`torch.BoolTensor` of shape `(total_classes, num_classes, sequence_length)`):
                Mask (documented with an axis too many).
            classes_structure (`torch.LongTensor` of shape `(batch_size)`):
                Number of classes of each sample.
        """
        return classes_input_ids


def test_a_required_mask_of_prefixed_ids_is_laid_out_as_those_ids_and_a_long_count_per_sample_is_whole():
    assert mask_ids_name("classes_attention_mask", {"classes_input_ids": 0}) == "classes_input_ids"
    assert mask_ids_name("classes_attention_mask", {"input_ids": 0}) is None
    assert mask_ids_name("pixel_values", {"pixel_input_ids": 0}) is None
    config = PretrainedConfig(vocab_size=16, num_classes=3)
    values, report = build_inputs(_Grounder(), config, "base", {}, with_labels=False)
    assert values["classes_attention_mask"].shape == values["classes_input_ids"].shape
    assert values["classes_structure"].dtype == torch.long and values["classes_structure"].tolist() == [1] * BATCH


def test_block_specs_cap_stages_of_specs_and_plain_lists_of_layer_specs():
    config_class = CONFIG_MAPPING["uvdoc"]
    cfg, _ = tiny_config(config_class)
    backbone = cfg.backbone_config
    assert all(len(stage) == 1 for stage in backbone.resnet_configs)  # a stage of specs keeps its first block
    widths = [x for stage in backbone.stage_configs for spec in stage for x in spec[:1]]
    assert max(widths) <= 32 < max(c for stage in config_class().backbone_config.stage_configs for c, _ in stage)
    # a plain list of [in, out] layer specs keeps every layer; the head reads what the bridge gives
    assert len(cfg.out_point_positions2D) == 2 and cfg.out_point_positions2D[0][0] == cfg.bridge_connector[1] <= 32
    assert backbone.depths == [len(stage) for stage in backbone.stage_configs]


def test_a_compound_scaled_stack_repeats_each_stage_once():
    assert CONFIG_MAPPING["align"]().vision_config.depth_coefficient > 1
    cfg, _ = tiny_config(CONFIG_MAPPING["align"])
    assert cfg.vision_config.depth_coefficient == 1.0
    repeats = sorted(cfg.vision_config.num_block_repeats)  # once a stage, twice in the deepest (its later kind)
    assert repeats[:-1] == [1] * (len(repeats) - 1) and repeats[-1] == 2
