"""Pure helpers of the shrink passes: value tests, per-layer patterns, proportional splits and rescaled indices."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from hfscan.harness.shrink import ruleset


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(_is_int(x) for x in v)


def _is_number(v: Any) -> bool:
    """An int or a float (a width coefficient), not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _nested(value: Any, depth: int) -> bool:
    """Whether ``value`` is ``depth`` levels of non-empty lists (or tuples), e.g. stages of [in, out, ...] specs
    (the innermost level, a spec, may hold anything: a [h, w] stride)."""
    if not (isinstance(value, (list, tuple)) and value):
        return False
    return depth == 1 or all(_nested(v, depth - 1) for v in value)


def _pattern(value: Any, depth: int) -> bool:
    """Whether ``value`` may be a per-layer pattern of a depth-``depth`` stack: a list as long, or a
    string as long that repeats its letters (``"MM*M"``, not a word such as ``"block_sparse"``)."""
    if isinstance(value, str):
        return len(value) == depth and 2 * len(set(value)) <= depth
    return isinstance(value, (list, tuple)) and len(value) == depth


def _shared_kinds() -> tuple:
    """Layer kinds whose layers share one block's weights (``[shared_layer_kinds]``): a stack keeps two of each."""
    return tuple(ruleset.rules().get("shared_layer_kinds", {}).get("kinds", ()))


#: The first layer of a stack as a kind of its own: models build it apart (no residual stream to read yet, no norm
#: before its attention), so a kind it has is kept at a later layer too.
FIRST = ("first layer",)


def pattern_kinds(value: Any) -> int:
    """How many layers a cut of a per-layer pattern keeps every kind in: the first layer, one of each kind of the
    later layers, and a second of each kind whose layers share weights."""
    items = list(value)
    later = items[1:]
    return 1 + len(set(later)) + sum(later.count(k) > 1 for k in _shared_kinds())


def _cut_pattern(value: Any, new: int) -> Any:
    """The first ``new`` items of a per-layer pattern, each kind kept (while ``new`` allows): the first layer (a kind
    of its own), then the first later layer of each kind, and a second layer of each kind whose layers share
    weights (the model ties the later ones to the first)."""
    items = list(value)
    firsts: dict[Any, int] = {FIRST: 0} if len(items) > 1 else {}
    seconds: dict[Any, int] = {}
    for i, x in enumerate(items[1:] if firsts else items, 1 if firsts else 0):
        key = x if _hashable(x) else i
        if key in firsts and key in _shared_kinds():
            seconds.setdefault(key, i)
        firsts.setdefault(key, i)
    again = firsts.pop(items[0], None) if firsts and _hashable(items[0]) else None  # the first layer's kind, later
    order = sorted(firsts.values()) + sorted(seconds.values()) + ([again] if again is not None else [])
    keep = set(order[:new])  # a kind no other layer has before the first layer's kind again
    i = 0
    while len(keep) < new:
        keep.add(i)
        i += 1
    cut = [items[i] for i in sorted(keep)]
    return "".join(cut) if isinstance(value, str) else type(value)(cut)


def _split_evenly(parts: list[int], total: int) -> list[int]:
    """Integer parts proportional to ``parts`` that sum to ``total`` (each at least 1 when possible); the
    remainder goes to parts of a value no other part has first, so that parts that were equal stay equal
    where they can (rotary sections a model interleaves pairwise)."""
    old = sum(parts)
    new = [max(1 if total >= len(parts) and p else 0, p * total // old) for p in parts]
    order = sorted(range(len(parts)), key=lambda j: parts.count(parts[j]) > 1)
    i = 0
    while sum(new) != total:
        step = 1 if sum(new) < total else -1
        if new[order[i % len(new)]] + step >= 0:
            new[order[i % len(new)]] += step
        i += 1
    return new


def _rescale_indices(value: Any, old: int, new: int, kinds: bool = False) -> list[int]:
    """Layer indices of a depth-``old`` stack moved into depth ``new``, distinct ones kept distinct; indices that
    select a layer kind (``kinds``) and named some layers only leave a layer unnamed where ``new`` allows."""
    distinct = sorted(set(value))
    room = new - 1 if kinds and len(distinct) < old and new > 1 else new
    scaled = sorted({min(new - 1, x * new // old) for x in distinct})
    if len(scaled) < min(len(distinct), room) or len(scaled) > room:
        scaled = list(range(new - min(len(distinct), room), new))
    return scaled


def _rescale_in_order(positions: list[int], old: int, new: int) -> list[int]:
    """Layer positions of a depth-``old`` stack moved into depth ``new`` in their own order (a deepest-first list
    of hooks stays deepest first), distinct ones kept distinct where the new depth holds them."""
    distinct = sorted(set(positions))
    scaled = _rescale_indices(positions, old, new)
    moved = dict(zip(distinct, scaled)) if len(scaled) == len(distinct) else {
        x: min(new - 1, x * new // old) for x in distinct}
    return [moved[p] for p in positions]


def _kv_heads(q_old: int, kv_old: int, q_new: int) -> int:
    """Key/value heads for ``q_new`` query heads that were ``kv_old`` for ``q_old``: the grouping ratio kept
    where it divides the new query heads, else the nearest count dividing them (or divided by them)."""
    if q_old % kv_old == 0 and q_new % (q_old // kv_old) == 0:
        return q_new // (q_old // kv_old)
    new = max(1, q_new * kv_old // q_old)
    while q_new % new and new % q_new:
        new -= 1
    return new


def _head_dim(attrs: dict) -> int | None:
    """The per-head width of a config's attributes: explicit, else hidden / heads."""
    head, hidden, heads = attrs.get("head_dim"), attrs.get("hidden_size"), attrs.get("num_attention_heads")
    if _is_int(head):
        return head
    return hidden // heads if _is_int(hidden) and _is_int(heads) and heads > 0 else None


def _rotary_factors(attrs: dict) -> list[float]:
    """The shares of a head's width a config's rotary embeddings span (``[partial_rotary]`` factor, set on the
    config, in its rotary parameters or in those of each layer type); [] where it names none."""
    name = ruleset.rules().get("partial_rotary", {}).get("factor")
    params = [attrs] + [v for a in ("rope_parameters", "rope_scaling") if isinstance(v := attrs.get(a), dict)]
    params += [v for p in params[1:] for v in p.values() if isinstance(v, dict)]  # keyed by layer type
    return [float(p[name]) for p in params if name and _is_number(p.get(name))]


def _sides(size: Any) -> list[int]:
    """Every side in an image or feature-map size (an int, [h, w], or a list of [h, w]); [] where it is none."""
    if _is_int(size) and size > 0:
        return [size]
    if isinstance(size, (list, tuple)) and size:
        parts = [_sides(x) for x in size]
        return [x for p in parts for x in p] if all(parts) else []
    return []


def _halve(size: Any, times: int) -> Any:
    """A size (int or nested list of ints) halved ``times`` times."""
    return size >> times if _is_int(size) else type(size)(_halve(x, times) for x in size)


def _patch_side(cfg: Any) -> int | None:
    """A config's patch side (``patch_size``, an int or a square's [h, w]); None where it has none."""
    sides = _sides(vars(cfg).get("patch_size"))
    return max(sides) if sides else None


def _depth_parts(attrs: dict, depth: int, depth_attrs: frozenset[str]) -> dict[str, int]:
    """Layer counts (``*_layers``) that together make up ``depth`` (e.g. input + recurrent + output layers)."""
    parts = {a: v for a, v in attrs.items()
             if a.endswith("_layers") and a not in depth_attrs and _is_int(v) and v >= 0}
    return parts if len(parts) > 1 and sum(parts.values()) == depth else {}


@lru_cache(maxsize=None)
def _code_default(cls: type, key: str) -> Any:
    """The value the modeling module next to a config class defaults ``key`` of its rotary parameters to
    (``rope_parameters.get("mrope_section", [22, 22, 20])``), read from its source; None where it has none."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(cls.__module__.replace(".configuration_", ".modeling_"))
    if spec is None or not spec.origin:
        return None
    with open(spec.origin, encoding="utf-8") as f:
        m = re.search(rf"\.get\(\s*[\"']{re.escape(key)}[\"']\s*,\s*(\[[\d,\s]*\])\s*\)", f.read())
    return ast.literal_eval(m.group(1)) if m else None
