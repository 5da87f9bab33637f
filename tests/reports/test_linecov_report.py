"""Reports and gaps show modeling-code line coverage, lowest first."""

from __future__ import annotations

import json

from hfscan.harness.records import CheckResult, Status
from hfscan.reports.linecov import histogram, line_coverage, line_coverage_through, not_built, summary_line


def _result(mt: str, run: list[int], lines: int = 10) -> CheckResult:
    cov = {"files": {f"{mt}/modeling_{mt}.py": {"lines": lines, "run": run}}}
    return CheckResult(mt, "forward", Status.PASSED, details=json.dumps({"coverage": cov}))


def test_types_are_ordered_lowest_first_and_summarised():
    cov = line_coverage([_result("a", [1, 2, 3, 4, 5, 6, 7, 8]), _result("b", [1]), CheckResult("c", "build", Status.PASSED)])
    assert list(cov.items()) == [("b", 0.1), ("a", 0.8)]
    assert summary_line(cov) == "modeling-code line coverage: median 45.0% over 2 types (lowest: b 10%, a 80%)"
    assert [b["count"] for b in histogram(cov)] == [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    assert summary_line({}) is None


def test_types_never_built_are_counted_apart_by_reason():
    results = [_result("a", [1, 2, 3, 4, 5, 6, 7, 8]), _result("b", [1, 2, 3, 4, 5, 6]), _result("c", [])]
    results += [CheckResult("a", "build", Status.PASSED), CheckResult("b", "build", Status.PASSED),
                CheckResult("c", "build", Status.SKIPPED, message="needs timm (pip install timm)")]
    unbuilt = not_built(results)
    assert unbuilt == {"c": "needs timm"}
    line = summary_line(line_coverage(results), unbuilt)
    assert line.startswith("modeling-code line coverage: median 70.0% over 2 types built (lowest: b 60%")
    assert "1 measured types not built, not counted (needs timm: 1); with them: median 60.0% over 3" in line


def test_coverage_through_a_check_counts_each_jobs_results_up_to_it():
    def r(check, run):
        cov = {"files": {"m/modeling_m.py": {"lines": 10, "run": run}}}
        return CheckResult("m", check, Status.PASSED, model_class="M", details=json.dumps({"coverage": cov}))

    results = [r("build", [1]), r("forward", [1, 2, 3]), r("batch", [1, 2, 3, 4, 5])]
    order = ["build", "forward", "generate", "batch", "outputs"]
    assert line_coverage_through(results, order, "build") == {"m": 0.1}
    assert line_coverage_through(results, order, "generate") == {"m": 0.3}  # generate did not apply: forward's
    assert line_coverage_through(results, order, "outputs") == {"m": 0.5}


def test_every_report_format_shows_line_coverage(tmp_path):
    import jsonschema

    from hfscan.cache.store import Store
    from hfscan.harness.records import RunInfo
    from hfscan.reports.report import SCHEMA_PATH, build_report, render

    with Store(tmp_path / "s.sqlite") as store:
        run = store.begin_run(RunInfo(id=None, started_at="2026-12-01T00:00:00", hfscan_version="0", python_version="3",
                                      torch_version="2", transformers_version="5"))
        store.add_result(run.id, _result("alpha", [1, 2]))
        store.add_result(run.id, _result("beta", [1, 2, 3, 4, 5]))
        store.finish_run(run.id, "finished")
        report = build_report(store)
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["line_coverage"] == {"alpha": 0.2, "beta": 0.5}
    assert "| alpha | 20.0% |" in render(report, "md")
    html = render(report, "html")
    assert 'id="coverage-histogram"' in html and 'id="line-coverage"' in html
