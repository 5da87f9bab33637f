"""Failures hfscan recognises are typed: their kind and subject go into the result's details."""

from __future__ import annotations

import json

import pytest

from hfscan.harness.attempt import Attempt
from hfscan.harness.failures import (ConfigRejected, FailedAfterRepair, MissingPackage, NoInputBuilder, cause_of)
from hfscan.harness.smoke import _failure, typed_failure
from hfscan.records import Job, Status

JOB = Job("x", "XModel", "base")


def _missing_timm() -> ImportError:
    """The error transformers' own requires_backends raises for timm (not installed for the tests)."""
    from transformers.utils.import_utils import requires_backends

    try:
        requires_backends(object, ["timm"])
    except ImportError as exc:
        return exc
    raise AssertionError("timm is installed")


def test_known_failures_are_typed_with_their_cause():
    cause = _missing_timm()
    typed = typed_failure(cause, "build", [])
    assert isinstance(typed, MissingPackage) and typed.subject == "timm" and cause_of(typed) is cause
    rejected = typed_failure(ValueError("head_dim must divide hidden_size"), "config", [])
    assert isinstance(rejected, ConfigRejected) and rejected.subject == "ValueError"
    repaired = typed_failure(RuntimeError("size 3 != 4"), "forward", ["swap_axes", "widen"])
    assert isinstance(repaired, FailedAfterRepair) and repaired.subject == "swap_axes, widen"
    assert typed_failure(RuntimeError("size 3 != 4"), "forward", []) is None  # nothing hfscan knows about it
    own = NoInputBuilder("no input builder for required forward() argument(s) boxes", "boxes")
    assert typed_failure(own, "inputs", []) is own


@pytest.mark.parametrize("error, stage, repairs, status, kind, subject, error_type", [
    (_missing_timm(), "build", [], Status.SKIPPED, "missing-package", "timm", "ImportError"),
    (ValueError("bad value 3"), "config", [], Status.FAILED, "config-rejected", "ValueError", "ValueError"),
    (RuntimeError("size 3 != 4"), "forward", ["swap_axes"], Status.FAILED, "failed-after-repair", "swap_axes",
     "RuntimeError"),
    (NoInputBuilder("no input builder for required forward() argument(s) boxes", "boxes"), "inputs", [],
     Status.FAILED, "no-input-builder", "boxes", "NoInputBuilder"),
])
def test_the_kind_is_recorded_in_the_details_and_the_cause_keeps_type_and_message(error, stage, repairs, status, kind,
                                                                                   subject, error_type):
    a = Attempt(level="tiny", stage=stage, error=error, repairs=repairs)
    r = _failure(JOB, "forward", a, None, {"level": "tiny"})
    assert r.status is status and r.error_type == error_type
    details = json.loads(r.details)
    assert details["failure_kind"] == kind and details["failure_subject"] == subject and details["level"] == "tiny"
    if status is Status.FAILED:
        assert r.message == str(error)


def test_an_unknown_failure_has_no_kind():
    r = _failure(JOB, "forward", Attempt(level="tiny", stage="forward", error=RuntimeError("boom")), None, {})
    assert r.status is Status.FAILED and "failure_kind" not in json.loads(r.details)
