"""Bad input and faults at the command line: one readable line, the documented exit status, no traceback,
nothing stored lost, nothing from a model or store read as markup."""

from __future__ import annotations

import ast
import json
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hfscan.cache.store import Store
from hfscan.cli import cli
from hfscan.harness.records import CheckResult, Status
from tests.harness.jobfns import MARKUP_MESSAGE
from tests.reports.report_store import WEEK2, add_run, run_info

ROOT = Path(__file__).resolve().parents[1]
FAKE = ["--job-fn", "tests.harness.jobfns:behaving", "--checks", "build,forward", "--jobs", "1"]


def _run(*args: str, env: dict | None = None, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "COLUMNS": "160", **(env or {})},
                          preexec_fn=preexec)


def _one_error_line(text: str) -> str:
    assert "Traceback" not in text, text
    errors = [ln for ln in text.splitlines() if ln.startswith("hfscan: error:")]
    assert len(errors) == 1, text
    return errors[0]


def _rows(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT count(*) FROM results").fetchone()[0]


# -- item 5: markup ---------------------------------------------------------------------------
def test_error_text_is_printed_literally_at_the_end_of_run(tmp_path):
    done = _run("run", "bert", *FAKE, "--store", str(tmp_path / "s.sqlite"), env={"HFSCAN_TEST_BEHAVIOUR": "markup"})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and MARKUP_MESSAGE in done.stdout


def test_history_prints_labels_literally(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        add_run(store, run_info(WEEK2, "5.24.0.fake", "[/x] nightly [batch, seq_len] :warning:"),
                [CheckResult("alpha", "build", Status.PASSED)])
    res = CliRunner().invoke(cli, ["history", "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert "[/x] nightly [batch, seq_len] :warning:" in res.output


def test_every_console_is_the_literal_one():
    """No rich Console is made outside hfscan/terminal.py (whose consoles never parse markup)."""
    offenders = []
    for path in (ROOT / "hfscan").rglob("*.py"):
        if path.name == "terminal.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Console":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


# -- item 6: store write failures ----------------------------------------------------------------
def _read_only(path: Path) -> bool:
    if os.geteuid() != 0:
        path.chmod(0o444)
        return True
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


def test_a_read_only_store_is_one_line_exit_2_and_keeps_its_results(tmp_path):
    store = tmp_path / "s.sqlite"
    assert _run("run", "bert", *FAKE, "--store", str(store)).returncode == 0
    before = _rows(store)
    if not _read_only(store):
        pytest.skip("cannot make a file read-only here")
    try:
        done = _run("run", "bert", *FAKE, "--fresh", "--store", str(store))
        assert done.returncode == 2
        line = _one_error_line(done.stderr)
        assert str(store) in line and "readonly" in line
        assert _rows(store) == before
        assert _run("report", "--store", str(store), "--format", "json").returncode == 0  # still readable
    finally:
        subprocess.run(["chattr", "-i", str(store)], capture_output=True)


def test_a_full_disk_mid_run_is_one_line_exit_2_and_keeps_what_finished(tmp_path):
    store = tmp_path / "s.sqlite"
    assert _run("run", "bert", *FAKE, "--store", str(store)).returncode == 0
    before = _rows(store)
    limit = store.stat().st_size + 12 * 1024  # the WAL grows past this after a few results

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = _run("run", "bert", "gpt2", "roberta", "albert", "distilbert", *FAKE, "--fresh", "--store", str(store),
                preexec=small_files)
    assert done.returncode == 2, done.stderr
    line = _one_error_line(done.stderr)
    assert str(store) in line and "cannot write" in line
    assert _rows(store) > before  # what finished before the disk filled is kept


# -- item 7: limits that would switch themselves off ----------------------------------------------
@pytest.mark.parametrize("option, value", [
    ("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "-1"), ("--timeout", "0"),
    ("--mem-cap", "nan"), ("--mem-cap", "inf"), ("--mem-cap", "-5"), ("--mem-cap", "0"),
])
def test_non_finite_or_non_positive_limits_are_usage_errors(tmp_path, option, value):
    res = CliRunner().invoke(cli, ["run", "bert", option, value, "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and f"Invalid value for '{option}'" in res.output and "finite" in res.output
    assert not (tmp_path / "s.sqlite").exists()


def test_hub_backoff_nan_is_a_usage_error():
    res = CliRunner().invoke(cli, ["hub", "sync", "bert", "--backoff", "nan"])
    assert res.exit_code == 2 and "Invalid value for '--backoff'" in res.output


# -- item 8: HFSCAN_HOME ------------------------------------------------------------------------------
def test_hfscan_home_that_is_a_file_is_one_line_exit_2(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a directory")
    for args in (["discover", "--no-families"], ["run", "bert", *FAKE], ["gaps"]):
        done = _run(*args, env={"HFSCAN_HOME": str(home)})
        assert done.returncode == 2, (args, done.stderr)
        assert str(home) in _one_error_line(done.stderr)
    assert home.read_text() == "not a directory"


def test_unwritable_hfscan_home_is_one_line_exit_2(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    if os.geteuid() != 0:
        home.chmod(0o500)
    elif subprocess.run(["chattr", "+i", str(home)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a directory unwritable here")
    try:
        done = _run("discover", "--no-families", env={"HFSCAN_HOME": str(home)})
        assert done.returncode == 2 and str(home) in _one_error_line(done.stderr)
    finally:
        subprocess.run(["chattr", "-i", str(home)], capture_output=True)
        home.chmod(0o700)


# -- item 9: an overrides file that is not UTF-8 ----------------------------------------------------
def test_an_overrides_file_that_is_not_utf8_is_file_line_exit_2(tmp_path):
    from hfscan.errors import DataFileError
    from hfscan.harness.overrides import load_overrides

    bad = tmp_path / "mine.toml"
    bad.write_bytes(b'[bert]\nreason = "caf\xe9"\n')
    with pytest.raises(DataFileError, match=rf"^{bad}:2: not UTF-8") as err:
        load_overrides(bad)
    assert err.value.exit_code == 2
    done = _run("run", "bert", *FAKE, "--overrides", str(bad), "--store", str(tmp_path / "s.sqlite"))
    assert done.returncode == 2 and f"{bad}:2:" in _one_error_line(done.stderr)


# -- item 11: check with a model_type that is no string ----------------------------------------------
@pytest.mark.parametrize("model_type", [["bert"], {"a": 1}, 7])
def test_check_with_a_non_string_model_type_is_one_line(tmp_path, model_type):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": model_type}))
    res = CliRunner().invoke(cli, ["check", str(config)])
    assert res.exit_code == 2 and "model_type must be a string" in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1


# -- item 15: a store that is no file -----------------------------------------------------------------
@pytest.mark.parametrize("store", [":memory:", "", "file::memory:?cache=shared"])
@pytest.mark.parametrize("command", [["run", "bert"], ["report"], ["history"], ["gaps"], ["hub", "sync", "bert"]])
def test_a_store_that_is_no_file_is_refused(store, command):
    res = CliRunner().invoke(cli, [*command, "--store", store])
    assert res.exit_code == 2 and "Invalid value for '--store'" in res.output and "stored on disk" in res.output


# -- item 10: corrupt values in a store: gaps and run still work ----------------------------------------
def test_gaps_and_run_name_corrupt_rows_and_go_on(tmp_path):
    store = tmp_path / "s.sqlite"
    assert _run("run", "bert", "gpt2", *FAKE, "--store", str(store)).returncode == 0
    with sqlite3.connect(store) as conn:
        bad = conn.execute("SELECT id FROM results WHERE model_type='bert' ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE results SET status='exploded' WHERE id=?", (bad,))
        conn.execute("UPDATE results SET duration_s='slow' WHERE model_type='gpt2'")
        conn.execute("UPDATE meta SET value='v1' WHERE key='schema'")
    conn.close()
    gaps = _run("gaps", "--store", str(store))
    assert gaps.returncode in (0, 1) and "Traceback" not in gaps.stderr
    assert f"results row {bad} is corrupt (unknown status 'exploded')" in gaps.stderr
    done = _run("run", "bert", "gpt2", *FAKE, "--store", str(store))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"results row {bad} is corrupt" in done.stderr and "meta row schema is corrupt" in done.stderr
    assert "2 jobs run, 0 reused" in done.stdout  # the corrupt results are never reused


def test_check_with_a_config_that_is_not_utf8_is_file_line(tmp_path):
    config = tmp_path / "config.json"
    config.write_bytes(b'{\n"model_type": "bert",\n"name": "caf\xe9"}')
    res = CliRunner().invoke(cli, ["check", str(config)])
    assert res.exit_code == 2 and f"{config}:3: not UTF-8" in res.output and len(res.output.strip().splitlines()) == 1


# -- item 17: a user's own override keeps its reason and file in reports ------------------------------
def test_a_run_with_a_users_override_reports_its_reason_and_file(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('[bert]\nreason = "our checkpoints use a smaller epsilon"\nconfig = { layer_norm_eps = 1e-6 }\n')
    store = tmp_path / "s.sqlite"
    done = _run("run", "bert", "--checks", "build", "--jobs", "1", "--overrides", str(mine), "--store", str(store))
    assert done.returncode == 0, done.stderr
    report = _run("report", "--store", str(store), "--format", "md")
    assert report.returncode == 0
    line = next(ln for ln in report.stdout.splitlines() if ln.startswith("| bert |") and "epsilon" in ln)
    assert "our checkpoints use a smaller epsilon" in line and str(mine) in line
