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


def test_token_types_take_the_documented_number_per_token():
    from transformers import BertConfig, BertModel, TapasConfig, TapasModel

    tapas_cfg, _ = tiny_config(TapasConfig)
    tapas = TapasModel(tapas_cfg).eval()
    inputs, _ = build_inputs(tapas, tapas_cfg, "base", templates()["default"])
    assert inputs["token_type_ids"].shape == (*inputs["input_ids"].shape, len(tapas_cfg.type_vocab_sizes))
    with torch.no_grad():
        tapas(**inputs)
    bert_cfg, _ = tiny_config(BertConfig)
    inputs, _ = build_inputs(BertModel(bert_cfg), bert_cfg, "base", templates()["default"])
    assert inputs["token_type_ids"].shape == inputs["input_ids"].shape


def test_a_model_that_refuses_its_ids_takes_their_embeddings_as_its_text():
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    job = Job(model_type="qwen3_omni_moe_talker_code_predictor", model_class="Qwen3OmniMoeTalkerCodePredictorModel",
              task="base", checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message  # "`input_ids` is expected to be `None`"
    assert "input_ids" not in forward.detail["inputs"] and len(forward.detail["inputs"]["inputs_embeds"]) == 3
    assert forward.detail["modalities"]["fed"] == ["text"]
