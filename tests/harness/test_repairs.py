"""Input repairs from forward() errors: each one on the error it reads, and the order they are tried in."""

from __future__ import annotations

import torch
import transformers
from transformers import PretrainedConfig, XCLIPVisionConfig

from hfscan.harness import repairs
from hfscan.harness.attempt import Attempt
from hfscan.harness.inputs import BATCH
from hfscan.harness.repairs import (REPAIRS, axis_size, exclusive_input, frames_in_batch, needed_input,
                                    repair_inputs, unpacked_mask)
from hfscan.harness.shrink import tiny_config

NO_SHAPE = "'NoneType' object has no attribute 'shape'"


class _Head(torch.nn.Module):
    def forward(self, input_ids=None, inputs_embeds=None, region_feats=None):
        """
        Args:
            region_feats (`torch.FloatTensor` of shape `(batch_size, num_regions, feat_dim)`):
                Region features.
        """


def test_the_axis_size_an_error_spells_out_is_used():
    assert axis_size("Input must be a 5D tensor of shape (batch_size, 2, num_channels, height, width)") == 2
    assert axis_size("expected 5, got 4") is None


def test_of_two_alternative_inputs_the_one_hfscan_built_is_left_out():
    a = Attempt(level="tiny")
    a.inputs = {"input_values": 1, "input_features": 2}
    msg = "You cannot specify both input_values and input_features at the same time"
    assert exclusive_input(a, msg, "", {}) == {"input_features": None}
    a.inputs = {"input_ids": 1}  # the model made inputs_embeds itself
    msg = "You cannot specify both input_ids and inputs_embeds at the same time"
    assert exclusive_input(a, msg, "", {}) == {"input_ids": None}
    assert exclusive_input(a, "some other error", "", {}) is None


def test_an_optional_looking_argument_the_model_needs_is_built_from_its_docstring():
    a = Attempt(level="tiny", model=_Head(), config=PretrainedConfig(feat_dim=6))
    [(name, tensor)] = needed_input(a, "`region_feats` cannot be `None`", "", {}).items()
    assert name == "region_feats" and tensor.shape[-1] == 6
    assert needed_input(a, "`input_ids` cannot be `None`", "", {"input_ids": 1}) is None  # already given
    assert needed_input(a, "`unknown` cannot be `None`", "", {}) is None  # not an argument of forward()


def test_images_read_as_frames_in_the_batch_get_the_configs_frames_per_sample():
    a = Attempt(level="tiny", config=XCLIPVisionConfig(num_frames=4), inputs={"pixel_values": torch.rand(2, 3, 8, 8)})
    assert frames_in_batch(a, "shape '[0, 3, 32]' is invalid for input of size 64", "", {}) is None  # not num_frames
    frames = frames_in_batch(a, "shape '[0, 4, 32]' is invalid for input of size 64", "", {})
    assert frames["pixel_values"].shape[0] == 8


def test_a_mask_the_failing_line_unpacks_is_built_with_as_many_axes():
    cfg, _ = tiny_config(transformers.PI0Config)
    torch.manual_seed(0)
    a = Attempt(level="tiny", config=cfg, model=transformers.PI0ForConditionalGeneration(cfg).eval())
    line = "batch_size, max_num_cameras = pixel_attention_mask.shape"
    [(name, mask)] = unpacked_mask(a, NO_SHAPE, line, {}).items()
    assert name == "pixel_attention_mask" and mask.shape == (BATCH, 1) and mask.dtype == torch.bool
    assert unpacked_mask(a, NO_SHAPE, "b, n = state.shape", {}) is None  # not a mask


def test_the_first_fitting_repair_of_REPAIRS_is_applied_and_named(monkeypatch):
    """An error two repairs fit: the one earlier in REPAIRS wins; with REPAIRS reversed, the other."""
    built = {"input_ids": torch.zeros(BATCH, 3, dtype=torch.long), "inputs_embeds": torch.zeros(BATCH, 3, 6)}
    a = Attempt(level="tiny", model=_Head(), config=PretrainedConfig(feat_dim=6), inputs=built)
    msg = "You cannot specify both input_ids and inputs_embeds; `region_feats` must be provided"
    assert REPAIRS.index(exclusive_input) < REPAIRS.index(needed_input)
    assert exclusive_input(a, msg, "", {}) is not None and needed_input(a, msg, "", {}) is not None
    values: dict = {}
    assert repair_inputs(a, msg, values) == "exclusive_input" and values == {"inputs_embeds": None}
    monkeypatch.setattr(repairs, "REPAIRS", tuple(reversed(REPAIRS)))
    values = {}
    assert repair_inputs(a, msg, values) == "needed_input" and list(values) == ["region_feats"]
    assert repair_inputs(a, "an error no repair reads", values) is None and list(values) == ["region_feats"]


def test_the_placeholder_count_a_models_check_names_is_read_in_either_wording():
    """5.x: "..., tokens: T, features: F"; transformers 4.50: "...: tokens: T, features F"."""
    for msg in ("Image features and image tokens do not match, tokens: 2, features: 8",
                "Image features and image tokens do not match: tokens: 2, features 8"):
        a = Attempt(level="tiny")
        assert repairs.placeholder_counts(a, msg, "", {}) == {} and a.counts == {"image": 8}
