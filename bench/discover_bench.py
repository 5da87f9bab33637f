"""Benchmark: wall time of `hfscan discover` over every model type, cold and warm.

Cold = a fresh HFSCAN_HOME (the discovery cache is empty), warm = second call.
Each figure is the wall time of the real CLI process, start-up included, with
the CPU time (user + system) the process used next to it: on a shared machine
wall time also counts waiting for a core.  The last line times the reference
scan, which imports every table and config class instead of reading their
source (``scan(from_source=False)``), in a fresh process too; the line before
it times discovery alone (``discover()`` on an empty cache), without what the
CLI adds (the family column classifies every model type: the first run per
transformers version reads every forward() signature; ``--no-families`` skips it).
Usage: python bench/discover_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

DISCOVER = "from hfscan.scanner.discover import discover; discover()"
REFERENCE = "from hfscan.scanner.discover import scan; scan(from_source=False)"


def timed(argv: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def summary(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in runs]
    cpu = statistics.median(c for _, c in runs)
    return f"{label} median {statistics.median(walls):.2f} s  (cpu {cpu:.2f} s; runs: {', '.join(f'{w:.2f}' for w in walls)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    cold, warm, table, bare, alone, reference = [], [], [], [], [], []
    n = 0
    cli = ["-m", "hfscan.cli", "discover"]
    for _ in range(ns.repeat):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1"}
            wall, cpu, out = timed([*cli, "--format", "json"], env)
            cold.append((wall, cpu))
            n = len(json.loads(out)["model_types"])
            warm.append(timed([*cli, "--format", "json"], env)[:2])
            table.append(timed(cli, env)[:2])
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1"}
            bare.append(timed([*cli, "--no-families", "--format", "json"], env)[:2])
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1"}
            alone.append(timed(["-c", DISCOVER], env)[:2])
            reference.append(timed(["-c", REFERENCE], env)[:2])
    print(f"model types discovered: {n}")
    print(summary("discover --format json, cold cache:", cold))
    print(summary("discover --format json, warm cache:", warm))
    print(summary("discover (table), warm cache:      ", table))
    print(summary("discover --no-families, cold cache:", bare))
    print(summary("discover() alone, cold cache:      ", alone))
    print(summary("reference scan (imports), no cache:", reference))


if __name__ == "__main__":
    main()
