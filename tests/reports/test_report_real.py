"""A report over history that ends in a run of real harness results (tiny bert and gpt2, built and run here)."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest
import torch

from hfscan.cache.store import Store
from hfscan.harness.records import RunInfo, Status
from hfscan.harness.selection import Selection
from hfscan.harness.smoke import run_job
from hfscan.pipeline import RunRequest, plan
from hfscan.reports.report import SCHEMA_PATH, build_report, render
from tests.reports.html_dom import parse
from tests.reports.report_store import add_run, build_history_store

pytestmark = pytest.mark.slow

REAL_TYPES = ("bert", "gpt2")
FAKE_WEEK3 = "2026-11-20T09:00:00+00:00"  # a fake date; the versions and results are real


@pytest.fixture(scope="module")
def real_store(tmp_path_factory, inventory):
    import transformers

    from hfscan.classifiers import classify

    torch.set_num_threads(1)
    path, ids = build_history_store(tmp_path_factory.mktemp("real") / "store.sqlite")
    classifications = {mt: classify(inventory.get(mt), inventory) for mt in REAL_TYPES}
    selection = Selection(REAL_TYPES, (), transformers.__version__)
    jobs, unplanned = plan(inventory, selection, classifications, RunRequest(model_types=REAL_TYPES), "cpu")
    assert not unplanned and {j.model_type for j in jobs} == set(REAL_TYPES)
    results = [r for job in jobs for r in run_job(job)]
    info = RunInfo(id=None, started_at=FAKE_WEEK3, hfscan_version="0.1.0", python_version="real",
                   torch_version=torch.__version__, transformers_version=transformers.__version__, label="real harness results")
    with Store(path) as store:
        ids["real"] = add_run(store, info, results)
    return path, ids, results


def test_real_results_are_reported(real_store):
    path, ids, results = real_store
    assert all(r.status is Status.PASSED for r in results), [(r.model_type, r.check, r.message) for r in results if r.status is not Status.PASSED]
    with Store(path) as store:
        report = build_report(store, since=timedelta(days=7))
    assert report.coverage.run.id == ids["real"] and report.comparison.baseline.id == ids["week2"]
    assert set(report.comparison.added) == set(REAL_TYPES)  # the fake types of earlier weeks are all gone
    rows = {r.model_type: r for r in report.coverage.rows}
    for r in results:
        assert rows[r.model_type].family == r.family and rows[r.model_type].checks[r.check].status == r.status
        assert rows[r.model_type].param_count == r.param_count > 0

    data = json.loads(render(report, "json"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["totals"]["by_category"]["generic pass"] == len(REAL_TYPES) and data["totals"]["pass_rate"] == 1.0
    assert data["run"]["torch_version"] == torch.__version__ and [p["pass_rate"] for p in data["trend"]][-1] == 1.0

    dom = parse(render(report, "html"))
    table_rows = dom.find("table", id="models").find_all("tr", pred=lambda n: "data-model-type" in n.attrs)
    assert sorted(tr.attrs["data-model-type"] for tr in table_rows) == sorted(REAL_TYPES)
    md = render(report, "md")
    assert f"| {results[0].model_type} |" in md and "Model types removed: 7" in md
