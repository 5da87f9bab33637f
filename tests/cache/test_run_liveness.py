"""A run killed with kill -9 never looks complete: it is marked abandoned, its unfinished checks read as not run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hfscan.cache.store import Store
from hfscan.harness.records import CheckResult, Job, Status
from tests.reports.report_store import run_info

ROOT = Path(__file__).resolve().parents[2]

#: A process that begins a run of three planned jobs, stores one job's results, and dies without finishing it.
_DIES = """
import os, sys
from hfscan.cache.store import Store
from hfscan.harness.records import CheckResult, Job, Status
from tests.reports.report_store import run_info
jobs = [Job(mt, mt.title() + "Model", "base", checks=("build", "forward")) for mt in ("alpha", "beta", "gamma")]
store = Store(sys.argv[1])
run = store.begin_run(run_info("2026-11-20T09:00:00+00:00", "5.24.0.fake", "killed"), planned=jobs)
for check in ("build", "forward"):
    store.add_result(run.id, CheckResult("alpha", check, Status.PASSED, model_class="AlphaModel"))
store.add_result(run.id, CheckResult("beta", "build", Status.PASSED, model_class="BetaModel"))  # killed mid-job
os.kill(os.getpid(), 9)
"""


def killed_run(store_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _DIES, str(store_path)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == -9


def test_a_run_whose_process_is_gone_is_abandoned_and_its_unfinished_checks_are_not_run(tmp_path):
    path = tmp_path / "s.sqlite"
    killed_run(path)
    with Store(path) as store:
        (run,) = store.runs()
        assert run.status == "abandoned" and run.finished_at
        results = store.results(run.id)
        stored = store.results(run.id, unfinished=False)
    assert len(stored) == 3  # every finished result is kept
    by = {(r.model_type, r.check): r.status for r in results}
    assert by == {("alpha", "build"): Status.PASSED, ("alpha", "forward"): Status.PASSED,
                  ("beta", "build"): Status.PASSED, ("beta", "forward"): Status.INTERRUPTED,
                  ("gamma", "build"): Status.INTERRUPTED, ("gamma", "forward"): Status.INTERRUPTED}
    assert all("abandoned" in r.message for r in results if r.status is Status.INTERRUPTED)


def test_a_live_run_stays_running_and_a_finished_one_reads_complete(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.begin_run(run_info("2026-11-20T09:00:00+00:00", "5.24.0.fake", "live"),
                              planned=[Job("alpha", "AlphaModel", "base", checks=("build",))])
        with Store(path) as other:  # this process is alive: nothing is reaped
            assert other.run(run.id).status == "running"
            assert [r.message for r in other.results(run.id)] == ["not run yet: the run is still going"]
        store.add_result(run.id, CheckResult("alpha", "build", Status.PASSED, model_class="AlphaModel"))
        store.finish_run(run.id)
        assert [r.status for r in store.results(run.id)] == [Status.PASSED]


def test_a_store_of_an_older_hfscan_gains_the_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running', label TEXT NOT NULL DEFAULT '', hfscan_version TEXT NOT NULL,
            python_version TEXT NOT NULL, torch_version TEXT, transformers_version TEXT NOT NULL, device TEXT NOT NULL,
            device_name TEXT NOT NULL DEFAULT '', dtype TEXT NOT NULL, args TEXT NOT NULL DEFAULT '{}');
        INSERT INTO runs (started_at, hfscan_version, python_version, transformers_version, device, dtype)
            VALUES ('2026-11-01T00:00:00+00:00', '0.1', '3.11', '5.24.0', 'cpu', 'float32');
    """)
    conn.close()
    with Store(path) as store:
        (run,) = store.runs()
        assert run.status == "running"  # no process recorded: nothing to tell by
        assert store.results(run.id) == []
