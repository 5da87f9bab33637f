"""Terminal view of :mod:`hfscan.reports.gaps`."""

from __future__ import annotations

from hfscan.reports.gaps import Gaps
from hfscan.terminal import console, styled


def print_gaps(gaps: Gaps) -> None:
    c = console(soft_wrap=True)
    scope = "model types" if gaps.include_subconfigs else "top-level model types"
    n = len(gaps.model_types)
    if not n:
        c.print(f"no gaps: all {gaps.considered} {scope} are classified (transformers {gaps.transformers_version})")
        return
    c.print(styled((f"{n} of {gaps.considered} {scope} ({gaps.fraction:.1%}) have gaps", "bold"),
                   f", in {len(gaps.groups)} group(s) · transformers {gaps.transformers_version}"))
    if gaps.coverage:
        c.print("coverage: " + " · ".join(f"{cat} {k}" for cat, k in gaps.coverage.items()))
    for i, g in enumerate(gaps.groups, 1):
        traits = ", ".join(g.traits) or "(no deciding trait found)"
        c.print(styled(f"\n", (f"{i}. {g.kind}", "bold"), f" ({len(g.model_types)}): {g.reason}"))
        if g.kind in ("unclassified", "ambiguous"):
            c.print(f"   traits: {traits}")
        c.print(f"   types:  {', '.join(g.model_types)}")


def print_capture_causes(causes: list, limit: int = 20) -> None:
    """Graph capture causes ranked by how many architectures each blocks, with the model lines they stop at."""
    if not causes:
        return
    c = console(soft_wrap=True)
    c.print(styled("\n", (f"graph capture: {len(causes)} cause(s), the one blocking most architectures first", "bold")))
    for i, cause in enumerate(causes[:limit], 1):
        c.print(f"{i}. {cause.check} {cause.kind}: {cause.cause}: {len(cause.model_types)} architecture(s)")
        c.print(f"   types:  {', '.join(cause.model_types)}")
        if cause.frames:
            c.print(f"   at:     {', '.join(cause.frames[:6])}{' ...' if len(cause.frames) > 6 else ''}")
    if len(causes) > limit:
        c.print(f"... {len(causes) - limit} more in --format json")


def print_capture_rates(rates: dict[str, dict[str, dict]]) -> None:
    """Capture pass rates per family (passed/ran of each capture check that ran), then all families together."""
    if not rates:
        return
    from hfscan.reports.capture import CAPTURE_CHECKS

    checks = [c for c in CAPTURE_CHECKS if c in rates]
    families = sorted({f for fams in rates.values() for f in fams})
    c = console(soft_wrap=True)
    c.print(styled("\n", ("graph capture pass rates per family (passed/ran)", "bold")))
    c.print(f"  {'family':<28}" + "".join(f"{check:>12}" for check in checks))
    for fam in [*families, None]:
        cells = [rates[check].get(fam) if fam else _total(rates[check]) for check in checks]
        c.print(f"  {fam or 'all':<28}" + "".join(f"{_cell(x):>12}" for x in cells))


def _total(fams: dict[str, dict]) -> dict:
    return {"passed": sum(x["passed"] for x in fams.values()), "ran": sum(x["ran"] for x in fams.values())}


def _cell(x: dict | None) -> str:
    return f"{x['passed']}/{x['ran']}" if x else "-"


def print_lowest_coverage(coverage: dict[str, float], limit: int = 20) -> None:
    """The model types whose checks ran the least of their modeling code, lowest first (`run --coverage`)."""
    if not coverage:
        return
    from hfscan.reports.linecov import summary_line

    c = console(soft_wrap=True)
    c.print(styled("\n", (summary_line(coverage) or "", "bold")))
    for mt, s in list(coverage.items())[:limit]:
        c.print(f"  {s:6.1%}  {mt}")


def latest_results(store_path: str | None) -> list:
    """The results of the newest run in the store; none when there is no store yet."""
    from pathlib import Path

    from hfscan.cache.store import Store
    from hfscan.paths import default_store_path

    path = Path(store_path) if store_path else default_store_path()
    if not path.exists():
        return []
    with Store(path) as store:
        run = store.latest_run()
        return store.results(run.id) if run and run.id is not None else []


def gaps_command(fmt: str, include_subconfigs: bool = False, store: str | None = None) -> int:
    """`hfscan gaps`: print the gaps (classification, then the latest run's failures); exit 0 when none, else 1."""
    import json

    from hfscan.classifiers import classify_all
    from hfscan.records import coverage_by_model_type
    from hfscan.reports.capture import capture_causes, capture_rates
    from hfscan.reports.gaps import build_gaps, coverage_gaps, declared_gaps, failure_gaps
    from hfscan.reports.linecov import line_coverage
    from hfscan.scanner.discover import discover

    from hfscan.streams import stdout_to_stderr

    with stdout_to_stderr():
        inventory = discover()
        classified = classify_all(inventory)
    considered = {r.model_type for r in inventory if include_subconfigs or not r.is_subconfig}
    results = [r for r in latest_results(store) if r.model_type in considered]
    coverage = coverage_by_model_type(results)
    gaps = build_gaps(inventory, classified, include_subconfigs=include_subconfigs,
                      extra=[*failure_gaps(results), *coverage_gaps(results, coverage), *declared_gaps(results)],
                      coverage=coverage if results else None)
    causes = capture_causes(results)
    rates = capture_rates(results, {mt: c.family for mt, c in classified.items()})
    lines = line_coverage(results)
    if fmt == "json":
        print(json.dumps({**gaps.to_json(), "capture_causes": [c.to_json() for c in causes], "capture_rates": rates,
                          "line_coverage": [{"model_type": mt, "share": s} for mt, s in lines.items()]}, indent=2))
    else:
        print_gaps(gaps)
        print_capture_causes(causes)
        print_capture_rates(rates)
        print_lowest_coverage(lines)
    return 1 if gaps.model_types else 0
