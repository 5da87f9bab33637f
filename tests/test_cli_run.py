"""`hfscan run` end to end, as a real process: exit statuses, storing, killing, resuming."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hfscan.cache.store import Store
from hfscan.harness.records import Status

ROOT = Path(__file__).resolve().parents[1]
TYPES = ["bert", "gpt2", "roberta", "albert", "distilbert"]
FAKE = ["--job-fn", "tests.harness.jobfns:behaving", "--checks", "build,forward", "--jobs", "1"]


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hfscan.cli", "run", *args]


def _env(**extra: str) -> dict[str, str]:
    # a fixed width: the summary table wraps its headers on a narrow terminal
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "COLUMNS": "160", **extra}


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(*args), cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=300)


def _count(store: Path) -> int:
    try:
        with sqlite3.connect(store) as conn:
            return conn.execute("SELECT count(*) FROM results WHERE status != 'interrupted'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _wait_for_results(store: Path, proc: subprocess.Popen, n: int) -> None:
    deadline = time.monotonic() + 120
    while _count(store) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no results came"
        time.sleep(0.2)


@pytest.mark.parametrize(
    "args, message",
    [
        (["bertt"], "unknown model type 'bertt'; closest: bert"),
        (["bert", "--checks", "build,fly"], "unknown check 'fly'"),
        (["bert", "--priority", "urgent"], "Invalid value for '--priority'"),
        (["--family", "no-such-family"], "unknown family 'no-such-family'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    done = _run(*args, "--store", str(tmp_path / "s.sqlite"))
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_absent_device_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = _run("bert", "--device", "cuda", "--store", str(tmp_path / "s.sqlite"))
    assert done.returncode == 2 and "device 'cuda' is not available" in done.stderr and "Traceback" not in done.stderr


def test_killed_run_keeps_finished_results_and_the_next_run_resumes(tmp_path):
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(_cmd(*TYPES, *FAKE, "--store", str(store)), cwd=ROOT, env=_env(HFSCAN_TEST_BEHAVIOUR="slow"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_results(store, proc, 4)  # two model types finished
    finally:
        proc.kill()
        proc.wait()
    with Store(store) as s:
        (first,) = s.runs()
        kept = [r for r in s.results(first.id)]
    assert first.status == "running" and len(kept) >= 4
    finished = {r.model_type for r in kept if r.check == "forward"}
    assert all(r.status is Status.PASSED for r in kept)

    done = _run(*TYPES, *FAKE, "--store", str(store))
    assert done.returncode == 0, done.stderr
    with Store(store) as s:
        second = s.runs()[-1]
        results = s.results(second.id)
    assert second.status == "finished" and len(results) == 2 * len(TYPES)
    assert {r.model_type for r in results if r.reused} == finished
    assert {r.model_type for r in results if not r.reused} == set(TYPES) - finished
    assert "generic" in done.stdout and "reused from the store" in done.stdout  # category headers wrap


def test_interrupt_stores_the_rest_as_interrupted_and_failures_exit_1(tmp_path):
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(_cmd(*TYPES, *FAKE, "--store", str(store)), cwd=ROOT, env=_env(HFSCAN_TEST_BEHAVIOUR="slow"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_results(store, proc, 2)
    proc.send_signal(signal.SIGTERM)  # handled like Ctrl-C (SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in out and "Traceback" not in err
    with Store(store) as s:
        (run,) = s.runs()
        results = s.results(run.id)
    assert run.status == "interrupted" and len(results) == 2 * len(TYPES)
    interrupted = {r.model_type for r in results if r.status is Status.INTERRUPTED}
    assert interrupted and len(interrupted) < len(TYPES)

    done = _run(*TYPES, *FAKE, "--store", str(store), HFSCAN_TEST_BEHAVIOUR="raise")
    assert done.returncode == 1 and "contract broken" in done.stdout
    with Store(store) as s:
        results = s.results(s.runs()[-1].id)
    assert {r.model_type for r in results if not r.reused} == interrupted  # interrupted ones are never reused
    assert {r.status for r in results if not r.reused and r.check == "build"} == {Status.FAILED}

    fresh = _run(*TYPES, *FAKE, "--store", str(store), "--fresh")
    assert fresh.returncode == 0
    with Store(store) as s:
        results = s.results(s.runs()[-1].id)
    assert not any(r.reused for r in results) and {r.status for r in results} == {Status.PASSED}


@pytest.mark.slow
def test_real_sweep_of_real_models(tmp_path):
    pytest.importorskip("hfscan.harness.smoke")
    store = tmp_path / "s.sqlite"
    done = _run("bert", "gpt2", "--store", str(store))
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(store) as s:
        (run,) = s.runs()
        results = s.results(run.id)
    assert run.status == "finished" and run.device == "cpu" and run.transformers_version
    by = {(r.model_type, r.check): r for r in results}
    for mt in ("bert", "gpt2"):
        assert by[mt, "build"].status is Status.PASSED and by[mt, "build"].param_count
        assert by[mt, "forward"].status is Status.PASSED
    assert by["gpt2", "generate"].status is Status.PASSED
    again = _run("bert", "gpt2", "--store", str(store))
    assert again.returncode == 0 and "0 jobs run, 2 reused" in again.stdout


def test_a_broken_overrides_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('[no_such_model_type]\nreason = "x"\n')
    done = _run("bert", "--overrides", str(bad), "--store", str(tmp_path / "s.sqlite"))
    assert done.returncode == 2 and "mine.toml" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s.sqlite").exists() or not Store(tmp_path / "s.sqlite").runs()


def test_a_stored_crash_is_retried_unless_reuse_failures(tmp_path):
    store = tmp_path / "s.sqlite"
    crashed = _run("bert", *FAKE, "--store", str(store), HFSCAN_TEST_BEHAVIOUR="segfault")
    assert crashed.returncode == 1, crashed.stdout + crashed.stderr
    kept = _run("bert", *FAKE, "--store", str(store), "--reuse-failures")
    assert kept.returncode == 1 and "0 jobs run, 1 reused" in kept.stdout
    retried = _run("bert", *FAKE, "--store", str(store))
    assert retried.returncode == 0 and "1 jobs run, 0 reused" in retried.stdout
    with Store(store) as s:
        statuses = [{r.status for r in s.results(run.id) if r.check == "build"} for run in s.runs()]
    assert statuses == [{Status.CRASHED}, {Status.CRASHED}, {Status.PASSED}]
