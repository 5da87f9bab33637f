"""Reports built from a store with three runs on two fake dates and versions: every format checked."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import timedelta

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser import Failure, JUnitXml, Skipped

from hfscan.cache.store import Store
from hfscan.cli import cli
from hfscan.errors import UsageError
from hfscan.harness.records import Coverage, coverage_of
from hfscan.reports.history import parse_since
from hfscan.reports.report import SCHEMA_PATH, build_report, render, to_json, write_output
from tests.reports.html_dom import parse
from tests.reports.report_store import NEW_TF, OLD_TF, build_history_store


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return build_history_store(tmp_path_factory.mktemp("history") / "store.sqlite")


@pytest.fixture(scope="module")
def weekly(history):
    path, _ = history
    with Store(path) as store:
        return build_report(store, since=timedelta(days=7))


def store_coverage(path, run_id) -> dict[str, Coverage]:
    """Each model type's category computed straight from the stored rows."""
    by_type = defaultdict(list)
    with Store(path) as store:
        for r in store.results(run_id):
            by_type[r.model_type].append(r)
    return {mt: coverage_of([r.status for r in rs], any(r.override_applied for r in rs)) for mt, rs in by_type.items()}


def test_weekly_baseline_is_latest_run_at_least_a_week_older(history, weekly):
    _, ids = history
    cmp = weekly.comparison
    assert weekly.coverage.run.id == ids["week2"]
    assert cmp.baseline.id == ids["week1_later"]  # exactly 7 days older counts; the older run does not win
    assert [(c.model_type, c.before, c.after) for c in cmp.regressions] == [
        ("alpha", Coverage.GENERIC_PASS, Coverage.UNEXPECTED_FAILURE), ("zeta", Coverage.PARTIAL, Coverage.UNEXPECTED_FAILURE)]
    assert [c.model_type for c in cmp.newly_passing] == ["gamma"]
    assert {c.model_type: c.after for c in cmp.other_changes} == {"beta": Coverage.OVERRIDE_PASS, "delta": Coverage.EXPECTED_FAILURE}
    assert cmp.added == ("epsilon", "newcomer") and cmp.removed == ("retired",)
    assert [p.run.id for p in weekly.trend] == [ids["week1"], ids["week1_later"], ids["week2"]]
    assert [p.pass_rate for p in weekly.trend] == [pytest.approx(3 / 6), pytest.approx(3 / 6), pytest.approx(2 / 7)]


def test_no_baseline_old_enough_is_said_not_guessed(history):
    path, ids = history
    with Store(path) as store:
        rep = build_report(store, run_id=ids["week1_later"], since=timedelta(days=7))
    assert rep.comparison is None and "nothing to compare with" in rep.baseline_note
    assert [p.run.id for p in rep.trend] == [ids["week1"], ids["week1_later"]]  # trend stops at the reported run


def test_summary_matches_the_store(history, weekly):
    path, ids = history
    expected = store_coverage(path, ids["week2"])
    assert {r.model_type: r.coverage for r in weekly.coverage.rows} == expected
    counts = Counter(expected.values())
    assert weekly.coverage.totals == {c: counts.get(c, 0) for c in Coverage}
    alpha = weekly.coverage.row("alpha")
    assert alpha.checks["forward"].status == "failed" and alpha.checks["save-load"].status == "skipped"
    assert alpha.duration_s == 1.5 and alpha.param_count == 1000
    assert "\x1b" not in alpha.error and "\x00" not in alpha.error and alpha.error.startswith("forward: ValueError: <script>")


def test_markdown_lists_regressions_first(weekly):
    md = render(weekly, "md")
    assert md.index("### Regressions: 2") < md.index("### Newly passing: 1") < md.index("## Coverage")
    assert NEW_TF in md and "2.13.0.fake" in md and OLD_TF in md  # versions of the run and of the baseline
    assert re.search(r"^### encoder$", md, re.M) and re.search(r"^### decoder$", md, re.M)  # a table per family
    row = [ln for ln in md.splitlines() if ln.startswith("| alpha |")][-1]  # its row in the encoder table
    assert row.count(" | ") == len(weekly.coverage.checks) + 5  # 9 cells: the error's pipe is escaped, not a new cell
    assert "\\|" in row and "<script>" not in md and "\x1b" not in md
    assert "### Model types removed: 1" in md and "retired" in md
    assert "| fakehash00000001 | not in the shipped overrides |" in md


def test_json_follows_its_schema(weekly):
    data = json.loads(render(weekly, "json"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data == to_json(weekly)
    assert data["totals"]["model_types"] == 7 and data["totals"]["by_category"]["unexpected failure"] == 3
    assert [r["model_type"] for r in data["comparison"]["regressions"]] == ["alpha", "zeta"]
    assert [(g["kind"], g["reason"], g["model_types"]) for g in data["failure_groups"]] == [  # as `hfscan gaps` groups
        ("failed at forward", "ValueError: expected N channels, got N", ["epsilon", "zeta"]),
        ("failed at forward", data["failure_groups"][1]["reason"], ["alpha"])]
    bad = {**data, "totals": {**data["totals"], "pass_rate": 2}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads(SCHEMA_PATH.read_text()))


def test_junit_has_one_case_per_model_type_and_check(weekly, tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(render(weekly, "junit"))
    xml = JUnitXml.fromfile(str(path))
    cases = {(c.classname, c.name): c for suite in xml for c in suite}
    expected = {(f"hfscan.{r.family}.{r.model_type}", check) for r in weekly.coverage.rows for check in r.checks}
    assert set(cases) == expected and len(cases) == sum(len(r.checks) for r in weekly.coverage.rows)
    alpha = cases[("hfscan.encoder.alpha", "forward")]
    assert isinstance(alpha.result[0], Failure) and alpha.result[0].message.startswith('forward: ValueError: <script>alert("x")')
    assert isinstance(cases[("hfscan.audio.delta", "build")].result[0], Skipped)
    assert cases[("hfscan.decoder.gamma", "forward")].is_passed
    assert sum(s.failures for s in xml) == 3 and {s.name for s in xml} == {"audio", "decoder", "encoder"}


def test_html_numbers_match_the_store_and_text_is_escaped(history, weekly):
    path, ids = history
    html = render(weekly, "html")
    dom = parse(html)
    counts = Counter(store_coverage(path, ids["week2"]).values())
    totals = dom.find("tr", data_group="all")
    for cell in totals.find_all("td"):
        cat = cell.attrs["data-category"]
        assert int(cell.text) == (sum(counts.values()) if cat == "total" else counts.get(Coverage(cat), 0)), cat
    rows = dom.find("table", id="models").find_all("tr", pred=lambda n: "data-model-type" in n.attrs)
    assert {r.attrs["data-model-type"]: r.attrs["data-coverage"] for r in rows} == {
        mt: str(c) for mt, c in store_coverage(path, ids["week2"]).items()}
    bars = {g.attrs["data-family"]: int(g.attrs["data-total"]) for g in dom.find_all("g", pred=lambda n: "family-bar" in n.attrs.get("class", ""))}
    assert bars == {"audio": 3, "decoder": 2, "encoder": 2}
    assert len(dom.find_all("circle", pred=lambda n: n.attrs.get("class") == "trend-point")) == 3
    assert [r.attrs["data-model-type"] for r in dom.find("div", id="regressions").find_all("tr") if "data-model-type" in r.attrs] == ["alpha", "zeta"]
    # the hostile error text is data, never markup; the page's only script is its own, and nothing is fetched
    assert len(dom.find_all("script")) == 1 and '<script>alert("x")</script>' in dom.find("table", id="models").text
    assert not [n for n in dom.iter() for k in ("src", "href") if k in n.attrs]
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "default-src 'none'" in dom.find("meta", http_equiv="Content-Security-Policy").attrs["content"]


def test_since_parsing():
    assert parse_since("7d") == timedelta(days=7) and parse_since("2w") == timedelta(weeks=2) and parse_since("12h") == timedelta(hours=12)
    with pytest.raises(UsageError, match="--since '7 days'"):
        parse_since("7 days")


def test_cli_weekly_fails_on_regression_and_history_lists_runs(history, tmp_path):
    path, ids = history
    runner = CliRunner()
    out = tmp_path / "HF_COVERAGE_REPORT.md"
    res = runner.invoke(cli, ["report", "--store", str(path), "--weekly", "--fail-on-regression", "-o", str(out)])
    assert res.exit_code == 1 and "2 regression(s) since run" in res.output and "alpha, zeta" in res.output
    assert out.read_text().startswith("# Hugging Face coverage report")
    assert runner.invoke(cli, ["report", "--store", str(path), "--weekly", "-o", str(out)]).exit_code == 0
    res = runner.invoke(cli, ["report", "--store", str(path), "--compare", str(ids["week2"]), "--fail-on-regression", "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.output)["comparison"]["regressions"] == []
    res = runner.invoke(cli, ["history", "--store", str(path), "--format", "json"])
    assert res.exit_code == 0
    assert [(r["run_id"], r["transformers_version"]) for r in json.loads(res.output)] == [
        (ids["week1"], OLD_TF), (ids["week1_later"], OLD_TF), (ids["week2"], NEW_TF)]
    assert "fake week 2" in runner.invoke(cli, ["history", "--store", str(path)]).output


@pytest.mark.parametrize("args, message", [
    (["report", "--store", "{missing}"], "no store at"),
    (["report", "--store", "{store}", "--since", "soon"], "--since 'soon'"),
    (["report", "--store", "{store}", "--weekly", "--since", "2w"], "exclusive"),
    (["report", "--store", "{store}", "--run", "999"], "no run 999"),
    (["report", "--store", "{store}", "--fail-on-regression"], "needs a baseline"),
    (["history", "--store", "{missing}"], "no store at"),
])
def test_bad_input_is_one_line_and_exit_2(history, tmp_path, args, message):
    path, _ = history
    args = [a.format(missing=tmp_path / "none.sqlite", store=path) for a in args]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and message in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "none.sqlite").exists()  # a report never creates a store


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("last week's report")
    (tmp_path / "blocked").write_text("a file where a folder should be")
    with pytest.raises(UsageError, match="cannot write"):
        write_output("new", tmp_path / "blocked" / "report.md")
    write_output("new", target)
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "report.md"]
