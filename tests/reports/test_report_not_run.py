"""Reports of a killed run: its unfinished types are `not run`, never a pass, and a comparison with them fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hfscan.cache.store import Store
from hfscan.harness.records import CheckResult, Status
from tests.cache.test_run_liveness import killed_run
from tests.reports.report_store import add_run, run_info

ROOT = Path(__file__).resolve().parents[2]


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        add_run(store, run_info("2026-11-10T09:00:00+00:00", "5.24.0.fake", "baseline"), [
            CheckResult(mt, check, Status.PASSED, model_class=mt.title() + "Model")
            for mt in ("alpha", "beta", "gamma") for check in ("build", "forward")
        ])
    killed_run(path)  # run 2: alpha finished, beta half, gamma never started; then kill -9
    return path


def _report(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "hfscan.cli", "report", "--store", str(path), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_killed_run_report_counts_unfinished_types_as_not_run(tmp_path):
    path = _store(tmp_path)
    done = _report(path, "--format", "json")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    assert data["run"]["status"] == "abandoned"
    cov = {row["model_type"]: row["coverage"] for row in data["model_types"]}
    assert cov == {"alpha": "generic pass", "beta": "not run", "gamma": "not run"}
    assert data["totals"]["by_category"]["generic pass"] == 1 and data["totals"]["pass_rate"] < 0.5
    assert "abandoned" in done.stderr


def test_comparison_with_missing_types_is_not_a_pass(tmp_path):
    path = _store(tmp_path)
    done = _report(path, "--since", "7d", "--fail-on-regression", "--format", "json")
    assert done.returncode == 1, done.stderr
    cmp = json.loads(done.stdout)["comparison"]
    assert cmp["not_run"] == ["beta", "gamma"] and cmp["removed"] == [] and cmp["regressions"] == []
    assert "2 model type(s) of run 1 not run in run 2" in done.stderr and "Traceback" not in done.stderr
    md = _report(path, "--since", "7d")
    assert md.returncode == 0 and "Not run in this run: 2" in md.stdout
