"""Enumerate every model type of the installed transformers from its auto mappings.

Reads mapping tables and config classes only; never imports a modeling module.
The result is cached on disk per transformers installation, so a second call
costs a JSON read.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
from collections import defaultdict
from typing import Any, Iterable

from hfscan import __version__
from hfscan.scanner.records import SCHEMA, Inventory, ModelTypeRecord
from hfscan.scanner.tasks import task_from_mapping_name

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


def model_mappings() -> dict[str, dict[str, Any]]:
    """{mapping attribute name: mapping} for every model mapping of modeling_auto."""
    from transformers.models.auto import modeling_auto

    out = {}
    for name in dir(modeling_auto):
        if task_from_mapping_name(name) is None:
            continue
        value = getattr(modeling_auto, name)
        if isinstance(value, dict):
            out[name] = value
    return out


def _literal_mapping(module_name: str, attr: str) -> dict[str, Any] | None:
    """Read ``attr = OrderedDict([...])`` from the module's source without importing it.

    Importing the processor auto modules pulls in the whole processing stack
    (over a second); their mappings are plain literals.  Returns None when the
    source is not a literal, and the caller imports the module instead.
    """
    import ast

    spec = importlib.util.find_spec(f"transformers.models.auto.{module_name}")
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if not (isinstance(target, ast.Name) and target.id == attr) or getattr(node, "value", None) is None:
            continue
        value = node.value
        if isinstance(value, ast.Call) and value.args and not value.keywords:
            value = value.args[0]
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            return None
        try:
            return dict(literal)
        except (TypeError, ValueError):
            return None
    return None


def processor_mappings() -> dict[str, dict[str, Any]]:
    out = {}
    for module_name, attr, kind in PROCESSOR_MAPPINGS:
        mapping = _literal_mapping(module_name, attr)
        if mapping is None:
            try:
                module = importlib.import_module(f"transformers.models.auto.{module_name}")
            except ImportError:
                continue
            mapping = getattr(module, attr, None)
        if isinstance(mapping, dict):
            out[kind] = mapping
    return out


def _lazy_exports(module_name: str) -> dict[str, str]:
    """{exported name: submodule} of ``transformers.models.<module>`` without importing it."""
    try:
        mod = importlib.import_module(f"transformers.models.{module_name}")
    except Exception:  # a broken optional module must not stop discovery
        return {}
    class_to_module = getattr(mod, "_class_to_module", None)
    return dict(class_to_module) if isinstance(class_to_module, dict) else {}


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


def scan() -> Inventory:
    """Build the inventory from the installed transformers (no cache)."""
    from transformers.models.auto import configuration_auto

    tf_version, torch_version = installed_versions()
    config_names: dict[str, str] = dict(configuration_auto.CONFIG_MAPPING_NAMES)
    deprecated_modules = set(getattr(configuration_auto, "DEPRECATED_MODELS", []) or [])
    to_module = configuration_auto.model_type_to_module_name

    # tasks: model_type -> [(task, class)]
    tasks_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    orphans: list[tuple[str, str]] = []
    task_table: list[tuple[str, str]] = []
    mapped_classes: set[str] = set()
    for mapping_name, mapping in sorted(model_mappings().items()):
        task = task_from_mapping_name(mapping_name)
        task_table.append((task, mapping_name))
        for model_type, value in mapping.items():
            classes = _flatten(value)
            mapped_classes.update(classes)
            if model_type not in config_names:
                orphans.append((mapping_name, model_type))
                continue
            tasks_of[model_type].extend((task, c) for c in classes)

    procs_of: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for kind, mapping in processor_mappings().items():
        for model_type, value in mapping.items():
            classes = _flatten(value)
            if model_type not in config_names:
                orphans.append((kind, model_type))
                continue
            if classes:
                procs_of[model_type].append((kind, classes))

    # config classes -> sub-config relations
    class_to_type = {cls: mt for mt, cls in config_names.items()}
    config_module: dict[str, str] = {}
    config_error: dict[str, str] = {}
    sub_keys: dict[str, list[tuple[str, str]]] = defaultdict(list)
    parts_of: dict[str, list[str]] = defaultdict(list)
    for model_type in config_names:
        try:
            cls = configuration_auto.CONFIG_MAPPING[model_type]
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            config_error[model_type] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            config_module[model_type] = ""
            continue
        config_module[model_type] = cls.__module__
        for key, sub in (getattr(cls, "sub_configs", None) or {}).items():
            sub_name = getattr(sub, "__name__", str(sub))
            sub_keys[model_type].append((key, sub_name))
            sub_type = getattr(sub, "model_type", None)
            if sub_name in class_to_type:
                sub_type = class_to_type[sub_name]
            if sub_type in config_names and sub_type != model_type and sub_name != "AutoConfig":
                if sub_type not in parts_of[model_type]:
                    parts_of[model_type].append(sub_type)
    parents_of: dict[str, list[str]] = defaultdict(list)
    for parent, parts in parts_of.items():
        for part in parts:
            parents_of[part].append(parent)

    # unmapped model classes, per modeling module
    types_by_module: dict[str, list[str]] = defaultdict(list)
    for model_type in config_names:
        types_by_module[to_module(model_type)].append(model_type)
    unmapped: dict[str, list[str]] = {}
    for module_name, types in types_by_module.items():
        owners = {config_names[t][: -len("Config")] if config_names[t].endswith("Config") else config_names[t]: t for t in types}
        unmapped.update(_unmapped_classes(_lazy_exports(module_name), mapped_classes, owners))

    records = []
    for model_type, config_class in config_names.items():
        module_name = to_module(model_type)
        records.append(
            ModelTypeRecord(
                model_type=model_type,
                config_class=config_class,
                config_module=config_module.get(model_type, ""),
                module=f"transformers.models.{module_name}",
                tasks=tuple(tasks_of.get(model_type, ())),
                processors=tuple(procs_of.get(model_type, ())),
                parents=tuple(sorted(parents_of.get(model_type, ()))),
                parts=tuple(parts_of.get(model_type, ())),
                sub_config_keys=tuple(sub_keys.get(model_type, ())),
                deprecated=module_name in deprecated_modules or ".deprecated." in config_module.get(model_type, ""),
                unmapped_classes=tuple(sorted(unmapped.get(model_type, ()))),
                config_error=config_error.get(model_type),
            )
        )
    return Inventory(
        transformers_version=tf_version,
        torch_version=torch_version,
        records=tuple(records),
        tasks=tuple(task_table),
        orphan_keys=tuple(orphans),
    )


def discover(use_cache: bool = True) -> Inventory:
    """The inventory of the installed transformers, from the on-disk cache when valid."""
    if not use_cache:
        return scan()
    from hfscan.paths import cache_dir

    path = cache_dir("discover") / f"{_cache_key()}.json"
    if path.exists():
        try:
            return Inventory.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt, never trusted
    inventory = scan()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(inventory.to_json()))
    os.replace(tmp, path)
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
