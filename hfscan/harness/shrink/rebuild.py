"""Building the config to shrink and rebuilding the shrunk one through its constructors.

The config is built from its class (with the package switches, the values its validator names, or the example
of its docstring), and rebuilt bottom-up after the passes so that derived fields are recomputed; a constructor
that rejects the shrunk values gets values it accepts where one can be found.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from hfscan.harness import errortext
from hfscan.harness.configtree import TOKEN_SUFFIXES, depth_attrs, is_config, walk
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.state import _init_fields
from hfscan.harness.shrink.values import _is_int


def _instantiate(config_or_class: Any, log: Any) -> Any:
    """A copy of a config instance, or the config a class builds (with the package switches where they change
    it); values it needed are recorded in ``log.shrunk`` (``log``: the shrink's State, or a ShrinkReport)."""
    if not isinstance(config_or_class, type):
        return copy.deepcopy(config_or_class)
    try:
        default, required = config_or_class(), {}
    except Exception:  # noqa: BLE001 - defaults its own validator rejects: the values it names, if any
        required = _validator_defaults(config_or_class, log)
        documented = None if required else _documented_config(config_or_class, log)
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


def _documented_config(config_class: Any, log: Any) -> Any:
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
        log.shrunk.extend((name, None, sub.model_type) for name, sub in built.items())
        return cfg if isinstance(cfg, config_class) else None
    return None


def _validator_defaults(config_class: Any, log: Any) -> dict:
    """Constructor values for a config class whose defaults fail its own validator, where the validator names
    the value a field must have ("hidden_size_per_layer_input must be 0, got 256": a sub-config default the
    composite does not allow): that value, on the class or the sub-config declaring the field (recorded in
    the log as shrunk). Empty where the defaults pass (or no named value fixes them)."""
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
            m = errortext.search("must_be", f"{exc} {exc.__cause__ or ''}")
        if not m:
            return {}
        name, value = m.group(1), ast.literal_eval(m.group(2))
        subs = {attr: CONFIG_MAPPING[spec.model_type] if spec.model_type else spec.config_class
                for attr, spec in (getattr(config_class, "sub_configs_defaults", None) or {}).items()}
        holder = next((attr for attr, cls in subs.items() if name in fields(cls)), None)
        if name in fields(config_class) and kwargs.get(name, object()) != value:
            kwargs[name] = value
            log.shrunk.append((name, m.group(3), value))
        elif holder and kwargs.get(holder, {}).get(name, object()) != value:
            kwargs.setdefault(holder, {})[name] = value
            log.shrunk.append((f"{holder}.{name}", m.group(3), value))
        else:
            return {}
    return {}


def _add_optional_towers(cfg: Any, log: Any) -> None:
    """Modality towers (``[optional_towers]``) a composite config declares optional and its defaults leave
    unset, built from their default sub-config: the model is tested with every modality it takes."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    towers = ruleset.rules().get("optional_towers", {}).get("attrs", ())
    for attr, spec in (getattr(type(cfg), "sub_configs_defaults", None) or {}).items():
        if attr in towers and getattr(spec, "optional", False) and getattr(cfg, attr, None) is None:
            config_class = CONFIG_MAPPING[spec.model_type] if spec.model_type else spec.config_class
            setattr(cfg, attr, config_class(**spec.init_kwargs))
            log.shrunk.append((attr, None, config_class.model_type))


def package_switches() -> tuple[dict, dict]:
    """The constructor switches (``[package_switches]``) that turn off features needing an uninstalled package,
    and the values cleared (None) beside them where a constructor rejects them alone
    (``[package_switches_cleared]``)."""
    import importlib.util

    out: dict = {}
    cleared: dict = {}
    for package, switches in ruleset.rules().get("package_switches", {}).items():
        if importlib.util.find_spec(package) is None:
            out.update(switches)
            cleared.update(dict.fromkeys(ruleset.rules().get("package_switches_cleared", {}).get(package, ())))
    return out, cleared


def _stale_derived(original: Any, cfg: Any) -> dict[int, set[str]]:
    """Per config of the tree (by id): the declared fields that default to None, that the constructor of the default
    config derived (an int: a per-stack depth remembered from the whole depth) and that no rule changed; the rebuild
    leaves them unset, so the constructor derives them again from the shrunk values instead of keeping the old ones."""
    old_nodes = dict(walk(original))
    out: dict[int, set[str]] = {}
    for path, node in walk(cfg):
        old = old_nodes.get(path)
        if old is None:
            continue
        out[id(node)] = {name for name, default in _init_fields(type(node)).items() if default is None
                         and _is_int(vars(node).get(name)) and vars(node)[name] == vars(old).get(name)
                         and not name.endswith(TOKEN_SUFFIXES)}
    return out


def _rebuild(cfg: Any, extra: dict[int, dict], stale: dict[int, set[str]] | None = None,
             original: Any = None, log: Any = None, path: str = "") -> Any:
    """Rebuild a config tree bottom-up through its constructors, so derived fields are recomputed.

    Only the declared fields (and token ids) are passed: derived attributes
    (e.g. a width computed from per-stage widths) come back from the
    constructor, and so do the ``stale`` fields (:func:`_stale_derived`).  A constructor whose validators reject
    the shrunk values gets values they accept where :func:`_construct` finds them (with the ``original`` tree and
    the ``log``); else the edited copy is kept.
    """
    if not is_config(cfg):
        return cfg
    kwargs = _rebuild_kwargs(cfg, extra, stale, original, log, path)
    rebuilt = _construct(type(cfg), kwargs, original, log, path)
    if rebuilt is None:
        return cfg  # rejected whatever was tried: the edited copy is kept
    for attr, value in vars(cfg).items():  # attributes the constructor took as extra kwargs
        if attr not in vars(rebuilt):
            setattr(rebuilt, attr, value)
    return rebuilt


def _rebuild_kwargs(cfg: Any, extra: dict[int, dict], stale: dict[int, set[str]] | None, original: Any,
                    log: Any, path: str) -> dict:
    """The keyword arguments :func:`_rebuild` passes to the constructor of ``cfg``: its declared fields, token
    ids and rebuilt sub-configs (as dicts, the way a checkpoint's config.json gives them, where the config is no
    dataclass: such constructors build their sub-configs from dicts), less the fields left for the constructor
    to derive."""
    names = set(_init_fields(type(cfg))) - {"transformers_version", "architectures"}
    spec = ruleset.rules().get("rebuild", {})
    kwargs = {}
    aliases = {stored: name for name, stored in (getattr(type(cfg), "attribute_map", None) or {}).items()}
    for attr, value in vars(cfg).items():
        public = attr.lstrip("_")
        if attr not in names and aliases.get(attr) in names:
            kwargs[aliases[attr]] = _as_json(value)  # a field stored under its attribute_map alias
        elif is_config(value):
            sub = _rebuild(value, extra, stale, original, log, f"{path}{attr}.")
            kwargs[attr] = sub if dataclasses.is_dataclass(cfg) else sub.to_dict()
        elif public in spec.get("keywords", ()) and isinstance(getattr(type(cfg), public, None), property):
            kwargs[public] = value  # kept privately behind a property, taken by the constructor by its public name
        elif attr in names or attr.endswith(TOKEN_SUFFIXES):
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


def _construct(cls: type, kwargs: dict, original: Any, log: Any, path: str) -> Any:
    """``cls(**kwargs)``, taking up to ``MAX_VALIDATOR_REPAIRS`` values its validators name
    (:func:`_take_wanted_value`), else with one value changed that they accept (:func:`_accepted_values`); None
    where they reject every try."""
    for repairs_left in range(MAX_VALIDATOR_REPAIRS, -1, -1):
        try:
            return cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a constructor whose validators reject the shrunk values
            if not (repairs_left and _take_wanted_value(exc, kwargs)):
                break
    return _accepted_values(cls, kwargs, original, log, path)


def _accepted_values(cls: type, kwargs: dict, original: Any, log: Any, path: str) -> Any:
    """A config of ``cls`` that its validators accept, built from ``kwargs`` with one value changed (recorded in
    ``log``); None where no single change is accepted. Tried in order: each value the shrink cut in this config
    (depths excepted) put back at its original, smallest first (a head width that must keep room for the rotary
    pairs the config fits in it); then each value no rule changed, moved by as much as a width of this config or
    of its sub-configs was cut (a width that was a sub-config's width plus a constant keeps that relation)."""
    old_node = dict(walk(original)).get(path) if original is not None and log is not None else None
    if old_node is None:
        return None
    old = {a: v for a, v in vars(old_node).items() if a in kwargs and _is_int(v) and _is_int(kwargs[a])}
    depths = set(depth_attrs())  # a depth stays cut
    cut = sorted((v, a) for a, v in old.items() if kwargs[a] != v and a not in depths)
    deltas = sorted({n - o for p, o, n in log.shrunk if p.startswith(path) and _is_int(o) and _is_int(n) and n != o},
                    key=abs)
    candidates = [(a, v) for v, a in cut] + [(a, v + d) for a, v in old.items() if kwargs[a] == v for d in deltas
                                            if v + d > 0]
    for attr, value in candidates:
        try:
            rebuilt = cls(**{**kwargs, attr: value})
        except Exception:  # noqa: BLE001 - still rejected: the next candidate
            continue
        log.shrunk.append((f"{path}{attr}", kwargs[attr], value))
        return rebuilt
    return None


#: How many values a config's validators may name (and the rebuild take) before its edited copy is kept.
MAX_VALIDATOR_REPAIRS = 4


def _take_wanted_value(exc: BaseException, kwargs: dict) -> bool:
    """A validator that says which value a width must equal ("`flow_head_config.condition_dim` (1024) must equal
    the backbone `hidden_size` (32)") gets it, in ``kwargs`` or the sub-config named; only a smaller value
    is taken, so a relation never grows the tiny model back."""
    m = errortext.search("must_equal", str(getattr(exc, "__cause__", None) or exc))
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
