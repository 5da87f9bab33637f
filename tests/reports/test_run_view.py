"""The run summary counts model types per family by coverage category."""

from __future__ import annotations

from rich.console import Console

from hfscan.harness.records import CheckResult, Coverage, Status, coverage_by_model_type
from hfscan.reports.run_view import print_summary


def _r(mt, check, status, **kw):
    return CheckResult(mt, check, status, **kw)


RESULTS = [
    _r("bert", "build", Status.PASSED), _r("bert", "forward", Status.PASSED),
    _r("gpt2", "build", Status.PASSED), _r("gpt2", "forward", Status.FAILED, stage="forward", error_type="RuntimeError", message="bad shape\nmore"),
    _r("vit", "build", Status.PASSED, override_hash="abc"), _r("vit", "forward", Status.PASSED),
    _r("t5", "build", Status.INTERRUPTED),
]


def test_coverage_per_model_type():
    assert coverage_by_model_type(RESULTS) == {
        "bert": Coverage.GENERIC_PASS, "gpt2": Coverage.UNEXPECTED_FAILURE,
        "vit": Coverage.OVERRIDE_PASS, "t5": Coverage.NOT_RUN,
    }


def test_summary_lists_families_totals_failures_and_notes():
    console = Console(record=True, width=150)
    families = {"bert": "text-encoder", "gpt2": "dense-decoder", "vit": "image-classifier"}
    print_summary(RESULTS, families, ["imagebind (medium): not in transformers 5.24.0"], console)
    text = console.export_text()
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in text.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}
    assert rows["text-encoder"][0] == "1" and rows["(unclassified)"][0] == "1" and rows["all"][0] == "4"
    assert "failed gpt2  forward at forward: RuntimeError: bad shape" in text and "more" not in text.split("bad shape")[1][:10]
    assert text.rstrip().endswith("imagebind (medium): not in transformers 5.24.0")
