"""The family graph: traits and families as nodes of a networkx graph, declared in ``hfscan/data/families.toml``.

Each family names its ``parent`` (top-level categories have none) and the traits
that decide it: ``requires`` (all must be found), ``any`` (at least one) and
``excludes`` (none may be found).  These become trait -> family edges labelled
with their relation; parent -> child edges label the hierarchy.  Loading
validates the declaration: unknown traits or parents, cycles, families that no
trait path can reach, leaves without a template are errors naming file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import networkx as nx

from hfscan.classifiers.datafile import DATA_DIR, line_of, read_toml
from hfscan.classifiers.records import CATEGORIES
from hfscan.classifiers.traits import TraitRule, default_rules
from hfscan.errors import DataFileError

FAMILIES_FILE = DATA_DIR / "families.toml"
RELATIONS = ("requires", "any", "excludes")


@dataclass(frozen=True)
class Family:
    name: str
    parent: str | None
    doc: str = ""
    template: str | None = None  # leaves only: the smoke-test template
    requires: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def why_not(self, found: set[str]) -> str | None:
        """Why this family's own conditions fail for the trait names ``found``; None when they hold."""
        missing = [t for t in self.requires if t not in found]
        if missing:
            return f"requires {', '.join(missing)}: not found"
        if self.any and not found.intersection(self.any):
            return f"needs one of {', '.join(self.any)}: none found"
        excluded = [t for t in self.excludes if t in found]
        if excluded:
            return f"excluded by {', '.join(excluded)}"
        return None


class FamilyGraph:
    """The validated graph; nodes are ("trait", name) and ("family", name)."""

    def __init__(self, families: dict[str, Family], rules: dict[str, TraitRule]):
        self.families = families
        self.rules = rules
        g = nx.DiGraph()
        for name in rules:
            g.add_node(("trait", name), kind="trait")
        for fam in families.values():
            g.add_node(("family", fam.name), kind="family")
        for fam in families.values():
            if fam.parent:
                g.add_edge(("family", fam.parent), ("family", fam.name), rel="specialises")
            for rel in RELATIONS:
                for trait in getattr(fam, rel):
                    g.add_edge(("trait", trait), ("family", fam.name), rel=rel)
        self.graph = g
        self.hierarchy = nx.DiGraph((f.parent, f.name) for f in families.values() if f.parent)
        self.hierarchy.add_nodes_from(families)
        self.order = tuple(nx.topological_sort(self.hierarchy)) if nx.is_directed_acyclic_graph(self.hierarchy) else ()

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(f for f in self.order if self.families[f].parent is None)

    def children(self, name: str | None) -> tuple[str, ...]:
        if name is None:
            return self.roots
        return tuple(c for c in self.order if self.families[c].parent == name)

    def is_leaf(self, name: str) -> bool:
        return self.hierarchy.out_degree(name) == 0

    @property
    def leaves(self) -> tuple[str, ...]:
        return tuple(f for f in self.order if self.is_leaf(f))

    def path(self, name: str) -> tuple[str, ...]:
        """Family names from the top-level category down to ``name``."""
        out = [name]
        while self.families[out[-1]].parent:
            out.append(self.families[out[-1]].parent)  # type: ignore[arg-type]
        return tuple(reversed(out))


def _names(path: Path, line: int | None, family: str, key: str, raw) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise DataFileError(str(path), line, f"family {family!r}: {key} must be a list of trait names")
    return tuple(raw)


def load_graph(path: Path = FAMILIES_FILE, rules: dict[str, TraitRule] | None = None) -> FamilyGraph:
    """Read and validate the family graph; any defect raises DataFileError naming file and line."""
    rules = default_rules() if rules is None else rules
    data, text = read_toml(path)
    table = data.get("family")
    if not isinstance(table, dict) or not table:
        raise DataFileError(str(path), None, "no [family.NAME] tables")
    families: dict[str, Family] = {}
    for name, raw in table.items():
        line = line_of(text, "family", name)
        if not isinstance(raw, dict):
            raise DataFileError(str(path), line, f"family {name!r} must be a table")
        extra = set(raw) - {"parent", "doc", "template", *RELATIONS}
        if extra:
            raise DataFileError(str(path), line, f"family {name!r}: unknown key(s) {', '.join(sorted(extra))}")
        rel = {key: _names(path, line, name, key, raw.get(key)) for key in RELATIONS}
        for trait in (t for names in rel.values() for t in names):
            if trait not in rules:
                raise DataFileError(str(path), line, f"family {name!r}: unknown trait {trait!r}")
        families[name] = Family(name=name, parent=raw.get("parent"), doc=str(raw.get("doc", "")), template=raw.get("template"), **rel)
    for fam in families.values():
        if fam.parent is not None and fam.parent not in families:
            raise DataFileError(str(path), line_of(text, "family", fam.name), f"family {fam.name!r}: unknown parent {fam.parent!r}")
    graph = FamilyGraph(families, rules)
    if not graph.order:
        cycle = nx.find_cycle(graph.hierarchy)
        names = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise DataFileError(str(path), line_of(text, "family", cycle[0][0]), f"families form a cycle: {names}")
    _validate(graph, path, text)
    return graph


def _validate(graph: FamilyGraph, path: Path, text: str) -> None:
    if set(graph.roots) != set(CATEGORIES):
        raise DataFileError(
            str(path), None, f"the top-level families must be exactly {', '.join(CATEGORIES)} (got {', '.join(graph.roots)})"
        )
    for name in graph.order:
        fam = graph.families[name]
        line = line_of(text, "family", name)
        chain = [graph.families[f] for f in graph.path(name)]
        if not any(f.requires or f.any for f in chain):
            raise DataFileError(str(path), line, f"family {name!r}: no trait path reaches it (it and its ancestors require no trait)")
        excluded = {t for f in chain for t in f.excludes}
        needed = {t for f in chain for t in f.requires}
        if needed & excluded:
            raise DataFileError(str(path), line, f"family {name!r} can never hold: {', '.join(sorted(needed & excluded))} both required and excluded")
        blocked = next((f for f in chain if f.any and excluded.issuperset(f.any)), None)
        if blocked:
            raise DataFileError(str(path), line, f"family {name!r} can never hold: every trait {blocked.name!r} needs one of is excluded")
        if graph.is_leaf(name) and not fam.template:
            raise DataFileError(str(path), line, f"leaf family {name!r} names no template")
        if not graph.is_leaf(name) and fam.template:
            raise DataFileError(str(path), line, f"family {name!r} has families below it; only leaves name a template")


@lru_cache(maxsize=None)
def default_graph() -> FamilyGraph:
    return load_graph()
