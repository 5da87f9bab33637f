"""History of runs: the baseline a run is compared with, what changed, and the pass-rate trend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hfscan.cache.store import Store
from hfscan.errors import UsageError
from hfscan.records import Coverage, RunInfo, coverage_by_model_type
from hfscan.reports.coverage import PASSING, RunCoverage, count, pass_rate

#: Categories a model type can regress from: it ran, fully or with a part left out.
WORKING = PASSING | {Coverage.PARTIAL}
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")


def parse_since(text: str) -> timedelta:
    """``7d``, ``2w`` or ``12h`` as a duration; anything else is a usage error."""
    m = _SINCE.match(text or "")
    if not m:
        raise UsageError(f"--since {text!r}: expected a number and a unit, e.g. 7d, 2w or 12h")
    try:
        return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    except OverflowError:
        raise UsageError(f"--since {text!r}: too long ago (at most {timedelta.max.days} days)") from None


def parse_time(iso: str) -> datetime:
    """An ISO time from the store (naive times are taken as UTC)."""
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        raise UsageError(f"not an ISO time in the store: {iso!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def baseline_before(store: Store, run: RunInfo, age: timedelta) -> RunInfo | None:
    """The latest run started at least ``age`` before ``run``."""
    try:
        cutoff = (parse_time(run.started_at) - age).astimezone(timezone.utc)
    except OverflowError:  # before the year 1: no run is that old
        return None
    candidates = [r for r in store.runs() if r.id != run.id and parse_time(r.started_at) <= cutoff]
    return max(candidates, key=lambda r: (parse_time(r.started_at), r.id), default=None)


@dataclass(frozen=True)
class Change:
    """One model type whose coverage changed between the baseline and the current run."""

    model_type: str
    family: str
    before: Coverage
    after: Coverage
    error: str


@dataclass(frozen=True)
class Comparison:
    """What changed since the baseline run."""

    baseline: RunInfo
    regressions: tuple[Change, ...]  # passed (or partly) in the baseline, unexpected failure now
    newly_passing: tuple[Change, ...]  # did not pass in the baseline, passes now
    other_changes: tuple[Change, ...]  # any other change of category
    added: tuple[str, ...]  # model types with results now but none in the baseline
    removed: tuple[str, ...]  # model types with results in the baseline but none now


def compare(current: RunCoverage, baseline: RunCoverage) -> Comparison:
    """Classify every change of coverage category between two runs."""
    before = {r.model_type: r for r in baseline.rows}
    regressions, newly_passing, other = [], [], []
    for row in current.rows:
        old = before.get(row.model_type)
        if old is None or old.coverage == row.coverage:
            continue
        change = Change(row.model_type, row.family, old.coverage, row.coverage, row.error)
        if old.coverage in WORKING and row.coverage is Coverage.UNEXPECTED_FAILURE:
            regressions.append(change)
        elif row.coverage in PASSING and old.coverage not in PASSING:
            newly_passing.append(change)
        else:
            other.append(change)
    now = {r.model_type for r in current.rows}
    return Comparison(
        baseline=baseline.run,
        regressions=tuple(regressions),
        newly_passing=tuple(newly_passing),
        other_changes=tuple(other),
        added=tuple(sorted(now - before.keys())),
        removed=tuple(sorted(before.keys() - now)),
    )


@dataclass(frozen=True)
class TrendPoint:
    """One stored run's headline numbers."""

    run: RunInfo
    model_types: int
    passing: int
    pass_rate: float


def trend(store: Store, until: RunInfo | None = None) -> tuple[TrendPoint, ...]:
    """Pass rate of every stored run (up to ``until``), oldest first."""
    runs = sorted(store.runs(), key=lambda r: (parse_time(r.started_at), r.id))
    if until is not None:
        runs = [r for r in runs if (parse_time(r.started_at), r.id) <= (parse_time(until.started_at), until.id)]
    points = []
    for run in runs:
        totals = count(coverage_by_model_type(store.results(run.id)).values())
        points.append(TrendPoint(run, sum(totals.values()), sum(totals[c] for c in PASSING), pass_rate(totals)))
    return tuple(points)
