"""The terminal view of `hfscan run`: a progress bar with counts and ETA, then a summary by family."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from hfscan.records import FAILING, CheckResult, Coverage, Job, coverage_by_model_type, coverage_of
from hfscan.terminal import console as plain_console, styled


class RunProgress:
    """A progress bar over jobs; the description counts jobs by coverage category."""

    def __init__(self, console: Console | None = None):
        self.console = console or plain_console(stderr=True)
        self.counts: Counter[Coverage] = Counter()
        self.progress = Progress(
            TextColumn("[bold]hfscan run"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = self.progress.add_task("", total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def on_job(self, job: Job, results: list[CheckResult]) -> None:
        self.counts[coverage_of([r.status for r in results], any(r.override_applied for r in results))] += 1
        text = " · ".join(f"{c} {n}" for c, n in sorted(self.counts.items(), key=lambda kv: list(Coverage).index(kv[0])))
        self.progress.update(self.task, advance=1, description=text)


def summary_table(results: Iterable[CheckResult], families: dict[str, str | None]) -> Table:
    """Model types per family, counted by coverage category (a final row sums them)."""
    per_type = coverage_by_model_type(results)
    rows: dict[str, Counter[Coverage]] = defaultdict(Counter)
    for mt, cov in per_type.items():
        rows[families.get(mt) or "(unclassified)"][cov] += 1
    cols = [c for c in Coverage if any(row[c] for row in rows.values())]
    table = Table(title="Summary by family (model types)")
    table.add_column("family", no_wrap=True)
    table.add_column("total", justify="right")
    for c in cols:
        table.add_column(str(c).replace(" ", "\n"), justify="right")
    total: Counter[Coverage] = Counter()
    for family in sorted(rows):
        total.update(rows[family])
        table.add_row(family, str(sum(rows[family].values())), *(str(rows[family][c] or "") for c in cols))
    table.add_section()
    table.add_row("all", str(sum(total.values())), *(str(total[c]) for c in cols), style="bold")
    return table


def print_summary(
    results: list[CheckResult], families: dict[str, str | None], notes: list[str], console: Console | None = None
) -> None:
    """The family table, then failures (one line each) and notes (missing tier entries, reuse)."""
    console = console or plain_console()
    console.print(summary_table(results, families))
    failing = [r for r in results if r.status in FAILING]
    for r in failing[:50]:
        first_line = (r.message or "").strip().split("\n")[0][:160]
        console.print(styled((str(r.status), "red"), f" {r.model_type} {r.model_class} {r.check} at {r.stage}: {r.error_type}: {first_line}"))
    if len(failing) > 50:
        console.print(f"... and {len(failing) - 50} more failures (hfscan gaps groups them)")
    for note in notes:
        console.print(note)
