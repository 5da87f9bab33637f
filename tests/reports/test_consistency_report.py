"""Per-check pass rates and declared-vs-observed findings in reports and gaps, from a store written through its API."""

from __future__ import annotations

import json

import jsonschema
from junitparser import Failure, JUnitXml

from hfscan.cache.store import Store
from hfscan.harness.records import Status
from hfscan.reports.gaps import DECLARED_KIND, declared_gaps
from hfscan.reports.report import SCHEMA_PATH, build_report, render, to_json
from tests.reports.html_dom import parse
from tests.reports.report_store import _r, add_run, run_info

SDPA = {"flag": "_supports_sdpa", "declared": True, "observed": "differs from eager",
        "text": "declares sdpa: differs from eager: max abs diff 0.03 at logits[1, 5, 2]"}
FLEX = {"flag": "_supports_flex_attn", "declared": False, "observed": "works", "text": "flex_attention works, undeclared"}


def _results():
    out = []
    for mt, attention in (("alpha", Status.PASSED), ("beta", Status.FAILED), ("gamma", Status.FAILED)):
        out += [_r(mt, "build", Status.PASSED), _r(mt, "forward", Status.PASSED)]
        found = [SDPA] if attention is Status.FAILED else [FLEX]
        out.append(_r(mt, "attention", attention, stage="attention" if attention is Status.FAILED else None,
                      message=SDPA["text"] if attention is Status.FAILED else None,
                      details=json.dumps({"attention": {"mismatches": found}})))
        out.append(_r(mt, "cache", Status.SKIPPED, message="not applicable: not generative"))
    return out


def _report(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        add_run(store, run_info("2026-11-05T09:00:00+00:00", "5.24.0.fake", "c"), _results())
        return build_report(store)


def test_pass_rates_per_check_count_only_checks_that_ran(tmp_path):
    report = _report(tmp_path)
    rates = {c.check: c for c in report.coverage.check_rates}
    assert list(rates)[:2] == ["build", "forward"]
    assert (rates["attention"].passed, rates["attention"].ran) == (1, 3)
    assert rates["cache"].ran == 0 and rates["cache"].counts == {"skipped": 3}
    data = to_json(report)
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["schema"] == "hfscan.report/2"
    assert data["by_check"]["attention"] == {"counts": {"passed": 1, "failed": 2}, "ran": 3, "passed": 1,
                                             "pass_rate": 0.3333}
    assert {(m["model_type"], m["flag"]) for m in data["declared_vs_observed"]} == {
        ("alpha", "_supports_flex_attn"), ("beta", "_supports_sdpa"), ("gamma", "_supports_sdpa")}
    md = render(report, "md")
    assert "| attention | 1 | 3 | 33.3% |" in md and "flex_attention works, undeclared" in md


def test_html_matrix_has_a_cell_per_type_and_check_and_the_rates(tmp_path):
    html = render(_report(tmp_path), "html")
    dom = parse(html)
    assert dom.find(id="check-rates") is not None and dom.find(id="declared") is not None
    assert dom.find(id="check-filter") is not None and dom.find(id="status-filter") is not None
    assert 'data-check="attention" data-status="failed"' in html


def test_junit_has_a_case_per_type_and_new_check(tmp_path):
    path = tmp_path / "r.xml"
    path.write_text(render(_report(tmp_path), "junit"))
    cases = [(c.classname.split(".")[-1], c.name, c.result) for suite in JUnitXml.fromfile(str(path)) for c in suite]
    assert {(mt, name) for mt, name, _ in cases} >= {("beta", "attention"), ("alpha", "cache")}
    beta = next(res for mt, name, res in cases if (mt, name) == ("beta", "attention"))
    assert any(isinstance(x, Failure) for x in beta)


def test_gaps_group_declared_vs_observed_by_flag_and_observation():
    groups = declared_gaps(_results())
    assert [(g.kind, g.model_types) for g in groups] == [(DECLARED_KIND, ("beta", "gamma")), (DECLARED_KIND, ("alpha",))]
    assert groups[0].reason == "attention: declares _supports_sdpa, observed: differs from eager"
