"""Ctrl-C at any moment of `hfscan run`, once or twice: exit 130, no traceback, unfinished checks stored as interrupted."""

from __future__ import annotations

import signal
import subprocess
import time

from hfscan.cache.store import Store
from hfscan.harness.records import Status
from tests.test_cli_run import FAKE, ROOT, TYPES, _cmd, _env, _wait_for_results


def test_double_ctrl_c_exits_130_and_stores_every_unfinished_check(tmp_path):
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(_cmd(*TYPES, *FAKE, "--store", str(store)), cwd=ROOT, env=_env(HFSCAN_TEST_BEHAVIOUR="slow"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_results(store, proc, 2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # impatient: a second Ctrl-C while it stops
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "Aborted" not in err, err
    with Store(store) as s:
        (run,) = s.runs()
        stored = s.results(run.id, unfinished=False)
    assert run.status == "interrupted" and len(stored) == 2 * len(TYPES)  # stored, not only read back as not run
    assert any(r.status is Status.INTERRUPTED for r in stored)


def test_ctrl_c_before_the_sweep_starts_exits_130(tmp_path):
    proc = subprocess.Popen(_cmd(*TYPES, *FAKE, "--store", str(tmp_path / "s.sqlite")), cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # importing, discovering, classifying
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "Aborted" not in err, err


def test_interrupted_fresh_run_prints_the_command_that_resumes(tmp_path):
    store = tmp_path / "s.sqlite"
    args = (*TYPES, *FAKE, "--store", str(store), "--fresh")
    proc = subprocess.Popen(_cmd(*args), cwd=ROOT, env=_env(HFSCAN_TEST_BEHAVIOUR="slow"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_results(store, proc, 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    hint = " ".join(out.split())  # the console may wrap the line
    assert "to resume: hfscan run bert gpt2" in hint and "--fresh" not in hint, out
    assert "run the same command again" not in hint
