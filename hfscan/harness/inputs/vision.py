"""Image and video inputs: pixels in every layout a model takes them (images, tiles, flat patches with their
grids, NaViT-packed patches, patches with positions), their grids, sizes and masks."""

from __future__ import annotations

import math
import re
from typing import Any

from hfscan.harness.inputs.context import BATCH, Context, _size2, builder
from hfscan.harness.inputs.documented import _documented_size, documented_arg, documented_dims
from hfscan.harness.inputs.signature import _feature_methods, _source, feature_args


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
