"""The cross-architecture ranking of capture failures and graph breaks groups identical causes across models."""

from __future__ import annotations

import json

from hfscan.harness.records import CheckResult, Status
from hfscan.reports.capture import capture_causes, capture_rates


def _failed(mt: str, check: str, category: str, message: str, frame: str) -> CheckResult:
    details = {check: {"category": category, "frame": frame}}
    return CheckResult(mt, check, Status.FAILED, stage=check, error_type="GuardOnDataDependentSymNode",
                       message=message, details=json.dumps(details), family="dense-decoder")


def _broke(mt: str, reason: str, frame: str) -> CheckResult:
    details = {"compile": {"breaks": 1, "break_reasons": [{"reason": reason, "frame": frame}]}}
    return CheckResult(mt, "compile", Status.PASSED, details=json.dumps(details), family="dense-decoder")


def test_identical_causes_across_models_are_one_group_ranked_by_architectures():
    results = [
        _failed("alpha", "export", "data-dependent control flow or shape",
                "data-dependent control flow or shape: Could not guard on u0 > 12", "models/alpha/modeling_alpha.py:10"),
        _failed("beta", "export", "data-dependent control flow or shape",
                "data-dependent control flow or shape: Could not guard on u1 > 40", "models/beta/modeling_beta.py:99"),
        _failed("gamma", "onnx", "operator the exporter lacks", "operator the exporter lacks: No ONNX function for x",
                "models/gamma/modeling_gamma.py:5"),
        _broke("alpha", "Data-dependent jump in alpha at 0x7f00", "models/alpha/modeling_alpha.py:3"),
        _broke("delta", "Data-dependent jump in delta at 0x7f11", "models/delta/modeling_delta.py:4"),
        CheckResult("eps", "export", Status.PASSED, family="vision"),
    ]
    causes = capture_causes(results)
    top = causes[:2]
    assert {c.kind for c in top} == {"failure", "graph break"}
    export = next(c for c in causes if c.check == "export")
    assert export.model_types == ("alpha", "beta")
    assert export.frames == ("models/alpha/modeling_alpha.py:10", "models/beta/modeling_beta.py:99")
    breaks = next(c for c in causes if c.kind == "graph break")
    assert breaks.model_types == ("alpha", "delta") and "<model>" in breaks.cause
    assert causes[-1].model_types == ("gamma",)
    rates = capture_rates(results, {})
    assert rates["export"]["dense-decoder"] == {"passed": 0, "ran": 2}
    assert rates["export"]["vision"] == {"passed": 1, "ran": 1}


def test_results_of_other_checks_are_not_capture_causes():
    assert capture_causes([CheckResult("a", "forward", Status.FAILED, message="boom")]) == []


def test_every_report_format_shows_the_ranked_capture_causes(tmp_path):
    import jsonschema

    from hfscan.cache.store import Store
    from hfscan.harness.records import RunInfo
    from hfscan.reports.report import SCHEMA_PATH, build_report, render

    with Store(tmp_path / "s.sqlite") as store:
        run = store.begin_run(RunInfo(id=None, started_at="2026-12-01T00:00:00", hfscan_version="0", python_version="3",
                                      torch_version="2", transformers_version="5"))
        for r in (_failed("alpha", "export", "data-dependent control flow or shape", "data-dependent: [u0 > 1]",
                          "models/alpha/modeling_alpha.py:10"),
                  _failed("beta", "export", "data-dependent control flow or shape", "data-dependent: [u1 > 2]",
                          "models/beta/modeling_beta.py:9")):
            store.add_result(run.id, r)
        store.finish_run(run.id, "finished")
        report = build_report(store)
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["capture_causes"][0]["model_types"] == ["alpha", "beta"]
    md = render(report, "md")
    assert "Graph capture: causes by architectures blocked" in md and "models/alpha/modeling_alpha.py:10" in md
    html = render(report, "html")
    assert 'id="capture-causes"' in html and "[u0" not in html.split('id="capture-causes"')[1].split("</table>")[0]


def test_gaps_prints_the_capture_pass_rates_per_family_and_all_together(capsys):
    from hfscan.reports.gaps_view import print_capture_rates

    results = [CheckResult("a", "export", Status.PASSED), CheckResult("b", "export", Status.FAILED),
               CheckResult("c", "compile", Status.PASSED), CheckResult("c", "export", Status.SKIPPED)]
    print_capture_rates(capture_rates(results, {"a": "dense-decoder", "b": "dense-decoder", "c": "vision"}))
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()[2:] if ln.strip()}
    assert out.splitlines()[2].split()[1:] == ["compile", "export"]  # the registry's order
    assert lines["dense-decoder"] == ["-", "1/2"] and lines["vision"] == ["1/1", "-"] and lines["all"] == ["1/1", "1/2"]
    assert "graph capture pass rates per family" in out
