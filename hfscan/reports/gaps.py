"""Gaps: the model types hfscan cannot yet cover, grouped so that one missing rule is one group.

This first version knows classification gaps (unclassified and ambiguous types).
Groups are plain records; :func:`build_gaps` takes groups from later stages
(harness failures, for instance) through ``extra`` so they join the same report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

from hfscan.classifiers.graph import FamilyGraph, default_graph
from hfscan.classifiers.records import Classification
from hfscan.harness.records import FAILING, CheckResult
from hfscan.scanner.records import Inventory

SCHEMA = "hfscan.gaps/1"


@dataclass(frozen=True)
class GapGroup:
    """Model types that share one gap: the same outcome, reason and deciding traits."""

    kind: str  # "unclassified" or "ambiguous" (later stages may add their own kinds)
    reason: str
    traits: tuple[str, ...]  # the deciding traits they share (those the graph's edges mention)
    model_types: tuple[str, ...]

    def to_json(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "traits": list(self.traits), "model_types": list(self.model_types)}


@dataclass(frozen=True)
class Gaps:
    transformers_version: str
    considered: int  # model types looked at
    groups: tuple[GapGroup, ...]
    include_subconfigs: bool = False

    @property
    def model_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(mt for g in self.groups for mt in g.model_types))

    @property
    def fraction(self) -> float:
        return len(self.model_types) / self.considered if self.considered else 0.0

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "transformers_version": self.transformers_version,
            "include_subconfigs": self.include_subconfigs,
            "considered": self.considered,
            "gaps": len(self.model_types),
            "fraction": round(self.fraction, 4),
            "groups": [g.to_json() for g in self.groups],
        }


def deciding_traits(graph: FamilyGraph) -> frozenset[str]:
    """Traits that some family's conditions mention; the others (rope, sliding-window ...) only inform."""
    return frozenset(t for f in graph.families.values() for t in (*f.requires, *f.any, *f.excludes))


def _group_reason(c: Classification) -> str:
    if c.outcome == "ambiguous":
        return f"tie between {', '.join(c.candidates)}"
    if c.path:
        return f"reached {c.path[-1]}, no family below it holds"
    return c.reason


def classification_gaps(classifications: Iterable[Classification], graph: FamilyGraph | None = None) -> list[GapGroup]:
    """Unclassified and ambiguous types, grouped by (outcome, reason, deciding traits), largest group first."""
    deciding = deciding_traits(graph or default_graph())
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for c in classifications:
        if c.outcome == "classified":
            continue
        traits = tuple(sorted(t for t in c.trait_names if t in deciding))
        groups[(c.outcome, _group_reason(c), traits)].append(c.model_type)
    out = [GapGroup(kind, reason, traits, tuple(types)) for (kind, reason, traits), types in groups.items()]
    return sorted(out, key=lambda g: (-len(g.model_types), g.kind, g.reason, g.traits))


def build_gaps(
    inventory: Inventory,
    classifications: Mapping[str, Classification],
    include_subconfigs: bool = False,
    extra: Iterable[GapGroup] = (),
) -> Gaps:
    """The gaps of ``inventory``: classification gaps (top-level types only unless ``include_subconfigs``), then ``extra``."""
    records = [r for r in inventory if include_subconfigs or not r.is_subconfig]
    chosen = [classifications[r.model_type] for r in records if r.model_type in classifications]
    return Gaps(
        transformers_version=inventory.transformers_version,
        considered=len(records),
        groups=(*classification_gaps(chosen), *extra),
        include_subconfigs=include_subconfigs,
    )


# -- harness failures -------------------------------------------------------
#: Applied in order; the model type's own name is masked after the first two (addresses, paths).
_SIGNATURE_RULES = (
    (re.compile(r"0x[0-9a-fA-F]+"), "0x?"),
    (re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]+){2,}/?"), "<path>"),
    (re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Config|Model|PreTrainedModel|For[A-Z][A-Za-z]*|Layer|Attention|Block|"
                r"Encoder|Decoder|Embeddings?|Processor|Tokenizer|Output)\b"), "<Class>"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "N"),
    (re.compile(r"\s+"), " "),
)


def error_signature(result: CheckResult, limit: int = 160) -> str:
    """The error type and first message line with what varies per model (names, sizes, addresses, paths) masked."""
    line = next((ln.strip() for ln in (result.message or "").splitlines() if ln.strip()), "")
    own_name = re.compile(rf"(?<![\w-]){re.escape(result.model_type)}(?![\w-])", re.IGNORECASE)
    for pattern, repl in (*_SIGNATURE_RULES[:2], (own_name, "<model>"), *_SIGNATURE_RULES[2:]):
        line = pattern.sub(repl, line)
    line = line[:limit]
    return f"{result.error_type or result.status}: {line}" if line else str(result.error_type or result.status)


def failure_gaps(results: Iterable[CheckResult]) -> list[GapGroup]:
    """Failed, crashed, timed-out and out-of-memory checks grouped by (stage, error signature), largest first."""
    groups: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for r in results:
        if r.status in FAILING:
            groups[(f"{r.status} at {r.stage or r.check}", error_signature(r))].setdefault(r.model_type, None)
    out = [GapGroup(kind, reason, (), tuple(sorted(types))) for (kind, reason), types in groups.items()]
    return sorted(out, key=lambda g: (-len(g.model_types), g.kind, g.reason))
