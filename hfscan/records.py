"""Records shared by every stage, below all of them: checks, statuses, coverage categories, results, jobs, runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Iterable

#: Checks in the order they run; a later check needs the earlier ones to pass.
CHECKS = ("build", "forward", "fidelity", "save-load", "generate")


class Status(str, Enum):
    PASSED = "passed"
    PARTIAL = "partial"  # ran, but not with everything the model takes (e.g. a modality left out)
    FAILED = "failed"
    XFAIL = "xfail"  # failed, and an override says it is expected (with the upstream cause)
    SKIPPED = "skipped"  # not run, with a reason (e.g. "needs scipy")
    CRASHED = "crashed"  # the worker process died (segfault, abort)
    TIMEOUT = "timeout"
    OOM = "oom"
    INTERRUPTED = "interrupted"  # the sweep was stopped before this ran

    def __str__(self) -> str:
        return self.value


#: Statuses that count as a failure of the model (not of the sweep).
FAILING = frozenset({Status.FAILED, Status.CRASHED, Status.TIMEOUT, Status.OOM})


class Coverage(str, Enum):
    """The coverage categories every summary and report uses."""

    GENERIC_PASS = "generic pass"
    OVERRIDE_PASS = "pass with override"
    PARTIAL = "partial"
    EXPECTED_FAILURE = "expected failure"
    UNEXPECTED_FAILURE = "unexpected failure"
    SKIPPED = "skipped"
    NOT_RUN = "not run"
    NOT_APPLICABLE = "not applicable"  # nothing to test: no model class of its own (e.g. a text sub-config)

    def __str__(self) -> str:
        return self.value


#: Marks a result whose model type has nothing to test (no model class of its own): not applicable, never "skipped".
NOT_APPLICABLE_DETAIL = "not_applicable"


def not_applicable(results: Iterable["CheckResult"]) -> bool:
    """Whether these results of one model type say there is nothing to test (stores of older versions: by the message)."""
    results = list(results)
    return bool(results) and all(
        r.status is Status.SKIPPED and (r.detail.get(NOT_APPLICABLE_DETAIL) or (r.message or "").startswith("no model class to test"))
        for r in results
    )


@dataclass(frozen=True)
class CheckResult:
    model_type: str
    check: str
    status: Status
    model_class: str = ""
    task: str = ""
    family: str | None = None
    stage: str | None = None  # where it stopped: config, inputs, build, forward, assert, save, load, generate
    error_type: str | None = None
    message: str | None = None
    traceback: str | None = None
    duration_s: float = 0.0
    param_count: int | None = None
    peak_mem_mb: float | None = None
    override_hash: str | None = None  # set when an override applied
    key: str = ""  # incremental-rerun key (see harness.keys)
    details: str = "{}"  # JSON text: free-form facts (shapes, tiny config summary)
    source: str = "config"  # "config" (random weights) or "checkpoint"
    reused: bool = field(default=False, compare=False)

    @property
    def override_applied(self) -> bool:
        return bool(self.override_hash)

    @property
    def detail(self) -> dict:
        try:
            return json.loads(self.details or "{}")
        except ValueError:
            return {}

    def with_(self, **changes) -> "CheckResult":
        return replace(self, **changes)


def coverage_of(statuses: list[Status], override_applied: bool) -> Coverage:
    """One model type's coverage category from the statuses of its checks."""
    if not statuses:
        return Coverage.NOT_RUN
    s = set(statuses)
    if s & FAILING:
        return Coverage.UNEXPECTED_FAILURE
    if Status.XFAIL in s:
        return Coverage.EXPECTED_FAILURE
    if Status.INTERRUPTED in s:
        return Coverage.NOT_RUN
    if Status.PARTIAL in s:
        return Coverage.PARTIAL
    if s == {Status.SKIPPED}:
        return Coverage.SKIPPED
    if Status.PASSED in s:
        return Coverage.OVERRIDE_PASS if override_applied else Coverage.GENERIC_PASS
    return Coverage.SKIPPED


def coverage_by_model_type(results: Iterable[CheckResult]) -> dict[str, Coverage]:
    """Each model type's coverage category from all its results (an override on any check counts)."""
    per_type: dict[str, list[CheckResult]] = {}
    for r in results:
        per_type.setdefault(r.model_type, []).append(r)
    return {
        mt: Coverage.NOT_APPLICABLE if not_applicable(rs) else coverage_of([r.status for r in rs], any(r.override_applied for r in rs))
        for mt, rs in per_type.items()
    }


@dataclass(frozen=True)
class RunInfo:
    """One sweep: when, on what, with which arguments."""

    id: int | None
    started_at: str
    hfscan_version: str
    python_version: str
    torch_version: str | None
    transformers_version: str
    device: str = "cpu"
    device_name: str = ""
    dtype: str = "float32"
    args: str = "{}"  # JSON text of the command's arguments
    finished_at: str | None = None
    status: str = "running"  # running, finished, interrupted
    label: str = ""


#: Smoke-test templates a leaf family may name.  The harness's data file
#: ``hfscan/data/templates.toml`` says, per template, which task's class is the
#: representative head, which checks apply and which modalities it is fed.
TEMPLATES = (
    "text-encoder",
    "causal-lm",
    "seq2seq-lm",
    "image-encoder",
    "image-classification",
    "object-detection",
    "segmentation",
    "depth-estimation",
    "contrastive",
    "image-text-to-text",
    "vision-encoder-decoder",
    "speech-encoder",
    "speech-seq2seq",
    "text-to-audio",
    "audio-codec",
    "video",
    "time-series",
    "generic",
)


@dataclass(frozen=True)
class Job:
    """One model class of one model type to smoke-test, as the runner hands it to a worker."""

    model_type: str
    model_class: str
    task: str
    checks: tuple[str, ...] = ("build", "forward", "save-load", "generate")
    family: str | None = None
    template: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    timeout_s: float = 120.0
    override: str | None = None  # JSON text of the override entry that applies, if any
    override_hash: str | None = None
    source: str = "config"  # "config" (random weights) or "checkpoint"
    checkpoint: str | None = None  # local path or repo id@sha when source == "checkpoint"
    compile_backend: str | None = None  # torch.compile's backend for `compile` (None: the device's default)
    export_strict: bool = False  # torch.export in strict mode (TorchDynamo) for the export checks
