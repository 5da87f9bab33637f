"""Reports and history over a store holding hostile or corrupt values: nothing crashes, nothing is interpreted,
corrupt rows are named by id and the rest is reported."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from click.testing import CliRunner

from hfscan.cache.store import Store
from hfscan.cli import cli
from hfscan.harness.records import CheckResult, Status
from tests.reports.html_dom import parse
from tests.reports.report_store import WEEK1, WEEK2, add_run, build_history_store, run_info

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_huge_since_is_one_line_exit_2(tmp_path):
    path, _ = build_history_store(tmp_path / "s.sqlite")
    for since in ("99999999999999d", "999999999999h", "99999999999999w"):
        res = _invoke("report", "--store", str(path), "--since", since)
        assert res.exit_code == 2 and "--since" in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
    res = _invoke("report", "--store", str(path), "--since", "999999d", "--format", "json")  # valid, older than any run
    assert res.exit_code == 0 and "nothing to compare with" in res.output


def _hostile_store(path):
    """A run whose check names, family, label and versions carry table syntax and control bytes."""
    with Store(path) as store:
        info = run_info(WEEK2, "5.24\x00.fake\x1b[31m", "label\x00 with \x1b[31mESC\x07 and | pipe")
        add_run(store, info, [
            CheckResult("alpha", "build|forward\n<b>", Status.PASSED, family="enc\x1b[0m|oder"),
            CheckResult("alpha", "save\x00load", Status.FAILED, family="enc\x1b[0m|oder", message="bad\x00 [/x] \x1b[31m"),
        ])
    return path


def test_markdown_escapes_check_names_in_the_table_header(tmp_path):
    res = _invoke("report", "--store", str(_hostile_store(tmp_path / "s.sqlite")), "--format", "md")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("| model type | tier | coverage |"))
    cells = lambda line: len(re.split(r"(?<!\\)\|", line))  # noqa: E731 - unescaped pipes delimit cells
    assert cells(lines[header]) == cells(lines[header + 1]) == cells(lines[header + 2])
    assert not CONTROL.search(res.output) and "<b>" not in res.output


@pytest.mark.parametrize("fmt", ["html", "md", "junit"])
def test_no_control_bytes_from_the_store_reach_a_report(tmp_path, fmt):
    res = _invoke("report", "--store", str(_hostile_store(tmp_path / "s.sqlite")), "--format", fmt)
    assert res.exit_code == 0, res.output
    assert not CONTROL.search(res.output.replace("\t", "").replace("\n", "")), repr(CONTROL.search(res.output))
    if fmt == "html":
        dom = parse(res.output)
        assert "label with [31mESC and | pipe" in dom.text


def test_a_users_override_shows_its_reason_and_file(tmp_path):
    from hfscan.pipeline import override_entries
    from hfscan.harness.records import Job

    user = tmp_path / "mine.toml"
    body = json.dumps({"model_type": "alpha", "reason": "our checkpoints set vocab_size 7", "config": {"vocab_size": 7}})
    jobs = [Job("alpha", "AlphaModel", "base", override=body, override_hash="userhash0000001")]
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.put_overrides(override_entries(jobs, str(user)))
        add_run(store, run_info(WEEK2, "5.24.0.fake", "with a user override"), [
            CheckResult("alpha", c, Status.PASSED, family="encoder", override_hash="userhash0000001") for c in ("build", "forward")
        ])
    for fmt in ("md", "html"):
        res = _invoke("report", "--store", str(path), "--format", fmt)
        assert res.exit_code == 0 and "our checkpoints set vocab_size 7" in res.output and str(user) in res.output
        assert "not in the shipped overrides" not in res.output
    entry = json.loads(_invoke("report", "--store", str(path), "--format", "json").output)["overrides"][0]
    assert entry["reason"] == "our checkpoints set vocab_size 7" and entry["source"] == str(user)


def _corrupt_store(path):
    """Three runs, then values no hfscan writes: an unknown status, a text duration, a non-numeric schema
    version, bad Hub JSON and a run whose start is no time."""
    path, ids = build_history_store(path)
    with Store(path) as store:
        store.put_hub("alpha", {"downloads": 5, "model_count": 1})
        store.put_hub("beta", {"downloads": 5, "model_count": 1})
        broken = add_run(store, run_info(WEEK1, "5.23.0.fake", "broken start"), [CheckResult("alpha", "build", Status.PASSED)])
    conn = sqlite3.connect(path)
    with conn:
        rows = [r[0] for r in conn.execute("SELECT id FROM results WHERE run_id=? ORDER BY id", (ids["week2"],))]
        conn.execute("UPDATE results SET status='exploded' WHERE id=?", (rows[0],))
        conn.execute("UPDATE results SET duration_s='slow' WHERE id=?", (rows[1],))
        conn.execute("UPDATE meta SET value='one' WHERE key='schema'")
        conn.execute("UPDATE hub SET data='{not json' WHERE model_type='alpha'")
        conn.execute("UPDATE hub SET data='{\"top\": 5}' WHERE model_type='beta'")
        conn.execute("UPDATE runs SET started_at='yesterday' WHERE id=?", (broken,))
    conn.close()
    return path, ids, rows[:2], broken


@pytest.mark.parametrize("args", [
    ["report", "--format", "md"], ["report", "--format", "html"], ["report", "--format", "json"],
    ["report", "--format", "junit"], ["report", "--weekly", "--format", "json"], ["history"], ["history", "--format", "json"],
])
def test_corrupt_rows_are_named_and_the_rest_is_reported(tmp_path, args):
    path, ids, bad_results, broken_run = _corrupt_store(tmp_path / "s.sqlite")
    res = _invoke(*args, "--store", str(path))
    assert res.exit_code in (0, 1), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    assert "meta row schema is corrupt" in res.output
    if args[0] == "report":
        for row in bad_results:
            assert f"results row {row} is corrupt" in res.output
        assert "unknown status 'exploded'" in res.output and "duration_s 'slow' is not a number" in res.output
        assert "epsilon" in res.output  # an intact row of the same run
    else:
        assert f"runs row {broken_run} is corrupt" in res.output and "fake week 2" in res.output


def test_corrupt_hub_rows_are_named_and_discover_still_works(tmp_path, monkeypatch):
    path, *_ = _corrupt_store(tmp_path / "s.sqlite")
    from hfscan.hubsync import stored_hub, usage_tiers

    warnings: list[str] = []
    with Store(path, on_corrupt=warnings.append) as store:
        assert stored_hub(store) == {}
    assert any("hub row alpha is corrupt" in w for w in warnings) and any("hub row beta is corrupt" in w for w in warnings)
    assert usage_tiers(path) is None  # nothing readable: the shipped tiers apply
