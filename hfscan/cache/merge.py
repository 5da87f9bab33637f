"""`hfscan merge`: the shard runs of several stores combined into one run of another store.

Each store given contributes its latest shard run (`hfscan run --shard K/N`);
a store holding none (a copy of the merged store whose shard never started)
contributes nothing.
The shard runs must share the software stack (hfscan, transformers and torch
versions), device, dtype, checks and split; a check with two different results
is a conflict.  Any of these is one error line and nothing is written.  A shard
whose run is missing leaves the model types the split gave it as not run (an
``interrupted`` result per check, never reused); so does an interrupted shard
for the types it did not finish.  The merged run lists the shard runs it came
from (store, run id, shard) in its arguments, with a digest of their contents:
merging the same shard runs again, or one of them twice, changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import click

from hfscan.cache.store import Store, now
from hfscan.errors import MergeError
from hfscan.records import CheckResult, Coverage, RunInfo, Status, coverage_by_model_type

#: What every shard run of one sweep must share: (run attribute, how an error names it).
STACK = (("hfscan_version", "hfscan version"), ("transformers_version", "transformers version"),
         ("torch_version", "torch version"), ("device", "device"), ("dtype", "dtype"))
#: Request arguments every shard run of one sweep must share.
REQUEST = ("checks", "tasks", "source")


@dataclass(frozen=True)
class ShardRun:
    """The latest shard run of one store, read whole."""

    store: str
    run: RunInfo
    args: dict
    results: tuple[CheckResult, ...]
    overrides: tuple[tuple[str, str, str, str, str], ...] = ()  # the override entries its results name, as the store keeps them

    @property
    def index(self) -> int:
        return int(self.args["shard"][0])

    @property
    def count(self) -> int:
        return int(self.args["shard"][1])

    @property
    def split(self) -> dict:
        return self.args.get("split") or {}

    @property
    def name(self) -> str:
        return f"{self.store} (run {self.run.id}, shard {self.index}/{self.count})"

    def fingerprint(self) -> str:
        """A digest of the run and its results, independent of the file it sits in."""
        rows = [(r.model_type, r.model_class, r.check, str(r.status), r.key, r.stage, r.error_type, r.duration_s)
                for r in self.results]
        run = (self.run.started_at, self.run.finished_at, self.run.status, self.run.args)
        return hashlib.sha256(json.dumps([run, rows]).encode()).hexdigest()[:24]


def _args(run: RunInfo) -> dict:
    try:
        args = json.loads(run.args or "{}")
    except ValueError:
        return {}
    return args if isinstance(args, dict) else {}


def read_shard_run(path: str) -> ShardRun | None:
    """The latest shard run of the store at ``path``; None when it holds none (its shard never started)."""
    if not Path(path).is_file():
        raise MergeError(f"{path}: no such store")
    with Store(path) as store:
        for run in reversed(store.runs()):
            args = _args(run)
            if args.get("shard"):
                results = tuple(store.results(run.id))
                used = {r.override_hash for r in results if r.override_hash}
                entries = tuple((h, e["model_type"], e["reason"], e["source"], e["body"])
                                for h, e in sorted(store.overrides().items()) if h in used)
                return ShardRun(path, run, args, results, entries)
    return None


def check_compatible(shards: list[ShardRun]) -> None:
    """One error line naming the first difference in stack, request or split between two shard runs."""
    base = shards[0]
    for other in shards[1:]:
        for attr, what in STACK:
            a, b = getattr(base.run, attr), getattr(other.run, attr)
            if a != b:
                raise MergeError(f"shards differ in {what}: {base.name} has {a}, {other.name} has {b}")
        for key in REQUEST:
            a, b = base.args.get(key), other.args.get(key)
            if a != b:
                raise MergeError(f"shards differ in {key}: {base.name} has {a}, {other.name} has {b}")
        if (base.count, base.split.get("digest")) != (other.count, other.split.get("digest")):
            raise MergeError(f"shards come from different splits: {base.name} is split {base.split.get('digest')}, "
                             f"{other.name} is split {other.split.get('digest')} (run every shard from a copy of the same store)")


def _same(a: CheckResult, b: CheckResult) -> bool:
    return (a.status, a.stage, a.error_type) == (b.status, b.stage, b.error_type)


def combine(shards: list[ShardRun]) -> list[CheckResult]:
    """Every check's result; a finished result wins over an interrupted one, two different finished ones conflict."""
    chosen: dict[tuple[str, str, str], tuple[CheckResult, ShardRun]] = {}
    for shard in shards:
        for r in shard.results:
            k = (r.model_type, r.model_class, r.check)
            have = chosen.get(k)
            if have is None or (have[0].status is Status.INTERRUPTED and r.status is not Status.INTERRUPTED):
                chosen[k] = (r, shard)
            elif r.status is not Status.INTERRUPTED and not _same(have[0], r):
                raise MergeError(f"conflicting results for {r.model_type} {r.check}: {have[0].status} in {have[1].name}, "
                                 f"{r.status} in {shard.name}")
    return [r for r, _ in chosen.values()]


def _not_run(model_types: Iterable[str], checks: list[str], families: dict, why: str) -> list[CheckResult]:
    return [CheckResult(mt, check, Status.INTERRUPTED, family=families.get(mt), message=f"not run: {why}")
            for mt in model_types for check in checks]


@dataclass(frozen=True)
class MergeOutcome:
    run: RunInfo
    already: bool  # the same shard runs were merged before: nothing was written
    shards: tuple[ShardRun, ...]
    not_run: tuple[tuple[str, tuple[str, ...]], ...]  # (which shard and why, its model types left not run)
    skipped: tuple[str, ...] = ()  # stores given that hold no shard run


def fill_not_run(shards: list[ShardRun], results: list[CheckResult]) -> tuple[list[CheckResult], list[tuple[str, tuple[str, ...]]]]:
    """Not-run results for the types of a missing or unfinished shard that have none, and per such shard its types left not run."""
    base = shards[0]
    checks = list(base.args.get("checks") or sorted({r.check for r in results}))
    families = base.split.get("families", {})
    have = {r.model_type for r in results}
    coverage = coverage_by_model_type(results)
    out, listing = list(results), []
    for i, types in enumerate(base.split.get("shards", []), start=1):
        runs = [s for s in shards if s.index == i]
        if any(s.run.status == "finished" for s in runs):
            continue
        why = (f"shard {i}/{base.count} missing" if not runs else
               f"shard {i}/{base.count} did not finish ({runs[-1].run.status}: {runs[-1].store}, run {runs[-1].run.id})")
        out += _not_run([t for t in types if t not in have], checks, families, why)
        left = tuple(t for t in types if t not in have or coverage.get(t) is Coverage.NOT_RUN)
        if left:
            listing.append((why, left))
    return out, listing


def merge_stores(paths: Iterable[str], into: str) -> MergeOutcome:
    """Merge the latest shard run of each store into one new run of ``into`` (unless merged before)."""
    read = {p: read_shard_run(p) for p in dict.fromkeys(paths)}
    skipped = tuple(p for p, s in read.items() if s is None)
    unique = {s.fingerprint(): s for s in read.values() if s is not None}  # the same shard run twice counts once
    shards = sorted(unique.values(), key=lambda s: (s.index, s.run.started_at, s.store))
    if not shards:
        raise MergeError(f"no shard run (`hfscan run --shard K/N`) in {'any of the stores given' if len(read) > 1 else next(iter(read))}")
    check_compatible(shards)
    results, not_run = fill_not_run(shards, combine(shards))
    digest = hashlib.sha256(json.dumps(sorted(unique)).encode()).hexdigest()[:24]
    with Store(into) as store:
        for run in store.runs():
            if _args(run).get("merge_digest") == digest:
                return MergeOutcome(run, True, tuple(shards), tuple(not_run), skipped)
        store.put_overrides({e for s in shards for e in s.overrides})  # the reasons reports show for the overrides
        run = store.add_run(_merged_info(shards, digest, not_run), results)
    return MergeOutcome(run, False, tuple(shards), tuple(not_run), skipped)


def _merged_info(shards: list[ShardRun], digest: str, not_run: list) -> RunInfo:
    base = shards[0]
    request = {k: v for k, v in base.args.items() if k not in ("shard", "split", "store")}
    args = {**request, "shard": None, "merge_digest": digest, "split": base.split.get("digest"), "merged_from": [
        {"store": s.store, "run_id": s.run.id, "shard": f"{s.index}/{s.count}", "status": s.run.status,
         "started_at": s.run.started_at, "fingerprint": s.fingerprint()} for s in shards
    ], "missing_shards": [i for i in range(1, base.count + 1) if i not in {s.index for s in shards}]}
    finished = [s.run.finished_at for s in shards if s.run.finished_at]
    names = sorted({s.run.device_name for s in shards if s.run.device_name})
    r = base.run
    return RunInfo(
        id=None, started_at=min(s.run.started_at for s in shards), hfscan_version=r.hfscan_version,
        python_version=r.python_version, torch_version=r.torch_version, transformers_version=r.transformers_version,
        device=r.device, device_name=", ".join(names), dtype=r.dtype, args=json.dumps(args, sort_keys=True),
        finished_at=max(finished) if finished else now(), status="interrupted" if not_run else "finished",
        label=f"merged {len({s.index for s in shards})}/{base.count} shards",
    )


def merge_command(paths: Iterable[str], into: str) -> int:
    """`hfscan merge`: 0 when every shard was merged whole, 1 when some model types were left not run."""
    outcome = merge_stores(paths, into)
    run = outcome.run
    if outcome.already:
        click.echo(f"already merged as run {run.id} of {into}; nothing changed")
    else:
        sources = ", ".join(f"{s.store} run {s.run.id} (shard {s.index}/{s.count})" for s in outcome.shards)
        click.echo(f"merged {sources} into {into} as run {run.id}")
    for path in outcome.skipped:
        click.echo(f"hfscan: note: {path} holds no shard run (its shard never started); skipped", err=True)
    for why, types in outcome.not_run:
        click.echo(f"hfscan: error: {why}: {len(types)} model type{'s' * (len(types) != 1)} not run: {', '.join(types)}",
                   err=True)
    sys.stdout.flush()
    return 1 if outcome.not_run else 0
