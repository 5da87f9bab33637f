"""The report's headline: top-level and sub-config coverage apart, per check; a type with nothing to test is not applicable."""

from __future__ import annotations

import json

from hfscan.cache.store import Store
from hfscan.harness.records import NOT_APPLICABLE_DETAIL, CheckResult, Coverage, Status, coverage_by_model_type
from hfscan.reports.report import build_report, render, to_json
from tests.reports.report_store import run_info


def _r(mt: str, check: str, status: Status, **kw) -> CheckResult:
    return CheckResult(mt, check, status, model_class=kw.pop("model_class", mt.title() + "Model"), **kw)


def _results() -> list[CheckResult]:
    full = ("build", "forward", "save-load")
    return [
        *(_r("alpha", c, Status.PASSED) for c in full), _r("alpha", "generate", Status.FAILED, message="boom"),
        *(_r("beta", c, Status.PASSED) for c in (*full, "generate")),
        *(_r("omega", c, Status.PASSED, override_hash="h" * 16) for c in full),
        _r("omega", "generate", Status.SKIPPED, message="not generative: OmegaModel has no generate()"),
        *(_r("beta_vision", c, Status.PASSED) for c in full),
        _r("beta_vision", "generate", Status.SKIPPED, message="not generative: BetaVisionModel has no generate()"),
        *(_r("alpha_text", c, Status.SKIPPED, model_class="", message="no model class to test: in no model mapping (not applicable)",
             details=json.dumps({NOT_APPLICABLE_DETAIL: True})) for c in (*full, "generate")),
    ]


def _report(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.begin_run(run_info("2026-11-20T09:00:00+00:00", "5.24.0.fake", "headline"),
                              subconfigs=["alpha_text", "beta_vision"])
        for r in _results():
            store.add_result(run.id, r)
        store.finish_run(run.id)
        return build_report(store)


def test_no_model_class_of_its_own_is_not_applicable_not_skipped():
    cov = coverage_by_model_type(_results())
    assert cov["alpha_text"] is Coverage.NOT_APPLICABLE and Coverage.SKIPPED not in cov.values()


def test_headline_counts_top_level_and_sub_configs_apart_per_check(tmp_path):
    report = _report(tmp_path)
    top, sub = report.coverage.headline
    assert (top.population, top.model_types, top.not_applicable) == ("top-level", 3, 0)
    assert top.measure_checks == ("build", "forward", "save-load")
    assert (top.measure_pass, top.applicable) == (2, 3)  # omega passed with an override: not a generic pass
    assert top.checks == {"build": (3, 3), "forward": (3, 3), "save-load": (3, 3), "generate": (1, 2)}
    assert (sub.population, sub.model_types, sub.not_applicable, sub.measure_pass, sub.applicable) == ("sub-config", 2, 1, 1, 1)
    assert sub.checks["generate"] == (0, 0)  # nothing generative among them
    data = to_json(report)
    assert data["totals"]["by_category"]["not applicable"] == 1 and data["totals"]["by_category"]["skipped"] == 0
    assert data["totals"]["pass_rate"] == round(3 / 4, 4)  # beta, omega, beta_vision of the 4 applicable
    assert data["headline"][0]["measure"] == {"checks": ["build", "forward", "save-load"], "generic_pass": 2, "of": 3, "rate": 0.6667}
    md = render(report, "md")
    assert "- **top-level**: 3 model types; build+forward+save-load generic pass 2 of 3 (66.7%)" in md
    assert "- **sub-config**: 2 model types (1 not applicable: no model class of their own)" in md
    html = render(report, "html")
    assert 'data-population="sub-config"' in html and "1 of 1 (100.0%)" in html


def test_planning_marks_a_type_with_no_model_class_not_applicable(inventory, classifications):
    from hfscan.harness.selection import select
    from hfscan.pipeline import RunRequest, plan

    candidates = tuple(r.model_type for r in inventory if not r.tasks and r.is_subconfig)
    request = RunRequest(model_types=candidates, checks=("build", "forward"))
    jobs, unplanned = plan(inventory, select(inventory, request.model_types), classifications, request, "cpu")
    cov = coverage_by_model_type(unplanned)
    assert cov and set(cov.values()) == {Coverage.NOT_APPLICABLE} and not cov.keys() & {j.model_type for j in jobs}
