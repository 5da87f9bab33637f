"""Typed records that the scanner hands to later stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SCHEMA = "hfscan.discover/1"


@dataclass(frozen=True)
class ModelTypeRecord:
    """Facts about one model type, read from transformers' auto mappings."""

    model_type: str
    config_class: str
    config_module: str  # e.g. transformers.models.bert.configuration_bert
    module: str  # e.g. transformers.models.bert
    # (task, model class name) pairs, in mapping order; a task may repeat when a
    # mapping lists several classes for one model type.
    tasks: tuple[tuple[str, str], ...] = ()
    # (processor kind, class names) pairs: tokenizer, image_processor, ...
    processors: tuple[tuple[str, tuple[str, ...]], ...] = ()
    parents: tuple[str, ...] = ()  # model types whose config lists this one's config as a sub-config
    parts: tuple[str, ...] = ()  # model types whose configs this one's config lists as sub-configs
    sub_config_keys: tuple[tuple[str, str], ...] = ()  # (attribute, config class or "AutoConfig")
    deprecated: bool = False
    unmapped_classes: tuple[str, ...] = ()  # model classes in the modeling module in no auto mapping
    config_error: str | None = None  # set when the config class could not be imported

    @property
    def is_subconfig(self) -> bool:
        return bool(self.parents)

    @property
    def task_names(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for task, _ in self.tasks:
            seen.setdefault(task, None)
        return tuple(seen)

    def classes_for(self, task: str) -> tuple[str, ...]:
        return tuple(cls for t, cls in self.tasks if t == task)

    @property
    def model_classes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for _, cls in self.tasks:
            seen.setdefault(cls, None)
        return tuple(seen)

    @property
    def processor_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.processors)

    def to_json(self) -> dict:
        """The documented JSON object of one model type (see README, ``discover --format json``)."""
        return {
            "model_type": self.model_type,
            "config_class": self.config_class,
            "config_module": self.config_module,
            "module": self.module,
            "tasks": {t: list(self.classes_for(t)) for t in self.task_names},
            "processors": {k: list(v) for k, v in self.processors},
            "parents": list(self.parents),
            "parts": list(self.parts),
            "sub_configs": {k: v for k, v in self.sub_config_keys},
            "is_subconfig": self.is_subconfig,
            "deprecated": self.deprecated,
            "unmapped_classes": list(self.unmapped_classes),
            "config_error": self.config_error,
        }

    @classmethod
    def from_json(cls, d: dict) -> "ModelTypeRecord":
        return cls(
            model_type=d["model_type"],
            config_class=d["config_class"],
            config_module=d["config_module"],
            module=d["module"],
            tasks=tuple((t, c) for t, classes in d["tasks"].items() for c in classes),
            processors=tuple((k, tuple(v)) for k, v in d["processors"].items()),
            parents=tuple(d["parents"]),
            parts=tuple(d["parts"]),
            sub_config_keys=tuple(d.get("sub_configs", {}).items()),
            deprecated=d["deprecated"],
            unmapped_classes=tuple(d["unmapped_classes"]),
            config_error=d.get("config_error"),
        )


@dataclass(frozen=True)
class Inventory:
    """Every model type of one installed transformers."""

    transformers_version: str
    torch_version: str | None
    records: tuple[ModelTypeRecord, ...]
    tasks: tuple[tuple[str, str], ...] = ()  # (task, mapping name)
    # keys that sit in a model/processor mapping but not in CONFIG_MAPPING_NAMES
    orphan_keys: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_type", {r.model_type: r for r in self.records})

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __contains__(self, model_type: str) -> bool:
        return model_type in self._by_type  # type: ignore[attr-defined]

    @property
    def model_types(self) -> tuple[str, ...]:
        return tuple(r.model_type for r in self.records)

    def get(self, model_type: str) -> ModelTypeRecord:
        """The record of ``model_type``; an unknown type raises UnknownModelTypeError."""
        try:
            return self._by_type[model_type]  # type: ignore[attr-defined]
        except KeyError:
            from hfscan.errors import UnknownModelTypeError

            raise UnknownModelTypeError(model_type, self.model_types) from None

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "transformers_version": self.transformers_version,
            "torch_version": self.torch_version,
            "tasks": dict(self.tasks),
            "orphan_keys": [list(k) for k in self.orphan_keys],
            "model_types": [r.to_json() for r in self.records],
        }

    @classmethod
    def from_json(cls, d: dict) -> "Inventory":
        return cls(
            transformers_version=d["transformers_version"],
            torch_version=d["torch_version"],
            records=tuple(ModelTypeRecord.from_json(r) for r in d["model_types"]),
            tasks=tuple(d["tasks"].items()),
            orphan_keys=tuple(tuple(k) for k in d.get("orphan_keys", [])),
        )


__all__ = ["SCHEMA", "Inventory", "ModelTypeRecord", "asdict"]
