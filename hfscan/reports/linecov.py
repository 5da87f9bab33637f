"""Modeling-code line coverage per model type, from the results of a `hfscan run --coverage` sweep.

Each result of a measured job carries ``details["coverage"]`` (see :mod:`hfscan.harness.linecov`); a type's share is
the union of the lines its jobs ran over the runnable lines of its modeling modules.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Iterable

from hfscan.harness.linecov import share
from hfscan.harness.records import CheckResult


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


def summary_line(coverage: dict[str, float]) -> str | None:
    """``modeling-code line coverage: median 72.1% over 24 types (lowest: a 12.0%, ...)``, or None when unmeasured."""
    if not coverage:
        return None
    lowest = ", ".join(f"{mt} {s:.0%}" for mt, s in list(coverage.items())[:3])
    return (f"modeling-code line coverage: median {statistics.median(coverage.values()):.1%} over {len(coverage)} "
            f"types (lowest: {lowest})")


def histogram(coverage: dict[str, float], buckets: int = 10) -> list[dict]:
    """Types per coverage bucket: [{"low": 0.0, "high": 0.1, "count": n}, ...]."""
    counts = [0] * buckets
    for s in coverage.values():
        counts[min(buckets - 1, int(s * buckets))] += 1
    return [{"low": i / buckets, "high": (i + 1) / buckets, "count": c} for i, c in enumerate(counts)]
