"""Per-check time of the smoke harness in one process, over a sample of model types: where a sweep spends it.

Runs `run_job` for every n-th model type (or those named) in this process, one torch thread, as a worker
does, and prints the summed wall and CPU time of each check (build and forward are one attempt: its CPU time
is counted under build), the statuses, and with --profile a cProfile dump to read with pstats.  CPU time is
the figure to compare on a loaded machine; wall time only on an idle one.

    python bench/checks_bench.py --every 20                 # ~42 types, all four checks
    python bench/checks_bench.py bert gpt2 --profile /tmp/checks.prof
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_types", nargs="*")
    ap.add_argument("--every", type=int, default=20, help="every n-th model type, sorted by name (default 20)")
    ap.add_argument("--checks", default="build,forward,save-load,generate")
    ap.add_argument("--profile", help="write a cProfile dump here")
    args = ap.parse_args()
    os.environ.setdefault("HF_DEACTIVATE_ASYNC_LOAD", "1")  # as a worker runs
    import torch

    from hfscan.classifiers import classify_all
    from hfscan.harness.smoke import plan_jobs, run_job
    from hfscan.scanner.discover import discover

    torch.set_num_threads(1)
    inventory = discover()
    classes = classify_all(inventory)
    types = args.model_types or sorted(inventory.model_types)[:: args.every]
    wall: dict[str, float] = collections.defaultdict(float)
    cpu: dict[str, float] = collections.defaultdict(float)
    statuses: collections.Counter = collections.Counter()
    profile = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profile:
        profile.enable()
    for mt in types:
        c = classes.get(mt)
        for job in plan_jobs(inventory.get(mt), template=c.template if c else None, checks=tuple(args.checks.split(","))):
            c0 = time.process_time()
            for r in run_job(job):
                c1 = time.process_time()
                cpu[r.check] += c1 - c0
                c0 = c1
                wall[r.check] += r.duration_s
                statuses[(r.check, str(r.status))] += 1
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    print(f"model types                 {len(types)}   wall {time.perf_counter() - t0:.1f} s")
    for check in wall:
        counts = "  ".join(f"{s} {n}" for (c, s), n in sorted(statuses.items()) if c == check)
        print(f"  {check:<12} wall {wall[check]:7.2f} s   cpu {cpu[check]:7.2f} s   {counts}")
    print(f"  {'total':<12} wall {sum(wall.values()):7.2f} s   cpu {sum(cpu.values()):7.2f} s")


if __name__ == "__main__":
    main()
