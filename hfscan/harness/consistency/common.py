"""What the consistency checks share: running the attempt's model again, padding a sample, and the positions of an
output that a padded mask leaves meaningful."""

from __future__ import annotations

from typing import Any

from hfscan.harness.inputs import BATCH, forward_params
from hfscan.harness.registry import NotApplicable

#: Inputs a comparison of outputs leaves out: targets (a loss mixes every sample and position). The forward's
#: ``use_cache=False`` stays: without it a model builds the cache it defaults to, a path the forward never ran.
TARGETS = ("labels",)
#: Positions of sample 1 that a padded mask masks.
PAD = 2


def seed(value: int = 0) -> None:
    """Every random generator a model may draw from seeded: torch's, numpy's (SpecAugment's time masks), Python's."""
    import random

    import numpy
    import torch

    random.seed(value)
    numpy.random.seed(value)
    torch.manual_seed(value)


def run(model: Any, inputs: dict, seed_value: int = 0) -> Any:
    """``model(**inputs)`` without gradients, seeded (a model that samples noise samples it alike)."""
    import torch

    seed(seed_value)
    with torch.no_grad():
        return model(**inputs)


def plain_inputs(a: Any) -> dict:
    """The attempt's forward inputs less its targets."""
    return {k: v for k, v in a.inputs.items() if k not in TARGETS}


def to_half(model: Any, dtype: Any) -> Any:
    """A copy of ``model`` in ``dtype`` as ``from_pretrained(dtype=...)`` gives it: the parameters and buffers the
    class pins in float32 (``_keep_in_fp32_modules_strict`` for bfloat16 and float16, ``_keep_in_fp32_modules`` for
    float16 too; patterns searched in the names, ``*`` any run, as modeling_utils.py ``_get_dtype_plan`` and
    core_model_loading.py match them) stay float32."""
    import copy
    import re

    import torch

    half = copy.deepcopy(model).to(dtype)
    patterns = set(getattr(model, "_keep_in_fp32_modules_strict", None) or ())
    if dtype == torch.float16:
        patterns |= set(getattr(model, "_keep_in_fp32_modules", None) or ())
    if not patterns:
        return half
    pinned = re.compile("|".join(f"(?:{p.replace('*', '.*')})" for p in sorted(patterns)))
    with torch.no_grad():
        for name, t in [*half.named_parameters(), *half.named_buffers()]:
            if t.is_floating_point() and pinned.search(name):
                t.data = t.data.float()
    return half


def needs_forward(a: Any) -> None:
    if a.entry != "forward":
        raise NotApplicable(f"{type(a.model).__name__} runs through {a.entry}(), not forward()")


def is_causal_decoder(job: Any, a: Any) -> bool:
    """A generative class that is not an encoder-decoder: it is padded on the left."""
    from hfscan.harness.smoke import is_generative

    return is_generative(job.template, job.task) and not getattr(a.config, "is_encoder_decoder", False)


def takes_positions(model: Any) -> bool:
    """Whether forward() takes position ids: a left-padded sample then sits at the positions it has alone (without
    them a decoder numbers the pads first, so it is padded on the right, where a causal mask hides them)."""
    return "position_ids" in forward_params(model)


def encoder_decoder(model: Any, config: Any) -> bool:
    """Whether the model runs an encoder and a decoder: its config says so and forward() takes decoder inputs (a
    decoder or encoder built alone may keep its composite config's flag)."""
    params = forward_params(model)
    return bool(getattr(config, "is_encoder_decoder", False)) and any(p.startswith("decoder_") for p in params)


def text_mask(inputs: dict) -> Any:
    """The 2-D attention mask that goes with ``input_ids`` (same shape, batch first), else None."""
    mask, ids = inputs.get("attention_mask"), inputs.get("input_ids")
    if mask is None or ids is None or getattr(mask, "ndim", 0) != 2 or tuple(mask.shape) != tuple(ids.shape[:2]):
        return None
    if mask.is_floating_point() or mask.shape[0] != BATCH or mask.shape[1] <= PAD + 1:
        return None
    return mask


def padded(inputs: dict, left: bool) -> tuple[dict, Any] | None:
    """``inputs`` with the last (``left``: first) :data:`PAD` positions of sample 1 masked out, and the mask; None
    when the inputs have no text mask to pad (:func:`with_positions` adds the position ids a left pad needs)."""
    mask = text_mask(inputs)
    if mask is None:
        return None
    mask = mask.clone()
    if left:
        mask[1, :PAD] = 0
    else:
        mask[1, -PAD:] = 0
    out = {**inputs, "attention_mask": mask}
    return out, mask


def with_positions(model: Any, inputs: dict, mask: Any) -> dict:
    """``inputs`` plus position ids counted over ``mask``'s unmasked positions, where forward() takes them and none
    were given (a left-padded sample then sits at the positions it has alone)."""
    if "position_ids" in inputs or "position_ids" not in forward_params(model):
        return inputs
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    return {**inputs, "position_ids": positions}


def sequence_output(name: str, t: Any, mask: Any, encoder_decoder: bool) -> bool:
    """Whether output ``name`` runs along the masked sequence: batch and length as the mask's (of an
    encoder-decoder, only its encoder outputs do)."""
    if encoder_decoder and not name.startswith("encoder"):
        return False
    return t.ndim >= 2 and tuple(t.shape[:2]) == tuple(mask.shape)


def positions(mask: Any, encoder_decoder: bool):
    """A :data:`~.compare.Positions` selector: the unmasked positions of sequence outputs, everything elsewhere."""

    def keep(name: str, t: Any) -> Any:
        if not sequence_output(name, t, mask, encoder_decoder):
            return None
        m = mask.to(t.device).bool()
        return m.reshape(*m.shape, *([1] * (t.ndim - 2))).expand(t.shape)

    return keep
