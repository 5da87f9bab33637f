"""The worker process speaks its protocol: ready, start, result, error, done."""

from __future__ import annotations

import multiprocessing as mp
import os

from hfscan.harness.records import Job, Status
from hfscan.harness.worker import proc_status_mb, worker_main


def test_worker_streams_each_check_and_survives_a_raising_job():
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=worker_main, args=(child, "tests.harness.jobfns:behaving", ("torch",)), daemon=True)
    proc.start()
    child.close()
    try:
        kind, pid, rss_mb = parent.recv()
        assert kind == "ready" and pid == proc.pid and rss_mb > 0  # its baseline, before any job
        parent.send((1, Job("m", "ok", "base", checks=("build", "forward"))))
        msgs = [parent.recv() for _ in range(5)]
        assert [m[0] for m in msgs] == ["start", "result", "start", "result", "done"]
        assert [m[2] for m in msgs if m[0] == "start"] == ["build", "forward"]
        results = [m[2] for m in msgs if m[0] == "result"]
        assert [r.status for r in results] == [Status.PASSED, Status.PASSED]
        assert all(r.peak_mem_mb and r.peak_mem_mb > 10 for r in results)  # VmHWM of the job, torch loaded

        parent.send((2, Job("m", "raise", "base", checks=("build", "forward"))))
        msgs = [parent.recv() for _ in range(3)]
        assert [m[0] for m in msgs] == ["start", "error", "done"]
        assert msgs[1][2:4] == ("build", "RuntimeError")
        parent.send(None)
        proc.join(30)
        assert proc.exitcode == 0  # still alive after the raising job, then stopped cleanly
    finally:
        if proc.is_alive():
            proc.kill()


def test_proc_status_reads_memory_fields():
    assert proc_status_mb(os.getpid(), "VmRSS") > 1
    assert proc_status_mb(os.getpid(), "NoSuchField") is None
    assert proc_status_mb(2**22 + 12345, "VmRSS") is None
