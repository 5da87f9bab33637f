"""Benchmark the real sweep: every model type (or a tier) into a fresh store, then an unchanged rerun.

Prints wall time, median and 95th-percentile time per model type, peak memory
per worker, tiny-model parameter counts, result counts by check and status, the
share of top-level model types whose forward passed, and the wall time of an
unchanged rerun: the same `hfscan run` in a fresh process, everything reused.

    python bench/sweep_bench.py                      # build+forward of every model type
    python bench/sweep_bench.py --priority high --checks build,forward,save-load,generate
    python bench/sweep_bench.py --checks smoke,consistency    # presets too, as `hfscan run --checks`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from hfscan.harness.registry import registry
from hfscan.records import Coverage, Status, coverage_by_model_type
from hfscan.pipeline import RunRequest, run_sweep
from hfscan.scanner.discover import discover


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--priority", default="all", choices=["high", "medium", "low", "all"])
    ap.add_argument("--checks", default="build,forward", help="checks and presets (smoke, consistency, all)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...), as `hfscan run --device`")
    ap.add_argument("--store", help="store to write (default: a fresh temporary one); it must not exist yet")
    ap.add_argument("model_types", nargs="*")
    args = ap.parse_args()

    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="hfscan-bench-")) / "bench.sqlite"
    if store.exists():
        ap.error(f"{store} exists; the benchmark measures a sweep into a fresh store")
    request = RunRequest(
        model_types=tuple(args.model_types), priority=args.priority, checks=registry().resolve(args.checks),
        jobs=args.jobs, timeout_s=args.timeout, device=args.device, store=str(store),
    )
    t0 = time.perf_counter()
    first = run_sweep(request)
    wall = time.perf_counter() - t0
    cli = [sys.executable, "-m", "hfscan.cli", "run", *args.model_types, "--priority", args.priority, "--checks", args.checks,
           "--jobs", str(args.jobs), "--timeout", str(args.timeout), "--device", args.device, "--store", str(store)]
    t0 = time.perf_counter()
    rerun = subprocess.run(cli, capture_output=True, text=True)  # a fresh process, as a user reruns it
    rerun_wall = time.perf_counter() - t0
    reuse_line = next((ln for ln in rerun.stdout.splitlines() if "reused from the store" in ln), rerun.stderr[-300:])

    per_type_s: dict[str, float] = defaultdict(float)
    params: dict[str, int] = {}
    peak_mb: list[float] = []
    for r in first.results:
        per_type_s[r.model_type] += r.duration_s
        if r.param_count:
            params[r.model_type] = max(params.get(r.model_type, 0), r.param_count)
        if r.peak_mem_mb:
            peak_mb.append(r.peak_mem_mb)
    times, counts = list(per_type_s.values()), sorted(params.values())
    top_level = {rec.model_type for rec in discover() if not rec.is_subconfig} & set(first.selection.model_types)
    forward_ok = {r.model_type for r in first.results if r.check == "forward" and r.status is Status.PASSED}

    print(f"store                       {store}")
    print(f"model types                 {len(first.selection.model_types)}  (jobs {len(first.jobs)}, workers {args.jobs}, checks {args.checks})")
    print(f"wall time                   {wall:.1f} s")
    print(f"time per model type         median {statistics.median(times):.2f} s   p95 {_pct(times, 0.95):.2f} s   max {max(times):.2f} s")
    print(f"peak memory per worker      {', '.join(f'{p:.0f}' for p in first.outcome.worker_peak_mb)} MB (RSS); per job p95 {_pct(peak_mb, 0.95):.0f} MB, max {max(peak_mb, default=0):.0f} MB")
    if counts:
        print(f"tiny-model parameters       median {statistics.median(counts):,.0f}   p95 {_pct(counts, 0.95):,.0f}   max {counts[-1]:,} ({max(params, key=params.get)})")
        print(f"                            over 1M: {sum(c > 1e6 for c in counts)}   over 20M: {sum(c > 20e6 for c in counts)}")
    print(f"workers started             {first.outcome.workers_started}")
    by = Counter((r.check, str(r.status)) for r in first.results)
    check_s: dict[str, float] = defaultdict(float)
    for r in first.results:
        check_s[r.check] += r.duration_s
    for check in request.checks:
        ran = sum(n for (c, s), n in by.items() if c == check and s not in ("skipped", "interrupted"))
        ok = by[(check, "passed")] + by[(check, "partial")]
        rate = f"pass rate {100 * ok / ran:5.1f}% of {ran:<4}" if ran else "pass rate   –          "
        print(f"  {check:<14} {rate} {check_s[check]:7.1f} s in all   "
              + "  ".join(f"{s} {n}" for (c, s), n in sorted(by.items()) if c == check))
    if top_level:
        print(f"top-level forward passed    {len(forward_ok & top_level)}/{len(top_level)} = {100 * len(forward_ok & top_level) / len(top_level):.1f}%")
    # Issue 5's measure: every check that applies passed (forward among them), no override; over all the checks
    # run, and over build+forward+save-load alone (the measure) when more were run.
    # A sub-config type "has a model class of its own" when the plan found one (mapped, or declaring its config class).
    with_class = {rec.model_type for rec in discover() if rec.is_subconfig} & {j.model_type for j in first.jobs if j.model_class}
    measures = [("", first.results)]
    if set(request.checks) - {"build", "forward", "save-load"}:
        measures.append((" (b+f+s)", [r for r in first.results if r.check in ("build", "forward", "save-load")]))
    for suffix, results in measures:
        coverage = coverage_by_model_type(results)
        generic = {mt for mt, c in coverage.items() if c is Coverage.GENERIC_PASS} & forward_ok
        for label, group in (("top-level", top_level), ("sub-configs with a class", with_class)):
            if group:
                counts = Counter(str(coverage.get(mt, Coverage.NOT_RUN)) for mt in group).most_common()
                print(f"{label} generic pass{suffix}  {len(generic & group)}/{len(group)} = {100 * len(generic & group) / len(group):.1f}%"
                      f"   ({', '.join(f'{c} {n}' for c, n in counts)})")
    print(f"unchanged rerun (hfscan run) {rerun_wall:.1f} s  ({reuse_line.strip()})")


if __name__ == "__main__":
    main()
