"""A long-lived worker process: imports torch and transformers once, then runs job after job.

The parent (``harness.runner``) talks to it over a pipe.  Parent to worker:
``(job_id, Job)`` or ``None`` to stop.  Worker to parent:

``("ready", pid, rss_mb)``              imports done; its RSS then (the memory cap counts above it)
``("start", job_id, check)``            the check the job function is about to run
``("result", job_id, CheckResult)``     one check finished
``("error", job_id, check, type, message, traceback)``  the job function itself raised
``("done", job_id)``                    the job function returned

The worker ignores Ctrl-C (the parent decides what happens) and dies with its
parent (the fork server, which exits with the sweep, or the sweep itself), so
killing a sweep leaves no orphans behind.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import traceback
import warnings
from multiprocessing.connection import Connection
from typing import Callable, Iterator

from hfscan.errors import UsageError
from hfscan.harness.records import CheckResult, Job

JobFn = Callable[[Job], Iterator[CheckResult]]

#: Modules every worker imports once at start-up, before its first job.
PRELOAD = ("torch", "transformers")


def load_job_fn(path: str) -> JobFn:
    """The callable named ``module:attribute``; a bad path is a usage error."""
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise UsageError(f"job function {path!r} must be written module:attribute")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"cannot load job function {path!r}: {exc}") from None
    if not callable(fn):
        raise UsageError(f"job function {path!r} is not callable")
    return fn


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _reset_peak() -> None:
    """Reset VmHWM so that it reports this job's peak (Linux only)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def proc_status_mb(pid: int | str, field: str) -> float | None:
    """A memory field of /proc/<pid>/status (VmRSS, VmHWM) in MB; None where unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _release_memory() -> None:
    """Collect the last job's garbage and hand freed heap pages back to the OS (glibc).

    What survives is frozen, so the next collection scans only what the next
    job creates: a full collection over torch and transformers' objects would
    cost more than a tiny model's whole job.
    """
    gc.collect()
    gc.freeze()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def _run_one(conn: Connection, job_id: int, job: Job, fn: JobFn) -> None:
    remaining = list(job.checks)
    _reset_peak()
    if remaining:
        conn.send(("start", job_id, remaining[0]))
    try:
        for result in fn(job):
            if result.peak_mem_mb is None:
                result = result.with_(peak_mem_mb=proc_status_mb("self", "VmHWM"))
            conn.send(("result", job_id, result))
            if result.check in remaining:
                remaining.remove(result.check)
            if remaining:
                conn.send(("start", job_id, remaining[0]))
    except BaseException as exc:  # the job function broke its contract; report, keep serving
        check = remaining[0] if remaining else ""
        conn.send(("error", job_id, check, type(exc).__name__, str(exc)[:2000], traceback.format_exc()[-8000:]))
    _release_memory()
    conn.send(("done", job_id))


def _init_device(device: str) -> None:
    """Load the device's runtime now (CUDA's libraries are ~1.5 GB of RSS), so the baseline after start-up holds it."""
    torch = sys.modules.get("torch")
    if torch is None or device in ("cpu", "auto"):
        return
    try:
        torch.zeros(1, device=device)
    except Exception:  # noqa: BLE001 - the first job reports a device that does not work
        pass


def worker_main(conn: Connection, job_fn: str, preload: tuple[str, ...] = PRELOAD, device: str = "cpu") -> None:
    """Entry point of a worker process (forked from the runner's fork server, else spawned)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # load checkpoints on this thread: a worker runs one torch thread, and transformers' loader threads only
    # contend with it (and with the other workers) for the cores
    os.environ.setdefault("HF_DEACTIVATE_ASYNC_LOAD", "1")
    warnings.simplefilter("ignore")  # results carry what matters; warnings would only garble the progress bar
    for module in preload:
        importlib.import_module(module)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    fn = load_job_fn(job_fn)
    _init_device(device)
    _release_memory()
    try:
        conn.send(("ready", os.getpid(), proc_status_mb("self", "VmRSS")))  # its baseline, before any job runs
    except OSError:  # the parent stopped (Ctrl-C) while this worker started: nothing to report to
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        job_id, job = msg
        _run_one(conn, job_id, job, fn)
