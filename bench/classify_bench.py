"""Benchmark: classifying every model type, cold (fresh HFSCAN_HOME) and warm (trait facts cached).

Each figure comes from a fresh Python process running the real code; "classify"
is the time of `classify_all()` alone (discovery timed separately), "gaps CLI"
is the wall time of a whole `hfscan gaps` process, start-up included.  Also
prints the share of top-level model types left unclassified or ambiguous.
Usage: python bench/classify_bench.py [--repeat N]
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

PROBE = """
import json, time
t0 = time.perf_counter()
from hfscan.scanner.discover import discover
inventory = discover()
t1 = time.perf_counter()
from hfscan.classifiers import classify_all
classifications = classify_all(inventory)
t2 = time.perf_counter()
top = [r.model_type for r in inventory if not r.is_subconfig]
gaps = [mt for mt in top if classifications[mt].outcome != "classified"]
print(json.dumps({"discover": t1 - t0, "classify": t2 - t1, "types": len(inventory), "top": len(top), "gaps": gaps}))
"""


def probe(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_wall(env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hfscan.cli", "gaps", "--format", "json"], env=env, capture_output=True, text=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    cold, warm, walls = [], [], []
    last: dict = {}
    for _ in range(ns.repeat):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HFSCAN_HOME": home, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
            cold.append(probe(env))
            last = probe(env)
            warm.append(last)
            walls.append(cli_wall(env))

    def fmt(runs: list[dict], key: str) -> str:
        values = [r[key] for r in runs]
        return f"median {statistics.median(values):.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})"

    print(f"model types: {last['types']} ({last['top']} top-level)")
    print(f"classify_all, cold (fresh HFSCAN_HOME): {fmt(cold, 'classify')}")
    print(f"classify_all, warm (facts cached):      {fmt(warm, 'classify')}")
    print(f"discover, cold / warm:                  {statistics.median(r['discover'] for r in cold):.2f} s / {statistics.median(r['discover'] for r in warm):.2f} s")
    print(f"hfscan gaps process, warm:              median {statistics.median(walls):.2f} s")
    gaps = last["gaps"]
    print(f"top-level types unclassified or ambiguous: {len(gaps)} of {last['top']} ({len(gaps) / last['top']:.1%}): {', '.join(gaps)}")


if __name__ == "__main__":
    main()
