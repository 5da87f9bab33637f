"""Tiny configs: shrink every size-like value of a config tree by data-driven rules.

The rules (``hfscan/data/shrink_rules.toml``) are keyed by attribute name and
applied at every level of the config tree.  Only sizes change: values that
define a variant (grouped-query ratio, MoE shape, sliding window, activation,
hybrid layer pattern) are kept.  The config is rebuilt through its constructor
so that derived fields are recomputed.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import itertools
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hfscan.harness.overrides import load_toml

_TOKEN_SUFFIXES = ("_token_id", "_token_index", "_token_ids")
_PLACEHOLDER = re.compile(r"^(image|video|audio)_token_(id|index)$")


@dataclass(frozen=True)
class Level:
    """One shrink level: ``width`` multiplies the width caps (those of 32 and above)."""

    name: str
    width: int


@dataclass
class ShrinkReport:
    """What :func:`tiny_config` changed (``shrunk``) and which variant values it kept."""

    level: str = "tiny"
    shrunk: list[tuple[str, Any, Any]] = field(default_factory=list)  # (path, old, new)
    kept: list[tuple[str, Any]] = field(default_factory=list)  # (path, value)
    overridden: list[tuple[str, Any]] = field(default_factory=list)
    filled: list[tuple[str, Any]] = field(default_factory=list)  # values only a checkpoint sets (configvals)

    def summary(self) -> dict:
        return {
            "level": self.level,
            "shrunk": {p: [_jsonable(o), _jsonable(n)] for p, o, n in self.shrunk},
            "kept": {p: _jsonable(v) for p, v in self.kept},
            "overridden": {p: _jsonable(v) for p, v in self.overridden},
            **({"filled": {p: _jsonable(v) for p, v in self.filled}} if self.filled else {}),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v][:16]
    return str(v)[:80]


@lru_cache(maxsize=1)
def rules() -> dict:
    """The parsed shrink rules data file."""
    return load_toml("shrink_rules.toml")


def levels() -> tuple[Level, ...]:
    return tuple(Level(lv["name"], int(lv["width"])) for lv in rules()["level"])


def _rule_attrs(kind: str) -> tuple[str, ...]:
    """The attributes that the ``[[rule]]`` entries of ``kind`` name, in the rules' order (each once)."""
    return tuple(dict.fromkeys(a for r in rules()["rule"] if r["kind"] == kind for a in r["attrs"]))


@lru_cache(maxsize=1)
def _common_attrs() -> frozenset[str]:
    """The attributes the base config class sets on every config (in transformers 4.x, generation settings such as
    ``top_k``, which a size rule of the same name, a mixture's experts per token, must not cut)."""
    from transformers import PretrainedConfig

    return frozenset(vars(PretrainedConfig()))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_config(v: Any) -> bool:
    from transformers import PretrainedConfig

    return isinstance(v, PretrainedConfig)


def _int_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(_is_int(x) for x in v)


class _Shrinker:
    """Applies the rules to one config tree, recording every change."""

    def __init__(self, level: Level, report: ShrinkReport):
        self.level, self.report = level, report
        self.rules = rules()["rule"]
        self.keep = set(rules().get("keep", {}).get("attrs", ()))
        self.stage_indices = set(_rule_attrs("stage_indices"))
        self.layer_indices = set(_rule_attrs("layer_indices")) | self.stage_indices
        self.vocab: int | None = None  # the smallest shrunk vocabulary of the tree
        self.remap: dict[int, int] = {}  # special-token ids moved inside it: old -> new
        self.per_layer: dict[int, dict] = {}  # id(config) -> its shrunk per-layer values (heterogeneous configs)
        self.growth: dict[int, int] = {}  # old -> new width of the stage widths that keep their growth
        self.rounded: dict[int, tuple[int, int]] = {}  # id(config) -> (capped, rounded) hidden width
        self.related = {a for r in self._rules("sum") for a in r["values"]}  # values kept as sums of others
        self.widths = frozenset(a for r in self._rules("cap") if r["max"] >= 32 for a in r["attrs"])  # width caps
        self.depths = frozenset(_rule_attrs("layers"))
        self.stage_widths = frozenset(_rule_attrs("stage_widths"))
        self.vocabs = frozenset(_rule_attrs("vocab"))
        self.grid_text: set[int] = set()  # id() of the text configs beside a vision tower that merges patch grids

    def set(self, cfg: Any, path: str, attr: str, new: Any) -> None:
        if attr in _common_attrs() and attr not in _init_fields(type(cfg)):
            return  # a value every config holds (4.x: generation's top_k), not the model's own: left alone
        _set(self.report, cfg, path, attr, new)

    def shrink(self, cfg: Any, path: str = "") -> None:
        self._select_every_stage(cfg, path)
        attrs = dict(vars(cfg))
        for name, sub in _sub_configs(cfg):
            self.shrink(sub, f"{path}{name}.")
        old_depth = self._layers(cfg, path, attrs)
        self._heads(cfg, path, attrs)
        self._sizes(cfg, path, attrs)
        self._growing_widths(cfg, path, attrs)
        self._vocab(cfg, path, attrs)
        if old_depth:
            self._per_layer(cfg, path, attrs, *old_depth)
        else:
            self._mirrored_indices(cfg, path, attrs)
        self._rope_per_layer_type(cfg, path)
        self._rope_sections(cfg, path, attrs)
        self._width_parts(cfg, path, attrs)
        spec = attrs.get("_heterogeneity_spec")
        if spec is not None and getattr(spec, "per_layer_overrides", None):
            self._per_layer_overrides(cfg, path, attrs, spec.per_layer_overrides)
        for attr in self.keep & attrs.keys():
            if attrs[attr] is not None:
                self.report.kept.append((f"{path}{attr}", attrs[attr]))

    def _select_every_stage(self, cfg: Any, path: str) -> None:
        """A backbone whose stage selection its config class leaves unset (``[stage_selection]``: the default
        picks the last stage only, and a checkpoint sets it) selects every stage but the stem, so a head that
        reads several stages' feature maps can run; the stage-index rules then move them into the cut depth."""
        spec = rules().get("stage_selection", {})
        attr, names = spec.get("attr"), vars(cfg).get(spec.get("stages"))
        if not (attr and is_config(cfg) and isinstance(names, (list, tuple)) and len(names) > 2):
            return
        fields = _init_fields(type(cfg))  # the field, or the constructor argument of its public name
        unset = fields.get(attr, fields.get(attr.lstrip("_"), ...)) is None
        if unset and list(vars(cfg).get(attr) or ()) == [len(names) - 1]:
            self.set(cfg, path, attr, list(range(1, len(names))))

    def _rules(self, kind: str):
        return [r for r in self.rules if r["kind"] == kind]

    def _layers(self, cfg: Any, path: str, attrs: dict) -> tuple[int, int] | None:
        """Cap depth counts; returns (old, new) of the largest depth for per-layer lists."""
        depth = None
        for rule in self._rules("layers"):
            for attr in rule["attrs"]:
                old = attrs.get(attr)
                if not _is_int(old) or old <= 0:
                    continue
                parts = _depth_parts(attrs, old, self.depths)
                kinds = max(self._layer_kinds(attrs, old), sum(1 for v in parts.values() if v),
                            *(self._part_kinds(attrs, old, 0, old - n) + self._part_kinds(attrs, old, old - n, old)
                              for n in self._trailing(attrs, old).values()))
                new = min(old, max(rule["max"], kinds))
                self.set(cfg, path, attr, new)
                for part, value in zip(parts, _split_evenly(list(parts.values()), new) if parts else ()):
                    self.set(cfg, path, part, value)
                if depth is None or old > depth[0]:
                    depth = (old, new)
        return depth

    def _layer_kinds(self, attrs: dict, depth: int) -> int:
        """How many layers the per-layer patterns and layer-index lists of this depth need (at most 4)."""
        kinds = 1
        for attr, value in attrs.items():
            positions = self._positions(attr, value, depth)
            if positions is not None:
                kinds = max(kinds, 1 if _is_int(value) else _index_list_kinds(positions, depth, attr in _kind_indices()))
            elif _pattern(value, depth) and depth > 1:
                try:
                    kinds = max(kinds, len(set(value)) + sum(list(value).count(k) > 1 for k in _shared_kinds()))
                except TypeError:  # unhashable items
                    continue
        kinds = max(kinds, len(_joint_kinds(attrs, depth, self.layer_indices, self.stage_indices)))
        return min(kinds, 4)

    def _part_kinds(self, attrs: dict, depth: int, start: int, stop: int) -> int:
        """How many layer kinds the layers ``start:stop`` of the per-layer patterns of this depth hold (at least 1)."""
        kinds = 1
        for value in attrs.values():
            if _pattern(value, depth) and depth > 1:
                part = list(value)[start:stop]
                kinds = max(kinds, len({x if _hashable(x) else i for i, x in enumerate(part)}))
        return min(kinds, 4)

    def _trailing(self, attrs: dict, depth: int) -> dict[str, int]:
        """Counts of the last layers of a depth-``depth`` stack that form a part of it (``[trailing_layers]``, e.g.
        layers that reuse an earlier layer's key/value cache), where they are a part short of the whole stack."""
        names = rules().get("trailing_layers", {}).get("attrs", ())
        return {a: attrs[a] for a in names if _is_int(attrs.get(a)) and 0 < attrs[a] < depth}

    def _positions(self, attr: str, value: Any, depth: int) -> list[int] | None:
        """The 0-based layer positions a layer-index list (or a single layer index) of a depth-``depth`` stack
        names (stage indices count the stem as 0 and the first layer as 1); None when ``value`` is not one."""
        if attr not in self.layer_indices or not (_int_list(value) or _is_int(value)):
            return None
        offset = int(attr in self.stage_indices)
        positions = [x - offset for x in ([value] if _is_int(value) else value) if not (offset and x == 0)]
        return positions if positions and all(0 <= p < depth for p in positions) else None

    def _per_layer(self, cfg: Any, path: str, attrs: dict, old: int, new: int) -> None:
        """Cut per-layer lists to the new depth (keeping every kind) and rescale layer indices; a trailing part
        of the stack keeps as many layers as its kinds need (at least one) and each part is cut on its own (the
        layers before it keep every kind too); a trailing part as deep as the stack stays so."""
        tail: tuple[int, int] | None = None  # old and new length of the trailing part the patterns are cut in
        for attr in rules().get("trailing_layers", {}).get("attrs", ()):
            if attrs.get(attr) == old and old > new:
                self.set(cfg, path, attr, new)
        for attr, n in self._trailing(attrs, old).items():
            if old > new:
                kinds = self._part_kinds(attrs, old, 0, old - n)
                self.set(cfg, path, attr, max(1, min(new - kinds, round(n * new / old))))
                tail = (n, vars(cfg)[attr])
        kept = _joint_positions(attrs, old, new, self.layer_indices, self.stage_indices) if not tail else None
        if kept:
            self._cut_jointly(cfg, path, attrs, old, kept)
            return
        for attr, value in attrs.items():
            if tail and _pattern(value, old) and old > new and old > 1:
                current = vars(cfg)[attr]
                self.set(cfg, path, attr, _cut_pattern(current[: old - tail[0]], new - tail[1])
                         + _cut_pattern(current[old - tail[0]:], tail[1]))
                continue
            positions = self._positions(attr, value, old)
            if positions is not None and _is_int(value):
                self.set(cfg, path, attr, _rescale_indices(positions, old, new)[0])
            elif positions is not None:
                offset = int(attr in self.stage_indices)
                stem = [0] if offset and 0 in value else []
                moved = [p + offset for p in _rescale_indices(positions, old, new, attr in _kind_indices())]
                self.set(cfg, path, attr, type(value)(stem + moved))
            elif _pattern(value, old) and old > new and old > 1:
                self.set(cfg, path, attr, _cut_pattern(vars(cfg)[attr], new))  # as the size rules left it

    def _cut_jointly(self, cfg: Any, path: str, attrs: dict, old: int, kept: list[int]) -> None:
        """Per-layer lists cut to the layers ``kept`` (a layer of each joint kind, :func:`_joint_positions`), and
        the layer-index lists that select a kind moved onto the kept layers they name; other index lists
        (hooks) rescaled as usual."""
        new = len(kept)
        for attr in rules().get("leading_layers", {}).get("attrs", ()):
            count = attrs.get(attr)
            if _is_int(count) and 0 < count < old:
                self.set(cfg, path, attr, sum(i < count for i in kept))
        for attr, value in attrs.items():
            positions = self._positions(attr, value, old)
            if positions is not None and attr in _kind_indices() and not _is_int(value):
                offset = int(attr in self.stage_indices)
                named = set(positions)
                self.set(cfg, path, attr, type(value)([j + offset for j, i in enumerate(kept) if i in named]))
            elif positions is not None and _is_int(value):
                self.set(cfg, path, attr, _rescale_indices(positions, old, new)[0])
            elif positions is not None:
                offset = int(attr in self.stage_indices)
                stem = [0] if offset and 0 in value else []
                self.set(cfg, path, attr, type(value)(stem + [p + offset for p in _rescale_indices(positions, old, new)]))
            elif _pattern(value, old) and old > new and old > 1:
                current = list(vars(cfg)[attr])  # as the size rules left it
                cut = [current[i] for i in kept]
                self.set(cfg, path, attr, "".join(cut) if isinstance(value, str) else type(value)(cut))

    def _mirrored_indices(self, cfg: Any, path: str, attrs: dict) -> None:
        """A layer index that a config without a depth of its own repeats from a sub-config (its constructor
        copies it down) takes the value the sub-config's depth rescaled it to; other layer indices of such a config
        index its sub-configs' stacks (hooks into a tower's hidden states): where every sub-config depth was cut
        alike, they are rescaled into it, in their order."""
        shrunk = {name: (old, new) for name, old, new in self.report.shrunk}
        cuts = {shrunk[f"{path}{child}.{d}"] for child, sub in attrs.items() if is_config(sub)
                for d in self.depths if f"{path}{child}.{d}" in shrunk}
        old_depth, new_depth = next(iter(cuts)) if len(cuts) == 1 else (0, 0)  # 0: not every depth cut alike
        for attr in self.layer_indices & attrs.keys():
            for child, sub in attrs.items():
                old, new = shrunk.get(f"{path}{child}.{attr}", (None, None))
                if is_config(sub) and old is not None and old == attrs[attr]:
                    self.set(cfg, path, attr, new)
                    break
            else:
                positions = self._positions(attr, attrs[attr], old_depth) if old_depth else None
                if positions is not None and _int_list(attrs[attr]) and attr not in self.stage_indices:
                    self.set(cfg, path, attr, type(attrs[attr])(_rescale_in_order(positions, old_depth, new_depth)))

    def _rope_sections(self, cfg: Any, path: str, attrs: dict) -> None:
        """Rotary sections split half the head width: rescaled with it, or set (from the rules'
        proportions) where the config class declares the key but leaves it to the model's default; parameters
        keyed by layer type have their own sections."""
        now = vars(cfg)
        head, old_head = _head_dim(now), _head_dim(attrs)
        declared = set(getattr(type(cfg), "ignore_keys_at_rope_validation", None) or ())
        kinds = set(now.get("layer_types") or ()) if isinstance(now.get("layer_types"), (list, tuple)) else set()
        for attr in ("rope_parameters", "rope_scaling"):
            top = now.get(attr)
            if top is None and attr in now and id(cfg) in self.grid_text:
                top = {}  # unset (4.x): the sections the model code reads from it are set in default parameters
            if not isinstance(top, dict) or not head or not old_head or head >= old_head:
                continue
            groups = [(f"{attr}.{k}", v) for k, v in top.items() if k in kinds and isinstance(v, dict)] or [(attr, top)]
            for name, params in groups:
                partial = params.get("partial_rotary_factor", attrs.get("partial_rotary_factor")) or 1.0
                old_half, half = int(old_head * partial) // 2, int(head * partial) // 2
                for key, proportions in rules().get("rope_sections", {}).items():
                    value = params.get(key)
                    coded = _code_default(type(cfg), key)  # the sections the model code defaults, where it reads
                    proportions = coded if _int_list(coded) and sum(coded) == old_half else proportions  # them so
                    if value is None and (key in declared or (id(cfg) in self.grid_text and sum(proportions) == old_half)):
                        value = proportions  # the model code's default: it split the original half head width
                    elif not (_int_list(value) and sum(value) == old_half):
                        continue
                    new = _split_evenly(list(value), half)
                    self.report.shrunk.append((f"{path}{name}.{key}", value if key in params else None, new))
                    params[key] = new
                self._rope_factor_lists(params, f"{path}{name}", old_half, half)
            if top and now.get(attr) is None:
                self.set(cfg, path, attr, {"rope_type": "default", **top})

    def _rope_factor_lists(self, params: dict, name: str, old_half: int, half: int) -> None:
        """Rotary factor lists with one factor per frequency (``[rope_factor_lists]``: longrope's short and long
        factors), as long as half the old rotary width: resampled to half the new one, so the rope type keeps
        its parameters (its validator checks their length)."""
        for key in rules().get("rope_factor_lists", {}).get("keys", ()):
            value = params.get(key)
            if isinstance(value, (list, tuple)) and len(value) == old_half and half and half < old_half:
                new = [value[i * old_half // half] for i in range(half)]
                self.report.shrunk.append((f"{name}.{key}", list(value), new))
                params[key] = new

    def _rope_per_layer_type(self, cfg: Any, path: str) -> None:
        """Rotary parameters a config keys by layer type (``[rope_per_layer_type]``) but leaves empty, as a
        checkpoint would set them: each layer type of its (cut) stack gets the rules' default parameters."""
        now = vars(cfg)
        default = rules().get("rope_per_layer_type", {}).get("default")
        kinds = now.get("layer_types")
        if default and now.get("rope_parameters") == {} and isinstance(kinds, (list, tuple)) and kinds:
            self.set(cfg, path, "rope_parameters", {kind: dict(default) for kind in dict.fromkeys(kinds)})

    def _width_parts(self, cfg: Any, path: str, attrs: dict) -> None:
        """Lists that split a shrunk width into parts (they summed to it) are rescaled to sum to the new width."""
        now = vars(cfg)
        for width, old in attrs.items():
            new = now.get(width) if width in self.widths else None
            if not (_is_int(old) and _is_int(new) and new < old):
                continue
            for attr, value in attrs.items():
                if attr != width and _int_list(value) and len(value) > 1 and sum(value) == old and now[attr] == value:
                    self.set(cfg, path, attr, type(value)(_split_evenly(list(value), new)))

    def _per_layer_overrides(self, cfg: Any, path: str, attrs: dict, overrides: dict) -> None:
        """Shrink a heterogeneous config's per-layer values by the same rules, moved to the new layer indices."""
        import types

        old_kinds = attrs.get("layer_types")
        new_kinds = vars(cfg).get("layer_types")
        out: dict[int, dict] = {}
        for index, values in overrides.items():
            # the layer's values over the config's own ints and dicts (its rotary parameters, read by the rules)
            shared = {k: v for k, v in attrs.items() if k in values or _is_int(v) or isinstance(v, dict)}
            layer = types.SimpleNamespace(**{**shared, **values})
            before = dict(vars(layer))
            self._heads(layer, f"{path}per_layer_config.{index}.", before)
            self._sizes(layer, f"{path}per_layer_config.{index}.", before)
            new_index = index
            if old_kinds and new_kinds and index < len(old_kinds) and old_kinds[index] in new_kinds:
                new_index = list(new_kinds).index(old_kinds[index])
            if new_index < (vars(cfg).get("num_hidden_layers") or new_index + 1):
                kept = {k: v for k, v in vars(layer).items() if k in self.related and v != vars(cfg).get(k)}
                out[new_index] = {**kept, **{k: vars(layer)[k] for k in values}}  # a relation that spans the two
        self.per_layer[id(cfg)] = out

    def _heads(self, cfg: Any, path: str, attrs: dict) -> None:
        wide = max(_rotary_factors(attrs), default=1.0) > 1  # a rotary wider than a head: it needs the head count
        for rule in self._rules("heads"):
            for attr in rule["attrs"]:
                old = attrs.get(attr)
                if _is_int(old) and old > 0:
                    self.set(cfg, path, attr, old if wide else min(old, rule["max"]))
        for rule in self._rules("kv_heads"):
            for q_attr, kv_attr in rule["pairs"]:
                q_old, kv_old, q_new = attrs.get(q_attr), attrs.get(kv_attr), vars(cfg).get(q_attr)
                if _is_int(q_old) and _int_list(kv_old) and min(kv_old) > 0 and _is_int(q_new):
                    # one kv head count per layer: each follows the query heads' cap, its ratio kept where it can
                    self.set(cfg, path, kv_attr, type(kv_old)(_kv_heads(q_old, kv, q_new) for kv in kv_old))
                    continue
                if not (_is_int(q_old) and _is_int(kv_old) and kv_old > 0 and _is_int(q_new)):
                    continue
                if q_old % kv_old == 0 and q_old // kv_old <= rule["max_ratio"]:
                    # grouped query: keep the ratio, raising query heads above the cap if needed
                    ratio = q_old // kv_old
                    new = max(1, q_new // ratio)
                    self.set(cfg, path, q_attr, new * ratio)
                else:
                    new = _kv_heads(q_old, kv_old, q_new)
                self.set(cfg, path, kv_attr, new)
        for rule in self._rules("stage_heads"):
            for attr in rule["attrs"]:
                old = attrs.get(attr)
                if _int_list(old) and len(old) > 1 and max(old) > rule["max"]:
                    top = max(old)
                    self.set(cfg, path, attr, type(old)(max(1, x * rule["max"] // top) for x in old))

    def _sizes(self, cfg: Any, path: str, attrs: dict) -> None:
        width = self.level.width
        for rule in self.rules:
            kind = rule["kind"]
            for attr in rule.get("attrs", ()):
                old = vars(cfg).get(attr)
                if kind == "cap" and _is_int(old) and old > 0 and rule.get("when", attr) in attrs:
                    cap = rule["max"] * width if rule["max"] >= 32 else rule["max"]
                    self.set(cfg, path, attr, min(old, cap))
                elif kind == "round_up" and _is_int(old) and old > 0 and rule.get("when", attr) in attrs:
                    self.set(cfg, path, attr, math.ceil(old / rule["multiple"]) * rule["multiple"])
                elif kind == "stage_depths" and _int_list(old):
                    self.set(cfg, path, attr, type(old)(min(x, rule["max"]) if x > 0 else x for x in old))
                elif kind == "stage_widths" and _int_list(old):
                    self.set(cfg, path, attr, type(old)(min(x, rule["max"] * width) for x in old))
            if kind == "set":
                for attr, value in rule["values"].items():
                    if attr in attrs:
                        self.set(cfg, path, attr, value)
            elif kind == "default":
                for attr, value in rule["values"].items():
                    if attr in attrs and attrs[attr] is None:
                        self.set(cfg, path, attr, value)
            elif kind == "same":
                for attr, source in rule["values"].items():
                    if attr in attrs and attrs[attr] is None and _is_int(vars(cfg).get(source)):
                        self.set(cfg, path, attr, vars(cfg)[source])
            elif kind == "first":
                for attr, source in rule["values"].items():
                    options = vars(cfg).get(source)
                    if attr in attrs and attrs[attr] is None and isinstance(options, (list, tuple)) and options:
                        self.set(cfg, path, attr, options[0])
            elif kind == "per_layer":
                depth = vars(cfg).get("num_hidden_layers")
                for attr, value in rule["values"].items():
                    if attr in attrs and attrs[attr] is None and _is_int(depth):
                        self.set(cfg, path, attr, [value] * depth)
            elif kind == "product":
                for attr, relation in rule["values"].items():
                    self._product(cfg, path, attrs, attr, relation)
            elif kind == "sum":
                for attr, parts in rule["values"].items():
                    old, new = [attrs.get(p) for p in parts], [vars(cfg).get(p) for p in parts]
                    if all(_is_int(v) for v in old + new) and attrs.get(attr) == sum(old):
                        self.set(cfg, path, attr, sum(new))
            elif kind == "divides":
                for groups, heads in rule["pairs"]:
                    g, h = vars(cfg).get(groups), vars(cfg).get(heads)
                    if _is_int(g) and _is_int(h) and g > 0 and h > 0 and h % g:
                        self.set(cfg, path, groups, math.gcd(g, h))
            elif kind == "multiple":
                for attr, base in rule["values"].items():
                    self._multiple(cfg, path, attrs, attr, base)
            elif kind == "stage_base":
                for attr, strides in rule["values"].items():
                    base, stages = vars(cfg).get(attr), vars(cfg).get(strides)
                    if _is_int(base) and base > 0 and isinstance(stages, (list, tuple)) and stages:
                        self.set(cfg, path, attr, min(base, max(1, rule["max"] * width >> len(stages))))
            elif kind == "block_specs":
                for attr, positions in rule["values"].items():
                    old, cap = vars(cfg).get(attr), rule["max"] * width
                    spec = lambda block: [min(x, cap) if i in positions and _is_int(x) else x  # noqa: E731
                                          for i, x in enumerate(block)]
                    if _nested(old, 3):  # stages of block specs
                        self.set(cfg, path, attr, [[spec(block) for block in stage[: rule["blocks"]]] for stage in old])
                    elif _nested(old, 2):  # one list of layer specs: every layer kept
                        self.set(cfg, path, attr, [spec(block) for block in old])
        self._rotary_width(cfg, path, attrs)
        self._heads_divide(cfg, path, attrs)
        for rule in self._rules("quotient"):  # after the width is made a multiple of the heads
            for attr, (num, den) in rule["values"].items():
                a, b = vars(cfg).get(num), vars(cfg).get(den)
                if attr in attrs and attrs[attr] is None and _is_int(a) and _is_int(b) and b > 0:
                    self.set(cfg, path, attr, a // b)

    def _rotary_width(self, cfg: Any, path: str, attrs: dict) -> None:
        """A capped head width (``[partial_rotary]`` attrs) on which a partial rotary would span fewer than ``min``
        dimensions, where the original spanned at least that, is doubled until each rotary does (a 2-D rotary
        takes its frequencies in pairs per axis: none left for the second axis at 2)."""
        spec = rules().get("partial_rotary", {})
        least, share = spec.get("min", 0), min(_rotary_factors(attrs), default=1.0)
        for attr in spec.get("attrs", ()):
            old, new = attrs.get(attr), vars(cfg).get(attr)
            if not (_is_int(old) and _is_int(new) and 0 < new < old and int(old * share) >= least):
                continue
            while int(new * share) < least and new < old:
                new *= 2
            self.set(cfg, path, attr, min(new, old))

    def _multiple(self, cfg: Any, path: str, attrs: dict, attr: str, base: str) -> None:
        """A width that was an exact multiple of ``base`` stays that multiple of it: ``base`` becomes the
        shrunk width // the multiple (when that divides)."""
        old, old_base, new = attrs.get(attr), attrs.get(base), vars(cfg).get(attr)
        if not (_is_int(old) and _is_int(old_base) and _is_int(new) and 0 < old_base < old and old % old_base == 0):
            return
        times = old // old_base
        if new % times == 0 and new >= times:
            capped = vars(cfg).get(base)
            self.set(cfg, path, base, new // times)
            widths = self.widths - {attr}
            for other in (widths | self.stage_widths) & attrs.keys():
                now = vars(cfg).get(other)  # widths that equalled the base (as the caps left them) follow it
                if _is_int(now) and now == capped and attrs[other] == old_base:
                    self.set(cfg, path, other, new // times)
                elif _int_list(now) and set(now) == {capped} and set(attrs[other]) == {old_base}:
                    self.set(cfg, path, other, type(now)([new // times] * len(now)))

    def _product(self, cfg: Any, path: str, attrs: dict, attr: str, relation: dict) -> None:
        """Set ``attr`` to times[0] x times[1] // over of the new values when that held of the old ones."""
        names = [*relation["times"], *([relation["over"]] if "over" in relation else [])]
        old, new = [attrs.get(n) for n in names], [vars(cfg).get(n) for n in names]
        if not (_is_int(attrs.get(attr)) and all(_is_int(v) and v > 0 for v in old + new)):
            return
        value = lambda v: v[0] * v[1] // (v[2] if len(v) > 2 else 1)  # noqa: E731
        divides = lambda v: len(v) < 3 or (v[0] * v[1]) % v[2] == 0  # noqa: E731
        if divides(old) and divides(new) and value(old) == attrs[attr] and value(new) > 0:
            self.set(cfg, path, attr, value(new))

    def _growing_widths(self, cfg: Any, path: str, attrs: dict) -> None:
        """Stage widths a model tells apart by their growth (a stage starts where the width changes) are
        scaled together so the widest meets the cap; the config's scalar width equal to the first follows."""
        rule = rules().get("growing_stage_widths", {})
        cap = rule.get("max", 32) * self.level.width
        for attr in rule.get("attrs", ()):
            old = attrs.get(attr)
            if not (_int_list(old) and all(a < b for a, b in zip(old, old[1:])) and old[-1] > cap):
                continue
            new = [max(1, x * cap // old[-1]) for x in old]
            if len(set(new)) < len(new):
                continue
            self.set(cfg, path, attr, type(old)(new))
            self.growth.update(zip(old, new))
            for scalar in self.widths & attrs.keys():
                if attrs[scalar] == old[0]:
                    self.set(cfg, path, scalar, new[0])

    def follow_growth(self, root: Any) -> None:
        """Stage-width lists elsewhere in the tree that held exactly those widths (e.g. a neck's channel
        list, widest first) take the same new widths."""
        if not self.growth:
            return
        nodes = dict(_walk(root))
        for path, old, _ in list(self.report.shrunk):
            node_path, _, attr = path.rpartition(".")
            node = nodes.get(f"{node_path}." if node_path else "")
            if node is not None and attr in self.stage_widths and _int_list(old) and all(x in self.growth for x in old):
                self.set(node, f"{node_path}." if node_path else "", attr, type(old)(self.growth[x] for x in old))

    def _heads_divide(self, cfg: Any, path: str, attrs: dict) -> None:
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
        self.set(cfg, path, "hidden_size", rounded)
        self.rounded[id(cfg)] = (hidden, rounded)
        for attr in self.widths & attrs.keys():  # widths that equalled it (an embedding width) stay equal
            if attrs[attr] == attrs["hidden_size"] and vars(cfg).get(attr) == hidden:
                self.set(cfg, path, attr, rounded)

    def follow_text_width(self, root: Any) -> None:
        """Widths that project into the text model (a vision merger's output, an audio projection) and that
        the caps left equal to the text width follow it where it was rounded up to a multiple of its heads."""
        text = text_config(root)
        if id(text) not in self.rounded or text is root:
            return
        capped, rounded = self.rounded[id(text)]
        for path, node in _walk(root):
            for attr in rules().get("projection_widths", {}).get("attrs", ()):
                if node is not text and vars(node).get(attr) == capped:
                    self.set(node, path, attr, rounded)

    def _vocab(self, cfg: Any, path: str, attrs: dict) -> None:
        """Cap the vocabulary; the smallest new vocabulary bounds every special-token id."""
        for rule in self._rules("vocab"):
            for attr in rule["attrs"]:
                old = attrs.get(attr)
                if _is_int(old) and old > rule["max"]:
                    self.set(cfg, path, attr, rule["max"])
                    self.vocab = min(self.vocab or old, rule["max"])

    def equal_vocabularies(self, root: Any) -> None:
        """Where a vocabulary of the tree was cut, the smaller ones rise to the cut size: every vocabulary of a
        tiny tree holds the same ids, so ids one part produces (a decoder's argmax) embed in another (a speech
        encoder whose default vocabulary is smaller than the decoder's)."""
        if not self.vocab:
            return
        for path, node in _walk(root):
            for attr in self.vocabs & vars(node).keys():
                if _is_int(vars(node)[attr]) and 0 < vars(node)[attr] < self.vocab:
                    self.set(node, path, attr, self.vocab)

    def _vocab_sizes(self, root: Any) -> list[int]:
        """The vocabulary sizes (``vocab`` rules) that the configs of a tree hold."""
        return [v for _, node in _walk(root) for a, v in vars(node).items()
                if a in self.vocabs and _is_int(v) and v > 0]

    def remap_tokens(self, root: Any) -> None:
        """Move special-token ids beyond the new vocabulary inside it, across the whole tree.

        Ids are moved to free slots from the top of the vocabulary down, in
        order, so distinct ids stay distinct and an id shared by two
        sub-configs maps to the same new id.
        """
        if not self.vocab:
            return
        nodes = list(_walk(root))
        ids = sorted(_token_ids(nodes))
        low = {i for i in ids if i < self.vocab}
        free = [i for i in range(self.vocab - 1, -1, -1) if i not in low]
        remap = dict(zip([i for i in ids if i >= self.vocab], free))
        for path, node in nodes:
            for attr, value in _token_values(node).items():
                if _is_int(value) and value in remap:
                    self.set(node, path, attr, remap[value])
                elif _int_list(value) and any(i in remap for i in value):
                    self.set(node, path, attr, type(value)(remap.get(i, i) for i in value))
        # a placeholder token the config declares but leaves unset (a checkpoint's tokenizer sets it)
        free = [i for i in free if i not in remap.values()]
        for path, node in nodes:
            for attr, value in vars(node).items():
                if value is None and _PLACEHOLDER.match(attr) and free:
                    self.set(node, path, attr, free.pop(0))
        self.remap = remap

    def codes_below_ids(self, original: Any, root: Any) -> None:
        """A codebook (``[codes_below_ids]``) no larger than the smallest vocabulary of the original tree may hold
        codes that are token ids (an image generator writes its VQ codes into the text ids); it keeps fitting: at
        most the smallest vocabulary of the tiny tree, and below the new ids of the special tokens that came after
        its codes (a power of two where it was one)."""
        old_nodes = list(_walk(original))
        vocabs, new_vocabs = self._vocab_sizes(original), self._vocab_sizes(root)
        if not (vocabs and self.vocab):
            return
        ids, nodes = _token_ids(old_nodes), dict(_walk(root))
        for path, old_node in old_nodes:
            for attr in rules().get("codes_below_ids", {}).get("attrs", ()):
                size, node = vars(old_node).get(attr), nodes.get(path)
                if node is None or not (_is_int(size) and 0 < size <= min(vocabs) and _is_int(vars(node).get(attr))):
                    continue
                bound = min([*new_vocabs, *(self.remap.get(i, i) for i in ids if i >= size)])
                if size & (size - 1) == 0 and bound > 0:  # a power of two (a validator may insist) stays one
                    bound = 1 << (bound.bit_length() - 1)
                if vars(node)[attr] > bound > 0:
                    self.set(node, path, attr, bound)

    def cap_image_grids(self, root: Any) -> None:
        """Image sizes that the token grids derive from (``[image_grid]``): where the patch grid of a plain tower
        (a config with layers and no per-stage depths: its grid is its sequence), times its tiles per image, holds
        more tokens than a grid ``max_side`` patches wide, every image size of the tree, and the feature-map sizes
        that follow it, are halved together, as often as needed and while each stays a whole number of its
        config's patches (where it was one), so towers fed side by side (and prompt encoders sized by the image)
        keep their ratios. A config whose ``tile`` size is its sub-configs' image size cuts its input into tiles
        that they read (``tiled`` of them at least): the tile is halved with them."""
        spec = rules().get("image_grid", {})
        sizes = [(path, node, attr, vars(node)[attr]) for path, node in _walk(root)
                 for attr in (*spec.get("attrs", ()), *spec.get("follow", ())) if _sides(vars(node).get(attr))]
        tiles_of, tile_sizes = _image_tiles(root, spec)
        sizes += tile_sizes
        towers = self._tower_grids(sizes, spec, tiles_of)
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
            self.set(node, path, attr, _halve(size, halvings))

    def _tower_grids(self, sizes: list[tuple[str, Any, str, Any]], spec: dict,
                     tiles_of: dict[int, int]) -> list[tuple[int, int]]:
        """(patches per side, tiles read at once) of each plain tower whose image size is among ``sizes`` (a config
        with layers and no per-stage depths: its patch grid is its sequence)."""
        stages = set(_rule_attrs("stage_depths"))
        return [(max(_sides(size)) // _patch_side(node), tiles_of.get(id(node), 1) * math.prod(
                    vars(node)[t] for t in spec.get("tiles", ()) if _is_int(vars(node).get(t)) and vars(node)[t] > 0))
                for _, node, attr, size in sizes if attr in spec.get("attrs", ()) and _patch_side(node)
                and self.depths & vars(node).keys() and not stages & vars(node).keys()]

    def fit_patch_grids(self, root: Any) -> None:
        """A config that folds its patch grid by an integer factor (a pixel shuffle) gets image sizes whose
        grid (``image_size // patch_size``, in it or its sub-configs) is a multiple of that factor."""
        spec = rules().get("patch_grid", {})
        for node_path, node in _walk(root):
            factor = next((v for v in (vars(node).get(n) for n in spec.get("factors", ())) if _is_int(v) and v > 1),
                          None)
            if factor is not None:
                for path, cfg in _walk(node):
                    size, patch = vars(cfg).get("image_size"), vars(cfg).get("patch_size")
                    if _is_int(size) and _is_int(patch) and patch > 0 and (size // patch) % factor:
                        self.set(cfg, path, "image_size", math.ceil(size // patch / factor) * factor * patch)
            for attr in spec.get("pooled_tokens", ()):
                self._fit_pooled_tokens(node, node_path, attr)
            for attr in spec.get("patch_counts", ()):
                self._fit_patch_count(node, attr)

    def _fit_patch_count(self, node: Any, attr: str) -> None:
        """A config that maps the patches per image to something (a dict keyed by patch counts) gets images whose
        square patch grid has the smallest such count, where the grid it has is none of them."""
        counts = vars(node).get(attr)
        squares = sorted(int(k) for k in counts if math.isqrt(int(k)) ** 2 == int(k)) if isinstance(counts, dict) else []
        if not squares:
            return
        for path, cfg in _walk(node):
            size, patch = vars(cfg).get("image_size"), vars(cfg).get("patch_size")
            if _is_int(size) and _is_int(patch) and patch > 0 and (size // patch) ** 2 not in map(int, counts):
                self.set(cfg, path, "image_size", math.isqrt(squares[0]) * patch)

    def _fit_pooled_tokens(self, node: Any, path: str, attr: str) -> None:
        """Tokens per image pooled from the patch grid as a square: its side must divide the grid side, so it
        becomes the largest such square no bigger than before."""
        tokens = vars(node).get(attr)
        grids = [vars(c)["image_size"] // vars(c)["patch_size"] for _, c in _walk(node)
                 if _is_int(vars(c).get("image_size")) and _is_int(vars(c).get("patch_size")) and vars(c)["patch_size"]]
        if not _is_int(tokens) or not grids or not grids[0]:
            return
        side, grid = math.isqrt(tokens), grids[0]
        if side * side == tokens and grid % side:
            new = max(d for d in range(1, min(side, grid) + 1) if grid % d == 0)
            self.set(node, path, attr, new * new)


def _set(report: ShrinkReport, cfg: Any, path: str, attr: str, new: Any) -> None:
    """Set ``attr`` of ``cfg`` (the config at ``path`` in the tree) to ``new``, recorded in the report where it
    changes."""
    old = vars(cfg).get(attr)
    if old != new:
        setattr(cfg, attr, new)
        report.shrunk.append((f"{path}{attr}", old, new))


def _sides(size: Any) -> list[int]:
    """Every side in an image or feature-map size (an int, [h, w], or a list of [h, w]); [] where it is none."""
    if _is_int(size) and size > 0:
        return [size]
    if isinstance(size, (list, tuple)) and size:
        parts = [_sides(x) for x in size]
        return [x for p in parts for x in p] if all(parts) else []
    return []


def _image_tiles(root: Any, spec: dict) -> tuple[dict[int, int], list[tuple[str, Any, str, Any]]]:
    """The towers of a tree that read their image cut into tiles (a config whose ``[image_grid]`` ``tile`` size is
    the image size of its sub-configs): {id(tower): the tiles it reads at once (``tiled``)}, and the tile sizes as
    (path, config, attribute, size), to be halved with the image sizes."""
    tile = spec.get("tile")
    tiles_of = {id(sub): spec.get("tiled", 1) for _, node in _walk(root) for sub in vars(node).values()
                if is_config(sub) and _is_int(vars(node).get(tile))
                and vars(node)[tile] in (vars(sub).get(a) for a in spec.get("attrs", ()))}
    sizes = [(path, node, tile, vars(node)[tile]) for path, node in _walk(root)
             if any(id(sub) in tiles_of for sub in vars(node).values() if is_config(sub))]
    return tiles_of, sizes


def _halve(size: Any, times: int) -> Any:
    """A size (int or nested list of ints) halved ``times`` times."""
    return size >> times if _is_int(size) else type(size)(_halve(x, times) for x in size)


def _patch_side(cfg: Any) -> int | None:
    """A config's patch side (``patch_size``, an int or a square's [h, w]); None where it has none."""
    sides = _sides(vars(cfg).get("patch_size"))
    return max(sides) if sides else None


def _grid_text_configs(cfg: Any) -> set[int]:
    """id() of every text config that sits beside a vision config merging patch grids (``spatial_merge_size``):
    the text model of a multimodal-rotary model, whose code may default its rotary sections."""
    out = {id(cfg)} if _is_grid_text_class(type(cfg)) else set()  # such a text config built alone
    for _, node in _walk(cfg):
        text, vision = vars(node).get("text_config"), vars(node).get("vision_config")
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


def text_config(config: Any) -> Any:
    """The config of the model's text decoder (the config itself where it has no other)."""
    return config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config


def config_tree(cfg: Any) -> list[tuple[str, Any]]:
    """(path, config) for a config and every sub-config below it."""
    return list(_walk(cfg))


def _walk(cfg: Any, path: str = ""):
    """(path, config) for a config and every sub-config below it."""
    yield path, cfg
    for name, sub in _sub_configs(cfg):
        yield from _walk(sub, f"{path}{name}.")


def _sub_configs(cfg: Any) -> list[tuple[str, Any]]:
    """(name, config) for each sub-config a config holds: an attribute's, or an item of a list of them (named
    ``attr.i``: a config of several like stages, transformers 4.50's Jukebox priors)."""
    out = []
    for attr, value in vars(cfg).items():
        if is_config(value):
            out.append((attr, value))
        elif isinstance(value, (list, tuple)) and value and all(is_config(v) for v in value):
            out.extend((f"{attr}.{i}", v) for i, v in enumerate(value))
    return out


def _token_ids(nodes: list[tuple[str, Any]]) -> set[int]:
    """Every special-token id the configs of a tree hold (lists of ids included)."""
    return {i for _, node in nodes for v in _token_values(node).values() for i in (v if _int_list(v) else [v])
            if _is_int(i)}


def _token_values(cfg: Any) -> dict:
    return {a: v for a, v in vars(cfg).items() if a.endswith(_TOKEN_SUFFIXES) and v is not None}


def _depth_parts(attrs: dict, depth: int, depth_attrs: frozenset[str]) -> dict[str, int]:
    """Layer counts (``*_layers``) that together make up ``depth`` (e.g. input + recurrent + output layers)."""
    parts = {a: v for a, v in attrs.items()
             if a.endswith("_layers") and a not in depth_attrs and _is_int(v) and v >= 0}
    return parts if len(parts) > 1 and sum(parts.values()) == depth else {}


def _head_dim(attrs: dict) -> int | None:
    """The per-head width of a config's attributes: explicit, else hidden / heads."""
    head, hidden, heads = attrs.get("head_dim"), attrs.get("hidden_size"), attrs.get("num_attention_heads")
    if _is_int(head):
        return head
    return hidden // heads if _is_int(hidden) and _is_int(heads) and heads > 0 else None


def _rotary_factors(attrs: dict) -> list[float]:
    """The shares of a head's width a config's rotary embeddings span (``[partial_rotary]`` factor, set on the
    config, in its rotary parameters or in those of each layer type); [] where it names none."""
    name = rules().get("partial_rotary", {}).get("factor")
    params = [attrs] + [v for a in ("rope_parameters", "rope_scaling") if isinstance(v := attrs.get(a), dict)]
    params += [v for p in params[1:] for v in p.values() if isinstance(v, dict)]  # keyed by layer type
    return [float(p[name]) for p in params if name and _is_number(p.get(name))]


def _kv_heads(q_old: int, kv_old: int, q_new: int) -> int:
    """Key/value heads for ``q_new`` query heads that were ``kv_old`` for ``q_old``: the grouping ratio kept
    where it divides the new query heads, else the nearest count dividing them (or divided by them)."""
    if q_old % kv_old == 0 and q_new % (q_old // kv_old) == 0:
        return q_new // (q_old // kv_old)
    new = max(1, q_new * kv_old // q_old)
    while q_new % new and new % q_new:
        new -= 1
    return new


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


def _rescale_indices(value: Any, old: int, new: int, kinds: bool = False) -> list[int]:
    """Layer indices of a depth-``old`` stack moved into depth ``new``, distinct ones kept distinct; indices that
    select a layer kind (``kinds``) and named some layers only leave a layer unnamed where ``new`` allows."""
    distinct = sorted(set(value))
    room = new - 1 if kinds and len(distinct) < old and new > 1 else new
    scaled = sorted({min(new - 1, x * new // old) for x in distinct})
    if len(scaled) < min(len(distinct), room) or len(scaled) > room:
        scaled = list(range(new - min(len(distinct), room), new))
    return scaled


def _index_list_kinds(positions: list[int], depth: int, kinds: bool) -> int:
    """Layers an index list of a depth-``depth`` stack needs: one per distinct index, and, for a list that selects
    a layer kind (``kinds``), one more for the layers it does not name (self- beside cross-attention layers,
    windowed beside global ones)."""
    distinct = len(set(positions))
    return distinct + (kinds and distinct < depth)


def _joint_kinds(attrs: dict, depth: int, layer_indices: set, stage_indices: set) -> dict[tuple, int]:
    """Where a config holds two or more per-layer sources of layer kinds (patterns of names or flags as long as the
    stack, layer-index lists that select a kind), each distinct combination of them -> its first layer; a layer's
    kind is the combination (a sliding layer with a sparse MLP is not a sliding layer and a sparse one). Empty
    where there are fewer than two sources (each is then cut on its own)."""
    if depth < 2:
        return {}
    sources: list[Any] = []
    for attr, value in attrs.items():
        if attr in _kind_indices() and attr in layer_indices and _int_list(value):
            offset = int(attr in stage_indices)
            named = {x - offset for x in value}
            if named and all(0 <= p < depth for p in named) and len(named) < depth:
                sources.append([i in named for i in range(depth)])
        elif _pattern(value, depth) and all(isinstance(x, (str, bool)) for x in value) and len(set(value)) > 1:
            sources.append(list(value))
    for attr in rules().get("leading_layers", {}).get("attrs", ()):
        count = attrs.get(attr)
        if _is_int(count) and 0 < count < depth:
            sources.append([i < count for i in range(depth)])
    if len(sources) < 2:
        return {}
    firsts: dict[tuple, int] = {}
    for i in range(depth):
        firsts.setdefault(tuple(src[i] for src in sources), i)
    return firsts


def _joint_positions(attrs: dict, old: int, new: int, layer_indices: set, stage_indices: set) -> list[int] | None:
    """The layers of a depth-``old`` stack that a depth-``new`` cut keeps: the first layer of each joint kind
    (:func:`_joint_kinds`, as many as ``new`` holds), then the first others; None where the kinds are not joint."""
    firsts = _joint_kinds(attrs, old, layer_indices, stage_indices)
    if not firsts or new >= old:
        return None
    keep = set(sorted(firsts.values())[:new])
    i = 0
    while len(keep) < new:
        keep.add(i)
        i += 1
    return sorted(keep)


@lru_cache(maxsize=1)
def _kind_indices() -> frozenset[str]:
    """The layer-index lists that select a layer kind (``[kind_indices]``): the layers they do not name are another."""
    return frozenset(rules().get("kind_indices", {}).get("attrs", ()))


def _rescale_in_order(positions: list[int], old: int, new: int) -> list[int]:
    """Layer positions of a depth-``old`` stack moved into depth ``new`` in their own order (a deepest-first list
    of hooks stays deepest first), distinct ones kept distinct where the new depth holds them."""
    distinct = sorted(set(positions))
    scaled = _rescale_indices(positions, old, new)
    moved = dict(zip(distinct, scaled)) if len(scaled) == len(distinct) else {
        x: min(new - 1, x * new // old) for x in distinct}
    return [moved[p] for p in positions]


def _pattern(value: Any, depth: int) -> bool:
    """Whether ``value`` may be a per-layer pattern of a depth-``depth`` stack: a list as long, or a
    string as long that repeats its letters (``"MM*M"``, not a word such as ``"block_sparse"``)."""
    if isinstance(value, str):
        return len(value) == depth and 2 * len(set(value)) <= depth
    return isinstance(value, (list, tuple)) and len(value) == depth


def _shared_kinds() -> tuple:
    """Layer kinds whose layers share one block's weights (``[shared_layer_kinds]``): a stack keeps two of each."""
    return tuple(rules().get("shared_layer_kinds", {}).get("kinds", ()))


def _cut_pattern(value: Any, new: int) -> Any:
    """The first ``new`` items of a per-layer pattern, each kind kept (while ``new`` allows), and a second layer
    of each kind whose layers share weights (the model ties the later ones to the first)."""
    items = list(value)
    firsts: dict[Any, int] = {}
    seconds: dict[Any, int] = {}
    for i, x in enumerate(items):
        key = x if _hashable(x) else i
        if key in firsts and key in _shared_kinds():
            seconds.setdefault(key, i)
        firsts.setdefault(key, i)
    keep = set((sorted(firsts.values()) + sorted(seconds.values()))[:new])
    i = 0
    while len(keep) < new:
        keep.add(i)
        i += 1
    cut = [items[i] for i in sorted(keep)]
    return "".join(cut) if isinstance(value, str) else type(value)(cut)


def _nested(value: Any, depth: int) -> bool:
    """Whether ``value`` is ``depth`` levels of non-empty lists (or tuples), e.g. stages of [in, out, ...] specs
    (the innermost level, a spec, may hold anything: a [h, w] stride)."""
    if not (isinstance(value, (list, tuple)) and value):
        return False
    return depth == 1 or all(_nested(v, depth - 1) for v in value)


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _instantiate(config_or_class: Any, report: ShrinkReport) -> Any:
    if not isinstance(config_or_class, type):
        return copy.deepcopy(config_or_class)
    try:
        default, required = config_or_class(), {}
    except Exception:  # noqa: BLE001 - defaults its own validator rejects: the values it names, if any
        required = _validator_defaults(config_or_class, report)
        documented = None if required else _documented_config(config_or_class, report)
        if documented is not None:
            return documented
        default = config_or_class(**required)
    switches, cleared = package_switches()
    try:
        switched = config_or_class(**required, **switches) if switches else default
    except Exception:  # noqa: BLE001 - a constructor that rejects the switches: with its cleared values too
        try:
            switched = config_or_class(**required, **switches, **cleared)
        except Exception:  # noqa: BLE001 - it rejects them still: the default
            return default
    # a switch the constructor does not act on would only be stored as an extra attribute: the default then
    changed = {k: v for k, v in switched.to_dict().items() if k not in switches} != \
        {k: v for k, v in default.to_dict().items() if k not in switches}
    return switched if changed else default


def _documented_config(config_class: Any, report: ShrinkReport) -> Any:
    """The config that the class docstring's example builds, for a composite config class whose defaults cannot be
    built (transformers 4.x's encoder-decoder configs need their sub-configs): the example's sub-configs built
    without arguments (``config_encoder = BertConfig()``), then its first call of the class or of a class method
    of it that takes only those (by name) and literal values, e.g. ``from_encoder_decoder_configs(config_encoder,
    config_decoder)``. Nothing else of the example runs. None where the docstring shows no such call."""
    import ast
    import doctest

    import transformers

    try:
        examples = doctest.DocTestParser().get_examples(config_class.__doc__ or "")
        tree = ast.parse("\n".join(ex.source for ex in examples))
    except (SyntaxError, ValueError):
        return None
    built: dict[str, Any] = {}

    def value(node: ast.expr) -> Any:
        return built[node.id] if isinstance(node, ast.Name) and node.id in built else ast.literal_eval(node)

    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            continue
        func, call = stmt.value.func, stmt.value
        sub = getattr(transformers, func.id, None) if isinstance(func, ast.Name) else None
        if isinstance(sub, type) and sub is not config_class and issubclass(sub, transformers.PretrainedConfig) \
                and not (call.args or call.keywords):
            built[stmt.targets[0].id] = sub()
            continue
        owner = func.value if isinstance(func, ast.Attribute) else func
        if not (built and isinstance(owner, ast.Name) and owner.id == config_class.__name__):
            continue
        try:
            args = [value(a) for a in call.args]
            kwargs = {k.arg: value(k.value) for k in call.keywords if k.arg}
            build = getattr(config_class, func.attr) if isinstance(func, ast.Attribute) else config_class
            cfg = build(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a call on other values, or one the class rejects: not this example
            return None
        report.shrunk.extend((name, None, sub.model_type) for name, sub in built.items())
        return cfg if isinstance(cfg, config_class) else None
    return None


_MUST_BE = re.compile(r"\b(\w+) must be (-?\d+|True|False|None), got (\S+?)[,.]?(?:\s|$)")


def _validator_defaults(config_class: Any, report: ShrinkReport) -> dict:
    """Constructor values for a config class whose defaults fail its own validator, where the validator names
    the value a field must have ("hidden_size_per_layer_input must be 0, got 256": a sub-config default the
    composite does not allow): that value, on the class or the sub-config declaring the field (recorded in
    the report as shrunk). Empty where the defaults pass (or no named value fixes them)."""
    import ast

    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    def fields(cls: Any) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()

    kwargs: dict = {}
    for _ in range(MAX_VALIDATOR_REPAIRS + 1):
        try:
            config_class(**kwargs)
            return kwargs
        except Exception as exc:  # noqa: BLE001 - a validator's error names the value it wants, or nothing fixes it
            m = _MUST_BE.search(f"{exc} {exc.__cause__ or ''}")
        if not m:
            return {}
        name, value = m.group(1), ast.literal_eval(m.group(2))
        subs = {attr: CONFIG_MAPPING[spec.model_type] if spec.model_type else spec.config_class
                for attr, spec in (getattr(config_class, "sub_configs_defaults", None) or {}).items()}
        holder = next((attr for attr, cls in subs.items() if name in fields(cls)), None)
        if name in fields(config_class) and kwargs.get(name, object()) != value:
            kwargs[name] = value
            report.shrunk.append((name, m.group(3), value))
        elif holder and kwargs.get(holder, {}).get(name, object()) != value:
            kwargs.setdefault(holder, {})[name] = value
            report.shrunk.append((f"{holder}.{name}", m.group(3), value))
        else:
            return {}
    return {}


def _add_optional_towers(cfg: Any, report: ShrinkReport) -> None:
    """Modality towers (``[optional_towers]``) a composite config declares optional and its defaults leave
    unset, built from their default sub-config: the model is tested with every modality it takes."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    towers = rules().get("optional_towers", {}).get("attrs", ())
    for attr, spec in (getattr(type(cfg), "sub_configs_defaults", None) or {}).items():
        if attr in towers and getattr(spec, "optional", False) and getattr(cfg, attr, None) is None:
            config_class = CONFIG_MAPPING[spec.model_type] if spec.model_type else spec.config_class
            setattr(cfg, attr, config_class(**spec.init_kwargs))
            report.shrunk.append((attr, None, config_class.model_type))


def package_switches() -> tuple[dict, dict]:
    """The constructor switches (``[package_switches]``) that turn off features needing an uninstalled package,
    and the values cleared (None) beside them where a constructor rejects them alone
    (``[package_switches_cleared]``)."""
    import importlib.util

    out: dict = {}
    cleared: dict = {}
    for package, switches in rules().get("package_switches", {}).items():
        if importlib.util.find_spec(package) is None:
            out.update(switches)
            cleared.update(dict.fromkeys(rules().get("package_switches_cleared", {}).get(package, ())))
    return out, cleared


def _stale_derived(original: Any, cfg: Any) -> dict[int, set[str]]:
    """Per config of the tree (by id): the declared fields that default to None, that the constructor of the default
    config derived (an int: a per-stack depth remembered from the whole depth) and that no rule changed; the rebuild
    leaves them unset, so the constructor derives them again from the shrunk values instead of keeping the old ones."""
    old_nodes = dict(_walk(original))
    out: dict[int, set[str]] = {}
    for path, node in _walk(cfg):
        old = old_nodes.get(path)
        if old is None:
            continue
        out[id(node)] = {name for name, default in _init_fields(type(node)).items() if default is None
                         and _is_int(vars(node).get(name)) and vars(node)[name] == vars(old).get(name)
                         and not name.endswith(_TOKEN_SUFFIXES)}
    return out


def _init_fields(cls: type) -> dict[str, Any]:
    """The values a config class's constructor takes, each with its default (``...`` where it has none): the
    init fields of a dataclass config, else the named parameters of ``__init__`` (configs before dataclasses)."""
    if dataclasses.is_dataclass(cls):
        return {f.name: f.default if f.default is not dataclasses.MISSING else ... for f in dataclasses.fields(cls)
                if f.init}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # less self
    return {p.name: p.default if p.default is not inspect.Parameter.empty else ... for p in params if p.kind in kinds}


def _rebuild(cfg: Any, extra: dict[int, dict], stale: dict[int, set[str]] | None = None,
             original: Any = None, report: ShrinkReport | None = None, path: str = "") -> Any:
    """Rebuild a config tree bottom-up through its constructors, so derived fields are recomputed.

    Only the declared fields (and token ids) are passed: derived attributes
    (e.g. a width computed from per-stage widths) come back from the
    constructor, and so do the ``stale`` fields (:func:`_stale_derived`).  A constructor whose validators reject
    the shrunk values gets values they accept where :func:`_construct` finds them (with the ``original`` tree and
    the ``report``); else the edited copy is kept.
    """
    if not is_config(cfg):
        return cfg
    kwargs = _rebuild_kwargs(cfg, extra, stale, original, report, path)
    rebuilt = _construct(type(cfg), kwargs, original, report, path)
    if rebuilt is None:
        return cfg  # rejected whatever was tried: the edited copy is kept
    for attr, value in vars(cfg).items():  # attributes the constructor took as extra kwargs
        if attr not in vars(rebuilt):
            setattr(rebuilt, attr, value)
    return rebuilt


def _rebuild_kwargs(cfg: Any, extra: dict[int, dict], stale: dict[int, set[str]] | None, original: Any,
                    report: ShrinkReport | None, path: str) -> dict:
    """The keyword arguments :func:`_rebuild` passes to the constructor of ``cfg``: its declared fields, token
    ids and rebuilt sub-configs (as dicts, the way a checkpoint's config.json gives them, where the config is no
    dataclass: such constructors build their sub-configs from dicts), less the fields left for the constructor
    to derive."""
    names = set(_init_fields(type(cfg))) - {"transformers_version", "architectures"}
    spec = rules().get("rebuild", {})
    kwargs = {}
    aliases = {stored: name for name, stored in (getattr(type(cfg), "attribute_map", None) or {}).items()}
    for attr, value in vars(cfg).items():
        public = attr.lstrip("_")
        if attr not in names and aliases.get(attr) in names:
            kwargs[aliases[attr]] = _as_json(value)  # a field stored under its attribute_map alias
        elif is_config(value):
            sub = _rebuild(value, extra, stale, original, report, f"{path}{attr}.")
            kwargs[attr] = sub if dataclasses.is_dataclass(cfg) else sub.to_dict()
        elif public in spec.get("keywords", ()) and isinstance(getattr(type(cfg), public, None), property):
            kwargs[public] = value  # kept privately behind a property, taken by the constructor by its public name
        elif attr in names or attr.endswith(_TOKEN_SUFFIXES):
            kwargs[attr] = _as_json(value)  # lists, as a checkpoint's config.json gives them (no tuples)
    if not dataclasses.is_dataclass(cfg):  # arguments it stores under another name, as its own to_dict gives them
        kwargs.update({k: v for k, v in cfg.to_dict().items() if k in names and k not in kwargs and k not in vars(cfg)})
    for derived, source in spec.get("derived", {}).items():
        if kwargs.get(source) is not None:
            kwargs.pop(derived, None)
    for derived in (stale or {}).get(id(cfg), ()):
        kwargs.pop(derived, None)
    kwargs.update(extra.get(id(cfg), {}))
    return kwargs


def _construct(cls: type, kwargs: dict, original: Any, report: ShrinkReport | None, path: str) -> Any:
    """``cls(**kwargs)``, taking up to ``MAX_VALIDATOR_REPAIRS`` values its validators name
    (:func:`_take_wanted_value`), else with one value changed that they accept (:func:`_accepted_values`); None
    where they reject every try."""
    for repairs_left in range(MAX_VALIDATOR_REPAIRS, -1, -1):
        try:
            return cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a constructor whose validators reject the shrunk values
            if not (repairs_left and _take_wanted_value(exc, kwargs)):
                break
    return _accepted_values(cls, kwargs, original, report, path)


def _accepted_values(cls: type, kwargs: dict, original: Any, report: ShrinkReport | None, path: str) -> Any:
    """A config of ``cls`` that its validators accept, built from ``kwargs`` with one value changed (recorded in
    ``report``); None where no single change is accepted. Tried in order: each value the shrink cut in this config
    (depths excepted) put back at its original, smallest first (a head width that must keep room for the rotary
    pairs the config fits in it); then each value no rule changed, moved by as much as a width of this config or
    of its sub-configs was cut (a width that was a sub-config's width plus a constant keeps that relation)."""
    old_node = dict(_walk(original)).get(path) if original is not None and report is not None else None
    if old_node is None:
        return None
    old = {a: v for a, v in vars(old_node).items() if a in kwargs and _is_int(v) and _is_int(kwargs[a])}
    depths = set(_rule_attrs("layers"))  # a depth stays cut
    cut = sorted((v, a) for a, v in old.items() if kwargs[a] != v and a not in depths)
    deltas = sorted({n - o for p, o, n in report.shrunk if p.startswith(path) and _is_int(o) and _is_int(n) and n != o},
                    key=abs)
    candidates = [(a, v) for v, a in cut] + [(a, v + d) for a, v in old.items() if kwargs[a] == v for d in deltas
                                            if v + d > 0]
    for attr, value in candidates:
        try:
            rebuilt = cls(**{**kwargs, attr: value})
        except Exception:  # noqa: BLE001 - still rejected: the next candidate
            continue
        report.shrunk.append((f"{path}{attr}", kwargs[attr], value))
        return rebuilt
    return None


#: How many values a config's validators may name (and the rebuild take) before its edited copy is kept.
MAX_VALIDATOR_REPAIRS = 4

_WANTED = re.compile(r"`?([A-Za-z_][\w.]*)`? \((\d+)\) must equal\b.*\((\d+)\)\.?\s*$", re.DOTALL)


def _take_wanted_value(exc: BaseException, kwargs: dict) -> bool:
    """A validator that says which value a width must equal ("`flow_head_config.condition_dim` (1024) must equal
    the backbone `hidden_size` (32)") gets it, in ``kwargs`` or the sub-config named; only a smaller value
    is taken, so a relation never grows the tiny model back."""
    m = _WANTED.search(str(getattr(exc, "__cause__", None) or exc))
    if not m or int(m.group(3)) >= int(m.group(2)):
        return False
    old, new = int(m.group(2)), int(m.group(3))
    first, *rest = m.group(1).split(".")
    if not rest:
        if kwargs.get(first) != old:
            return False
        kwargs[first] = new
        return True
    node = kwargs.get(first)
    for part in rest[:-1]:
        node = getattr(node, part, None)
    if not is_config(node) or getattr(node, rest[-1], None) != old:
        return False
    setattr(node, rest[-1], new)
    return True


def _as_json(value: Any) -> Any:
    """A value as it comes back from JSON: tuples become lists, at every depth."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def apply_values(cfg: Any, values: dict, recorded: list, kwargs: dict[int, dict], path: str = "") -> None:
    """Set override values (nested tables reach sub-configs) on a config tree, each recorded in ``recorded``
    as (path, value) and in ``kwargs`` (by config) so that the rebuild passes it to the constructor."""
    for key, value in values.items():
        current = getattr(cfg, key, None)
        if isinstance(value, dict) and is_config(current):
            apply_values(current, value, recorded, kwargs, f"{path}{key}.")
        else:
            setattr(cfg, key, value)
            kwargs.setdefault(id(cfg), {})[key] = value
            recorded.append((f"{path}{key}", value))


def tiny_config(config_or_class: Any, overrides: dict | None = None, level: Level | str | None = None,
                filled: dict | None = None):
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
    report = ShrinkReport(level=level.name)
    cfg = _instantiate(config_or_class, report)
    if isinstance(config_or_class, type):
        _add_optional_towers(cfg, report)
    original = copy.deepcopy(cfg)
    shrinker = _Shrinker(level, report)
    shrinker.grid_text = _grid_text_configs(cfg)
    shrinker.shrink(cfg)
    shrinker.remap_tokens(cfg)
    shrinker.codes_below_ids(original, cfg)
    shrinker.equal_vocabularies(cfg)
    shrinker.follow_growth(cfg)
    shrinker.follow_text_width(cfg)
    shrinker.cap_image_grids(cfg)
    shrinker.fit_patch_grids(cfg)
    _vocab_ranges(original, cfg, report)
    extra = {k: {"per_layer_config": v} for k, v in shrinker.per_layer.items()}
    if overrides:  # before the rebuild, so that fields derived from them are recomputed
        apply_values(cfg, overrides, report.overridden, extra)
    if filled:
        apply_values(cfg, filled, report.filled, extra)
    stale = _stale_derived(original, cfg) if isinstance(config_or_class, type) else {}
    rebuilt = _rebuild(cfg, extra, stale, original, report)
    _keep_relations(original, rebuilt, report)
    _backbone_channels(original, rebuilt, report)
    _tower_layer_indices(original, rebuilt, report)
    _stacked_widths(original, rebuilt, report)
    _derived_layer_kinds(original, rebuilt, report)
    _cache_attention_layer(rebuilt, report)
    return rebuilt, report


def _vocab_ranges(original: Any, cfg: Any, report: ShrinkReport) -> None:
    """A vocabulary laid out in ranges (``[vocab_ranges]``: attributes with its suffix are the offsets at which
    ranges of codes start, e.g. an image tokenizer's codes placed after the text tokens). Where the cut vocabulary
    no longer reaches the last offset, it is laid out in the same ranges again: the first range (the text tokens)
    as long as the cut vocabulary, a later range as long as a value of the tree that was cut (its codebook) as
    long as that value now is, any other range as long as before; the offsets and the vocabulary size follow.
    Runs before the rebuild, so that a validator checking the layout sees it whole."""
    suffix = rules().get("vocab_ranges", {}).get("suffix")
    if not suffix:
        return
    vocab_attrs = set(_rule_attrs("vocab"))
    cut = [(p, old) for p, old, new in report.shrunk if _is_int(old) and _is_int(new) and new < old]
    old_nodes = dict(_walk(original))
    for path, node in _walk(cfg):
        old_node = old_nodes.get(path)
        offsets = sorted((v, a) for a, v in vars(old_node or node).items()
                         if a.endswith(suffix) and _is_int(v) and v > 0)
        holders = [(p, n, a) for p, n in _walk(node) for a in sorted(vocab_attrs & vars(n).keys())
                   if offsets and _is_int(vars(n)[a]) and _is_int(_dotted(old_node, f"{p}{a}"))
                   and vars(n)[a] <= offsets[-1][0] < _dotted(old_node, f"{p}{a}")]  # cut below the last range
        if not holders:
            continue
        sub_path, holder, attr = holders[0]
        bounds = [0] + [v for v, _ in offsets] + [_dotted(old_node, f"{sub_path}{attr}")]
        lengths = [b - a for a, b in zip(bounds, bounds[1:])]
        new = [vars(holder)[attr]] + [next((_dotted(cfg, p) for p, o in cut if o == length), length)  # as it ends
                                      for length in lengths[1:]]
        for (_, name), start in zip(offsets, itertools.accumulate(new)):
            _set(report, node, path, name, start)
        _set(report, holder, f"{path}{sub_path}", attr, sum(new))


def _cache_attention_layer(cfg: Any, report: ShrinkReport) -> None:
    """A hybrid stack whose (tiny default) layers are all linear-attention ones, while the generation cache built
    from the config reads the sequence length from an attention layer (``[cache_attention]``): its last layer becomes
    an attention layer, through the stored per-layer pattern or an unset layer-index list the config derives the
    pattern from, whichever gives the cache an attention layer (a stack whose kinds cannot change stays so)."""
    text = text_config(cfg)
    attention, depth = _cache_attention_layers(text)
    if attention or not depth:
        return
    last = depth - 1
    kind = rules()["cache_attention"]["kind"]
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
            path = next((p for p, node in _walk(cfg) if node is text), "")
            _set(report, text, path, attr, value)
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


def _derived_layer_kinds(original: Any, cfg: Any, report: ShrinkReport) -> None:
    """A stack whose layer kinds a config derives from its depth (a property such as ``layers_block_type``,
    computed from a cycle of block types or an attention period and offset) keeps every kind: where the cut
    depth lost one, the depth becomes the shortest prefix of the original pattern that holds them all."""
    depth_attrs = _rule_attrs("layers")
    old_nodes = dict(_walk(original))
    for path, node in _walk(cfg):
        old_node = old_nodes.get(path)
        attr = next((a for a in depth_attrs if _is_int(vars(node).get(a))), None)
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
            kinds = set(before)
            if not set(after) >= kinds:
                depth = max(depth, next(d for d in range(1, len(before) + 1) if set(before[:d]) >= kinds))
        if new < depth <= 8:  # a tiny stack; a kind first met deeper is left to an override
            _set(report, node, path, attr, depth)


def _stacked_widths(original: Any, cfg: Any, report: ShrinkReport) -> None:
    """A width that stacked a layer output and those of the layers an index list names (``stacked`` rules: width x
    (len(list) + 1), as it was in the original config) is that of the new width and list."""
    old_nodes = dict(_walk(original))
    for rule in (r for r in rules()["rule"] if r["kind"] == "stacked"):
        for path, node in _walk(cfg):
            old_node = old_nodes.get(path)
            for attr, (width, indices) in rule["values"].items():
                if old_node is None:
                    continue
                old, new = (vars(n).get(attr) for n in (old_node, node))
                (old_w, new_w), (old_i, new_i) = ((vars(old_node).get(a), vars(node).get(a)) for a in (width, indices))
                if not (_is_int(old) and _is_int(old_w) and _is_int(new_w) and isinstance(old_i, (list, tuple))
                        and isinstance(new_i, (list, tuple)) and old == old_w * (len(old_i) + 1)):
                    continue
                _set(report, node, path, attr, new_w * (len(new_i) + 1))


def _backbone_channels(original: Any, cfg: Any, report: ShrinkReport) -> None:
    """A channel list of a config that was the widths of its backbone's feature maps (``[backbone_channels]``
    sub-configs; equal in the original config, e.g. a neck's per-level input widths) is the tiny backbone's."""
    old_nodes = dict(_walk(original))
    for path, node in _walk(cfg):
        old_node = old_nodes.get(path)
        for sub in rules().get("backbone_channels", {}).get("configs", ()):
            if old_node is None or not (is_config(vars(node).get(sub)) and is_config(vars(old_node).get(sub))):
                continue
            old_channels = _backbone_widths(vars(old_node)[sub])
            lists = [a for a, v in vars(old_node).items() if _int_list(v) and list(v) == old_channels]
            new_channels = _backbone_widths(vars(node)[sub]) if lists else None
            for attr in lists if new_channels else ():
                value = type(vars(node)[attr])(new_channels) if _int_list(vars(node)[attr]) else new_channels
                _set(report, node, path, attr, value)


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


def _tower_layer_indices(original: Any, cfg: Any, report: ShrinkReport) -> None:
    """Indices a composite config gives into a tower's hidden states (``[tower_layer_indices]``: 0 the embeddings,
    L its last layer, negative ones counted from the end) rescaled into the tower's cut depth, as many as
    before (a projector's width counts them), each keeping its sign."""
    old_nodes = dict(_walk(original))
    for path, node in _walk(cfg):
        old_node = old_nodes.get(path)
        for attr, depth in rules().get("tower_layer_indices", {}).items():
            value, old, new = vars(node).get(attr), _dotted(old_node, depth), _dotted(node, depth)
            if not ((_is_int(value) or _int_list(value)) and _is_int(old) and _is_int(new) and 0 < new < old):
                continue
            scaled = [(x % (old + 1)) * new // old - (new + 1) * (x < 0)
                      for x in ([value] if _is_int(value) else value)]
            result = scaled[0] if _is_int(value) else type(value)(scaled)
            _set(report, node, path, attr, result)


#: How the ``sum``, ``times`` and ``scaled`` rules combine their parts.
_COMBINE = {"sum": sum, "times": math.prod, "scaled": math.prod}


def _keep_relations(original: Any, cfg: Any, report: ShrinkReport) -> None:
    """A width that was the sum (``sum`` rules: the width of two streams joined) or the product (``times``
    rules: merged patches are a tower's width times the patches merged) of other values, or a whole constant
    times their product (``scaled`` rules: a constant of the modeling code times a coefficient), is set to that
    of their new values, read from the rebuilt tree (where constructors have derived theirs)."""
    old_nodes = dict(_walk(original))
    overridden = {p for p, _ in report.overridden + report.filled}
    for rule in (r for r in rules()["rule"] if r["kind"] in _COMBINE):
        combine = _COMBINE[rule["kind"]]
        for path, node in _walk(cfg):
            old_node = old_nodes.get(path)
            for attr, parts in rule["values"].items():
                parts = [parts] if isinstance(parts, str) else parts
                old, new = [_dotted(old_node, p) for p in parts], [_dotted(node, p) for p in parts]
                if (old_node is None or f"{path}{attr}" in overridden or not _is_int(vars(old_node).get(attr))
                        or not all(_is_number(v) and v > 0 for v in old + new)):
                    continue
                constant = vars(old_node)[attr] / combine(old)  # 1 for sums and products; whole where scaled
                if constant != int(constant) or (rule["kind"] != "scaled" and constant != 1):
                    continue
                value = int(constant) * combine(new)
                if value != int(value):
                    continue
                _set(report, node, path, attr, int(value))


def _dotted(cfg: Any, name: str) -> Any:
    """The value of a dotted attribute path (``semantic_model_config.hidden_size``), a list item where a part ends
    in an index (``vision_config.out_channels[-1]``: the last stage's width); None where it is missing."""
    for part in name.split("."):
        attr, _, index = part.partition("[")
        cfg = vars(cfg).get(attr) if cfg is not None else None  # stored values only (no per-layer lookups)
        if index and isinstance(cfg, (list, tuple)):
            cfg = cfg[int(index.rstrip("]"))] if cfg else None
        elif index:
            cfg = None
    return cfg


def _is_number(v: Any) -> bool:
    """An int or a float (a width coefficient), not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)
