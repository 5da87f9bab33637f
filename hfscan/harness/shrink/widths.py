"""Width passes that keep relations between widths: stage widths that grow, widths that follow the rounded text
width, lists that split a width into parts, and rotary sections that split a head's width."""

from __future__ import annotations

from typing import Any

from hfscan.harness.configtree import text_config, walk
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.state import State
from hfscan.harness.shrink.values import _code_default, _head_dim, _int_list, _is_int, _split_evenly


def _growing_widths(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """Stage widths a model tells apart by their growth (a stage starts where the width changes) are
    scaled together so the widest meets the cap; the config's scalar width equal to the first follows."""
    rule = ruleset.rules().get("growing_stage_widths", {})
    cap = rule.get("max", 32) * st.level.width
    for attr in rule.get("attrs", ()):
        old = attrs.get(attr)
        if not (_int_list(old) and all(a < b for a, b in zip(old, old[1:])) and old[-1] > cap):
            continue
        new = [max(1, x * cap // old[-1]) for x in old]
        if len(set(new)) < len(new):
            continue
        st.set(cfg, path, attr, type(old)(new))
        st.growth.update(zip(old, new))
        for scalar in st.widths & attrs.keys():
            if attrs[scalar] == old[0]:
                st.set(cfg, path, scalar, new[0])


def follow_growth(st: State, root: Any) -> None:
    """Stage-width lists elsewhere in the tree that held exactly those widths (e.g. a neck's channel
    list, widest first) take the same new widths."""
    if not st.growth:
        return
    nodes = dict(walk(root))
    for path, old, _ in list(st.shrunk):
        node_path, _, attr = path.rpartition(".")
        node = nodes.get(f"{node_path}." if node_path else "")
        if node is not None and attr in st.stage_widths and _int_list(old) and all(x in st.growth for x in old):
            st.set(node, f"{node_path}." if node_path else "", attr, type(old)(st.growth[x] for x in old))


def follow_text_width(st: State, root: Any) -> None:
    """Widths that project into the text model (a vision merger's output, an audio projection) and that
    the caps left equal to the text width follow it where it was rounded up to a multiple of its heads."""
    text = text_config(root)
    if id(text) not in st.rounded or text is root:
        return
    capped, rounded = st.rounded[id(text)]
    for path, node in walk(root):
        for attr in ruleset.rules().get("projection_widths", {}).get("attrs", ()):
            if node is not text and vars(node).get(attr) == capped:
                st.set(node, path, attr, rounded)


def _width_parts(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """Lists that split a shrunk width into parts (they summed to it) are rescaled to sum to the new width."""
    now = vars(cfg)
    for width, old in attrs.items():
        new = now.get(width) if width in st.widths else None
        if not (_is_int(old) and _is_int(new) and new < old):
            continue
        for attr, value in attrs.items():
            if attr != width and _int_list(value) and len(value) > 1 and sum(value) == old and now[attr] == value:
                st.set(cfg, path, attr, type(value)(_split_evenly(list(value), new)))


def _rope_sections(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """Rotary sections split half the head width: rescaled with it, or set (from the rules'
    proportions) where the config class declares the key but leaves it to the model's default; parameters
    keyed by layer type have their own sections."""
    now = vars(cfg)
    head, old_head = _head_dim(now), _head_dim(attrs)
    declared = set(getattr(type(cfg), "ignore_keys_at_rope_validation", None) or ())
    kinds = set(now.get("layer_types") or ()) if isinstance(now.get("layer_types"), (list, tuple)) else set()
    for attr in ("rope_parameters", "rope_scaling"):
        top = now.get(attr)
        if top is None and attr in now and id(cfg) in st.grid_text:
            top = {}  # unset (4.x): the sections the model code reads from it are set in default parameters
        if not isinstance(top, dict) or not head or not old_head or head >= old_head:
            continue
        groups = [(f"{attr}.{k}", v) for k, v in top.items() if k in kinds and isinstance(v, dict)] or [(attr, top)]
        for name, params in groups:
            partial = params.get("partial_rotary_factor", attrs.get("partial_rotary_factor")) or 1.0
            old_half, half = int(old_head * partial) // 2, int(head * partial) // 2
            for key, proportions in ruleset.rules().get("rope_sections", {}).items():
                value = params.get(key)
                coded = _code_default(type(cfg), key)  # the sections the model code defaults, where it reads
                proportions = coded if _int_list(coded) and sum(coded) == old_half else proportions  # them so
                if value is None and (key in declared or (id(cfg) in st.grid_text and sum(proportions) == old_half)):
                    value = proportions  # the model code's default: it split the original half head width
                elif not (_int_list(value) and sum(value) == old_half):
                    continue
                axes = sum(1 for v in value if v > 0)
                if half < axes <= old_half:  # too narrow for one pair per axis: the head width is raised
                    head = _widen_head(st, cfg, path, attrs, partial, axes) or head
                    half = int(head * partial) // 2
                new = _split_evenly(list(value), half)
                st.record(f"{path}{name}.{key}", value if key in params else None, new)
                params[key] = new
            _rope_factor_lists(st, params, f"{path}{name}", old_half, half)
        if top and now.get(attr) is None:
            st.set(cfg, path, attr, {"rope_type": "default", **top})


def _widen_head(st: State, cfg: Any, path: str, attrs: dict, partial: float, axes: int) -> int | None:
    """Double a config's head width until half its rotary span holds one dimension per rotary section (axis):
    its explicit ``head_dim``, else its hidden width (widths that equalled it follow, in the config and, through
    ``st.rounded``, the projections into it across the tree).  The new head width; None where neither is set."""
    now = vars(cfg)
    attr = "head_dim" if _is_int(attrs.get("head_dim")) and _is_int(now.get("head_dim")) else "hidden_size"
    heads = 1 if attr == "head_dim" else now.get("num_attention_heads")
    value = now.get(attr)
    if not (_is_int(value) and _is_int(heads) and heads > 0 and value > 0):
        return None
    new = value
    while int(new // heads * partial) // 2 < axes:
        new *= 2
    st.set(cfg, path, attr, new)
    if attr == "hidden_size":
        capped = st.rounded.get(id(cfg), (value, value))[0]
        st.rounded[id(cfg)] = (capped, new)
        for width in st.widths & attrs.keys():  # widths that equalled it (an embedding width) stay equal
            if width != attr and attrs[width] == attrs[attr] and now.get(width) == value:
                st.set(cfg, path, width, new)
    return new // heads


def _rope_factor_lists(st: State, params: dict, name: str, old_half: int, half: int) -> None:
    """Rotary factor lists with one factor per frequency (``[rope_factor_lists]``: longrope's short and long
    factors), as long as half the old rotary width: resampled to half the new one, so the rope type keeps its
    parameters (its validator checks their length)."""
    for key in ruleset.rules().get("rope_factor_lists", {}).get("keys", ()):
        value = params.get(key)
        if isinstance(value, (list, tuple)) and len(value) == old_half and 0 < half < old_half:
            new = [value[i * old_half // half] for i in range(half)]
            st.record(f"{name}.{key}", list(value), new)
            params[key] = new


def _rope_per_layer_type(st: State, cfg: Any, path: str) -> None:
    """Rotary parameters a config keys by layer type (``[rope_per_layer_type]``) but leaves empty, as a
    checkpoint would set them: each layer type of its (cut) stack gets the rules' default parameters."""
    now = vars(cfg)
    default = ruleset.rules().get("rope_per_layer_type", {}).get("default")
    kinds = now.get("layer_types")
    if default and now.get("rope_parameters") == {} and isinstance(kinds, (list, tuple)) and kinds:
        st.set(cfg, path, "rope_parameters", {kind: dict(default) for kind in dict.fromkeys(kinds)})
