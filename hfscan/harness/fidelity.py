"""Fidelity: the tiny model that ran keeps the structure of the full-size model it stands for.

The full-size model of the same class is built from the same (default) config on the ``meta`` device (no memory,
no weights) and compared with the tiny model: every module class of the full model must appear in the tiny one,
and every distinct layer kind of every stack (an ``nn.ModuleList`` / ``nn.Sequential`` of layers, by its path with
indices masked).  A layer's kind is its class, its direct children's classes and the per-layer values that select
a code path (``hfscan/data/fidelity.toml``): attention type, sliding or not, a window set or not, self or cross
attention, the layer-type list entries it reads at its index.  Pure functions over two modules, and one entry,
:func:`run_fidelity`, for the smoke test.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hfscan.errors import DataFileError
from hfscan.harness.checks import CheckFailure
from hfscan.harness.overrides import load_toml
from hfscan.harness.registry import NotApplicable

DATA_FILE = "fidelity.toml"
_INDEX = re.compile(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.|$)")
#: How many missing names a failure message lists (the details hold them all).
SHOWN = 6


class FidelitySkip(NotApplicable):
    """The full-size model could not be built on the meta device: fidelity is skipped with this reason."""


@lru_cache(maxsize=1)
def signature_rules() -> dict[str, tuple[str, ...]]:
    """The validated ``[signature]`` table: values, presence, index_attrs (attribute names) and ignored_classes."""
    data = load_toml(DATA_FILE)
    table = data.get("signature")
    where = f"hfscan/data/{DATA_FILE}"
    if not isinstance(table, dict):
        raise DataFileError(where, None, "no [signature] table")
    wanted = ("values", "presence", "index_attrs", "heads", "kv_heads", "kv_groups", "experts", "ignored_classes")
    for key, value in table.items():
        if key not in wanted:
            raise DataFileError(where, _line_of(key), f"[signature] unknown key {key!r}; expected {', '.join(wanted)}")
        if not isinstance(value, list) or not all(isinstance(v, str) and v.isidentifier() for v in value):
            raise DataFileError(where, _line_of(key), f"[signature] {key} must be a list of attribute names")
    return {k: tuple(table.get(k, ())) for k in wanted}


def _line_of(key: str) -> int | None:
    from importlib import resources

    text = resources.files("hfscan").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return next((i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith(f"{key} ")), None)


def module_classes(model: Any) -> set[str]:
    """The class names of every module of ``model`` (itself included)."""
    return {type(m).__name__ for m in model.modules()}


def _is_stack(module: Any) -> bool:
    import torch.nn as nn

    return isinstance(module, (nn.ModuleList, nn.Sequential))


def stack_path(path: str) -> str:
    """A module path with its indices masked: ``model.layers.3.experts`` -> ``model.layers.*.experts``."""
    return _INDEX.sub("*", path) or "(root)"


def _own_values(module: Any, rules: dict, prefix: str) -> list[str]:
    out = []
    attrs = vars(module)
    for name in rules["values"]:
        value = attrs.get(name, ())
        if isinstance(value, (bool, str)) or value is None or isinstance(value, int) and abs(value) < 16:
            out.append(f"{prefix}{name}={value!r}")
    shared = _kv_sharing(attrs, rules)
    if shared is not None:
        out.append(f"{prefix}kv_heads:{shared}")
    for name in rules["presence"]:
        if name in attrs and not callable(attrs[name]):
            value = attrs[name]
            unset = value is None or value is False or (isinstance(value, (int, float)) and value <= 0)
            out.append(f"{prefix}{name}:{'unset' if unset else 'set'}")
    return out


def _kv_sharing(attrs: dict, rules: dict) -> str | None:
    """Whether an attention module's query heads share key/value heads (grouped or multi-query: "shared") or
    each has its own ("per-head"), from the head counts or the group size it stores; None when it stores none.
    (How many share is a size: a cut stack may group 4 queries where the full one grouped 7.)"""
    def first(names: tuple[str, ...]) -> int | None:
        return next((attrs[n] for n in names if isinstance(attrs.get(n), int) and not isinstance(attrs[n], bool)
                     and attrs[n] > 0), None)

    heads, kv, groups = first(rules["heads"]), first(rules["kv_heads"]), first(rules["kv_groups"])
    if heads is not None and kv is not None:
        return "shared" if kv < heads else "per-head"
    if groups is not None:
        return "shared" if groups > 1 else "per-head"
    return None


def _indexed_values(module: Any, rules: dict, depth: int, prefix: str) -> list[str]:
    """Entries of the config's per-layer lists (as long as the stack) at the layer index the module stores."""
    attrs = vars(module)
    index = next((attrs[a] for a in rules["index_attrs"] if isinstance(attrs.get(a), int)
                  and not isinstance(attrs.get(a), bool)), None)
    config = attrs.get("config")
    if index is None or config is None or not hasattr(config, "to_dict") or depth < 2:
        return []
    out = []
    for name, value in vars(config).items():
        if not isinstance(value, (list, tuple)) or len(value) != depth or not 0 <= index < depth:
            continue
        item = value[index]
        if isinstance(item, (bool, str)):  # numbers are sizes, or indices of a list as long by chance
            out.append(f"{prefix}config.{name}[i]={item!r}")
    return out


def layer_kind(layer: Any, depth: int = 0) -> str:
    """A layer's kind signature: its class, its direct children's classes (the ignored stand-ins left out) and the
    per-layer values of it and of its direct children that select a code path (``depth``: how many layers its
    stack holds)."""
    rules = signature_rules()
    ignored = set(rules["ignored_classes"])  # a stand-in child runs the same line of the layer's forward
    children = sorted({type(c).__name__ for c in layer.children()} - ignored)
    values = set(_own_values(layer, rules, "")) | set(_indexed_values(layer, rules, depth, ""))
    for name, child in layer.named_children():
        if _is_stack(child):
            continue
        values |= set(_own_values(child, rules, f"{name}.")) | set(_indexed_values(child, rules, depth, f"{name}."))
    kind = type(layer).__name__
    if children:
        kind += f"({', '.join(children)})"
    if values:
        kind += f" [{', '.join(sorted(values))}]"
    return kind


def layer_kinds(model: Any) -> dict[str, set[str]]:
    """Every stack of ``model`` (masked path) -> the set of kinds of its layers."""
    out: dict[str, set[str]] = defaultdict(set)
    for path, module in model.named_modules():
        if _is_stack(module):
            layers = list(module.children())
            key = stack_path(path)
            out[key]  # noqa: B018 - a stack with no layer is a stack too
            for layer in layers:
                if not _stand_in(layer):
                    out[key].add(layer_kind(layer, len(layers)))
    return dict(out)


def _stand_in(layer: Any) -> bool:
    """A layer that is the identity function: an ignored stand-in class, or an empty stack (``nn.Sequential()``,
    which a model puts where two widths are equal, as it puts ``Identity``): no layer kind (the line that calls it
    runs as it runs a real projection, whose kind the other model may have instead)."""
    return type(layer).__name__ in signature_rules()["ignored_classes"] or (_is_stack(layer)
                                                                           and not list(layer.children()))


@dataclass
class Comparison:
    """What the full-size model has that the tiny one lacks, and the counts of both."""

    full_classes: int = 0
    tiny_classes: int = 0
    stacks: int = 0
    full_kinds: int = 0
    tiny_kinds: int = 0
    missing_classes: list[str] = field(default_factory=list)
    missing_kinds: dict[str, list[str]] = field(default_factory=dict)  # stack path -> kinds

    @property
    def ok(self) -> bool:
        return not self.missing_classes and not self.missing_kinds

    def details(self) -> dict:
        d: dict = {"module_classes": [self.tiny_classes, self.full_classes],
                   "layer_kinds": [self.tiny_kinds, self.full_kinds], "stacks": self.stacks}
        if self.missing_classes:
            d["missing_classes"] = self.missing_classes
        if self.missing_kinds:
            d["missing_kinds"] = self.missing_kinds
        return d

    def message(self) -> str:
        parts = []
        if self.missing_classes:
            shown = ", ".join(self.missing_classes[:SHOWN])
            more = f" (+{len(self.missing_classes) - SHOWN})" if len(self.missing_classes) > SHOWN else ""
            parts.append(f"module classes missing: {shown}{more}")
        if self.missing_kinds:
            kinds = [f"{p}: {k}" for p, ks in self.missing_kinds.items() for k in ks]
            more = f" (+{len(kinds) - SHOWN})" if len(kinds) > SHOWN else ""
            parts.append(f"layer kinds missing: {'; '.join(kinds[:SHOWN])}{more}")
        return "the tiny model lacks structure of the full-size model: " + " | ".join(parts)


_LIST_ENTRY = re.compile(r"(?:\w+\.)*config\.(\w+)\[i\]")


def _common_lists(full: dict[str, set[str]], tiny: dict[str, set[str]]) -> tuple[dict, dict]:
    """Both models' kinds with the per-layer list entries (``config.NAME[i]``) of lists that are per-layer in one
    stack only dropped: a list read as per-layer because it is as long as one stack by chance (a cycle of three
    block types in a stack cut to three layers) is not a kind of the other."""
    def names(kinds: set[str]) -> set[str]:
        return {m for k in kinds for m in _LIST_ENTRY.findall(k)}

    def drop(kind: str, keep: set[str]) -> str:
        base, sep, rest = kind.partition(" [")
        if not sep:
            return kind
        entries = [e for e in rest[:-1].split(", ") if not (_LIST_ENTRY.match(e) and _LIST_ENTRY.match(e).group(1)
                                                             not in keep)]
        return f"{base} [{', '.join(entries)}]" if entries else base

    out_full, out_tiny = {}, {}
    for path in set(full) | set(tiny):
        keep = names(full.get(path, set())) & names(tiny.get(path, set()))
        out_full[path] = {drop(k, keep) for k in full.get(path, set())}
        out_tiny[path] = {drop(k, keep) for k in tiny.get(path, set())}
    return ({p: k for p, k in out_full.items() if p in full}, {p: k for p, k in out_tiny.items() if p in tiny})


def compare(full: Any, tiny: Any) -> Comparison:
    """What of ``full``'s structure ``tiny`` lacks: module classes, and layer kinds stack by stack."""
    ignored = set(signature_rules()["ignored_classes"])
    full_classes, tiny_classes = module_classes(full) - ignored, module_classes(tiny) - ignored
    full_kinds, tiny_kinds = _common_lists(layer_kinds(full), layer_kinds(tiny))
    missing: dict[str, list[str]] = {}
    for path, kinds in sorted(full_kinds.items()):
        lacking = sorted(kinds - tiny_kinds.get(path, set()))
        if lacking:
            missing[path] = lacking
    return Comparison(full_classes=len(full_classes), tiny_classes=len(tiny_classes & full_classes),
                      stacks=len(full_kinds), full_kinds=sum(map(len, full_kinds.values())),
                      tiny_kinds=sum(len(k & tiny_kinds.get(p, set())) for p, k in full_kinds.items()),
                      missing_classes=sorted(full_classes - tiny_classes), missing_kinds=missing)


def full_config(config_class: Any, overrides: dict | None = None, filled: dict | None = None,
                set_unset: list | None = None) -> Any:
    """The config the shrinker started from: the class's defaults (as the shrinker instantiates them, optional
    towers added), with an override's and the filled values set, and ``set_unset``'s values (``(path, old,
    new)`` changes of the shrink report) where the default left the value unset (None): values a model needs
    that only a checkpoint sets, such as a forecast length, which the shrinker supplied."""
    from hfscan.harness import shrink
    from hfscan.harness.shrink.rebuild import _add_optional_towers, _instantiate

    report = shrink.ShrinkReport()
    cfg = _instantiate(config_class, report)  # the shrinker's own starting point
    if isinstance(config_class, type):
        _add_optional_towers(cfg, report)
    for path, old, new in set_unset or ():
        node, *_, attr = [cfg, *path.split(".")]
        for part in path.split(".")[:-1]:
            node = getattr(node, part, None)
        if old is None and hasattr(node, "__dict__") and attr in vars(node) and getattr(node, attr) is None:
            setattr(node, attr, _related(node, attr, new))
    for values in (overrides, filled):
        if values:
            shrink.apply_values(cfg, values, [], {})
    _relate_filled(cfg, filled or {}, "")
    return cfg


def _relate_filled(node: Any, filled: dict, path: str) -> None:
    """Filled values (a checkpoint's, which the attempt supplied for the tiny config) that follow a full-size value
    by a ``same`` or ``quotient`` rule take it from the full-size config (kv heads as many as its query heads, not
    as many as the tiny one's, which would tell grouped attention where the tiny model has none)."""
    for attr, value in filled.items():
        if isinstance(value, dict) and hasattr(getattr(node, attr, None), "__dict__"):
            _relate_filled(getattr(node, attr), value, f"{path}{attr}.")
        elif hasattr(node, "__dict__") and attr in vars(node):
            setattr(node, attr, _related(node, attr, value))


def _related(node: Any, attr: str, tiny_value: Any) -> Any:
    """The value of an unset ``attr`` in a full-size config: by the relation the shrinker fills it by (its ``same``
    and ``quotient`` rules: kv heads as many as the query heads, a head width the hidden width over the heads)
    from the full-size values, else the value the shrinker gave it (a forecast length: no size of the model)."""
    from hfscan.harness import shrink

    for rule in shrink.rules()["rule"]:
        relation = rule.get("values", {}).get(attr) if rule["kind"] in ("same", "quotient") else None
        if rule["kind"] == "same" and isinstance(relation, str) and isinstance(getattr(node, relation, None), int):
            return getattr(node, relation)
        if rule["kind"] == "quotient" and isinstance(relation, list) and len(relation) == 2:
            num, den = (getattr(node, a, None) for a in relation)
            if isinstance(num, int) and isinstance(den, int) and den:
                return num // den
    return tiny_value


def full_model(model_class: Any, config: Any) -> Any:
    """The full-size model on the meta device; :class:`FidelitySkip` when it cannot be built there."""
    import torch

    try:
        with torch.device("meta"), _no_init_weights():
            return model_class(config)
    except Exception as exc:  # noqa: BLE001 - e.g. .item() on a meta tensor in __init__
        line = (str(exc).strip().splitlines() or [""])[0][:200]
        raise FidelitySkip(f"fidelity: could not build the full model on meta: {type(exc).__name__}: {line}") from exc


def _no_init_weights() -> Any:
    """transformers' switch that skips weight initialisation (meta tensors hold no values to initialise: only the
    modules matter here), where the installed version has it; else nothing."""
    import contextlib
    import importlib

    for module in ("transformers.initialization", "transformers.modeling_utils"):
        try:
            return getattr(importlib.import_module(module), "no_init_weights")()
        except (ImportError, AttributeError):
            continue
    return contextlib.nullcontext()


def compare_configs(model_class: Any, full: Any, tiny: Any) -> Comparison:
    """:func:`compare` of the models ``model_class`` builds from ``full`` and from ``tiny``, both on meta."""
    return compare(full_model(model_class, full), full_model(model_class, tiny))


def run_fidelity(job: Any, attempt: Any) -> dict:
    """Compare the tiny model ``attempt`` built with the full-size model of its class; the details (counts) when
    nothing is missing, else :class:`CheckFailure` naming what is; :class:`FidelitySkip` when the full model cannot
    be built on the meta device."""
    from hfscan.harness.overrides import Override

    override = Override.from_json(job.override) if job.override else None
    filled = _filled_values(attempt.report)
    try:
        config = full_config(type(attempt.config), override.config if override else None, filled)
    except Exception as exc:  # noqa: BLE001
        raise FidelitySkip(f"fidelity: could not make the full config: {type(exc).__name__}: {exc}") from exc
    try:
        full = full_model(type(attempt.model), config)
    except FidelitySkip:  # the defaults leave a value unset that the model needs: the shrinker's value for it
        shrunk = getattr(attempt.report, "shrunk", None) or []
        if not any(old is None for _, old, _ in shrunk):
            raise
        try:
            config = full_config(type(attempt.config), override.config if override else None, filled, shrunk)
        except Exception as exc:  # noqa: BLE001
            raise FidelitySkip(f"fidelity: could not make the full config: {type(exc).__name__}: {exc}") from exc
        full = full_model(type(attempt.model), config)
    comparison = compare(full, attempt.model)
    if not comparison.ok:
        failure = CheckFailure(comparison.message(), stage="fidelity")
        failure.observed = comparison.details()
        raise failure
    return comparison.details()


def check_fidelity(ctx: Any) -> dict:
    """The registered check (``hfscan/data/checks.toml``): :func:`run_fidelity` on the context's attempt."""
    return run_fidelity(ctx.job, ctx.attempt)


def _filled_values(report: Any) -> dict:
    """The values only a checkpoint sets that the attempt filled, as nested tables."""
    out: dict = {}
    for path, value in getattr(report, "filled", None) or ():
        node = out
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out
