"""Benchmark: wall time of `hfscan check` on one checkpoint config (target: under 5 s).

Runs the real CLI in a fresh process per repeat (start-up, imports, discovery
cache read, classification, shrink, build/forward/save-load/generate of the tiny
model), after one warm-up run that fills the discovery and trait caches.  Prints
the wall time and, next to it, the CPU time (user + system) the process used: on
a shared machine wall time also counts waiting for a core.
Usage: python bench/check_bench.py [CONFIG] [--repeat N] [--checks build,forward]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "configs" / "mistralai--Mixtral-8x7B-v0.1.json"
TARGET_S = 5.0


def timed(argv: list[str], env: dict) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), rc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checks", default=None, help="passed to hfscan check --checks")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    argv = [sys.executable, "-m", "hfscan.cli", "check", args.config] + (["--checks", args.checks] if args.checks else [])
    _, _, rc = timed(argv, env)  # warm-up: fills the discovery and trait caches
    if rc != 0:
        print(f"hfscan check exited {rc} on {args.config}", file=sys.stderr)
        return rc
    runs = [timed(argv, env) for _ in range(args.repeat)]
    walls = [w for w, _, _ in runs]
    cpus = [c for _, c, _ in runs]
    print(f"hfscan check {Path(args.config).name}: wall median {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f}), CPU median {statistics.median(cpus):.2f} s, "
          f"{args.repeat} runs, target < {TARGET_S:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
