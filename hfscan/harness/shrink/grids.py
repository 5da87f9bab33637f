"""Image-grid passes: image sizes halved together where a tower's patch grid is too long (``[image_grid]``), and
grids made to fit the factors a config folds them by (``[patch_grid]``)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from hfscan.harness.configtree import is_config, sub, walk
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.state import State
from hfscan.harness.shrink.values import _halve, _is_int, _patch_side, _sides


def cap_image_grids(st: State, root: Any) -> None:
    """Image sizes that the token grids derive from (``[image_grid]``): where the patch grid of a plain tower
    (a config with layers and no per-stage depths: its grid is its sequence), times its tiles per image, holds
    more tokens than a grid ``max_side`` patches wide, every image size of the tree, and the feature-map sizes
    that follow it, are halved together, as often as needed and while each stays a whole number of its
    config's patches (where it was one), so towers fed side by side (and prompt encoders sized by the image)
    keep their ratios. A config whose ``tile`` size is its sub-configs' image size cuts its input into tiles
    that they read (``tiled`` of them at least): the tile is halved with them."""
    spec = ruleset.rules().get("image_grid", {})
    sizes = [(path, node, attr, vars(node)[attr]) for path, node in walk(root)
             for attr in (*spec.get("attrs", ()), *spec.get("follow", ())) if _sides(vars(node).get(attr))]
    tiles_of, tile_sizes = _image_tiles(root, spec)
    sizes += tile_sizes
    towers = _tower_grids(st, sizes, spec, tiles_of)
    most = spec.get("max_side", 0) ** 2  # tokens a tower may attend over (its grid's, times its tiles)

    def unit(node: Any, attr: str, side: int) -> int:  # what a size must stay a whole number of
        patch = (_patch_side(node) or 1) if attr in spec["attrs"] else 1
        return patch if side % patch == 0 else 1

    halvings = 0
    while any((grid >> halvings) ** 2 * tiles > most for grid, tiles in towers) and all(
            side % (2 ** (halvings + 1) * unit(node, attr, side)) == 0
            for _, node, attr, size in sizes for side in _sides(size)):
        halvings += 1
    for path, node, attr, size in sizes if halvings else ():
        st.set(node, path, attr, _halve(size, halvings), reshape=True)  # tiles too


def _tower_grids(st: State, sizes: list[tuple[str, Any, str, Any]], spec: dict,
                 tiles_of: dict[int, int]) -> list[tuple[int, int]]:
    """(patches per side, tiles read at once) of each plain tower whose image size is among ``sizes`` (a config
    with layers and no per-stage depths: its patch grid is its sequence)."""
    stages = set(ruleset.rule_attrs("stage_depths"))
    return [(max(_sides(size)) // _patch_side(node), tiles_of.get(id(node), 1) * math.prod(
                vars(node)[t] for t in spec.get("tiles", ()) if _is_int(vars(node).get(t)) and vars(node)[t] > 0))
            for _, node, attr, size in sizes if attr in spec.get("attrs", ()) and _patch_side(node)
            and st.depths & vars(node).keys() and not stages & vars(node).keys()]


def fit_patch_grids(st: State, root: Any) -> None:
    """A config that folds its patch grid by an integer factor (a pixel shuffle) gets image sizes whose
    grid (``image_size // patch_size``, in it or its sub-configs) is a multiple of that factor."""
    spec = ruleset.rules().get("patch_grid", {})
    for node_path, node in walk(root):
        factor = next((v for v in (vars(node).get(n) for n in spec.get("factors", ())) if _is_int(v) and v > 1),
                      None)
        if factor is not None:
            for path, cfg in walk(node):
                size, patch = vars(cfg).get("image_size"), vars(cfg).get("patch_size")
                if _is_int(size) and _is_int(patch) and patch > 0 and (size // patch) % factor:
                    st.set(cfg, path, "image_size", math.ceil(size // patch / factor) * factor * patch)
        for attr in spec.get("pooled_tokens", ()):
            _fit_pooled_tokens(st, node, node_path, attr)
        for attr in spec.get("patch_counts", ()):
            _fit_patch_count(st, node, attr)


def _fit_patch_count(st: State, node: Any, attr: str) -> None:
    """A config that maps the patches per image to something (a dict keyed by patch counts) gets images whose
    square patch grid has the smallest such count, where the grid it has is none of them."""
    counts = vars(node).get(attr)
    squares = sorted(int(k) for k in counts if math.isqrt(int(k)) ** 2 == int(k)) if isinstance(counts, dict) else []
    if not squares:
        return
    for path, cfg in walk(node):
        size, patch = vars(cfg).get("image_size"), vars(cfg).get("patch_size")
        if _is_int(size) and _is_int(patch) and patch > 0 and (size // patch) ** 2 not in map(int, counts):
            st.set(cfg, path, "image_size", math.isqrt(squares[0]) * patch)


def _fit_pooled_tokens(st: State, node: Any, path: str, attr: str) -> None:
    """Tokens per image pooled from the patch grid as a square: its side must divide the grid side, so it
    becomes the largest such square no bigger than before."""
    tokens = vars(node).get(attr)
    grids = [vars(c)["image_size"] // vars(c)["patch_size"] for _, c in walk(node)
             if _is_int(vars(c).get("image_size")) and _is_int(vars(c).get("patch_size")) and vars(c)["patch_size"]]
    if not _is_int(tokens) or not grids or not grids[0]:
        return
    side, grid = math.isqrt(tokens), grids[0]
    if side * side == tokens and grid % side:
        new = max(d for d in range(1, min(side, grid) + 1) if grid % d == 0)
        st.set(node, path, attr, new * new)


def _image_tiles(root: Any, spec: dict) -> tuple[dict[int, int], list[tuple[str, Any, str, Any]]]:
    """The towers of a tree that read their image cut into tiles (a config whose ``[image_grid]`` ``tile`` size is
    the image size of its sub-configs): {id(tower): the tiles it reads at once (``tiled``)}, and the tile sizes as
    (path, config, attribute, size), to be halved with the image sizes."""
    tile = spec.get("tile")
    tiles_of = {id(sub): spec.get("tiled", 1) for _, node in walk(root) for sub in vars(node).values()
                if is_config(sub) and _is_int(vars(node).get(tile))
                and vars(node)[tile] in (vars(sub).get(a) for a in spec.get("attrs", ()))}
    sizes = [(path, node, tile, vars(node)[tile]) for path, node in walk(root)
             if any(id(sub) in tiles_of for sub in vars(node).values() if is_config(sub))]
    return tiles_of, sizes


def _grid_text_configs(cfg: Any) -> set[int]:
    """id() of every text config that sits beside a vision config merging patch grids (``spatial_merge_size``):
    the text model of a multimodal-rotary model, whose code may default its rotary sections."""
    out = {id(cfg)} if _is_grid_text_class(type(cfg)) else set()  # such a text config built alone
    for _, node in walk(cfg):
        text, vision = sub(node, "text_config"), sub(node, "vision_config")
        if is_config(vision) and _is_int(vars(vision).get("spatial_merge_size")):
            # the text config; or the composite itself, where it holds the text model's values (4.x: no text_config)
            out.add(id(text) if is_config(text) else id(node))
    return out


@lru_cache(maxsize=None)
def _is_grid_text_class(cls: type) -> bool:
    """Whether a composite config class of the same configuration module takes ``cls`` as its text_config beside
    a vision_config class that merges patch grids by default."""
    import sys

    for composite in vars(sys.modules[cls.__module__]).values():
        subs = getattr(composite, "sub_configs", None)
        if isinstance(composite, type) and isinstance(subs, dict) and subs.get("text_config") is cls:
            vision = subs.get("vision_config")
            try:
                if isinstance(vision, type) and _is_int(getattr(vision(), "spatial_merge_size", None)):
                    return True
            except Exception:  # noqa: BLE001 - a vision config that cannot be built by default tells nothing
                continue
    return False
