"""Synthetic inputs for one model, built from its ``forward()`` signature and its config.

A model whose class keeps nn.Module's placeholder ``forward()`` (a pipeline of
sub-models that only its ``generate`` runs) is run through that entry method:
its inputs are the entry's arguments and those of the sub-model's ``forward()``
that the entry hands its token ids and keyword arguments to.

Each builder is keyed by a ``forward()`` argument name (like optimum's dummy
input generators) and sized from normalised config attributes.  Placeholder
tokens (image, audio, video) are counted from the model itself: the features
its ``get_<modality>_features`` method returns for the synthetic pixels or audio
are exactly what the placeholder tokens must hold.

The modules, by what they build: :mod:`.context` (sizes, the :class:`Context`, the builder table),
:mod:`.signature` (the method a model is run through, its feature methods), :mod:`.documented` (shapes
forward()'s docstring gives), :mod:`.text`, :mod:`.vision`, :mod:`.audio`, :mod:`.timeseries`,
:mod:`.placeholders` (input ids with each modality's placeholders), :mod:`.required` (required inputs no
builder knows) and :mod:`.build` (all of a model's inputs, in order).
"""

from hfscan.harness.inputs.audio import extractor_bool_masks, extractor_features_first, extractor_width
from hfscan.harness.inputs.build import InputReport, build_inputs, build_one
from hfscan.harness.inputs.context import (AUDIO_FRAMES, AUDIO_SAMPLES, BATCH, BUILDERS, MODALITY_OF, SEQ,
                                           TIME_STEPS, Builder, Context, builder, to_device)
from hfscan.harness.inputs.documented import (FREE_DIM, build_documented, documented_arg, documented_dims,
                                              documented_required, documented_rows, documented_tensor)
from hfscan.harness.inputs.placeholders import IMAGE_TOKEN, PLACEHOLDERS, frame_tokens, free_token_id
from hfscan.harness.inputs.required import first_layer_tensor, mask_over_first, named_width_tensor, structured_value
from hfscan.harness.inputs.signature import (ENTRY_METHOD, entry_name, feature_args, feature_fn, fed_submodule,
                                             forward_params, pixel_tower_args)
from hfscan.harness.inputs.text import mask_ids_name
from hfscan.harness.inputs.vision import (ANY_SIZE_PATCHES, FLAT_PATCHES, GRID_ARGS, image_hw, patch_axes, with_axes,
                                          with_axis)

__all__ = [
    "ANY_SIZE_PATCHES", "AUDIO_FRAMES", "AUDIO_SAMPLES", "BATCH", "BUILDERS", "Builder", "Context", "ENTRY_METHOD",
    "FLAT_PATCHES", "FREE_DIM", "GRID_ARGS", "IMAGE_TOKEN", "InputReport", "MODALITY_OF", "PLACEHOLDERS", "SEQ",
    "TIME_STEPS", "build_documented", "build_inputs", "build_one", "builder", "documented_arg", "documented_dims",
    "documented_required", "documented_rows", "documented_tensor", "entry_name", "extractor_bool_masks",
    "extractor_features_first", "extractor_width", "feature_args", "feature_fn", "fed_submodule",
    "first_layer_tensor", "forward_params", "frame_tokens", "free_token_id", "image_hw", "mask_ids_name",
    "mask_over_first", "named_width_tensor", "patch_axes", "pixel_tower_args", "structured_value", "to_device",
    "with_axes", "with_axis",
]
