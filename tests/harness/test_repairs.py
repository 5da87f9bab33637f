"""Input repairs from forward() errors: each one on the error it reads, and the order they are tried in."""

from __future__ import annotations

import inspect

import pytest
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
        if input_ids is not None and inputs_embeds is not None and region_feats is None:
            raise ValueError("You cannot specify both input_ids and inputs_embeds; `region_feats` must be provided")
        if region_feats is None:
            raise ValueError("`region_feats` cannot be `None`")


def _raised(fn, **inputs) -> BaseException:
    """The error ``fn(**inputs)`` raises."""
    with pytest.raises(Exception) as info:
        fn(**inputs)
    return info.value


def _only_one(message, input_ids=None, inputs_embeds=None, input_values=None, input_features=None):
    if input_ids is not None and inputs_embeds is not None:
        raise ValueError(message)
    if input_values is not None and input_features is not None:
        raise ValueError(message)


def _no_ids(message, input_ids=None):
    if input_ids is not None:
        raise ValueError(message)


def test_the_axis_size_an_error_spells_out_is_used():
    assert axis_size("Input must be a 5D tensor of shape (batch_size, 2, num_channels, height, width)") == 2
    assert axis_size("expected 5, got 4") is None


def test_of_two_alternative_inputs_the_one_hfscan_built_is_left_out():
    """Read from the ``if`` that raised: both inputs it compares with None were given."""
    msg = "You cannot specify both input_values and input_features at the same time"
    a = Attempt(level="tiny", inputs={"input_values": 1, "input_features": 2},
                raised=_raised(_only_one, message=msg, input_values=1, input_features=2))
    assert exclusive_input(a, msg, "", {}) == {"input_features": None}
    a.inputs = {"input_ids": 1}  # the model made inputs_embeds itself
    a.raised = _raised(_only_one, message="", input_ids=1, inputs_embeds=2)
    assert exclusive_input(a, "", "", {}) == {"input_ids": None}
    a.raised = _raised(_no_ids, message="", input_ids=1)  # one input compared: not two alternatives
    assert exclusive_input(a, "", "", {}) is None
    a.raised = ValueError("You cannot specify both input_ids and inputs_embeds")  # its text alone: not read
    assert exclusive_input(a, str(a.raised), "", {}) is None


def test_an_optional_looking_argument_the_model_needs_is_built_from_its_docstring():
    """Read from the ``if`` that raised: the one argument it compares with None was None."""
    model = _Head()
    a = Attempt(level="tiny", model=model, config=PretrainedConfig(feat_dim=6), raised=_raised(model))
    [(name, tensor)] = needed_input(a, "", "", {}).items()
    assert name == "region_feats" and tensor.shape[-1] == 6
    assert needed_input(a, "", "", {"region_feats": 1}) is None  # already given
    a.raised = _raised(_need)
    assert needed_input(a, "", "", {}) is None  # not an argument of forward()


def _need(unknown=None):
    if unknown is None:
        raise ValueError("`unknown` cannot be `None`")


def test_a_model_that_refuses_token_ids_is_fed_their_embeddings():
    """Read from the ``if`` that raised (``input_ids is not None`` alone), or the attribute a model without a
    table of its own lacks."""
    model = torch.nn.Module()
    model.forward = lambda input_ids=None, inputs_embeds=None: None
    model.get_input_embeddings = lambda: torch.nn.Embedding(16, 4)
    ids = torch.zeros(BATCH, 3, dtype=torch.long)
    for raised in (_raised(_no_ids, message="", input_ids=ids), _raised(lambda: model.embed_tokens)):
        a = Attempt(level="tiny", model=model, inputs={"input_ids": ids}, raised=raised)
        assert _shapes(repairs.embedded_ids(a, "", "", {})) == {"input_ids": None, "inputs_embeds": (BATCH, 3, 4)}
    a.raised = _raised(lambda: model.other)
    assert repairs.embedded_ids(a, "", "", {}) is None


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
    model = _Head()
    a = Attempt(level="tiny", model=model, config=PretrainedConfig(feat_dim=6), inputs=built,
                raised=_raised(model, **built))
    msg = str(a.raised)
    assert REPAIRS.index(exclusive_input) < REPAIRS.index(needed_input)
    assert exclusive_input(a, msg, "", {}) is not None and needed_input(a, msg, "", {}) is not None
    values: dict = {}
    assert repair_inputs(a, msg, values) == "exclusive_input" and values == {"inputs_embeds": None}
    monkeypatch.setattr(repairs, "REPAIRS", tuple(reversed(REPAIRS)))
    values = {}
    assert repair_inputs(a, msg, values) == "needed_input" and list(values) == ["region_feats"]
    a.raised = ValueError("an error no repair reads")
    assert repair_inputs(a, str(a.raised), values) is None and list(values) == ["region_feats"]


def test_the_placeholder_count_a_models_check_names_is_read_in_either_wording():
    """5.x: "..., tokens: T, features: F"; transformers 4.50: "...: tokens: T, features F"."""
    for msg in ("Image features and image tokens do not match, tokens: 2, features: 8",
                "Image features and image tokens do not match: tokens: 2, features 8"):
        a = Attempt(level="tiny")
        assert repairs.placeholder_counts(a, msg, "", {}) == {} and a.counts == {"image": 8}
    a = Attempt(level="tiny")  # 4.x kosmos-2: placeholders marked by a mask, features scattered into them
    a.inputs = {"pixel_values": torch.zeros(2, 3, 4, 4), "image_embeds_position_mask": torch.tensor([[1, 0], [1, 0]])}
    msg = "shape mismatch: value tensor of shape [128, 32] cannot be broadcast to indexing result of shape [2, 32]"
    assert repairs.placeholder_counts(a, msg, "", {}) == {} and a.counts == {"image": 128}
    a = Attempt(level="tiny")
    a.inputs = {"pixel_values": torch.zeros(2, 3, 4, 4), "image_embeds_position_mask": torch.tensor([[1, 1], [1, 0]])}
    assert repairs.placeholder_counts(a, msg, "", {}) is None  # a mask that marks another count: not these
    a = Attempt(level="tiny")  # 4.57's qwen2_vl: "Videos features and video tokens ..."
    msg = "Videos features and video tokens do not match: tokens: 4, features 8"
    assert repairs.placeholder_counts(a, msg, "", {}) == {} and a.counts == {"video": 8}


# --- every repair on the example message its docstring gives ------------------------------------------------------


def _example(repair) -> tuple[str, str]:
    """The example message a repair's docstring gives (``Example: "..."``), and the failing source line where it
    gives one (``raised at ``...````)."""
    doc = " ".join(line.strip() for line in repair.__doc__.splitlines())
    example = doc.split("Example: ", 1)[1]
    message = example[1:example.index('"', 1)] if example.startswith('"') else ""
    line = example.split("raised at ``", 1)[1].split("``", 1)[0] if "raised at ``" in example else ""
    return message, line


class _Takes(torch.nn.Module):
    """A model whose forward() takes the named inputs (the repairs build them as hfscan builds them)."""

    def __init__(self, *names: str, table: int = 0):
        super().__init__()
        self.names = names
        self.embed = torch.nn.Embedding(table, 4) if table else None
        params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None,
                                    annotation="torch.BoolTensor | None" if n.endswith("mask") else inspect._empty)
                  for n in names]
        self.forward = lambda **kw: None
        self.forward.__signature__ = inspect.Signature(params)

    def get_input_embeddings(self):
        return self.embed


def _shapes(updates: dict) -> dict:
    return {k: None if v is None else tuple(v.shape) for k, v in updates.items()}


AUDIO = PretrainedConfig(num_mel_bins=16)
IMAGES = PretrainedConfig(image_size=16, num_channels=3, patch_size=4)

#: repair -> (the attempt that meets its example message, the updates it makes, as shapes; {} for a change to
#: the attempt)
EXAMPLES = {
    "unpacked_mask": (lambda msg: Attempt(level="tiny", model=_Takes("pixel_values", "pixel_attention_mask")),
                      {"pixel_attention_mask": (BATCH, 1)}),
    "missing_axis": (lambda msg: Attempt(level="tiny", model=_Takes("pixel_values"), config=IMAGES),
                     {"pixel_values": (BATCH, 2, 3, 16, 16)}),
    "short_of_axes": (lambda msg: Attempt(level="tiny", model=_Takes("input_features"), config=AUDIO),
                      {"input_features": (BATCH, 1, 1, 64, 16)}),
    "swapped_features": (lambda msg: Attempt(level="tiny", model=_Takes("input_features"), config=AUDIO),
                         {"input_features": (BATCH, 16, 64)}),
    "padded_to_multiple": (lambda msg: Attempt(level="tiny", inputs={"input_values": torch.zeros(BATCH, 100)}),
                           {"input_values": (BATCH, 120)}),
    "parallel_streams": (lambda msg: Attempt(level="tiny",
                                             inputs={"input_ids": torch.zeros(BATCH, 7, dtype=torch.long)}),
                         {"input_ids": (BATCH, 7, 4)}),
    "features_as_long_as_audio": (
        lambda msg: Attempt(level="tiny", inputs={"input_features": torch.zeros(BATCH, 30, 16),
                                              "input_values": torch.zeros(BATCH, 8000)}),
        {"input_features": (BATCH, 12, 16)}),
    "wider_features": (lambda msg: Attempt(level="tiny", inputs={"input_features": torch.zeros(BATCH, 30, 16)}),
                       {"input_features": (BATCH, 30, 64)}),
    "embedded_ids": (lambda msg: Attempt(level="tiny", model=_Takes("input_ids", "inputs_embeds", table=16),
                                         inputs={"input_ids": torch.zeros(BATCH, 3, dtype=torch.long)},
                                         raised=_raised(_no_ids, message=msg, input_ids=1)),
                     {"input_ids": None, "inputs_embeds": (BATCH, 3, 4)}),
    "exclusive_input": (lambda msg: Attempt(level="tiny", inputs={"input_ids": torch.zeros(BATCH, 3),
                                                                  "inputs_embeds": torch.zeros(BATCH, 3, 4)},
                                            raised=_raised(_only_one, message=msg, input_ids=1, inputs_embeds=2)),
                        {"inputs_embeds": None}),
    "needed_input": (lambda msg: Attempt(level="tiny", model=_Head(), config=PretrainedConfig(feat_dim=6),
                                         raised=_raised(_Head())),
                     {"region_feats": (BATCH, 8, 6)}),
    "linear_patches": (lambda msg: Attempt(level="tiny", model=_Takes("pixel_values"), config=IMAGES),
                       {"pixel_values": (BATCH, 16, 48)}),
    "rows_per_sample": (lambda msg: Attempt(level="tiny", inputs={"pixel_values": torch.zeros(8, 32)}),
                        {"pixel_values": (BATCH, 4, 32)}),
    "frames_in_batch": (lambda msg: Attempt(level="tiny", config=XCLIPVisionConfig(num_frames=8),
                                        inputs={"pixel_values": torch.rand(BATCH, 3, 8, 8)}),
                        {"pixel_values": (BATCH * 8, 3, 8, 8)}),
    "resized_images": (lambda msg: Attempt(level="tiny", inputs={"pixel_values": torch.rand(BATCH, 3, 32, 16)}),
                       {"pixel_values": (BATCH, 3, 16, 16)}),
    "framed_placeholders": (lambda msg: Attempt(level="tiny", counts={"image": 8},
                                            config=PretrainedConfig(image_start_token_id=5, image_end_token_id=6)),
                            {}),
    "placeholder_counts": (lambda msg: Attempt(level="tiny"), {}),
}


def test_every_repair_has_an_example_case():
    assert sorted(r.__name__ for r in REPAIRS) == sorted(EXAMPLES)


@pytest.mark.parametrize("repair", REPAIRS, ids=lambda r: r.__name__)
def test_each_repair_fixes_the_example_its_docstring_gives(repair):
    """Built from the repair's own example message: the repair applies to it, and to nothing else."""
    message, line = _example(repair)
    make, expected = EXAMPLES[repair.__name__]
    assert message, f"{repair.__name__} gives no example message"
    a = make(message)
    assert a.raised is None or str(a.raised) == message  # raised as the example says
    updates = repair(a, message, line, {})
    assert updates is not None and _shapes(updates) == expected
    other = make(message)
    other.raised = ValueError("an error no repair reads")
    assert repair(other, str(other.raised), line, {}) is None


def test_the_example_changes_to_the_attempt_are_made():
    """framed_placeholders and placeholder_counts change the attempt's placeholders (their updates are {})."""
    for repair, seen in ((repairs.framed_placeholders, lambda a: a.framed == {"image"}),
                         (repairs.placeholder_counts, lambda a: a.counts == {"audio": 12})):
        message = _example(repair)[0]
        a = EXAMPLES[repair.__name__][0](message)
        assert repair(a, message, "", {}) == {} and seen(a)


def test_every_wording_resized_images_reads():
    a = Attempt(level="tiny", inputs={"pixel_values": torch.rand(BATCH, 3, 8, 8)})
    small = repairs.resized_images(a, "Calculated output size: (8x0x1). Output size is too small", "", {})
    assert _shapes(small) == {"pixel_values": (BATCH, 3, 16, 8)}
    named = repairs.resized_images(a, "Image size 8x8 is too small for the patch size", "", {})
    assert _shapes(named) == {"pixel_values": (BATCH, 3, 16, 16)}
    assert repairs.resized_images(a, "Image size 4x4 is too small", "", {}) is None  # no image of that size
