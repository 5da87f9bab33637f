"""Enumerate every model type of the installed transformers from its auto mappings.

Reads mapping tables and config classes only; never imports a modeling module.
The mapping tables and the config-class facts discovery needs (where a config
class lives, its ``sub_configs``, a sub-config's ``model_type``) are read from
transformers' source files, which avoids importing torch and 800+ config
modules; anything the source does not settle is imported instead, exactly as
``scan(from_source=False)`` (the reference) does.  The result is cached on disk
per transformers installation, so a second call costs a JSON read.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from hfscan import __version__
from hfscan.scanner.records import SCHEMA, Inventory, ModelTypeRecord
from hfscan.scanner.source import (_forget_sources, _module_values, _resolve, _source_model_type,
                                   _source_sub_configs, _top_level_names, _Unresolved, package_exports)
from hfscan.scanner.tasks import task_from_mapping_name

_AUTO = "transformers.models.auto"

# (module under transformers.models.auto, mapping attribute, processor kind).
# A mapping missing from the installed version is skipped.
PROCESSOR_MAPPINGS = (
    ("tokenization_auto", "TOKENIZER_MAPPING_NAMES", "tokenizer"),
    ("image_processing_auto", "IMAGE_PROCESSOR_MAPPING_NAMES", "image_processor"),
    ("feature_extraction_auto", "FEATURE_EXTRACTOR_MAPPING_NAMES", "feature_extractor"),
    ("video_processing_auto", "VIDEO_PROCESSOR_MAPPING_NAMES", "video_processor"),
    ("processing_auto", "PROCESSOR_MAPPING_NAMES", "processor"),
)

# A name exported by a modeling module is a model class when it reads like one.
_MODEL_CLASS_RE = re.compile(r"(Model|For[A-Z]\w*|LMHead\w*)(WithProjection|WithHifiGan)?$")


def _flatten(value: Any) -> tuple[str, ...]:
    """Mapping values are a class name, a tuple/list of them (None allowed) or a dict of them."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):
        value = value.values()
    out: list[str] = []
    for v in value:
        out.extend(_flatten(v))
    return tuple(dict.fromkeys(out))


def installed_versions() -> tuple[str, str | None]:
    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    tf = version("transformers")
    if tf is None:
        from hfscan.errors import MissingDependencyError

        raise MissingDependencyError("transformers")
    return tf, version("torch")


def installation_key() -> str:
    """A name for the installed transformers (and torch, and hfscan): what caches derived from its source key on."""
    return _cache_key()


def _cache_key() -> str:
    tf, torch = installed_versions()
    spec = importlib.util.find_spec("transformers")
    mtime = 0
    if spec and spec.origin:
        try:
            mtime = int(os.stat(spec.origin).st_mtime)
        except OSError:
            pass
    return f"{SCHEMA}-{__version__}-tf{tf}-torch{torch}-{mtime}".replace("/", "_")


# ---------------------------------------------------------------------------
# The facts a scan assembles, from source or by import.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoTables:
    """transformers' auto tables that discovery reads."""

    config_names: dict[str, str]  # CONFIG_MAPPING_NAMES
    deprecated_modules: frozenset[str]
    module_names: dict[str, str]  # model type -> module under transformers.models (model_type_to_module_name)
    model_mappings: dict[str, dict[str, Any]]  # every MODEL_*_MAPPING_NAMES of modeling_auto
    processor_mappings: dict[str, dict[str, Any]]  # {processor kind: mapping}


def _config_tables(from_source: bool) -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    """CONFIG_MAPPING_NAMES, DEPRECATED_MODELS and every model type's module name."""
    names = ("CONFIG_MAPPING_NAMES", "DEPRECATED_MODELS", "model_type_to_module_name")
    values = _module_values(f"{_AUTO}.configuration_auto", names, from_source)
    try:
        config_names = dict(values["CONFIG_MAPPING_NAMES"])
        to_module = values["model_type_to_module_name"]
        module_names = {model_type: to_module(model_type) for model_type in config_names}
    except Exception:
        if not from_source:
            raise
        return _config_tables(from_source=False)  # the evaluated function did not run: import it
    return config_names, frozenset(values.get("DEPRECATED_MODELS") or ()), module_names


def auto_tables(from_source: bool = True) -> AutoTables:
    """The auto tables, evaluated from source (falling back to import per module) or imported."""
    config_names, deprecated, module_names = _config_tables(from_source)
    modeling = f"{_AUTO}.modeling_auto"
    try:
        names = _top_level_names(modeling) if from_source else set(dir(importlib.import_module(modeling)))
    except _Unresolved:
        names = set(dir(importlib.import_module(modeling)))
    mapping_names = sorted(n for n in names if task_from_mapping_name(n) is not None)
    models = _module_values(modeling, mapping_names, from_source)
    processors = {}
    for module_name, attr, kind in PROCESSOR_MAPPINGS:
        mapping = _module_values(f"{_AUTO}.{module_name}", (attr,), from_source).get(attr)
        if isinstance(mapping, dict):
            processors[kind] = mapping
    return AutoTables(
        config_names=config_names,
        deprecated_modules=deprecated,
        module_names=module_names,
        model_mappings={n: v for n, v in models.items() if isinstance(v, dict)},
        processor_mappings=processors,
    )


@dataclass(frozen=True)
class _ConfigFacts:
    """What discovery needs from one config class."""

    module: str = ""  # the module that defines it
    # (attribute, sub-config class name, that class's model_type); the model_type
    # is only read for classes that are in no CONFIG_MAPPING_NAMES entry.
    sub_configs: tuple[tuple[str, str, str | None], ...] = ()
    error: str | None = None  # set when the class could not be imported


def _imported_config(model_type: str) -> _ConfigFacts:
    from transformers.models.auto import configuration_auto

    try:
        cls = configuration_auto.CONFIG_MAPPING[model_type]
    except Exception as exc:  # noqa: BLE001 - recorded, not raised
        return _ConfigFacts(error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    declared = getattr(cls, "sub_configs", None)
    if not isinstance(declared, dict):  # an instance property (some 4.x configs): none on the class
        declared = {}
    subs = tuple((key, getattr(sub, "__name__", str(sub)), getattr(sub, "model_type", None)) for key, sub in declared.items())
    return _ConfigFacts(cls.__module__, subs)


def _source_config(class_name: str, module_name: str, known: set[str]) -> _ConfigFacts:
    """The facts of CONFIG_MAPPING[model_type], read the way the lazy mapping finds the class."""
    package = f"transformers.models.{module_name}"
    exports = package_exports(package)
    if exports is None:
        raise _Unresolved(package)
    cls = _resolve(package if class_name in exports else "transformers", class_name)
    subs = tuple(
        (key, sub.name, None if sub.name in known else _source_model_type(sub))
        for key, sub in _source_sub_configs(cls)
    )
    return _ConfigFacts(cls.module, subs)


def _config_facts(model_type: str, class_name: str, module_name: str, known: set[str], from_source: bool) -> _ConfigFacts:
    if from_source:
        try:
            return _source_config(class_name, module_name, known)
        except Exception:  # noqa: BLE001 - whatever the source does not settle is imported
            pass
    return _imported_config(model_type)


def _lazy_exports(module_name: str) -> dict[str, str]:
    """{exported name: submodule} of ``transformers.models.<module>`` (the package only, not its submodules)."""
    return package_exports(f"transformers.models.{module_name}") or {}


def _unmapped_classes(
    module_exports: dict[str, str], mapped: set[str], owners: dict[str, str]
) -> dict[str, list[str]]:
    """Assign each unmapped model class of a module to the config whose name prefix fits best.

    ``owners`` maps a config class's stem (``CLIPText`` for ``CLIPTextConfig``)
    to its model type.
    """
    out: dict[str, list[str]] = defaultdict(list)
    for name, sub in module_exports.items():
        if not sub.startswith("modeling_") or sub.startswith(("modeling_tf_", "modeling_flax_")):
            continue
        if name in mapped or name.endswith(("PreTrainedModel", "Output")) or not _MODEL_CLASS_RE.search(name):
            continue
        stems = [s for s in owners if name.startswith(s)]
        if not stems:
            continue
        best = max(stems, key=len)
        out[owners[best]].append(name)
    return out


def scan(from_source: bool = True) -> Inventory:
    """Build the inventory from the installed transformers (no cache).

    ``from_source=False`` imports every table and config class instead of
    reading their source: slower, and the reference the source reading must
    match exactly.
    """
    _forget_sources()  # every scan reads the installation as it is now
    try:
        return _scan(from_source)
    finally:
        _forget_sources()


def _scan(from_source: bool) -> Inventory:
    tf_version, torch_version = installed_versions()
    tables = auto_tables(from_source)
    tasks = _task_mappings(tables)
    procs_of = _processor_mappings(tables, tasks.orphans)
    relations = _config_relations(tables, from_source)
    unmapped = _unmapped_by_type(tables, tasks.mapped_classes)
    records = tuple(_record(tables, model_type, tasks, procs_of, relations, unmapped)
                    for model_type in tables.config_names)
    return Inventory(
        transformers_version=tf_version,
        torch_version=torch_version,
        records=records,
        tasks=tuple(tasks.task_table),
        # sorted: transformers fills some tables from sets, so their key order varies between processes
        orphan_keys=tuple(sorted(tasks.orphans)),
    )


@dataclass
class _Tasks:
    """What the model mappings say: each model type's (task, class) pairs, every (task, mapping name), the
    classes any mapping names, and the (mapping, model type) keys of no known config."""

    tasks_of: dict[str, list[tuple[str, str]]]
    task_table: list[tuple[str, str]]
    mapped_classes: set[str]
    orphans: list[tuple[str, str]]


def _task_mappings(tables: AutoTables) -> _Tasks:
    out = _Tasks(defaultdict(list), [], set(), [])
    for mapping_name, mapping in sorted(tables.model_mappings.items()):
        task = task_from_mapping_name(mapping_name)
        out.task_table.append((task, mapping_name))
        for model_type, value in mapping.items():
            classes = _flatten(value)
            out.mapped_classes.update(classes)
            if model_type not in tables.config_names:
                out.orphans.append((mapping_name, model_type))
                continue
            out.tasks_of[model_type].extend((task, c) for c in classes)
    return out


def _processor_mappings(tables: AutoTables, orphans: list) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Each model type's (processor kind, classes); keys of no known config go to ``orphans``."""
    procs_of: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for kind, mapping in tables.processor_mappings.items():
        for model_type, value in mapping.items():
            classes = _flatten(value)
            if model_type not in tables.config_names:
                orphans.append((kind, model_type))
                continue
            if classes:
                procs_of[model_type].append((kind, classes))
    return procs_of


@dataclass
class _Relations:
    """Config classes and their sub-config relations, by model type."""

    config_module: dict[str, str]
    config_error: dict[str, str]
    sub_keys: dict[str, list[tuple[str, str]]]
    parts_of: dict[str, list[str]]
    parents_of: dict[str, list[str]]


def _config_relations(tables: AutoTables, from_source: bool) -> _Relations:
    config_names = tables.config_names
    class_to_type = {cls: mt for mt, cls in config_names.items()}
    known = set(class_to_type)
    out = _Relations({}, {}, defaultdict(list), defaultdict(list), defaultdict(list))
    for model_type, class_name in config_names.items():
        facts = _config_facts(model_type, class_name, tables.module_names[model_type], known, from_source)
        out.config_module[model_type] = facts.module
        if facts.error is not None:
            out.config_error[model_type] = facts.error
        for key, sub_name, sub_model_type in facts.sub_configs:
            out.sub_keys[model_type].append((key, sub_name))
            sub_type = class_to_type.get(sub_name, sub_model_type)
            if sub_type in config_names and sub_type != model_type and sub_name != "AutoConfig":
                if sub_type not in out.parts_of[model_type]:
                    out.parts_of[model_type].append(sub_type)
    for parent, parts in out.parts_of.items():
        for part in parts:
            out.parents_of[part].append(parent)
    return out


def _unmapped_by_type(tables: AutoTables, mapped_classes: set[str]) -> dict[str, list[str]]:
    """The unmapped model classes of each model type, per modeling module."""
    config_names, module_of = tables.config_names, tables.module_names
    types_by_module: dict[str, list[str]] = defaultdict(list)
    for model_type in config_names:
        types_by_module[module_of[model_type]].append(model_type)
    unmapped: dict[str, list[str]] = {}
    for module_name, types in types_by_module.items():
        owners = {config_names[t][: -len("Config")] if config_names[t].endswith("Config") else config_names[t]: t
                  for t in types}
        unmapped.update(_unmapped_classes(_lazy_exports(module_name), mapped_classes, owners))
    return unmapped


def _record(tables: AutoTables, model_type: str, tasks: _Tasks, procs_of: dict, relations: _Relations,
            unmapped: dict) -> ModelTypeRecord:
    module_name = tables.module_names[model_type]
    config_module = relations.config_module.get(model_type, "")
    return ModelTypeRecord(
        model_type=model_type,
        config_class=tables.config_names[model_type],
        config_module=config_module,
        module=f"transformers.models.{module_name}",
        tasks=tuple(tasks.tasks_of.get(model_type, ())),
        processors=tuple(procs_of.get(model_type, ())),
        parents=tuple(sorted(relations.parents_of.get(model_type, ()))),
        parts=tuple(relations.parts_of.get(model_type, ())),
        sub_config_keys=tuple(relations.sub_keys.get(model_type, ())),
        deprecated=module_name in tables.deprecated_modules or ".deprecated." in config_module,
        unmapped_classes=tuple(sorted(unmapped.get(model_type, ()))),
        config_error=relations.config_error.get(model_type),
    )


def discover(use_cache: bool = True) -> Inventory:
    """The inventory of the installed transformers, from the on-disk cache when valid."""
    if not use_cache:
        return scan()
    from hfscan.fileio import write_text
    from hfscan.paths import cache_dir

    path = cache_dir("discover") / f"{_cache_key()}.json"
    if path.exists():
        try:
            return Inventory.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt, never trusted
    inventory = scan()
    write_text(path, json.dumps(inventory.to_json()))
    return inventory


def filter_records(
    records: Iterable[ModelTypeRecord], task: str | None = None, pattern: str | None = None
) -> list[ModelTypeRecord]:
    """Records mapped to ``task`` whose type matches the glob/substring ``pattern`` (like timm's list_models)."""
    import fnmatch

    out = []
    for r in records:
        if task and task not in r.task_names:
            continue
        if pattern:
            glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
            if not fnmatch.fnmatchcase(r.model_type, glob):
                continue
        out.append(r)
    return out
