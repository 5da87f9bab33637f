"""Benchmark graph capture: `--checks capture` (compile, export, onnx) over every top-level model type (or those
named), into a fresh store, then an unchanged rerun.

Prints the wall time, pass rates per check (of the types whose forward passed) and per family, and the causes that
block the most architectures (what `hfscan gaps` ranks).

    python bench/capture_bench.py                         # every top-level type, 2 workers, 300 s per job
    python bench/capture_bench.py llama bert gpt2 --jobs 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hfscan.harness.records import Status
from hfscan.pipeline import RunRequest, run_sweep
from hfscan.reports.capture import CAPTURE_CHECKS, capture_causes, capture_rates
from hfscan.scanner.discover import discover


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", default="build,forward,compile,export,onnx")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--store", help="store to write (default: a fresh temporary one); it must not exist yet")
    ap.add_argument("model_types", nargs="*")
    args = ap.parse_args()

    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="hfscan-capture-")) / "bench.sqlite"
    if store.exists():
        ap.error(f"{store} exists; the benchmark measures a sweep into a fresh store")
    chosen = tuple(args.model_types) or tuple(r.model_type for r in discover() if not r.is_subconfig)
    request = RunRequest(model_types=chosen, checks=tuple(args.checks.split(",")), jobs=args.jobs,
                         timeout_s=args.timeout, device="cpu", store=str(store))
    t0 = time.perf_counter()
    sweep = run_sweep(request)
    wall = time.perf_counter() - t0
    cli = [sys.executable, "-m", "hfscan.cli", "run", *chosen, "--checks", args.checks, "--jobs", str(args.jobs),
           "--timeout", str(args.timeout), "--device", "cpu", "--store", str(store)]
    t0 = time.perf_counter()
    subprocess.run(cli, capture_output=True, text=True)
    rerun = time.perf_counter() - t0

    results = list(sweep.results)
    forward_ok = {r.model_type for r in results if r.check == "forward" and r.status in (Status.PASSED, Status.PARTIAL)}
    print(f"store                {store}")
    print(f"model types          {len(chosen)} (forward passed: {len(forward_ok)}), workers {args.jobs}, "
          f"timeout {args.timeout:.0f} s per job")
    print(f"wall time            {wall:.1f} s; unchanged rerun {rerun:.1f} s")
    for check in CAPTURE_CHECKS:
        rows = [r for r in results if r.check == check and r.model_type in forward_ok]
        if not rows:
            continue
        by = Counter(str(r.status) for r in rows)
        passed = by["passed"] + by["partial"]
        secs = sorted(r.duration_s for r in rows)
        print(f"{check:<9} passed {passed}/{len(rows)} = {100 * passed / len(rows):.1f}%   "
              f"({', '.join(f'{s} {n}' for s, n in by.most_common())}); median {secs[len(secs) // 2]:.1f} s")
    print("\nper family (passed/ran):")
    rates = capture_rates(results, sweep.families)
    families = sorted({f for fams in rates.values() for f in fams})
    checks = [c for c in CAPTURE_CHECKS if c in rates]
    print(f"  {'family':<28}" + "".join(f"{c:>12}" for c in checks))
    for fam in families:
        cells = [rates[c].get(fam) for c in checks]
        print(f"  {fam:<28}" + "".join(f"{(str(x['passed']) + '/' + str(x['ran'])) if x else '-':>12}" for x in cells))
    print("\ncauses blocking the most architectures:")
    for i, cause in enumerate(capture_causes(results)[:15], 1):
        print(f"  {i:>2}. {len(cause.model_types):>3}  {cause.check} {cause.kind}: {cause.cause[:150]}")
        if cause.frames:
            print(f"           at {', '.join(cause.frames[:3])}{' ...' if len(cause.frames) > 3 else ''}")


if __name__ == "__main__":
    main()
