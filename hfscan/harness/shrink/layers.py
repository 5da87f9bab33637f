"""Depth passes: depth counts cut, per-layer patterns and layer indices moved into the cut stack, and the stack's
layer kinds kept (``layers``, ``layer_indices``, ``stage_indices`` rules; ``[trailing_layers]``,
``[stage_selection]``, ``[cache_attention]``)."""

from __future__ import annotations

import copy
import dataclasses
import types
from typing import Any

from hfscan.harness.configtree import depth_attrs, is_config, text_config, walk
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink import kinds as K
from hfscan.harness.shrink.handlers import _heads, _sizes
from hfscan.harness.shrink.state import State, _init_fields
from hfscan.harness.shrink.values import (_cut_pattern, _depth_parts, _hashable, _int_list, _is_int, _pattern,
                                          _rescale_in_order, _rescale_indices, _split_evenly, pattern_kinds)


def _select_every_stage(st: State, cfg: Any, path: str) -> None:
    """A backbone whose stage selection its config class leaves unset (``[stage_selection]``: the default
    picks the last stage only, and a checkpoint sets it) selects every stage but the stem, so a head that
    reads several stages' feature maps can run; the stage-index rules then move them into the cut depth."""
    spec = ruleset.rules().get("stage_selection", {})
    attr, names = spec.get("attr"), vars(cfg).get(spec.get("stages"))
    if not (attr and is_config(cfg) and isinstance(names, (list, tuple)) and len(names) > 2):
        return
    fields = _init_fields(type(cfg))  # the field, or the constructor argument of its public name
    unset = fields.get(attr, fields.get(attr.lstrip("_"), ...)) is None
    if unset and list(vars(cfg).get(attr) or ()) == [len(names) - 1]:
        st.set(cfg, path, attr, list(range(1, len(names))))


def _layers(st: State, cfg: Any, path: str, attrs: dict) -> tuple[int, int] | None:
    """Cap depth counts; returns (old, new) of the largest depth for per-layer lists."""
    depth = None
    for rule in st.rules_of("layers"):
        for attr in rule["attrs"]:
            old = attrs.get(attr)
            if not _is_int(old) or old <= 0:
                continue
            parts = _depth_parts(attrs, old, st.depths)
            kinds = max(_layer_kinds(st, attrs, old), sum(1 for v in parts.values() if v),
                        *(_part_kinds(st, attrs, old, 0, old - n) + _part_kinds(st, attrs, old, old - n, old)
                          for n in _trailing(st, attrs, old).values()))
            new = min(old, max(rule["max"], kinds, _end_layers(attrs)))
            st.set(cfg, path, attr, new)
            for part, value in zip(parts, _split_evenly(list(parts.values()), new) if parts else ()):
                st.set(cfg, path, part, value)
            if depth is None or old > depth[0]:
                depth = (old, new)
    return depth


def _end_layers(attrs: dict) -> int:
    """The depth a stack whose first and last layers are another kind needs (``[end_layers]``: a switch that is
    on), so that a layer between them remains; 0 where no such switch is on."""
    spec = ruleset.rules().get("end_layers", {})
    return spec.get("min", 0) if any(attrs.get(a) is True for a in spec.get("attrs", ())) else 0


def _layer_kinds(st: State, attrs: dict, depth: int) -> int:
    """How many layers the per-layer patterns and layer-index lists of this depth need (at most 4)."""
    kinds = 1
    for attr, value in attrs.items():
        positions = _positions(st, attr, value, depth)
        if positions is not None:
            kinds = max(kinds, 1 if _is_int(value) else K.index_list_kinds(positions, depth, attr in K.kind_indices()))
        elif _pattern(value, depth) and depth > 1:
            try:
                kinds = max(kinds, pattern_kinds(value))
            except TypeError:  # unhashable items
                continue
    kinds = max(kinds, len(K.joint_kinds(attrs, depth, st.layer_indices, st.stage_indices)))
    return min(kinds, 4)


def _part_kinds(st: State, attrs: dict, depth: int, start: int, stop: int) -> int:
    """How many layer kinds the layers ``start:stop`` of the per-layer patterns of this depth hold (at least 1)."""
    kinds = 1
    for value in attrs.values():
        if _pattern(value, depth) and depth > 1:
            part = list(value)[start:stop]
            kinds = max(kinds, len({x if _hashable(x) else i for i, x in enumerate(part)}))
    return min(kinds, 4)


def _trailing(st: State, attrs: dict, depth: int) -> dict[str, int]:
    """Counts of the last layers of a depth-``depth`` stack that form a part of it (``[trailing_layers]``, e.g.
    layers that reuse an earlier layer's key/value cache), where they are a part short of the whole stack."""
    names = ruleset.rules().get("trailing_layers", {}).get("attrs", ())
    return {a: attrs[a] for a in names if _is_int(attrs.get(a)) and 0 < attrs[a] < depth}


def _positions(st: State, attr: str, value: Any, depth: int) -> list[int] | None:
    """The 0-based layer positions a layer-index list (or a single layer index) of a depth-``depth`` stack
    names (stage indices count the stem as 0 and the first layer as 1); None when ``value`` is not one."""
    if attr not in st.layer_indices or not (_int_list(value) or _is_int(value)):
        return None
    offset = int(attr in st.stage_indices)
    positions = [x - offset for x in ([value] if _is_int(value) else value) if not (offset and x == 0)]
    return positions if positions and all(0 <= p < depth for p in positions) else None


def _per_layer(st: State, cfg: Any, path: str, attrs: dict, old: int, new: int) -> None:
    """Cut per-layer lists to the new depth (keeping every kind) and rescale layer indices; a trailing part
    of the stack keeps as many layers as its kinds need (at least one) and each part is cut on its own (the
    layers before it keep every kind too); a trailing part as deep as the stack stays so."""
    tail: tuple[int, int] | None = None  # old and new length of the trailing part the patterns are cut in
    for attr in ruleset.rules().get("trailing_layers", {}).get("attrs", ()):
        if attrs.get(attr) == old and old > new:
            st.set(cfg, path, attr, new)
    for attr, n in _trailing(st, attrs, old).items():
        if old > new:
            kinds = _part_kinds(st, attrs, old, 0, old - n)
            st.set(cfg, path, attr, max(1, min(new - kinds, round(n * new / old))))
            tail = (n, vars(cfg)[attr])
    kept = K.joint_positions(attrs, old, new, st.layer_indices, st.stage_indices) if not tail else None
    if kept:
        _cut_jointly(st, cfg, path, attrs, old, kept)
        return
    for attr, value in attrs.items():
        if tail and _pattern(value, old) and old > new and old > 1:
            current = vars(cfg)[attr]
            st.set(cfg, path, attr, _cut_pattern(current[: old - tail[0]], new - tail[1])
                   + _cut_pattern(current[old - tail[0]:], tail[1]), reshape=True)
            continue
        positions = _positions(st, attr, value, old)
        if positions is not None and _is_int(value):
            st.set(cfg, path, attr, _rescale_indices(positions, old, new)[0])
        elif positions is not None:
            offset = int(attr in st.stage_indices)
            stem = [0] if offset and 0 in value else []
            moved = [p + offset for p in _rescale_indices(positions, old, new, attr in K.kind_indices())]
            st.set(cfg, path, attr, type(value)(stem + moved))
        elif _pattern(value, old) and old > new and old > 1:
            st.set(cfg, path, attr, _cut_pattern(vars(cfg)[attr], new), reshape=True)  # as the size rules left it


def _cut_jointly(st: State, cfg: Any, path: str, attrs: dict, old: int, kept: list[int]) -> None:
    """Per-layer lists cut to the layers ``kept`` (a layer of each joint kind, :func:`.kinds.joint_positions`),
    kind-selecting index lists moved onto the kept layers they name, leading counts to the kept layers they
    cover; other index lists (hooks) rescaled as usual."""
    new = len(kept)
    for attr in K.leading_layers():
        count = attrs.get(attr)
        if _is_int(count) and 0 < count < old:
            st.set(cfg, path, attr, sum(i < count for i in kept))
    for attr, value in attrs.items():
        positions = _positions(st, attr, value, old)
        offset = int(attr in st.stage_indices)
        if positions is not None and attr in K.kind_indices() and not _is_int(value):
            named = set(positions)
            st.set(cfg, path, attr, type(value)([j + offset for j, i in enumerate(kept) if i in named]))
        elif positions is not None and _is_int(value):
            st.set(cfg, path, attr, _rescale_indices(positions, old, new)[0])
        elif positions is not None:
            stem = [0] if offset and 0 in value else []
            st.set(cfg, path, attr, type(value)(stem + [p + offset for p in _rescale_indices(positions, old, new)]))
        elif _pattern(value, old) and old > new and old > 1:
            current = list(vars(cfg)[attr])  # as the size rules left it
            cut = [current[i] for i in kept]
            st.set(cfg, path, attr, "".join(cut) if isinstance(value, str) else type(value)(cut), reshape=True)


def _mirrored_indices(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """A layer index that a config without a depth of its own repeats from a sub-config (its constructor
    copies it down) takes the value the sub-config's depth rescaled it to; other layer indices of such a config
    index its sub-configs' stacks (hooks into a tower's hidden states): where every sub-config depth was cut
    alike, they are rescaled into it, in their order."""
    shrunk = {name: (old, new) for name, old, new in st.shrunk}
    cuts = {shrunk[f"{path}{child}.{d}"] for child, sub in attrs.items() if is_config(sub)
            for d in st.depths if f"{path}{child}.{d}" in shrunk}
    old_depth, new_depth = next(iter(cuts)) if len(cuts) == 1 else (0, 0)  # 0: not every depth cut alike
    for attr in st.layer_indices & attrs.keys():
        for child, sub in attrs.items():
            old, new = shrunk.get(f"{path}{child}.{attr}", (None, None))
            if is_config(sub) and old is not None and old == attrs[attr]:
                st.set(cfg, path, attr, new)
                break
        else:
            positions = _positions(st, attr, attrs[attr], old_depth) if old_depth else None
            if positions is not None and _int_list(attrs[attr]) and attr not in st.stage_indices:
                st.set(cfg, path, attr, type(attrs[attr])(_rescale_in_order(positions, old_depth, new_depth)))


def _per_layer_overrides(st: State, cfg: Any, path: str, attrs: dict, overrides: dict) -> None:
    """Shrink a heterogeneous config's per-layer values by the same rules, moved to the new layer indices."""
    old_kinds = attrs.get("layer_types")
    new_kinds = vars(cfg).get("layer_types")
    out: dict[int, dict] = {}
    for index, values in overrides.items():
        # the layer's values over the config's own ints and dicts (its rotary parameters, read by the rules)
        shared = {k: v for k, v in attrs.items() if k in values or _is_int(v) or isinstance(v, dict)}
        layer = types.SimpleNamespace(**{**shared, **values})
        before = dict(vars(layer))
        _heads(st, layer, f"{path}per_layer_config.{index}.", before)
        _sizes(st, layer, f"{path}per_layer_config.{index}.", before)
        new_index = index
        if old_kinds and new_kinds and index < len(old_kinds) and old_kinds[index] in new_kinds:
            new_index = list(new_kinds).index(old_kinds[index])
        if new_index < (vars(cfg).get("num_hidden_layers") or new_index + 1):
            kept = {k: v for k, v in vars(layer).items() if k in st.related and v != vars(cfg).get(k)}
            out[new_index] = {**kept, **{k: vars(layer)[k] for k in values}}  # a relation that spans the two
    st.per_layer[id(cfg)] = out


def _derived_layer_kinds(st: State) -> None:
    """A stack whose layer kinds a config derives from its depth (a property such as ``layers_block_type``,
    computed from a cycle of block types or an attention period and offset) keeps every kind: where the cut
    depth lost one, the depth becomes the shortest prefix of the original pattern that holds them all."""
    original, cfg = st.original, st.cfg
    depths = depth_attrs()
    old_nodes = dict(walk(original))
    for path, node in walk(cfg):
        old_node = old_nodes.get(path)
        attr = next((a for a in depths if _is_int(vars(node).get(a))), None)
        if old_node is None or attr is None or not vars(old_node).get(attr, 0) > vars(node)[attr] > 0:
            continue
        new = vars(node)[attr]
        if any(isinstance(v, (list, tuple)) and len(v) == new for v in vars(node).values()):
            continue  # stored per-layer lists were cut to this depth (and kept their kinds)
        depth = new
        for name in (n for n, v in vars(type(node)).items() if isinstance(v, property)):
            try:
                before, after = getattr(old_node, name), getattr(node, name)
            except Exception:  # noqa: BLE001 - a property that does not hold for this config
                continue
            if not (isinstance(before, (list, tuple)) and len(before) == vars(old_node)[attr]
                    and isinstance(after, (list, tuple)) and all(_hashable(k) for k in before)):
                continue
            kinds = set(before[1:])  # the first layer is a kind of its own: the later layers hold every kind
            if len(before) > 1 and not set(after[1:]) >= kinds:
                depth = max(depth, next(d for d in range(2, len(before) + 1) if set(before[1:d]) >= kinds))
        if new < depth <= 8:  # a tiny stack; a kind first met deeper is left to an override
            st.set(node, path, attr, depth)


def _cache_attention_layer(st: State) -> None:
    """A hybrid stack whose (tiny default) layers are all linear-attention ones, while the generation cache built
    from the config reads the sequence length from an attention layer (``[cache_attention]``): its last layer becomes
    an attention layer, through the stored per-layer pattern or an unset layer-index list the config derives the
    pattern from, whichever gives the cache an attention layer (a stack whose kinds cannot change stays so)."""
    cfg = st.cfg
    text = text_config(cfg)
    attention, depth = _cache_attention_layers(text)
    if attention or not depth:
        return
    last = depth - 1
    kind = ruleset.rules()["cache_attention"]["kind"]
    pattern = getattr(text, "layer_types", None)
    candidates = [("layer_types", [*list(pattern)[:last], kind])] if _pattern(pattern, depth) else []
    fields = dataclasses.fields(text) if dataclasses.is_dataclass(text) else ()
    candidates += [(f.name, [last]) for f in fields
                   if getattr(text, f.name, None) is None and "list[int]" in str(f.type)]
    for attr, value in candidates:
        trial = copy.deepcopy(text)
        try:
            setattr(trial, attr, value)
        except Exception:  # noqa: BLE001 - a derived pattern (a property) cannot be set
            continue
        if _cache_attention_layers(trial)[0]:
            path = next((p for p, node in walk(cfg) if node is text), "")
            st.set(text, path, attr, value, reshape=True)  # the stack keeps its kinds
            return


def _cache_attention_layers(text: Any) -> tuple[int, int]:
    """(attention layers, layers) of the dynamic cache transformers builds from a decoder config; (0, 0) where this
    transformers builds no cache from a config (or not from this one)."""
    try:
        from transformers.cache_utils import CacheLayerMixin, DynamicCache

        layers = DynamicCache(config=text).layers
    except Exception:  # noqa: BLE001 - an older transformers, or a config the cache cannot read
        return 0, 0
    return sum(isinstance(layer, CacheLayerMixin) for layer in layers), len(layers)


def _stage_block_indices(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """Block-index lists over a stack of stages (``[stage_block_indices]``: the blocks of every stage numbered in
    one run, e.g. the global-attention blocks among windowed ones) that the cut per-stage block counts
    (``stage_depths``) left pointing past the cut stack: mapped stage by stage onto the blocks that kind keeps."""
    names = ruleset.rules().get("stage_block_indices", {}).get("attrs", ())
    for rule in st.rules_of("stage_depths"):
        for depths in rule["attrs"]:
            old, new = attrs.get(depths), vars(cfg).get(depths)
            if not (_int_list(old) and _int_list(new)) or len(old) != len(new) or list(old) == list(new):
                continue
            for attr in names:
                value = attrs.get(attr)
                if _int_list(value) and value and all(0 <= i < sum(old) for i in value):
                    st.set(cfg, path, attr, type(value)(stage_block_map(value, list(old), list(new))))


def stage_block_map(indices: list[int], old: list[int], new: list[int]) -> list[int]:
    """Block indices over stages of ``old`` blocks, moved into stages of ``new`` blocks: a stage whose blocks were
    all named has all named; one with some named keeps its first block's kind first and names its last blocks
    (as many as it named, leaving the first); a stage of one block takes its first block's kind."""
    named, out, start, cut = set(indices), [], 0, 0
    for d, n in zip(old, new):
        rel = [i - start for i in range(start, start + d) if i in named]
        if rel and n > 0:
            if len(rel) == d:
                out += range(cut, cut + n)
            elif n == 1:
                out += [cut] if 0 in rel else []
            else:
                out += range(cut + n - min(len(rel), n - 1), cut + n)
        start, cut = start + d, cut + n
    return out
