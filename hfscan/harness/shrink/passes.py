"""The passes of :func:`tiny_config`, in order: :data:`PASSES` for the whole tree, :data:`CONFIG_PASSES` for each
config of it (sub-configs first).

Every pass reads what it needs from the :class:`~hfscan.harness.shrink.state.State` (the tree being shrunk, the
original tree, facts earlier passes handed on) and writes through :meth:`State.set`, which enforces ``[keep]``.
Which pass reads which rule kind:

================================ ==========================================================================
pass                             rule kinds and tables it reads
================================ ==========================================================================
stage selection, depths          ``[stage_selection]``; ``layers``, ``[trailing_layers]``
heads                            ``heads``, ``kv_heads``, ``stage_heads`` (:data:`.handlers.HEAD_HANDLERS`)
sizes                            ``cap``, ``round_up``, ``stage_depths``, ``stage_widths``, ``block_specs``,
                                 ``set``, ``default``, ``same``, ``first``, ``per_layer``, ``product``, ``sum``,
                                 ``divides``, ``multiple``, ``stage_base`` (:data:`.handlers.SIZE_HANDLERS`),
                                 then ``[partial_rotary]`` and ``quotient``
growing widths                   ``[growing_stage_widths]``
vocabulary                       ``vocab``
per-layer lists                  ``layer_indices``, ``stage_indices``, ``[shared_layer_kinds]``
block indices over stages        ``[stage_block_indices]``, ``stage_depths``
rotary                           ``[rope_per_layer_type]``, ``[rope_sections]``
special tokens ... vocab ranges  ``[codes_below_ids]``, ``[projection_widths]``, ``[image_grid]``,
                                 ``[patch_grid]``, ``[vocab_ranges]``
rebuild                          ``[rebuild]`` (the build: ``[package_switches]``, ``[optional_towers]``)
relations                        ``sum``, ``times``, ``scaled``, ``stacked``, ``[backbone_channels]``,
                                 ``[tower_layer_indices]``, ``[cache_attention]``
================================ ==========================================================================
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from hfscan.harness.configtree import sub_configs
from hfscan.harness.shrink.grids import _grid_text_configs, cap_image_grids, fit_patch_grids
from hfscan.harness.shrink.handlers import _heads, _sizes
from hfscan.harness.shrink.layers import (_cache_attention_layer, _derived_layer_kinds, _layers, _mirrored_indices,
                                          _per_layer, _per_layer_overrides, _select_every_stage,
                                          _stage_block_indices)
from hfscan.harness.shrink.rebuild import _add_optional_towers, _instantiate, _rebuild, _stale_derived, apply_values
from hfscan.harness.shrink.relations import _backbone_channels, _keep_relations, _stacked_widths, _tower_layer_indices
from hfscan.harness.shrink.ruleset import Level, levels
from hfscan.harness.shrink.state import ShrinkReport, State
from hfscan.harness.shrink.vocab import _vocab, _vocab_ranges, codes_below_ids, equal_vocabularies, remap_tokens
from hfscan.harness.shrink.widths import (_growing_widths, _rope_per_layer_type, _rope_sections, _width_parts,
                                          follow_growth, follow_text_width)


@dataclass
class Node:
    """One config of the tree as its passes see it: ``attrs`` are its values before them (after its
    sub-configs' passes); ``cut`` the (old, new) of its largest depth where the depth pass cut one."""

    cfg: Any
    path: str
    attrs: dict
    cut: tuple[int, int] | None = None


def _depths(st: State, n: Node) -> None:
    n.cut = _layers(st, n.cfg, n.path, n.attrs)


def _layer_lists(st: State, n: Node) -> None:
    """Per-layer lists cut to the new depth; without a depth of its own, the layer indices a config repeats
    from (or gives into) its sub-configs' stacks."""
    if n.cut:
        _per_layer(st, n.cfg, n.path, n.attrs, *n.cut)
    else:
        _mirrored_indices(st, n.cfg, n.path, n.attrs)


def _layer_overrides(st: State, n: Node) -> None:
    spec = n.attrs.get("_heterogeneity_spec")
    if spec is not None and getattr(spec, "per_layer_overrides", None):
        _per_layer_overrides(st, n.cfg, n.path, n.attrs, spec.per_layer_overrides)


def _kept(st: State, n: Node) -> None:
    for attr in st.keep:
        if n.attrs.get(attr) is not None:
            st.kept.append((f"{n.path}{attr}", n.attrs[attr]))


#: The passes over each config of the tree, in order.
CONFIG_PASSES: tuple[tuple[str, Callable[[State, Node], None]], ...] = (
    ("depths", _depths),
    ("heads", lambda st, n: _heads(st, n.cfg, n.path, n.attrs)),
    ("sizes", lambda st, n: _sizes(st, n.cfg, n.path, n.attrs)),
    ("growing widths", lambda st, n: _growing_widths(st, n.cfg, n.path, n.attrs)),
    ("vocabulary", lambda st, n: _vocab(st, n.cfg, n.path, n.attrs)),
    ("per-layer lists", _layer_lists),
    ("block indices over stages", lambda st, n: _stage_block_indices(st, n.cfg, n.path, n.attrs)),
    ("rotary per layer type", lambda st, n: _rope_per_layer_type(st, n.cfg, n.path)),
    ("rotary sections", lambda st, n: _rope_sections(st, n.cfg, n.path, n.attrs)),
    ("width parts", lambda st, n: _width_parts(st, n.cfg, n.path, n.attrs)),
    ("per-layer overrides", _layer_overrides),
    ("kept values", _kept),
)


def shrink_config(st: State, cfg: Any, path: str = "") -> None:
    """The passes of :data:`CONFIG_PASSES` over one config, after its sub-configs'."""
    _select_every_stage(st, cfg, path)
    attrs = dict(vars(cfg))
    for name, sub in sub_configs(cfg):
        shrink_config(st, sub, f"{path}{name}.")
    node = Node(cfg, path, attrs)
    for _, run in CONFIG_PASSES:
        run(st, node)


def _build(st: State) -> None:
    """The config to shrink (a copy of the instance given, or built from its class with every optional tower)."""
    st.cfg = _instantiate(st.source, st)
    if st.from_class:
        _add_optional_towers(st.cfg, st)
    st.original = copy.deepcopy(st.cfg)
    st.grid_text = _grid_text_configs(st.cfg)


def _given_values(st: State) -> None:
    """Override values, then values only a checkpoint sets (configvals), before the rebuild so that fields
    derived from them are recomputed; not shrink changes, so recorded apart and not subject to ``[keep]``."""
    st.extra = {k: {"per_layer_config": v} for k, v in st.per_layer.items()}
    if st.overrides:
        apply_values(st.cfg, st.overrides, st.overridden, st.extra)
    if st.fill:
        apply_values(st.cfg, st.fill, st.filled, st.extra)


def _rebuild_tree(st: State) -> None:
    stale = _stale_derived(st.original, st.cfg) if st.from_class else {}
    st.cfg = _rebuild(st.cfg, st.extra, stale, st.original, st)


#: The passes of :func:`tiny_config`, in order.
PASSES: tuple[tuple[str, Callable[[State], None]], ...] = (
    ("build", _build),
    ("shrink every config", lambda st: shrink_config(st, st.cfg)),
    ("special tokens", lambda st: remap_tokens(st, st.cfg)),
    ("codebooks below token ids", lambda st: codes_below_ids(st, st.original, st.cfg)),
    ("equal vocabularies", lambda st: equal_vocabularies(st, st.cfg)),
    ("growing widths across the tree", lambda st: follow_growth(st, st.cfg)),
    ("widths that follow the text width", lambda st: follow_text_width(st, st.cfg)),
    ("image grids", lambda st: cap_image_grids(st, st.cfg)),
    ("patch grids", lambda st: fit_patch_grids(st, st.cfg)),
    ("vocabulary ranges", _vocab_ranges),
    ("overrides and filled values", _given_values),
    ("rebuild", _rebuild_tree),
    ("sums and products across the tree", _keep_relations),
    ("backbone channels", _backbone_channels),
    ("tower layer indices", _tower_layer_indices),
    ("stacked widths", _stacked_widths),
    ("derived layer kinds", _derived_layer_kinds),
    ("an attention layer for the cache", _cache_attention_layer),
)


def tiny_config(config_or_class: Any, overrides: dict | None = None, level: Level | str | None = None,
                filled: dict | None = None) -> tuple[Any, ShrinkReport]:
    """A tiny copy of a config (class or instance) and the :class:`ShrinkReport` of what changed.

    ``overrides`` are config values set after shrinking (nested dicts reach
    sub-configs); ``filled`` likewise, values that only a checkpoint sets
    (:mod:`hfscan.harness.configvals`), reported apart; ``level`` picks a
    shrink level (default: the first, "tiny").
    """
    all_levels = levels()
    if level is None:
        level = all_levels[0]
    elif isinstance(level, str):
        level = next(lv for lv in all_levels if lv.name == level)
    st = State(level)
    st.source, st.from_class = config_or_class, isinstance(config_or_class, type)
    st.overrides, st.fill = overrides, filled
    for _, run in PASSES:
        run(st)
    return st.cfg, st.report()
