"""Benchmark modeling-code line coverage: the same sweep with and without `--coverage`, into fresh stores.

Prints the median (and quartiles) of the share of modeling-code lines run over the top-level types whose model was
built (a type whose build never passed, e.g. skipped for a missing package, ran none of its code: it is listed apart
with its reason, and the median over every measured type is printed beside), the 20 lowest built types, and the wall
time of both sweeps (the coverage overhead). It also prints the median through each check: one
``--checks smoke,consistency`` sweep gives what the smoke checks alone cover and what each later check adds.

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
from hfscan.reports.linecov import line_coverage, line_coverage_through, not_built
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
    measured = {mt: s for mt, s in line_coverage(sweep.results).items() if mt in set(top)}
    unbuilt = {mt: w for mt, w in not_built(sweep.results).items() if mt in measured}
    coverage = {mt: s for mt, s in measured.items() if mt not in unbuilt}
    print(f"model types measured        {len(measured)} top-level (checks {args.checks}, tasks {args.tasks}, "
          f"workers {args.jobs}): {len(coverage)} built, {len(unbuilt)} never built")
    _stats("built (the median)", sorted(coverage.values()))
    _stats("every measured type", sorted(measured.values()))
    order = list(registry().checks)
    ran = [c for c in order if c in base["checks"]]
    print("median over the built types through each check (each job's results carry the coverage so far, in order):")
    for check in ran:
        through = [s for mt, s in line_coverage_through(sweep.results, order, check).items() if mt in coverage]
        if through:
            print(f"  through {check:<18} {statistics.median(through):.1%}   mean {statistics.mean(through):.1%}")
    for label, wall in walls.items():
        print(f"sweep {label + ' --coverage':<22} {wall:.1f} s")
    if len(walls) == 2:
        print(f"coverage overhead           {walls['with'] / walls['without']:.2f}x")
    print("lowest 20 built:")
    for mt, s in list(coverage.items())[:20]:
        print(f"  {s:6.1%}  {mt}")
    print("never built (not in the median):")
    for mt, why in sorted(unbuilt.items()):
        print(f"  {measured[mt]:6.1%}  {mt}: {why}")


def _stats(label: str, shares: list[float]) -> None:
    if not shares:
        print(f"{label:<27} none")
        return
    q = statistics.quantiles(shares, n=4, method="inclusive") if len(shares) > 1 else [shares[0]] * 3
    print(f"{label:<27} median {statistics.median(shares):.1%}   quartiles {q[0]:.1%} / {q[2]:.1%}   "
          f"min {shares[0]:.1%}   max {shares[-1]:.1%}   ({len(shares)} types)")


if __name__ == "__main__":
    main()
