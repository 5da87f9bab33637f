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
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import re
import textwrap
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

BATCH = 2
SEQ = 8
AUDIO_SAMPLES = 8000
AUDIO_FRAMES = 64
TIME_STEPS = 16

#: forward() argument -> modality it feeds.
MODALITY_OF = {
    "input_ids": "text",
    "pixel_values": "image",
    "input_values": "audio",
    "input_features": "audio",
    "audio_values": "audio",
    "input_audio_features": "audio",
    "audio_mel": "audio",
    "pixel_values_videos": "video",
    "flattened_patches": "image",
    "past_values": "time-series",
}


def _is_int(v: Any) -> bool:
    """Whether ``v`` is an int (a bool is not)."""
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass
class Context:
    """What builders may read: the model, its config (normalised views) and the task."""

    model: Any
    config: Any
    task: str
    torch: Any
    built: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # forward()'s parameters
    counts: dict = field(default_factory=dict)  # modality -> placeholder tokens in all, where already known
    framed: set = field(default_factory=set)  # modalities whose placeholders are image tokens in their frame
    given: set = field(default_factory=set)  # inputs given as values (an override's, a repair's), not built

    def find(self, *names: str, default: Any = None, where: str = "any") -> Any:
        """The first attribute of ``names`` set on the config or (breadth first) a sub-config."""
        for cfg in self._configs(where):
            for name in names:
                value = getattr(cfg, name, None)
                if value is not None and not callable(value):
                    return value
        return default

    def _configs(self, where: str):
        from transformers import PretrainedConfig

        prefer = {"text": ("text_config", "decoder", "language_config", "llm_config"),
                  "vision": ("vision_config", "encoder", "backbone_config", "image_config", "visual"),
                  "audio": ("audio_config", "encoder", "speech_config")}.get(where, ())
        queue = [getattr(self.config, p) for p in prefer if isinstance(getattr(self.config, p, None), PretrainedConfig)]
        queue.append(self.config)
        seen = []
        while queue:
            cfg = queue.pop(0)
            if any(cfg is s for s in seen):
                continue
            seen.append(cfg)
            yield cfg
            queue.extend(v for v in vars(cfg).values() if isinstance(v, PretrainedConfig))

    @property
    def vocab(self) -> int:
        """Ids valid both as input and as a label: the input table's size, capped by a narrower output head
        (an input table may hold extra rows, e.g. prompt embeddings, that the head does not predict)."""
        emb = _input_embeddings(self.model)
        if emb is not None and hasattr(emb, "num_embeddings"):
            head = _output_embeddings(self.model)
            return min(int(emb.num_embeddings), int(getattr(head, "out_features", None) or emb.num_embeddings))
        return int(self.find("vocab_size", default=64, where="text"))

    def special_ids(self) -> set[int]:
        out: set[int] = set()
        for cfg in self._configs("any"):
            for attr, value in vars(cfg).items():
                if attr.endswith(("_token_id", "_token_index", "_token_ids")):
                    values = value if isinstance(value, (list, tuple)) else [value]
                    out.update(v for v in values if _is_int(v))
        return out

    def tokens(self, *shape: int):
        """Random token ids inside the vocabulary that are never a special token."""
        torch = self.torch
        vocab = self.vocab
        special = self.special_ids()  # once: it walks the whole config tree
        allowed = [i for i in range(min(vocab, 4096)) if i not in special] or [0]
        idx = torch.randint(0, len(allowed), shape)
        return torch.tensor(allowed)[idx]


def to_device(value: Any, device: Any, dtype: Any) -> Any:
    """``value`` with every tensor in it (inside lists, tuples, dicts and dataclass inputs too) on ``device``,
    floating ones cast to ``dtype``; anything else unchanged."""
    import torch

    if isinstance(value, torch.Tensor):
        value = value.to(device)
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: to_device(v, device, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(to_device(v, device, dtype) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. a featurizer's bundled tensors
        return dataclasses.replace(value, **{f.name: to_device(getattr(value, f.name), device, dtype)
                                             for f in dataclasses.fields(value) if f.init})
    return value


def _model_placement(model: Any) -> tuple[Any, Any]:
    """The device and floating dtype of a model's parameters (CPU and float32 for one without any)."""
    import torch

    params = [p for p in model.parameters() if p.is_floating_point()]
    return (params[0].device, params[0].dtype) if params else (torch.device("cpu"), torch.float32)


def _input_embeddings(model: Any) -> Any:
    try:
        return model.get_input_embeddings()
    except (NotImplementedError, AttributeError, TypeError):
        return None


def _output_embeddings(model: Any) -> Any:
    try:
        return model.get_output_embeddings()
    except (NotImplementedError, AttributeError, TypeError):
        return None


def _size2(value: Any, default: int) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and value:
        return (int(value[-2]), int(value[-1])) if len(value) >= 2 else (int(value[0]), int(value[0]))
    if isinstance(value, dict):
        h = value.get("height") or value.get("shortest_edge") or default
        return int(h), int(value.get("width") or h)
    return (int(value), int(value)) if isinstance(value, int) else (default, default)


Builder = Callable[[Context], Any]
BUILDERS: dict[str, Builder] = {}


def builder(*names: str) -> Callable[[Builder], Builder]:
    """Register a builder for the forward() arguments ``names``."""

    def register(fn: Builder) -> Builder:
        for name in names:
            BUILDERS[name] = fn
        return fn

    return register


def image_hw(ctx: Context) -> tuple[int, int]:
    """The size of a synthetic image: the vision config's; where the tower reads each image at its own size (its
    feature method requires image_sizes and no tile grid is set), that is the largest it takes and an image of
    ANY_SIZE_PATCHES merged patches a side is fed instead (a 1540-pixel image made a 3000-token prompt).
    A VQ autoencoder that declares no image size but its latent grid side (num_patches) and per-level channel
    multipliers (halving the image between levels) takes images of that grid times its downsampling."""
    size = ctx.find("image_size", "input_size", "img_size", where="vision")
    grid, levels = (getattr(ctx.config, a, None) for a in ("num_patches", "channel_multiplier"))
    if size is None and isinstance(grid, int) and isinstance(levels, (list, tuple)) and levels:
        size = grid * 2 ** (len(levels) - 1)
    h, w = _size2(size or 64, 64)
    if "image_sizes" in feature_args(ctx.model, required=True) and not ctx.find("image_grid_pinpoints"):
        patch = _size2(ctx.find("patch_size", default=14, where="vision"), 14)
        merge = _merge_size(ctx)
        return min(h, ANY_SIZE_PATCHES * merge * patch[0]), min(w, ANY_SIZE_PATCHES * merge * patch[1])
    return h, w


#: Merged patches a side of an image fed to a tower that takes images of any size.
ANY_SIZE_PATCHES = 4


def _merge_size(ctx: Context) -> int:
    """Patches a side that the vision tower merges into one token (1 where it merges none)."""
    return int(ctx.find("spatial_merge_size", "merge_size", default=1, where="vision") or 1)


GRID_ARGS = {"pixel_values": ("image_grid_thw", "grid_thw", "image_grid_hw"),
             "pixel_values_videos": ("video_grid_thw", "grid_thw"), "hidden_states": ("grid_thw",)}


def _grid(ctx: Context, video: bool = False) -> tuple[int, int, int]:
    """(t, h, w) in patches of one image whose sides are a whole number of merged patches (a video's frames
    the frames a model merges, where it merges them)."""
    merge = _merge_size(ctx)
    frames = int(ctx.find("temporal_merge_size", default=1, where="vision") or 1) if video else 1
    return frames, 2 * merge, 2 * merge


def _flat_patches(ctx: Context, video: bool = False):
    """Pixels as a grid model takes them: (patches of all images, channels x temporal x patch x patch)."""
    t, h, w = _grid(ctx, video)
    channels = int(ctx.find("in_channels", "num_channels", "in_chans", default=3, where="vision"))
    temporal = ctx.find("temporal_patch_size", "patch_temporal", default=1, where="vision") or 1
    temporal = int(temporal[0] if isinstance(temporal, (list, tuple)) else temporal)
    patch = _size2(ctx.find("patch_size", default=14, where="vision"), 14)
    rows = _documented_rows(ctx)
    if rows:  # each row laid out as the tower documents it, e.g. (merged patch, merged patch, channels)
        return ctx.torch.rand(BATCH * t * h * w, *(_documented_size(ctx, d) for d in rows))
    return ctx.torch.rand(BATCH * t * h * w, channels * temporal * patch[0] * patch[1])


def _documented_rows(ctx: Context) -> list[str] | None:
    """The axes of one row of flat pixels where a submodule (the vision tower) documents them with more than
    one axis and a first axis that counts patches or tokens, not images: ``(num_image_tokens, patch_size *
    spatial_merge_size, patch_size * spatial_merge_size, num_channels)`` -> its last three."""
    for cls in {type(m) for m in ctx.model.modules()} if hasattr(ctx.model, "modules") else ():
        dims = documented_dims(cls, "pixel_values")
        if dims and len(dims) > 2 and dims[0].startswith("num_"):
            return dims[1:]
    return None


def _takes_grid(ctx: Context, name: str) -> bool:
    return any(g in ctx.params for g in GRID_ARGS.get(name, ()))


@builder("image_grid_thw", "grid_thw")
def _grid_thw(ctx: Context):
    return ctx.torch.tensor([list(_grid(ctx))] * BATCH * _grids_per_image(ctx))


@builder("image_grid_hw")
def _grid_hw(ctx: Context):
    """The (height, width) patch grid of each image: the rows of ``image_grid_thw`` without their time."""
    return _grid_thw(ctx)[:, 1:]


def _grids_per_image(ctx: Context) -> int:
    """Grid rows per image fed: two where forward() documents its per-sample image count as including target
    grids (an image generator is told the grid of the image it makes after the grids of the images it reads,
    and gets no pixels for it), else one."""
    return 2 if re.search(r"\bincluding target grids?\b", documented_arg(ctx.model, "images_per_sample")) else 1


@builder("images_per_sample")
def _images_per_sample(ctx: Context):
    """Grid rows of each sample (forward() splits the grids by sample with it): one image each, and its target
    where forward() counts one."""
    return ctx.torch.full((BATCH,), _grids_per_image(ctx), dtype=ctx.torch.long)


@builder("video_grid_thw")
def _video_grid_thw(ctx: Context):
    return ctx.torch.tensor([list(_grid(ctx, video=True))] * BATCH)


@builder("hidden_states")
def _hidden_states(ctx: Context):
    return _flat_patches(ctx) if _takes_grid(ctx, "hidden_states") else None


#: Patches per image where forward() takes every image's patches as rows: (num_patches, patch width).
FLAT_PATCHES = 4


@builder("pixel_values")
def _pixel_values(ctx: Context):
    if _takes_grid(ctx, "pixel_values"):
        return _flat_patches(ctx)
    if _packed_side(ctx):
        return _packed_patches(ctx)
    if _position_grid(ctx):
        return _positioned_patches(ctx)
    documented = documented_dims(ctx.model, "pixel_values")
    if documented and len(documented) == 2 and documented[0].startswith("num_"):  # every image's patches as rows
        return ctx.torch.rand(BATCH * FLAT_PATCHES, _documented_size(ctx, documented[1]))
    channels = ctx.find("num_channels", "in_channels", "input_channels", default=3, where="vision")
    if side := _native_grid(ctx):  # patches at their native aspect: (batch, patches, channels x patch x patch)
        patch = _size2(ctx.find("patch_size", default=16, where="vision"), 16)
        return ctx.torch.rand(BATCH, side ** 2, int(channels) * patch[0] * patch[1])
    h, w = image_hw(ctx)
    tiles = _anyres(ctx)
    if tiles:  # an "any resolution" model: the base image and the tiles of its grid pinpoint, per sample
        return ctx.torch.rand(BATCH, 1 + tiles[1], int(channels), h, w)
    pixels = ctx.torch.rand(BATCH, int(channels), h, w)
    documented = (documented_dims(fn, "pixel_values") for fn in _feature_methods(ctx.model, "image"))
    return pixels.unsqueeze(1) if any(d and len(d) == 5 for d in documented) else pixels


def _anyres(ctx: Context) -> tuple[list[int], int] | None:
    """For a config with ``image_grid_pinpoints``: an original image size equal to its first pinpoint,
    and how many tiles of the vision tower's size that pinpoint holds."""
    pinpoints = ctx.find("image_grid_pinpoints")
    if not pinpoints or not isinstance(pinpoints[0], (list, tuple)):
        return None
    h, w = image_hw(ctx)
    first = [int(v) for v in pinpoints[0]]
    return first, max(1, first[0] // h) * max(1, first[1] // w)


@builder("image_sizes")
def _image_sizes(ctx: Context):
    """(height, width) of each synthetic image, as processors report the size before resizing; only for a
    model whose image features need it (an optional one may select a code path the vision tower lacks)."""
    pixels = ctx.built.get("pixel_values")
    if pixels is None or pixels.dim() < 4 or "image_sizes" not in feature_args(ctx.model, required=True):
        return None
    tiles = _anyres(ctx)
    return ctx.torch.tensor([tiles[0] if tiles else list(pixels.shape[-2:])] * BATCH)


@builder("prompt_pixel_values", "prompt_masks")
def _prompt_images(ctx: Context):
    """An in-context prompt image and its mask: images like the pixels the model takes."""
    return _pixel_values(ctx)


@builder("task_inputs")
def _task_inputs(ctx: Context):
    """The token ids of a task prompt, as long as the config's task sequence."""
    return ctx.tokens(BATCH, int(ctx.find("task_seq_len", default=SEQ)))


def _native_grid(ctx: Context) -> int | None:
    """The side of a square patch grid for a model that takes patches with their ``spatial_shapes``
    (sized from the config's ``num_patches``); None for other models."""
    if "spatial_shapes" not in ctx.params and "spatial_shapes" not in feature_args(ctx.model):
        return None
    return math.isqrt(int(ctx.find("num_patches", default=64, where="vision")))


def _packed_side(ctx: Context) -> int | None:
    """For a model that takes NaViT-packed images with their ``target_sizes`` (patch grids), the side of
    each image's square grid: twice the merge windows the config names, so every merge divides it."""
    if "target_sizes" not in ctx.params and "target_sizes" not in feature_args(ctx.model):
        return None
    side = 2
    for name in ("window_kernel_size", "merge_kernel_size"):
        side *= _size2(ctx.find(name, default=1), 1)[0]
    return side


def _packed_patches(ctx: Context):
    """Every image's patches in one row, as NaViT packers lay them out: (1, channels, patch, patches x patch)."""
    side = _packed_side(ctx)
    channels = int(ctx.find("num_channels", "in_channels", default=3, where="vision"))
    patch = _size2(ctx.find("patch_size", default=14, where="vision"), 14)[0]
    return ctx.torch.rand(1, channels, patch, BATCH * side * side * patch)


@builder("target_sizes", "target_sizes_videos")
def _target_sizes(ctx: Context):
    """The (height, width) patch grid of each packed image (a video's packed frames alike)."""
    side = _packed_side(ctx)
    return None if side is None else ctx.torch.tensor([[side, side]] * BATCH, dtype=ctx.torch.int32)


#: Arguments that give flat patches their (x, y) positions in the image's patch grid.
_POSITION_ARGS = ("pixel_position_ids", "image_position_ids", "video_position_ids")


def _position_grid(ctx: Context) -> int | None:
    """For a model that takes flat patches with their (x, y) grid positions, the side of each image's square
    patch grid: twice the pooling kernel, which must divide it; None for other models."""
    if not (set(ctx.params) | feature_args(ctx.model)) & set(_POSITION_ARGS):
        return None
    return 2 * int(ctx.find("pooling_kernel_size", default=1, where="vision") or 1)


def _positioned_patches(ctx: Context):
    """Flat patches: (batch, patches, channels x patch x patch), of the model's own (merged) patch size where
    the config declares one."""
    side = _position_grid(ctx)
    channels = int(ctx.find("num_channels", "in_channels", default=3, where="vision"))
    patch = _size2(ctx.find("model_patch_size", "patch_size", default=16, where="vision"), 16)
    return ctx.torch.rand(BATCH, side * side, channels * patch[0] * patch[1])


@builder(*_POSITION_ARGS)
def _patch_positions(ctx: Context):
    """The (x, y) position of every patch in its square grid, row by row."""
    side = _position_grid(ctx)
    if side is None:
        return None
    ys, xs = ctx.torch.meshgrid(ctx.torch.arange(side), ctx.torch.arange(side), indexing="ij")
    return ctx.torch.stack([xs.flatten(), ys.flatten()], dim=-1).expand(BATCH, -1, -1).clone()


@builder("num_frames_per_video")
def _frames_per_video(ctx: Context):
    """One frame per video, for videos whose frames come concatenated along one axis."""
    return ctx.torch.ones(BATCH, dtype=ctx.torch.long) if "pixel_values_videos" in ctx.built else None


@builder("image_merge_sizes", "video_merge_sizes", "merge_sizes")
def _merge_sizes(ctx: Context):
    """The spatial merge size of each image (or video) whose grid ``_grid`` gives."""
    merge = _merge_size(ctx)
    return ctx.torch.tensor([merge] * BATCH)


@builder("spatial_shapes")
def _spatial_shapes(ctx: Context):
    grid = _native_grid(ctx)
    return None if grid is None else ctx.torch.tensor([[grid, grid]] * BATCH)


@builder("pixel_attention_mask")
def _patch_mask(ctx: Context):
    """Every patch real, for a model that takes patches with their spatial shapes."""
    grid = _native_grid(ctx)
    return None if grid is None else ctx.torch.ones(BATCH, grid * grid, dtype=ctx.torch.long)


@builder("high_res_pixel_values")
def _high_res_pixels(ctx: Context):
    """Images for a second, high-resolution tower, sized from its own ``high_res_vision_config``."""
    cfg = getattr(ctx.config, "high_res_vision_config", None)
    if cfg is None:
        return None
    h, w = _size2(getattr(cfg, "image_size", 64), 64)
    return ctx.torch.rand(BATCH, int(getattr(cfg, "num_channels", 3)), h, w)


@builder("pixel_mask")
def _pixel_mask(ctx: Context):
    h, w = image_hw(ctx)
    return ctx.torch.ones(BATCH, h, w, dtype=ctx.torch.long)


@builder("pixel_values_videos")
def _videos(ctx: Context):
    if _takes_grid(ctx, "pixel_values_videos"):
        return _flat_patches(ctx, video=True)
    if _packed_side(ctx):
        return _packed_patches(ctx)
    if _position_grid(ctx):  # one frame per video
        return _positioned_patches(ctx)
    channels = ctx.find("num_channels", default=3, where="vision")
    frames = ctx.find("num_frames", default=2, where="vision")
    h, w = image_hw(ctx)
    return ctx.torch.rand(BATCH, int(frames), int(channels), h, w)


def _alternative_inputs(ctx: Context) -> set[str]:
    """Modality inputs the model takes only instead of another one fed, left out: videos where it also takes
    images but scatters video features onto image placeholders, telling the two apart only by which pixel
    argument a call passes (it has a video feature method, but its module reads no video placeholder token:
    ``video_token_id``, ``video_start_token_id``, ...)."""
    reads_video_token = re.search(r"\bvideo_\w*token", _source(ctx.model))
    if "pixel_values" in ctx.params and _feature_methods(ctx.model, "video") and not reads_video_token:
        return {"pixel_values_videos"}
    return set()


@builder("input_values", "audio_values")
def _input_values(ctx: Context):
    """Raw audio: (batch, samples), or the shape forward()'s documentation gives, dims sized from the config."""
    dims = documented_dims(ctx.model, "input_values")
    if dims and len(dims) > 2:
        shape = tuple(_dim_size(ctx, d, i) for i, d in enumerate(dims))
    else:
        channels = ctx.find("audio_channels", where="audio") or getattr(getattr(ctx.config, "audio_config", None),
                                                                         "channels", None)  # an audio tower's own
        shape = (BATCH, int(channels), AUDIO_SAMPLES) if channels else (BATCH, AUDIO_SAMPLES)
    return ctx.torch.randn(*shape) * 0.1


#: The public method a model without a forward() of its own is run through.
ENTRY_METHOD = "generate"


def entry_name(model: Any) -> str:
    """``forward``, or :data:`ENTRY_METHOD` where the model's class (or the class given) keeps nn.Module's
    placeholder forward() and has that method."""
    import torch

    cls = model if isinstance(model, type) else type(model)
    if getattr(cls, "forward", None) is torch.nn.Module.forward and callable(getattr(cls, ENTRY_METHOD, None)):
        return ENTRY_METHOD
    return "forward"


def fed_submodule(model: Any) -> Any:
    """The sub-model that a model's entry method hands its token ids to (``self.thinker.generate(input_ids=
    input_ids, ...)``), first in the entry's source; None for a model run through forward()."""
    import torch

    name = entry_name(model)
    if name == "forward":
        return None
    method = getattr(model, name)
    first = next(iter(inspect.signature(method).parameters), None)
    for attr in _self_calls_passing(getattr(method, "__func__", method), first):
        sub = getattr(model, attr, None)
        if isinstance(sub, torch.nn.Module):
            return sub
    return None


@lru_cache(maxsize=None)
def _self_calls_passing(func: Callable, arg: str | None) -> tuple[str, ...]:
    """The attributes ``x`` of the calls ``self.x(...)`` or ``self.x.method(...)`` in ``func``'s source that pass
    ``arg`` on, in source order (the source parsed once per function); empty where it has no readable source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return ()
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    out = []
    for call in calls:
        if not any(isinstance(v, ast.Name) and v.id == arg for v in [*call.args, *(k.value for k in call.keywords)]):
            continue
        target = call.func.value if isinstance(call.func, ast.Attribute) and isinstance(call.func.value,
                                                                                         ast.Attribute) else call.func
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            out.append(target.attr)
    return tuple(out)


def _doc(model: Any) -> str:
    """The docstring of the method a model is run through (forward(); or its entry method, then the forward()
    of the sub-model that one feeds), or of a method given in its place."""
    if not hasattr(model, "forward"):
        return getattr(model, "__doc__", None) or ""
    fed = fed_submodule(model) if not isinstance(model, type) else None
    methods = [getattr(model, entry_name(model))] + ([fed.forward] if fed is not None else [])
    return "\n".join(getattr(m, "__doc__", None) or "" for m in methods)


def documented_dims(model: Any, arg: str) -> list[str] | None:
    """The dimension names of ``arg`` in forward()'s docstring: "`(batch_size, 1, time_steps)`" -> [...]
    (square brackets alike; a dimension may be an expression such as ``dim * len(config.layer_ids)``).  A
    dataclass's docstring may give a field's shape first: "arg: `(batch_size, num_atoms, 3)` ..."."""
    doc = _doc(model)
    m = re.search(rf"\b{re.escape(arg)} \(`[^`]*`[^)]*?of shape `?([(\[])", doc)
    if not m:  # the shape in the argument's description: "arg (`torch.Tensor`):\n  ... of shape `(...)`"
        m = re.search(rf"\b{re.escape(arg)} \(`[^`]*`\):(?:(?!\n\s*\w+ \(`)[\s\S])*?of shape `?([(\[])", doc)
    if not m:
        m = re.search(rf"(?:^|\n)\s*{re.escape(arg)}: `([(\[])", doc)
    if not m:
        return None
    dims, depth, part = [], 0, ""
    for ch in doc[m.end():]:
        if ch in ")]" and depth == 0:
            return [d for d in (*dims, part.strip()) if d]
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            dims.append(part.strip())
            part = ""
        else:
            part += ch
    return None


#: Size of a documented dimension that no config attribute names (frames, regions, ...).
FREE_DIM = 8


def documented_tensor(ctx: Context, arg: str) -> Any:
    """A float tensor for a required ``arg`` that no builder knows, shaped as forward()'s docstring
    documents it: each dimension is the config attribute of that name (``hidden_size``), a literal
    number, or a small free size.  None when the docstring gives no shape."""
    dims = documented_dims(ctx.model, arg)
    if not dims:
        return None
    rows = re.fullmatch(r"batch_size\s*\*\s*(.+)", dims[0])  # several rows per sample: (batch_size * config.n_docs)
    shape = [BATCH * (_documented_size(ctx, rows.group(1)) if rows else 1)]
    shape += [_documented_size(ctx, name) for name in dims[1:]]
    torch = ctx.torch
    if arg.endswith("_mask"):  # of the documented type: a boolean mask may index
        boolean = (re.search(rf"\b{re.escape(arg)} \(`torch\.BoolTensor`", _doc(ctx.model))
                   or _passed_as_bool(ctx.model, arg))
        return torch.ones(*shape, dtype=torch.bool if boolean else torch.long)
    classes = _one_hot_classes(ctx.model).get(arg)
    if classes is not None:  # class ids the model one-hot encodes itself (a documented one-hot axis is its work)
        return torch.zeros(*(shape[:-1] if dims[-1].removeprefix("config.") == classes else shape), dtype=torch.long)
    if arg.endswith(("_ids", "_id", "_idx", "_index", "_indices", "timesteps")) or _INDEX_DOC.search(
            documented_arg(ctx.model, arg)):
        return torch.zeros(*shape, dtype=torch.long)  # index 0 exists in every table
    if len(shape) == 1 and re.search(rf"\b{re.escape(arg)} \(`?torch\.LongTensor", _doc(ctx.model)):
        return torch.ones(*shape, dtype=torch.long)  # an integer per sample (a count: one of each row fed)
    return torch.randn(*shape) * 0.1


def documented_rows(model: Any, inputs: dict) -> int | None:
    """Rows of the built inputs forward()'s docstring documents as several per sample (``(batch_size *
    config.n_docs, length)``: one row per retrieved document), which a generator reading them keeps; None
    where no input is documented so."""
    rows = [int(value.shape[0]) for name, value in inputs.items() if getattr(value, "ndim", 0)
            and re.fullmatch(r"batch_size\s*\*.+", (documented_dims(model, name) or [""])[0])]
    return max(rows) if rows else None


def documented_arg(model: Any, arg: str) -> str:
    """The entry of ``arg`` in forward()'s docstring (its line and description; a dataclass's ``arg: `(...)` ...``
    entry alike); "" where it has none."""
    doc = _doc(model)
    m = (re.search(rf"\n\s*{re.escape(arg)} \(`(?:(?!\n\s*\w+ \(`)[\s\S])*", doc)
         or re.search(rf"\n\s*{re.escape(arg)}: `(?:(?!\n\s*\w+: `)[\s\S])*", doc))
    return m.group(0) if m else ""


#: A documented tensor that holds integers: indices ("index of the token each atom belongs to", "index for each
#: token") or codes it enumerates ("``0`` = protein, ``1`` = DNA": zeros are the first code).
_INDEX_DOC = re.compile(r"\bindex (?:of|for) (?:the|each)\b|`0`+ = ")


def _source(model: Any) -> str:
    """The source of the module that defines ``model``'s class (or ``model``, a class); "" where none is found."""
    return _module_source((model if isinstance(model, type) else type(model)).__module__)


@lru_cache(maxsize=None)
def _module_source(name: str) -> str:
    """The source of a loaded module, read once; "" where it is not loaded or has no source file."""
    import sys

    try:
        return inspect.getsource(sys.modules[name])
    except (KeyError, OSError, TypeError):
        return ""


def _one_hot_classes(model: Any) -> dict[str, str]:
    """Names that the model's module one-hot encodes with a class count from its config
    (``F.one_hot(ref_element, num_classes=self.config.max_atomic_number)``): {name: config attribute}; an input of
    that name holds class ids, whatever form its docstring documents (the encoded one)."""
    pattern = r"one_hot\(\s*(\w+)\s*,\s*(?:num_classes\s*=\s*)?self\.config\.(\w+)\s*\)"
    return dict(re.findall(pattern, _source(model)))


def _passed_as_bool(model: Any, arg: str) -> bool:
    """Whether the model's module passes ``arg`` on as a keyword that a docstring there documents as boolean
    (``atom_mask=atom_inputs.atom_attention_mask`` into a function documenting ``atom_mask: `(...)` bool``)."""
    src = _source(model)
    keywords = set(re.findall(rf"\b(\w+)=[\w.]*\b{re.escape(arg)}\b", src))
    return any(re.search(rf"\b{re.escape(k)}(?: \(`torch\.BoolTensor`|: `[^`]*` bool\b)", src) for k in keywords)


def documented_required(model: Any, arg: str) -> bool:
    """Whether forward()'s docstring says an optional ``arg`` "has to be provided" (where the model lacks a
    component that would compute it, e.g. a retriever's documents)."""
    return bool(re.search(r"\bha(?:s|ve) to be\s+provided\b", documented_arg(model, arg)))


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


#: Documented dimension names that mean a config attribute of another name.
_DIM_ALIASES = {"dim": "hidden_size"}


#: Documented dimensions that are an axis of an input already built: (input, axis, trailing axes it is not
#: among): images per sample and tiles per image are the pixels' (one where the pixels lack that axis).
_BUILT_AXES = {"max_num_images": ("pixel_values", 1, 3), "num_images": ("pixel_values", 1, 3),
               "max_num_tiles": ("pixel_values", 2, 3), "num_tiles": ("pixel_values", 2, 3),
               "seq_length": ("input_ids", 1, 0), "sequence_length": ("input_ids", 1, 0)}


def _documented_size(ctx: Context, expr: str) -> int:
    """A documented dimension's size: a number, a config attribute (``config.`` optional), or a product of
    those and ``len()`` of config lists; a small free size where the config names none."""
    axis = _BUILT_AXES.get(expr)
    if axis is not None:
        built = ctx.built.get(axis[0])
        if built is not None and axis[1] < built.dim() - axis[2]:
            return int(built.shape[axis[1]])
        return 1 if axis[0] == "pixel_values" else FREE_DIM

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "config":
            return ctx.find(node.attr)
        if isinstance(node, ast.Name):
            return ctx.find(_DIM_ALIASES.get(node.id, node.id))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Pow)):
            left, right = value(node.left), value(node.right)
            if not (isinstance(left, int) and isinstance(right, int)):
                return None
            return left * right if isinstance(node.op, ast.Mult) else left ** right
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "len" and len(node.args) == 1:
            items = value(node.args[0])
            return len(items) if isinstance(items, (list, tuple)) else None
        return None

    try:
        size = value(ast.parse(expr, mode="eval").body)
    except SyntaxError:
        size = None
    return size if _is_int(size) and size > 0 else FREE_DIM


#: Documented dimension names that mean the length of raw audio.
_SAMPLE_DIMS = ("sequence_length", "time_steps", "num_samples", "audio_length")


def _dim_size(ctx: Context, name: str, index: int) -> int:
    if index == 0:
        return BATCH
    if name.isdigit():
        return int(name)
    if name in _SAMPLE_DIMS:
        return AUDIO_SAMPLES
    aliases = {"channels": ("audio_channels", "num_channels"), "num_channels": ("audio_channels", "num_channels")}
    value = ctx.find(*aliases.get(name, (name,)), where="audio")
    return int(value) if _is_int(value) else 1


def _feature_width(ctx: Context) -> int:
    """Features per audio frame (a front end that stacks frames declares the stacked width as input_size);
    where no config attribute names it, the width the model type's feature extractor produces."""
    width = ctx.find("input_size", "feature_projection_input_dim", "num_mel_bins", "feature_size", "n_mels",
                     "input_feat_per_channel", "num_chroma", "input_feat_size", where="audio")
    return int(width or extractor_width(getattr(ctx.config, "model_type", "")) or 80)


@lru_cache(maxsize=None)
def _extractor(model_type: str) -> Any:
    """The model type's default feature extractor; None where there is none or it cannot be built here."""
    import transformers
    from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING_NAMES

    owner = next((t for t in (model_type, *_composite_types(model_type)) if t in FEATURE_EXTRACTOR_MAPPING_NAMES), "")
    name = FEATURE_EXTRACTOR_MAPPING_NAMES.get(owner)
    cls = getattr(transformers, name[0] if isinstance(name, tuple) else name or "", None)
    try:
        return cls() if cls is not None else None
    except (ImportError, TypeError, ValueError):  # an extractor that needs a missing package or arguments
        return None


def _composite_types(model_type: str) -> list[str]:
    """The model types whose config class (of the same configuration module) takes ``model_type``'s config
    class as a sub-config: a tower's composite, whose processor prepares the tower's inputs."""
    import sys

    from transformers import CONFIG_MAPPING

    cls = CONFIG_MAPPING[model_type] if model_type in CONFIG_MAPPING else None
    module = sys.modules.get(getattr(cls, "__module__", ""))
    return [c.model_type for c in vars(module).values() if isinstance(c, type) and isinstance(
        getattr(c, "sub_configs", None), dict) and cls in c.sub_configs.values()] if module else []


def extractor_width(model_type: str) -> int | None:
    """The ``feature_size`` of the model type's feature extractor when it is a spectrogram width (raw-audio
    extractors have 1)."""
    size = getattr(_extractor(model_type), "feature_size", None)
    return size if isinstance(size, int) and size > 1 else None


@lru_cache(maxsize=None)
def _extracted(model_type: str) -> dict:
    """What the model type's feature extractor makes of a second of silence; empty where it cannot run here."""
    import numpy as np

    extractor = _extractor(model_type)
    if extractor is None:
        return {}
    rate = int(getattr(extractor, "sampling_rate", None) or 16000)
    try:
        return dict(extractor([np.zeros(rate, dtype=np.float32)], sampling_rate=rate, return_tensors="pt"))
    except Exception:  # noqa: BLE001 - an extractor that cannot run here gives no hints
        return {}


def extractor_bool_masks(model_type: str) -> bool:
    """Whether the model type's feature extractor gives its masks as booleans (which a model may index with)."""
    import torch

    masks = [v for k, v in _extracted(model_type).items() if k.endswith("mask")]
    return any(getattr(v, "dtype", None) == torch.bool for v in masks)


def extractor_features_first(model_type: str) -> bool:
    """Whether the model type's feature extractor lays audio features out as (batch, features, time)."""
    feats, width = _extracted(model_type).get("input_features"), extractor_width(model_type)
    return getattr(feats, "ndim", 0) == 3 and feats.shape[1] == width != feats.shape[2]


@builder("input_features", "input_audio_features", "audio_mel")
def _input_features(ctx: Context):
    mels = _feature_width(ctx)
    channels = ctx.find("input_channels", default=1, where="audio")
    source = ctx.find("max_source_positions", where="audio")
    if source and ctx.find("num_mel_bins", where="audio"):
        return ctx.torch.randn(BATCH, int(mels), 2 * int(source))  # conv front end halves time: (B, mel, T)
    window = ctx.find("n_window", where="audio")
    if isinstance(window, int) and window > 0:  # a Whisper-like encoder reading whole chunks of 2 * n_window frames
        return ctx.torch.randn(BATCH, int(mels), math.ceil(AUDIO_FRAMES / (2 * window)) * 2 * window)
    if extractor_features_first(getattr(ctx.config, "model_type", "")):  # as the model's processor lays them out
        return ctx.torch.randn(BATCH, int(mels) * int(channels), AUDIO_FRAMES)
    return ctx.torch.randn(BATCH, AUDIO_FRAMES, int(mels) * int(channels))


#: A mask of ones over the ids it belongs to.
_MASK_OF = {
    "attention_mask": "input_ids",
    "decoder_attention_mask": "decoder_input_ids",
    "qformer_attention_mask": "qformer_input_ids",
}


def _ones_over(mask_name: str, ids_name: str) -> Builder:
    def build(ctx: Context):
        ids = ctx.built.get(ids_name)
        if ids is None:
            return None
        if ids.dim() == 2 and ids.shape[0] != BATCH:  # a row per codebook: a mask per sample
            return ctx.torch.ones(BATCH, ids.shape[1], dtype=ids.dtype)
        rank = len(documented_dims(ctx.model, mask_name) or ())  # over the leading axes the mask documents
        return ctx.torch.ones(*ids.shape[:rank], dtype=ids.dtype) if 0 < rank < ids.dim() else ctx.torch.ones_like(ids)

    return build


for _mask_name, _ids_name in _MASK_OF.items():
    builder(_mask_name)(_ones_over(_mask_name, _ids_name))


def mask_ids_name(name: str, params: Any) -> str | None:
    """The token ids a required ``X_attention_mask`` masks: ``X_input_ids`` where forward() takes them (the
    mask is laid out as the ids are, whatever its docstring says); None for any other argument."""
    prefix = name.removesuffix("attention_mask")
    return f"{prefix}input_ids" if prefix != name and f"{prefix}input_ids" in params else None


@builder("use_cache")
def _use_cache(ctx: Context):
    return False  # forward is checked without a cache; generate exercises it


@builder("input_features_mask", "feature_attention_mask")
def _features_mask(ctx: Context):
    """Ones over the frames of the audio features, where the mask is required, taken by the feature method or
    documented as (batch, frames); an optional mask documented otherwise (over a model's projected features)
    is left out."""
    feats = ctx.built.get("input_features")
    names = set(ctx.params) & {"input_features_mask", "feature_attention_mask"}
    required = any(ctx.params[n].default is inspect.Parameter.empty for n in names)
    documented = any(documented_dims(ctx.model, n) for n in names)
    if feats is None or not (required or documented or names & feature_args(ctx.model)):
        return None
    frames = _feature_frames(ctx, feats)
    boolean = extractor_bool_masks(getattr(ctx.config, "model_type", ""))  # as the model's processor gives it
    return ctx.torch.ones(feats.shape[0], frames, dtype=ctx.torch.bool if boolean else ctx.torch.long)


def _feature_frames(ctx: Context, feats: Any) -> int:
    """Frames of audio features: the axis that is not the feature width."""
    width = _feature_width(ctx)
    return feats.shape[1] if feats.dim() < 3 or feats.shape[-1] == width else feats.shape[-1]


@builder("input_values_cutoffs")
def _audio_cutoffs(ctx: Context):
    """Where each sample's audio clips end in its waveform: one clip, the whole waveform."""
    waveform = ctx.built.get("input_values")
    return None if waveform is None else ctx.torch.full((waveform.shape[0], 1), waveform.shape[-1])


@builder("audio_mel_mask")
def _mel_padding_mask(ctx: Context):
    """Which mel frames are padding (True): none of the synthetic ones."""
    mel = ctx.built.get("audio_mel")
    return None if mel is None else ctx.torch.zeros(mel.shape[0], mel.shape[1], dtype=ctx.torch.bool)


@builder("chunk_sample_lengths", "audio_sample_lengths")
def _sample_lengths(ctx: Context):
    """The raw samples each audio feature row stands for: its frames times the config's hop length."""
    feats = ctx.built.get("input_features")
    hop = ctx.find("hop_length", where="audio")
    if feats is None or not isinstance(hop, int):
        return None
    frames = _feature_frames(ctx, feats)
    return ctx.torch.full((feats.shape[0],), frames * hop, dtype=ctx.torch.long)


@builder("padding_mask")
def _padding_mask(ctx: Context):
    """Ones over the raw audio samples (of the built waveform, else a default length), where the audio
    feature method takes the mask; elsewhere left out."""
    if "padding_mask" not in feature_args(ctx.model, modality="audio"):
        return None
    waveform = ctx.built.get("input_values")
    samples = waveform.shape[-1] if waveform is not None else AUDIO_SAMPLES
    return ctx.torch.ones(BATCH, samples, dtype=ctx.torch.long)


@builder("qformer_input_ids")
def _qformer_ids(ctx: Context):
    vocab = ctx.find("vocab_size", where="any")
    qformer = getattr(ctx.config, "qformer_config", None)
    size = min(int(getattr(qformer, "vocab_size", vocab) or vocab), ctx.vocab)
    return ctx.torch.randint(0, size, (BATCH, SEQ))


@builder("token_type_ids")
def _token_types(ctx: Context):
    """Type 0 for every token; several types per token (a table's segment, column, row, ...) where forward()'s
    docstring documents a fixed number of them as a last axis: ``(batch_size, sequence_length, 7)``."""
    ids = ctx.built.get("input_ids")
    if ids is None:
        return None
    per_token = [int(d) for d in (documented_dims(ctx.model, "token_type_ids") or [])[2:] if d.isdigit()]
    return ctx.torch.zeros(*ids.shape, *per_token, dtype=ids.dtype)


@builder("decoder_input_ids")
def _decoder_ids(ctx: Context):
    if not ctx.find("is_encoder_decoder", default=False):
        return None
    codebooks = ctx.find("num_codebooks", where="text")  # a decoder of parallel codebook streams: one row each
    if codebooks is None and "num_codebooks" in (documented_dims(ctx.model, "decoder_input_ids") or [""])[0]:
        decoder = getattr(ctx.config, "decoder_config", None) or getattr(ctx.config, "decoder", None)
        codebooks = getattr(decoder, "num_channels", None)  # documented codebook rows: the decoder's channels
    codebooks = codebooks if isinstance(codebooks, int) and codebooks > 1 else 1
    doc = _doc(ctx.model)
    if codebooks > 1 and re.search(r"\bdecoder_input_ids \(`[^`]*`[^)]*?of shape `\([^)]*\)\s+or \([^)]*, num_codebooks\)", doc):
        return ctx.tokens(BATCH, SEQ, codebooks)  # the documented unflattened form, which the model reads natively
    return ctx.tokens(BATCH * codebooks, SEQ)


@builder("decoder_input_values")
def _decoder_values(ctx: Context):
    """The decoder input of an encoder-decoder that decodes values (spectrogram frames), not ids: shaped as
    the docstring documents it (optional in forward(), which would otherwise derive it from labels)."""
    return documented_tensor(ctx, "decoder_input_values")


@builder("mm_token_type_ids")
def _mm_token_types(ctx: Context):
    """0 for text, 1 image, 2 video, 3 audio placeholder tokens (the processors' convention); a placeholder
    inside a modality's frame (its start and end tokens) is of that modality."""
    ids = ctx.built.get("input_ids")
    if ids is None:
        return None
    types = ctx.torch.zeros_like(ids, dtype=ctx.torch.int32)
    codes = {"image": 1, "video": 2, "audio": 3}
    for attrs, modality, _ in PLACEHOLDERS:
        code = codes[modality]
        token = ctx.find(*attrs)
        if isinstance(token, int):
            types[ids == token] = code
    for modality in ctx.framed:
        frame = frame_tokens(ctx.config, modality)
        if frame:
            inside = (ids == frame[0]).cumsum(-1) > (ids == frame[1]).cumsum(-1)
            types[inside & (types > 0)] = codes[modality]
    return types


#: The documented type of an integer tensor.
_INTEGER_TENSOR = re.compile(r"\b(?:Long|Int)Tensor\b")


@builder("bbox")
def _bbox(ctx: Context):
    """Boxes (x0, y0, x1, y1) per token on the 0-1000 grid layout models embed; normalized to 0-1 floats where
    forward() documents no integer tensor (a model that scales and embeds them as sines: floats keep the model's
    dtype, where integers times a Python float become float32)."""
    ids = ctx.built.get("input_ids")
    seq = ids.shape[1] if ids is not None else SEQ
    xy = ctx.torch.randint(0, 500, (BATCH, seq, 2))
    boxes = ctx.torch.cat([xy, xy + ctx.torch.randint(1, 500, (BATCH, seq, 2))], dim=-1).clamp(max=1000)
    doc = documented_arg(ctx.model, "bbox")
    return boxes if not doc or _INTEGER_TENSOR.search(doc) else boxes.float() / 1000


@builder("past_values", "past_time_features", "past_observed_mask", "future_time_features", "future_values")
def _time_series(ctx: Context):
    return None  # known names: _time_series_inputs builds them together, sized from one context length


def _placeholder_count(ctx: Context, modality: str, features_arg: str) -> int | None:
    """How many placeholder tokens the model's own feature extractor makes of the synthetic input."""
    torch = ctx.torch
    value = ctx.built.get(features_arg)
    fn = feature_fn(ctx.model, modality)
    if value is None or fn is None or _needs_text(ctx.model, modality):
        return None
    extra = {k: v for k, v in ctx.built.items() if k != features_arg and k not in ("input_ids", "attention_mask")}
    params = inspect.signature(fn).parameters
    passes_on = any(p.kind is p.VAR_KEYWORD for p in params.values())  # to a wrapped model's feature method
    passed_on = feature_args(ctx.model, modality=modality) - set(MODALITY_OF) if passes_on else set()
    positional = None if features_arg in params else next(iter(params), None)  # takes the feature argument
    kwargs = {k: v for k, v in extra.items() if (k in params or k in passed_on) and k != positional}
    kwargs.update(_config_args(ctx, params, kwargs, skip=features_arg if features_arg in params else None))
    value, kwargs = to_device((value, kwargs), *_model_placement(ctx.model))  # the built inputs are on the CPU
    try:
        with torch.no_grad():  # the feature argument by name where the method names it alike, else first
            out = fn(**{features_arg: value}, **kwargs) if features_arg in params else fn(value, **kwargs)
    except (ValueError, RuntimeError, IndexError):
        if features_arg in ctx.given:  # given in the layout forward() takes, which the model regroups before
            return None  # its feature method reads it (cameras flattened into the batch): it cannot count
        raise
    feats = getattr(out, "pooler_output", None)
    if feats is None:  # an output without pooled features: its last hidden state
        feats = getattr(out, "last_hidden_state", None)
    if feats is None:
        feats = out[0] if isinstance(out, tuple) else out
    parts = feats if isinstance(feats, (list, tuple)) else [feats]
    if not parts or not all(isinstance(f, torch.Tensor) for f in parts):
        return None  # features only in a field of the model's own (per decoder layer): its own check counts them
    numel = sum(int(f.numel()) for f in parts)
    emb = _input_embeddings(ctx.model)
    hidden = ctx.find("hidden_size", where="text")
    last = parts[0].shape[-1]
    # the width the placeholders take: the text hidden width where the features have it and the token table
    # is wider (a factorized table projected to it), else the token table's
    dim = last if last == hidden else getattr(emb, "embedding_dim", None) or hidden
    return numel // int(dim)


def _config_args(ctx: Context, params: dict[str, inspect.Parameter], given: dict, skip: str | None) -> dict:
    """Values for a method's required arguments that nothing built gives, from the config attributes of the
    same name (a feature method that takes the tower layer and selection its caller reads from the config).
    ``skip`` is the argument the caller passes itself (None: the first, passed by position)."""
    required = [n for n, p in params.items()
                if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    required = [n for n in required if n != skip][0 if skip else 1:]
    return {n: value for n in required if n not in given and (value := ctx.find(n)) is not None}


#: The config attributes that may hold the image placeholder token.
IMAGE_TOKEN = ("image_token_id", "image_token_index")
#: (placeholder token attributes, modality for get_<modality>_features, feature argument)
PLACEHOLDERS = (
    (IMAGE_TOKEN, "image", "pixel_values"),
    (("video_token_id", "video_token_index"), "video", "pixel_values_videos"),
    (("audio_token_id", "audio_token_index"), "audio", "input_features"),
    (("audio_token_id", "audio_token_index"), "audio", "input_values"),
)


def frame_tokens(config: Any, modality: str) -> tuple[int, int] | None:
    """The ``<modality>_start_token_id`` and ``<modality>_end_token_id`` the config declares (the tokens a
    processor puts around a modality's placeholders), or None."""
    ctx = Context(model=None, config=config, task="", torch=None)
    start, end = (ctx.find(f"{modality}_{edge}_token_id") for edge in ("start", "end"))
    return (start, end) if isinstance(start, int) and isinstance(end, int) else None


def _input_ids(ctx: Context) -> Any:
    """Text tokens, with each fed modality's placeholder tokens in front, counted from the model.  A modality
    in ``ctx.framed`` gets image placeholders between its start and end tokens: a model that tells a video's
    frames from images only by the video's frame, as its processor lays them out."""
    torch = ctx.torch
    prefix = []
    done: set[str] = set()
    for attrs, modality, arg in PLACEHOLDERS:
        arg = _feature_input(ctx, modality, arg)
        token = ctx.find(*attrs)
        frame = frame_tokens(ctx.config, modality) if modality in ctx.framed else None
        if frame:
            token = ctx.find(*IMAGE_TOKEN)
        marked = f"{modality}_embeds_position_mask" in ctx.params  # placeholders marked by a mask, not a token
        if not (isinstance(token, int) or marked) or arg not in ctx.built or modality in done:
            continue
        done.add(modality)
        count = ctx.counts.get(modality) or _placeholder_count(ctx, modality, arg)
        if count is None:  # the config's tokens per sample, else one that the model expands itself
            count = ctx.find(f"{modality}_seq_length", "num_image_tokens", "mm_tokens_per_image", "num_query_tokens",
                             default=1) * BATCH
        if count:
            per_sample = int(count) // BATCH
            run = [torch.full((BATCH, per_sample), token, dtype=torch.long) if isinstance(token, int)
                   else ctx.tokens(BATCH, per_sample)]
            if frame:
                run = [torch.full((BATCH, 1), frame[0]), *run, torch.full((BATCH, 1), frame[1])]
            prefix.extend(run)
            ctx.counts[modality] = int(count)
    if prefix:
        return torch.cat(prefix + [ctx.tokens(BATCH, SEQ)], dim=1)
    return ctx.tokens(BATCH * _rows_documented_per_sample(ctx, "input_ids"), SEQ)


def _feature_input(ctx: Context, modality: str, arg: str) -> str:
    """The input a modality's placeholders stand for: ``arg``, or where none of that name was built, the first
    argument of the model's ``get_<modality>_features`` where that was (4.50's video_llava: pixel_values_images)."""
    fn = feature_fn(ctx.model, modality) if arg not in ctx.built and ctx.model is not None else None
    first = next(iter(inspect.signature(fn).parameters), None) if fn is not None else None
    return first if first in ctx.built else arg


def _rows_documented_per_sample(ctx: Context, arg: str) -> int:
    """Rows of ``arg`` per sample where forward()'s docstring documents its first axis as the batch times a
    config value (``(batch_size * num_codebooks, sequence_length)``: a row per codebook stream); else 1."""
    m = re.fullmatch(r"batch_size \* (?:config\.)?(\w+)", (documented_dims(ctx.model, arg) or [""])[0])
    value = ctx.find(m.group(1)) if m else None
    return value if _is_int(value) and value > 0 else 1


@builder("flattened_patches")
def _flattened_patches(ctx: Context):
    """Patches as a processor that keeps their positions flattens them: (batch, patches, 2 + patch width), the
    first two columns each patch's 1-based row and column in a square grid (0 marks padding), the rest pixels."""
    width = ctx.find("patch_embed_hidden_size", where="vision")
    if not isinstance(width, int):
        channels = int(ctx.find("num_channels", default=3, where="vision"))
        patch = _size2(ctx.find("patch_size", default=16, where="vision"), 16)
        width = channels * patch[0] * patch[1]
    side = 4
    rows, cols = ctx.torch.meshgrid(ctx.torch.arange(1, side + 1), ctx.torch.arange(1, side + 1), indexing="ij")
    positions = ctx.torch.stack([rows.flatten(), cols.flatten()], dim=-1).float().expand(BATCH, -1, -1)
    return ctx.torch.cat([positions, ctx.torch.rand(BATCH, side * side, width)], dim=-1)


@builder("image_attention_mask")
def _image_attention_mask(ctx: Context):
    """Which images of its sample each text token attends to, (batch, text length, images per sample): every
    one, for pixels with an images-per-sample axis (batch, images, channels, height, width); else left out."""
    ids, pixels = ctx.built.get("input_ids"), ctx.built.get("pixel_values")
    if ids is None or pixels is None or pixels.dim() != 5:
        return None
    return ctx.torch.ones(*ids.shape, pixels.shape[1], dtype=ids.dtype)


@builder("image_embeds_position_mask")
def _embeds_position_mask(ctx: Context):
    """Ones where the image features go: the placeholder positions ``_input_ids`` put in front of the text."""
    ids, count = ctx.built.get("input_ids"), ctx.counts.get("image")
    if ids is None or not count:
        return None
    mask = ctx.torch.zeros_like(ids)
    mask[:, : count // BATCH] = 1
    return mask


def _labels(ctx: Context, tasks: dict) -> Any:
    """Labels as the task's mapping implies (like transformers' _prepare_for_class); None for other tasks."""
    torch = ctx.torch
    task = ctx.task
    ids = ctx.built.get("decoder_input_ids", ctx.built.get("input_ids"))
    if task in tasks["token_label_tasks"] and ids is not None:
        if task == "token-classification":
            return torch.randint(0, int(ctx.find("num_labels", default=2)), ids.shape)
        return _documented_labels(ctx, ids)
    if task == "seq2seq-lm" and ids is not None:
        return ids.clone()
    if task in tasks["class_label_tasks"]:
        return torch.randint(0, int(ctx.find("num_labels", default=2)), (BATCH,))
    return None


def _documented_labels(ctx: Context, ids: Any) -> Any:
    """Token labels: the ids, or tokens laid out as forward()'s docstring documents the labels where that is
    another layout of as many tokens (ids of a row per codebook, labels ``(batch_size, sequence_length,
    num_codebooks)``)."""
    dims = documented_dims(ctx.model, "labels") or []
    shape = [BATCH] + [_documented_size(ctx, d) for d in dims[1:]]
    if len(shape) > ids.dim() and math.prod(shape) == ids.numel():
        return ctx.tokens(*shape)
    return ids.clone()


@dataclass
class InputReport:
    """Which modalities were fed and which required arguments had no builder."""

    fed: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    unknown_required: list[str] = field(default_factory=list)


def feature_fn(model: Any, modality: str) -> Callable | None:
    """The model's ``get_<modality>_features``, or that of the first submodule that has one (a head class
    that wraps the base model without exposing it)."""
    return next(iter(_feature_methods(model, modality)), None)


def _feature_methods(model: Any, modality: str) -> list[Callable]:
    """Every ``get_<modality>_features`` of the model and its submodules, outermost first."""
    modules = model.modules() if hasattr(model, "modules") else [model]
    return [fn for m in modules if callable(fn := getattr(m, f"get_{modality}_features", None))]


def _needs_text(model: Any, modality: str) -> bool:
    """Whether a ``get_<modality>_features`` of the model requires the token ids (which must already hold the
    placeholders it counts), so that it cannot count them."""
    return any("input_ids" in params and params["input_ids"].default is inspect.Parameter.empty
               for params in (inspect.signature(fn).parameters for fn in _feature_methods(model, modality)))


def feature_args(model: Any, required: bool = False, modality: str | None = None) -> set[str]:
    """The arguments the model's ``get_<modality>_features`` methods take (or, with ``required``, those without
    a default) besides text: built before the placeholder tokens are counted, since counting calls them.
    ``modality`` limits them to that modality's methods."""
    names: set[str] = set()
    for kind in (modality,) if modality else ("image", "video", "audio"):
        for fn in _feature_methods(model, kind):  # a wrapper's method may pass **kwargs on to the base's
            names.update(n for n, p in inspect.signature(fn).parameters.items()
                         if not required or p.default is inspect.Parameter.empty)
    return names - {"input_ids", "attention_mask", "kwargs"}


def pixel_tower_args(model: Any) -> set[str]:
    """The arguments a submodule that requires the pixels (a vision tower) requires besides them."""
    names: set[str] = set()
    for cls in {type(m) for m in model.modules()} if hasattr(model, "modules") else ():
        params = inspect.signature(cls.forward).parameters
        required = {n for n, p in params.items() if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if "pixel_values" in required:
            names |= required
    return names - {"self", "pixel_values"}


def forward_params(model: Any) -> dict[str, inspect.Parameter]:
    """The parameters of the method the model is run through: forward()'s, or its entry method's followed,
    where the entry takes ``**kwargs`` to pass on, by those of the forward() of the sub-model it feeds."""
    params = dict(inspect.signature(getattr(model, entry_name(model))).parameters)
    fed = fed_submodule(model)
    if fed is not None and any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for name, param in inspect.signature(fed.forward).parameters.items():
            params.setdefault(name, param)
    return params


def build_inputs(model: Any, config: Any, task: str, task_tables: dict, values: dict | None = None,
                 with_labels: bool = True, counts: dict | None = None,
                 framed: set | None = None) -> tuple[dict, InputReport]:
    """Inputs for ``model.forward`` and the :class:`InputReport` of what they cover.

    ``values`` are override values (plain numbers/lists become tensors) that
    replace a builder's result; ``counts`` the placeholder tokens of a modality
    (in all) where the model said how many it needs; ``framed`` the modalities
    whose placeholders are image tokens inside their start and end tokens.  The
    inputs of a model run through an entry method are sized from the config of
    the sub-model they feed.
    """
    import torch

    torch.manual_seed(0)
    params = forward_params(model)
    config = getattr(fed_submodule(model), "config", config)
    ctx = Context(model=model, config=config, task=task, torch=torch, params=params, counts=dict(counts or {}),
                  framed=set(framed or ()))
    report = InputReport()
    # modality inputs first (placeholder counts need them), then text, then the rest
    # what feature extractors take first: modality inputs, their grids, and a Q-Former's own text
    order = [p for p in params if MODALITY_OF.get(p) not in (None, "text") or p.endswith("grid_thw")]
    feats = feature_args(model)
    order += [p for p in params if p in feats and p not in order]
    order += [p for p in params if p == "input_ids"]
    order += [p for p in params if p not in order]
    time_series = _time_series_inputs(ctx, params)
    tower_needs = feature_args(model, required=True) | pixel_tower_args(model)
    alternatives = _alternative_inputs(ctx)
    for name in order:
        param = params[name]
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        if values and name in values:
            if values[name] is not None:  # None leaves the input out
                ctx.built[name] = _as_tensor(torch, values[name])
                ctx.given.add(name)
        elif name in alternatives:
            continue  # taken only instead of another input fed
        elif name in time_series:
            ctx.built[name] = time_series[name]
        elif name == "input_ids":
            ctx.built[name] = _input_ids(ctx)
        elif name == "labels":
            if with_labels:
                labels = _labels(ctx, task_tables)
                if labels is not None:
                    ctx.built[name] = labels
        elif name in BUILDERS and (value := BUILDERS[name](ctx)) is not None:
            ctx.built[name] = value
        elif param.default is inspect.Parameter.empty:
            value = _required_value(ctx, name, first=name == next(iter(order), None))
            if value is None:
                report.unknown_required.append(name)
            else:
                ctx.built[name] = value
        elif (name in tower_needs or documented_required(model, name)) and \
                (value := documented_tensor(ctx, name)) is not None:
            ctx.built[name] = value  # optional in forward() but required by a tower or, as documented, by forward()
    if not any(isinstance(v, torch.Tensor) for v in ctx.built.values()):  # every argument optional, none known:
        for name in order:  # the inputs forward()'s docstring shapes (a trajectory's states, actions, rewards)
            value = None if values and name in values else documented_tensor(ctx, name)
            if value is not None:
                ctx.built[name] = value
    for name in params:
        modality = MODALITY_OF.get(name)
        if modality and modality not in report.accepted:
            report.accepted.append(modality)
        if modality and name in ctx.built and modality not in report.fed:
            report.fed.append(modality)
    if "inputs_embeds" in ctx.built and "text" in report.accepted and "text" not in report.fed:
        report.fed.append("text")  # the tokens, fed as their embeddings
    ordered = {k: ctx.built[k] for k in params if k in ctx.built}
    return ordered, report


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


def build_one(model: Any, config: Any, name: str) -> Any:
    """What the builder of ``name`` gives on its own (no other input built yet)."""
    import torch

    torch.manual_seed(0)
    ctx = Context(model=model, config=config, task="", torch=torch, params=forward_params(model))
    return BUILDERS[name](ctx)


def free_token_id(model: Any, config: Any) -> int:
    """The highest id of the model's vocabulary that no special token of its config holds."""
    import torch

    ctx = Context(model=model, config=config, task="", torch=torch)
    taken = ctx.special_ids()
    return next(i for i in range(ctx.vocab - 1, -1, -1) if i not in taken)


def build_documented(model: Any, config: Any, name: str) -> Any:
    """``name`` shaped as forward()'s docstring documents it (see :func:`documented_tensor`), or None."""
    import torch

    return documented_tensor(Context(model=model, config=config, task="", torch=torch), name)


def with_axis(config: Any, name: str, tensor: Any, count: int | None = None) -> Any:
    """``tensor`` with the axis after the batch that a model asked for, of ``count`` items (e.g. a pair of
    images) when given; else pixels of a config that declares ``num_frames`` become that many frames (a
    video), else an axis of one.  Each added item is fresh random data like ``tensor``."""
    import torch

    if count is None and name == "pixel_values":
        count = Context(model=None, config=config, task="", torch=torch).find("num_frames", where="vision")
    if not isinstance(count, int) or count < 2:
        return tensor.unsqueeze(1)
    return torch.stack([tensor] + [torch.rand_like(tensor) for _ in range(count - 1)], dim=1)


def with_axes(config: Any, tensor: Any, count: int) -> Any:
    """``tensor`` with ``count`` axes after the batch (media per sample, tiles per image), each of one, but the
    one next to the image, where there are several, is the config's ``max_num_tiles`` tiles (of fresh random
    data like ``tensor``) for a model that tiles images."""
    import torch

    tiles = Context(model=None, config=config, task="", torch=torch).find("max_num_tiles", where="vision")
    sizes = [1] * count
    if count > 1 and isinstance(tiles, int) and tiles > 1:
        sizes[-1] = tiles
    out = tensor.reshape(tensor.shape[0], *[1] * count, *tensor.shape[1:])
    return torch.cat([out] + [torch.rand_like(out) for _ in range(sizes[-1] - 1)], dim=count) if count else out


def patch_axes(config: Any, tensor: Any) -> Any:
    """Flat patches (patches, channels x patch x patch) as (patches, channels, patch, patch), the layout a 2-D
    patch convolution reads; None where ``tensor`` is not flat patches of the config's patch size."""
    import torch

    ctx = Context(model=None, config=config, task="", torch=torch)
    channels = int(ctx.find("num_channels", "in_channels", default=3, where="vision"))
    patch = _size2(ctx.find("patch_size", default=14, where="vision"), 14)
    if tensor.dim() != 2 or tensor.shape[1] != channels * patch[0] * patch[1]:
        return None
    return tensor.reshape(tensor.shape[0], channels, *patch)


def _as_tensor(torch: Any, value: Any) -> Any:
    if isinstance(value, (list, int, float)) and not isinstance(value, bool):
        return torch.tensor(value)
    return value


def _time_series_inputs(ctx: Context, params: dict) -> dict:
    """past/future values, time features and masks sized from the config's lags and lengths."""
    if "past_values" not in params:
        return {}
    torch = ctx.torch
    context = int(ctx.find("context_length", "context_size", default=TIME_STEPS))
    lags = ctx.find("lags_sequence", default=[0]) or [0]
    past = context + max(lags)
    prediction = int(ctx.find("prediction_length", default=4) or 4)
    channels = int(ctx.find("input_size", "num_input_channels", default=1) or 1)
    time_feats = int(ctx.find("num_time_features", default=0) or 0)
    univariate = channels == 1 and "input_size" in vars(ctx.config)
    doc = _doc(ctx.model)  # one series per sample: documented as
    series = len(documented_dims(ctx.model, "past_values") or ()) == 2 or re.search(  # (batch_size, sequence_length)
        r"\bpast_values \(`([\w.]+\.)?(Sequence|list)\[", doc)  # or as a sequence of 1-D series (the rows of a 2-D tensor)
    shape = (BATCH, past) if univariate or series else (BATCH, past, channels)
    out = {"past_values": torch.randn(*shape)}
    if "past_observed_mask" in params:
        out["past_observed_mask"] = torch.ones(*shape)
    if "past_time_features" in params:  # width 0 when the config has no time features
        out["past_time_features"] = torch.randn(BATCH, past, time_feats)
    if "future_time_features" in params:
        out["future_time_features"] = torch.randn(BATCH, prediction, time_feats)
    return out
