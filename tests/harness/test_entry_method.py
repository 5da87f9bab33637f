"""A model class with no forward() of its own is run through its public generate, fed as its sub-model takes."""

from __future__ import annotations

import pytest
import torch
from transformers import BarkConfig, BarkModel, GPT2Config, GPT2LMHeadModel, Qwen2_5OmniConfig, \
    Qwen2_5OmniForConditionalGeneration

from hfscan.harness import smoke
from hfscan.harness.inputs import build_inputs, entry_name, fed_submodule, forward_params
from hfscan.harness.shrink import tiny_config


def _tiny(config_cls, model_cls):
    config, _ = tiny_config(config_cls)
    torch.manual_seed(0)
    return model_cls(config).eval()


def test_a_class_keeping_the_placeholder_forward_is_run_through_generate():
    bark = _tiny(BarkConfig, BarkModel)
    assert entry_name(bark) == "generate" and entry_name(BarkModel) == "generate"
    assert entry_name(_tiny(GPT2Config, GPT2LMHeadModel)) == "forward"
    assert fed_submodule(bark) is bark.semantic  # generate hands its input_ids to self.semantic.generate
    # the class's own generate runs (not nn.Module's placeholder): it needs the checkpoint's generation config
    inputs, _ = build_inputs(bark, bark.config, "base", smoke.templates()["default"])
    with pytest.raises(AttributeError, match="semantic_config"):
        smoke._run(bark, bark.config, inputs)


def test_the_entry_is_fed_every_modality_its_fed_submodel_takes():
    omni = _tiny(Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration)
    assert fed_submodule(omni) is omni.thinker  # self.thinker.generate(input_ids=input_ids, **thinker_kwargs)
    params = forward_params(omni)
    assert {"speaker", "thinker_max_new_tokens", "pixel_values", "input_features"} <= params.keys()
    inputs, report = build_inputs(omni, omni.config, "base", smoke.templates()["default"])
    assert set(report.fed) == {"text", "image", "video", "audio"}
    image_token = omni.config.thinker_config.image_token_id  # the thinker's placeholders, not another part's
    assert int((inputs["input_ids"] == image_token).sum()) > 0
