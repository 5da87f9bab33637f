"""Benchmark: wall time of `hfscan discover` over every model type, cold and warm.

Cold = a fresh HFSCAN_HOME (the discovery cache is empty), warm = second call.
Each figure is the wall time of the real CLI process, start-up included.
Usage: python bench/discover_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(args: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "hfscan.cli", *args], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    cold, warm, table = [], [], []
    n = 0
    for _ in range(ns.repeat):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1"}
            t, out = timed(["discover", "--format", "json"], env)
            cold.append(t)
            n = len(json.loads(out)["model_types"])
            t, _ = timed(["discover", "--format", "json"], env)
            warm.append(t)
            t, _ = timed(["discover"], env)
            table.append(t)
    print(f"model types discovered: {n}")
    print(f"discover --format json, cold cache: median {statistics.median(cold):.2f} s  (runs: {', '.join(f'{x:.2f}' for x in cold)})")
    print(f"discover --format json, warm cache: median {statistics.median(warm):.2f} s")
    print(f"discover (table), warm cache:       median {statistics.median(table):.2f} s")


if __name__ == "__main__":
    main()
