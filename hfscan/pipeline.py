"""Wires the stages together for `hfscan run`: discover -> classify -> plan -> run -> store.

This is the only module that imports several stages.  The CLI builds a
:class:`RunRequest`, calls :func:`run_sweep` and turns the summary's
``exit_code`` into its exit status.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import traceback
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from hfscan import __version__
from hfscan.cache.store import Store, now
from hfscan.classifiers import Classification, classify_all
from hfscan.harness.devices import resolve_device
from hfscan.harness.keys import DEFAULT_JOB_FN
from hfscan.harness.records import CHECKS, FAILING, CheckResult, Job, RunInfo, Status
from hfscan.harness.runner import Runner, RunnerOptions, RunOutcome
from hfscan.harness.selection import Selection, select
from hfscan.harness.shrink.ruleset import rules as shrink_rules
from hfscan.hubsync import CHECKPOINT_JOB_FN, checkpoint_jobs, usage_tiers
from hfscan.paths import default_store_path
from hfscan.scanner.discover import discover
from hfscan.scanner.records import Inventory

#: Exit status of a sweep stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class RunRequest:
    """What `hfscan run` was asked to do."""

    model_types: tuple[str, ...] = ()
    priority: str = "high"
    family: str | None = None
    tasks: str = "default"  # "default": the family's representative head; "all": every mapped class
    checks: tuple[str, ...] = CHECKS
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout_s: float = 120.0
    device: str = "auto"
    dtype: str = "float32"
    fresh: bool = False
    store: str | None = None
    mem_cap_mb: float | None = None
    overrides: str | None = None  # the user's overrides file, merged over the shipped one
    job_fn: str = DEFAULT_JOB_FN
    source: str = "config"  # "config": random weights; "checkpoint": the pinned tiny checkpoint `hub sync` stored
    download: bool = False  # fetch missing checkpoints into the Hugging Face cache first (source "checkpoint")


@dataclass(frozen=True)
class RunSummary:
    run: RunInfo
    selection: Selection
    jobs: tuple[Job, ...]
    results: tuple[CheckResult, ...]
    families: dict[str, str | None]
    outcome: RunOutcome

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status in FAILING]

    @property
    def exit_code(self) -> int:
        if self.outcome.interrupted:
            return EXIT_INTERRUPTED
        return 1 if self.failed else 0


def plan(
    inventory: Inventory, selection: Selection, classifications: dict[str, Classification], request: RunRequest, device: str
) -> tuple[list[Job], list[CheckResult]]:
    """Jobs for every selected model type, and a result for each one that could not be planned."""
    from hfscan.harness.overrides import load_overrides
    from hfscan.harness.smoke import plan_jobs

    overrides = load_overrides(request.overrides, inventory.model_types)
    jobs: list[Job] = []
    unplanned: list[CheckResult] = []
    for mt in selection.model_types:
        c = classifications.get(mt)
        family = c.family if c else None
        try:
            planned = plan_jobs(
                inventory.get(mt), template=c.template if c else None, tasks=request.tasks,
                checks=request.checks, device=device, dtype=request.dtype, timeout_s=request.timeout_s,
                overrides=overrides,
            )
        except Exception as exc:  # a planning bug must not end the sweep: record it for this type
            unplanned += [
                CheckResult(mt, check, Status.FAILED, family=family, stage="plan", error_type=type(exc).__name__,
                            message=str(exc), traceback=traceback.format_exc())
                for check in request.checks
            ]
            continue
        if not planned:
            unplanned += [
                CheckResult(mt, check, Status.SKIPPED, family=family, message="no model class to test: in no model mapping")
                for check in request.checks
            ]
        jobs += [replace(j, family=j.family or family) for j in planned]
    return jobs, unplanned


def longest_first(jobs: list[Job], store: Store) -> list[Job]:
    """Jobs by how long they took in the latest run, longest (and never-run) first, so no long job ends a sweep alone."""
    latest = store.latest_run()
    took: dict[tuple[str, str], float] = defaultdict(float)
    for r in store.results(latest.id) if latest and latest.id is not None else ():
        took[(r.model_type, r.model_class)] += r.duration_s
    return sorted(jobs, key=lambda j: -took.get((j.model_type, j.model_class), math.inf))


def run_sweep(
    request: RunRequest,
    on_start: Callable[[int], None] = lambda total: None,
    on_job: Callable[[Job, list[CheckResult]], None] = lambda job, results: None,
) -> RunSummary:
    """Run a sweep and store every result as it finishes; ``on_start(total jobs)`` then ``on_job`` per job."""
    shrink_rules()  # validated before any job: a broken rules file is one line and exit status 2, not N failures
    inventory = discover()
    classifications = classify_all(inventory)
    families = {mt: c.family for mt, c in classifications.items()}
    selection = select(
        inventory, request.model_types, request.priority, request.family,
        families={mt: c.path for mt, c in classifications.items()},
        tiers=usage_tiers(request.store or default_store_path()),  # None (shipped tiers) until `hub sync` stored usage
    )
    device = resolve_device(request.device)
    jobs, unplanned = plan(inventory, selection, classifications, request, device.kind)
    job_fn = request.job_fn
    if request.source == "checkpoint":
        jobs, skipped = checkpoint_jobs(jobs, request.store or default_store_path(), request.download)
        unplanned += skipped
        job_fn = CHECKPOINT_JOB_FN if job_fn == DEFAULT_JOB_FN else job_fn
    runner = Runner(RunnerOptions(jobs=request.jobs, job_fn=job_fn, mem_cap_mb=request.mem_cap_mb))
    with Store(request.store or default_store_path()) as store:
        jobs = longest_first(jobs, store)  # before this run begins: the latest run is the previous one
        run = store.begin_run(RunInfo(
            id=None, started_at=now(), hfscan_version=__version__, python_version=platform.python_version(),
            torch_version=runner.torch_version, transformers_version=runner.tf_version, device=device.kind,
            device_name=device.name, dtype=request.dtype, args=json.dumps(asdict(request), sort_keys=True),
        ))
        assert run.id is not None
        for r in unplanned:
            store.add_result(run.id, r)
        on_start(len(jobs))
        try:
            outcome = runner.run(
                jobs, on_result=lambda r: store.add_result(run.id, r), on_job=on_job,
                lookup=None if request.fresh else store.lookup_many,
            )
        except BaseException:
            store.finish_run(run.id, "interrupted")
            raise
        store.finish_run(run.id, "interrupted" if outcome.interrupted else "finished")
        run = store.run(run.id)
    return RunSummary(run, selection, tuple(jobs), (*unplanned, *outcome.results), families, outcome)


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_command(request: RunRequest) -> int:
    """`hfscan run`: a progress bar while the sweep runs, then the summary; returns the exit status."""
    from hfscan.reports.run_view import RunProgress, print_summary

    progress = RunProgress()
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)  # `kill` stops as cleanly as Ctrl-C
    try:
        summary = run_sweep(request, on_start=progress.start, on_job=progress.on_job)
    finally:
        signal.signal(signal.SIGTERM, previous)
        progress.stop()
    notes = summary.selection.missing_lines()
    o = summary.outcome
    notes.append(f"run {summary.run.id}: {o.ran_jobs} jobs run, {o.reused_jobs} reused from the store ({request.store or default_store_path()})")
    if o.interrupted:
        left = sum(1 for r in summary.results if r.status is Status.INTERRUPTED)
        notes.append(f"interrupted: finished results are kept, {left} checks left; run the same command again to resume")
    from hfscan.reports.linecov import line_coverage, summary_line

    coverage_note = summary_line(line_coverage(summary.results))
    if coverage_note:
        notes.append(coverage_note)
    print_summary(list(summary.results), summary.families, notes)
    return summary.exit_code
