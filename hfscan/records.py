"""Records shared by every stage, below all of them: checks, statuses, coverage categories, results, jobs, runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Iterable

#: Checks in the order they run; a later check needs the earlier ones to pass.
CHECKS = ("build", "forward", "save-load", "generate")


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

    def __str__(self) -> str:
        return self.value


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
    statuses: dict[str, list[Status]] = {}
    overridden: set[str] = set()
    for r in results:
        statuses.setdefault(r.model_type, []).append(r.status)
        if r.override_applied:
            overridden.add(r.model_type)
    return {mt: coverage_of(s, mt in overridden) for mt, s in statuses.items()}


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
