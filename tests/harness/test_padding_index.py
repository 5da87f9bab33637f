"""A model counting position ids from the padding index gets a pad_token_id where its config leaves it None."""

from __future__ import annotations

import torch
from transformers import EsmConfig, EsmForMaskedLM, LlamaConfig, LlamaForCausalLM

from hfscan.harness.inputs import build_inputs
from hfscan.harness.shrink import ShrinkReport, tiny_config
from hfscan.harness.smoke import _padding_index


def test_a_padding_offset_model_gets_the_lowest_free_pad_id_and_runs():
    config, _ = tiny_config(EsmConfig)
    assert config.pad_token_id is None
    report = ShrinkReport()
    _padding_index(config, EsmForMaskedLM, report)
    assert config.pad_token_id == 0 and ("pad_token_id", None, 0) in report.shrunk
    model = EsmForMaskedLM(config).eval()
    values, _ = build_inputs(model, config, "masked-lm", {}, with_labels=False)
    assert not (values["input_ids"] == config.pad_token_id).any()  # a special id: never drawn as a token
    with torch.no_grad():
        assert model(**values).logits.shape[:2] == values["input_ids"].shape


def test_other_models_keep_an_unset_pad_id():
    config, _ = tiny_config(LlamaConfig)
    assert config.pad_token_id is None
    _padding_index(config, LlamaForCausalLM, ShrinkReport())
    assert config.pad_token_id is None
