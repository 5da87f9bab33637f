"""Benchmark: `hfscan report` over a full-size sweep, each format, with a weekly comparison.

The store is SYNTHETIC, for timing only: N model types (default 822, the count
of transformers 5.24.0) x 4 checks, --runs runs a week apart (default 2; the
trend reads them all), statuses drawn from a seeded random mix.  Each figure is the wall time of the real CLI process,
start-up included; the in-process build and render times are printed too.
Target: under 10 s per format.
Usage: python bench/report_bench.py [--types N] [--runs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hfscan.cache.store import Store
from hfscan.records import CHECKS, CheckResult, RunInfo, Status
from hfscan.harness.overrides import shipped_override_reasons
from hfscan.harness.selection import tier_of
from hfscan.reports.report import FORMATS, build_report, render

_MIX = ((Status.PASSED, 80), (Status.FAILED, 8), (Status.SKIPPED, 6), (Status.XFAIL, 3), (Status.PARTIAL, 2), (Status.CRASHED, 1))


def synthetic_run(store: Store, started_at: str, n_types: int, seed: int) -> int:
    """One synthetic sweep: every model type, every check, a seeded status mix."""
    rng = random.Random(seed)
    run = store.begin_run(RunInfo(id=None, started_at=started_at, hfscan_version="bench", python_version="bench",
                                  torch_version="synthetic", transformers_version="synthetic", label="SYNTHETIC benchmark data"))
    statuses, weights = zip(*_MIX)
    for i in range(n_types):
        status = rng.choices(statuses, weights)[0]
        for check in CHECKS:
            failed = status in (Status.FAILED, Status.CRASHED, Status.XFAIL)
            store.add_result(run.id, CheckResult(
                model_type=f"synthetic_{i:04d}", check=check, status=status, model_class=f"Synthetic{i}Model",
                family=f"family_{i % 30:02d}", duration_s=rng.uniform(0.01, 3.0), param_count=rng.randint(10_000, 900_000),
                stage="forward" if failed else None, error_type=rng.choice(("RuntimeError", "ValueError")) if failed else None,
                message=("shape mismatch <a & b> | " * 20) if failed else ("needs scipy" if status is Status.SKIPPED else None),
                override_hash="synthetic0000001" if i % 25 == 0 else None,
            ))
    store.finish_run(run.id)
    return run.id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--types", type=int, default=822)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "bench.sqlite"
        t0 = time.perf_counter()
        with Store(path) as store:
            first = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
            for week in range(ns.runs):
                synthetic_run(store, (first + timedelta(weeks=week)).isoformat(), ns.types, seed=week)
        print(f"SYNTHETIC store: {ns.runs} runs x {ns.types} model types x {len(CHECKS)} checks, built in {time.perf_counter() - t0:.1f} s")

        with Store(path) as store:
            t0 = time.perf_counter()
            report = build_report(store, since=timedelta(days=7), tier_of=tier_of, override_reasons=shipped_override_reasons())
            print(f"build_report (in process):            {time.perf_counter() - t0:.2f} s "
                  f"({len(report.comparison.regressions)} regressions)")
            for fmt in FORMATS:
                t0 = time.perf_counter()
                size = len(render(report, fmt))
                print(f"render {fmt:5s} (in process):             {time.perf_counter() - t0:.2f} s ({size / 1e6:.2f} MB)")

        env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1"}
        for fmt in FORMATS:
            times = []
            for _ in range(ns.repeat):
                out = Path(home) / f"report.{fmt}"
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "hfscan.cli", "report", "--store", str(path), "--weekly",
                                "--format", fmt, "-o", str(out)], env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - t0)
            verdict = "ok" if max(times) < 10 else "OVER the 10 s target"
            print(f"hfscan report --weekly --format {fmt:5s}: median {statistics.median(times):.2f} s, "
                  f"max {max(times):.2f} s  [{verdict}]")


if __name__ == "__main__":
    main()
