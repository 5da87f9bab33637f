"""Benchmark sharding: the balance of the split for N = 4 and N = 8, and `hfscan merge` of 8 shard stores.

The durations come from a stored sweep: ``--store PATH`` (its latest run that is
not a shard run), else a real sweep this script runs first into a temporary
store (`hfscan run --priority all --checks build,forward`; ``--priority``,
``--checks``, ``--jobs`` change it).

* Balance: the model types of that run split into N shards by the functions
  `hfscan run --shard K/N` uses (longest first onto the least loaded shard),
  from the run's measured times; printed: the longest shard's summed job time
  over the mean (goal: at most 1.15).  When the store holds an earlier run,
  also the split a sweep really gets: made from the earlier run's times, timed
  by the latest run's.
* Merge: the run's results cut along the 8-shard split into 8 shard stores,
  each a copy of the source store plus one shard run (as a shard starts from
  the merged store), merged by the real CLI (`hfscan merge ... --into` a fresh
  store); the wall time of that process, start-up included (goal: under 5 s).

    python bench/shard_bench.py                          # a full build+forward sweep first
    python bench/shard_bench.py --store ~/.cache/hfscan/hfscan.sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hfscan.cache.store import Store
from hfscan.harness.records import RunInfo
from hfscan.harness.shard import ShardSpec, measured_durations, split, type_costs
from hfscan.sharding import balance_run, is_shard_run, shard_args

ROOT = Path(__file__).resolve().parents[1]


def _hfscan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], env=env, capture_output=True, text=True)


def sweep(store: Path, priority: str, checks: str, jobs: int) -> None:
    t0 = time.perf_counter()
    p = _hfscan("run", "--priority", priority, "--checks", checks, "--jobs", str(jobs), "--store", str(store))
    if p.returncode not in (0, 1):
        sys.exit(f"the sweep failed ({p.returncode}): {p.stderr.strip()[-400:]}")
    print(f"sweep: --priority {priority} --checks {checks} --jobs {jobs}: {time.perf_counter() - t0:.1f} s")


def shard_stores(source: Path, run: RunInfo, results: list, families: dict, the_split, out: Path) -> list[Path]:
    """One store per shard: a copy of the source store plus the shard's results as its shard run."""
    paths = []
    base_args = json.loads(run.args or "{}")
    for k, types in enumerate(the_split.shards, start=1):
        spec, mine = ShardSpec(k, the_split.count), set(types)
        path = out / f"shard-{k}.sqlite"
        shutil.copy(source, path)
        info = RunInfo(**{**run.__dict__, "id": None, "label": f"shard {spec}",
                          "args": json.dumps({**base_args, **shard_args(spec, the_split, families)})})
        with Store(path) as store:
            store.add_run(info, [r for r in results if r.model_type in mine])
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", help="a store holding a sweep (default: run one into a temporary store)")
    ap.add_argument("--priority", default="all", choices=["high", "medium", "low", "all"])
    ap.add_argument("--checks", default="build,forward")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3, help="merges timed (the median is printed)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hfscan-shard-bench-"))
    source = Path(args.store) if args.store else work / "sweep.sqlite"
    if not args.store:
        sweep(source, args.priority, args.checks, args.jobs)
    with Store(source) as store:
        run = balance_run(store)
        if run is None:
            sys.exit(f"{source}: no run to take durations from")
        results = store.results(run.id)
        older = [r for r in store.runs() if r.id < run.id and not is_shard_run(r)]
        earlier = store.results(older[-1].id) if older else []
    measured = measured_durations(results)
    families = {r.model_type: r.family for r in results}
    print(f"run {run.id} of {source}: {len(measured)} model types, {len(results)} results, "
          f"{sum(measured.values()):.1f} s of job time (transformers {run.transformers_version})")
    costs = type_costs(sorted(measured), measured, families)
    for n in (4, 8):
        s = split(costs, n)
        print(f"N={n}: longest shard / mean = {s.imbalance:.3f} (goal <= 1.15); shard job times: "
              + ", ".join(f"{x:.1f}" for x in s.loads) + f" s; longest single type {max(measured.values()):.1f} s")
    if earlier:  # the split as a sweep gets it: from the previous run's times, then timed by this run's
        before = measured_durations(earlier)
        prior = type_costs(sorted(measured), {mt: t for mt, t in before.items() if mt in measured}, families)
        for n in (4, 8):
            loads = [sum(measured[mt] for mt in shard) for shard in split(prior, n).shards]
            print(f"N={n}, split from the run before ({len(before)} types), timed by this run: longest shard / mean = "
                  f"{max(loads) / (sum(loads) / n):.3f}; shard job times: " + ", ".join(f"{x:.1f}" for x in loads) + " s")

    the_split = split(costs, 8)
    paths = shard_stores(source, run, results, families, the_split, work)
    times = []
    for i in range(args.repeat):
        into = work / f"merged-{i}.sqlite"
        t0 = time.perf_counter()
        p = _hfscan("merge", *map(str, paths), "--into", str(into))
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            sys.exit(f"merge failed ({p.returncode}): {p.stderr.strip()}")
    size = sum(p.stat().st_size for p in paths) / 2**20
    print(f"hfscan merge of 8 shard stores ({size:.0f} MB, {len(results)} results): median {statistics.median(times):.2f} s "
          f"of {args.repeat} (goal < 5 s; process wall time, start-up included)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
