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
import time
import traceback
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from hfscan import __version__
from hfscan.cache.store import Store, now
from hfscan.errors import StoreError
from hfscan.classifiers import Classification, classify_all
from hfscan.harness.devices import default_backend, resolve_device
from hfscan.harness.keys import DEFAULT_JOB_FN
from hfscan.records import CHECKS, FAILING, NOT_APPLICABLE_DETAIL, CheckResult, Job, RunInfo, Status
from hfscan.harness.runner import Runner, RunnerOptions, RunOutcome
from hfscan.harness.selection import Selection, select
from hfscan.harness.shrink.ruleset import rules as shrink_rules
from hfscan.hubsync import CHECKPOINT_JOB_FN, checkpoint_jobs, usage_tiers
from hfscan.paths import cache_dir, default_store_path
from hfscan.scanner.discover import discover
from hfscan.scanner.records import Inventory
from hfscan.harness.shard import ShardSpec
from hfscan.sharding import balance_run, plan_json, print_plan, shard_args, split_for, take_shard

#: Exit status of a sweep stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Seconds between a running sweep's heartbeats in the store (at a result's commit).
HEARTBEAT_S = 60.0


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
    reuse_failures: bool = False  # keep stored crashed / timeout / oom results instead of retrying them
    store: str | None = None
    mem_cap_mb: float | None = None
    overrides: str | None = None  # the user's overrides file, merged over the shipped one
    job_fn: str = DEFAULT_JOB_FN
    source: str = "config"  # "config": random weights; "checkpoint": the pinned tiny checkpoint `hub sync` stored
    download: bool = False  # fetch missing checkpoints into the Hugging Face cache first (source "checkpoint")
    shard: tuple[int, int] | None = None  # (K, N): run only shard K of N (see hfscan.sharding)
    label: str = ""  # stored with the run (`hfscan matrix` tags its runs)
    missing_ok: bool = False  # a named type this transformers lacks is noted as missing, not a usage error
    compile_backend: str | None = None  # `compile`'s backend (None: aot_eager on CPU, inductor on CUDA)
    export_strict: bool = False  # torch.export strict (TorchDynamo) instead of non-strict in the export checks


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
    cache = plan_cache()
    backend = request.compile_backend or default_backend(device)
    jobs: list[Job] = []
    unplanned: list[CheckResult] = []
    for mt in selection.model_types:
        c = classifications.get(mt)
        family = c.family if c else None
        record, override = inventory.get(mt), overrides.get(mt)
        args = dict(template=c.template if c else None, tasks=request.tasks, checks=request.checks, device=device,
                    dtype=request.dtype, timeout_s=request.timeout_s)
        key = cache.entry_key(record, override=override.to_json() if override else None, **args)
        try:
            planned = cache.jobs(key, lambda: plan_jobs(record, overrides=overrides, **args))
        except Exception as exc:  # a planning bug must not end the sweep: record it for this type
            unplanned += [
                CheckResult(mt, check, Status.FAILED, family=family, stage="plan", error_type=type(exc).__name__,
                            message=str(exc), traceback=traceback.format_exc())
                for check in request.checks
            ]
            continue
        if not planned:
            unplanned += [
                CheckResult(mt, check, Status.SKIPPED, family=family, details=json.dumps({NOT_APPLICABLE_DETAIL: True}),
                            message="no model class to test: in no model mapping (not applicable)")
                for check in request.checks
            ]
        jobs += [replace(j, family=j.family or family, compile_backend=backend, export_strict=request.export_strict)
                 for j in planned]
    cache.save()
    return jobs, unplanned


def override_entries(jobs: list[Job], user_file: str | None) -> list[tuple[str, str, str, str, str]]:
    """(hash, model type, reason, source file, entry JSON) of every override the jobs apply, for the store.

    An entry hfscan does not ship comes from the user's file (its path, absolute, is the source)."""
    from hfscan.harness.overrides import Override, load_overrides

    shipped = {o.hash for o in load_overrides().values()}
    out = {}
    for job in jobs:
        if job.override and job.override_hash and job.override_hash not in out:
            entry = Override.from_json(job.override)
            source = "hfscan/data/overrides.toml" if job.override_hash in shipped or not user_file else os.path.abspath(user_file)
            out[job.override_hash] = (job.override_hash, entry.model_type, entry.reason, source, job.override)
    return list(out.values())


def plan_cache() -> "PlanCache":
    """The plan cache of this transformers installation and this harness (none when ``HFSCAN_NO_PLAN_CACHE``)."""
    from hfscan.harness.keys import code_digest
    from hfscan.harness.plancache import PlanCache
    from hfscan.scanner.discover import installation_key

    if os.environ.get("HFSCAN_NO_PLAN_CACHE"):
        return PlanCache(None)
    return PlanCache(cache_dir("plan") / f"{installation_key()}-{code_digest()}.json")


def longest_first(jobs: list[Job], store: Store) -> list[Job]:
    """Jobs by how long they took in the latest run, longest (and never-run) first, so no long job ends a sweep alone."""
    latest = store.latest_run()
    took: dict[tuple[str, str], float] = defaultdict(float)
    for r in store.results(latest.id) if latest and latest.id is not None else ():
        took[(r.model_type, r.model_class)] += r.duration_s
    return sorted(jobs, key=lambda j: -took.get((j.model_type, j.model_class), math.inf))


def selected(request: RunRequest) -> tuple[Inventory, dict[str, Classification], Selection]:
    """The inventory, every type's classification, and the model types the request selects."""
    inventory = discover()
    classifications = classify_all(inventory)
    selection = select(
        inventory, request.model_types, request.priority, request.family,
        families={mt: c.path for mt, c in classifications.items()},
        tiers=usage_tiers(request.store or default_store_path()),  # None (shipped tiers) until `hub sync` stored usage
        missing_ok=request.missing_ok,
    )
    return inventory, classifications, selection


def run_sweep(
    request: RunRequest,
    on_start: Callable[[int], None] = lambda total: None,
    on_job: Callable[[Job, list[CheckResult]], None] = lambda job, results: None,
) -> RunSummary:
    """Run a sweep and store every result as it finishes; ``on_start(total jobs)`` then ``on_job`` per job."""
    shrink_rules()  # validated before any job: a broken rules file is one line and exit status 2, not N failures
    inventory, classifications, selection = selected(request)
    families = {mt: c.family for mt, c in classifications.items()}
    device = resolve_device(request.device)
    jobs, unplanned = plan(inventory, selection, classifications, request, device.kind)
    job_fn = request.job_fn
    if request.source == "checkpoint":
        jobs, skipped = checkpoint_jobs(jobs, request.store or default_store_path(), request.download)
        unplanned += skipped
        job_fn = CHECKPOINT_JOB_FN if job_fn == DEFAULT_JOB_FN else job_fn
    runner = Runner(RunnerOptions(jobs=request.jobs, job_fn=job_fn, mem_cap_mb=request.mem_cap_mb,
                                  reuse_failures=request.reuse_failures, device=device.kind))
    with Store(request.store or default_store_path()) as store:
        extra: dict = {}
        if request.shard:
            spec = ShardSpec(*request.shard)
            the_split = split_for(store, selection.model_types, families, spec.count)
            jobs, unplanned = take_shard(spec, the_split, jobs, unplanned)
            extra = shard_args(spec, the_split, families)
        jobs = longest_first(jobs, store)  # before this run begins: the latest run is the previous one
        run = store.begin_run(RunInfo(
            id=None, started_at=now(), hfscan_version=__version__, python_version=platform.python_version(),
            torch_version=runner.torch_version, transformers_version=runner.tf_version, device=device.kind,
            device_name=device.name, dtype=request.dtype, args=json.dumps({**asdict(request), **extra}, sort_keys=True),
            label=request.label or (f"shard {request.shard[0]}/{request.shard[1]}" if request.shard else ""),
        ), planned=jobs, subconfigs=[mt for mt in selection.model_types if inventory.get(mt).is_subconfig])
        assert run.id is not None
        store.put_overrides(override_entries(jobs, request.overrides))
        writer = ResultWriter(store, run.id)
        writer.pending += unplanned
        on_start(len(jobs))
        beat = [time.monotonic()]

        def on_result(r: CheckResult) -> None:
            writer.add(r)
            if time.monotonic() - beat[0] > HEARTBEAT_S:
                store.heartbeat(run.id)
                beat[0] = time.monotonic()

        try:
            outcome = runner.run(jobs, on_result=on_result, on_job=on_job,
                                 lookup=None if request.fresh else store.lookup_many)
        except BaseException:
            try:
                writer.flush()
                store.finish_run(run.id, "interrupted")
            except StoreError:
                pass  # the store takes no writes (read-only, disk full): the first error says so
            raise
        writer.flush()
        store.finish_run(run.id, "interrupted" if outcome.interrupted else "finished")
        run = store.run(run.id)
    return RunSummary(run, selection, tuple(jobs), (*unplanned, *outcome.results), families, outcome)


class ResultWriter:
    """Commits each result as it finishes; results reused from the store (and unplanned ones), which come all
    at once before any worker starts, are committed together in one transaction before the next fresh one."""

    def __init__(self, store: Store, run_id: int):
        self.store, self.run_id = store, run_id
        self.pending: list[CheckResult] = []

    def add(self, result: CheckResult) -> None:
        if result.reused:
            self.pending.append(result)
            return
        self.flush()
        self.store.add_result(self.run_id, result)

    def flush(self) -> None:
        if self.pending:
            self.store.add_results(self.run_id, self.pending)
            self.pending = []


class _StopOnce:
    """SIGINT / SIGTERM handler: the first signal stops the sweep (KeyboardInterrupt); later ones are ignored,
    so a second Ctrl-C cannot cut short the storing of the unfinished checks as interrupted."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        raise KeyboardInterrupt


def resume_command(argv: list[str]) -> str:
    """The command that resumes an interrupted run: the same one, less ``--fresh`` (which would rerun everything)."""
    import shlex

    return shlex.join(["hfscan", *(a for a in argv if a != "--fresh")])


def run_command(request: RunRequest, argv: list[str] | None = None) -> int:
    """`hfscan run`: a progress bar while the sweep runs, then the summary; returns the exit status."""
    from hfscan.reports.run_view import RunProgress, print_summary

    progress = RunProgress()
    handler = _StopOnce()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}  # `kill` stops as cleanly as Ctrl-C
    try:
        summary = run_sweep(request, on_start=progress.start, on_job=progress.on_job)
    finally:
        progress.stop()
        for sig, old in previous.items():  # once stopping, a late Ctrl-C must not break the exit with a traceback
            signal.signal(sig, signal.SIG_IGN if handler.stopping else old)
    notes = summary.selection.missing_lines()
    if request.shard:
        mine = len({r.model_type for r in summary.results})
        notes.append(f"shard {request.shard[0]}/{request.shard[1]}: {mine} of {len(summary.selection.model_types)} selected model types")
    o = summary.outcome
    notes.append(f"run {summary.run.id}: {o.ran_jobs} jobs run, {o.reused_jobs} reused from the store ({request.store or default_store_path()})")
    if o.interrupted:
        left = sum(1 for r in summary.results if r.status is Status.INTERRUPTED)
        again = resume_command(argv) if argv is not None else "the same command without --fresh"
        notes.append(f"interrupted: finished results are kept, {left} checks left; to resume: {again}")
    from hfscan.reports.linecov import line_coverage, summary_line

    coverage_note = summary_line(line_coverage(summary.results))
    if coverage_note:
        notes.append(coverage_note)
    print_summary(list(summary.results), summary.families, notes)
    return summary.exit_code


def plan_command(request: RunRequest, fmt: str) -> int:
    """`hfscan run --shard K/N --plan`: print the split of the selection into N shards; nothing runs."""
    assert request.shard is not None
    _, classifications, selection = selected(request)
    families = {mt: c.family for mt, c in classifications.items()}
    spec = ShardSpec(*request.shard)
    with Store(request.store or default_store_path()) as store:
        the_split = split_for(store, selection.model_types, families, spec.count)
        basis = balance_run(store)
    print_plan(plan_json(spec, the_split, basis), fmt)
    return 0
