"""Config shapes of older transformers (4.50, the oldest supported): configs that are no dataclass, lists of
sub-configs, feature methods that require the config's values, composite configs without default sub-configs,
constructors that reject the package switches alone. Shown on 5.24 classes or small real configs of that shape;
the end-to-end ones run where transformers' configs are no dataclasses (4.x)."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect

import pytest
import torch
from transformers import BertConfig, Dinov2Config, EncoderDecoderConfig, LlavaConfig, PretrainedConfig
from transformers import VisionTextDualEncoderConfig

from hfscan.harness.inputs import Context
from hfscan.harness.inputs.placeholders import _config_args, _feature_input
from hfscan.harness.shrink import ShrinkReport, State, _documented_config, _init_fields, _instantiate, levels
from hfscan.harness.shrink import tiny_config

def older(test):
    """A test of a 4.x-only path: skipped on 5.x, run against transformers 4.50.3 by scripts/test.sh (-m transformers4)."""
    skip = pytest.mark.skipif(dataclasses.is_dataclass(Dinov2Config), reason="configs are dataclasses here (5.x)")
    return pytest.mark.transformers4(skip(test))


newer = pytest.mark.skipif(not dataclasses.is_dataclass(Dinov2Config), reason="configs are no dataclasses here (4.x)")
no_timm = pytest.mark.skipif(importlib.util.find_spec("timm") is not None, reason="timm is installed here")


class _OldStyle:
    """A config constructor as transformers 4.x writes them: plain keyword arguments, the rest passed on."""

    def __init__(self, hidden_size=32, head_dim=None, *args, **kwargs):
        self.hidden_size, self.head_dim = hidden_size, head_dim


def test_the_fields_of_a_config_that_is_no_dataclass_are_its_constructor_arguments():
    assert _init_fields(_OldStyle) == {"hidden_size": 32, "head_dim": None}
    assert _init_fields(BertConfig)["num_hidden_layers"] == 12  # a dataclass config: its init fields


def test_a_value_every_config_holds_is_left_alone_where_the_class_does_not_declare_it():
    cfg = _OldStyle()
    cfg.problem_type = "regression"  # set by the base config class on every config (4.x: generation's top_k too)
    state = State(levels()[0])
    state.set(cfg, "", "problem_type", None)
    state.set(cfg, "", "hidden_size", 8)
    assert (cfg.problem_type, cfg.hidden_size) == ("regression", 8)
    assert state.report().shrunk == [("hidden_size", 32, 8)]


def test_each_config_of_a_list_of_sub_configs_is_shrunk():
    cfg = BertConfig()
    cfg.priors = [BertConfig(), BertConfig(num_hidden_layers=6)]  # a config of several like stages (4.x Jukebox)
    tiny, report = tiny_config(cfg)
    assert [p.num_hidden_layers for p in tiny.priors] == [2, 2]
    assert ("priors.1.num_hidden_layers", 6, 2) in report.shrunk


def test_a_feature_method_gets_the_required_arguments_of_the_config_attribute_of_the_same_name():
    def get_image_features(pixel_values, vision_feature_layer, vision_feature_select_strategy, image_sizes):
        """4.50's llava signature: the caller passed the config's values."""

    ctx = Context(model=None, config=LlavaConfig(), task="", torch=None)
    params = dict(inspect.signature(get_image_features).parameters)
    given = {"image_sizes": object()}
    assert _config_args(ctx, params, given, skip=None) == {"vision_feature_layer": -2,
                                                          "vision_feature_select_strategy": "default"}
    assert "pixel_values" not in _config_args(ctx, params, {}, skip="pixel_values")


def test_a_composite_config_is_built_as_its_docstring_example_builds_it():
    report = ShrinkReport()
    cfg = _documented_config(EncoderDecoderConfig, report)
    assert (cfg.encoder.model_type, cfg.decoder.model_type) == ("bert", "bert")
    assert ("config_encoder", None, "bert") in report.shrunk
    dual = _documented_config(VisionTextDualEncoderConfig, ShrinkReport())
    assert (dual.vision_config.model_type, dual.text_config.model_type, dual.projection_dim) == ("vit", "bert", 512)
    assert _documented_config(BertConfig, ShrinkReport()) is None  # its example builds no sub-configs


class _NameBesideNativeBackbone(PretrainedConfig):
    """How 4.50's conditional DETR config validates: without timm its native backbone is built, but the timm
    checkpoint name it keeps beside it is rejected."""

    model_type = "hfscan-test-name-beside-native"
    use_timm_backbone: bool = True
    backbone: str | None = "resnet50"

    def __post_init__(self, **kwargs):
        if not self.use_timm_backbone and self.backbone is not None:
            raise ValueError("You can't specify both `backbone` and `backbone_config`.")
        super().__post_init__(**kwargs)


@newer
@no_timm
def test_a_constructor_that_rejects_the_switches_alone_gets_the_cleared_values_too():
    cfg = _instantiate(_NameBesideNativeBackbone, ShrinkReport())
    assert (cfg.use_timm_backbone, cfg.backbone) == (False, None)  # no checkpoint name left to fetch


@older
def test_a_backbone_that_is_no_dataclass_names_the_stages_of_its_cut_depth():
    cfg, _ = tiny_config(Dinov2Config)
    assert cfg.stage_names == ["stem"] + [f"stage{i}" for i in range(1, cfg.num_hidden_layers + 1)]
    assert cfg.out_features == [cfg.stage_names[i] for i in cfg.out_indices]


@older
def test_a_list_of_prior_configs_is_shrunk_end_to_end():
    from transformers import JukeboxConfig, JukeboxModel

    cfg, _ = tiny_config(JukeboxConfig)
    assert sum(p.numel() for p in JukeboxModel(cfg).parameters()) < 20_000_000  # 2.85 billion unshrunk


@older
@no_timm
def test_a_timm_checkpoint_name_beside_the_native_backbone_is_cleared_end_to_end():
    from transformers import ConditionalDetrConfig, ConditionalDetrForObjectDetection

    cfg, _ = tiny_config(ConditionalDetrConfig)
    assert (cfg.use_timm_backbone, cfg.backbone, cfg.backbone_config.model_type) == (False, None, "resnet")
    ConditionalDetrForObjectDetection(cfg)  # built offline: nothing fetched from the Hub


@older
def test_the_generation_top_k_of_a_config_that_is_no_dataclass_is_not_cut(tmp_path):
    from transformers import DbrxConfig

    cfg, _ = tiny_config(DbrxConfig)
    assert cfg.ffn_config.top_k == 50 and cfg.ffn_config.moe_top_k <= 2  # a mixture's own top-k is cut
    cfg.save_pretrained(tmp_path)
    DbrxConfig.from_pretrained(tmp_path)  # reloads: DbrxFFNConfig rejects unknown kwargs such as a changed top_k


@older
def test_the_rotary_sections_a_composite_without_text_config_leaves_unset_are_set_in_default_parameters():
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    assert Qwen2VLConfig().rope_scaling is None  # 4.50: a checkpoint sets {"type": "mrope", "mrope_section": ...}
    cfg, _ = tiny_config(Qwen2VLConfig)
    head = cfg.hidden_size // cfg.num_attention_heads
    assert cfg.rope_scaling["rope_type"] == "default" and sum(cfg.rope_scaling["mrope_section"]) == head // 2
    Qwen2VLForConditionalGeneration(cfg)


class _ImagesByOtherName(torch.nn.Module):
    def get_image_features(self, pixel_values_images, vision_feature_layer):
        """4.50's video_llava: the images come as pixel_values_images."""


def test_placeholders_stand_for_the_input_the_feature_method_takes_first():
    ctx = Context(model=_ImagesByOtherName(), config=LlavaConfig(), task="", torch=torch)
    ctx.built["pixel_values_images"] = torch.zeros(1)
    assert _feature_input(ctx, "image", "pixel_values") == "pixel_values_images"
    ctx.built["pixel_values"] = torch.zeros(1)
    assert _feature_input(ctx, "image", "pixel_values") == "pixel_values"  # the usual name, where it was built


def test_unset_rotary_parameters_that_the_model_code_reads_are_first_tried_as_the_plain_rotary():
    from hfscan.harness.configvals import candidates

    # 4.50's mllama text model: self.rope_type = config.rope_scaling["rope_type"], rope_scaling None by default
    assert candidates(BertConfig(), "rope_scaling")[0] == {"rope_type": "default"}
