"""The coverage of one run: one row per model type, counted by the shared coverage categories."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from hfscan.records import CHECKS, FAILING, CheckResult, Coverage, RunInfo, Status, coverage_of
from hfscan.reports.gaps import GapGroup, declared_mismatches, failure_gaps

#: Categories in the order every report lists them.
CATEGORIES: tuple[Coverage, ...] = tuple(Coverage)
#: Categories that count as "works" for pass rates, regressions and trends.
PASSING = frozenset({Coverage.GENERIC_PASS, Coverage.OVERRIDE_PASS})
#: Per-check status shown for a model type with several classes: the worst one wins.
_WORST_FIRST = (
    Status.CRASHED, Status.OOM, Status.TIMEOUT, Status.FAILED, Status.XFAIL,
    Status.INTERRUPTED, Status.PARTIAL, Status.SKIPPED, Status.PASSED,
)
_ERROR_CHARS = 200
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")  # ANSI colour codes, control characters

TierOf = Callable[[str], str]

SHIPPED_SOURCE = "hfscan/data/overrides.toml"


def untiered(model_type: str) -> str:
    """The tier of every model type when the caller names no tiers (the harness's priorities are its data)."""
    return "low"


def override_origins(stored: Mapping[str, Mapping[str, str]], shipped: Mapping[str, str] | None = None
                     ) -> dict[str, tuple[str, str]]:
    """{override hash: (reason, source file)}: the shipped overrides (``shipped``: hash to reason, handed in by the
    caller, since reports import no harness), and every entry a run stored (a user's own)."""
    out = {h: (reason, SHIPPED_SOURCE) for h, reason in (shipped or {}).items()}
    for h, entry in stored.items():
        out.setdefault(h, (str(entry.get("reason") or ""), str(entry.get("source") or "")))
    return out


@dataclass(frozen=True)
class CheckOutcome:
    """One check of one model type: the worst status over its classes, and why."""

    status: Status
    note: str  # error summary or skip reason, "" when it passed
    duration_s: float


@dataclass(frozen=True)
class TypeRow:
    """One model type of one run, its checks folded together."""

    model_type: str
    family: str
    tier: str
    coverage: Coverage
    checks: Mapping[str, CheckOutcome]
    duration_s: float
    param_count: int | None
    error: str  # one-line summary of the first failure, "" when none
    override_hash: str | None


@dataclass(frozen=True)
class OverrideUse:
    """An override that applied in the run, and what it did for the model type."""

    model_type: str
    override_hash: str
    reason: str  # from the shipped overrides file or the user's file the run stored; "" when the store does not say
    checks: tuple[str, ...]
    coverage: Coverage
    source: str = ""  # the overrides file it came from (SHIPPED_SOURCE or the user's file); "" when unknown


@dataclass(frozen=True)
class CheckRate:
    """One check over a run: its results by status, and the share of those that ran that passed."""

    check: str
    counts: Mapping[str, int]  # status -> results
    ran: int  # results neither skipped nor interrupted
    passed: int  # passed or partial

    @property
    def rate(self) -> float:
        return self.passed / self.ran if self.ran else 0.0


@dataclass(frozen=True)
class Mismatch:
    """A class flag a check's observation contradicted."""

    model_type: str
    check: str
    flag: str
    declared: object
    observed: str
    text: str


@dataclass(frozen=True)
class RunCoverage:
    """Everything a report says about one run."""

    run: RunInfo
    checks: tuple[str, ...]
    rows: tuple[TypeRow, ...]
    failure_groups: tuple[GapGroup, ...]  # unexpected failures, grouped as `hfscan gaps` groups them
    overrides: tuple[OverrideUse, ...]
    check_rates: tuple[CheckRate, ...] = ()
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def totals(self) -> dict[Coverage, int]:
        return count(r.coverage for r in self.rows)

    def by(self, attr: str) -> dict[str, dict[Coverage, int]]:
        """Category counts per value of a row attribute ("family" or "tier"), keys sorted."""
        groups: dict[str, list[Coverage]] = defaultdict(list)
        for row in self.rows:
            groups[getattr(row, attr)].append(row.coverage)
        return {k: count(groups[k]) for k in sorted(groups)}

    @property
    def pass_rate(self) -> float:
        return pass_rate(self.totals)

    def row(self, model_type: str) -> TypeRow | None:
        return next((r for r in self.rows if r.model_type == model_type), None)


def count(coverages: Iterable[Coverage]) -> dict[Coverage, int]:
    """Counts of every category (zeros included), in report order."""
    c = Counter(coverages)
    return {cat: c.get(cat, 0) for cat in CATEGORIES}


def pass_rate(totals: Mapping[Coverage, int]) -> float:
    """Share of model types that pass (generically or with an override); 0.0 for an empty run."""
    n = sum(totals.values())
    return sum(totals[c] for c in PASSING) / n if n else 0.0


def one_line(text: str | None, limit: int = _ERROR_CHARS) -> str:
    """The first non-empty line of ``text`` without control characters, cut to ``limit`` characters."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    line = _CONTROL.sub("", line[: 4 * limit])
    return line if len(line) <= limit else line[: limit - 1] + "…"


def error_summary(result: CheckResult) -> str:
    parts = [p for p in (result.stage, result.error_type, one_line(result.message)) if p]
    return one_line(": ".join(parts))


def _outcome(results: list[CheckResult]) -> CheckOutcome:
    worst = min(results, key=lambda r: _WORST_FIRST.index(r.status))
    note = "" if worst.status is Status.PASSED else error_summary(worst)
    return CheckOutcome(worst.status, note, round(sum(r.duration_s for r in results), 3))


def _row(model_type: str, results: list[CheckResult], tier_of: TierOf) -> TypeRow:
    by_check: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        by_check[r.check].append(r)
    override = next((r.override_hash for r in results if r.override_applied), None)
    failed = next((r for r in results if r.status in FAILING), None) or next(
        (r for r in results if r.status is Status.XFAIL or r.error_type or r.message), None
    )
    params = [r.param_count for r in results if r.param_count is not None]
    return TypeRow(
        model_type=model_type,
        family=next((r.family for r in results if r.family), None) or "unclassified",
        tier=tier_of(model_type),
        coverage=coverage_of([r.status for r in results], override is not None),
        checks={check: _outcome(rs) for check, rs in by_check.items()},
        duration_s=round(sum(r.duration_s for r in results), 3),
        param_count=max(params) if params else None,
        error=error_summary(failed) if failed else "",
        override_hash=override,
    )


def summarize(
    run: RunInfo,
    results: Iterable[CheckResult],
    tier_of: TierOf = untiered,
    override_reasons: Mapping[str, str | tuple[str, str]] | None = None,
) -> RunCoverage:
    """Fold a run's check results into one row per model type."""
    results = list(results)
    per_type: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        per_type[r.model_type].append(r)
    rows = tuple(_row(mt, per_type[mt], tier_of) for mt in sorted(per_type))
    seen_checks = {r.check for r in results}
    order = [*CHECKS, *_registered()]
    checks = tuple(dict.fromkeys(c for c in order if c in seen_checks)) + tuple(sorted(seen_checks - set(order)))
    reasons = override_reasons or {}
    origins = {h: (v, SHIPPED_SOURCE) if isinstance(v, str) else v for h, v in reasons.items()}
    overrides = tuple(
        OverrideUse(
            model_type=row.model_type,
            override_hash=row.override_hash,
            reason=origins.get(row.override_hash, ("", ""))[0],
            checks=tuple(sorted({r.check for r in per_type[row.model_type] if r.override_applied})),
            coverage=row.coverage,
            source=origins.get(row.override_hash, ("", ""))[1],
        )
        for row in rows
        if row.override_hash
    )
    mismatches = tuple(Mismatch(mt, check, m["flag"], m["declared"], str(m["observed"]), str(m["text"]))
                       for mt, check, m in declared_mismatches(results))
    return RunCoverage(run=run, checks=checks, rows=rows, failure_groups=tuple(failure_gaps(results)),
                       overrides=overrides, check_rates=check_rates(results, checks), mismatches=mismatches)


def _registered() -> tuple[str, ...]:
    """The registry's checks in run order (none when the data file cannot be read: the report still renders)."""
    from hfscan.harness.registry import registry

    try:
        return registry().names
    except Exception:  # noqa: BLE001 - a broken data file is reported by the commands that run checks
        return ()


def check_rates(results: Iterable[CheckResult], checks: Iterable[str]) -> tuple[CheckRate, ...]:
    """Per check: results by status, how many ran (not skipped nor interrupted) and passed (or partial)."""
    by: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by[r.check][r.status] += 1
    out = []
    for check in checks:
        c = by.get(check, Counter())
        ran = sum(n for s, n in c.items() if s not in (Status.SKIPPED, Status.INTERRUPTED))
        out.append(CheckRate(check, {str(s): c[s] for s in Status if c[s]}, ran,
                             c[Status.PASSED] + c[Status.PARTIAL]))
    return tuple(out)
