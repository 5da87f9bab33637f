"""Modeling-code line coverage per model type, from the results of a `hfscan run --coverage` sweep.

Each result of a measured job carries ``details["coverage"]`` (see :mod:`hfscan.harness.linecov`); a type's share is
the union of the lines its jobs ran over the runnable lines of its modeling modules. A type none of whose jobs built
its model (a missing package, a config or build failure) ran none of its modeling code: its share is reported apart
(:func:`not_built`), not counted in the median of the types that ran.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Iterable

from hfscan.records import CheckResult, Status


def share(coverages: list[dict]) -> float | None:
    """The share of modeling lines run by any of ``coverages`` (several jobs of one type: their union)."""
    lines: dict[str, int] = {}
    run: dict[str, set[int]] = {}
    for c in coverages:
        for name, f in (c.get("files") or {}).items():
            lines[name] = f.get("lines", 0)
            run.setdefault(name, set()).update(f.get("run", ()))
    total = sum(lines.values())
    return round(sum(len(v) for v in run.values()) / total, 4) if total else None


def line_coverage(results: Iterable[CheckResult]) -> dict[str, float]:
    """{model type: share of its modeling lines run}, for the types whose results were measured."""
    measured: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        cov = r.detail.get("coverage")
        if isinstance(cov, dict):
            measured[r.model_type].append(cov)
    shares = {mt: share(covs) for mt, covs in measured.items()}
    return {mt: s for mt, s in sorted(shares.items(), key=lambda kv: (kv[1] if kv[1] is not None else 2, kv[0]))
            if s is not None}


def line_coverage_through(results: Iterable[CheckResult], order: list[str], last: str) -> dict[str, float]:
    """{model type: share} as it stood after check ``last``: a job's results carry the coverage measured so far, in
    the registry's ``order``, so each job counts its result latest in that order at or before ``last`` (one
    ``smoke,consistency`` sweep gives the smoke checks' share too)."""
    limit = order.index(last)
    best: dict[tuple[str, str], tuple[int, dict]] = {}
    for r in results:
        cov = r.detail.get("coverage")
        if not isinstance(cov, dict) or r.check not in order:
            continue
        i = order.index(r.check)
        key = (r.model_type, r.model_class)
        if i <= limit and (key not in best or i > best[key][0]):
            best[key] = (i, cov)
    measured: dict[str, list[dict]] = defaultdict(list)
    for (mt, _), (_, cov) in best.items():
        measured[mt].append(cov)
    return {mt: s for mt, s in ((mt, share(c)) for mt, c in measured.items()) if s is not None}


def not_built(results: Iterable[CheckResult]) -> dict[str, str]:
    """{model type: why} for the types whose build result never passed in any job (the build check's message:
    ``needs timm (...)``, the config's or the constructor's error)."""
    built: set[str] = set()
    why: dict[str, str] = {}
    for r in results:
        if r.check != "build":
            continue
        if r.status in (Status.PASSED, Status.PARTIAL):
            built.add(r.model_type)
        else:
            why.setdefault(r.model_type, (r.message or r.status.value).split(" (")[0][:80])
    return {mt: w for mt, w in why.items() if mt not in built}


def summary_line(coverage: dict[str, float], unbuilt: dict[str, str] | None = None) -> str | None:
    """``modeling-code line coverage: median 72.1% over 24 types (lowest: a 12.0%, ...)``, or None when unmeasured.
    With ``unbuilt`` (:func:`not_built`), the median is over the types built, and those not built are counted apart,
    by reason, with the median over every measured type beside."""
    if not coverage:
        return None
    unbuilt = {mt: w for mt, w in (unbuilt or {}).items() if mt in coverage}
    ran = {mt: s for mt, s in coverage.items() if mt not in unbuilt}
    if not ran:
        return f"modeling-code line coverage: no measured type was built ({len(unbuilt)} measured)"
    lowest = ", ".join(f"{mt} {s:.0%}" for mt, s in list(ran.items())[:3])
    line = (f"modeling-code line coverage: median {statistics.median(ran.values()):.1%} over {len(ran)} "
            f"types{' built' if unbuilt else ''} (lowest: {lowest})")
    if unbuilt:
        reasons = defaultdict(int)
        for w in unbuilt.values():
            reasons[w] += 1
        why = ", ".join(f"{w}: {n}" for w, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
        line += (f"; {len(unbuilt)} measured types not built, not counted ({why}); with them: median "
                 f"{statistics.median(coverage.values()):.1%} over {len(coverage)}")
    return line


def histogram(coverage: dict[str, float], buckets: int = 10) -> list[dict]:
    """Types per coverage bucket: [{"low": 0.0, "high": 0.1, "count": n}, ...]."""
    counts = [0] * buckets
    for s in coverage.values():
        counts[min(buckets - 1, int(s * buckets))] += 1
    return [{"low": i / buckets, "high": (i + 1) / buckets, "count": c} for i, c in enumerate(counts)]
