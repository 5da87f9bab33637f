"""Layer kinds the cut stack keeps (``[kind_indices]``, ``[leading_layers]``): layer-index lists that select a kind
keep a layer they do not name, and where a config holds two or more per-layer sources of kinds (patterns of names
or flags, kind-selecting index lists, leading counts), the cut keeps a layer of each combination of them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.values import FIRST, _int_list, _is_int, _pattern

#: The first layer's kind at a later layer (kept after the kinds no earlier layer has, where the depth allows).
AGAIN = ("first layer's kind", "again")


@lru_cache(maxsize=1)
def kind_indices() -> frozenset[str]:
    """The layer-index lists that select a layer kind (``[kind_indices]``): the layers they do not name are another."""
    return frozenset(ruleset.rules().get("kind_indices", {}).get("attrs", ()))


def leading_layers() -> tuple[str, ...]:
    """Counts of leading layers of another kind (``[leading_layers]``: the first k layers dense)."""
    return tuple(ruleset.rules().get("leading_layers", {}).get("attrs", ()))


def index_list_kinds(positions: list[int], depth: int, kinds: bool) -> int:
    """Layers an index list of a depth-``depth`` stack needs: one per distinct index, and, for a list that selects
    a layer kind (``kinds``), one more for the layers it does not name (self- beside cross-attention layers,
    windowed beside global ones)."""
    distinct = len(set(positions))
    return distinct + (kinds and distinct < depth)


def joint_kinds(attrs: dict, depth: int, layer_indices: Any, stage_indices: Any) -> dict[tuple, int]:
    """Where a config holds two or more per-layer sources of layer kinds, each distinct combination of them -> its
    first layer (a sliding layer with a sparse MLP is neither a sliding layer nor a sparse one alone); empty where
    there are fewer than two sources (each is then cut on its own)."""
    if depth < 2:
        return {}
    sources: list[list] = []
    for attr, value in attrs.items():
        if attr in kind_indices() and attr in layer_indices and _int_list(value):
            offset = int(attr in stage_indices)
            named = {x - offset for x in value}
            if named and all(0 <= p < depth for p in named) and len(named) < depth:
                sources.append([i in named for i in range(depth)])
        elif _pattern(value, depth) and all(isinstance(x, (str, bool)) for x in value) and len(set(value)) > 1:
            sources.append(list(value))
    for attr in leading_layers():
        count = attrs.get(attr)
        if _is_int(count) and 0 < count < depth:
            sources.append([i < count for i in range(depth)])
    if len(sources) < 2:
        return {}
    firsts: dict[tuple, int] = {FIRST: 0}  # the first layer is a kind of its own (:data:`.values.FIRST`)
    first = tuple(src[0] for src in sources)
    for i in range(1, depth):
        kind = tuple(src[i] for src in sources)
        firsts.setdefault(AGAIN if kind == first else kind, i)
    return firsts


def joint_positions(attrs: dict, old: int, new: int, layer_indices: Any, stage_indices: Any) -> list[int] | None:
    """The layers of a depth-``old`` stack that a depth-``new`` cut keeps: the first layer of each joint kind (as
    many as ``new`` holds), then the first others; None where the kinds are not joint."""
    firsts = joint_kinds(attrs, old, layer_indices, stage_indices)
    if not firsts or new >= old:
        return None
    keep = set(sorted(firsts.values(), key=lambda i: (i == firsts.get(AGAIN), i))[:new])  # new kinds first
    i = 0
    while len(keep) < new:
        keep.add(i)
        i += 1
    return sorted(keep)
