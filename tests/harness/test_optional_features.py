"""Optional features that need an uninstalled package are switched off by config switches, not skipped."""

from __future__ import annotations

import importlib.util

import pytest
from transformers import CONFIG_MAPPING

from hfscan.harness.shrink import package_switches, tiny_config

#: Detection configs whose default backbone is built by timm, each also declaring a native default backbone.
TIMM_DEFAULT = ("detr", "conditional_detr", "dab-detr", "deformable_detr", "table-transformer", "omdet-turbo")

needs_no_timm = pytest.mark.skipif(importlib.util.find_spec("timm") is not None, reason="timm is installed here")


@needs_no_timm
def test_the_timm_switch_applies_only_while_timm_is_missing():
    assert package_switches() == ({"use_timm_backbone": False, "apply_layernorm_after_vision_backbone": False},
                                  {"backbone": None})


@needs_no_timm
@pytest.mark.parametrize("model_type", TIMM_DEFAULT)
def test_one_switch_moves_every_timm_default_backbone_to_the_native_one(model_type):
    config_class = CONFIG_MAPPING[model_type]
    assert config_class().backbone_config.model_type == "timm_backbone"  # what the default would need
    cfg, _ = tiny_config(config_class)
    assert cfg.backbone_config.model_type != "timm_backbone"
    assert cfg.backbone_config.model_type in CONFIG_MAPPING  # a backbone transformers builds itself


@needs_no_timm
def test_a_config_that_does_not_act_on_a_switch_is_left_without_it():
    cfg, _ = tiny_config(CONFIG_MAPPING["llama"])
    assert "use_timm_backbone" not in vars(cfg) and "use_timm_backbone" not in cfg.to_dict()
