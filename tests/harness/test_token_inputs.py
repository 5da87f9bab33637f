"""Token ids are valid as inputs and as labels at once."""

from __future__ import annotations

import torch
from transformers import CpmAntConfig, CpmAntForCausalLM

from hfscan.harness.inputs import build_inputs
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import templates


def test_ids_stay_inside_a_head_narrower_than_the_input_table():
    cfg, _ = tiny_config(CpmAntConfig)
    model = CpmAntForCausalLM(cfg).eval()
    table, head = model.get_input_embeddings().num_embeddings, model.get_output_embeddings().out_features
    assert head < table  # the input table also holds prompt embeddings the head does not predict
    inputs, _ = build_inputs(model, cfg, "causal-lm", templates()["default"])
    assert int(inputs["labels"].max()) < head
    with torch.no_grad():
        assert model(**inputs).loss.isfinite()
