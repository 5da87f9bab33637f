"""The consistency checks on real tiny models: each passes on a sound model and FAILS on one deliberately broken
(an attention path perturbed, samples that leak into each other, a cache that drops a step, NaN gradients, a layer
that computes otherwise under gradient checkpointing, half precision that drifts), so none passes vacuously."""

from __future__ import annotations

import pytest

from hfscan.harness.consistency.compare import assert_close, compare
from hfscan.harness.records import Job, Status
from hfscan.harness.smoke import run_job

BERT = ("bert", "BertForMaskedLM", "masked-lm", "text-encoder")
GPT2 = ("gpt2", "GPT2LMHeadModel", "causal-lm", "causal-lm")
LLAMA = ("llama", "LlamaForCausalLM", "causal-lm", "causal-lm")


def _result(model: tuple, check: str):
    model_type, cls, task, template = model
    job = Job(model_type, cls, task, checks=("build", "forward", check), template=template)
    return {r.check: r for r in run_job(job)}[check]


@pytest.fixture
def global_hook():
    """Registers a global forward hook (torch's public API) for one test and removes it after."""
    import torch

    handles = []
    yield lambda fn: handles.append(torch.nn.modules.module.register_module_forward_hook(fn))
    for h in handles:
        h.remove()


def _first(output):
    return output[0] if isinstance(output, tuple) else output


# -- compare ---------------------------------------------------------------------------------------------------------

def test_compare_gives_the_largest_difference_and_where():
    import torch

    ref = {"logits": torch.zeros(2, 3, 4), "pooled": torch.ones(2)}
    out = {"logits": torch.zeros(2, 3, 4), "pooled": torch.ones(2)}
    out["logits"][1, 2, 3] = 0.5
    diff, problem = compare(ref, out, atol=1e-3, rtol=0)
    assert diff.abs == 0.5 and diff.where == "logits[1, 2, 3]" and diff.compared == 2
    assert "max abs diff 0.5" in problem and "logits[1, 2, 3]" in problem
    with pytest.raises(AssertionError, match=r"sdpa: max abs diff 0\.5 .* at logits\[1, 2, 3\]"):
        assert_close(ref, out, 1e-3, 0, "sdpa", "attention")
    assert compare(ref, ref, 0, 0)[1] is None
    out["pooled"] = torch.tensor([1.0, float("nan")])
    assert "pooled[1] is nan" in compare(ref, out, 1, 1)[1]
    assert "one side only" in compare(ref, {"logits": ref["logits"]}, 1, 1)[1]


def test_compare_leaves_out_masked_positions():
    import torch

    ref, out = torch.zeros(2, 4), torch.zeros(2, 4)
    out[1, 3] = 9.0
    keep = torch.ones(2, 4, dtype=torch.bool)
    keep[1, 3] = False
    assert compare(ref, out, 0, 0, positions=lambda name, t: keep)[1] is None
    assert compare(ref, out, 0, 0)[1] is not None


# -- attention -------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_attention_passes_and_records_declared_implementations():
    r = _result(BERT, "attention")
    assert r.status == Status.PASSED, r.message
    seen = r.detail["attention"]
    assert seen["padded"] and seen["declared"]["_supports_sdpa"] is True
    assert seen["implementations"]["sdpa"]["observed"].startswith("matches eager")


@pytest.mark.slow
def test_attention_fails_when_the_sdpa_path_is_perturbed(monkeypatch):
    from transformers.modeling_utils import AttentionInterface

    original = AttentionInterface._global_mapping["sdpa"]

    def perturbed(*args, **kwargs):
        out, weights = original(*args, **kwargs)
        return out + 0.05, weights

    monkeypatch.setitem(AttentionInterface._global_mapping, "sdpa", perturbed)
    r = _result(BERT, "attention")
    assert r.status == Status.FAILED and r.stage == "attention"
    assert "declares sdpa: differs from eager" in r.message and "max abs diff" in r.message
    [found] = r.detail["attention"]["mismatches"]
    assert found["flag"] == "_supports_sdpa" and found["declared"] is True


def test_attention_leaves_out_attention_weights_only_eager_returns():
    import torch

    from hfscan.harness.consistency.attention import _values

    out = {"logits": torch.ones(2), "attentions": (torch.ones(1),), "image_outputs": {"projection_attentions": torch.ones(1),
                                                                                       "last_hidden_state": torch.ones(1)}}
    assert set(_values(out)) == {"logits", "image_outputs.last_hidden_state"}


# -- batch -----------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("model,side", [(BERT, "right"), (GPT2, "left")])
def test_batch_passes_with_padding_on_the_side_the_model_reads(model, side):
    r = _result(model, "batch")
    assert r.status == Status.PASSED, r.message
    assert r.detail["batch"]["padded"] == side


@pytest.mark.slow
def test_batch_fails_when_samples_leak_into_each_other(global_hook):
    import torch

    def leak(module, args, output):  # every embedding row sees the batch's mean: a sample is not alone
        if isinstance(module, torch.nn.Embedding) and output.dim() == 3:
            return output + 0.5 * output.mean(0, keepdim=True)
        return None

    global_hook(leak)
    r = _result(BERT, "batch")
    assert r.status == Status.FAILED and r.stage == "batch"
    assert "alone vs in the batch" in r.message and "max abs diff" in r.message


@pytest.mark.slow
def test_batch_records_a_pooler_that_reads_a_padded_position(global_hook):
    import torch

    def last_position(module, args, output):  # pools the last position, as a max-length-padded text tower does
        if type(module).__name__.endswith("Pooler"):
            return torch.tanh(args[0][:, -1])
        return None

    global_hook(last_position)
    r = _result(("bert", "BertModel", "base", "text-encoder"), "batch")
    assert r.status == Status.PASSED, r.message
    seen = r.detail["batch"]
    assert seen["padded"] == "right" and "pooler_output" in seen["pooled_over_padding"]["1"]


@pytest.mark.slow
def test_batch_still_fails_when_a_pooler_reads_padding_and_the_sequence_leaks(global_hook):
    import torch

    def leak(module, args, output):  # the padded tokens reach every position: the mask is not honoured
        if isinstance(module, torch.nn.Embedding) and output.dim() == 3:
            return output + 0.5 * output.mean(1, keepdim=True)
        return None

    global_hook(leak)
    r = _result(("bert", "BertModel", "base", "text-encoder"), "batch")
    assert r.status == Status.FAILED and "sample 1 alone vs in the batch" in r.message


@pytest.mark.slow
def test_batch_is_not_applicable_when_every_output_is_random(global_hook):
    import torch

    def noise(module, args, output):  # a latent sampled for the whole batch: no sample has it alone
        if isinstance(module, torch.nn.Embedding) and output.dim() == 3:
            return output + torch.randn_like(output)
        return None

    global_hook(noise)
    r = _result(BERT, "batch")
    assert r.status == Status.SKIPPED and "random: logits" in r.message


@pytest.mark.slow
def test_batch_pads_a_decoder_that_takes_no_position_ids_on_the_right():
    r = _result(("trocr", "TrOCRForCausalLM", "causal-lm", "image-text-to-text"), "batch")
    assert r.status == Status.PASSED, r.message
    assert r.detail["batch"]["padded"] == "right"


def test_batch_leaves_out_losses_and_outputs_that_change_with_the_seed():
    import torch

    from hfscan.harness.consistency.batch import _not_comparable

    batched = {"loss": torch.tensor(1.0), "commit_loss": torch.ones(2), "logits": torch.ones(2, 3),
               "latents": torch.ones(2, 4)}
    seen: dict = {}
    skipped = _not_comparable(batched, {**batched, "latents": torch.zeros(2, 4)}, seen)
    assert skipped == {"loss", "commit_loss", "latents"} and seen["random"] == ["latents"]


def test_batch_takes_the_output_of_a_model_that_drops_a_batch_axis_of_one():
    import torch

    from hfscan.harness.consistency.batch import _alone, _compare

    row = torch.ones(5)
    assert torch.equal(_alone(torch.ones(1, 5), row), row) and torch.equal(_alone(torch.ones(5), row), row)
    assert _alone(torch.ones(1, 4), row) is None

    class Tol:
        atol, rtol = 1e-4, 1e-3

    codes = torch.arange(4)
    assert _compare({"codes": codes}, {"codes": codes.clone()}, Tol)[1] is None
    assert _compare({"codes": codes}, {"codes": codes.flip(0)}, Tol)[1] == "output codes differs"


# -- cache -----------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cache_passes_for_each_cache_kind_the_class_supports():
    r = _result(LLAMA, "cache")
    assert r.status == Status.PASSED, r.message
    kinds = r.detail["cache"]["kinds"]
    assert set(kinds) == {"default", "static"} and kinds["static"]["cache"].startswith("StaticCache")
    assert r.detail["cache"]["generate"]["same"] is True


@pytest.mark.slow
def test_cache_fails_when_the_cache_drops_a_step(monkeypatch):
    from transformers.cache_utils import DynamicLayer

    original = DynamicLayer.update

    def forgetful(self, key_states, value_states, *args, **kwargs):
        if key_states.shape[-2] == 1 and getattr(self, "is_initialized", False):  # a decoding step: not stored
            import torch

            return torch.cat([self.keys, key_states], -2)[..., :-1, :], torch.cat([self.values, value_states], -2)[..., :-1, :]
        return original(self, key_states, value_states, *args, **kwargs)

    monkeypatch.setattr(DynamicLayer, "update", forgetful)
    r = _result(GPT2, "cache")
    assert r.status == Status.FAILED and r.stage == "cache"
    assert "default cache" in r.message and "vs one forward" in r.message


@pytest.mark.slow
def test_cache_feeds_a_step_the_image_inputs_the_model_reads_at_every_step():
    r = _result(("kosmos-2", "Kosmos2ForConditionalGeneration", "image-text-to-text", "image-text-to-text"), "cache")
    assert r.status == Status.PASSED, r.message
    assert r.detail["cache"]["kinds"]["default"]["cache"].startswith("DynamicCache")


@pytest.mark.slow
def test_cache_gives_a_model_that_makes_no_cache_one_as_generate_does(monkeypatch):
    from transformers import DynamicCache
    from transformers.models.llama import modeling_llama

    made = []
    original = DynamicCache.__init__

    def counted(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    # the model makes none of its own: forward's DynamicCache is refused, as granite4_vision's language model makes none
    monkeypatch.setattr(modeling_llama, "DynamicCache", lambda *a, **k: None)
    monkeypatch.setattr(DynamicCache, "__init__", counted)
    r = _result(LLAMA, "cache")
    assert r.status == Status.PASSED, r.message
    assert made and r.detail["cache"]["kinds"]["default"]["cache"].startswith("DynamicCache")


def test_cache_keeps_modality_placeholders_out_of_generate():
    from transformers import LlavaConfig

    from hfscan.harness.consistency.cache import _placeholders

    assert _placeholders(LlavaConfig(image_token_id=7)) == [7]


# -- backward --------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_backward_passes_with_checkpointing_equal():
    r = _result(BERT, "backward")
    assert r.status == Status.PASSED, r.message
    seen = r.detail["backward"]
    assert seen["loss"] == "loss" and seen["parameters"] > 0 and "checkpointing" in seen


@pytest.mark.slow
def test_backward_fails_on_nan_gradients(global_hook):
    import torch

    def poison(module, args, output):
        t = _first(output)
        if isinstance(module, torch.nn.Linear) and module.training and t.requires_grad:
            t.register_hook(lambda g: g * float("nan"))
        return None

    global_hook(poison)
    r = _result(BERT, "backward")
    assert r.status == Status.FAILED and r.stage == "backward"
    assert "is not finite" in r.message


@pytest.mark.slow
def test_backward_fails_when_a_layer_computes_otherwise_under_checkpointing(global_hook):
    from transformers.modeling_layers import GradientCheckpointingLayer

    def drift(module, args, output):  # a checkpointed layer's output scaled
        if isinstance(module, GradientCheckpointingLayer) and module.gradient_checkpointing and module.training:
            t = _first(output)
            return (t * 1.5, *output[1:]) if isinstance(output, tuple) else t * 1.5
        return None

    global_hook(drift)
    r = _result(BERT, "backward")
    assert r.status == Status.FAILED and "gradient checkpointing differ" in r.message
    assert r.detail["backward"]["mismatches"][0]["flag"] == "supports_gradient_checkpointing"


# -- dtype -----------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_dtype_passes_in_bfloat16():
    r = _result(BERT, "dtype")
    assert r.status == Status.PASSED, r.message
    assert r.detail["dtype"]["dtype"] == "bfloat16"


def _bf16_linear_drift(module, args, output):
    """A forward hook that moves every bfloat16 Linear output by 0.5: half precision made to drift."""
    import torch

    if isinstance(module, torch.nn.Linear) and isinstance(output, torch.Tensor) and output.dtype == torch.bfloat16:
        return output + 0.5
    return None


@pytest.mark.slow
def test_dtype_fails_when_half_precision_drifts(global_hook):
    global_hook(_bf16_linear_drift)
    r = _result(BERT, "dtype")
    assert r.status == Status.FAILED and r.stage == "dtype"
    assert "bfloat16 vs float32" in r.message and "max abs diff" in r.message


def test_to_half_keeps_the_modules_the_class_pins_in_float32():
    import torch
    from transformers import BertConfig, BertModel

    from hfscan.harness.consistency.common import to_half

    model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
                                 vocab_size=99))
    model._keep_in_fp32_modules_strict = {"pooler"}
    model._keep_in_fp32_modules = {"encoder.*.output.dense"}
    bf16 = to_half(model, torch.bfloat16)
    assert bf16.pooler.dense.weight.dtype == torch.float32
    assert bf16.encoder.layer[0].output.dense.weight.dtype == torch.bfloat16  # _keep_in_fp32_modules: float16 only
    assert bf16.embeddings.word_embeddings.weight.dtype == torch.bfloat16
    fp16 = to_half(model, torch.float16)
    assert fp16.encoder.layer[0].output.dense.weight.dtype == torch.float32
    assert model.pooler.dense.weight.dtype == torch.float32 and model.embeddings.word_embeddings.weight.dtype == \
        torch.float32  # the original untouched


@pytest.mark.slow
def test_dtype_passes_where_the_class_pins_its_router_in_float32():
    r = _result(("inkling2_text", "Inkling2ForCausalLM", "causal-lm", "causal-lm"), "dtype")
    assert r.status == Status.PASSED, r.message


@pytest.mark.slow
def test_dtype_fails_where_the_class_pins_modules_but_half_precision_drifts(global_hook):
    global_hook(_bf16_linear_drift)
    r = _result(("inkling2_text", "Inkling2ForCausalLM", "causal-lm", "causal-lm"), "dtype")
    assert r.status == Status.FAILED and "bfloat16 vs float32" in r.message


@pytest.mark.slow
@pytest.mark.parametrize("check", ["dtype", "backward"])
def test_consistency_runs_with_the_forwards_use_cache(check):
    """xLSTM's forward with its default use_cache=True builds a cache sized for one batch layout; the checks run
    with the forward's use_cache=False, as the forward check did."""
    r = _result(("xlstm", "xLSTMForCausalLM", "causal-lm", "causal-lm"), check)
    assert r.status == Status.PASSED, r.message


GLM_IMAGE = Job(model_type="glm_image", model_class="GlmImageModel", task="base", checks=("build", "forward", "dtype"))


@pytest.mark.slow
def test_dtype_judges_a_model_against_what_rounding_alone_moves():
    """GLM-Image's tiny model moves its hidden states by 29% of their norm in bfloat16, and by as much with only its
    weights and inputs rounded to bfloat16 and every operation in float32: the arithmetic adds nothing; within
    tolerance."""
    r = {r.check: r for r in run_job(GLM_IMAGE)}["dtype"]
    assert r.status == Status.PASSED, r.message
    seen = r.detail["dtype"]
    assert seen["relative_error"] > 5e-2 and seen["relative_error"] <= seen["tolerance"] <= 3 * seen["rounding_error"]


@pytest.mark.slow
def test_dtype_still_fails_a_sensitive_model_whose_half_precision_drifts(global_hook):
    global_hook(_bf16_linear_drift)
    r = {r.check: r for r in run_job(GLM_IMAGE)}["dtype"]
    assert r.status == Status.FAILED and "rounding weights and inputs alone" in r.message, r.message


@pytest.mark.slow
def test_dtype_records_integer_outputs_and_skips_a_model_with_only_integer_outputs():
    r = {r.check: r for r in run_job(Job(model_type="wavtokenizer_encoder", model_class="WavTokenizerEncoderModel",
                                         task="base", checks=("build", "forward", "dtype")))}["dtype"]
    assert r.status == Status.SKIPPED and "all integer" in r.message


def test_backward_surrogate_loss_leaves_out_masked_fills_but_not_nan():
    import torch

    from hfscan.harness.consistency.backward import _mean_unmasked

    t = torch.tensor([1.0, 3.0, torch.finfo(torch.float32).min, float("-inf")], requires_grad=True)
    loss = _mean_unmasked(t)
    assert loss.item() == 2.0
    loss.backward()
    assert torch.isfinite(t.grad).all()
    assert torch.isnan(_mean_unmasked(torch.tensor([1.0, float("nan"), float("-inf")])))


def _backward_of(model_type: str, cls: str, task: str):
    from hfscan.harness.overrides import load_overrides

    override = load_overrides().get(model_type)  # the shipped entry the planner gives the job (chameleon's map)
    job = Job(model_type=model_type, model_class=cls, task=task, checks=("build", "forward", "backward"),
              override=override.to_json() if override else None)
    return {r.check: r for r in run_job(job)}["backward"]


@pytest.mark.slow
def test_backward_trains_a_model_whose_logits_carry_masked_fills():
    """Chameleon fills the logits of its image tokens with finfo.min (never predicted): their mean overflowed to
    -inf; the surrogate loss leaves the fills out."""
    r = _backward_of("chameleon", "ChameleonForConditionalGeneration", "image-text-to-text")
    assert r.status == Status.PASSED, r.message


@pytest.mark.slow
def test_backward_still_fails_a_masked_model_whose_output_is_nan(global_hook):
    import torch

    def poison(module, args, output):
        if isinstance(module, torch.nn.Linear) and module.training and isinstance(output, torch.Tensor):
            return output * float("nan")
        return None

    global_hook(poison)
    r = _backward_of("chameleon", "ChameleonForConditionalGeneration", "image-text-to-text")
    assert r.status == Status.FAILED and r.stage == "backward", r.message


@pytest.mark.slow
def test_backward_does_not_apply_to_a_frozen_model():
    r = _backward_of("flava_image_codebook", "FlavaImageCodebook", "base")
    assert r.status == Status.SKIPPED and "frozen" in r.message


def test_dtype_records_integer_outputs_and_compares_the_floating_ones():
    import torch

    from hfscan.harness.consistency.dtype import _integer_outputs

    ref = {"logits": torch.ones(2), "codes": torch.tensor([1, 2, 3, 4])}
    assert _integer_outputs(ref, {"logits": torch.ones(2), "codes": torch.tensor([1, 2, 3, 0])}) == {"codes": 0.75}
    assert _integer_outputs({"codes": torch.tensor([1])}, {"codes": torch.tensor([2])}) is None  # only integers
    mixed = {"out": (torch.ones(2), torch.tensor([1]))}  # an integer part of an output holding floats: compared
    assert _integer_outputs(mixed, mixed) == {}
