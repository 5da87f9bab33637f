"""Traits: named facts about a model type, read by a table of rules (``hfscan/data/traits.toml``).

A rule holds when any of its ``any`` conditions matches and none of its
``none`` conditions does.  A condition looks at one kind of fact:

* ``task``: the auto-mapping tasks the type is mapped to;
* ``processor``: its processor kinds (tokenizer, image_processor, ...);
* ``input``: the named parameters of its model class's ``forward()``;
* ``sub_config``: attributes that hold a nested config (``vision_config`` ...);
* ``config``: attributes of its default config (or of a plain table nested in
  it, such as ``rope_parameters``), truthy by default, or with ``equals``,
  ``contains`` (a substring of the value or of one of its items) or ``min``.

The model type's name is never a fact: ``model_type`` is not among the config facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from hfscan.classifiers.datafile import DATA_DIR, line_of, read_toml
from hfscan.classifiers.facts import Facts
from hfscan.classifiers.records import Scalar, Trait
from hfscan.errors import DataFileError
from hfscan.scanner.records import ModelTypeRecord

TRAITS_FILE = DATA_DIR / "traits.toml"
KINDS = ("task", "processor", "input", "sub_config", "config")
_OPTIONS = ("equals", "contains", "min")


@dataclass(frozen=True)
class Condition:
    kind: str  # one of KINDS
    names: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()  # config only: equals / contains / min

    def matches(self, record: ModelTypeRecord, facts: Facts) -> Iterator[tuple[Scalar, str]]:
        """(value, source) of every fact this condition matches."""
        if self.kind == "task":
            for task in self.names:
                for cls in record.classes_for(task)[:1]:
                    yield cls, f"task:{task}"
        elif self.kind == "processor":
            for kind, classes in record.processors:
                if kind in self.names:
                    yield ", ".join(classes), f"processor:{kind}"
        elif self.kind == "input":
            for name in self.names:
                if name in facts.inputs:
                    yield name, f"forward({facts.input_class})"
        elif self.kind == "sub_config":
            declared = dict(record.sub_config_keys)
            for name in self.names:
                if name in declared or name in facts.sub_configs:
                    yield declared.get(name, "config"), f"sub_config:{name}"
        else:
            for name in self.names:
                for key in _config_keys(facts, name):
                    if self._value_holds(facts.config[key]):
                        yield _render(facts.config[key]), f"config.{key}"

    def _value_holds(self, value: Any) -> bool:
        opts = dict(self.options)
        if "equals" in opts:
            return value == opts["equals"]
        if "contains" in opts:
            items = value if isinstance(value, list) else [value]
            return any(isinstance(v, str) and opts["contains"] in v for v in items)
        if "min" in opts:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= opts["min"]
        return bool(value)


def _config_keys(facts: Facts, name: str) -> list[str]:
    """Config keys that are attribute ``name``: itself, or nested one level down (``ffn_config.name``)."""
    suffix = f".{name}"
    return [k for k in facts.config if k == name or k.endswith(suffix)]


def _render(value: Any) -> Scalar:
    if isinstance(value, list):
        return ",".join(str(v) for v in dict.fromkeys(value))
    return value


@dataclass(frozen=True)
class TraitRule:
    name: str
    doc: str
    any: tuple[Condition, ...]
    none: tuple[Condition, ...] = ()

    def evaluate(self, record: ModelTypeRecord, facts: Facts) -> tuple[Trait, ...]:
        """The traits this rule finds (one per matching fact), or () when it does not hold."""
        if any(True for c in self.none for _ in c.matches(record, facts)):
            return ()
        return tuple(Trait(self.name, value, source) for c in self.any for value, source in c.matches(record, facts))


def _condition(path: Path, line: int | None, rule: str, raw: Any) -> Condition:
    if not isinstance(raw, dict):
        raise DataFileError(str(path), line, f"trait {rule!r}: a condition must be a table, got {raw!r}")
    kinds = [k for k in raw if k in KINDS]
    unknown = [k for k in raw if k not in KINDS and k not in _OPTIONS]
    if len(kinds) != 1 or unknown:
        raise DataFileError(str(path), line, f"trait {rule!r}: a condition needs exactly one of {', '.join(KINDS)} (got {', '.join(raw)})")
    kind = kinds[0]
    names = raw[kind]
    names = (names,) if isinstance(names, str) else tuple(names)
    options = tuple((k, v) for k, v in raw.items() if k in _OPTIONS)
    if options and kind != "config":
        raise DataFileError(str(path), line, f"trait {rule!r}: {', '.join(k for k, _ in options)} applies to config conditions only")
    if not names or not all(isinstance(n, str) and n for n in names):
        raise DataFileError(str(path), line, f"trait {rule!r}: {kind} needs one or more names")
    return Condition(kind, names, options)


def load_rules(path: Path = TRAITS_FILE) -> dict[str, TraitRule]:
    """The trait rules of ``path``, validated; errors name the file and line."""
    data, text = read_toml(path)
    table = data.get("trait")
    if not isinstance(table, dict) or not table:
        raise DataFileError(str(path), None, "no [trait.NAME] tables")
    rules = {}
    for name, raw in table.items():
        line = line_of(text, "trait", name)
        if not isinstance(raw, dict) or not raw.get("any"):
            raise DataFileError(str(path), line, f"trait {name!r} needs an 'any' list of conditions")
        extra = set(raw) - {"doc", "any", "none"}
        if extra:
            raise DataFileError(str(path), line, f"trait {name!r}: unknown key(s) {', '.join(sorted(extra))}")
        rules[name] = TraitRule(
            name=name,
            doc=str(raw.get("doc", "")),
            any=tuple(_condition(path, line, name, c) for c in raw["any"]),
            none=tuple(_condition(path, line, name, c) for c in raw.get("none", ())),
        )
    return rules


@lru_cache(maxsize=None)
def default_rules() -> dict[str, TraitRule]:
    return load_rules()


def find_traits(record: ModelTypeRecord, facts: Facts, rules: dict[str, TraitRule] | None = None) -> tuple[Trait, ...]:
    """Every trait of one model type, in rule order."""
    rules = default_rules() if rules is None else rules
    return tuple(t for rule in rules.values() for t in rule.evaluate(record, facts))
