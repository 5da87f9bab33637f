"""The smoke test of one job, run inside a worker: tiny config, inputs, build/forward/save-load/generate.

``run_job`` never raises for a model's failure: every exception becomes a
``failed`` CheckResult with the stage it stopped in.  A missing optional
package becomes ``skipped: needs <package>``.
"""

from __future__ import annotations

import inspect
import json
import re
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator

from hfscan.harness import checks as C
from hfscan.harness.configvals import Fills
from hfscan.harness.declared import declaring_classes, documented_classes, exported_classes
from hfscan.harness.inputs import (BATCH, BUILDERS, MODALITY_OF, PLACEHOLDERS, build_documented, build_inputs,
                                   build_one, documented_rows, entry_name, fed_submodule, forward_params,
                                   frame_tokens, patch_axes, to_device, with_axes, with_axis)
from hfscan.harness.overrides import Override, load_overrides, load_toml
from hfscan.harness.records import CHECKS, CheckResult, Job, Status
from hfscan.harness.shrink import config_tree, levels, tiny_config

@lru_cache(maxsize=1)
def templates() -> dict:
    """The parsed templates data file."""
    return load_toml("templates.toml")


def _template(name: str | None) -> dict:
    data = templates()
    if name and name in data["template"]:
        return data["template"][name]
    return {"tasks": data["default"]["tasks"], "generate": True, "modalities": None}


def is_generative(template: str | None, task: str) -> bool:
    """generate applies when the template allows it and the class's task is a generative one."""
    return bool(_template(template)["generate"]) and task in templates()["default"]["generative_tasks"]


def plan_jobs(record: Any, template: str | None = None, tasks: str = "default", checks: tuple[str, ...] = CHECKS,
              device: str = "cpu", dtype: str = "float32", timeout_s: float = 120.0,
              overrides: dict[str, Override] | None = None) -> list[Job]:
    """Jobs for one model type: its representative class, or every mapped class when ``tasks="all"``.

    The representative class is the first of the template's task preference
    (then the default preference) that the model type is mapped to, one of
    its own modeling package first; an override's ``model_class`` replaces it.
    """
    if overrides is None:
        overrides = _package_overrides()
    override = overrides.get(record.model_type)
    common = dict(model_type=record.model_type, checks=tuple(checks), template=template, device=device,
                  dtype=dtype, timeout_s=timeout_s, override=override.to_json() if override else None,
                  override_hash=override.hash if override else None)
    if tasks == "all":
        seen: dict[str, str] = {}
        for task, cls in record.tasks:
            seen.setdefault(cls, task)
        return [Job(model_class=cls, task=task, **common) for cls, task in seen.items()]
    if override and override.model_class:
        task = next((t for t, c in record.tasks if c == override.model_class), "base")
        return [Job(model_class=override.model_class, task=task, **common)]
    mapped = record.task_names
    preference = list(_template(template)["tasks"]) + list(templates()["default"]["tasks"])
    ordered = [t for t in preference if t in mapped]
    own = exported_classes(record.module) if ordered else {}
    # a class of the type's own modeling package (built from its config class) before one borrowed from another
    task = next((t for t in ordered if record.classes_for(t)[0] in own), ordered[0] if ordered else
                mapped[0] if mapped else None)
    if task is None:  # a sub-config's own model class sits in no auto mapping: the plainest one, else the
        # plainest class that declares the type's config class, else one its config's docstring example builds
        unmapped = sorted(record.unmapped_classes or declaring_classes(record.module, record.config_class)
                          or documented_classes(record.config_module, record.config_class), key=len)
        return [Job(model_class=unmapped[0], task="base", **common)] if unmapped else []
    return [Job(model_class=record.classes_for(task)[0], task=task, **common)]


@lru_cache(maxsize=1)
def _package_overrides() -> dict[str, Override]:
    return load_overrides()


@dataclass
class _Attempt:
    """What one shrink level produced: everything later checks need, or the error that stopped it."""

    level: str
    config: Any = None
    model: Any = None
    inputs: dict = field(default_factory=dict)
    output: Any = None
    report: Any = None
    input_report: Any = None
    stage: str = "config"
    error: BaseException | None = None
    tb: str | None = None
    durations: dict = field(default_factory=dict)
    param_count: int | None = None
    counts: dict = field(default_factory=dict)  # placeholder tokens per modality, as the model said
    framed: set = field(default_factory=set)  # modalities whose placeholders are image tokens in their frame
    entry: str = "forward"  # the method the model ran through (generate for a class with no forward())


def missing_package(exc: BaseException) -> str | None:
    """The optional package whose absence caused ``exc`` (None when it is not that)."""
    packages = templates()["packages"]
    name = getattr(exc, "name", None)
    if isinstance(exc, ModuleNotFoundError) and name:
        top = name.split(".")[0]
        return top if top in packages else None
    if isinstance(exc, ImportError):
        text = str(exc)
        for pkg in packages:
            if re.search(rf"\b{re.escape(pkg)}\b", text, re.IGNORECASE):
                return pkg
        m = re.search(r"requires the (\S+) library", text)
        if m:
            return m.group(1)
    return None


def _skip_message(pkg: str) -> str:
    extra = templates()["packages"].get(pkg)
    return f"needs {pkg} (pip install 'hfscan[{extra}]')" if extra else f"needs {pkg} (pip install {pkg})"


def _model_class(name: str, model_type: str) -> Any:
    """The class ``name`` as transformers exports it, else from the modeling module next to the type's config
    (a class an auto mapping names but the package does not export)."""
    import importlib.util

    import transformers

    cls = getattr(transformers, name, None)
    if cls is None:
        module = _config_class(model_type).__module__.replace(".configuration_", ".modeling_")
        if importlib.util.find_spec(module) is not None:
            cls = getattr(importlib.import_module(module), name, None)
    if cls is None:
        raise LookupError(f"transformers has no class {name}")
    return cls


def _config_class(model_type: str) -> Any:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return CONFIG_MAPPING[model_type]


def _filled_attempt(job: Job, level: Any, override: Override | None) -> _Attempt:
    """An attempt at one level, made again while the code that failed read config values only a checkpoint
    sets (:mod:`hfscan.harness.configvals`): with those values filled, or the next candidate for them."""
    fills = Fills()
    while True:
        a = _attempt(job, level, override, fills.as_config())
        if a.error is None or a.stage == "config" or not fills.learn(a.error, a.config, a.model):
            return a


def _attempt(job: Job, level: Any, override: Override | None, filled: dict | None = None) -> _Attempt:
    """Shrink, build, make inputs and run forward at one shrink level."""
    import torch

    a = _Attempt(level=level.name)
    dtype = getattr(torch, job.dtype)
    try:
        t0 = time.perf_counter()
        a.config, a.report = tiny_config(_config_class(job.model_type), override.config if override else None, level,
                                         filled)
        a.stage = "build"
        cls = _model_class(job.model_class, job.model_type)
        _padding_index(a.config, cls, a.report)
        torch.manual_seed(0)
        a.model = cls(a.config).to(job.device).to(dtype).eval()
        a.param_count = sum(p.numel() for p in a.model.parameters())
        a.durations["build"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        values = dict(override.inputs) if override else {}
        for repairs_left in range(MAX_INPUT_REPAIRS, -1, -1):
            try:
                _inputs_and_forward(job, a, values, dtype)
                break
            except (ValueError, RuntimeError, IndexError, AttributeError) as exc:
                if not repairs_left or not _repair_inputs(a, str(exc), values, _failing_line(exc)):
                    raise
        a.stage = "assert"
        if a.entry == "forward":
            C.check_forward(a.output, **_expectations(job, a))
        else:
            fed = getattr(fed_submodule(a.model), "config", a.config)  # the sub-model whose ids it returns
            C.check_generated_output(a.output, batch=BATCH, vocab=_text_config(fed).vocab_size)
        a.durations["forward"] = time.perf_counter() - t0
        a.stage = "done"
    except BaseException as exc:  # noqa: BLE001 - becomes a result; KeyboardInterrupt is re-raised
        if isinstance(exc, KeyboardInterrupt):
            raise
        a.error, a.tb = exc, traceback.format_exc()
        a.stage = getattr(exc, "stage", a.stage)
    return a


#: How many times one attempt may adjust its inputs from what forward() said was wrong with them.
MAX_INPUT_REPAIRS = 3
#: "mat1 and mat2 shapes cannot be multiplied (AxB and CxD)": a linear layer given the wrong width.
_MATMUL_SHAPES = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def _failing_line(exc: BaseException) -> str:
    """The source line ``exc`` was raised at (its innermost frame's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return (frames[-1].line or "") if frames else ""


def _repair_inputs(a: _Attempt, message: str, values: dict, line: str = "") -> bool:
    """Adjust ``values`` from a forward() error that says how the inputs were wrong (``line``: the source line
    it was raised at); False when none applies."""
    unpacked = _unpacked_mask(a, message, line, values)
    if unpacked is not None:  # a mask left out that the model reads the axes of
        values[unpacked[0]] = unpacked[1]
        return True
    name, tensor = _missing_axis(a, message, values)
    if tensor is not None:  # the model wants one more axis (a video's frames, several images or channels per sample)
        values[name] = with_axis(a.config, name, tensor, _axis_size(message))
        return True
    name, tensor = _short_of_axes(a, message, values)
    if tensor is not None:  # the model unpacked the input with axes it lacks (tiles, images per sample, patch axes)
        values[name] = tensor
        return True
    swapped = _swapped_features(a, message, values)
    if swapped is not None:  # the model reads audio features as (batch, features, time)
        values["input_features"] = swapped
        return True
    padded = _padded_to_multiple(a, message, values)
    if padded is not None:  # the model takes whole frames of samples: padded as its feature extractor pads
        values[padded[0]] = padded[1]
        return True
    streams = _parallel_streams(a, message, values)
    if streams is not None:  # the embedding adds an offset per stream: ids of text and codebook streams together
        values["input_ids"] = streams
        return True
    frames = _features_as_long_as_audio(a, message, values)
    if frames is not None:  # features the model joins with what it makes of the raw audio: as many frames
        values["input_features"] = frames
        return True
    wider = _wider_features(a, message, values)
    if wider is not None:  # the layer that reads the features wants them wider (stacked frames, a conv's width)
        values["input_features"] = wider
        return True
    embedded = _embedded_ids(a, message, values)
    if embedded is not None:  # the model takes its tokens as embeddings only
        values.update(input_ids=None, inputs_embeds=embedded)
        return True
    exclusive = _exclusive_input(a, message, values)
    if exclusive is not None:  # two alternative inputs were given: the model takes one of them
        values[exclusive] = None
        return True
    needed = _needed_input(a, message, values)
    if needed is not None:  # an optional-looking argument the model requires after all
        values[needed[0]] = needed[1]
        return True
    patched = _linear_patches(a, message, values)
    if patched is not None:  # a linear patch embedding reads the image as rows of flattened patches
        values["pixel_values"] = patched
        return True
    grouped = _rows_per_sample(a, message, values)
    if grouped is not None:  # the model selects each sample's valid rows of padded per-sample rows
        values[grouped[0]] = grouped[1]
        return True
    frames = _frames_in_batch(a, message, values)
    if frames is not None:  # the model reads the images as its videos' frames, flattened into the batch
        values["pixel_values"] = frames
        return True
    resized = _resized_images(a, message, values)
    if resized:  # the images are not the size the model wants (a prompt stacked over them; too small to pool)
        values.update(resized)
        return True
    return _placeholder_mismatch(a, message, values)


#: "batch_size, max_num_cameras = pixel_attention_mask.shape": a source line that unpacks an input's axes.
_UNPACKED_SHAPE = re.compile(r"([\w\s,]+?)\s*=\s*(\w+)\.shape\s*$")


def _unpacked_mask(a: _Attempt, message: str, line: str, values: dict) -> tuple[str, Any] | None:
    """An optional mask of forward() that was left out but whose axes the model unpacks (the source line
    ``batch_size, max_num_cameras = pixel_attention_mask.shape`` raised "'NoneType' object has no attribute
    'shape'"): ones over as many axes, the batch and one item each (every image real), boolean where forward()
    annotates it so."""
    import torch

    m = _UNPACKED_SHAPE.fullmatch(line.strip())
    if "'NoneType' object has no attribute 'shape'" not in message or not m:
        return None
    name, params = m.group(2), forward_params(a.model)
    if not name.endswith("mask") or name in values or name in a.inputs or name not in params:
        return None
    dtype = torch.bool if "BoolTensor" in str(params[name].annotation) else torch.long
    return name, torch.ones(BATCH, *[1] * (len(m.group(1).split(",")) - 1), dtype=dtype)


def _resized_images(a: _Attempt, message: str, values: dict) -> dict:
    """Every image input (pixels, prompt images and masks) rescaled as the error asks: to the size the patch
    embedding wants ("Input image size (H*W) doesn't match model (h*w)": a model that stacks a prompt image
    over the input image reads their sum, so each becomes h / H of its height), or twice as large on each
    side a pooling or convolution shrank to nothing ("Calculated output size: (Cx0x1). Output size is too small"),
    or images of the size a model names as too small ("Image size 384x384 is too small to be scaled with ...":
    each scaled copy must still hold a patch) twice as large on each side."""
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
        return {}
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
    return out


def _modality_of_placeholders(a: _Attempt, count: int) -> str | None:
    """The fed modality whose placeholder tokens the input ids hold ``count`` of."""
    ids = a.inputs.get("input_ids")
    for attrs, modality, arg in PLACEHOLDERS:
        token = next((getattr(a.config, n) for n in attrs if isinstance(getattr(a.config, n, None), int)), None)
        if ids is not None and token is not None and arg in a.inputs and int((ids == token).sum()) == count:
            return modality
    return None


def _placeholder_mismatch(a: _Attempt, message: str, values: dict) -> bool:
    """The placeholder count the model's own check says its features need ("Audio features and audio
    tokens do not match, tokens: 2, features: 12"), where hfscan could not count them (or counted otherwise).
    Where the model found none of the placeholders given ("tokens: 0") of a modality whose config declares
    start and end tokens, it tells that modality's placeholders by their frame: image tokens between them."""
    m = re.search(r"(Image|Video|Audio) features and \w+ tokens do not match[:,] tokens: (\d+), features:? (\d+)", message)
    scattered = re.search(r"value tensor of shape \[(\d+), \d+\] cannot be broadcast to indexing result of shape "
                          r"\[(\d+), \d+\]", message)  # features written into the placeholders' embeddings
    if "input_ids" in values:  # token ids an override gives stay as they are
        return False
    if m:
        modality, features = m.group(1).lower(), int(m.group(3))
        if m.group(2) == "0" and a.counts.get(modality) and modality not in a.framed \
                and frame_tokens(a.config, modality):
            a.framed.add(modality)
            return True
    elif scattered and (modality := _modality_of_placeholders(a, int(scattered.group(2)))):
        features = int(scattered.group(1))
    else:
        return False
    if a.counts.get(modality) == features or features % BATCH or not features:
        return False
    a.counts[modality] = features
    return True


#: Functions of a modeling module that count position ids from the padding index (RoBERTa style: positions
#: start at pad_token_id + 1), so its model needs a pad_token_id.
PADDING_POSITIONS = ("create_position_ids_from_input_ids",)


def _padding_index(config: Any, model_class: Any, report: Any) -> None:
    """A model whose modeling module counts position ids from the padding index, built from a config tree
    that leaves pad_token_id None (a checkpoint sets it), gets the lowest id no special token holds (the
    position ids it offsets stay low), on every config of the tree that declares pad_token_id unset."""
    module = inspect.getmodule(model_class)
    if not any(hasattr(module, name) for name in PADDING_POSITIONS):
        return
    unset = [(p, c) for p, c in config_tree(config) if "pad_token_id" in vars(c) and c.pad_token_id is None]
    taken = {v for _, c in config_tree(config) for a, v in vars(c).items()
             if a.endswith(("_token_id", "_token_index")) and isinstance(v, int) and not isinstance(v, bool)}
    for path, c in unset:
        c.pad_token_id = next(i for i in range(len(taken) + 1) if i not in taken)
        report.shrunk.append((f"{path}pad_token_id", None, c.pad_token_id))


#: Modality inputs that may need an extra axis (images per sample, channels), tried in this order.
_AXIS_INPUTS = ("pixel_values", "input_features", "input_values")


def _missing_axis(a: _Attempt, message: str, values: dict) -> tuple[str, Any]:
    """The modality input one axis short of what the error says the model wants, and its value."""
    for name in _AXIS_INPUTS:
        if name in values or name not in forward_params(a.model):
            continue
        tensor = build_one(a.model, a.config, name)
        if tensor is None:
            continue
        r = tensor.dim()
        unbatched = ", ".join(str(d) for d in tensor.shape)  # a convolution read the batch as channels
        wants = (f"expected {r + 1}, got {r}", f"must be a {r + 1}D tensor", f"range of [-{r}, {r - 1}], but got {r}",
                 f"expected input[1, {unbatched}]", f"too many indices for tensor of dimension {r}")
        if any(w in message for w in wants):
            return name, tensor
    return "", None


def _short_of_axes(a: _Attempt, message: str, values: dict) -> tuple[str, Any]:
    """The modality input with the axes the model found missing where it unpacked it ("not enough values to
    unpack (expected E, got G)") or gave it to a 2-D convolution ("input to conv2d, but got input of size:
    [N, F]"): flat patches get their (channels, patch, patch) axes back, as a patch convolution reads them;
    other inputs E - G axes of one after the batch (images per sample, tiles per image)."""
    unpack = re.search(r"not enough values to unpack \(expected (\d+), got (\d+)\)", message)
    conv = re.search(r"input to conv2d, but got input of size: \[(\d+), (\d+)\]", message)
    if not (unpack or conv):
        return "", None
    for name in (*_AXIS_INPUTS, "pixel_values_videos"):  # videos as flat patches alike
        if name in values or name not in forward_params(a.model):
            continue
        tensor = build_one(a.model, a.config, name)
        if tensor is None:
            continue
        patches = patch_axes(a.config, tensor)
        if conv:
            if patches is not None and list(tensor.shape) == [int(conv.group(1)), int(conv.group(2))]:
                return name, patches
            continue
        if patches is not None:  # every image's patches one packed sequence where the model unpacks more axes
            short = tensor.dim() + int(unpack.group(1)) - int(unpack.group(2)) - patches.dim()
            return name, patches.reshape(*[1] * short, *patches.shape) if short > 0 else patches
        return name, with_axes(a.config, tensor, int(unpack.group(1)) - int(unpack.group(2)))
    return "", None


def _linear_patches(a: _Attempt, message: str, values: dict) -> Any:
    """Images (batch, channels, height, width) cut into rows of flattened patches, (batch, patches, channels x
    patch x patch), where a linear layer read the image's width but wants the flattened patch ("mat1 and mat2
    shapes cannot be multiplied (N x width and channels x patch x patch x M)")."""
    m = _MATMUL_SHAPES.search(message)
    if not m or "pixel_values" in values or "pixel_values" not in forward_params(a.model):
        return None
    pixels = build_one(a.model, a.config, "pixel_values")
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
    return patches.reshape(batch, (h // ph) * (w // pw), c * ph * pw)


def _rows_per_sample(a: _Attempt, message: str, values: dict) -> tuple[str, Any] | None:
    """Flat rows (all samples' patches) grouped per sample, (batch, rows per sample, ...), where the model masks
    padded per-sample rows with a (batch, rows) mask and so read the row width as the rows ("The shape of the
    mask [B, W] at index 0 does not match the shape of the indexed tensor [R, W]")."""
    m = re.search(r"shape of the mask \[(\d+), (\d+)\] at index 0 does not match the shape of the indexed tensor "
                  r"\[(\d+), (\d+)", message)
    if not m:
        return None
    batch, width, rows = int(m.group(1)), int(m.group(2)), int(m.group(3))
    for name, tensor in a.inputs.items():
        if (name not in values and getattr(tensor, "ndim", 0) == 2 and list(tensor.shape) == [rows, width]
                and rows % batch == 0 and rows > batch):
            return name, tensor.reshape(batch, rows // batch, width)
    return None


def _frames_in_batch(a: _Attempt, message: str, values: dict) -> Any:
    """Images for a model that reads them as the frames of its videos flattened into the batch: it divided the
    batch by the frames per video of its config (num_frames = F) and found none ("shape '[0, F, D]' is
    invalid"), so each sample gets F frames."""
    import torch

    m = re.search(r"shape '\[0, (\d+), \d+\]' is invalid", message)
    pixels = a.inputs.get("pixel_values")
    if not m or "pixel_values" in values or getattr(pixels, "ndim", 0) != 4:
        return None
    frames = int(m.group(1))
    if frames < 2 or all(getattr(c, "num_frames", None) != frames for _, c in config_tree(a.config)):
        return None
    return torch.rand(pixels.shape[0] * frames, *pixels.shape[1:])


def _swapped_features(a: _Attempt, message: str, values: dict) -> Any:
    """Audio features with their last two axes swapped, when a convolution says it wants the feature
    axis as channels but got the time axis ("expected input[2, T, F] to have F channels"; a causal convolution
    may have padded the last axis first)."""
    if "input_features" in values or "input_features" not in forward_params(a.model):
        return None
    feats = build_one(a.model, a.config, "input_features")
    if feats is None or feats.dim() != 3:
        return None
    batch, time_, width = feats.shape
    if not re.search(rf"expected input\[{batch}, {time_}, \d+\] to have {width} channels", message):
        return None
    return feats.transpose(1, 2).contiguous()


def _padded_to_multiple(a: _Attempt, message: str, values: dict) -> tuple[str, Any] | None:
    """An input whose length the error says is "not a multiple of M", zero-padded on its last axis up to one."""
    m = re.search(r"`?(\w+)`? length (\d+) is not a multiple of (\d+)", message)
    tensor = a.inputs.get(m.group(1)) if m else None
    if m and tensor is None and m.group(1) in BUILDERS:  # raised while counting placeholders: not fed yet
        tensor = build_one(a.model, a.config, m.group(1))
    if tensor is None or m.group(1) in values or tensor.shape[-1] != int(m.group(2)):
        return None
    import torch

    step = int(m.group(3))
    return m.group(1), torch.nn.functional.pad(tensor, (0, -tensor.shape[-1] % step))


def _parallel_streams(a: _Attempt, message: str, values: dict) -> Any:
    """Token ids (batch, length) given a trailing axis of K parallel streams when the model adds K per-stream
    offsets to them ("size of tensor a (length) must match the size of tensor b (K) at non-singleton dimension 1");
    every stream holds the same valid ids."""
    ids = a.inputs.get("input_ids")
    if "input_ids" in values or ids is None or ids.dim() != 2:
        return None
    m = re.search(rf"size of tensor a \({ids.shape[1]}\) must match the size of tensor b \((\d+)\) at "
                  r"non-singleton dimension 1\b", message)
    if not m or int(m.group(1)) < 2:
        return None
    return ids.unsqueeze(-1).repeat(1, 1, int(m.group(1)))


def _features_as_long_as_audio(a: _Attempt, message: str, values: dict) -> Any:
    """Audio features (batch, frames, width) with as many frames as the model makes of the raw audio fed with
    them, when it joins the two and says "Expected size <frames> but got size <audio frames>"."""
    m = re.search(r"Sizes of tensors must match except in dimension \d+\. Expected size (\d+) but got size (\d+)",
                  message)
    feats = a.inputs.get("input_features")
    if not m or "input_features" in values or "input_values" not in a.inputs or feats is None or feats.dim() != 3:
        return None
    if feats.shape[1] != int(m.group(1)) or int(m.group(2)) < 1:
        return None
    import torch

    return torch.randn(feats.shape[0], int(m.group(2)), feats.shape[2]) * 0.1


def _wider_features(a: _Attempt, message: str, values: dict) -> Any:
    """Audio features (batch, frames, width) resized to the width the model reads them with: a linear layer
    that says "mat1 and mat2 shapes cannot be multiplied (N x got and wants x M)" makes the width
    width x wants / got (a front end that stacks frames, or convolutions that keep the width proportional);
    an elementwise layer on the last axis ("size of tensor a (wants) must match ... b (width) at
    non-singleton dimension 2", e.g. features read as embeddings) makes it its own width."""
    feats = a.inputs.get("input_features")
    if "input_features" in values or feats is None or feats.dim() != 3:
        return None
    width = feats.shape[-1]
    m = _MATMUL_SHAPES.search(message)
    got, wants = (int(m.group(2)), int(m.group(3))) if m else (0, 0)
    m = re.search(rf"size of tensor a \((\d+)\) must match the size of tensor b \({width}\) at non-singleton "
                  rf"dimension {feats.dim() - 1}\b", message)
    if m:
        got, wants = width, int(m.group(1))
    if not got or got == wants or (width * wants) % got:
        return None
    import torch

    return torch.randn(*feats.shape[:-1], width * wants // got) * 0.1  # small, as the input builders make them


def _embedded_ids(a: _Attempt, message: str, values: dict) -> Any:
    """Token embeddings for a model that refuses its ids ("`input_ids` is expected to be `None`") or has no
    table to embed them itself ("no attribute 'embed_tokens'"): the ids through the model's own input
    embedding where that is one table, else shaped as forward()'s docstring documents them."""
    import torch

    wants = re.search(r"`?input_ids`? is expected to be `?None`?|has no attribute 'embed_tokens'", message)
    ids = a.inputs.get("input_ids")
    if not wants or ids is None or {"input_ids", "inputs_embeds"} & values.keys() \
            or "inputs_embeds" not in forward_params(a.model):
        return None
    table = a.model.get_input_embeddings() if hasattr(a.model, "get_input_embeddings") else None
    if isinstance(table, torch.nn.Embedding) and int(ids.max()) < table.num_embeddings:
        with torch.no_grad():
            return table(ids)
    return build_documented(a.model, a.config, "inputs_embeds")


def _exclusive_input(a: _Attempt, message: str, values: dict) -> str | None:
    """Of two inputs a model takes only one of ("You cannot specify both X and Y"), the one to leave
    out: the one hfscan built (the later of the two when it built both)."""
    m = re.search(r"cannot specify both `?(\w+)`? and `?(\w+)`?", message)
    if not m:
        return None
    built = [n for n in (m.group(2), m.group(1)) if n in a.inputs and n not in values]
    return built[0] if built else None


def _needed_input(a: _Attempt, message: str, values: dict) -> tuple[str, Any] | None:
    """An argument forward() declares optional but the error says it needs ("`X` cannot be `None`",
    "`X` must be provided", "X must be given"), built as the docstring documents it."""
    m = re.search(r"`?(\w+)`? (?:cannot be `?None`?|must be provided|must be given)", message)
    if not m or m.group(1) in values or m.group(1) not in forward_params(a.model):
        return None
    tensor = build_documented(a.model, a.config, m.group(1))
    return (m.group(1), tensor) if tensor is not None else None


def _axis_size(message: str) -> int | None:
    """The size of the axis after the batch when the error spells the shape out: "(batch_size, 2, ...)"."""
    m = re.search(r"\(batch_size, (\d+),", message)
    return int(m.group(1)) if m else None


def _inputs_and_forward(job: Job, a: _Attempt, values: dict, dtype: Any) -> None:
    import torch

    a.stage = "inputs"
    inputs, a.input_report = build_inputs(a.model, a.config, job.task, templates()["default"], values,
                                          counts=a.counts, framed=a.framed)
    if a.input_report.unknown_required:
        raise TypeError(f"no input builder for required forward() argument(s) "
                        f"{', '.join(a.input_report.unknown_required)}")
    a.inputs = to_device(inputs, job.device, dtype)
    a.stage = "forward"
    a.entry = entry_name(a.model)
    with torch.no_grad():
        a.output = _run(a.model, a.config, a.inputs)


#: Inputs of forward() that generate makes itself (or that only a forward pass takes).
NOT_GENERATE_INPUTS = ("labels", "decoder_input_ids", "decoder_attention_mask", "use_cache")


#: New tokens a model run through its generate entry makes (each sub-model that generates makes as many).
ENTRY_NEW_TOKENS = 2


def _run(model: Any, config: Any, inputs: dict) -> Any:
    """The model run on ``inputs`` through its entry method: forward(), or, for a class without one, a
    seeded greedy ``generate`` of a few tokens (every ``*max_new_tokens`` and ``*do_sample`` argument of its
    signature set so, and passed on to its sub-models' generate where it takes ``**kwargs``)."""
    name = entry_name(model)
    if name == "forward":
        return model(**inputs)
    import torch

    method = getattr(model, name)
    params = inspect.signature(method).parameters
    settings = {n: ENTRY_NEW_TOKENS for n in params if n.endswith("max_new_tokens")}
    settings.update({n: False for n in params if n.endswith("do_sample")})
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        settings = {"max_new_tokens": ENTRY_NEW_TOKENS, "do_sample": False, **settings}
    _fill_generation_ids(model.generation_config, config)
    torch.manual_seed(0)
    return method(**{k: v for k, v in inputs.items() if k not in NOT_GENERATE_INPUTS}, **settings)


def _text_config(config: Any) -> Any:
    """The config of the model's text decoder (the config itself where it has no other)."""
    return config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config


def _expectations(job: Job, a: _Attempt) -> dict:
    tables = templates()["default"]
    text = _text_config(a.config)
    decoder_ids = a.inputs.get("decoder_input_ids")  # a decoder of parallel codebook streams has a row for each
    rows = BATCH
    if getattr(decoder_ids, "ndim", 0) == 2:  # (batch x codebooks, length)
        rows = decoder_ids.shape[0]
    elif getattr(decoder_ids, "ndim", 0) == 3:  # (batch, length, codebooks): logits flatten the codebooks alike
        rows = decoder_ids.shape[0] * decoder_ids.shape[2]
    rows = max(rows, documented_rows(a.model, a.inputs) or 0)  # a generator reading several rows per sample
    exp: dict = {"batch": rows}
    if job.task in tables["vocab_logit_tasks"]:
        emb = a.model.get_output_embeddings() if hasattr(a.model, "get_output_embeddings") else None
        exp["vocab"] = getattr(emb, "out_features", None) or getattr(text, "vocab_size", None)
    if job.task in tables["label_logit_tasks"]:
        exp["num_labels"] = a.config.num_labels
    exp["loss_expected"] = "labels" in a.inputs
    return exp


def _base(job: Job, check: str, **kw: Any) -> CheckResult:
    return CheckResult(model_type=job.model_type, check=check, model_class=job.model_class, task=job.task,
                       family=job.family, override_hash=job.override_hash, source=job.source, **kw)


def _failure(job: Job, check: str, a: _Attempt, override: Override | None, details: dict) -> CheckResult:
    exc = a.error
    assert exc is not None
    pkg = missing_package(exc)
    if pkg:
        return _base(job, check, status=Status.SKIPPED, stage=a.stage, message=_skip_message(pkg),
                     error_type=type(exc).__name__, details=json.dumps(details))
    expected = override is not None and override.expects_failure(check)
    status = Status.XFAIL if expected else Status.FAILED
    message = (str(exc).strip().splitlines() or [""])[0][:500]
    if expected:
        message = f"expected: {override.xfail} | {message}"
    return _base(job, check, status=status, stage=a.stage, error_type=type(exc).__name__, message=message,
                 traceback=a.tb, param_count=a.param_count, duration_s=sum(a.durations.values()),
                 details=json.dumps(details))


def _details(a: _Attempt, tried: list[_Attempt]) -> dict:
    d: dict = {"level": a.level}
    if a.report is not None:
        d["shrink"] = a.report.summary()
    d["inputs"] = C.shapes_of(a.inputs) if a.inputs else {}
    if a.output is not None:
        d["outputs"] = C.shapes_of(a.output)
    if a.input_report is not None:
        d["modalities"] = {"fed": a.input_report.fed, "accepted": a.input_report.accepted}
    if a.entry != "forward":
        d["entry"] = a.entry
    if len(tried) > 1:
        d["levels_tried"] = {t.level: (f"{type(t.error).__name__} at {t.stage}" if t.error else "ok") for t in tried}
    return d


def run_job(job: Job) -> Iterator[CheckResult]:
    """Run ``job``'s checks in this process, yielding one CheckResult per check as it finishes."""
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(1)
    hf_logging.disable_progress_bar()
    override = Override.from_json(job.override) if job.override else None
    tried: list[_Attempt] = []
    for level in levels():
        a = _filled_attempt(job, level, override)
        tried.append(a)
        if a.error is None or missing_package(a.error) or a.stage == "config":
            break
    good = next((t for t in tried if t.error is None), None)
    a = good or tried[0]
    details = _details(a, tried)
    done: dict[str, bool] = {}
    for check in [c for c in CHECKS if c in job.checks]:
        if check == "generate" and not is_generative(job.template, job.task):
            continue
        needs = _needs(check, done)
        if needs:
            yield _base(job, check, status=Status.SKIPPED, message=f"needs {needs}")
            done[check] = False
            continue
        if check == "generate" and a.model is not None and not hasattr(a.model, "generate"):
            yield _base(job, check, status=Status.SKIPPED,
                        message=f"not generative: {type(a.model).__name__} has no generate() (mapped to {job.task})")
            continue
        result = _run_check(job, check, a, override, details)
        done[check] = result.status in (Status.PASSED, Status.PARTIAL)
        yield result


def _needs(check: str, done: dict[str, bool]) -> str | None:
    """The earlier check that ``check`` needs and that did not pass."""
    order = ["build", "forward"] if check in ("save-load", "generate") else ["build"] if check == "forward" else []
    return next((c for c in order if c in done and not done[c]), None)


def _run_check(job: Job, check: str, a: _Attempt, override: Override | None, details: dict) -> CheckResult:
    build_failed = a.error is not None and a.stage in ("config", "build")
    if check == "build":
        if build_failed:
            return _failure(job, check, a, override, details)
        return _passed(job, check, a, a.durations.get("build", 0.0), details, override)
    if check == "forward":
        if a.error is not None:
            return _failure(job, check, a, override, details)
        return _forward_result(job, a, details, override)
    if a.error is not None:  # save-load / generate run only on a working forward
        return _failure(job, check, a, override, details)
    t0 = time.perf_counter()
    try:
        stage = "save"
        if check == "save-load":
            _save_load(job, a)
        else:
            stage = "generate"
            _generate(job, a)
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        failed = _Attempt(level=a.level, stage=getattr(exc, "stage", stage), error=exc, tb=traceback.format_exc(),
                          param_count=a.param_count, durations={check: time.perf_counter() - t0})
        return _failure(job, check, failed, override, details)
    return _passed(job, check, a, time.perf_counter() - t0, details, override)


def _passed(job: Job, check: str, a: _Attempt, duration: float, details: dict, override: Override | None,
            status: Status = Status.PASSED, message: str | None = None) -> CheckResult:
    if override and override.expects_failure(check) and status == Status.PASSED:
        message = f"passed although an override expects a failure: {override.xfail}"
    return _base(job, check, status=status, duration_s=duration, param_count=a.param_count, message=message,
                 details=json.dumps(details))


def _forward_result(job: Job, a: _Attempt, details: dict, override: Override | None) -> CheckResult:
    """Passed when every expected modality was fed together, else partial."""
    expected = _template(job.template)["modalities"]
    accepted = set(a.input_report.accepted)
    want = accepted if expected is None else set(expected) & accepted
    missing = sorted(want - set(a.input_report.fed))
    if missing:
        return _passed(job, "forward", a, a.durations.get("forward", 0.0), details, override,
                       status=Status.PARTIAL, message=f"ran without {', '.join(missing)} input")
    return _passed(job, "forward", a, a.durations.get("forward", 0.0), details, override)


def _save_load(job: Job, a: _Attempt) -> None:
    import torch

    cls = type(a.model)
    with tempfile.TemporaryDirectory(prefix="hfscan-") as tmp:
        a.model.save_pretrained(tmp)
        try:
            reloaded = cls.from_pretrained(tmp).to(job.device).to(getattr(torch, job.dtype)).eval()
        except Exception as exc:
            raise C.CheckFailure(f"from_pretrained: {type(exc).__name__}: {exc}", stage="load") from exc
    with torch.no_grad():
        torch.manual_seed(0)
        before = _run(a.model, a.config, a.inputs)
        torch.manual_seed(0)
        after = _run(reloaded, a.config, a.inputs)
    C.check_same(before, after)


def _generate(job: Job, a: _Attempt) -> None:
    """Greedy generate of one new token, then of as many more as one generation step makes (one token, or the block
    the first call made): the second output is the first grown by exactly that, each token laid out as the ids fed."""
    import torch

    inputs, step = _generation_inputs(job, a)
    _fill_generation_ids(a.model.generation_config, a.config)

    def generate(new: int) -> Any:
        torch.manual_seed(0)  # a decoder that starts a block from random tokens (or samples latents) starts alike
        with torch.no_grad():
            out = a.model.generate(**inputs, max_new_tokens=new, min_new_tokens=new, do_sample=False, num_beams=1)
        return out if isinstance(out, torch.Tensor) else out.sequences

    first = generate(1)
    unit = _generation_unit(a.model, first, inputs.get("input_ids"))
    C.check_generated(first, generate(1 + unit), BATCH, step=step, unit=unit)


def _generation_inputs(job: Job, a: _Attempt) -> tuple[dict, tuple[int, ...]]:
    """generate's inputs and the per-token axes of the ids it returns: forward's inputs less its targets (ids laid out
    as the decoder's, or the prompt's, ids fed); for a model whose generation step takes a modality forward does
    not (raw audio it encodes, as it goes, into the token frames forward reads), that modality alone (plain ids)."""
    params = inspect.signature(getattr(a.model, "prepare_inputs_for_generation", a.model.generate)).parameters
    own = [n for n in params if MODALITY_OF.get(n) not in (None, "text") and n not in forward_params(a.model)]
    if own:
        import torch

        return to_device({n: build_one(a.model, a.config, n) for n in own}, job.device, getattr(torch, job.dtype)), ()
    ids = a.inputs.get("decoder_input_ids" if getattr(a.config, "is_encoder_decoder", False) else "input_ids")
    inputs = {k: v for k, v in a.inputs.items() if k not in NOT_GENERATE_INPUTS}
    return inputs, tuple(ids.shape[2:]) if ids is not None else ()


def _generation_unit(model: Any, first: Any, prompt: Any) -> int:
    """New tokens one generation step makes: one, unless the model's generation config declares no token-by-token
    generation mode (a block diffusion decoder makes a whole block per step): then those the first call added."""
    try:
        model.generation_config.get_generation_mode()
    except NotImplementedError:
        return max(1, first.shape[1] - prompt.shape[1]) if prompt is not None else 1
    return 1


def _fill_generation_ids(gen_cfg: Any, config: Any) -> None:
    """Special ids generate needs but a random-weight config may leave unset, taken from the config."""
    text = _text_config(config)

    def first(*names: str) -> Any:
        for cfg in (config, text):
            for name in names:
                value = getattr(cfg, name, None)
                if value is not None:
                    return value[0] if isinstance(value, list) and value else value
        return None

    if gen_cfg.pad_token_id is None:
        gen_cfg.pad_token_id = first("pad_token_id", "eos_token_id")
        if gen_cfg.pad_token_id is None:
            gen_cfg.pad_token_id = 0
    gen_cfg.forced_eos_token_id = None  # forces EOS at max length: a length-dependent output
    if getattr(config, "is_encoder_decoder", False) and gen_cfg.decoder_start_token_id is None:
        start = first("decoder_start_token_id", "bos_token_id")
        gen_cfg.decoder_start_token_id = gen_cfg.pad_token_id if start is None else start
