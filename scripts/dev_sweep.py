"""Developer sweep of the smoke harness (for iterating on pass rates; the real runner is `hfscan run`).

Runs run_job for chunks of model types in child processes with a timeout, so a
hang or crash costs one chunk's remainder, never the sweep.  Writes one JSON
line per result and prints pass rates by check and the biggest failure groups.

    python scripts/dev_sweep.py --tier high
    python scripts/dev_sweep.py --all --out /tmp/sweep.jsonl --checks build,forward
    python scripts/dev_sweep.py bert llava
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time


def _child(types: list[str], checks: tuple[str, ...], out: str, tasks: str) -> None:
    import signal

    import torch

    from hfscan.harness.smoke import plan_jobs, run_job
    from hfscan.scanner.discover import discover

    torch.set_num_threads(1)
    inventory = discover()
    try:
        from hfscan.classifiers import classify_all

        templates = {mt: c.template for mt, c in classify_all(inventory).items()}
    except Exception:  # noqa: BLE001 - the classifier is optional here
        templates = {}

    def alarm(*_):
        raise TimeoutError("model took over 60 s")

    signal.signal(signal.SIGALRM, alarm)
    with open(out, "a") as fh:
        for mt in types:
            t0 = time.perf_counter()
            jobs = plan_jobs(inventory.get(mt), template=templates.get(mt), tasks=tasks, checks=checks)
            rows = []
            signal.alarm(60)
            try:
                for job in jobs:
                    for r in run_job(job):
                        rows.append({"model_type": mt, "class": r.model_class, "check": r.check,
                                     "status": str(r.status), "stage": r.stage, "error_type": r.error_type,
                                     "message": (r.message or "")[:300], "params": r.param_count,
                                     "level": r.detail.get("level"), "subconfig": inventory.get(mt).is_subconfig})
            except TimeoutError as exc:
                rows.append({"model_type": mt, "check": "build", "status": "timeout", "message": str(exc),
                             "subconfig": inventory.get(mt).is_subconfig})
            finally:
                signal.alarm(0)
            if not jobs:
                rows.append({"model_type": mt, "check": "build", "status": "skipped", "message": "no model class",
                             "subconfig": inventory.get(mt).is_subconfig})
            for row in rows:
                row["seconds"] = round(time.perf_counter() - t0, 2)
                fh.write(json.dumps(row) + "\n")
            fh.flush()


def _done(out: str) -> set[str]:
    if not os.path.exists(out):
        return set()
    with open(out) as fh:
        return {json.loads(line)["model_type"] for line in fh if line.strip()}


def _summary(out: str) -> None:
    rows = [json.loads(line) for line in open(out) if line.strip()]
    by_type: dict[str, dict[str, str]] = collections.defaultdict(dict)
    sub: dict[str, bool] = {}
    classless = set()
    for r in rows:
        by_type[r["model_type"]][r["check"]] = r["status"]
        sub[r["model_type"]] = r.get("subconfig", False)
        if r.get("message") == "no model class":
            classless.add(r["model_type"])
    print(f"{len(classless)} types have no model class of their own (left out below)")
    for label, keep in (("top-level", False), ("sub-config", True)):
        types = [t for t in by_type if sub[t] == keep and t not in classless]
        if not types:
            continue
        ok_fwd = sum(by_type[t].get("forward") == "passed" for t in types)
        ok_bfs = sum(all(by_type[t].get(c) == "passed" for c in ("build", "forward", "save-load")) for t in types)
        ok_all = sum(all(s in ("passed",) for c, s in by_type[t].items()) for t in types)
        skipped = sum(by_type[t].get("build") == "skipped" for t in types)
        print(f"{label}: {len(types)} types; forward passed {ok_fwd} ({100 * ok_fwd / len(types):.1f}%), "
              f"build+forward+save-load passed {ok_bfs} ({100 * ok_bfs / len(types):.1f}%), "
              f"all checks passed {ok_all} ({100 * ok_all / len(types):.1f}%), skipped (missing package) {skipped}")
    seconds = sorted({r["model_type"]: r.get("seconds", 0.0) for r in rows}.values())
    if seconds:
        print(f"seconds per model type (in-process, all its checks): median {seconds[len(seconds) // 2]:.2f}, "
              f"p95 {seconds[int(len(seconds) * 0.95)]:.2f}, max {seconds[-1]:.2f}")
    params = sorted(r["params"] for r in rows if r.get("params") and r["check"] == "build")
    if params:
        print(f"params: median {params[len(params) // 2]:,}, p95 {params[int(len(params) * 0.95)]:,}, "
              f"max {params[-1]:,}")
    groups = collections.Counter()
    examples = collections.defaultdict(list)
    for r in rows:
        if r["status"] in ("failed", "timeout", "crashed"):
            sig = f"{r['check']}/{r.get('stage')}: {r.get('error_type')}: {(r.get('message') or '')[:90]}"
            groups[sig] += 1
            examples[sig].append(r["model_type"])
    for sig, n in groups.most_common(40):
        print(f"{n:4d}  {sig}  e.g. {', '.join(examples[sig][:5])}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("types", nargs="*")
    ap.add_argument("--tier", choices=["high", "medium"])
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--checks", default="build,forward,save-load,generate")
    ap.add_argument("--tasks", default="default")
    ap.add_argument("--out", default="/tmp/hfscan-dev-sweep.jsonl")
    ap.add_argument("--chunk", type=int, default=60)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    checks = tuple(args.checks.split(","))
    if args.child:
        _child(args.types, checks, args.out, args.tasks)
        return
    if args.fresh and os.path.exists(args.out):
        os.remove(args.out)
    from hfscan.scanner.discover import discover

    inventory = discover()
    if args.tier:
        from hfscan.harness.overrides import load_toml

        types = [t for t in load_toml("priorities.toml")["tiers"][args.tier] if t in inventory]
    elif args.all:
        types = list(inventory.model_types)
    else:
        types = args.types
    t0 = time.time()
    while True:
        todo = [t for t in types if t not in _done(args.out)]
        if not todo:
            break
        chunk = todo[: args.chunk]
        cmd = [sys.executable, __file__, "--child", "--out", args.out, "--checks", args.checks,
               "--tasks", args.tasks, *chunk]
        try:
            subprocess.run(cmd, timeout=60 * len(chunk) + 60, check=False)
        except subprocess.TimeoutExpired:
            pass
        left = [t for t in chunk if t not in _done(args.out)]
        if left:  # the first unfinished one crashed or hung the child: record it and go on
            with open(args.out, "a") as fh:
                fh.write(json.dumps({"model_type": left[0], "check": "build", "status": "crashed",
                                     "message": "child process died", "subconfig": inventory.get(left[0]).is_subconfig}) + "\n")
    print(f"wall time {time.time() - t0:.1f} s for {len(types)} types")
    _summary(args.out)


if __name__ == "__main__":
    main()
