"""The ``outputs`` check on a real tiny model: it passes on a sound one and FAILS where asking for hidden states
changes the logits, where a hidden state or every attention map is missing, and where ``return_dict=False`` returns
other tensors than the ModelOutput."""

from __future__ import annotations

import pytest

from hfscan.harness.consistency.outputs import layer_counts
from hfscan.harness.records import Job, Status
from hfscan.harness.smoke import run_job

LLAMA = ("llama", "LlamaForCausalLM", "causal-lm", "causal-lm")


def _result(model: tuple = LLAMA):
    model_type, cls, task, template = model
    job = Job(model_type, cls, task, checks=("build", "forward", "outputs"), template=template)
    return {r.check: r for r in run_job(job)}["outputs"]


@pytest.fixture
def top_level_hook():
    """A global forward hook (torch's public API) on the tested class's own output only, removed after the test."""
    import torch
    from transformers import LlamaForCausalLM

    handles = []

    def register(fn):
        def hook(module, args, output):
            return fn(output) if isinstance(module, LlamaForCausalLM) else None
        handles.append(torch.nn.modules.module.register_module_forward_hook(hook))
    yield register
    for h in handles:
        h.remove()


@pytest.mark.slow
def test_outputs_passes_with_one_hidden_state_per_layer_plus_the_embeddings():
    r = _result()
    assert r.status == Status.PASSED, r.message
    seen = r.detail["outputs"]
    layers = seen["attentions"]["attentions"]
    assert layers >= 1 and seen["hidden_states"]["hidden_states"] == layers + 1
    assert seen["return_dict_false"] >= 3  # logits, hidden states and attention maps compared


@pytest.mark.slow
def test_outputs_fails_when_asking_for_hidden_states_changes_the_logits(top_level_hook):
    def perturb(output):
        if isinstance(output, dict) and output.get("hidden_states") is not None:
            output["logits"] = output["logits"] + 1e-2
        return output

    top_level_hook(perturb)
    r = _result()
    assert r.status == Status.FAILED and r.stage == "outputs"
    assert "output_hidden_states=True" in r.message and "logits" in r.message


@pytest.mark.slow
def test_outputs_fails_when_the_layers_hidden_states_are_dropped(top_level_hook):
    def drop(output):  # the embeddings' hidden state alone
        if isinstance(output, dict) and output.get("hidden_states"):
            output["hidden_states"] = output["hidden_states"][:1]
        return output

    top_level_hook(drop)
    r = _result()
    assert r.status == Status.FAILED and r.stage == "outputs"
    assert "hidden_states has 1 entries" in r.message


@pytest.mark.slow
def test_outputs_fails_when_no_attention_map_comes_back(top_level_hook):
    def empty(output):
        if isinstance(output, dict) and output.get("attentions") is not None:
            output["attentions"] = ()
        return output

    top_level_hook(empty)
    r = _result()
    assert r.status == Status.FAILED and "returned no attentions" in r.message


@pytest.mark.slow
def test_outputs_fails_when_the_tuple_form_differs(top_level_hook):
    def swap(output):
        return (output[0] * 2, *output[1:]) if isinstance(output, tuple) else output

    top_level_hook(swap)
    r = _result()
    assert r.status == Status.FAILED and "return_dict=False" in r.message


def test_layer_counts_read_module_lists_and_config_layer_counts():
    import torch
    from transformers import LlamaConfig

    model = torch.nn.Module()
    model.layers = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    config = LlamaConfig(num_hidden_layers=5)
    counts = layer_counts(model, config)
    assert {3, 5} <= counts and 4 not in counts
