"""Gaps: the model types hfscan cannot yet cover, grouped so that one missing rule is one group.

The worklist, in order: classification gaps (unclassified and ambiguous types),
failures of the latest run grouped by stage and error signature, then the types
that did not fail but are not generic passes either: partial passes, expected
failures, passes that needed an override, and skips (grouped by reason); last,
the class flags a consistency check found contradicted (declared vs observed).
Groups are plain records; :func:`build_gaps` takes the harness groups through
``extra`` and the per-type coverage through ``coverage``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

from hfscan.classifiers.graph import FamilyGraph, default_graph
from hfscan.classifiers.records import Classification
from hfscan.records import FAILING, CheckResult, Coverage, Status
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
    coverage: Mapping[str, int] | None = None  # {coverage category: model types}, when results were given

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
            "coverage": dict(self.coverage) if self.coverage is not None else None,
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
    coverage: Mapping[str, Coverage] | None = None,
) -> Gaps:
    """The gaps of ``inventory``: classification gaps (top-level types only unless ``include_subconfigs``), then ``extra``.

    ``coverage`` ({model type: category} of a run) adds the count of every category
    over the considered types; a type with no result counts as "not run".
    """
    records = [r for r in inventory if include_subconfigs or not r.is_subconfig]
    chosen = [classifications[r.model_type] for r in records if r.model_type in classifications]
    counts = None
    if coverage is not None:
        tally = Counter(coverage.get(r.model_type, Coverage.NOT_RUN) for r in records)
        counts = {str(c): tally[c] for c in Coverage if tally[c]}
    return Gaps(
        transformers_version=inventory.transformers_version,
        considered=len(records),
        groups=(*classification_gaps(chosen), *extra),
        include_subconfigs=include_subconfigs,
        coverage=counts,
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


#: Failure kinds the harness records (``failure_kind`` in a result's details) whose subject alone names the gap
#: (the missing package, the arguments no input builder makes); for the others the error signature is kept too.
SUBJECT_KINDS = frozenset({"missing-package", "no-input-builder"})


def failure_reason(result: CheckResult) -> str:
    """What a failure is grouped by: the kind of failure the harness recorded with its subject (and, where the
    subject alone does not say what failed, the error signature), else the error signature alone."""
    detail = result.detail
    kind, subject = detail.get("failure_kind"), detail.get("failure_subject")
    if not kind:
        return error_signature(result)
    head = f"{kind}: {subject}" if subject else str(kind)
    return head if kind in SUBJECT_KINDS else f"{head} | {error_signature(result)}"


def failure_gaps(results: Iterable[CheckResult]) -> list[GapGroup]:
    """Failed, crashed, timed-out and out-of-memory checks grouped by stage and the failure's kind (else its
    error signature), largest first."""
    groups: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for r in results:
        if r.status in FAILING:
            groups[(f"{r.status} at {r.stage or r.check}", failure_reason(r))].setdefault(r.model_type, None)
    out = [GapGroup(kind, reason, (), tuple(sorted(types))) for (kind, reason), types in groups.items()]
    return sorted(out, key=lambda g: (-len(g.model_types), g.kind, g.reason))


#: Categories that are neither a generic pass nor an unexpected failure, in worklist order, with the
#: status whose message explains each type's place in it.
_NOT_GENERIC = (
    (Coverage.PARTIAL, Status.PARTIAL),
    (Coverage.EXPECTED_FAILURE, Status.XFAIL),
    (Coverage.OVERRIDE_PASS, Status.PASSED),
    (Coverage.SKIPPED, Status.SKIPPED),
)


def coverage_gaps(results: Iterable[CheckResult], coverage: Mapping[str, Coverage]) -> list[GapGroup]:
    """Partial passes, expected failures, passes with an override and skips, each grouped by its reason.

    ``coverage`` is each type's category (see ``records.coverage_by_model_type``);
    unexpected failures are left to :func:`failure_gaps`.  Within a category the
    largest group comes first.
    """
    first: dict[tuple[str, Status], CheckResult] = {}
    for r in results:
        first.setdefault((r.model_type, r.status), r)
    out: list[GapGroup] = []
    for category, status in _NOT_GENERIC:
        groups: dict[str, list[str]] = defaultdict(list)
        for mt in sorted(mt for mt, c in coverage.items() if c is category):
            if category is Coverage.OVERRIDE_PASS:
                reason = "passes only with an entry in the overrides file"
            else:
                r = first.get((mt, status))
                reason = (r.message or "").strip().splitlines()[0] if r and (r.message or "").strip() else "(no reason recorded)"
            groups[reason].append(mt)
        out += sorted((GapGroup(str(category), reason, (), tuple(types)) for reason, types in groups.items()),
                      key=lambda g: (-len(g.model_types), g.reason))
    return out


# -- declared vs observed --------------------------------------------------
DECLARED_KIND = "declared vs observed"


def declared_mismatches(results: Iterable[CheckResult]) -> list[tuple[str, str, dict]]:
    """(model type, check, finding) for every class flag a check's observation contradicted (the ``mismatches``
    a consistency check stores in its details: ``{"flag", "declared", "observed", "text"}``)."""
    out = []
    for r in results:
        seen = r.detail.get(r.check)
        for m in seen.get("mismatches", ()) if isinstance(seen, dict) else ():
            if isinstance(m, dict) and {"flag", "declared", "observed", "text"} <= set(m):
                out.append((r.model_type, r.check, m))
    return out


def declared_gaps(results: Iterable[CheckResult]) -> list[GapGroup]:
    """Declared-vs-observed findings grouped by flag, declaration and what was observed, largest first."""
    groups: dict[str, dict[str, None]] = defaultdict(dict)
    for model_type, check, m in declared_mismatches(results):
        said = "declares" if m["declared"] else "does not declare"
        groups[f"{check}: {said} {m['flag']}, observed: {m['observed']}"].setdefault(model_type, None)
    out = [GapGroup(DECLARED_KIND, reason, (), tuple(sorted(types))) for reason, types in groups.items()]
    return sorted(out, key=lambda g: (-len(g.model_types), g.reason))
