"""Relations kept across the rebuilt tree (``sum``, ``times``, ``scaled``, ``stacked`` rules;
``[backbone_channels]``, ``[tower_layer_indices]``): read from the rebuilt tree, where constructors have derived
their values."""

from __future__ import annotations

import math
from typing import Any

from hfscan.harness.configtree import dotted, is_config, walk
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.state import State
from hfscan.harness.shrink.values import _int_list, _is_int, _is_number


#: How the ``sum``, ``times`` and ``scaled`` rules combine their parts.
_COMBINE = {"sum": sum, "times": math.prod, "scaled": math.prod}


def _keep_relations(st: State) -> None:
    """A width that was the sum (``sum`` rules: the width of two streams joined) or the product (``times``
    rules: merged patches are a tower's width times the patches merged) of other values, or a whole constant
    times their product (``scaled`` rules: a constant of the modeling code times a coefficient), is set to that
    of their new values, read from the rebuilt tree (where constructors have derived theirs)."""
    original, cfg = st.original, st.cfg
    old_nodes = dict(walk(original))
    overridden = {p for p, _ in st.overridden + st.filled}
    for rule in (r for r in ruleset.rules()["rule"] if r["kind"] in _COMBINE):
        combine = _COMBINE[rule["kind"]]
        for path, node in walk(cfg):
            old_node = old_nodes.get(path)
            for attr, parts in rule["values"].items():
                parts = [parts] if isinstance(parts, str) else parts
                old, new = [dotted(old_node, p) for p in parts], [dotted(node, p) for p in parts]
                if (old_node is None or f"{path}{attr}" in overridden or not _is_int(vars(old_node).get(attr))
                        or not all(_is_number(v) and v > 0 for v in old + new)):
                    continue
                constant = vars(old_node)[attr] / combine(old)  # 1 for sums and products; whole where scaled
                if constant != int(constant) or (rule["kind"] != "scaled" and constant != 1):
                    continue
                value = int(constant) * combine(new)
                if value != int(value):
                    continue
                st.set(node, path, attr, int(value))


def _backbone_channels(st: State) -> None:
    """A channel list of a config that was the widths of its backbone's feature maps (``[backbone_channels]``
    sub-configs; equal in the original config, e.g. a neck's per-level input widths) is the tiny backbone's."""
    original, cfg = st.original, st.cfg
    old_nodes = dict(walk(original))
    for path, node in walk(cfg):
        old_node = old_nodes.get(path)
        for sub in ruleset.rules().get("backbone_channels", {}).get("configs", ()):
            if old_node is None or not (is_config(vars(node).get(sub)) and is_config(vars(old_node).get(sub))):
                continue
            old_channels = _backbone_widths(vars(old_node)[sub])
            lists = [a for a, v in vars(old_node).items() if _int_list(v) and list(v) == old_channels]
            new_channels = _backbone_widths(vars(node)[sub]) if lists else None
            for attr in lists if new_channels else ():
                value = type(vars(node)[attr])(new_channels) if _int_list(vars(node)[attr]) else new_channels
                st.set(node, path, attr, value)


def _backbone_widths(backbone: Any) -> list[int] | None:
    """The channels of a backbone config's feature maps, from the backbone model built on the meta device (no
    weights); None where it cannot be built (e.g. it needs a package that is missing)."""
    import torch
    from transformers import AutoBackbone

    try:
        with torch.device("meta"):
            channels = AutoBackbone.from_config(backbone).channels
    except Exception:  # noqa: BLE001 - no native backbone for this config: no relation to keep
        return None
    return [int(c) for c in channels] if _int_list(list(channels)) else None


def _tower_layer_indices(st: State) -> None:
    """Indices a composite config gives into a tower's hidden states (``[tower_layer_indices]``: 0 the embeddings,
    L its last layer, negative ones counted from the end) rescaled into the tower's cut depth, as many as
    before (a projector's width counts them), each keeping its sign."""
    original, cfg = st.original, st.cfg
    old_nodes = dict(walk(original))
    for path, node in walk(cfg):
        old_node = old_nodes.get(path)
        for attr, depth in ruleset.rules().get("tower_layer_indices", {}).items():
            value, old, new = vars(node).get(attr), dotted(old_node, depth), dotted(node, depth)
            if not ((_is_int(value) or _int_list(value)) and _is_int(old) and _is_int(new) and 0 < new < old):
                continue
            scaled = [(x % (old + 1)) * new // old - (new + 1) * (x < 0)
                      for x in ([value] if _is_int(value) else value)]
            result = scaled[0] if _is_int(value) else type(value)(scaled)
            st.set(node, path, attr, result)


def _stacked_widths(st: State) -> None:
    """A width that stacked a layer output and those of the layers an index list names (``stacked`` rules: width x
    (len(list) + 1), as it was in the original config) is that of the new width and list."""
    original, cfg = st.original, st.cfg
    old_nodes = dict(walk(original))
    for rule in (r for r in ruleset.rules()["rule"] if r["kind"] == "stacked"):
        for path, node in walk(cfg):
            old_node = old_nodes.get(path)
            for attr, (width, indices) in rule["values"].items():
                if old_node is None:
                    continue
                old, new = (vars(n).get(attr) for n in (old_node, node))
                (old_w, new_w), (old_i, new_i) = ((vars(old_node).get(a), vars(node).get(a)) for a in (width, indices))
                if not (_is_int(old) and _is_int(old_w) and _is_int(new_w) and isinstance(old_i, (list, tuple))
                        and isinstance(new_i, (list, tuple)) and old == old_w * (len(old_i) + 1)):
                    continue
                st.set(node, path, attr, new_w * (len(new_i) + 1))
