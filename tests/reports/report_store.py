"""A results store with several runs on clearly fake dates and versions, written through the Store API."""

from __future__ import annotations

from pathlib import Path

from hfscan.cache.store import Store
from hfscan.harness.records import CheckResult, RunInfo, Status

#: Two fake weeks, two fake transformers versions.
WEEK1, WEEK1_LATER, WEEK2 = "2026-11-05T09:00:00+00:00", "2026-11-06T09:00:00+00:00", "2026-11-13T09:00:00+00:00"
OLD_TF, NEW_TF = "5.23.0.fake", "5.24.0.fake"
HOSTILE = '<script>alert("x")</script> & </td> | `md` \x1b[31mred\x1b[0m \x00 ]]>'


def _r(model_type: str, check: str, status: Status, **kw) -> CheckResult:
    return CheckResult(model_type=model_type, check=check, status=status, model_class=f"{model_type.title()}Model",
                       family=kw.pop("family", "encoder"), duration_s=kw.pop("duration_s", 0.5),
                       param_count=kw.pop("param_count", 1000), **kw)


def _passes(model_type: str, family: str = "encoder", **kw) -> list[CheckResult]:
    return [_r(model_type, c, Status.PASSED, family=family, **kw) for c in ("build", "forward", "save-load")]


def _fails(model_type: str, family: str, stage: str, error_type: str, message: str) -> list[CheckResult]:
    return [
        _r(model_type, "build", Status.PASSED, family=family),
        _r(model_type, "forward", Status.FAILED, family=family, stage=stage, error_type=error_type, message=message,
           traceback="Traceback (most recent call last):\n  ...\n" + message),
        _r(model_type, "save-load", Status.SKIPPED, family=family, message="needs forward"),
    ]


def run_info(started_at: str, transformers_version: str, label: str) -> RunInfo:
    return RunInfo(id=None, started_at=started_at, hfscan_version="0.1.0", python_version="3.11.fake",
                   torch_version="2.13.0.fake", transformers_version=transformers_version, label=label)


def add_run(store: Store, info: RunInfo, results: list[CheckResult]) -> int:
    run = store.begin_run(info)
    for r in results:
        store.add_result(run.id, r)
    store.finish_run(run.id)
    return run.id


def week1() -> list[CheckResult]:
    return [
        *_passes("alpha"), *_passes("beta", family="decoder"), *_passes("retired"),
        *_fails("gamma", "decoder", "forward", "RuntimeError", "shape mismatch"),
        _r("delta", "build", Status.SKIPPED, family="audio", message="needs scipy"),
        _r("zeta", "build", Status.PASSED, family="audio"), _r("zeta", "forward", Status.PARTIAL, family="audio"),
    ]


def week2() -> list[CheckResult]:
    return [
        *_fails("alpha", "encoder", "forward", "ValueError", HOSTILE),  # regression
        *_passes("beta", family="decoder", override_hash="fakehash00000001"),
        *_passes("gamma", family="decoder"),  # newly passing
        _r("delta", "build", Status.XFAIL, family="audio", stage="build", error_type="ImportError", message="upstream bug"),
        _r("newcomer", "build", Status.PASSED, family="audio"),  # added by the fake upgrade
        _r("newcomer", "forward", Status.PARTIAL, family="audio", message="audio input left out"),
        *_fails("epsilon", "encoder", "forward", "ValueError", "expected 12 channels, got 7"),
        *_fails("zeta", "audio", "forward", "ValueError", "expected 3 channels, got 9"),  # partial before: a regression too
    ]


def build_history_store(path: Path) -> tuple[Path, dict[str, int]]:
    """Three runs: two in fake week 1 (old version), one in fake week 2 (new version)."""
    with Store(path) as store:
        ids = {
            "week1": add_run(store, run_info(WEEK1, OLD_TF, "fake week 1"), week1()),
            "week1_later": add_run(store, run_info(WEEK1_LATER, OLD_TF, "fake week 1, rerun"), week1()),
            "week2": add_run(store, run_info(WEEK2, NEW_TF, "fake week 2"), week2()),
        }
    return path, ids
