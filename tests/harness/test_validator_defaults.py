"""A config class whose defaults fail its own validator gets the values the validator names."""

from __future__ import annotations

import pytest
from transformers import Gemma4AssistantConfig, Gemma4AssistantForCausalLM, LlamaConfig

from hfscan.harness.shrink import ShrinkReport, _validator_defaults, tiny_config


def test_the_values_a_validator_names_are_set_on_the_sub_config_declaring_them():
    with pytest.raises(Exception, match="must be 0, got"):
        Gemma4AssistantConfig()  # upstream: the default text config breaks the assistant's own validator
    report = ShrinkReport()
    kwargs = _validator_defaults(Gemma4AssistantConfig, report)
    assert kwargs == {"text_config": {"hidden_size_per_layer_input": 0, "vocab_size_per_layer_input": 0}}
    assert ("text_config.hidden_size_per_layer_input", "256", 0) in report.shrunk
    config, _ = tiny_config(Gemma4AssistantConfig)
    assert config.text_config.hidden_size_per_layer_input == 0
    assert sum(p.numel() for p in Gemma4AssistantForCausalLM(config).parameters()) > 0


def test_defaults_that_pass_their_validators_are_left_alone():
    report = ShrinkReport()
    assert _validator_defaults(LlamaConfig, report) == {} and not report.shrunk
