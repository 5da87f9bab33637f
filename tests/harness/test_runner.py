"""The runner with real workers running real, misbehaving job functions."""

from __future__ import annotations

import pytest

from hfscan.errors import UsageError
from hfscan.harness.records import Job, Status
from hfscan.harness.runner import Runner, RunnerOptions

CHECKS = ("build", "forward")


def _job(model_type: str, behaviour: str, timeout_s: float = 60.0) -> Job:
    return Job(model_type=model_type, model_class=behaviour, task="base", checks=CHECKS, timeout_s=timeout_s)


def _runner(**kw) -> Runner:
    return Runner(RunnerOptions(jobs=kw.pop("jobs", 1), job_fn="tests.harness.jobfns:behaving", preload=("torch",), **kw))


def _by(results):
    return {(r.model_type, r.check): r for r in results}


@pytest.fixture(scope="module")
def misbehaving_sweep():
    """One sweep of two workers where a segfault, a hang and a memory blow-up sit between good jobs."""
    jobs = [
        _job("a", "ok"),
        _job("seg", "segfault"),
        _job("b", "ok"),
        _job("hang", "hang", timeout_s=4),
        _job("blow", "blowup"),
        _job("raise", "raise"),
        _job("killed", "sigkill"),
        _job("c", "ok"),
    ]
    seen, finished = [], []
    outcome = _runner(jobs=2, mem_cap_mb=1200).run(jobs, on_result=seen.append, on_job=lambda j, rs: finished.append(j))
    return jobs, outcome, seen, finished


def test_crash_hang_and_blowup_are_recorded_and_the_sweep_goes_on(misbehaving_sweep):
    jobs, outcome, seen, finished = misbehaving_sweep
    by = _by(outcome.results)
    assert len(outcome.results) == 2 * len(jobs) and list(seen) == list(outcome.results)
    assert {j.model_type for j in finished} == {j.model_type for j in jobs}
    for mt in "abc":
        assert by[mt, "build"].status is Status.PASSED and by[mt, "forward"].status is Status.PASSED
        assert by[mt, "build"].param_count == 36
    for mt, status in (("seg", Status.CRASHED), ("hang", Status.TIMEOUT), ("blow", Status.OOM), ("killed", Status.OOM)):
        r = by[mt, "build"]
        assert r.status is status and r.stage == "build", r
        later = by[mt, "forward"]
        assert later.status is Status.SKIPPED and str(status) in later.message and "build" in later.message
    assert by["seg", "build"].error_type == "SIGSEGV"
    assert "1200 MB" in by["blow", "build"].message and "out-of-memory killer" in by["killed", "build"].message
    assert by["raise", "build"].status is Status.FAILED and by["raise", "build"].error_type == "RuntimeError"
    assert "contract broken" in by["raise", "build"].traceback
    assert not outcome.interrupted and outcome.ran_jobs == len(jobs)
    assert outcome.workers_started >= 4 and len(outcome.worker_peak_mb) == outcome.workers_started  # 4 killed
    assert all(r.key for r in outcome.results) and len({r.key for r in outcome.results}) == len(outcome.results)


def test_stored_results_are_reused_and_fresh_ones_are_not(misbehaving_sweep):
    jobs, first, _, _ = misbehaving_sweep
    stored = {r.key: r for r in first.results}
    runner = _runner(reuse_failures=True)  # crashed, timeout and oom results too: by default they are retried
    outcome = runner.run(jobs, lookup=lambda keys: {k: stored[k] for k in keys if k in stored})
    assert outcome.reused_jobs == len(jobs) and outcome.ran_jobs == 0 and outcome.workers_started == 0
    assert all(r.reused for r in outcome.results)
    assert sorted((r.key, r.status) for r in outcome.results) == sorted((r.key, r.status) for r in first.results)
    partial = {k: v for k, v in stored.items() if v.model_type != "a"}
    again = runner.run(jobs[:1], lookup=lambda keys: {k: partial[k] for k in keys if k in partial})
    assert again.ran_jobs == 1 and not any(r.reused for r in again.results)
    retried = {r.model_type for r in first.results if not _runner().reusable(r)}
    assert retried == {"seg", "hang", "blow", "killed"}  # what a default rerun runs again


def test_ctrl_c_marks_the_rest_interrupted():
    jobs = [_job("a", "ok"), _job("slow", "slow"), _job("b", "ok")]
    seen = []

    def interrupt_when_slow_starts(r):
        seen.append(r)
        if r.model_type == "a" and r.check == "forward":
            raise KeyboardInterrupt

    outcome = _runner().run(jobs, on_result=interrupt_when_slow_starts)
    by = _by(outcome.results)
    assert outcome.interrupted
    assert by["a", "build"].status is Status.PASSED
    assert {by[mt, c].status for mt in ("slow", "b") for c in CHECKS} == {Status.INTERRUPTED}


def test_a_bad_job_function_is_a_usage_error():
    with pytest.raises(UsageError, match="cannot load"):
        Runner(RunnerOptions(job_fn="tests.harness.jobfns:nope"))
    with pytest.raises(UsageError, match="not callable"):
        Runner(RunnerOptions(job_fn="tests.harness.jobfns:not_callable"))
    with pytest.raises(UsageError, match="module:attribute"):
        Runner(RunnerOptions(job_fn="tests.harness.jobfns"))


def test_a_worker_grown_past_the_recycle_mark_is_replaced_between_jobs():
    jobs = [_job(mt, "ok") for mt in "xy"]
    outcome = _runner(mem_cap_mb=1200, recycle_fraction=0.01).run(jobs)  # any worker is over 12 MB
    assert {r.status for r in outcome.results} == {Status.PASSED}
    assert outcome.workers_started == 2 and len(outcome.worker_peak_mb) == 2
