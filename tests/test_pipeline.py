"""Planning in the pipeline: every selected model type gets jobs or a result saying why not."""

from __future__ import annotations

from hfscan.classifiers import classify_all
from hfscan.harness.records import Status
from hfscan.harness.selection import select
from hfscan.pipeline import RunRequest, plan


def test_every_selected_type_gets_jobs_or_a_skip_with_a_reason(inventory):
    no_class = next(r.model_type for r in inventory if not r.tasks)  # a sub-config type in no model mapping
    classifications = classify_all(inventory)
    request = RunRequest(model_types=("bert", "gpt2", no_class), checks=("build", "forward"), timeout_s=7)
    selection = select(inventory, request.model_types)
    jobs, unplanned = plan(inventory, selection, classifications, request, "cpu")
    planned = {j.model_type for j in jobs} | {r.model_type for r in unplanned}
    assert planned == {"bert", "gpt2", no_class}
    for job in jobs:
        assert job.checks == ("build", "forward") and job.timeout_s == 7 and job.device == "cpu"
        assert job.family == classifications[job.model_type].family
        record = inventory.get(job.model_type)
        assert job.model_class in record.model_classes + record.unmapped_classes or job.override
    for r in unplanned:
        assert r.status is Status.SKIPPED and r.message and r.check in ("build", "forward")


def test_jobs_run_longest_first_by_the_latest_run(tmp_path):
    from hfscan.cache.store import Store, now
    from hfscan.harness.records import CheckResult, Job, RunInfo
    from hfscan.pipeline import longest_first

    jobs = [Job("a", "A", "base"), Job("b", "B", "base"), Job("c", "C", "base"), Job("new", "N", "base")]
    with Store(tmp_path / "s.sqlite") as store:
        assert longest_first(jobs, store) == jobs  # no history: order kept
        run = store.begin_run(RunInfo(None, now(), "0", "3", "2", "5"))
        for mt, cls, took in (("a", "A", 0.1), ("b", "B", 2.0), ("b", "B", 1.0), ("c", "C", 0.5)):
            store.add_result(run.id, CheckResult(mt, "build", Status.PASSED, model_class=cls, duration_s=took))
        assert [j.model_type for j in longest_first(jobs, store)] == ["new", "b", "c", "a"]


def test_an_unchanged_rerun_plans_from_the_cache_and_a_changed_argument_plans_again(inventory, monkeypatch, tmp_path):
    import hfscan.harness.smoke as smoke
    import hfscan.pipeline as pipeline
    from hfscan.harness.plancache import PlanCache

    monkeypatch.setattr(pipeline, "plan_cache", lambda: PlanCache(tmp_path / "plan.json"))
    classifications = classify_all(inventory)
    request = RunRequest(model_types=("bert", "gpt2"), checks=("build", "forward"), timeout_s=7)
    selection = select(inventory, request.model_types)
    first, _ = plan(inventory, selection, classifications, request, "cpu")
    assert (tmp_path / "plan.json").is_file()

    def no_planning(*args, **kwargs):
        raise AssertionError("planned again")

    monkeypatch.setattr(smoke, "plan_jobs", no_planning)
    again, unplanned = plan(inventory, selection, classifications, request, "cpu")
    assert again == first and not unplanned
    changed, unplanned = plan(inventory, selection, classifications, RunRequest(**{**request.__dict__, "timeout_s": 8}),
                              "cpu")
    assert not changed and {r.stage for r in unplanned} == {"plan"}  # a miss plans (here: the stub refuses)


def test_the_plan_cache_is_named_by_the_installation_and_the_harness(monkeypatch):
    import hfscan.pipeline as pipeline
    from hfscan.harness.keys import code_digest
    from hfscan.scanner.discover import installation_key

    path = pipeline.plan_cache().path
    assert path.name == f"{installation_key()}-{code_digest()}.json"
    monkeypatch.setenv("HFSCAN_NO_PLAN_CACHE", "1")
    assert pipeline.plan_cache().path is None


def test_jobs_carry_the_compile_backend_the_device_defaults_to_unless_asked_and_export_strict(inventory):
    classifications = classify_all(inventory)
    selection = select(inventory, ("bert",))
    cpu, _ = plan(inventory, selection, classifications, RunRequest(model_types=("bert",), checks=("compile",)), "cpu")
    assert [(j.compile_backend, j.export_strict) for j in cpu] == [("aot_eager", False)]
    cuda, _ = plan(inventory, selection, classifications, RunRequest(model_types=("bert",), checks=("compile",)), "cuda")
    assert cuda[0].compile_backend == "inductor"
    asked = RunRequest(model_types=("bert",), checks=("compile",), compile_backend="eager", export_strict=True)
    chosen, _ = plan(inventory, selection, classifications, asked, "cpu")
    assert (chosen[0].compile_backend, chosen[0].export_strict) == ("eager", True)
