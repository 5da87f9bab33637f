"""Runs on two versions side by side: per-type diffs, failure-group changes, the upgrade report and the version table."""

from __future__ import annotations

import json

import pytest

from hfscan.cache.store import Store
from hfscan.harness.records import Coverage, Status
from hfscan.reports.upgrade import build_upgrade, comparable_runs, render_upgrade, version_rows, versions_markdown
from tests.reports.report_store import HOSTILE, NEW_TF, OLD_TF, build_history_store


@pytest.fixture()
def upgrade(tmp_path):
    path, ids = build_history_store(tmp_path / "store.sqlite")
    with Store(path) as store:
        yield build_upgrade(store, store.run(ids["week1"]), store.run(ids["week2"]))


def test_what_worked_and_fails_in_the_target_comes_first_with_its_check_and_error(upgrade):
    assert [d.model_type for d in upgrade.broken] == ["alpha", "zeta"]  # a pass and a partial run, failing now
    alpha = upgrade.broken[0]
    (forward,) = [c for c in alpha.checks if c.check == "forward"]
    assert (forward.before, forward.after) == (Status.PASSED, Status.FAILED)
    assert forward.after_note.startswith("forward: ValueError:")


def test_new_and_removed_types_and_other_changes(upgrade):
    assert [(r.model_type, r.coverage) for r in upgrade.new_types] == [
        ("epsilon", Coverage.UNEXPECTED_FAILURE), ("newcomer", Coverage.PARTIAL)]
    assert [r.model_type for r in upgrade.removed_types] == ["retired"]
    changed = {d.model_type: d for d in upgrade.diffs}
    assert set(changed) == {"beta", "delta", "gamma"}  # beta: same checks, now with an override
    assert (changed["gamma"].before, changed["gamma"].after) == (Coverage.UNEXPECTED_FAILURE, Coverage.GENERIC_PASS)
    assert changed["beta"].checks == ()


def test_failure_groups_that_appeared_or_went(upgrade):
    got = {(g.change, g.reason.split(":")[0]): (g.before, g.after) for g in upgrade.groups}
    assert got[("gone", "RuntimeError")] == (("gamma",), ())
    assert got[("new", "ValueError")][1] in {("epsilon", "zeta"), ("alpha",)}
    assert [g.change for g in upgrade.groups] == sorted((g.change for g in upgrade.groups), key=("new", "changed", "gone").index)


def test_json_parses_and_html_escapes_model_text(upgrade):
    data = json.loads(render_upgrade(upgrade, "json"))
    assert data["schema"] == "hfscan.upgrade/1"
    assert (data["from"]["run"]["transformers_version"], data["to"]["run"]["transformers_version"]) == (OLD_TF, NEW_TF)
    assert [b["model_type"] for b in data["broken"]] == ["alpha", "zeta"]
    html = render_upgrade(upgrade, "html")
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and "default-src 'none'" in html
    md = render_upgrade(upgrade, "md")
    assert "## Pass now, fail in the target: 2" in md and "<script>" not in md
    assert HOSTILE not in md


def test_an_upgrade_that_breaks_nothing_says_so(tmp_path):
    path, ids = build_history_store(tmp_path / "store.sqlite")
    with Store(path) as store:
        same = build_upgrade(store, store.run(ids["week1"]), store.run(ids["week1_later"]))
    assert same.broken == () and same.diffs == () and same.groups == ()
    assert "Nothing that passes now fails in the target." in render_upgrade(same, "md")


def test_the_version_table_has_one_row_per_version_pair(tmp_path):
    path, ids = build_history_store(tmp_path / "store.sqlite")
    with Store(path) as store:
        runs = [store.run(i) for i in ids.values()]
        rows = version_rows(store, runs)
        assert [(r.run.transformers_version, r.run.id) for r in rows] == [(OLD_TF, ids["week1_later"]), (NEW_TF, ids["week2"])]
        assert [r.model_types for r in rows] == [6, 7]
        assert [r.id for r in comparable_runs(store, runs[-1])] == [ids["week1_later"], ids["week2"]]
    md = versions_markdown(rows)
    assert md.splitlines()[2].startswith(f"| {OLD_TF} | 2.13.0.fake | {ids['week1_later']} | 6 | 3 | 0 | 1 |")


def test_report_on_a_run_of_another_version_has_the_version_table_and_per_type_diffs(tmp_path):
    from hfscan.reports.report import build_report, render, to_json

    path, ids = build_history_store(tmp_path / "store.sqlite")
    with Store(path) as store:
        report = build_report(store, run_id=ids["week2"], compare_to=ids["week1"])
        same = build_report(store, run_id=ids["week1_later"], compare_to=ids["week1"])
    data = to_json(report)
    assert [v["transformers_version"] for v in data["versions"]] == [OLD_TF, NEW_TF]
    diffs = {d["model_type"]: d for d in data["comparison"]["type_diffs"]}
    assert {"alpha", "zeta", "gamma", "delta", "beta"} == set(diffs)
    assert [c["check"] for c in diffs["alpha"]["checks"]] == ["forward", "save-load"]
    assert to_json(same)["comparison"]["type_diffs"] == []  # same versions: the comparison says it all
    md = render(report, "md")
    assert "## Versions" in md and f"on transformers {OLD_TF} → {NEW_TF}: 5" in md
    html = render(report, "html")
    assert 'id="version-table"' in html and 'id="type-diffs"' in html and "<script>alert" not in html
