"""The shrink rules (``hfscan/data/shrink_rules.toml``): loaded and validated, every kind documented here.

``[[rule]]`` entries are keyed by attribute name (never by model type) and apply at every config of the tree;
the pass that reads a kind is named in :mod:`hfscan.harness.shrink.passes`.  Keys in brackets are optional.

============== ============================= =========================================================
kind           keys                          what it does
============== ============================= =========================================================
layers         attrs, max                    depth counts capped at ``max``; per-layer lists and
                                             patterns as long as the old depth are cut, keeping every
                                             layer kind (the depth is raised for them, up to 4)
layer_indices  attrs                         layer-index lists (or one index) rescaled into the new depth
stage_indices  attrs                         a backbone's stage indices (0 the stem), rescaled likewise
heads          attrs, max                    attention head counts capped at ``max``
kv_heads       pairs, max_ratio              [query, kv] head pairs: the kv heads follow the query
                                             heads' cap, the ratio kept up to ``max_ratio``
stage_heads    attrs, max                    per-stage head lists scaled so the largest is ``max``
cap            attrs, max, [when]            a size capped at ``max`` (x the level's width from 32 up);
                                             with ``when``: only in a config that has that attribute
round_up       attrs, multiple, [when]       a size rounded up to a multiple of ``multiple``
stage_depths   attrs, max, [deepest]         per-stage block counts, each capped at ``max``; the deepest stage
                                             keeps up to ``deepest`` (its later blocks are another kind)
stage_widths   attrs, max                    per-stage widths, each capped at ``max`` x the level's width
block_specs    values, max, blocks           {list: width positions}: stages keep ``blocks`` block specs,
                                             the widths at those positions capped at ``max``
vocab          attrs, max                    vocabularies capped at ``max``; special-token ids moved
                                             inside; smaller vocabularies of the tree rise to the cut size
set            values                        {attr: value} set outright where the attribute exists
default        values                        {attr: value} for attributes that exist but are unset
same           values                        {attr: other}: an unset attribute takes the other's value
first          values                        {attr: options}: an unset choice takes the first option
per_layer      values                        {attr: kind}: an unset per-layer pattern, one kind per layer
quotient       values                        {attr: [num, den]}: an unset attribute set to num // den
product        values                        {attr: {times = [a, b], [over]}}: a value that was
                                             a x b // over stays so
divides        pairs                         [groups, heads]: the group count cut to divide the heads
multiple       values                        {width: base}: a width that was a multiple of base stays it
stage_base     values, max                   {base: strides}: base x 2^len(strides) kept <= ``max``
sum            values                        {width: [a, b]}: a width that was a + b stays so (within a
                                             config before the rebuild, across the tree after it)
times          values                        {width: [a, b, ...]}: a width that was a product of (dotted)
                                             values stays so, after the rebuild
scaled         values                        {width: coefficient}: a whole constant x the coefficient stays
                                             so, after the rebuild
stacked        values                        {width: [layer width, index list]}: width x (len(list) + 1)
============== ============================= =========================================================

The other tables (``[keep]``, ``[image_grid]``, ``[patch_grid]``, ...) are documented in the data file and
checked for their keys here (:data:`TABLES`).  ``[keep]``: ``attrs`` are variant values that no pass changes
(only filled where unset, or reshaped with the whole stack or grid by a pass that says so); ``capped`` are
variant values the rules still cap (experts per token, cut with the experts); both are reported as kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from hfscan.classifiers.datafile import DATA_DIR, read_toml
from hfscan.errors import DataFileError

RULES_FILE = DATA_DIR / "shrink_rules.toml"


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


def _pairs(v: Any) -> bool:
    return isinstance(v, list) and all(_names(p) and len(p) == 2 for p in v)


def _table(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, dict) and all(check(x) for x in v.values())


def _scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str))


def _relation(v: Any) -> bool:
    return isinstance(v, dict) and set(v) <= {"times", "over"} and _names(v.get("times")) \
        and len(v["times"]) == 2 and isinstance(v.get("over", ""), str)


_INT, _STR, _NAMES, _PAIRS = (_int, "an integer"), (lambda v: isinstance(v, str), "a string"), \
    (_names, "a list of names"), (_pairs, "a list of [name, name] pairs")
_NUMBER = (lambda v: _int(v) or isinstance(v, float), "a number")
_TABLE = (lambda v: isinstance(v, dict), "a table")


def _list_of(check: Callable[[Any], bool], what: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, list) and all(check(x) for x in v)), f"a list of {what}"


def _values(check: Callable[[Any], bool], what: str) -> tuple[Callable[[Any], bool], str]:
    return _table(check), f"a table of {what}"


#: Every rule kind: {key: (check, what it must be)}; keys in OPTIONAL may be left out.
KINDS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "layers": {"attrs": _NAMES, "max": _INT},
    "layer_indices": {"attrs": _NAMES},
    "stage_indices": {"attrs": _NAMES},
    "heads": {"attrs": _NAMES, "max": _INT},
    "kv_heads": {"pairs": _PAIRS, "max_ratio": _INT},
    "stage_heads": {"attrs": _NAMES, "max": _INT},
    "cap": {"attrs": _NAMES, "max": _INT, "when": _STR},
    "round_up": {"attrs": _NAMES, "multiple": _INT, "when": _STR},
    "stage_depths": {"attrs": _NAMES, "max": _INT, "deepest": _INT},
    "stage_widths": {"attrs": _NAMES, "max": _INT},
    "block_specs": {"values": _values(lambda v: isinstance(v, list) and all(_int(x) for x in v), "integer lists"),
                    "max": _INT, "blocks": _INT},
    "vocab": {"attrs": _NAMES, "max": _INT},
    "set": {"values": _values(_scalar, "values")},
    "default": {"values": _values(_scalar, "values")},
    "same": {"values": _values(lambda v: isinstance(v, str), "names")},
    "first": {"values": _values(lambda v: isinstance(v, str), "names")},
    "per_layer": {"values": _values(_scalar, "values")},
    "quotient": {"values": _values(lambda v: _names(v) and len(v) == 2, "[numerator, denominator] names")},
    "product": {"values": _values(_relation, "{times = [a, b], over = c} relations")},
    "divides": {"pairs": _PAIRS},
    "multiple": {"values": _values(lambda v: isinstance(v, str), "names")},
    "stage_base": {"values": _values(lambda v: isinstance(v, str), "names"), "max": _INT},
    "sum": {"values": _values(lambda v: _names(v) and len(v) >= 2, "lists of names")},
    "times": {"values": _values(lambda v: _names(v) and len(v) >= 1, "lists of names")},
    "scaled": {"values": _values(lambda v: isinstance(v, str), "names")},
    "stacked": {"values": _values(lambda v: _names(v) and len(v) == 2, "[width, index list] names")},
}
OPTIONAL = frozenset({"when", "deepest"})

#: Every other table: {key: (check, what it must be)}; None: any key (a table keyed by attribute or package).
TABLES: dict[str, dict[str, tuple[Callable[[Any], bool], str]] | None] = {
    "keep": {"attrs": _NAMES, "capped": _NAMES},
    "stage_selection": {"attr": _STR, "stages": _STR},
    "trailing_layers": {"attrs": _NAMES},
    "leading_layers": {"attrs": _NAMES},
    "kind_indices": {"attrs": _NAMES},
    "stage_block_indices": {"attrs": _NAMES},
    "end_layers": {"attrs": _NAMES, "min": _INT},
    "narrower_stems": None,
    "rope_factor_lists": {"keys": _NAMES},
    "shared_layer_kinds": {"kinds": _NAMES},
    "rope_per_layer_type": {"default": _TABLE},
    "vocab_ranges": {"suffix": _STR},
    "optional_towers": {"attrs": _NAMES},
    "codes_below_ids": {"attrs": _NAMES},
    "token_lists": {"pairs": _NAMES, "lists": _NAMES},
    "checkpoint_values": {"values": _TABLE, "int": _list_of(_int, "integers"),
                          "float": _list_of(lambda v: isinstance(v, float), "floats"),
                          "bool": _list_of(lambda v: isinstance(v, bool), "booleans"), "width": _INT},
    "projection_widths": {"attrs": _NAMES},
    "growing_stage_widths": {"attrs": _NAMES, "max": _INT},
    "partial_rotary": {"factor": _STR, "min": _INT, "attrs": _NAMES},
    "rope_sections": None,
    "image_grid": {"max_side": _INT, "attrs": _NAMES, "tiles": _NAMES, "follow": _NAMES, "tile": _STR,
                   "tiled": _INT},
    "patch_grid": {"factors": _NAMES, "pooled_tokens": _NAMES, "patch_counts": _NAMES},
    "rebuild": {"keywords": _NAMES, "derived": _values(lambda v: isinstance(v, str), "names")},
    "package_switches": None,
    "package_switches_cleared": None,
    "backbone_channels": {"configs": _NAMES},
    "tower_layer_indices": None,
    "cache_attention": {"kind": _STR},
}


@dataclass(frozen=True)
class Level:
    """One shrink level: ``width`` multiplies the width caps (those of 32 and above)."""

    name: str
    width: int


def _line(text: str, header: str, index: int = 0, key: str | None = None) -> int | None:
    """The line of the ``index``-th ``header`` (``[[rule]]``, ``[keep]``) of ``text``, or of ``key`` below it."""
    starts = [m.start() for m in re.finditer(rf"^[ \t]*{re.escape(header)}[ \t]*(#.*)?$", text, re.M)]
    if index >= len(starts):
        return None
    start = starts[index]
    if key is not None:  # the key's line in the table (up to the next [[header]], or its [rule.key] sub-table)
        body = text.find("\n", start) + 1
        following = re.search(r"^[ \t]*\[\[", text[body:], re.M)
        table = text[body:body + following.start()] if following else text[body:]
        found = re.search(rf"^[ \t]*(\[[ \t]*\w+\.)?{re.escape(key)}[ \t]*[=\]]", table, re.M)
        if found:
            start = body + found.start()
    return text.count("\n", 0, start) + 1


def _check_keys(path: Path, text: str, header: str, index: int, what: str, table: dict,
                spec: dict[str, tuple[Callable[[Any], bool], str]], required: set[str]) -> None:
    for key in table:
        if key not in spec:
            raise DataFileError(str(path), _line(text, header, index, key),
                                f"{what}: unknown key {key!r} (known: {', '.join(spec)})")
        check, must = spec[key]
        if not check(table[key]):
            raise DataFileError(str(path), _line(text, header, index, key), f"{what}: {key!r} must be {must}")
    missing = sorted(required - set(table))
    if missing:
        raise DataFileError(str(path), _line(text, header, index), f"{what}: missing {', '.join(missing)}")


def _check_rule(path: Path, text: str, index: int, rule: Any) -> None:
    if not isinstance(rule, dict):
        raise DataFileError(str(path), _line(text, "[[rule]]", index), "a rule must be a table")
    kind = rule.get("kind")
    if kind not in KINDS:
        raise DataFileError(str(path), _line(text, "[[rule]]", index, "kind"),
                            f"rule kind {kind!r} is unknown (known: {', '.join(KINDS)})")
    spec = {"kind": (lambda v: True, ""), **KINDS[kind]}
    _check_keys(path, text, "[[rule]]", index, f"{kind} rule", rule, spec, set(spec) - OPTIONAL)


def _check_levels(path: Path, text: str, levels: Any) -> None:
    spec = {"name": _STR, "width": _INT}
    if not isinstance(levels, list) or not levels:
        raise DataFileError(str(path), None, "no [[level]] tables")
    for i, level in enumerate(levels):
        _check_keys(path, text, "[[level]]", i, "level", level, spec, set(spec))


def load_rules(path: Path | None = None) -> dict[str, Any]:
    """The shrink rules of ``path``, validated: known rule kinds, known keys, value types; errors name the file
    and line (:class:`~hfscan.errors.DataFileError`, exit status 2 from the CLI)."""
    path = RULES_FILE if path is None else path
    data, text = read_toml(path)
    for name, table in data.items():
        if name in ("rule", "level"):
            continue
        if name not in TABLES:
            raise DataFileError(str(path), _line(text, f"[{name}]"),
                                f"unknown table [{name}] (known: rule, level, {', '.join(TABLES)})")
        if not isinstance(table, dict):
            raise DataFileError(str(path), None, f"[{name}] must be a table")
        if TABLES[name] is not None:
            _check_keys(path, text, f"[{name}]", 0, f"[{name}]", table, TABLES[name], set())
    _check_levels(path, text, data.get("level"))
    rules = data.get("rule")
    if not isinstance(rules, list) or not rules:
        raise DataFileError(str(path), None, "no [[rule]] tables")
    for i, rule in enumerate(rules):
        _check_rule(path, text, i, rule)
    return data


@lru_cache(maxsize=1)
def rules() -> dict:
    """The parsed (and validated) shrink rules data file."""
    return load_rules()


def levels() -> tuple[Level, ...]:
    """The shrink levels, tried in order."""
    return tuple(Level(lv["name"], int(lv["width"])) for lv in rules()["level"])


def rule_attrs(kind: str) -> tuple[str, ...]:
    """The attributes that the ``[[rule]]`` entries of ``kind`` name, in the rules' order (each once)."""
    return tuple(dict.fromkeys(a for r in rules()["rule"] if r["kind"] == kind for a in r["attrs"]))
