"""Input repairs: what forward() said was wrong with the inputs, turned into the inputs to retry with.

Every repair has one signature, ``repair(a, message, line, values) -> dict | None``: ``a`` the attempt (its
model, config and the inputs it fed), ``message`` the forward() error's text, ``line`` the source line it was
raised at, ``values`` the input values fixed so far (an override's, or earlier repairs'; a repair never
replaces one). It returns the updates to apply to ``values`` (``None`` for an input to leave out), ``{}``
where its change is to the attempt's placeholder counts, or ``None`` when it does not apply.
:func:`repair_inputs` applies the first of :data:`REPAIRS` that fits.

Most read the error's text: each docstring names the text, an example message, and the signature or
docstring fact that could one day replace the text match.  Those that read an argument check of forward() (an
``if`` comparing arguments with None, then ``raise``) read the check itself, not its message: the raising ``if``
of ``a.raised`` in its function's parsed source, and the values of the names it compares in the raising frame
(:func:`raising_test`).
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from typing import Any, Callable

from hfscan.harness.attempt import Attempt
from hfscan.harness.inputs import (BATCH, BUILDERS, PLACEHOLDERS, build_documented, build_one, forward_params,
                                   frame_tokens, patch_axes, with_axes, with_axis)
from hfscan.harness.configtree import config_tree

#: One input repair: (attempt, error message, failing source line, values so far) -> updates, or None.
Repair = Callable[[Attempt, str, str, dict], "dict | None"]

#: "mat1 and mat2 shapes cannot be multiplied (AxB and CxD)": a linear layer given the wrong width.
_MATMUL_SHAPES = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
#: "batch_size, max_num_cameras = pixel_attention_mask.shape": a source line that unpacks an input's axes.
_UNPACKED_SHAPE = re.compile(r"([\w\s,]+?)\s*=\s*(\w+)\.shape\s*$")
#: "The size of tensor a (A) must match the size of tensor b (B) at non-singleton dimension D": an elementwise
#: operation of two tensors whose sizes differ on one axis.
_SIZE_MISMATCH = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at "
                            r"non-singleton dimension (\d+)\b")
#: Modality inputs that may need an extra axis (images per sample, channels), tried in this order.
_AXIS_INPUTS = ("pixel_values", "input_features", "input_values")


def _unfixed_input(a: Attempt, values: dict, name: str) -> Any:
    """The input ``name`` built afresh as hfscan builds it, where forward() takes it and no value fixes it yet;
    else None."""
    if name in values or name not in forward_params(a.model):
        return None
    return build_one(a.model, a.config, name)


def unpacked_mask(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """A mask left out that the model reads the axes of: an optional mask of forward() whose axes the failing
    line unpacks gets ones over as many axes, the batch and one item each (every image real), boolean where
    forward() annotates it so.

    Reads: "'NoneType' object has no attribute 'shape'" raised at a line ``<axes> = <name>.shape``.
    Example: "'NoneType' object has no attribute 'shape'" raised at
    ``batch_size, max_num_cameras = pixel_attention_mask.shape``.
    Could read instead: forward()'s source, which unpacks ``<mask>.shape`` with no ``is None`` branch."""
    import torch

    m = _UNPACKED_SHAPE.fullmatch(line.strip())
    if "'NoneType' object has no attribute 'shape'" not in message or not m:
        return None
    name, params = m.group(2), forward_params(a.model)
    if not name.endswith("mask") or name in values or name in a.inputs or name not in params:
        return None
    dtype = torch.bool if "BoolTensor" in str(params[name].annotation) else torch.long
    return {name: torch.ones(BATCH, *[1] * (len(m.group(1).split(",")) - 1), dtype=dtype)}


def missing_axis(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """A modality input one axis short of what the model wants (a video's frames, several images or channels per
    sample): the first of pixels, audio features and raw audio whose rank the error names, with one more axis
    (of the size the error spells out, if it does).

    Reads: the rank wanted, "expected R+1, got R", "must be a (R+1)D tensor", "range of [-R, R-1], but got R",
    "expected input[1, <its shape>]" (a convolution read the batch as channels), "too many indices for tensor of
    dimension R".
    Example: "Input must be a 5D tensor of shape (batch_size, 2, num_channels, height, width)".
    Could read instead: the number of axes forward()'s docstring gives the argument's shape."""
    for name in _AXIS_INPUTS:
        tensor = _unfixed_input(a, values, name)
        if tensor is None:
            continue
        r = tensor.dim()
        unbatched = ", ".join(str(d) for d in tensor.shape)
        wants = (f"expected {r + 1}, got {r}", f"must be a {r + 1}D tensor", f"range of [-{r}, {r - 1}], but got {r}",
                 f"expected input[1, {unbatched}]", f"too many indices for tensor of dimension {r}")
        if any(w in message for w in wants):
            return {name: with_axis(a.config, name, tensor, axis_size(message))}
    return None


def axis_size(message: str) -> int | None:
    """The size of the axis after the batch when the error spells the shape out: "(batch_size, 2, ...)"."""
    m = re.search(r"\(batch_size, (\d+),", message)
    return int(m.group(1)) if m else None


def short_of_axes(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """The modality input with the axes the model found missing where it unpacked it or gave it to a 2-D
    convolution (tiles, images per sample, patch axes): flat patches get their (channels, patch, patch) axes
    back, as a patch convolution reads them; other inputs E - G axes of one after the batch.

    Reads: "not enough values to unpack (expected E, got G)", "input to conv2d, but got input of size: [N, F]".
    Example: "not enough values to unpack (expected 5, got 3)".
    Could read instead: the failing line's unpacking of ``<input>.shape`` (its number of names) and the patch
    embedding's convolution (its in_channels and kernel_size)."""
    unpack = re.search(r"not enough values to unpack \(expected (\d+), got (\d+)\)", message)
    conv = re.search(r"input to conv2d, but got input of size: \[(\d+), (\d+)\]", message)
    if not (unpack or conv):
        return None
    for name in (*_AXIS_INPUTS, "pixel_values_videos"):  # videos as flat patches alike
        tensor = _unfixed_input(a, values, name)
        if tensor is None:
            continue
        patches = patch_axes(a.config, tensor)
        if conv:
            if patches is not None and list(tensor.shape) == [int(conv.group(1)), int(conv.group(2))]:
                return {name: patches}
            continue
        if patches is not None:  # every image's patches one packed sequence where the model unpacks more axes
            short = tensor.dim() + int(unpack.group(1)) - int(unpack.group(2)) - patches.dim()
            return {name: patches.reshape(*[1] * short, *patches.shape) if short > 0 else patches}
        return {name: with_axes(a.config, tensor, int(unpack.group(1)) - int(unpack.group(2)))}
    return None


def swapped_features(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Audio features with their last two axes swapped, for a model that reads them as (batch, features, time):
    a convolution wants the feature axis as channels but got the time axis (a causal convolution may have
    padded the last axis first).

    Reads: "expected input[B, T, <any>] to have F channels", B, T, F the built features' shape.
    Example: "Given groups=1, weight of size [8, 16, 3], expected input[2, 64, 18] to have 16 channels, but got 64
    channels instead" (features of 64 frames, 16 wide, padded by 2 on the last axis).
    Could read instead: the in_channels of the first Conv1d the features reach, equal to their width."""
    feats = _unfixed_input(a, values, "input_features")
    if feats is None or feats.dim() != 3:
        return None
    batch, time_, width = feats.shape
    if not re.search(rf"expected input\[{batch}, {time_}, \d+\] to have {width} channels", message):
        return None
    return {"input_features": feats.transpose(1, 2).contiguous()}


def padded_to_multiple(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """An input the model takes in whole frames, zero-padded on its last axis up to a multiple of the frame, as
    its feature extractor pads (an input not fed yet, read while counting placeholders, is built first).

    Reads: "`<input>` length L is not a multiple of M".
    Example: "input_values length 100 is not a multiple of 40".
    Could read instead: the model's own feature extractor's frame length (its hop or ``pad_to_multiple_of``)."""
    m = re.search(r"`?(\w+)`? length (\d+) is not a multiple of (\d+)", message)
    tensor = a.inputs.get(m.group(1)) if m else None
    if m and tensor is None and m.group(1) in BUILDERS:  # raised while counting placeholders: not fed yet
        tensor = build_one(a.model, a.config, m.group(1))
    if tensor is None or m.group(1) in values or tensor.shape[-1] != int(m.group(2)):
        return None
    import torch

    step = int(m.group(3))
    return {m.group(1): torch.nn.functional.pad(tensor, (0, -tensor.shape[-1] % step))}


def parallel_streams(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Token ids (batch, length) given a trailing axis of K parallel streams (text and codebook streams) where
    the embedding adds K per-stream offsets to them; every stream holds the same valid ids.

    Reads: "size of tensor a (<length>) must match the size of tensor b (K) at non-singleton dimension 1".
    Example: "The size of tensor a (7) must match the size of tensor b (4) at non-singleton dimension 1".
    Could read instead: forward()'s docstring shape of input_ids with a third, codebook axis."""
    ids = a.inputs.get("input_ids")
    if "input_ids" in values or ids is None or ids.dim() != 2:
        return None
    size = _size_mismatch(message)
    if size is None or size[0] != ids.shape[1] or size[2] != 1 or size[1] < 2:
        return None
    return {"input_ids": ids.unsqueeze(-1).repeat(1, 1, size[1])}


def _size_mismatch(message: str) -> tuple[int, int, int] | None:
    """(size of a, size of b, dimension) of the first elementwise size mismatch the error names; None where it
    names none."""
    m = _SIZE_MISMATCH.search(message)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def features_as_long_as_audio(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Audio features (batch, frames, width) with as many frames as the model makes of the raw audio fed with
    them, where it joins the two.

    Reads: "Sizes of tensors must match except in dimension D. Expected size <frames> but got size <audio frames>".
    Example: "Sizes of tensors must match except in dimension 2. Expected size 30 but got size 12 for tensor
    number 1 in the list."
    Could read instead: the frames the model's audio encoder makes of the raw audio (its convolutions' strides)."""
    m = re.search(r"Sizes of tensors must match except in dimension \d+\. Expected size (\d+) but got size (\d+)",
                  message)
    feats = a.inputs.get("input_features")
    if not m or "input_features" in values or "input_values" not in a.inputs or feats is None or feats.dim() != 3:
        return None
    if feats.shape[1] != int(m.group(1)) or int(m.group(2)) < 1:
        return None
    import torch

    return {"input_features": torch.randn(feats.shape[0], int(m.group(2)), feats.shape[2]) * 0.1}


def wider_features(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Audio features (batch, frames, width) resized to the width the layer that reads them wants: a linear
    layer's (width x wants / got: a front end that stacks frames, or convolutions that keep the width
    proportional), or an elementwise layer's own width on the last axis (features read as embeddings).

    Reads: "mat1 and mat2 shapes cannot be multiplied (N x got and wants x M)", or "size of tensor a (wants) must
    match the size of tensor b (<width>) at non-singleton dimension 2".
    Example: "mat1 and mat2 shapes cannot be multiplied (60x16 and 64x32)".
    Could read instead: the in_features (or width) of the first layer the features reach."""
    feats = a.inputs.get("input_features")
    if "input_features" in values or feats is None or feats.dim() != 3:
        return None
    width = feats.shape[-1]
    m = _MATMUL_SHAPES.search(message)
    got, wants = (int(m.group(2)), int(m.group(3))) if m else (0, 0)
    size = _size_mismatch(message)
    if size is not None and size[1:] == (width, feats.dim() - 1):
        got, wants = width, size[0]
    if not got or got == wants or (width * wants) % got:
        return None
    import torch

    return {"input_features": torch.randn(*feats.shape[:-1], width * wants // got) * 0.1}  # small, as built


def embedded_ids(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Token embeddings instead of ids, for a model that takes its tokens as embeddings only: the ids through the
    model's own input embedding where that is one table, else shaped as forward()'s docstring documents them.

    Reads: the ``if`` that raised, where it tests ``input_ids is not None`` alone (the model refuses the ids), or
    an AttributeError for the attribute ``embed_tokens`` (the model has no table of its own).
    Example: "`input_ids` is expected to be `None`".
    Could read instead: a model whose get_input_embeddings() is None while forward() takes inputs_embeds."""
    import torch

    wants = raising_test(a.raised) == {"input_ids": False} or (
        isinstance(a.raised, AttributeError) and getattr(a.raised, "name", None) == "embed_tokens")
    ids = a.inputs.get("input_ids")
    if not wants or ids is None or {"input_ids", "inputs_embeds"} & values.keys() \
            or "inputs_embeds" not in forward_params(a.model):
        return None
    table = a.model.get_input_embeddings() if hasattr(a.model, "get_input_embeddings") else None
    if isinstance(table, torch.nn.Embedding) and int(ids.max()) < table.num_embeddings:
        with torch.no_grad():
            return {"input_ids": None, "inputs_embeds": table(ids)}
    embedded = build_documented(a.model, a.config, "inputs_embeds")
    return {"input_ids": None, "inputs_embeds": embedded} if embedded is not None else None


def exclusive_input(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Of two alternative inputs the model takes only one of, the one to leave out: the one hfscan built (the
    later of the two when it built both).

    Reads: the ``if`` that raised, where it compares two or more inputs with None and every one was given
    (``if input_ids is not None and inputs_embeds is not None: raise ...``).
    Example: "You cannot specify both input_ids and inputs_embeds at the same time"."""
    given = [name for name, none in raising_test(a.raised).items() if not none]
    if len(given) < 2:
        return None
    built = [n for n in reversed(given) if n in a.inputs and n not in values]
    return {built[0]: None} if built else None


def needed_input(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """An argument forward() declares optional but needs after all, built as its docstring documents it.

    Reads: the ``if`` that raised, where it compares one argument of forward() that is None with None (``if
    region_feats is None: raise ...``).
    Example: "`region_feats` cannot be `None`"."""
    missing = [name for name, none in raising_test(a.raised).items() if none]
    if len(missing) != 1 or missing[0] in values or missing[0] not in forward_params(a.model):
        return None
    tensor = build_documented(a.model, a.config, missing[0])
    return {missing[0]: tensor} if tensor is not None else None


def linear_patches(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Images (batch, channels, height, width) cut into rows of flattened patches, (batch, patches, channels x
    patch x patch), where a linear patch embedding read the image's width but wants the flattened patch.

    Reads: "mat1 and mat2 shapes cannot be multiplied (N x <width> and <channels x patch x patch> x M)".
    Example: "mat1 and mat2 shapes cannot be multiplied (96x16 and 48x32)".
    Could read instead: the patch embedding's nn.Linear whose in_features is channels x patch x patch."""
    m = _MATMUL_SHAPES.search(message)
    if not m:
        return None
    pixels = _unfixed_input(a, values, "pixel_values")
    if pixels is None or pixels.dim() != 4 or pixels.shape[-1] != int(m.group(2)):
        return None
    rows = patch_axes(a.config, pixels.new_zeros(1, int(m.group(3))))  # the flattened patch it wants
    if rows is None:
        return None
    channels, ph, pw = rows.shape[1:]
    batch, c, h, w = pixels.shape
    if c != channels or h % ph or w % pw:
        return None
    patches = pixels.reshape(batch, c, h // ph, ph, w // pw, pw).permute(0, 2, 4, 1, 3, 5)
    return {"pixel_values": patches.reshape(batch, (h // ph) * (w // pw), c * ph * pw)}


def rows_per_sample(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Flat rows (all samples' patches) grouped per sample, (batch, rows per sample, ...), where the model
    selects each sample's valid rows with a (batch, rows) mask and so read the row width as the rows.

    Reads: "The shape of the mask [B, W] at index 0 does not match the shape of the indexed tensor [R, W...]".
    Example: "The shape of the mask [2, 32] at index 0 does not match the shape of the indexed tensor [8, 32]".
    Could read instead: forward()'s docstring shape of the input, (batch_size, num_patches, ...)."""
    m = re.search(r"shape of the mask \[(\d+), (\d+)\] at index 0 does not match the shape of the indexed tensor "
                  r"\[(\d+), (\d+)", message)
    if not m:
        return None
    batch, width, rows = int(m.group(1)), int(m.group(2)), int(m.group(3))
    for name, tensor in a.inputs.items():
        if (name not in values and getattr(tensor, "ndim", 0) == 2 and list(tensor.shape) == [rows, width]
                and rows % batch == 0 and rows > batch):
            return {name: tensor.reshape(batch, rows // batch, width)}
    return None


def frames_in_batch(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Images for a model that reads them as its videos' frames flattened into the batch: it divided the batch by
    the frames per video of its config (num_frames = F) and found none, so each sample gets F frames.

    Reads: "shape '[0, F, D]' is invalid", F a num_frames of the config tree.
    Example: "shape '[0, 8, 32]' is invalid for input of size 64".
    Could read instead: forward()'s docstring shape of pixel_values, (batch_size * num_frames, ...)."""
    import torch

    m = re.search(r"shape '\[0, (\d+), \d+\]' is invalid", message)
    pixels = a.inputs.get("pixel_values")
    if not m or "pixel_values" in values or getattr(pixels, "ndim", 0) != 4:
        return None
    frames = int(m.group(1))
    if frames < 2 or all(getattr(c, "num_frames", None) != frames for _, c in config_tree(a.config)):
        return None
    return {"pixel_values": torch.rand(pixels.shape[0] * frames, *pixels.shape[1:])}


def resized_images(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Every image input (pixels, prompt images and masks) rescaled as the error asks: to the size the patch
    embedding wants (a model that stacks a prompt image over the input image reads their sum, so each becomes
    h / H of its height), twice as large on each side a pooling or convolution shrank to nothing, or, of the
    size a model names as too small (each scaled copy must still hold a patch), twice as large on each side.

    Reads: "Input image size (H*W) doesn't match model (h*w)", "Calculated output size: (Cx0x1). Output size is
    too small", "Image size HxW is too small".
    Example: "Input image size (32*16) doesn't match model (16*16)."
    Could read instead: the config's image_size and the input images' count per sample (the size the patch
    embedding checks), or the pooling layers' kernels (the smallest size they keep)."""
    import torch

    fit = re.search(r"Input image size \((\d+)\*(\d+)\) doesn't match model \((\d+)\*(\d+)\)", message)
    small = re.search(r"Calculated output size: \(\d+x(\d+)x(\d+)\)\. Output size is too small", message)
    named = re.search(r"\b[Ii]mage size (\d+)x(\d+) is too small\b", message)
    if fit:
        got_h, got_w, want_h, want_w = map(int, fit.groups())
        ratios = ((want_h, got_h), (want_w, got_w))
    elif small:
        ratios = tuple((2, 1) if int(side) < 1 else (1, 1) for side in small.groups())
    elif named:
        ratios = ((2, 1), (2, 1))
    else:
        return None
    out = {}
    for name, tensor in a.inputs.items():
        if (fit and name in values) or not (isinstance(tensor, torch.Tensor) and tensor.dim() == 4
                                            and tensor.is_floating_point()):
            continue
        if named and list(tensor.shape[-2:]) != [int(x) for x in named.groups()]:
            continue  # only the images of the size named
        sides = list(zip(tensor.shape[-2:], ratios))
        new = [side * num // den for side, (num, den) in sides]
        if any((side * num) % den for side, (num, den) in sides) or new == list(tensor.shape[-2:]):
            continue
        out[name] = torch.rand(*tensor.shape[:-2], *new)
    return out or None


#: "Audio features and audio tokens do not match, tokens: 2, features: 12": a model's own placeholder check
#: (transformers 4.50 words it "... do not match: tokens: 2, features 12").
_PLACEHOLDER_CHECK = re.compile(r"(Image|Video|Audio)s? features and \w+ tokens do not match[:,] tokens: (\d+), "
                                r"features:? (\d+)")


def framed_placeholders(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """Placeholders told by their frame: where the model found none of the placeholders given of a modality
    whose config declares start and end tokens, that modality's placeholders become image tokens between them
    (a change to the attempt's ``framed``, so ``{}``; token ids an override gives stay as they are).

    Reads: "<Modality> features and <x> tokens do not match, tokens: 0, features: F".
    Example: "Image features and image tokens do not match, tokens: 0, features: 8".
    Could read instead: the placeholders counted before forward (none of the config's token in the ids fed)."""
    m = _PLACEHOLDER_CHECK.search(message)
    if "input_ids" in values or not m or m.group(2) != "0":
        return None
    modality = m.group(1).lower()
    if not a.counts.get(modality) or modality in a.framed or not frame_tokens(a.config, modality):
        return None
    a.framed.add(modality)
    return {}


def placeholder_counts(a: Attempt, message: str, line: str, values: dict) -> dict | None:
    """The placeholder count the model's own check says its features need, where hfscan could not count them
    (or counted otherwise): a change to the attempt's ``counts`` (so ``{}``; token ids an override gives stay
    as they are). A count that is no multiple of the batch, or the one already used, does not apply.

    Reads: "<Modality> features and <x> tokens do not match, tokens: T, features: F", or, where the features are
    written into the placeholders' embeddings, "value tensor of shape [F, D] cannot be broadcast to indexing
    result of shape [T, D]" (the modality whose placeholders the ids hold T of).
    Example: "Audio features and audio tokens do not match, tokens: 2, features: 12".
    Could read instead: the length of what the model's own get_<modality>_features returns for the inputs."""
    m = _PLACEHOLDER_CHECK.search(message)
    scattered = re.search(r"value tensor of shape \[(\d+), \d+\] cannot be broadcast to indexing result of shape "
                          r"\[(\d+), \d+\]", message)
    if "input_ids" in values:
        return None
    if m:
        modality, features = m.group(1).lower(), int(m.group(3))
    elif scattered and (modality := _modality_of_placeholders(a, int(scattered.group(2)))):
        features = int(scattered.group(1))
    else:
        return None
    if a.counts.get(modality) == features or features % BATCH or not features:
        return None
    a.counts[modality] = features
    return {}


def _modality_of_placeholders(a: Attempt, count: int) -> str | None:
    """The fed modality whose placeholder tokens the input ids hold ``count`` of, or whose
    ``<modality>_embeds_position_mask`` marks ``count`` positions (placeholders marked by a mask, not a token)."""
    ids = a.inputs.get("input_ids")
    for attrs, modality, arg in PLACEHOLDERS:
        mask = a.inputs.get(f"{modality}_embeds_position_mask")
        if mask is not None and arg in a.inputs and int(mask.sum()) == count:
            return modality
        token = next((getattr(a.config, n) for n in attrs if isinstance(getattr(a.config, n, None), int)), None)
        if ids is not None and token is not None and arg in a.inputs and int((ids == token).sum()) == count:
            return modality
    return None


def raising_test(exc: BaseException | None) -> dict[str, bool]:
    """{name: whether it is None} for each name that the ``if`` whose body raised ``exc`` compares with None
    (``if input_ids is not None and inputs_embeds is not None: raise ...``), read from the raising function's
    parsed source and its frame; {} where ``exc`` was not raised so (or its source cannot be read)."""
    tb = getattr(exc, "__traceback__", None)
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return {}
    frame = tb.tb_frame
    test = _raising_if(frame.f_code, tb.tb_lineno)
    if test is None:
        return {}
    names = [c.left.id for c in ast.walk(test) if isinstance(c, ast.Compare) and isinstance(c.left, ast.Name)
             and len(c.ops) == 1 and isinstance(c.ops[0], (ast.Is, ast.IsNot))
             and isinstance(c.comparators[0], ast.Constant) and c.comparators[0].value is None]
    return {n: frame.f_locals[n] is None for n in dict.fromkeys(names) if n in frame.f_locals}


@functools.lru_cache(maxsize=256)
def _raising_if(code: Any, lineno: int) -> ast.expr | None:
    """The test of the ``if`` whose body holds, as its own statement, the ``raise`` at ``lineno`` of ``code``'s
    source; None where there is none."""
    try:
        lines, start = inspect.getsourcelines(code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    at = lineno - (start or 1) + 1  # the line in the parsed source
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and any(isinstance(s, ast.Raise) and s.lineno <= at <= s.end_lineno
                                            for s in node.body):
            return node.test
    return None


#: Every input repair, in the order they are tried: the first that fits is applied.
REPAIRS: tuple[Repair, ...] = (
    unpacked_mask, missing_axis, short_of_axes, swapped_features, padded_to_multiple, parallel_streams,
    features_as_long_as_audio, wider_features, embedded_ids, exclusive_input, needed_input, linear_patches,
    rows_per_sample, frames_in_batch, resized_images, framed_placeholders, placeholder_counts,
)


def repair_inputs(a: Attempt, message: str, values: dict, line: str = "") -> str | None:
    """Apply to ``values`` the first of :data:`REPAIRS` that fits the forward() error ``message`` (``line``: the
    source line it was raised at); its name, or None when none fits."""
    for repair in REPAIRS:
        updates = repair(a, message, line, values)
        if updates is not None:
            values.update(updates)
            return repair.__name__
    return None
