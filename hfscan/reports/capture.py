"""The cross-architecture view of graph capture: what blocks the most architectures first.

From the capture checks' results (``compile``, ``export``, ``onnx``, ``openvino``, ``executorch``) it ranks causes
by how many model types each blocks: a failed capture by its check, category and error signature; a graph break
(a compile that passed but broke its graph) by its reason. Each cause lists the model source lines it stopped at,
since that is what a compiler or exporter team fixes first. Pass rates per check and family come with it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from hfscan.records import FAILING, CheckResult, Status
from hfscan.reports.gaps import error_signature

CAPTURE_CHECKS = ("compile", "export", "onnx", "openvino", "executorch")


@dataclass(frozen=True)
class CaptureCause:
    check: str
    kind: str  # "failure" or "graph break"
    cause: str
    model_types: tuple[str, ...]
    frames: tuple[str, ...]  # model source lines (models/<type>/modeling_<type>.py:LINE) it happened at

    def to_json(self) -> dict:
        return {"check": self.check, "kind": self.kind, "cause": self.cause, "model_types": list(self.model_types),
                "frames": list(self.frames)}


def capture_causes(results: Iterable[CheckResult]) -> list[CaptureCause]:
    """Capture failures and graph breaks grouped by cause, the cause blocking the most model types first."""
    types: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    frames: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in results:
        if r.check not in CAPTURE_CHECKS:
            continue
        observed = r.detail.get(r.check) or {}
        if r.status in FAILING:
            key = (r.check, "failure", _cause(r, observed.get("category")))
            types[key].add(r.model_type)
            if observed.get("frame"):
                frames[key].add(observed["frame"])
        for br in observed.get("break_reasons") or () if r.status is Status.PASSED else ():
            key = (r.check, "graph break", _masked(br.get("reason") or "", r.model_type))
            types[key].add(r.model_type)
            if br.get("frame"):
                frames[key].add(br["frame"])
    causes = [CaptureCause(check, kind, cause, tuple(sorted(mts)), tuple(sorted(frames[(check, kind, cause)])))
              for (check, kind, cause), mts in types.items()]
    return sorted(causes, key=lambda c: (-len(c.model_types), c.check, c.kind, c.cause))


#: Symbolic sizes a tracer names per trace (s0, u1): masked so one cause reads alike in every model.
_SYMBOLS = re.compile(r"\b[su]\d+\b")


def _signature(result: CheckResult) -> str:
    return _SYMBOLS.sub("<sym>", error_signature(result))


def _cause(result: CheckResult, category: str | None) -> str:
    """``category: what the tool said`` (sizes, names and symbols masked), the category written once."""
    said = _signature(result).split(": ", 1)[-1]  # less the error type
    if category and said.startswith(f"{category}: "):
        said = said[len(category) + 2:]
    return f"{category or result.error_type}: {said}"


def _masked(reason: str, model_type: str) -> str:
    probe = CheckResult(model_type=model_type, check="compile", status=Status.PASSED, message=reason)
    return _signature(probe).split(": ", 1)[-1]


def capture_rates(results: Iterable[CheckResult], families: dict[str, str | None]) -> dict[str, dict[str, dict]]:
    """{check: {family: {"passed": n, "ran": n}}} over the capture checks that ran (skips not counted)."""
    table: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(lambda: {"passed": 0, "ran": 0}))
    for r in results:
        if r.check in CAPTURE_CHECKS and r.status is not Status.SKIPPED:
            cell = table[r.check][families.get(r.model_type) or r.family or "(unclassified)"]
            cell["ran"] += 1
            cell["passed"] += r.status in (Status.PASSED, Status.PARTIAL)
    return {check: dict(fams) for check, fams in table.items()}
