"""Typed records of the classification stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

#: The top-level categories coverage roadmaps use; every family sits under one.
CATEGORIES = ("encoder-only", "decoder-only", "encoder-decoder", "vision", "vision-text", "speech-audio", "multimodal")

#: Outcomes of classifying one model type.
OUTCOMES = ("classified", "ambiguous", "unclassified")

Scalar = Union[str, int, float, bool, None]


@dataclass(frozen=True)
class Trait:
    """One trait of a model type: its name, the fact's value and where the fact came from."""

    name: str
    value: Scalar
    source: str  # e.g. "config.is_encoder_decoder", "task:causal-lm", "forward(BertModel).input_ids"

    def to_json(self) -> dict:
        return {"name": self.name, "value": self.value, "source": self.source}


@dataclass(frozen=True)
class Rival:
    """A family that was considered and lost, with the reason."""

    family: str
    reason: str

    def to_json(self) -> dict:
        return {"family": self.family, "reason": self.reason}


@dataclass(frozen=True)
class Classification:
    """Where one model type landed in the family graph, and why."""

    model_type: str
    outcome: str  # one of OUTCOMES
    family: str | None  # the leaf family; None unless classified
    category: str | None  # the top-level category of the path; None when there is no single one
    template: str | None  # the smoke-test template the leaf names
    path: tuple[str, ...]  # family names, root -> leaf (for ambiguous/unclassified: as far as it got)
    traits: tuple[Trait, ...]
    rivals: tuple[Rival, ...] = ()
    parents: tuple[str, ...] = ()  # copied from the discovery record (sub-config relations)
    candidates: tuple[str, ...] = ()  # the tied families when ambiguous
    reason: str = ""  # why it is ambiguous or unclassified
    source_errors: tuple[tuple[str, str], ...] = ()  # (fact source, error) for facts that could not be read

    @property
    def trait_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.name for t in self.traits))

    @property
    def is_subconfig(self) -> bool:
        return bool(self.parents)

    def to_json(self) -> dict:
        return {
            "model_type": self.model_type,
            "outcome": self.outcome,
            "family": self.family,
            "category": self.category,
            "template": self.template,
            "path": list(self.path),
            "traits": [t.to_json() for t in self.traits],
            "rivals": [r.to_json() for r in self.rivals],
            "parents": list(self.parents),
            "candidates": list(self.candidates),
            "reason": self.reason,
            "source_errors": [list(e) for e in self.source_errors],
        }
