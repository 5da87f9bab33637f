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
    for i, g in enumerate(gaps.groups, 1):
        traits = ", ".join(g.traits) or "(no deciding trait found)"
        c.print(f"\n[bold]{i}. {g.kind}[/bold] ({len(g.model_types)}): {escape(g.reason)}")
        c.print(f"   traits: {traits}")
        c.print(f"   types:  {', '.join(g.model_types)}")


def gaps_command(fmt: str, include_subconfigs: bool = False) -> int:
    """`hfscan gaps`: print the gaps; the exit status is 0 when there are none, 1 otherwise."""
    import json

    from hfscan.classifiers import classify_all
    from hfscan.reports.gaps import build_gaps
    from hfscan.scanner.discover import discover

    inventory = discover()
    gaps = build_gaps(inventory, classify_all(inventory), include_subconfigs=include_subconfigs)
    if fmt == "json":
        print(json.dumps(gaps.to_json(), indent=2))
    else:
        print_gaps(gaps)
    return 1 if gaps.model_types else 0
