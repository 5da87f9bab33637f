"""Runs on different versions side by side: the version x category table, per-type diffs, the upgrade check.

All of it is read from the store.  The version table holds, for each
(transformers, torch) pair, the latest finished run that made the same
selection as the run it is drawn for, so the rows count the same model types
where the versions share them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Iterable, Sequence

import click
from rich.table import Table

from hfscan.cache.store import Store
from hfscan.terminal import console
from hfscan.records import Coverage, RunInfo, Status
from hfscan.reports.coverage import CATEGORIES, PASSING, RunCoverage, TypeRow, pass_rate, summarize
from hfscan.reports.history import WORKING, Comparison, compare

UPGRADE_SCHEMA = "hfscan.upgrade/1"
#: Categories that count as "fails" in the target of an upgrade.
FAILS = frozenset({Coverage.UNEXPECTED_FAILURE, Coverage.EXPECTED_FAILURE})
#: The run arguments that make two runs' selections the same.
_SELECTION_ARGS = ("model_types", "priority", "family", "tasks", "checks", "source")


# -- the version x category table -------------------------------------------------------------------
@dataclass(frozen=True)
class VersionRow:
    run: RunInfo
    totals: dict[Coverage, int]

    @property
    def model_types(self) -> int:
        return sum(self.totals.values())

    @property
    def pass_rate(self) -> float:
        return pass_rate(self.totals)


def _selection(run: RunInfo) -> tuple:
    try:
        args = json.loads(run.args or "{}")
    except ValueError:
        args = {}
    return tuple(json.dumps(args.get(k), sort_keys=True) for k in _SELECTION_ARGS)


def _version_key(run: RunInfo) -> tuple[str, str]:
    return run.transformers_version, run.torch_version or ""


def version_rows(store: Store, runs: Sequence[RunInfo]) -> tuple[VersionRow, ...]:
    """One row per run given, in order (a version pair once: its last run)."""
    latest: dict[tuple[str, str], RunInfo] = {}
    for run in runs:
        latest[_version_key(run)] = run
    return tuple(VersionRow(r, summarize(r, store.results(r.id)).totals) for r in latest.values())


def comparable_runs(store: Store, run: RunInfo) -> tuple[RunInfo, ...]:
    """The latest finished run per version pair that made ``run``'s selection (``run`` itself for its pair),
    oldest transformers first."""
    from packaging.version import InvalidVersion, Version

    chosen: dict[tuple[str, str], RunInfo] = {}
    for r in store.runs():
        if r.id == run.id or (r.status == "finished" and _selection(r) == _selection(run) and (r.id or 0) <= (run.id or 0)):
            chosen[_version_key(r)] = r
    chosen[_version_key(run)] = run

    def order(r: RunInfo):
        try:
            return (0, Version(r.transformers_version), r.torch_version or "")
        except InvalidVersion:
            return (1, r.transformers_version, r.torch_version or "")

    return tuple(sorted(chosen.values(), key=order))


def versions_json(rows: Iterable[VersionRow]) -> list[dict]:
    return [{"run_id": r.run.id, "label": r.run.label, "transformers_version": r.run.transformers_version,
             "torch_version": r.run.torch_version, "model_types": r.model_types,
             "by_category": {str(c): n for c, n in r.totals.items()}, "pass_rate": round(r.pass_rate, 4)}
            for r in rows]


def versions_markdown(rows: Sequence[VersionRow]) -> str:
    from hfscan.reports.report import _md_cell

    head = ["transformers", "torch", "run", "model types", *map(str, CATEGORIES), "pass rate"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [_md_cell(r.run.transformers_version), _md_cell(r.run.torch_version), str(r.run.id), str(r.model_types),
                 *(str(r.totals[c]) for c in CATEGORIES), f"{100 * r.pass_rate:.1f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def print_versions(rows: Sequence[VersionRow], fmt: str) -> None:
    """The version x category table on standard output as a terminal table, Markdown or JSON."""
    if fmt == "json":
        click.echo(json.dumps({"schema": "hfscan.matrix/1", "versions": versions_json(rows)}, indent=2))
        return
    if fmt == "md":
        click.echo(versions_markdown(rows), nl=False)
        return
    table = Table(title=f"versions: {len(rows)}", title_justify="left")
    for col in ("transformers", "torch", "run", "types", *map(str, CATEGORIES), "pass rate"):
        table.add_column(col, justify="left" if col in ("transformers", "torch") else "right")
    for r in rows:
        table.add_row(r.run.transformers_version, str(r.run.torch_version), str(r.run.id), str(r.model_types),
                      *(str(r.totals[c]) for c in CATEGORIES), f"{100 * r.pass_rate:.1f}%")
    console(soft_wrap=False, width=None if sys.stdout.isatty() else 200).print(table)


# -- per-type diffs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckDiff:
    check: str
    before: Status | None  # None: the check did not run then
    after: Status | None
    before_note: str
    after_note: str


@dataclass(frozen=True)
class TypeDiff:
    """A model type whose category or a check's status differs between two runs: which check, which error."""

    model_type: str
    family: str
    before: Coverage
    after: Coverage
    checks: tuple[CheckDiff, ...]

    @property
    def error(self) -> str:
        return next((c.after_note for c in self.checks if c.after_note), "")


def type_diff(before: TypeRow, after: TypeRow) -> TypeDiff | None:
    """How one model type's checks changed (None when category and every check's status are the same)."""
    checks = []
    for check in dict.fromkeys([*before.checks, *after.checks]):
        old, new = before.checks.get(check), after.checks.get(check)
        if (old and old.status) != (new and new.status):
            checks.append(CheckDiff(check, old.status if old else None, new.status if new else None,
                                    old.note if old else "", new.note if new else ""))
    if not checks and before.coverage == after.coverage:
        return None
    return TypeDiff(after.model_type, after.family, before.coverage, after.coverage, tuple(checks))


def type_diffs(before: RunCoverage, after: RunCoverage) -> tuple[TypeDiff, ...]:
    """Every model type of both runs whose category or check statuses differ, by name."""
    old = {r.model_type: r for r in before.rows}
    out = [type_diff(old[r.model_type], r) for r in after.rows if r.model_type in old]
    return tuple(d for d in out if d is not None)


def diff_json(d: TypeDiff) -> dict:
    return {"model_type": d.model_type, "family": d.family, "before": str(d.before), "after": str(d.after),
            "checks": [{"check": c.check, "before": c.before and str(c.before), "after": c.after and str(c.after),
                        "before_note": c.before_note, "after_note": c.after_note} for c in d.checks]}


# -- the upgrade check ----------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupChange:
    """A failure group (status and stage, error signature) and its members before and after."""

    kind: str
    reason: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def change(self) -> str:
        return "new" if not self.before else "gone" if not self.after else "changed"


@dataclass(frozen=True)
class Upgrade:
    before: RunCoverage
    after: RunCoverage
    comparison: Comparison
    broken: tuple[TypeDiff, ...]  # worked before, fails in the target: first
    diffs: tuple[TypeDiff, ...]  # every other type whose category or checks changed
    new_types: tuple[TypeRow, ...]
    removed_types: tuple[TypeRow, ...]
    groups: tuple[GroupChange, ...]


def group_changes(before: RunCoverage, after: RunCoverage) -> tuple[GroupChange, ...]:
    """Failure groups that appeared, disappeared or changed members, new ones first."""
    old = {(g.kind, g.reason): g.model_types for g in before.failure_groups}
    new = {(g.kind, g.reason): g.model_types for g in after.failure_groups}
    out = [GroupChange(k, r, old.get((k, r), ()), new.get((k, r), ())) for k, r in dict.fromkeys([*new, *old])
           if old.get((k, r), ()) != new.get((k, r), ())]
    return tuple(sorted(out, key=lambda g: ("new", "changed", "gone").index(g.change)))


def build_upgrade(store: Store, before_run: RunInfo, after_run: RunInfo) -> Upgrade:
    before = summarize(before_run, store.results(before_run.id))
    after = summarize(after_run, store.results(after_run.id))
    diffs = type_diffs(before, after)
    broken = tuple(d for d in diffs if d.before in WORKING and d.after in FAILS)
    old, now = {r.model_type for r in before.rows}, {r.model_type for r in after.rows}
    return Upgrade(
        before=before, after=after, comparison=compare(after, before), broken=broken,
        diffs=tuple(d for d in diffs if d not in broken),
        new_types=tuple(r for r in after.rows if r.model_type not in old),
        removed_types=tuple(r for r in before.rows if r.model_type not in now),
        groups=group_changes(before, after),
    )


def upgrade_json(u: Upgrade) -> dict:
    from hfscan.reports.report import _run_json

    def side(cov: RunCoverage) -> dict:
        return {"run": _run_json(cov.run), "model_types": len(cov.rows), "pass_rate": round(cov.pass_rate, 4),
                "by_category": {str(c): n for c, n in cov.totals.items()}}

    return {
        "schema": UPGRADE_SCHEMA,
        "from": side(u.before),
        "to": side(u.after),
        "broken": [diff_json(d) for d in u.broken],
        "new_types": [{"model_type": r.model_type, "family": r.family, "coverage": str(r.coverage), "error": r.error}
                      for r in u.new_types],
        "removed_types": [{"model_type": r.model_type, "family": r.family, "coverage": str(r.coverage)} for r in u.removed_types],
        "changed": [diff_json(d) for d in u.diffs],
        "failure_groups": [{"change": g.change, "kind": g.kind, "reason": g.reason, "before": list(g.before),
                            "after": list(g.after)} for g in u.groups],
    }


def render_upgrade(u: Upgrade, fmt: str) -> str:
    from hfscan.reports.report import _env

    if fmt == "json":
        return json.dumps(upgrade_json(u), indent=2) + "\n"
    return _env().get_template(f"upgrade.{fmt}.j2").render(u=u, categories=CATEGORIES, passing=PASSING)
