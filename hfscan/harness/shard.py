"""One sweep split into N shards: which shard this process is, and which model types it runs.

Pure functions.  The split is by model type (all of a type's classes and
checks run in one shard), balanced by the time each type took in a stored run:
longest processing time first, each onto the shard with the least load so far
(ties: the lower shard).  A type with no measured time costs its family's
median (else the median of every measured type, else 1 s).  The same selection
and the same durations give the same split in every process.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import statistics
from dataclasses import dataclass
from typing import Iterable, Mapping

from hfscan.errors import UsageError
from hfscan.harness.records import CheckResult, Status

#: Where a scheduler puts this process's shard index: (variable, first index).
INDEX_ENV = (("JOB_COMPLETION_INDEX", 0), ("SLURM_ARRAY_TASK_ID", None))
#: Where the number of shards may come from when ``--shard auto`` gives none.
COUNT_ENV = ("HFSCAN_SHARD_COUNT", "SLURM_ARRAY_TASK_COUNT")
_SPEC = re.compile(r"^\s*(\d+|auto)\s*(?:/\s*(\d+))?\s*$")


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"--shard auto: {name}={value!r} is not a number")
    return int(value)


def _env_index(env: Mapping[str, str]) -> int:
    """The 1-based shard index a scheduler set: JOB_COMPLETION_INDEX (0-based), else the SLURM array task id."""
    for name, first in INDEX_ENV:
        value = _env_int(env, name)
        if value is not None:
            if first is None:  # a SLURM array may start anywhere (--array=0-3 or 1-4)
                first = _env_int(env, "SLURM_ARRAY_TASK_MIN") or 0
            return value - first + 1
    raise UsageError("--shard auto: no shard index in the environment (JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID); use --shard K/N")


def parse_shard(text: str, env: Mapping[str, str]) -> ShardSpec:
    """``K/N`` (1-based), ``auto/N`` (index from the scheduler) or ``auto`` (count from the environment too)."""
    m = _SPEC.match(text or "")
    if not m:
        raise UsageError(f"--shard {text!r}: expected K/N (e.g. 2/4), auto/N or auto")
    count = int(m.group(2)) if m.group(2) else None
    if m.group(1) == "auto":
        index = _env_index(env)
        if count is None:
            count = next((c for c in (_env_int(env, n) for n in COUNT_ENV) if c is not None), None)
            if count is None:
                raise UsageError(f"--shard auto: no shard count ({' or '.join(COUNT_ENV)}); use --shard auto/N")
    else:
        index = int(m.group(1))
        if count is None:
            raise UsageError(f"--shard {text!r}: expected K/N (e.g. 2/4), auto/N or auto")
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {index}/{count}: the index must be between 1 and the count (at least 1)")
    return ShardSpec(index, count)


def measured_durations(results: Iterable[CheckResult]) -> dict[str, float]:
    """Seconds each model type took in a run (its checks that ran; interrupted ones never count)."""
    took: dict[str, float] = {}
    for r in results:
        if r.status is not Status.INTERRUPTED:
            took[r.model_type] = took.get(r.model_type, 0.0) + r.duration_s
    return {mt: round(s, 3) for mt, s in took.items()}


def type_costs(
    model_types: Iterable[str], measured: Mapping[str, float], families: Mapping[str, str | None]
) -> dict[str, tuple[float, bool]]:
    """{model type: (estimated seconds, True when estimated from the family's median)}."""
    by_family: dict[str | None, list[float]] = {}
    for mt, s in measured.items():
        by_family.setdefault(families.get(mt), []).append(s)
    overall = statistics.median(measured.values()) if measured else 1.0
    out: dict[str, tuple[float, bool]] = {}
    for mt in model_types:
        if mt in measured:
            out[mt] = (measured[mt], False)
        else:
            peers = by_family.get(families.get(mt)) if families.get(mt) else None
            out[mt] = (round(statistics.median(peers), 3) if peers else overall, True)
    return out


@dataclass(frozen=True)
class Split:
    """Model types per shard (shard i is ``shards[i - 1]``), each shard's estimated seconds, and the estimated types."""

    shards: tuple[tuple[str, ...], ...]
    loads: tuple[float, ...]
    estimated: frozenset[str]

    @property
    def count(self) -> int:
        return len(self.shards)

    def of(self, spec: ShardSpec) -> tuple[str, ...]:
        return self.shards[spec.index - 1]

    @property
    def imbalance(self) -> float:
        """The largest shard's load over the mean load (1.0 is perfect)."""
        mean = sum(self.loads) / len(self.loads) if self.loads else 0.0
        return max(self.loads) / mean if mean else 1.0

    def digest(self) -> str:
        return hashlib.sha256(json.dumps([list(s) for s in self.shards]).encode()).hexdigest()[:16]


def split(costs: Mapping[str, tuple[float, bool]], count: int) -> Split:
    """Longest processing time first: each type, costliest first (then by name), onto the least loaded shard."""
    heap = [(0.0, i) for i in range(count)]
    shards: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for mt in sorted(costs, key=lambda t: (-costs[t][0], t)):
        load, i = heapq.heappop(heap)
        shards[i].append(mt)
        loads[i] = round(load + costs[mt][0], 3)
        heapq.heappush(heap, (loads[i], i))
    return Split(tuple(tuple(s) for s in shards), tuple(loads), frozenset(mt for mt, (_, est) in costs.items() if est))
