"""One handler per size rule kind (``cap``, ``round_up``, ``heads``, ``kv_heads`` ...), applied to one config in
the rules' order, and the width relations that follow them (heads dividing the width, a rotary's least width)."""

from __future__ import annotations

import math
from typing import Any

from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.state import State
from hfscan.harness.shrink.values import _int_list, _is_int, _kv_heads, _nested, _rotary_factors


def _head_counts(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    wide = max(_rotary_factors(attrs), default=1.0) > 1  # a rotary wider than a head: it needs the head count
    for attr in rule["attrs"]:
        old = attrs.get(attr)
        if _is_int(old) and old > 0:
            st.set(cfg, path, attr, old if wide else min(old, rule["max"]))


def _kv_head_counts(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for q_attr, kv_attr in rule["pairs"]:
        q_old, kv_old, q_new = attrs.get(q_attr), attrs.get(kv_attr), vars(cfg).get(q_attr)
        if _is_int(q_old) and _int_list(kv_old) and min(kv_old) > 0 and _is_int(q_new):
            # one kv head count per layer: each follows the query heads' cap, its ratio kept where it can
            st.set(cfg, path, kv_attr, type(kv_old)(_kv_heads(q_old, kv, q_new) for kv in kv_old))
            continue
        if not (_is_int(q_old) and _is_int(kv_old) and kv_old > 0 and _is_int(q_new)):
            continue
        if q_old % kv_old == 0 and q_old // kv_old <= rule["max_ratio"]:
            # grouped query: keep the ratio, raising query heads above the cap if needed
            ratio = q_old // kv_old
            new = max(1, q_new // ratio)
            st.set(cfg, path, q_attr, new * ratio)
        else:
            new = _kv_heads(q_old, kv_old, q_new)
        st.set(cfg, path, kv_attr, new)


def _stage_head_counts(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr in rule["attrs"]:
        old = attrs.get(attr)
        if _int_list(old) and len(old) > 1 and max(old) > rule["max"]:
            top = max(old)
            st.set(cfg, path, attr, type(old)(max(1, x * rule["max"] // top) for x in old))


#: The head rule kinds, applied by :func:`_heads` kind after kind (the kv heads follow the capped query heads).
HEAD_HANDLERS = {"heads": _head_counts, "kv_heads": _kv_head_counts, "stage_heads": _stage_head_counts}


def _heads(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """The head rules of one config: head counts capped, kv heads following them, per-stage heads scaled."""
    for kind, handler in HEAD_HANDLERS.items():
        for rule in st.rules_of(kind):
            handler(st, cfg, path, attrs, rule)


def _cap(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr in rule["attrs"]:
        old = vars(cfg).get(attr)
        if _is_int(old) and old > 0 and rule.get("when", attr) in attrs:
            st.set(cfg, path, attr, min(old, rule["max"] * st.level.width if rule["max"] >= 32 else rule["max"]))


def _round_up(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr in rule["attrs"]:
        old = vars(cfg).get(attr)
        if _is_int(old) and old > 0 and rule.get("when", attr) in attrs:
            st.set(cfg, path, attr, math.ceil(old / rule["multiple"]) * rule["multiple"])


def _stage_depths(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    """Per-stage block counts capped at ``max``; the (first) deepest stage keeps up to ``deepest`` blocks: a
    stage's first block changes width and stride, its later blocks are of another kind (no downsampling shortcut,
    a shifted window, a conv block before the stage's last attention block), which one stage keeps for all."""
    for attr in rule["attrs"]:
        old = vars(cfg).get(attr)
        if _int_list(old):
            deepest = old.index(max(old)) if old else -1
            caps = [max(rule["max"], rule.get("deepest", 0)) if i == deepest else rule["max"] for i in range(len(old))]
            st.set(cfg, path, attr, type(old)(min(x, cap) if x > 0 else x for x, cap in zip(old, caps)))


def _stage_widths(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr in rule["attrs"]:
        old = vars(cfg).get(attr)
        if _int_list(old):
            st.set(cfg, path, attr, type(old)(min(x, rule["max"] * st.level.width) for x in old))


def _set_values(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, value in rule["values"].items():
        if attr in attrs:
            st.set(cfg, path, attr, value)


def _default(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, value in rule["values"].items():
        if attr in attrs and attrs[attr] is None:
            st.set(cfg, path, attr, value)


def _same(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, source in rule["values"].items():
        if attr in attrs and attrs[attr] is None and _is_int(vars(cfg).get(source)):
            st.set(cfg, path, attr, vars(cfg)[source])


def _first(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, source in rule["values"].items():
        options = vars(cfg).get(source)
        if attr in attrs and attrs[attr] is None and isinstance(options, (list, tuple)) and options:
            st.set(cfg, path, attr, options[0])


def _per_layer_default(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    depth = vars(cfg).get("num_hidden_layers")
    for attr, value in rule["values"].items():
        if attr in attrs and attrs[attr] is None and _is_int(depth):
            st.set(cfg, path, attr, [value] * depth)


def _products(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, relation in rule["values"].items():
        _product(st, cfg, path, attrs, attr, relation)


def _sum(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    """Within one config, before the rebuild (its validator checks it); across the tree after it
    (:func:`hfscan.harness.shrink.relations._keep_relations`)."""
    for attr, parts in rule["values"].items():
        old, new = [attrs.get(p) for p in parts], [vars(cfg).get(p) for p in parts]
        if all(_is_int(v) for v in old + new) and attrs.get(attr) == sum(old):
            st.set(cfg, path, attr, sum(new))


def _divides(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for groups, heads in rule["pairs"]:
        g, h = vars(cfg).get(groups), vars(cfg).get(heads)
        if _is_int(g) and _is_int(h) and g > 0 and h > 0 and h % g:
            st.set(cfg, path, groups, math.gcd(g, h))


def _multiples(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, base in rule["values"].items():
        _multiple(st, cfg, path, attrs, attr, base)


def _stage_base(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, strides in rule["values"].items():
        base, stages = vars(cfg).get(attr), vars(cfg).get(strides)
        if _is_int(base) and base > 0 and isinstance(stages, (list, tuple)) and stages:
            st.set(cfg, path, attr, min(base, max(1, rule["max"] * st.level.width >> len(stages))))


def _block_specs(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    cap = rule["max"] * st.level.width
    for attr, positions in rule["values"].items():
        old = vars(cfg).get(attr)
        spec = lambda block: [min(x, cap) if i in positions and _is_int(x) else x  # noqa: E731
                              for i, x in enumerate(block)]
        if _nested(old, 3):  # stages of block specs
            st.set(cfg, path, attr, [[spec(block) for block in stage[: rule["blocks"]]] for stage in old])
        elif _nested(old, 2):  # one list of layer specs: every layer kept
            st.set(cfg, path, attr, [spec(block) for block in old])


def _quotient(st: State, cfg: Any, path: str, attrs: dict, rule: dict) -> None:
    for attr, (num, den) in rule["values"].items():
        a, b = vars(cfg).get(num), vars(cfg).get(den)
        if attr in attrs and attrs[attr] is None and _is_int(a) and _is_int(b) and b > 0:
            st.set(cfg, path, attr, a // b)


#: The handler of each size rule kind, applied by :func:`_sizes` to one config in the rules' order.  The other
#: kinds have passes of their own (:mod:`hfscan.harness.shrink.passes`); ``quotient`` runs after the widths
#: are made multiples of the heads.
SIZE_HANDLERS = {
    "cap": _cap, "round_up": _round_up, "stage_depths": _stage_depths, "stage_widths": _stage_widths,
    "set": _set_values, "default": _default, "same": _same, "first": _first, "per_layer": _per_layer_default,
    "product": _products, "sum": _sum, "divides": _divides, "multiple": _multiples, "stage_base": _stage_base,
    "block_specs": _block_specs,
}


def _sizes(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """The size rules of one config, in the rules' order; then the widths made to fit the heads and rotary, and
    the quotients derived from them."""
    for rule in st.rules:
        handler = SIZE_HANDLERS.get(rule["kind"])
        if handler is not None:
            handler(st, cfg, path, attrs, rule)
    _narrower_stems(st, cfg, path, attrs)
    _rotary_width(st, cfg, path, attrs)
    _heads_divide(st, cfg, path, attrs)
    for rule in st.rules_of("quotient"):  # after the width is made a multiple of the heads
        _quotient(st, cfg, path, attrs, rule)


def _rotary_width(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """A capped head width (``[partial_rotary]`` attrs) on which a partial rotary would span fewer than ``min``
    dimensions, where the original spanned at least that, is doubled until each rotary does (a 2-D rotary
    takes its frequencies in pairs per axis: none left for the second axis at 2)."""
    spec = ruleset.rules().get("partial_rotary", {})
    least, share = spec.get("min", 0), min(_rotary_factors(attrs), default=1.0)
    for attr in spec.get("attrs", ()):
        old, new = attrs.get(attr), vars(cfg).get(attr)
        if not (_is_int(old) and _is_int(new) and 0 < new < old and int(old * share) >= least):
            continue
        while int(new * share) < least and new < old:
            new *= 2
        st.set(cfg, path, attr, min(new, old))


def _heads_divide(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """Keep hidden width a multiple of the head count: when no explicit head_dim is set (an even head width,
    for rotary), and with one where the original width was such a multiple (a config validator checks it;
    kept a multiple of 8 as well)."""
    hidden, heads = vars(cfg).get("hidden_size"), vars(cfg).get("num_attention_heads")
    if not (_is_int(hidden) and _is_int(heads) and heads > 0 and hidden % heads):
        return
    if not _is_int(attrs.get("head_dim")):
        step = 2 * heads  # an even head width (rotary)
    else:
        old_hidden, old_heads = attrs.get("hidden_size"), attrs.get("num_attention_heads")
        if not (_is_int(old_hidden) and _is_int(old_heads) and old_heads > 0 and old_hidden % old_heads == 0):
            return
        step = math.lcm(heads, 8)
    rounded = math.ceil(hidden / step) * step
    st.set(cfg, path, "hidden_size", rounded)
    st.rounded[id(cfg)] = (hidden, rounded)
    for attr in st.widths & attrs.keys():  # widths that equalled it (an embedding width) stay equal
        if attrs[attr] == attrs["hidden_size"] and vars(cfg).get(attr) == hidden:
            st.set(cfg, path, attr, rounded)


def _multiple(st: State, cfg: Any, path: str, attrs: dict, attr: str, base: str) -> None:
    """A width that was an exact multiple of ``base`` stays that multiple of it: ``base`` becomes the
    shrunk width // the multiple (when that divides)."""
    old, old_base, new = attrs.get(attr), attrs.get(base), vars(cfg).get(attr)
    if not (_is_int(old) and _is_int(old_base) and _is_int(new) and 0 < old_base < old and old % old_base == 0):
        return
    times = old // old_base
    if new % times == 0 and new >= times:
        capped = vars(cfg).get(base)
        st.set(cfg, path, base, new // times)
        widths = st.widths - {attr}
        for other in (widths | st.stage_widths) & attrs.keys():
            now = vars(cfg).get(other)  # widths that equalled the base (as the caps left them) follow it
            if _is_int(now) and now == capped and attrs[other] == old_base:
                st.set(cfg, path, other, new // times)
            elif _int_list(now) and set(now) == {capped} and set(attrs[other]) == {old_base}:
                st.set(cfg, path, other, type(now)([new // times] * len(now)))


def _product(st: State, cfg: Any, path: str, attrs: dict, attr: str, relation: dict) -> None:
    """Set ``attr`` to times[0] x times[1] // over of the new values when that held of the old ones."""
    names = [*relation["times"], *([relation["over"]] if "over" in relation else [])]
    old, new = [attrs.get(n) for n in names], [vars(cfg).get(n) for n in names]
    if not (_is_int(attrs.get(attr)) and all(_is_int(v) and v > 0 for v in old + new)):
        return
    value = lambda v: v[0] * v[1] // (v[2] if len(v) > 2 else 1)  # noqa: E731
    divides = lambda v: len(v) < 3 or (v[0] * v[1]) % v[2] == 0  # noqa: E731
    if divides(old) and divides(new) and value(old) == attrs[attr] and value(new) > 0:
        st.set(cfg, path, attr, value(new))


def _narrower_stems(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """A stem width that was narrower than the first stage's (``[narrower_stems]``: {stem = stage widths}) stays
    narrower where the caps made them equal (half the first stage's): the first block then still projects its
    shortcut, which equal widths would make an identity."""
    for stem, stages in ruleset.rules().get("narrower_stems", {}).items():
        old, widths = attrs.get(stem), attrs.get(stages)
        new, cut = vars(cfg).get(stem), vars(cfg).get(stages)
        if not (_is_int(old) and _int_list(widths) and _is_int(new) and _int_list(cut) and widths and cut):
            continue
        if old < widths[0] and new >= cut[0] > 1:
            st.set(cfg, path, stem, cut[0] // 2)
