"""Required inputs that no builder knows, the first way one is found: from the first layer, a dataclass
annotation, a width the config names, or ones over the first input."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from hfscan.harness.inputs.audio import _feature_width
from hfscan.harness.inputs.context import AUDIO_FRAMES, AUDIO_SAMPLES, BATCH, BUILDERS, Context, SEQ, _is_int
from hfscan.harness.inputs.documented import documented_tensor
from hfscan.harness.inputs.text import _ones_over, mask_ids_name
from hfscan.harness.inputs.vision import image_hw


def first_layer_tensor(ctx: Context) -> Any:
    """For a model whose first argument is undocumented: a float tensor shaped for the model's first layer,
    which reads it (a 1-D convolution of one channel reads a waveform, of C channels C feature rows, a linear
    layer rows of its input width, a 2-D convolution of C > 1 channels images, of one channel a spectrogram
    (frames, features) it gives that channel).  None when the first layer is none of these."""
    torch = ctx.torch
    layer = next((m for m in ctx.model.modules() if any(True for _ in m.parameters(recurse=False))), None)
    if isinstance(layer, torch.nn.Conv1d):
        length = AUDIO_SAMPLES if layer.in_channels == 1 else AUDIO_FRAMES
        return torch.randn(BATCH, layer.in_channels, length) * 0.1
    if isinstance(layer, torch.nn.Linear):
        return torch.randn(BATCH, SEQ, layer.in_features) * 0.1
    if isinstance(layer, torch.nn.Conv2d) and layer.in_channels == 1:
        return torch.randn(BATCH, AUDIO_FRAMES, _feature_width(ctx)) * 0.1
    if isinstance(layer, torch.nn.Conv2d):
        return torch.rand(BATCH, layer.in_channels, *image_hw(ctx))
    return None


def structured_value(ctx: Context, arg: str) -> Any:
    """For a required input annotated with a dataclass that bundles several tensors (a featurizer's atoms):
    that dataclass, each field built by the builder of its name, else shaped as the dataclass's docstring
    documents it; None where the annotation is no dataclass or a required field can be built neither way."""
    annotation = getattr(ctx.params.get(arg), "annotation", None)
    if isinstance(annotation, str):  # postponed (``from __future__ import annotations``)
        try:
            annotation = typing.get_type_hints(ctx.model.forward).get(arg)
        except (NameError, TypeError, AttributeError):
            return None
    cls = next((c for c in typing.get_args(annotation) or (annotation,)
                if isinstance(c, type) and dataclasses.is_dataclass(c)), None)
    if cls is None:
        return None
    documented = dataclasses.replace(ctx, model=cls)  # the dataclass's docstring documents its fields
    values = {}
    for f in (f for f in dataclasses.fields(cls) if f.init):
        value = BUILDERS[f.name](ctx) if f.name in BUILDERS else documented_tensor(documented, f.name)
        if value is not None:
            values[f.name] = value
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            return None
    return cls(**values)


def named_width_tensor(ctx: Context, arg: str) -> Any:
    """For an undocumented required input that is one vector per sample (a robot's state): (batch, width), the
    width the config names ``<arg>_dim`` or, where shorter vectors are zero-padded to it, ``max_<arg>_dim``
    (Decision Transformer's state_dim, PI0's max_state_dim); None where the config names no such width."""
    width = ctx.find(f"{arg}_dim", f"max_{arg}_dim")
    if not _is_int(width) or width < 1:
        return None
    return ctx.torch.randn(BATCH, width) * 0.1


def mask_over_first(ctx: Context) -> Any:
    """For a required mask that is undocumented: ones over the (batch, length) axes of the first input built
    (no position is padding)."""
    first = next((v for v in ctx.built.values() if getattr(v, "ndim", 0) >= 2), None)
    return None if first is None else ctx.torch.ones(*first.shape[:2], dtype=ctx.torch.bool)


def _required_value(ctx: Context, name: str, first: bool) -> Any:
    """A required input that no builder makes, the first way one is found: ones over the ids a mask masks, else
    the shape forward()'s docstring documents, the first layer's input (for the ``first`` input built), a
    dataclass built field by field, a vector as wide as the config names, ones over the first input (for a
    mask); None where none is found."""
    ids_name = mask_ids_name(name, ctx.params)
    value = _ones_over(name, ids_name)(ctx) if ids_name else documented_tensor(ctx, name)
    if value is None and first:
        value = first_layer_tensor(ctx)
    if value is None:
        value = structured_value(ctx, name)
    if value is None:
        value = named_width_tensor(ctx, name)
    if value is None and name.endswith("mask"):
        value = mask_over_first(ctx)
    return value
