"""Classification: the most specific family of the graph whose conditions hold for a model type's traits.

A family holds when its parent holds and its own ``requires`` / ``any`` /
``excludes`` conditions do.  The answer is the deepest holding family: one
leaf is ``classified``; two or more on different branches are ``ambiguous``;
none, or an inner family none of whose children hold, is ``unclassified``.
There is no default bucket.
"""

from __future__ import annotations

from hfscan.classifiers.facts import Facts, facts_for, load_facts
from hfscan.classifiers.graph import FamilyGraph, default_graph
from hfscan.classifiers.records import Classification, Rival, Trait
from hfscan.classifiers.traits import find_traits
from hfscan.scanner.records import Inventory, ModelTypeRecord


def _evaluate(graph: FamilyGraph, found: set[str]) -> tuple[dict[str, bool], dict[str, str]]:
    """(holds, reason it fails) for every family, parents before children."""
    holds: dict[str, bool] = {}
    reasons: dict[str, str] = {}
    for name in graph.order:
        fam = graph.families[name]
        if fam.parent and not holds[fam.parent]:
            reason: str | None = f"below {fam.parent}, which does not hold"
        else:
            reason = fam.why_not(found)
        holds[name] = reason is None
        if reason:
            reasons[name] = reason
    return holds, reasons


def _rivals(graph: FamilyGraph, path: tuple[str, ...], reasons: dict[str, str], skip: set[str]) -> tuple[Rival, ...]:
    """The families that competed at each step of ``path`` (siblings of its nodes, then children of its end)."""
    out: list[Rival] = []
    for parent in (None, *path):
        for name in graph.children(parent):
            if name not in path and name not in skip and name in reasons:
                out.append(Rival(name, reasons[name]))
    return tuple(out)


def decide(
    model_type: str,
    traits: tuple[Trait, ...],
    graph: FamilyGraph | None = None,
    parents: tuple[str, ...] = (),
    source_errors: tuple[tuple[str, str], ...] = (),
) -> Classification:
    """The classification of a model type with these traits."""
    graph = graph or default_graph()
    holds, reasons = _evaluate(graph, {t.name for t in traits})
    deepest = [f for f in graph.order if holds[f] and not any(holds[c] for c in graph.children(f))]
    common = dict(model_type=model_type, traits=traits, parents=parents, source_errors=source_errors)
    if not deepest:
        return Classification(
            outcome="unclassified", family=None, category=None, template=None, path=(),
            rivals=_rivals(graph, (), reasons, set()), reason="no top-level category holds", **common,
        )
    if len(deepest) == 1:
        name = deepest[0]
        path = graph.path(name)
        rivals = _rivals(graph, path, reasons, set())
        if graph.is_leaf(name):
            return Classification(
                outcome="classified", family=name, category=path[0], template=graph.families[name].template,
                path=path, rivals=rivals, **common,
            )
        why = "; ".join(f"{r.family}: {r.reason}" for r in rivals if graph.families[r.family].parent == name)
        return Classification(
            outcome="unclassified", family=None, category=path[0], template=None, path=path, rivals=rivals,
            reason=f"reached {name}, but none of the families below it hold ({why})", **common,
        )
    paths = [graph.path(f) for f in deepest]
    prefix: list[str] = []
    for step in zip(*paths):
        if len(set(step)) > 1:
            break
        prefix.append(step[0])
    tie = ", ".join(" > ".join(p) for p in paths)
    return Classification(
        outcome="ambiguous", family=None, category=prefix[0] if prefix else None, template=None, path=tuple(prefix),
        rivals=_rivals(graph, tuple(prefix), reasons, set(deepest)), candidates=tuple(deepest),
        reason=f"several families hold: {tie}", **common,
    )


def classify_facts(record: ModelTypeRecord, facts: Facts, graph: FamilyGraph | None = None) -> Classification:
    """Classify a record whose facts are already read."""
    graph = graph or default_graph()
    return decide(record.model_type, find_traits(record, facts, graph.rules), graph, record.parents, facts.errors)


def classify(record: ModelTypeRecord, inventory: Inventory, use_cache: bool = True) -> Classification:
    """Classify one model type (its facts from the cache when present, else read now)."""
    return classify_facts(record, facts_for(record, inventory, use_cache))


def classify_all(inventory: Inventory, use_cache: bool = True) -> dict[str, Classification]:
    """Classify every model type of ``inventory``, keyed by model type, in inventory order."""
    facts = load_facts(inventory, use_cache)
    graph = default_graph()
    return {r.model_type: classify_facts(r, facts[r.model_type], graph) for r in inventory}
