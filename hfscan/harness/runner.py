"""Run jobs in isolated, long-lived workers: timeouts, a memory cap, crashes, Ctrl-C, reuse.

The runner never touches the store: it takes callbacks.  ``lookup(keys)`` returns
stored results by key (reused when every check of a job has one), ``on_result``
receives every result as it finishes (reused ones with ``reused=True``) and
``on_job`` each job's results once the job is over.

A worker that segfaults, hangs past the job's timeout or grows past the memory
cap is killed and replaced; the check it was running is recorded as
``crashed`` / ``timeout`` / ``oom`` with that check as the stage, and the job's
remaining checks as ``skipped`` with the reason.  On Ctrl-C the workers are
killed, every check not finished is reported as ``interrupted`` and the
outcome says so.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Callable, Sequence

from hfscan.harness.keys import DEFAULT_JOB_FN, code_digest, result_key
from hfscan.records import CheckResult, Job, Status
from hfscan.harness.worker import PRELOAD, load_job_fn, proc_status_mb, worker_main
from hfscan.scanner.discover import installed_versions

OnResult = Callable[[CheckResult], None]
OnJob = Callable[[Job, list[CheckResult]], None]
Lookup = Callable[[list[str]], dict[str, CheckResult]]


def default_mem_cap_mb(jobs: int) -> float:
    """A worker's memory cap: a fair share of physical memory, at most 4 GB (tiny models need far less)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return 4096.0
    return float(min(4096, max(1024, int(total * 0.8 / max(jobs, 1)))))


@dataclass(frozen=True)
class RunnerOptions:
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    job_fn: str = DEFAULT_JOB_FN
    mem_cap_mb: float | None = None  # None: default_mem_cap_mb(jobs)
    recycle_fraction: float = 0.5  # a worker whose RSS after a job exceeds this share of the cap is replaced
    preload: tuple[str, ...] = PRELOAD
    poll_s: float = 0.05
    startup_timeout_s: float = 300.0
    reuse_failures: bool = False  # reuse stored crashed / timeout / oom results too (interrupted ones never)


#: Stored statuses a rerun runs again by default: what the sweep's conditions caused more than the model.
RETRIED = frozenset({Status.CRASHED, Status.TIMEOUT, Status.OOM, Status.INTERRUPTED})

@dataclass(frozen=True)
class RunOutcome:
    results: tuple[CheckResult, ...]
    interrupted: bool
    reused_jobs: int
    ran_jobs: int
    workers_started: int
    worker_peak_mb: tuple[float, ...]  # the largest RSS seen of each worker process


class _Slot:
    """One worker process and the job it is running."""

    def __init__(self, ctx, options: RunnerOptions):
        parent, child = ctx.Pipe()
        self.conn = parent
        self.proc = ctx.Process(target=worker_main, args=(child, options.job_fn, options.preload), daemon=True)
        self.proc.start()
        child.close()
        self.spawned = time.monotonic()
        self.ready = False
        self.retiring = False
        self.peak_mb = 0.0
        self.job: Job | None = None
        self.job_id = -1
        self.t0 = 0.0
        self.check = ""
        self.got: list[CheckResult] = []

    def assign(self, job_id: int, job: Job) -> None:
        self.job, self.job_id, self.got = job, job_id, []
        self.check = job.checks[0] if job.checks else ""
        self.t0 = time.monotonic()
        try:
            self.conn.send((job_id, job))
        except OSError:
            pass  # the worker just died: the liveness check records it

    def deadline(self, options: RunnerOptions) -> float:
        if not self.ready:
            return self.spawned + options.startup_timeout_s + (self.job.timeout_s if self.job else 0)
        return self.t0 + (self.job.timeout_s if self.job else 0)

    def rss_mb(self) -> float | None:
        rss = proc_status_mb(self.proc.pid, "VmRSS")
        if rss is not None:
            self.peak_mb = max(self.peak_mb, rss)
        return rss

    def kill(self) -> None:
        self.retiring = True  # never given another job, even while the process takes time to die
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def retire(self) -> None:
        """Ask the worker to exit after its job; the scheduler replaces it."""
        self.retiring = True
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass

    def stop(self) -> None:
        """Let the worker exit on its own, killing it if it does not within seconds."""
        self.retire()
        self.proc.join(5)
        self.kill()


def worker_context(options: RunnerOptions):
    """How workers start: forked from a server process that imported torch, transformers and the job function's
    module once (a replaced worker then starts in milliseconds instead of importing them again); spawned where
    there is no fork server.  Either way a worker is a fresh process of its own, and this process imports no
    torch.  The server starts with the first worker and keeps this process's environment of that moment."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([*options.preload, options.job_fn.partition(":")[0]])
    return ctx


def _signal_name(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            pass
    return f"exit code {exitcode}"


class Runner:
    """Schedules jobs over ``options.jobs`` workers."""

    def __init__(self, options: RunnerOptions | None = None):
        self.options = options or RunnerOptions()
        load_job_fn(self.options.job_fn)  # a bad path fails here, once, not in every worker
        self.mem_cap_mb = self.options.mem_cap_mb or default_mem_cap_mb(self.options.jobs)
        self.tf_version, self.torch_version = installed_versions()
        self.digest = code_digest(self.options.job_fn)

    def key(self, job: Job, check: str) -> str:
        return result_key(job, check, self.tf_version, self.torch_version, self.options.job_fn, self.digest)

    def reusable(self, result: CheckResult | None) -> bool:
        """Whether a stored result may stand for this run (a crash, timeout or oom is retried unless asked)."""
        if result is None or result.status is Status.INTERRUPTED:
            return False
        return self.options.reuse_failures or result.status not in RETRIED

    def run(
        self,
        jobs: Sequence[Job],
        on_result: OnResult = lambda r: None,
        on_job: OnJob = lambda j, rs: None,
        lookup: Lookup | None = None,
    ) -> RunOutcome:
        """Run (or reuse) every job; returns all results in the order they were reported."""
        self._all: list[CheckResult] = []
        self._on_result, self._on_job = on_result, on_job
        stored = lookup([self.key(j, c) for j in jobs for c in j.checks]) if lookup else {}
        todo: deque[tuple[int, Job]] = deque()
        reused = 0
        for i, job in enumerate(jobs):
            keys = [self.key(job, c) for c in job.checks]
            if job.checks and all(self.reusable(stored.get(k)) for k in keys):
                reused += 1
                for k in keys:
                    self._report(stored[k].with_(reused=True))
                self._on_job(job, [stored[k] for k in keys])
            else:
                todo.append((i, job))
        ran = len(todo)
        slots: list[_Slot] = []
        peaks: list[float] = []
        started = 0
        interrupted = False
        ctx = worker_context(self.options)
        try:
            while todo or any(s.job for s in slots):
                for s in [s for s in slots if s.job is None and not s.proc.is_alive()]:
                    slots.remove(s)
                    peaks.append(s.peak_mb)
                active = [s for s in slots if not s.retiring]
                busy_count = sum(1 for s in active if s.job)
                while todo and len(active) < min(self.options.jobs, len(todo) + busy_count):
                    active.append(_Slot(ctx, self.options))
                    slots.append(active[-1])
                    started += 1
                for s in active:
                    if s.job is None and todo:
                        s.assign(*todo.popleft())
                busy = [s for s in slots if s.job]
                wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=self.options.poll_s)
                for s in busy:
                    self._service(s)
        except KeyboardInterrupt:
            interrupted = True
            for s in slots:
                s.kill()
                if s.job:
                    self._end_job(s.job, s.got, Status.INTERRUPTED, "the sweep was interrupted", s.check)
                    s.job = None
            while todo:
                self._end_job(todo.popleft()[1], [], Status.INTERRUPTED, "the sweep was interrupted")
        finally:
            for s in slots:
                s.stop()
                peaks.append(s.peak_mb)
        return RunOutcome(tuple(self._all), interrupted, reused, ran, started, tuple(peaks))

    # -- one worker ---------------------------------------------------------
    def _service(self, s: _Slot) -> None:
        """Read what the worker said, then enforce its liveness, timeout and memory cap."""
        try:
            while s.job and s.conn.poll():
                self._handle(s, s.conn.recv())
        except (EOFError, OSError):
            pass  # the worker died; its sentinel tells below
        if s.job is None:
            return
        if not s.proc.is_alive():
            s.proc.join(1)
            name = _signal_name(s.proc.exitcode)
            if s.proc.exitcode == -signal.SIGKILL:  # not killed by us: the kernel's OOM killer, most likely
                self._kill_job(s, Status.OOM, name, "worker killed by SIGKILL (most likely the kernel's out-of-memory killer)")
            else:
                self._kill_job(s, Status.CRASHED, name, f"worker died ({name})")
            return
        rss = s.rss_mb()
        if rss is not None and rss > self.mem_cap_mb:
            self._kill_job(s, Status.OOM, "MemoryCapExceeded", f"worker memory {rss:.0f} MB exceeded the cap of {self.mem_cap_mb:.0f} MB")
        elif time.monotonic() > s.deadline(self.options):
            what = f"job exceeded its timeout of {s.job.timeout_s:g} s" if s.ready else "worker did not start in time"
            self._kill_job(s, Status.TIMEOUT, "Timeout", what)

    def _handle(self, s: _Slot, msg: tuple) -> None:
        kind = msg[0]
        if kind == "ready":
            s.ready = True
            s.t0 = time.monotonic()
        elif msg[1] != s.job_id or s.job is None:
            return  # a late message of a job that was already closed
        elif kind == "start":
            s.check = msg[2]
        elif kind == "result":
            r: CheckResult = msg[2]
            job = s.job
            r = r.with_(
                key=self.key(job, r.check), model_class=r.model_class or job.model_class, task=r.task or job.task,
                family=r.family or job.family, override_hash=r.override_hash or job.override_hash,
            )
            s.got.append(r)
            self._report(r)
        elif kind == "error":
            _, _, check, etype, message, tb = msg
            status = Status.OOM if etype == "MemoryError" else Status.FAILED
            r = self._row(s.job, check or s.check, status, stage=check or s.check, error_type=etype, message=message, traceback=tb)
            s.got.append(r)
            self._report(r)
        elif kind == "done":
            self._end_job(s.job, s.got, Status.SKIPPED, "not applicable: the job function ran no such check")
            s.job = None
            rss = s.rss_mb()
            if rss is not None and rss > self.mem_cap_mb * self.options.recycle_fraction:
                s.retire()

    def _kill_job(self, s: _Slot, status: Status, error_type: str, message: str) -> None:
        """Kill the worker (it is replaced on demand) and record what it was running."""
        assert s.job is not None
        s.kill()
        r = self._row(
            s.job, s.check, status, stage=s.check, error_type=error_type, message=message,
            duration_s=time.monotonic() - s.t0, peak_mem_mb=s.peak_mb or None,
        )
        self._report(r)
        self._end_job(s.job, [*s.got, r], Status.SKIPPED, f"not run: the worker {status} during {s.check}")
        s.job = None

    # -- results ------------------------------------------------------------
    def _row(self, job: Job, check: str, status: Status, **fields) -> CheckResult:
        return CheckResult(
            model_type=job.model_type, check=check, status=status, model_class=job.model_class,
            task=job.task, family=job.family, override_hash=job.override_hash, source=job.source,
            key=self.key(job, check), **fields,
        )

    def _report(self, r: CheckResult) -> None:
        self._all.append(r)
        self._on_result(r)

    def _end_job(self, job: Job, got: list[CheckResult], fill: Status, message: str, stage: str | None = None) -> None:
        """Give every check of the job that has no result one (``fill``), then call on_job."""
        done = {r.check for r in got}
        rows = [*got]
        for check in job.checks:
            if check not in done:
                r = self._row(job, check, fill, message=message, stage=stage if fill is not Status.SKIPPED else None)
                self._report(r)
                rows.append(r)
        self._on_job(job, rows)
