"""`hfscan run --shard K/N` and `--plan`: the split of one sweep, from the store's durations.

The split is balanced by the latest stored run that is not itself a shard run
(a merged run, or an unsharded one), so every shard of a sweep, and a shard
run again to resume, gets the same split from copies of the same store.
A shard run records the whole split in its arguments; `hfscan merge` reads
it from there to know which model types a missing shard held.
"""

from __future__ import annotations

import json
from typing import Mapping

import click

from hfscan.cache.store import Store
from hfscan.harness.records import CheckResult, Job, RunInfo
from hfscan.harness.shard import ShardSpec, Split, measured_durations, split, type_costs


def is_shard_run(run: RunInfo) -> bool:
    try:
        return bool(json.loads(run.args or "{}").get("shard"))
    except ValueError:
        return False


def balance_run(store: Store) -> RunInfo | None:
    """The latest run whose durations balance a split: the newest that is not a shard run."""
    return next((r for r in reversed(store.runs()) if not is_shard_run(r)), None)


def split_for(store: Store, model_types: tuple[str, ...], families: Mapping[str, str | None], count: int) -> Split:
    run = balance_run(store)
    measured = measured_durations(store.results(run.id)) if run is not None and run.id is not None else {}
    measured = {mt: s for mt, s in measured.items() if mt in set(model_types)}
    return split(type_costs(model_types, measured, families), count)


def take_shard(
    spec: ShardSpec, the_split: Split, jobs: list[Job], unplanned: list[CheckResult]
) -> tuple[list[Job], list[CheckResult]]:
    """This shard's jobs and unplanned results."""
    mine = set(the_split.of(spec))
    return [j for j in jobs if j.model_type in mine], [r for r in unplanned if r.model_type in mine]


def shard_args(spec: ShardSpec, the_split: Split, families: Mapping[str, str | None]) -> dict:
    """What a shard run stores beside its command's arguments, for `hfscan merge`."""
    return {"shard": [spec.index, spec.count], "split": {
        "digest": the_split.digest(),
        "shards": [list(s) for s in the_split.shards],
        "families": {mt: families.get(mt) for s in the_split.shards for mt in s},
    }}


def plan_json(spec: ShardSpec, the_split: Split, basis: RunInfo | None) -> dict:
    return {
        "schema": "hfscan.shard-plan/1",
        "count": the_split.count,
        "shard": spec.index,
        "digest": the_split.digest(),
        "balanced_by_run": basis.id if basis else None,
        "imbalance": round(the_split.imbalance, 4),
        "shards": [
            {"shard": i + 1, "estimated_s": the_split.loads[i], "model_types": list(types),
             "estimated_types": sorted(set(types) & the_split.estimated)}
            for i, types in enumerate(the_split.shards)
        ],
    }


def print_plan(plan: dict, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(plan, indent=2))
        return
    basis = f"run {plan['balanced_by_run']}" if plan["balanced_by_run"] is not None else "no stored run (all estimated)"
    click.echo(f"{plan['count']} shards (split {plan['digest']}), balanced by {basis}; "
               f"largest / mean estimated time: {plan['imbalance']:.3f}")
    for s in plan["shards"]:
        mark = "*" if s["shard"] == plan["shard"] else " "
        n = len(s["model_types"])
        est = f", {len(s['estimated_types'])} estimated" if s["estimated_types"] else ""
        click.echo(f"{mark} shard {s['shard']}/{plan['count']}: {n} model type{'s' * (n != 1)}, "
                   f"~{s['estimated_s']:.1f} s{est}: {', '.join(s['model_types'])}")
