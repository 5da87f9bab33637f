"""Benchmark modeling-code line coverage: the same sweep with and without `--coverage`, into fresh stores.

Prints the median (and quartiles) of the share of modeling-code lines run over the top-level types measured, the 20
lowest types, and the wall time of both sweeps (the coverage overhead).

    python bench/coverage_bench.py                                  # every top-level type, --tasks all, smoke checks
    python bench/coverage_bench.py --checks smoke,consistency --priority high
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from hfscan.harness.linecov import COVERAGE_JOB_FN
from hfscan.harness.registry import registry
from hfscan.pipeline import RunRequest, run_sweep
from hfscan.reports.linecov import line_coverage
from hfscan.scanner.discover import discover


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", default="smoke")
    ap.add_argument("--tasks", default="all", choices=["default", "all"])
    ap.add_argument("--priority", default="all", choices=["high", "medium", "low", "all"])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the sweep without coverage")
    ap.add_argument("model_types", nargs="*")
    args = ap.parse_args()

    top = tuple(r.model_type for r in discover() if not r.is_subconfig)
    chosen = tuple(args.model_types) or (top if args.priority == "all" else ())
    base = dict(model_types=chosen, priority=args.priority, checks=registry().resolve(args.checks), tasks=args.tasks,
                jobs=args.jobs, timeout_s=args.timeout, device="cpu")
    tmp = Path(tempfile.mkdtemp(prefix="hfscan-coverage-"))
    walls = {}
    for label, extra in (("without", {}), ("with", {"job_fn": COVERAGE_JOB_FN})):
        if label == "without" and args.no_baseline:
            continue
        t0 = time.perf_counter()
        sweep = run_sweep(RunRequest(store=str(tmp / f"{label}.sqlite"), **base, **extra))
        walls[label] = time.perf_counter() - t0
    coverage = {mt: s for mt, s in line_coverage(sweep.results).items() if mt in set(top)}
    shares = sorted(coverage.values())
    print(f"model types measured        {len(coverage)} top-level (checks {args.checks}, tasks {args.tasks}, "
          f"workers {args.jobs})")
    if shares:
        q = statistics.quantiles(shares, n=4) if len(shares) > 1 else [shares[0]] * 3
        print(f"modeling-code line coverage median {statistics.median(shares):.1%}   quartiles {q[0]:.1%} / {q[2]:.1%}"
              f"   min {shares[0]:.1%}   max {shares[-1]:.1%}")
    for label, wall in walls.items():
        print(f"sweep {label + ' --coverage':<22} {wall:.1f} s")
    if len(walls) == 2:
        print(f"coverage overhead           {walls['with'] / walls['without']:.2f}x")
    print("lowest 20:")
    for mt, s in list(coverage.items())[:20]:
        print(f"  {s:6.1%}  {mt}")


if __name__ == "__main__":
    main()
