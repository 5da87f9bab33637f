"""Benchmark: the first `hfscan discover` and `hfscan explain` on a transformers hfscan has not seen (goal < 5 s).

Each run uses a fresh HFSCAN_HOME, so discovery, the config facts and the
forward() parameters are all read anew, as on the first call after installing
a new transformers.  Printed per command: the median wall time of the real CLI
process (start-up included) and its CPU time (user + system; on a shared
machine wall time also counts waiting for a core).  `--python` times another
environment, e.g. one `hfscan matrix` created (`$HFSCAN_HOME/envs/<digest>/bin/python`).
Usage: python bench/cold_start_bench.py [--repeat N] [--python PATH] [--model-type bert]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(python: str, argv: list[str], home: str, root: Path = ROOT) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one CLI process with HFSCAN_HOME=home, running the hfscan at root."""
    env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([python, "-m", "hfscan.cli", *argv], cwd=root, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out.stdout


def line(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in runs]
    return (f"{label:<38} median {statistics.median(walls):.2f} s  (cpu {statistics.median(c for _, c in runs):.2f} s; "
            f"runs: {', '.join(f'{w:.2f}' for w in walls)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="the interpreter of the environment to time")
    ap.add_argument("--model-type", default="bert")
    ap.add_argument("--root", default=str(ROOT), help="the hfscan source to time (e.g. another checkout, for a before/after)")
    ns = ap.parse_args()
    root = Path(ns.root).resolve()
    discover, explain, warm = [], [], []
    version = ""
    for _ in range(ns.repeat):
        with tempfile.TemporaryDirectory() as home:
            wall, cpu, out = timed(ns.python, ["discover", "--format", "json"], home, root)
            version = json.loads(out)["transformers_version"]  # the output parses: nothing else reached stdout
            discover.append((wall, cpu))
            warm.append(timed(ns.python, ["explain", ns.model_type, "--format", "json"], home, root)[:2])
        with tempfile.TemporaryDirectory() as home:
            wall, cpu, out = timed(ns.python, ["explain", ns.model_type, "--format", "json"], home, root)
            json.loads(out)
            explain.append((wall, cpu))
    print(f"transformers {version} ({ns.python}), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(line("discover --format json, fresh home:", discover))
    print(line(f"explain {ns.model_type}, fresh home:", explain))
    print(line(f"explain {ns.model_type} after that discover:", warm))


if __name__ == "__main__":
    main()
