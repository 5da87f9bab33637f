"""Terminal view of :mod:`hfscan.reports.gaps`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from hfscan.reports.gaps import Gaps


def print_gaps(gaps: Gaps) -> None:
    c = Console(soft_wrap=True, highlight=False)
    scope = "model types" if gaps.include_subconfigs else "top-level model types"
    n = len(gaps.model_types)
    if not n:
        c.print(f"no gaps: all {gaps.considered} {scope} are classified (transformers {gaps.transformers_version})")
        return
    c.print(
        f"[bold]{n} of {gaps.considered} {scope} ({gaps.fraction:.1%}) have gaps[/bold], "
        f"in {len(gaps.groups)} group(s) · transformers {gaps.transformers_version}"
    )
    if gaps.coverage:
        c.print("coverage: " + " · ".join(f"{cat} {k}" for cat, k in gaps.coverage.items()))
    for i, g in enumerate(gaps.groups, 1):
        traits = ", ".join(g.traits) or "(no deciding trait found)"
        c.print(f"\n[bold]{i}. {g.kind}[/bold] ({len(g.model_types)}): {escape(g.reason)}")
        if g.kind in ("unclassified", "ambiguous"):
            c.print(f"   traits: {traits}")
        c.print(f"   types:  {', '.join(g.model_types)}")


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
    from hfscan.harness.records import coverage_by_model_type
    from hfscan.reports.gaps import build_gaps, coverage_gaps, failure_gaps
    from hfscan.scanner.discover import discover

    from hfscan.streams import stdout_to_stderr

    with stdout_to_stderr():
        inventory = discover()
        classified = classify_all(inventory)
    considered = {r.model_type for r in inventory if include_subconfigs or not r.is_subconfig}
    results = [r for r in latest_results(store) if r.model_type in considered]
    coverage = coverage_by_model_type(results)
    gaps = build_gaps(inventory, classified, include_subconfigs=include_subconfigs,
                      extra=[*failure_gaps(results), *coverage_gaps(results, coverage)],
                      coverage=coverage if results else None)
    if fmt == "json":
        print(json.dumps(gaps.to_json(), indent=2))
    else:
        print_gaps(gaps)
    return 1 if gaps.model_types else 0
