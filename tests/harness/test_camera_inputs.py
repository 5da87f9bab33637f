"""Inputs of a model that reads a robot's state and several cameras' images: the state's width from the config,
the camera mask the model unpacks, and placeholders counted where the feature method cannot read the cameras."""

from __future__ import annotations

import json

import torch
import transformers
from transformers import PretrainedConfig

from hfscan.harness.inputs import BATCH, build_inputs
from hfscan.harness.records import Job, Status
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import run_job, templates


class _Policy(torch.nn.Module):
    def forward(self, state):  # undocumented: its width only the config names
        return state


def test_an_undocumented_vector_input_gets_the_width_the_config_names_for_it():
    inputs, report = build_inputs(_Policy(), PretrainedConfig(max_state_dim=6), "base", {}, with_labels=False)
    assert report.unknown_required == [] and inputs["state"].shape == (BATCH, 6)
    inputs, report = build_inputs(_Policy(), PretrainedConfig(state_dim=5), "base", {}, with_labels=False)
    assert inputs["state"].shape == (BATCH, 5)
    _, report = build_inputs(_Policy(), PretrainedConfig(), "base", {}, with_labels=False)
    assert report.unknown_required == ["state"]  # a config that names no width: nothing to build it from


def test_a_camera_mask_the_model_unpacks_is_built_and_the_images_get_their_camera_axis():
    """The mask itself comes from repairs.unpacked_mask (tests/harness/test_repairs.py)."""
    cfg, _ = tiny_config(transformers.PI0Config)
    job = Job(model_type="pi0", model_class="PI0ForConditionalGeneration", task="image-text-to-text",
              checks=("build", "forward", "generate"))
    results = {r.check: r for r in run_job(job)}
    forward = results["forward"]
    assert forward.status == Status.PASSED, forward.message
    # mapped to a generative task, but the class has no generate(): a skip that says so, not a failure
    assert results["generate"].status == Status.SKIPPED and "has no generate()" in results["generate"].message
    shapes = json.loads(forward.details)["inputs"]
    assert shapes["state"] == [BATCH, cfg.max_state_dim]  # PI0Config: "maximum state vector dimension"
    assert shapes["pixel_attention_mask"] == [BATCH, 1] and shapes["pixel_values"][:2] == [BATCH, 1]
    tokens = (cfg.vlm_config.vision_config.image_size // cfg.vlm_config.vision_config.patch_size) ** 2
    assert shapes["input_ids"][1] >= tokens  # a camera's placeholders, counted from the config
