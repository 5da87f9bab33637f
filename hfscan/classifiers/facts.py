"""Facts about a model type that traits are read from: config defaults and ``forward()`` inputs.

Reading them instantiates each config class; ``forward()`` parameters are read
from the modeling source (``hfscan.scanner.signatures``), importing a modeling
module only where the source does not settle them.  The facts of a whole
inventory are cached on disk per transformers and hfscan version.  A fact that cannot be
read is recorded as a source error, never raised.
"""

from __future__ import annotations

import inspect
import json
import multiprocessing
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfscan import __version__
from hfscan.classifiers.records import Scalar
from hfscan.fileio import write_text
from hfscan.scanner.records import Inventory, ModelTypeRecord

SCHEMA = "hfscan.facts/1"
_MAX_LIST = 64  # longer lists of scalars (per-layer tables) keep their distinct values only
_IGNORED_KEYS = frozenset({"model_type", "architectures", "transformers_version", "id2label", "label2id"})


@dataclass(frozen=True)
class Facts:
    """Raw facts of one model type, as cached."""

    config: dict[str, Scalar | list[Scalar]] = field(default_factory=dict)  # scalar defaults by attribute
    sub_configs: tuple[str, ...] = ()  # attributes whose default holds a nested config
    input_class: str | None = None  # the model class whose forward() was read
    inputs: tuple[str, ...] = ()  # its named forward() parameters
    errors: tuple[tuple[str, str], ...] = ()  # (source, "ErrorType: message")

    def to_json(self) -> dict:
        return {
            "config": self.config,
            "sub_configs": list(self.sub_configs),
            "input_class": self.input_class,
            "inputs": list(self.inputs),
            "errors": [list(e) for e in self.errors],
        }

    @classmethod
    def from_json(cls, d: dict) -> "Facts":
        return cls(
            config=dict(d["config"]),
            sub_configs=tuple(d["sub_configs"]),
            input_class=d["input_class"],
            inputs=tuple(d["inputs"]),
            errors=tuple((s, e) for s, e in d["errors"]),
        )


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]


def _scalar_view(value: Any) -> Scalar | list[Scalar] | None:
    """A JSON-safe view of a config value, or None for values that are not facts (objects, dicts)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        items = list(value)
        return items if len(items) <= _MAX_LIST else list(dict.fromkeys(items))
    return None


def config_facts(record: ModelTypeRecord) -> tuple[dict[str, Scalar | list[Scalar]], tuple[str, ...], str | None]:
    """(scalar defaults, sub-config attributes, error) of the record's config class."""
    try:
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        return (*flatten_config(CONFIG_MAPPING[record.model_type]().to_dict()), None)
    except Exception as exc:  # noqa: BLE001 - a config that cannot be built is a recorded fact
        return {}, (), _error(exc)


def flatten_config(values: dict[str, Any]) -> tuple[dict[str, Scalar | list[Scalar]], tuple[str, ...]]:
    """(config facts, sub-config attributes) of a config's ``to_dict()``, keyed as the trait rules read them."""
    scalars: dict[str, Scalar | list[Scalar]] = {}
    subs: list[str] = []
    _flatten(values, "", scalars, subs)
    return scalars, tuple(subs)


def _flatten(values: dict[str, Any], prefix: str, scalars: dict[str, Scalar | list[Scalar]], subs: list[str]) -> None:
    """Scalar config values into ``scalars``, plain nested dicts as dotted keys (``ffn_config.moe_num_experts``).

    A nested dict that is itself a model's config (it names a model type) is a sub-config: its key goes
    to ``subs``; a helper config with an empty model type (e.g. a feed-forward config) is a plain table.
    """
    for key, value in values.items():
        key = str(key)
        if key in _IGNORED_KEYS or key.startswith("_"):
            continue
        if isinstance(value, dict):
            if value.get("model_type"):
                subs.append(prefix + key)
            elif not prefix:  # one level of plain nesting is a fact; deeper tables are not
                _flatten(value, f"{key}.", scalars, subs)
            continue
        view = _scalar_view(value)
        if view is not None or value is None:
            scalars[prefix + key] = view


def input_class(record: ModelTypeRecord) -> str | None:
    """The class whose forward() stands for the type: its base model, else its first mapped or exported class."""
    candidates = record.classes_for("base") or record.model_classes or record.unmapped_classes
    return candidates[0] if candidates else None


def forward_inputs(class_name: str, from_source: bool = True) -> tuple[tuple[str, ...], str | None]:
    """(named parameters of ``class_name.forward``, error): read from transformers' source where it settles
    them, else (and with ``from_source=False``, the reference) by importing the modeling module."""
    if from_source:
        from hfscan.scanner.signatures import forward_params

        params = forward_params(class_name)
        if params is not None:
            return params, None
    try:
        import transformers

        cls = getattr(transformers, class_name)
        params = inspect.signature(cls.forward).parameters.values()
    except Exception as exc:  # noqa: BLE001 - optional dependencies and broken modules are facts
        return (), _error(exc)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return tuple(p.name for p in params if p.name != "self" and p.kind not in variadic), None


def extract(record: ModelTypeRecord) -> Facts:
    """Read the facts of one model type from the installed transformers (no cache)."""
    config, subs, config_error = config_facts(record)
    errors = [("config", config_error)] if config_error else []
    cls = input_class(record)
    inputs: tuple[str, ...] = ()
    if cls:
        inputs, forward_error = forward_inputs(cls)
        if forward_error:
            errors.append((f"forward({cls})", forward_error))
    return Facts(config=config, sub_configs=subs, input_class=cls, inputs=inputs, errors=tuple(errors))


_PARALLEL_MIN = 64  # fewer records than this are read in this process alone


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _extract_chunk(records: list[ModelTypeRecord]) -> dict[str, Facts]:
    return {r.model_type: extract(r) for r in records}


def _child_chunk(records: list[ModelTypeRecord]) -> dict[str, Facts]:
    """What the forked child runs (a module-level name, so the call pickles; the child looks ``_extract_chunk`` up)."""
    return _extract_chunk(records)


def extract_many(records: list[ModelTypeRecord]) -> dict[str, Facts]:
    """The facts of many records, read by this process and one forked child side by side where two cores and
    ``fork`` are available (half the config modules each: importing and building them is what a cold start
    costs); a child that fails leaves its half to this process.  Each fact is read the same way either way."""
    if len(records) < _PARALLEL_MIN or _cores() < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return _extract_chunk(records)
    theirs, ours = records[1::2], records[0::2]
    for stream in (sys.stdout, sys.stderr):  # the child flushes what it inherits: nothing may be printed twice
        stream.flush()
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        pending = pool.submit(_child_chunk, theirs)
        facts = _extract_chunk(ours)
        try:
            facts.update(pending.result())
        except Exception:  # noqa: BLE001 - a child that failed or died: its half is read here instead
            facts.update(_extract_chunk(theirs))
    return {r.model_type: facts[r.model_type] for r in records}


def _cache_path(inventory: Inventory) -> Path:
    from hfscan.paths import cache_dir

    return cache_dir("traits") / f"{SCHEMA}-{__version__}-tf{inventory.transformers_version}.json".replace("/", "_")


def _read_cache(path: Path) -> dict[str, Facts]:
    """The cached facts at ``path``; a missing or damaged cache reads as empty (it is rebuilt, never trusted)."""
    try:
        return {mt: Facts.from_json(d) for mt, d in json.loads(path.read_text()).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def load_facts(inventory: Inventory, use_cache: bool = True) -> dict[str, Facts]:
    """Facts of every model type of ``inventory``: cached ones reused, the others read now and added to the cache."""
    path = _cache_path(inventory)
    facts = _read_cache(path) if use_cache else {}
    missing = [r for r in inventory if r.model_type not in facts]
    if missing:
        facts.update(extract_many(missing))
        write_text(path, json.dumps({mt: f.to_json() for mt, f in facts.items()}))
    return {mt: facts[mt] for mt in inventory.model_types}


def facts_for(record: ModelTypeRecord, inventory: Inventory, use_cache: bool = True) -> Facts:
    """Facts of one record of ``inventory``: from the cache when it holds them, else read now.

    A record that is not the inventory's own (e.g. one built by hand) is always read now and never cached.
    """
    known = record.model_type in inventory and inventory.get(record.model_type) == record
    if use_cache and known:
        cached = _read_cache(_cache_path(inventory)).get(record.model_type)
        if cached is not None:
            return cached
    return extract(record)
